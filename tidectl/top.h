/* SPDX-License-Identifier: GPL-2.0 */
/*
 * top: `tidectl top`, a live view of this host, one line per VM: its
 * options (the sort key), its frame and the terminal it runs in.
 *
 * Its options are given anywhere on the line like the others (cli parses
 * them as words); what they mean is top's: top_parse_opts() turns them into
 * top's settings, and main() calls it for every command, so a bad --sort is
 * an error whatever the command, as any bad option is.
 */
#ifndef TIDE_TOP_H
#define TIDE_TOP_H

#include <stdbool.h>
#include <stdio.h>

#include "reply.h"

enum top_sort {
	TOP_SORT_CPU,
	TOP_SORT_WAIT,
	TOP_SORT_NET,
};
/* "cpu", "wait", "net" (any unambiguous prefix); -1 if none */
int top_sort_parse(const char *s);
const char *top_sort_name(enum top_sort s);

/* Read top's options from cli: 0, or -EINVAL after p_err(). */
int top_parse_opts(void);

/*
 * One frame of `tidectl top`: a host line, a header, one line per VM
 * sorted by sort (largest first, then by name), at most max_rows lines of
 * VMs (0: all).  ansi: clear the screen first and show the header in
 * reverse video.  Members wanting are left in host and vms (reply_check).
 */
void top_frame(FILE *out, struct reply *host, struct reply *vms, enum top_sort sort, int max_rows,
	       bool ansi);

/* The command: frames every -d MS, -n N of them or until q or a signal. */
int do_top(int argc, char **argv);

#endif /* TIDE_TOP_H */
