/* SPDX-License-Identifier: GPL-2.0 */
/*
 * capture: tidectl's stdout and stderr into memory streams, for the unit
 * tests of the client (cli, reply, tidectl): open, read back, close.
 */
#ifndef TIDE_CAPTURE_H
#define TIDE_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char *out_buf, *err_buf;
	size_t out_len, err_len;
	FILE *out, *err;
} cap;

/* 0, or -1 when a stream cannot be opened; cli's output goes to them. */
static inline int cap_open(void)
{
	memset(&cap, 0, sizeof(cap));
	cap.out = open_memstream(&cap.out_buf, &cap.out_len);
	cap.err = open_memstream(&cap.err_buf, &cap.err_len);
	if (!cap.out || !cap.err)
		return -1;
	cli.out = cap.out;
	cli.err = cap.err;
	return 0;
}

static inline void cap_close(void)
{
	if (cap.out)
		fclose(cap.out);
	if (cap.err)
		fclose(cap.err);
	free(cap.out_buf);
	free(cap.err_buf);
	memset(&cap, 0, sizeof(cap));
}

static inline const char *out_text(void)
{
	fflush(cap.out);
	return cap.out_buf ? cap.out_buf : "";
}

static inline const char *err_text(void)
{
	fflush(cap.err);
	return cap.err_buf ? cap.err_buf : "";
}

#endif /* TIDE_CAPTURE_H */
