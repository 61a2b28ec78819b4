// SPDX-License-Identifier: GPL-2.0
/*
 * cli_plan: the plain printers of "plan", from tided's reply (-j prints
 * the reply as it is).  A migration predicted not to converge shows what
 * would make it converge, each remedy with its own cost, since "no" alone
 * leaves the operator nowhere to go.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_plan.h"
#include "cli_show.h"

#define COL 32

static const char *ms_str(double ms, char *buf, size_t n)
{
	return cli_human_ns(ms * 1e6, buf, n);
}

/* "48.0 MiB/s (6.1 s, 21 ms down)" for one remedy */
static void remedy(FILE *out, struct reply *r, struct json_object *needs, const char *key,
		   const char *label, bool *first)
{
	struct json_object *k = reply_opt(needs, key);
	char a[CLI_HUMAN_BYTES], t[COL], d[COL];

	if (!k)
		return;
	fprintf(out, "%s%s ", *first ? "" : "; ", label);
	if (!strcmp(key, "bandwidth"))
		fprintf(out, "%s",
			cli_human_rate(reply_num(r, k, "bandwidth_bytes_per_s"), a, sizeof(a)));
	else if (!strcmp(key, "downtime_limit"))
		fprintf(out, "%s", ms_str(reply_num(r, k, "downtime_limit_ms"), a, sizeof(a)));
	else
		fprintf(out, "%lld%%", (long long)reply_int(r, k, "throttle_pct"));
	fprintf(out, " (%s, %s down)", ms_str(reply_num(r, k, "total_time_ms"), t, sizeof(t)),
		ms_str(reply_num(r, k, "downtime_ms"), d, sizeof(d)));
	*first = false;
}

static void needs(FILE *out, struct reply *r, struct json_object *m)
{
	struct json_object *n = reply_opt(m, "needs");
	bool first = true;

	if (!n) {
		fprintf(out, "nothing found within the model's limits");
		return;
	}
	remedy(out, r, n, "bandwidth", "bandwidth", &first);
	remedy(out, r, n, "downtime_limit", "downtime limit", &first);
	remedy(out, r, n, "auto_converge", "auto-converge throttle", &first);
	if (first)
		fprintf(out, "nothing found within the model's limits");
}

static const char *curve_str(struct reply *r, struct json_object *m, char *buf, size_t n)
{
	struct json_object *c = reply_object(r, m, "curve");
	char age[COL];

	if (!c)
		return "-";
	if (!reply_bool(r, c, "measured"))
		return "none yet";
	snprintf(buf, n, "%s old",
		 cli_human_duration(reply_num(r, c, "age_ms") / 1e3, age, sizeof(age)));
	return buf;
}

/* One planner move or rejection: "v1 -> h2 (downtime remedy, 300 ms limit): 5.1 s, ..." */
static void decision_move(FILE *out, struct reply *r, struct json_object *m, bool chosen)
{
	struct json_object *p = reply_opt(m, "predicted");
	char vm[NAME_BYTES], dest[NAME_BYTES], why[64], t[COL], d[COL], b[CLI_HUMAN_BYTES];

	fprintf(out, "  %-9s %s -> %s",
		chosen ? "move:" : "rejected:", reply_str(r, m, "vm", vm, sizeof(vm)),
		reply_str(r, m, "destination", dest, sizeof(dest)));
	if (!chosen) {
		fprintf(out, ": %s\n", reply_str(r, m, "why", why, sizeof(why)));
		return;
	}
	fprintf(out, " (remedy %s, downtime limit %lld ms%s)",
		reply_str(r, m, "remedy", why, sizeof(why)),
		(long long)reply_int(r, m, "downtime_limit_ms"),
		reply_bool(r, m, "auto_converge") ? ", auto-converge" : "");
	if (p && json_object_is_type(p, json_type_object))
		fprintf(out, ": predicted %s, %s down, %s sent",
			ms_str(reply_num(r, p, "total_time_ms"), t, sizeof(t)),
			ms_str(reply_num(r, p, "downtime_ms"), d, sizeof(d)),
			cli_human_bytes(reply_num(r, p, "bytes"), b, sizeof(b)));
	fputc('\n', out);
}

/* The control loop's decision, above the costs. */
static void decision(FILE *out, struct reply *r)
{
	struct json_object *d = reply_opt(r->obj, "decision"), *moves, *rej;
	char st[32], trig[32], sum[512], dur[COL];
	size_t n_rej;

	if (!d || !json_object_is_type(d, json_type_object))
		return;
	if (!reply_bool(r, d, "decided")) {
		fprintf(out, "planner: no decision yet (the first tick is to come)\n\n");
		return;
	}
	fprintf(out, "planner: %s%s%s, load %.2f (cpu %.2f, net %.2f, memory %.2f)",
		reply_str(r, d, "state", st, sizeof(st)),
		reply_bool(r, d, "dry_run") ? " [dry run: nothing moves]" : "",
		reply_bool(r, d, "draining") ? " [draining]" : "", reply_num(r, d, "load_ratio"),
		reply_num(r, d, "cpu_ratio"), reply_num(r, d, "net_ratio"),
		reply_num(r, d, "mem_ratio"));
	reply_str(r, d, "trigger", trig, sizeof(trig));
	if (trig[0] && strcmp(trig, "-") != 0)
		fprintf(out, ", past %s for %s", trig,
			ms_str(reply_num(r, d, "state_for_ms"), dur, sizeof(dur)));
	fprintf(out, "\n  %s\n", reply_str(r, d, "summary", sum, sizeof(sum)));
	moves = reply_array(r, d, "moves");
	for (size_t i = 0; i < reply_len(moves); i++)
		decision_move(out, r, json_object_array_get_idx(moves, i), true);
	rej = reply_array(r, d, "rejected");
	n_rej = reply_len(rej);
	for (size_t i = 0; i < n_rej; i++)
		decision_move(out, r, json_object_array_get_idx(rej, i), false);
	if ((size_t)reply_int(r, d, "rejected_total") > n_rej)
		fprintf(out, "  ... and %lld more rejected\n",
			(long long)reply_int(r, d, "rejected_total") - (long long)n_rej);
	fputc('\n', out);
}

void cli_show_plan(FILE *out, struct reply *r)
{
	struct json_object *moves = reply_array(r, r->obj, "moves");
	char vm[NAME_BYTES], dest[NAME_BYTES], t[COL], d[COL], b[CLI_HUMAN_BYTES], c[COL];
	size_t n = reply_len(moves), nc;

	decision(out, r);
	if (!n) {
		fprintf(out, "no VMs\n");
		return;
	}
	nc = strlen("VM");
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(
			reply_str(r, json_object_array_get_idx(moves, i), "vm", vm, sizeof(vm)));

		nc = w > nc ? w : nc;
	}
	nc = nc > COL ? COL : nc;
	cli_put_col(out, "VM", nc, nc + 2);
	fprintf(out, "%-10s %-9s %9s %9s %10s %6s  %-12s %s\n", "DEST", "CONVERGES", "TIME",
		"DOWNTIME", "SENT", "ROUNDS", "CURVE", "NEEDS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(moves, i);
		bool conv = reply_bool(r, m, "converges");

		cli_put_col(out, reply_str(r, m, "vm", vm, sizeof(vm)), nc, nc + 2);
		fprintf(out, "%-10s %-9s ", reply_str(r, m, "dest", dest, sizeof(dest)),
			conv ? "yes" : "no");
		if (conv)
			fprintf(out, "%9s %9s %10s %6lld  ",
				ms_str(reply_num(r, m, "total_time_ms"), t, sizeof(t)),
				ms_str(reply_num(r, m, "downtime_ms"), d, sizeof(d)),
				cli_human_bytes(reply_num(r, m, "bytes_sent"), b, sizeof(b)),
				(long long)reply_int(r, m, "rounds"));
		else
			fprintf(out, "%9s %9s %10s %6s  ", "-", "-", "-", "-");
		fprintf(out, "%-12s ", curve_str(r, m, c, sizeof(c)));
		if (conv)
			fprintf(out, "-");
		else
			needs(out, r, m);
		fputc('\n', out);
	}
}

static void cost_line(FILE *out, struct reply *r, struct json_object *m, const char *label)
{
	char t[COL], d[COL], b[CLI_HUMAN_BYTES];

	if (!reply_bool(r, m, "converges")) {
		fprintf(out, "  %-10s does not converge (%s)\n", label,
			reply_str(r, m, "why", t, sizeof(t)));
		return;
	}
	fprintf(out, "  %-10s converges: %s, %s down, %s sent, %lld rounds\n", label,
		ms_str(reply_num(r, m, "total_time_ms"), t, sizeof(t)),
		ms_str(reply_num(r, m, "downtime_ms"), d, sizeof(d)),
		cli_human_bytes(reply_num(r, m, "bytes_sent"), b, sizeof(b)),
		(long long)reply_int(r, m, "rounds"));
}

static void detail(FILE *out, struct reply *r, struct json_object *m)
{
	struct json_object *in = reply_object(r, m, "input"), *c = reply_object(r, m, "curve");
	struct json_object *pts = c ? reply_array(r, c, "points") : NULL;
	char a[NAME_BYTES], b[NAME_BYTES], x[CLI_HUMAN_BYTES], y[CLI_HUMAN_BYTES], z[COL];

	fprintf(out, "%s -> %s\n", reply_str(r, m, "vm", a, sizeof(a)),
		reply_str(r, m, "dest", b, sizeof(b)));
	cost_line(out, r, m, "tide:");
	if (!reply_bool(r, m, "converges")) {
		fprintf(out, "  %-10s ", "needs:");
		needs(out, r, m);
		fputc('\n', out);
	}
	cost_line(out, r, reply_object(r, m, "textbook"), "textbook:");
	if (in) {
		fprintf(out, "  input:     memory %s, bandwidth %s, link %s, downtime limit %s\n",
			cli_human_bytes(reply_num(r, in, "memory_bytes"), x, sizeof(x)),
			cli_human_rate(reply_num(r, in, "bandwidth_bytes_per_s"), y, sizeof(y)),
			cli_human_rate(reply_num(r, in, "link_bytes_per_s"), b, sizeof(b)),
			ms_str(reply_num(r, in, "downtime_limit_ms"), z, sizeof(z)));
		fprintf(out, "             throughput ratio %.2f, switch-over overhead %lld ms%s\n",
			reply_num(r, in, "throughput_ratio"),
			(long long)reply_int(r, in, "switchover_overhead_ms"),
			reply_bool(r, in, "auto_converge") ? ", auto-converge" : "");
	}
	fprintf(out, "  curve:     %s\n", curve_str(r, m, a, sizeof(a)));
	for (size_t i = 0; i < reply_len(pts); i++) {
		struct json_object *p = json_object_array_get_idx(pts, i);
		double pages = reply_num(r, p, "pages");

		fprintf(out, "             W(%s) = %s\n",
			ms_str(reply_num(r, p, "t_ms"), z, sizeof(z)),
			cli_human_bytes(pages * (double)reply_int(r, c, "page_bytes"), x, sizeof(x)));
	}
}

void cli_show_plan_detail(FILE *out, struct reply *r)
{
	struct json_object *moves = reply_array(r, r->obj, "moves");

	if (!reply_len(moves)) {
		fprintf(out, "no VMs\n");
		return;
	}
	for (size_t i = 0; i < reply_len(moves); i++) {
		if (i)
			fputc('\n', out);
		detail(out, r, json_object_array_get_idx(moves, i));
	}
}
