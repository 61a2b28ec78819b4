// SPDX-License-Identifier: GPL-2.0
/*
 * cli_migrate: `tidectl migrate`.  tided predicts the move, refuses one
 * predicted not to converge (saying what would make it), starts it and
 * answers with the record's id; `wait` then follows the record until it
 * ends and exits non-zero unless it completed, so that a script can trust
 * the exit code.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_migrate.h"
#include "cli_show.h"
#include "reply.h"

#define NAME_BYTES 256
#define WAIT_POLL_MS 500

static int do_migrate_help(void)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] migrate NAME|UUID HOST [bandwidth MIB_S] [downtime MS]\n"
		"                  [max-downtime MS] [auto-converge] [postcopy] [force]\n"
		"                  [predict] [wait]\n"
		"\n"
		"       Move the VM live to the peer HOST (a name from tided.conf's peers),\n"
		"       peer to peer through libvirt.  tided first predicts the move; one\n"
		"       predicted not to converge is refused, with what would make it\n"
		"       converge, unless 'force'.  The destination's tided may refuse it\n"
		"       (no room); the VM then keeps running here.\n"
		"       bandwidth     pre-copy cap (default migration_bandwidth_mib_s)\n"
		"       downtime      QEMU's downtime limit to start with\n"
		"                     (default migration_downtime_limit_ms)\n"
		"       max-downtime  how far tided may raise it when the migration falls\n"
		"                     behind its prediction (default\n"
		"                     migration_max_downtime_ms); then post-copy if\n"
		"                     'postcopy' and migration_postcopy allow it, else\n"
		"                     it aborts the migration\n"
		"       auto-converge QEMU throttles the VM's vCPUs if it dirties too fast\n"
		"       predict       only print the prediction; nothing moves\n"
		"       wait          follow the migration to its end; exit 1 unless it\n"
		"                     completed\n",
		cli.bin_name);
	return 0;
}

static void show_started(FILE *out, struct reply *r)
{
	struct json_object *p = reply_object(r, r->obj, "prediction");
	char vm[NAME_BYTES], dest[NAME_BYTES], b[CLI_HUMAN_BYTES], t[32], d[32];

	if (!reply_bool(r, r->obj, "started")) {
		fprintf(out, "%s -> %s: ", reply_str(r, p, "vm", vm, sizeof(vm)),
			reply_str(r, p, "dest", dest, sizeof(dest)));
		if (reply_bool(r, p, "converges"))
			fprintf(out, "predicted %s, %s down, %s sent, %lld rounds; nothing moved\n",
				cli_human_ns(reply_num(r, p, "total_time_ms") * 1e6, t, sizeof(t)),
				cli_human_ns(reply_num(r, p, "downtime_ms") * 1e6, d, sizeof(d)),
				cli_human_bytes(reply_num(r, p, "bytes_sent"), b, sizeof(b)),
				(long long)reply_int(r, p, "rounds"));
		else
			fprintf(out, "predicted not to converge; nothing moved\n");
		return;
	}
	fprintf(out, "migration %lld: %s -> %s started", (long long)reply_int(r, r->obj, "id"),
		reply_str(r, p, "vm", vm, sizeof(vm)),
		reply_str(r, r->obj, "dest", dest, sizeof(dest)));
	if (reply_bool(r, p, "converges"))
		fprintf(out, ", predicted %s, %s down, %s sent\n",
			cli_human_ns(reply_num(r, p, "total_time_ms") * 1e6, t, sizeof(t)),
			cli_human_ns(reply_num(r, p, "downtime_ms") * 1e6, d, sizeof(d)),
			cli_human_bytes(reply_num(r, p, "bytes_sent"), b, sizeof(b)));
	else
		fprintf(out, " although predicted not to converge (force)\n");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Follow record id until it is no longer running; 0 when it completed. */
static int wait_for(int64_t id)
{
	for (;;) {
		struct json_object *req = reply_request("migration show"), *m;
		char result[32];
		struct reply r;
		int err;

		if (req)
			json_object_object_add(req, "id", json_object_new_int64(id));
		if (reply_call(&r, req))
			return -1;
		m = json_object_array_get_idx(reply_array(&r, r.obj, "migrations"), 0);
		reply_str(&r, m, "result", result, sizeof(result));
		if (reply_check(&r)) {
			reply_free(&r);
			return -1;
		}
		if (strcmp(result, "running") != 0) {
			err = reply_show(&r, cli_show_migration_detail);
			reply_free(&r);
			if (err)
				return -1;
			if (strcmp(result, "completed") != 0) {
				if (!cli.json)
					p_err("migration %lld %s", (long long)id, result);
				return -1;
			}
			return 0;
		}
		reply_free(&r);
		sleep_ms(WAIT_POLL_MS);
	}
}

int do_migrate(int argc, char **argv)
{
	struct json_object *req;
	const char *vm = NULL, *dest = NULL;
	bool wait = false;
	struct reply r;
	uint64_t v;
	int64_t id;
	int err;

	if (argc > 0 && !strcmp(*argv, "help"))
		return do_migrate_help();
	req = reply_request("migrate");
	if (!req) {
		p_err("out of memory");
		return -1;
	}
	while (argc > 0) {
		const char *kw = *argv;
		const char *key = NULL;
		uint64_t max = 60000;

		if (is_prefix(kw, "bandwidth")) {
			key = "bandwidth_mib_s";
			max = 1048576;
		} else if (!strcmp(kw, "downtime")) {
			key = "downtime_limit_ms";
		} else if (!strcmp(kw, "max-downtime")) {
			key = "max_downtime_ms";
		}
		if (key) {
			NEXT_ARG();
			if (argc < 1) {
				p_err("'%s' needs a value", kw);
				goto bad;
			}
			if (cli_parse_u64_arg(kw, *argv, max, &v))
				goto bad;
			json_object_object_add(req, key, json_object_new_int64((int64_t)v));
		} else if (is_prefix(kw, "auto-converge") && strlen(kw) >= 2) {
			json_object_object_add(req, "auto_converge", json_object_new_boolean(1));
		} else if (!strcmp(kw, "postcopy")) {
			json_object_object_add(req, "postcopy", json_object_new_boolean(1));
		} else if (!strcmp(kw, "force")) {
			json_object_object_add(req, "force", json_object_new_boolean(1));
		} else if (!strcmp(kw, "predict")) {
			json_object_object_add(req, "predict", json_object_new_boolean(1));
		} else if (!strcmp(kw, "wait")) {
			wait = true;
		} else if (!vm) {
			vm = kw;
		} else if (!dest) {
			dest = kw;
		} else {
			BAD_ARG();
			goto bad;
		}
		NEXT_ARG();
	}
	if (!vm || !dest) {
		p_err("'migrate' needs a VM and a destination host: migrate NAME HOST");
		goto bad;
	}
	json_object_object_add(req, "vm", json_object_new_string(vm));
	json_object_object_add(req, "dest", json_object_new_string(dest));
	if (reply_call(&r, req))
		return -1;
	id = reply_int(&r, r.obj, "id");
	if (wait && cli.json) {
		/* one JSON document: the record at its end */
		bool started = reply_bool(&r, r.obj, "started");

		reply_free(&r);
		return started ? wait_for(id) : 0;
	}
	err = reply_show(&r, show_started);
	if (!err && wait && reply_bool(&r, r.obj, "started"))
		err = wait_for(id);
	reply_free(&r);
	return err ? -1 : 0;
bad:
	json_object_put(req);
	return -1;
}

/* ---- host drain / undrain ------------------------------------------------------ */

static void show_drain(FILE *out, struct reply *r)
{
	struct json_object *d = reply_object(r, r->obj, "drain");
	struct json_object *moves = d ? reply_array(r, d, "moves") : NULL;
	char vm[NAME_BYTES], dest[NAME_BYTES], rem[32], t[32], dd[32], b[CLI_HUMAN_BYTES];

	fprintf(out,
		"drain plan: %lld VMs, %lld cannot move now; predicted %s in all, at most %s "
		"of downtime\n",
		(long long)reply_int(r, d, "vms"), (long long)reply_int(r, d, "declined"),
		cli_human_ns(reply_num(r, d, "predicted_total_time_ms") * 1e6, t, sizeof(t)),
		cli_human_ns(reply_num(r, d, "predicted_max_downtime_ms") * 1e6, dd, sizeof(dd)));
	if (reply_len(moves))
		fprintf(out, "  %-24s %-10s %-14s %9s %9s %10s\n", "VM", "DEST", "REMEDY", "TIME",
			"DOWNTIME", "SENT");
	for (size_t i = 0; i < reply_len(moves); i++) {
		struct json_object *m = json_object_array_get_idx(moves, i);
		struct json_object *p = reply_opt(m, "predicted");
		char why[64], act[16];

		fprintf(out, "  %-24s %-10s ", reply_str(r, m, "vm", vm, sizeof(vm)),
			reply_str(r, m, "destination", dest, sizeof(dest)));
		if (strcmp(reply_str(r, m, "action", act, sizeof(act)), "migrate") != 0 || !p ||
		    !json_object_is_type(p, json_type_object)) {
			fprintf(out, "cannot move: %s\n", reply_str(r, m, "why", why, sizeof(why)));
			continue;
		}
		fprintf(out, "%-14s %9s %9s %10s\n", reply_str(r, m, "remedy", rem, sizeof(rem)),
			cli_human_ns(reply_num(r, p, "total_time_ms") * 1e6, t, sizeof(t)),
			cli_human_ns(reply_num(r, p, "downtime_ms") * 1e6, dd, sizeof(dd)),
			cli_human_bytes(reply_num(r, p, "bytes"), b, sizeof(b)));
	}
	if (reply_bool(r, r->obj, "dry_run"))
		fprintf(out, "dry run: nothing moves, the host is %sdraining\n",
			reply_bool(r, r->obj, "draining") ? "" : "not ");
	else
		fprintf(out, "draining: the VMs leave one by one, cheapest first; incoming VMs are "
			     "refused; 'host undrain' ends it\n");
}

int do_host_drain(int argc, char **argv)
{
	struct json_object *req = reply_request("host drain");
	struct reply r;
	int err;

	if (!req) {
		p_err("out of memory");
		return -1;
	}
	while (argc > 0) {
		if (strcmp(*argv, "dry-run") != 0 && strcmp(*argv, "--dry-run") != 0) {
			json_object_put(req);
			return BAD_ARG();
		}
		json_object_object_add(req, "dry_run", json_object_new_boolean(1));
		NEXT_ARG();
	}
	if (reply_call(&r, req))
		return -1;
	err = reply_show(&r, show_drain);
	reply_free(&r);
	return err ? -1 : 0;
}

static void show_undrain(FILE *out, struct reply *r)
{
	(void)reply_bool(r, r->obj, "draining");
	fprintf(out, "not draining: this host takes VMs again\n");
}

int do_host_undrain(int argc, char **argv)
{
	struct reply r;
	int err;

	if (argc > 0)
		return BAD_ARG();
	if (reply_call(&r, reply_request("host undrain")))
		return -1;
	err = reply_show(&r, show_undrain);
	reply_free(&r);
	return err ? -1 : 0;
}
