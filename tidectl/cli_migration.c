// SPDX-License-Identifier: GPL-2.0
/*
 * cli_migration: plain printers of tidectl's migration list / show (the
 * records: predicted beside actual, who started it, its escalations, its
 * passes).  Split from cli_show.c; declared in cli_show.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_show.h"
#include "reply.h"

/* ---- migration list / show --------------------------------------------------- */

static void start_time(struct reply *r, struct json_object *m, char *buf, size_t n)
{
	time_t t = (time_t)(reply_int(r, m, "start_realtime_ms") / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "?");
}

static const char *ms_str(double ms, bool known, char *buf, size_t n)
{
	if (!known)
		return "-";
	return cli_human_ns(ms * 1e6, buf, n);
}

static const char *bytes_str(double b, bool known, char *buf, size_t n)
{
	return known ? cli_human_bytes(b, buf, n) : "-";
}

static const char *count_str(int64_t v, bool known, char *buf, size_t n)
{
	if (!known)
		return "-";
	snprintf(buf, n, "%lld", (long long)v);
	return buf;
}

/* "PRED / ACTUAL" into buf */
static const char *pair(const char *pred, const char *act, char *buf, size_t n)
{
	snprintf(buf, n, "%s / %s", pred, act);
	return buf;
}

void cli_show_migration_table(FILE *out, struct reply *r)
{
	struct json_object *migs = reply_array(r, r->obj, "migrations");
	char name[NAME_BYTES], peer[NAME_BYTES], when[32], res[16], dir[8];
	char a[CLI_HUMAN_BYTES], b[CLI_HUMAN_BYTES], col[2][4][2 * CLI_HUMAN_BYTES + 4];
	size_t nc = 6, n = reply_len(migs);

	if (n == 0) {
		fprintf(out, "no migrations recorded\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(reply_str(r, json_object_array_get_idx(migs, i), "domain", name,
					    sizeof(name)));

		nc = w > nc ? w : nc;
	}
	nc = nc > NAME_COL_MAX ? NAME_COL_MAX : nc;
	fprintf(out, "%-4s ", "ID");
	cli_put_col(out, "DOMAIN", nc, nc + 1);
	fprintf(out, "%-3s %-12s %-19s %-9s  %-21s %-21s %-23s %-9s %s\n", "DIR", "PEER", "START",
		"RESULT", "TIME pred/act", "DOWNTIME pred/act", "BYTES pred/act", "ROUNDS",
		"CONVERGES");
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(migs, i);
		struct json_object *p = reply_opt(m, "predicted"), *act = reply_opt(m, "actual");
		bool hp = p != NULL, ha = act != NULL;

		start_time(r, m, when, sizeof(when));
		fprintf(out, "%-4lld ", (long long)reply_int(r, m, "id"));
		cli_put_col(out, reply_str(r, m, "domain", name, sizeof(name)), nc, nc + 1);
		fprintf(out, "%-3s ", reply_str(r, m, "direction", dir, sizeof(dir)));
		cli_put_col(out, reply_str(r, m, "peer", peer, sizeof(peer)), 12, 13);
		fprintf(out, "%-19s %-9s  ", when, reply_str(r, m, "result", res, sizeof(res)));
		fprintf(out, "%-21s ",
			pair(ms_str(hp ? reply_num(r, p, "total_time_ms") : 0, hp, a, sizeof(a)),
			     ms_str(ha ? reply_num(r, act, "time_elapsed_ms") : 0, ha, b, sizeof(b)),
			     col[0][0], sizeof(col[0][0])));
		fprintf(out, "%-21s ",
			pair(ms_str(hp ? reply_num(r, p, "downtime_ms") : 0, hp, a, sizeof(a)),
			     ms_str(ha ? reply_num(r, act, "downtime_ms") : 0, ha, b, sizeof(b)),
			     col[0][1], sizeof(col[0][1])));
		fprintf(out, "%-23s ",
			pair(bytes_str(hp ? reply_num(r, p, "bytes_sent") : 0, hp, a, sizeof(a)),
			     bytes_str(ha ? reply_num(r, act, "data_processed_bytes") : 0, ha, b,
				       sizeof(b)),
			     col[0][2], sizeof(col[0][2])));
		fprintf(out, "%-9s ",
			pair(count_str(hp ? reply_int(r, p, "rounds") : 0, hp, a, sizeof(a)),
			     count_str(ha ? reply_int(r, act, "iterations") : 0, ha, b, sizeof(b)),
			     col[0][3], sizeof(col[0][3])));
		fprintf(out, "%s\n", hp ? (reply_bool(r, p, "converges") ? "yes" : "no") : "-");
	}
}

/* A migration tide started: why, under what, and what it escalated. */
static void show_driven(FILE *out, struct reply *r, struct json_object *dr)
{
	struct json_object *esc;
	char a[NAME_BYTES], b[NAME_BYTES];

	if (!dr || !json_object_is_type(dr, json_type_object)) {
		fprintf(out, "started by:      not tide (virsh or another manager)\n");
		return;
	}
	fprintf(out, "started by:      tide (%s), downtime limit up to %lld ms%s%s\n",
		reply_str(r, dr, "reason", a, sizeof(a)),
		(long long)reply_int(r, dr, "max_downtime_ms"),
		reply_bool(r, dr, "auto_converge") ? ", auto-converge" : "",
		reply_bool(r, dr, "postcopy") ? ", post-copy allowed" : "");
	esc = reply_array(r, dr, "escalations");
	for (size_t i = 0; i < reply_len(esc); i++) {
		struct json_object *e = json_object_array_get_idx(esc, i);
		struct json_object *lim = reply_opt(e, "downtime_limit_ms");

		fprintf(out, "escalation:      at %lld ms: %s", (long long)reply_int(r, e, "at_ms"),
			reply_str(r, e, "action", a, sizeof(a)));
		if (lim)
			fprintf(out, " %lld ms", (long long)json_object_get_int64(lim));
		fprintf(out, " (%s)\n", reply_str(r, e, "why", b, sizeof(b)));
	}
}

void cli_show_migration_detail(FILE *out, struct reply *r)
{
	struct json_object *migs = reply_array(r, r->obj, "migrations");
	char a[NAME_BYTES], b[NAME_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES];
	struct json_object *m, *passes;

	if (reply_len(migs) != 1)
		return;
	m = json_object_array_get_idx(migs, 0);
	cli_show_migration_table(out, r);
	fprintf(out, "\nuuid:            %s\n", reply_str(r, m, "uuid", a, sizeof(a)));
	fprintf(out, "bandwidth cap:   %s (%s)\n",
		reply_int(r, m, "bandwidth_bytes_per_s") ?
			cli_human_rate(reply_num(r, m, "bandwidth_bytes_per_s"), c, sizeof(c)) :
			"none",
		reply_str(r, m, "bandwidth_source", a, sizeof(a)));
	fprintf(out, "downtime limit:  %lld ms (%s)\n",
		(long long)reply_int(r, m, "downtime_limit_ms"),
		reply_str(r, m, "downtime_limit_source", a, sizeof(a)));
	reply_str(r, m, "prediction_error", a, sizeof(a));
	if (a[0] && strcmp(a, "-") != 0)
		fprintf(out, "no prediction:   %s\n", a);
	reply_str(r, m, "error", b, sizeof(b));
	if (b[0] && strcmp(b, "-") != 0)
		fprintf(out, "error:           %s\n", b);
	show_driven(out, r, reply_opt(m, "driven"));
	passes = reply_array(r, m, "passes");
	if (!reply_len(passes))
		return;
	fprintf(out, "\n%5s %10s %12s %11s %5s %12s %12s\n", "PASS", "DURATION", "REMAINING",
		"W(t) PAGES", "FED", "DIRTY p/s", "SPEED");
	for (size_t i = 0; i < reply_len(passes); i++) {
		struct json_object *p = json_object_array_get_idx(passes, i);

		fprintf(out, "%5lld %10s %12s %11lld %5s %12lld %12s\n",
			(long long)reply_int(r, p, "pass"),
			ms_str(reply_num(r, p, "duration_ms"), true, a, sizeof(a)),
			cli_human_bytes(reply_num(r, p, "remaining_bytes"), c, sizeof(c)),
			(long long)reply_int(r, p, "dirty_pages"),
			reply_bool(r, p, "fed") ? "yes" : "no",
			(long long)reply_int(r, p, "dirty_rate_pages_per_s"),
			cli_human_rate(reply_num(r, p, "bps"), d, sizeof(d)));
	}
}
