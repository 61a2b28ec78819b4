// SPDX-License-Identifier: GPL-2.0
/*
 * cli_admit: `tidectl host admissions`.  See cli_admit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_admit.h"
#include "cli_show.h"

#define COL 32

static void show_room(FILE *out, struct reply *r, struct json_object *cap)
{
	char a[CLI_HUMAN_BYTES], b[CLI_HUMAN_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES],
		e[CLI_HUMAN_BYTES];

	fprintf(out, "memory:    %s free of %s (VMs %s, reserved %s, kept for the host %s)\n",
		cli_human_bytes(reply_num(r, cap, "memory_free_bytes"), a, sizeof(a)),
		cli_human_bytes(reply_num(r, cap, "memory_bytes"), b, sizeof(b)),
		cli_human_bytes(reply_num(r, cap, "memory_used_bytes"), c, sizeof(c)),
		cli_human_bytes(reply_num(r, cap, "memory_reserved_bytes"), d, sizeof(d)),
		cli_human_bytes(reply_num(r, cap, "reserve_memory_bytes"), e, sizeof(e)));
	fprintf(out, "CPU:       %.2f free of %.2f (%s of %g CPUs; VMs %.2f, reserved %.2f)\n",
		reply_num(r, cap, "cpu_free"),
		reply_num(r, cap, "cpu_high_ratio") * reply_num(r, cap, "cpus"),
		cli_human_percent(reply_num(r, cap, "cpu_high_ratio"), a, sizeof(a)),
		reply_num(r, cap, "cpus"), reply_num(r, cap, "cpu_used"),
		reply_num(r, cap, "cpu_reserved"));
}

void cli_show_admissions(FILE *out, struct reply *r)
{
	struct json_object *o = r->obj, *cap = reply_opt(o, "capacity"), *rel, *res;
	char host[NAME_BYTES], name[NAME_BYTES], src[NAME_BYTES], a[COL], b[COL], m[CLI_HUMAN_BYTES];
	size_t n, nc = 2;

	fprintf(out, "admission on %s: %s%s; reservations time out after %s\n",
		reply_str(r, o, "host", host, sizeof(host)),
		reply_bool(r, o, "enabled") ? "checked" : "OFF (admit_enabled false: all admitted)",
		reply_bool(r, o, "draining") ? ", DRAINING: every VM refused" : "",
		cli_human_duration(reply_num(r, o, "timeout_ms") / 1e3, a, sizeof(a)));
	if (cap && !json_object_is_type(cap, json_type_null))
		show_room(out, r, cap);
	else
		fprintf(out, "room:      unknown: %s\n",
			reply_str(r, o, "capacity_error", name, sizeof(name)));
	rel = reply_object(r, o, "released");
	fprintf(out,
		"admitted %lld, refused %lld; released: running here %lld, by request %lld, "
		"timed out %lld, replaced %lld\n",
		(long long)reply_int(r, o, "admitted"), (long long)reply_int(r, o, "refused"),
		(long long)reply_int(r, rel, "running"), (long long)reply_int(r, rel, "request"),
		(long long)reply_int(r, rel, "timeout"), (long long)reply_int(r, rel, "replaced"));
	reply_str(r, o, "last_refusal", name, sizeof(name));
	if (name[0] && strcmp(name, "-") != 0)
		fprintf(out, "last refusal: %s\n", name);
	res = reply_array(r, o, "reservations");
	n = reply_len(res);
	if (!n) {
		fprintf(out, "no reservations\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(reply_str(r, json_object_array_get_idx(res, i), "name", name,
					    sizeof(name)));

		nc = w > nc ? w : nc;
	}
	nc = nc > COL ? COL : nc;
	fprintf(out, "\n%-4s ", "ID");
	cli_put_col(out, "VM", nc, nc + 1);
	fprintf(out, "%-9s %-10s %-16s %-12s %-8s %s\n", "STATE", "MEMORY", "CPUS", "SOURCE", "AGE",
		"EXPIRES IN");
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(res, i);
		char cpus[COL], state[16];

		snprintf(cpus, sizeof(cpus), "%.2f (%s)", reply_num(r, x, "cpus_expected"),
			 reply_str(r, x, "cpus_from", src, sizeof(src)));
		fprintf(out, "%-4lld ", (long long)reply_int(r, x, "id"));
		cli_put_col(out, reply_str(r, x, "name", name, sizeof(name)), nc, nc + 1);
		fprintf(out, "%-9s %-10s %-16s ", reply_str(r, x, "state", state, sizeof(state)),
			cli_human_bytes(reply_num(r, x, "memory_bytes"), m, sizeof(m)), cpus);
		cli_put_col(out, reply_str(r, x, "source", src, sizeof(src)), 12, 13);
		fprintf(out, "%-8s %s\n",
			cli_human_duration(reply_num(r, x, "age_ms") / 1e3, a, sizeof(a)),
			cli_human_duration(reply_num(r, x, "expires_in_ms") / 1e3, b, sizeof(b)));
	}
}

int do_host_admissions(int argc, char **argv)
{
	struct cli_buf buf;
	struct reply r;
	FILE *out;
	int err;

	if (argc > 0)
		return BAD_ARG();
	if (reply_call(&r, reply_request("admit list")))
		return -1;
	if (cli.json) {
		cli_print_json(r.obj);
		reply_free(&r);
		return 0;
	}
	out = cli_buf_open(&buf);
	if (!out) {
		reply_free(&r);
		return -1;
	}
	cli_show_admissions(out, &r);
	err = reply_check(&r);
	cli_buf_close(&buf, !err);
	reply_free(&r);
	return err ? -1 : 0;
}
