/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cmocka unit tests: includes in the order cmocka
 * needs them, a watchdog so that no test can hang, temporary directories.
 */
#ifndef TIDE_UNIT_H
#define TIDE_UNIT_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <ftw.h>

#include <cmocka.h>

/*
 * Outer bound for a whole test binary: a test that blocks outside the loop
 * (where the loop watchdogs cannot fire) dies with a message instead of
 * hanging `make check-unit`.
 */
static inline void unit_alarm_handler(int signo)
{
	static const char msg[] = "unit test watchdog: the test binary hung; aborting\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(124);
}

static inline void unit_arm_alarm(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = unit_alarm_handler };

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

/* mkdtemp under $TMPDIR (or /tmp); NULL on failure. */
static inline char *unit_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/tide-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static inline int unit_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* rm -rf dir, then free it. */
static inline void unit_rmtree(char *dir)
{
	if (!dir)
		return;
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Write text to dir/name; returns the malloc'd path. */
static inline char *unit_write_file(const char *dir, const char *name, const char *text)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	f = fopen(path, "w");
	if (!f) {
		free(path);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	return path;
}

#endif /* TIDE_UNIT_H */
