// SPDX-License-Identifier: GPL-2.0
/*
 * tidectl: command-line client of tided, in bpftool's shape.
 *
 *   tidectl [-j|-p] [-s SOCKET] status
 *   tidectl version
 *   tidectl vm show [NAME|UUID]
 *   tidectl host show
 *   tidectl migration list | show ID
 *   tidectl top [-n N|--once] [--sort cpu|wait|net] [-d MS]
 *
 * Each command asks tided over the control socket (one JSON request, one
 * JSON reply), then prints the reply: as it is with -j/-p, or through the
 * command's plain printer.  New objects ("vm", "host", "migration") get a
 * verb table and a do_OBJ() that calls cmd_select() on it; see cli.h.
 * Beside this file: cli (dispatch, options, errors), reply (the request and
 * the reply's members), cli_show (vm and host printers), top, ctl_client.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_migrate.h"
#include "cli_admit.h"
#include "cli_plan.h"
#include "cli_show.h"
#include "ctl_client.h"
#include "reply.h"
#include "top.h"
#include "util.h"

#define ERR_BYTES 512
#define NAME_BYTES 256

static int window_ms(void)
{
	return cli.window_ms >= 0 ? cli.window_ms : CLI_DEFAULT_WINDOW_MS;
}

static void print_duration(FILE *out, int64_t s)
{
	if (s < 0)
		fprintf(out, "?");
	else if (s >= 86400)
		fprintf(out, "%lldd %02lldh %02lldm", (long long)(s / 86400),
			(long long)(s % 86400 / 3600), (long long)(s % 3600 / 60));
	else if (s >= 3600)
		fprintf(out, "%lldh %02lldm %02llds", (long long)(s / 3600),
			(long long)(s % 3600 / 60), (long long)(s % 60));
	else if (s >= 60)
		fprintf(out, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else
		fprintf(out, "%llds", (long long)s);
}

/* ---- status ------------------------------------------------------------ */

static void show_status_plain(FILE *out, struct reply *r)
{
	struct json_object *st = r->obj, *features, *peers, *collectors, *workers;
	char a[NAME_BYTES], b[NAME_BYTES], c[NAME_BYTES];
	int missing = 0;

	fprintf(out, "tided %s, pid %lld, up ", reply_str(r, st, "version", a, sizeof(a)),
		(long long)reply_int(r, st, "pid"));
	print_duration(out, reply_int(r, st, "uptime_s"));
	fprintf(out, "\n");
	fprintf(out, "config:          %s%s\n", reply_str(r, st, "config", a, sizeof(a)),
		reply_bool(r, st, "config_loaded") ? "" : " (absent: defaults)");
	fprintf(out, "control socket:  %s\n", reply_str(r, st, "control_socket", a, sizeof(a)));
	fprintf(out, "state dir:       %s\n", reply_str(r, st, "state_dir", a, sizeof(a)));
	fprintf(out, "libvirt:         %s\n", reply_str(r, st, "libvirt_uri", a, sizeof(a)));
	fprintf(out, "tick:            %lld ms\n", (long long)reply_int(r, st, "tick_ms"));
	fprintf(out, "textfile:        %s every %lld ms\n",
		reply_str(r, st, "textfile_dir", a, sizeof(a)),
		(long long)reply_int(r, st, "textfile_interval_ms"));
	fprintf(out, "log level:       %s\n", reply_str(r, st, "log_level", a, sizeof(a)));
	peers = reply_array(r, st, "peers");
	if (reply_len(peers) > 0) {
		for (size_t i = 0; i < reply_len(peers); i++) {
			struct json_object *p = json_object_array_get_idx(peers, i);

			int64_t age_ms = reply_opt(p, "last_ok_age_ms") ?
						 json_object_get_int64(reply_opt(p, "last_ok_age_ms")) :
						 -1;

			fprintf(out, "%s %s (%s): %s", i ? "                " : "peers:          ",
				reply_str(r, p, "name", a, sizeof(a)),
				reply_str(r, p, "uri", b, sizeof(b)),
				reply_bool(r, p, "connected") ? "connected" : "NOT connected");
			if (age_ms >= 0)
				fprintf(out, ", read %lld ms ago, %lld CPUs", (long long)age_ms,
					(long long)reply_int(r, p, "cpus"));
			fprintf(out, "\n");
			reply_str(r, p, "last_error", c, sizeof(c));
			if (c[0] && strcmp(c, "-") != 0)
				fprintf(out, "                   last error: %s\n", c);
		}
	} else {
		fprintf(out, "peers:           none\n");
	}
	fprintf(out, "libvirt link:    %s, %lld VMs tracked\n",
		reply_bool(r, st, "libvirt_connected") ? "connected" : "NOT connected",
		(long long)reply_int(r, st, "vms"));
	collectors = reply_object(r, st, "collectors");
	fprintf(out, "collectors:      cpu %s, net %s, kvm %s%s\n",
		reply_str(r, collectors, "cpu", a, sizeof(a)),
		reply_str(r, collectors, "net", b, sizeof(b)),
		reply_str(r, collectors, "kvm", c, sizeof(c)),
		reply_bool(r, st, "degraded") ?
			"  (DEGRADED: a BPF collector could not load; see the log)" :
			"");
	fprintf(out, "host CPUs:       %s\n",
		reply_int(r, st, "host_cpus") ? (snprintf(a, sizeof(a), "%lld (configured)",
							  (long long)reply_int(r, st, "host_cpus")),
						 a) :
						"the machine's online CPUs");
	/* the proof that nothing blocks the loop (lag.h) */
	fprintf(out, "loop lateness:   %lld ms at most, %lld of %lld ticks later than one tick\n",
		(long long)reply_int(r, st, "tick_late_max_ms"),
		(long long)reply_int(r, st, "ticks_late"),
		(long long)reply_int(r, st, "ticks_measured"));
	workers = reply_object(r, st, "libvirt_workers");
	fprintf(out,
		"libvirt workers: %lld threads, %lld busy, %lld stuck; %lld calls, %lld timed out\n",
		(long long)reply_int(r, workers, "threads"),
		(long long)reply_int(r, workers, "busy"), (long long)reply_int(r, workers, "stuck"),
		(long long)reply_int(r, workers, "jobs_done"),
		(long long)reply_int(r, workers, "jobs_timed_out"));
	fprintf(out, "bpf attach:      %s\n", reply_str(r, st, "bpf_attach", a, sizeof(a)));
	features = reply_object(r, st, "features");
	fprintf(out, "features:       ");
	if (features) {
		json_object_object_foreach(features, name, v)
		{
			if (json_object_get_boolean(v))
				fprintf(out, " %s", cli_safe(name, a, sizeof(a)));
		}
	}
	fprintf(out, "\nmissing:        ");
	if (features) {
		json_object_object_foreach(features, name2, v2)
		{
			if (!json_object_get_boolean(v2)) {
				fprintf(out, " %s", cli_safe(name2, a, sizeof(a)));
				missing++;
			}
		}
	}
	fprintf(out, "%s\n", missing ? "" : " none");
}

static int do_status(int argc, char **argv)
{
	struct reply r;
	int err;

	if (argc > 0)
		return BAD_ARG();
	if (reply_call(&r, reply_request("status")))
		return -1;
	err = reply_show(&r, show_status_plain);
	reply_free(&r);
	return err ? -1 : 0;
}

/* ---- version ----------------------------------------------------------- */

static void show_version_plain(FILE *out, struct reply *r)
{
	char a[NAME_BYTES];

	fprintf(out, "tidectl %s\n", TIDE_VERSION);
	fprintf(out, "tided   %s (pid %lld)\n", reply_str(r, r->obj, "version", a, sizeof(a)),
		(long long)reply_int(r, r->obj, "pid"));
}

static int do_version(int argc, char **argv)
{
	struct json_object *req = reply_request("version"), *obj = NULL, *e;
	char err[ERR_BYTES] = "";
	struct reply r;
	int ret, shown = 0;

	if (argc > 0) {
		json_object_put(req);
		return BAD_ARG();
	}
	if (!req) {
		p_err("out of memory");
		return -1;
	}
	/* the daemon's version is a bonus: unreachable is not an error */
	ret = ctl_client_call(cli.socket_path, req, cli.timeout_ms, &obj, err, sizeof(err));
	json_object_put(req);
	if (!ret && json_object_object_get_ex(obj, "error", &e)) {
		snprintf(err, sizeof(err), "%s", json_object_get_string(e));
		ret = -EPROTO;
	}
	if (!ret)
		json_object_object_del(obj, "ok");
	reply_adopt(&r, "version", obj);

	if (cli.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "tidectl", json_object_new_string(TIDE_VERSION));
		if (ret) {
			json_object_object_add(o, "tided", NULL);
			json_object_object_add(o, "tided_error", json_object_new_string(err));
		} else {
			json_object_object_add(o, "tided", json_object_get(obj));
		}
		cli_print_json(o);
		json_object_put(o);
	} else if (ret) {
		fprintf(cli.out, "tidectl %s\n", TIDE_VERSION);
		fprintf(cli.out, "tided   unreachable: %s\n", err);
	} else {
		shown = reply_show(&r, show_version_plain);
	}
	reply_free(&r);
	return shown ? -1 : 0;
}

/* ---- vm ------------------------------------------------------------------ */

static int do_vm_show(int argc, char **argv)
{
	const char *name = NULL;
	struct reply r;
	int err;

	if (argc > 0) {
		name = *argv;
		NEXT_ARG();
	}
	if (argc > 0)
		return BAD_ARG();
	if (reply_call_show(&r, "vm show", name, window_ms()))
		return -1;
	err = reply_show(&r, name ? cli_show_vm_detail : cli_show_vm_table);
	reply_free(&r);
	return err ? -1 : 0;
}

static int do_vm_help(int argc, char **argv)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] vm show [NAME|UUID]\n"
		"       %1$s vm help\n"
		"\n"
		"       show      every VM of this host, one line each; with NAME or UUID,\n"
		"                 that VM in full: its vCPU threads and interfaces.\n"
		"                 Rates over the last second (-w MS to change, 0: last tick).\n",
		cli.bin_name);
	return 0;
}

static const struct cmd vm_cmds[] = { { "show", do_vm_show },
				      { "list", do_vm_show },
				      { "help", do_vm_help },
				      { 0 } };

static int do_vm(int argc, char **argv)
{
	return cmd_select(vm_cmds, argc, argv, do_vm_help);
}

/* ---- host ---------------------------------------------------------------- */

static int do_host_show(int argc, char **argv)
{
	struct reply r;
	int err;

	if (argc > 0)
		return BAD_ARG();
	if (reply_call_show(&r, "host show", NULL, window_ms()))
		return -1;
	err = reply_show(&r, cli_show_host);
	reply_free(&r);
	return err ? -1 : 0;
}

static int do_host_help(int argc, char **argv)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] host show\n"
		"       %1$s [OPTIONS] host admissions\n"
		"       %1$s [OPTIONS] host drain [dry-run]\n"
		"       %1$s [OPTIONS] host undrain\n"
		"       %1$s host help\n"
		"\n"
		"       show      this host: CPUs, memory, load, the VMs' sums, which\n"
		"                 collectors run, what collecting costs, libvirt.\n"
		"       admissions\n"
		"                 incoming migrations: the reservations held for VMs on\n"
		"                 their way here, what was admitted and refused, the room.\n"
		"       drain     maintenance: print the evacuation plan (each VM's\n"
		"                 destination and predicted time, downtime and bytes,\n"
		"                 and the VMs that cannot move, with why), then empty\n"
		"                 the host cheapest first and refuse incoming VMs.\n"
		"                 dry-run: print the plan only.\n"
		"       undrain   end the maintenance: take VMs again.\n",
		cli.bin_name);
	return 0;
}

static const struct cmd host_cmds[] = {
	{ "show", do_host_show },   { "admissions", do_host_admissions },
	{ "drain", do_host_drain }, { "undrain", do_host_undrain },
	{ "help", do_host_help },   { 0 }
};

static int do_host(int argc, char **argv)
{
	return cmd_select(host_cmds, argc, argv, do_host_help);
}

/* ---- migration ------------------------------------------------------------ */

static int do_migration_list(int argc, char **argv)
{
	struct json_object *req;
	struct reply r;
	int err;

	if (argc > 0)
		return BAD_ARG();
	req = reply_request("migration list");
	/* -j gives everything, the passes too */
	if (req && cli.json)
		json_object_object_add(req, "passes", json_object_new_boolean(true));
	if (reply_call(&r, req))
		return -1;
	err = reply_show(&r, cli_show_migration_table);
	reply_free(&r);
	return err ? -1 : 0;
}

static int do_migration_show(int argc, char **argv)
{
	struct json_object *req;
	struct reply r;
	long id;
	int err;

	if (!REQ_ARGS(1))
		return -1;
	if (util_parse_long(*argv, 1, LONG_MAX, &id)) {
		p_err("'%s' is not a migration id (a number from 'migration list')", *argv);
		return -1;
	}
	NEXT_ARG();
	if (argc > 0)
		return BAD_ARG();
	req = reply_request("migration show");
	if (req)
		json_object_object_add(req, "id", json_object_new_int64(id));
	if (reply_call(&r, req))
		return -1;
	err = reply_show(&r, cli_show_migration_detail);
	reply_free(&r);
	return err ? -1 : 0;
}

static int do_migration_help(int argc, char **argv)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] migration list\n"
		"       %1$s [OPTIONS] migration show ID\n"
		"       %1$s migration help\n"
		"\n"
		"       list      every migration of this host's domains tided recorded,\n"
		"                 whoever started it: predicted / actual time, downtime,\n"
		"                 bytes and rounds (-j: everything, the passes too).\n"
		"       show ID   one record in full, pass by pass.\n",
		cli.bin_name);
	return 0;
}

static const struct cmd migration_cmds[] = { { "list", do_migration_list },
					     { "show", do_migration_show },
					     { "help", do_migration_help },
					     { 0 } };

static int do_migration(int argc, char **argv)
{
	return cmd_select(migration_cmds, argc, argv, do_migration_help);
}

/* ---- plan ---------------------------------------------------------------- */

static int do_plan_help(void);

static int do_plan(int argc, char **argv)
{
	struct json_object *req = reply_request("plan");
	const char *vm = NULL, *dest = NULL;
	bool detail;
	struct reply r;
	uint64_t v;
	int err;

	if (argc > 0 && !strcmp(*argv, "help")) {
		json_object_put(req);
		return do_plan_help();
	}
	if (!req) {
		p_err("out of memory");
		return -1;
	}
	while (argc > 0) {
		const char *kw = *argv;

		if (is_prefix(kw, "bandwidth") || is_prefix(kw, "downtime")) {
			bool bw = is_prefix(kw, "bandwidth");

			NEXT_ARG();
			if (argc < 1) {
				p_err("'%s' needs a value (%s)", kw, bw ? "MiB/s" : "ms");
				goto bad;
			}
			if (cli_parse_u64_arg(kw, *argv, bw ? 1048576 : 60000, &v))
				goto bad;
			json_object_object_add(req, bw ? "bandwidth_mib_s" : "downtime_limit_ms",
					       json_object_new_int64((int64_t)v));
		} else if (is_prefix(kw, "auto-converge")) {
			json_object_object_add(req, "auto_converge", json_object_new_boolean(1));
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
	if (vm)
		json_object_object_add(req, "vm", json_object_new_string(vm));
	if (dest)
		json_object_object_add(req, "dest", json_object_new_string(dest));
	detail = vm && dest;
	if (reply_call(&r, req))
		return -1;
	err = reply_show(&r, detail ? cli_show_plan_detail : cli_show_plan);
	reply_free(&r);
	return err ? -1 : 0;
bad:
	json_object_put(req);
	return -1;
}

static int do_plan_help(void)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] plan [NAME|UUID [HOST]] [bandwidth MIB_S]\n"
		"                  [downtime MS] [auto-converge]\n"
		"\n"
		"       What moving each VM of this host to each peer would cost now,\n"
		"       as predicted from its dirty-page curve: total time, downtime,\n"
		"       bytes sent, rounds, whether it converges, and if not, what would\n"
		"       make it (more bandwidth, a longer downtime limit, auto-converge).\n"
		"       Moves nothing.  With NAME and HOST, that one move in full, beside\n"
		"       the textbook round model.  bandwidth: the pre-copy cap (default:\n"
		"       migration_bandwidth_mib_s); downtime: QEMU's downtime limit\n"
		"       (default: migration_downtime_limit_ms).\n",
		cli.bin_name);
	return 0;
}

/* ---- help and dispatch ------------------------------------------------- */

static int do_help(int argc, char **argv)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	/* cppcheck-suppress invalidPrintfArgType_s ; it does not know positional %2$s */
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] COMMAND\n"
		"       %1$s help\n"
		"\n"
		"COMMAND := { status | version | vm | host | migration | plan | migrate |\n"
		"             top | help }\n"
		"       status    what tided runs with: version, uptime, configuration,\n"
		"                 libvirt URI, BPF attach path and kernel features\n"
		"       version   versions of tidectl and, if reachable, of tided\n"
		"       vm show [NAME|UUID]\n"
		"                 the VMs: CPU, run-queue wait, network; one in full\n"
		"       host show this host: capacity, load, collectors, collection cost\n"
		"       host admissions\n"
		"                 incoming migrations admitted, refused, reserved\n"
		"       host drain [dry-run] | undrain\n"
		"                 maintenance: empty this host, cheapest VM first\n"
		"       migration list | show ID\n"
		"                 the migrations recorded: predicted against actual\n"
		"       plan [NAME [HOST]]\n"
		"                 what moving each VM would cost now; moves nothing\n"
		"       migrate NAME HOST [wait]\n"
		"                 move one VM to a peer, live, with the same checks\n"
		"       top       live view, one line per VM (keys: c cpu, w wait, n net,\n"
		"                 q quit)\n"
		"\n"
		"OPTIONS := { -j|--json | -p|--pretty | -s|--socket PATH |\n"
		"             -t|--timeout MS | -w|--window MS | -n|--iterations N |\n"
		"             --once | -S|--sort cpu|wait|net | -d|--delay MS |\n"
		"             -h|--help | -V|--version }\n"
		"       -j        JSON output (errors too, on stdout: {\"error\": \"...\"})\n"
		"       -p        pretty-printed JSON (implies -j)\n"
		"       -s PATH   tided's control socket (default %2$s)\n"
		"       -t MS     how long to wait for tided's reply (default %3$d ms)\n"
		"       -w MS     rates over this much time (default: 1 s; top: its delay;\n"
		"                 0: the last tick)\n"
		"       -n N      top: N frames, then exit (--once: one), no escape codes\n"
		"       -S KEY    top: sort by cpu (default), wait or net\n"
		"       -d MS     top: refresh interval (default %4$d ms)\n"
		"\n"
		"Commands may be abbreviated to any unambiguous prefix: '%1$s st'.\n"
		"See tidectl(8).\n",
		cli.bin_name, TIDE_DEFAULT_CONTROL_SOCKET, CLI_DEFAULT_TIMEOUT_MS,
		CLI_DEFAULT_DELAY_MS);
	return 0;
}

static const struct cmd cmds[] = { { "help", do_help },		  { "status", do_status },
				   { "version", do_version },	  { "vm", do_vm },
				   { "host", do_host },		  { "top", do_top },
				   { "migration", do_migration }, { "plan", do_plan },
				   { "migrate", do_migrate },	  { 0 } };

int main(int argc, char **argv)
{
	int first, ret;

	cli_reset(argv[0]);
	cli_help_fn = do_help;
	first = cli_parse_opts(argc, argv);
	if (first < 0 || top_parse_opts())
		return 1;
	if (cli.help)
		return do_help(0, NULL) ? 1 : 0;
	if (cli.version)
		return do_version(0, NULL) ? 1 : 0;
	argc -= first;
	argv += first;
	ret = cmd_select(cmds, argc, argv, do_help);
	return ret ? 1 : 0;
}
