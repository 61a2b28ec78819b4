/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli_show: tidectl's plain printers of "vm show" and "host show" (top's
 * frame is in top.c), from the daemon's JSON replies (the one producer;
 * -j prints those replies as they are).  Units are made human here
 * ("12.3%", "1.2 MiB/s", "128 MiB"); names are printed with control
 * characters replaced (cli_safe), so a domain name cannot drive the terminal.
 *
 * CPU percentages are of one CPU, as top(1) shows a process: a VM with
 * two busy vCPUs is at 200%.  The host's load is over all its CPUs.
 */
#ifndef TIDE_CLI_SHOW_H
#define TIDE_CLI_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "reply.h"

#define CLI_HUMAN_BYTES 32
/* a domain or host name as printed */
#define NAME_BYTES 256
/* the widest a name column gets */
#define NAME_COL_MAX 32

/* "512 B", "1.2 KiB", "128 MiB", "23.5 GiB" */
const char *cli_human_bytes(double bytes, char *buf, size_t n);
/* "0 B/s", "1.2 MiB/s" */
const char *cli_human_rate(double bytes_per_s, char *buf, size_t n);
/* ratio 0.123 -> "12.3%" */
const char *cli_human_percent(double ratio, char *buf, size_t n);
/* "850 ns", "12.5 us", "3.2 ms", "1.25 s" */
const char *cli_human_ns(double ns, char *buf, size_t n);
/* "12", "1.2k", "3.4M" (per-second counts) */
const char *cli_human_count(double v, char *buf, size_t n);
/* "45s", "2m 03s", "1h 02m", "3d 04h" */
const char *cli_human_duration(double seconds, char *buf, size_t n);

/*
 * The printers read the reply through reply.h: a member it lacks is left
 * in r for reply_check(), the caller's to report before showing anything.
 */
/* `tidectl vm show`: one line per VM. */
void cli_show_vm_table(FILE *out, struct reply *r);
/* `tidectl vm show NAME`: one VM in full (reply with its "vms" array). */
void cli_show_vm_detail(FILE *out, struct reply *r);
/* `tidectl host show` */
void cli_show_host(FILE *out, struct reply *r);

/* `tidectl migration list`: one line per record, predicted / actual. */
void cli_show_migration_table(FILE *out, struct reply *r);
/* `tidectl migration show ID`: one record with its passes. */
void cli_show_migration_detail(FILE *out, struct reply *r);

/* Shared with top's frame. */
/* s cut to at most max columns (with "~" marking the cut), padded to pad */
void cli_put_col(FILE *out, const char *s, size_t max, size_t pad);
/* width of the NAME column for these VMs (at most 32) */
size_t cli_name_col(struct reply *r, struct json_object *vms);
/* CPU time per second of wall time (o's key, in ns/s) as a ratio of one CPU */
double cli_cpu_ratio(struct reply *r, struct json_object *o, const char *key);

#endif /* TIDE_CLI_SHOW_H */
