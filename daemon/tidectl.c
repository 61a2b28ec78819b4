// SPDX-License-Identifier: GPL-2.0
/*
 * tidectl: command-line client of tided, in bpftool's shape.
 *
 *   tidectl [-j|-p] [-s SOCKET] status
 *   tidectl version
 *
 * Each command asks tided over the control socket (one JSON request, one
 * JSON reply), then prints the reply: as it is with -j/-p, or through the
 * command's plain printer.  New objects ("vm", "host", "migration") get a
 * verb table and a do_OBJ() that calls cmd_select() on it; see cli.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_client.h"

#define ERR_BYTES 512
#define NAME_BYTES 256

/* The one data producer: ask tided; NULL after p_err(). */
static struct json_object *request(const char *cmd)
{
	struct json_object *req = json_object_new_object(), *reply = NULL, *e;
	char err[ERR_BYTES];
	int ret;

	if (!req) {
		p_err("out of memory");
		return NULL;
	}
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	ret = ctl_client_call(cli.socket_path, req, cli.timeout_ms, &reply, err, sizeof(err));
	json_object_put(req);
	if (ret) {
		p_err("%s", err);
		return NULL;
	}
	if (json_object_object_get_ex(reply, "error", &e)) {
		p_err("%s", json_object_get_string(e));
		json_object_put(reply);
		return NULL;
	}
	/* "ok" is transport, not data */
	json_object_object_del(reply, "ok");
	return reply;
}

static const char *str_member(struct json_object *o, const char *key, char *buf, size_t n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "-";
	return cli_safe(json_object_get_string(v), buf, n);
}

static int64_t int_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
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

static void show_status_plain(struct json_object *st)
{
	struct json_object *features, *peers;
	char a[NAME_BYTES], b[NAME_BYTES];
	FILE *out = cli.out;
	int missing = 0;

	fprintf(out, "tided %s, pid %lld, up ", str_member(st, "version", a, sizeof(a)),
		(long long)int_member(st, "pid"));
	print_duration(out, int_member(st, "uptime_s"));
	fprintf(out, "\n");
	fprintf(out, "config:          %s%s\n", str_member(st, "config", a, sizeof(a)),
		json_object_get_boolean(json_object_object_get(st, "config_loaded")) ?
		"" : " (absent: defaults)");
	fprintf(out, "control socket:  %s\n", str_member(st, "control_socket", a, sizeof(a)));
	fprintf(out, "state dir:       %s\n", str_member(st, "state_dir", a, sizeof(a)));
	fprintf(out, "libvirt:         %s\n", str_member(st, "libvirt_uri", a, sizeof(a)));
	fprintf(out, "tick:            %lld ms\n", (long long)int_member(st, "tick_ms"));
	fprintf(out, "textfile:        %s every %lld ms\n",
		str_member(st, "textfile_dir", a, sizeof(a)),
		(long long)int_member(st, "textfile_interval_ms"));
	fprintf(out, "log level:       %s\n", str_member(st, "log_level", a, sizeof(a)));
	if (json_object_object_get_ex(st, "peers", &peers) &&
	    json_object_array_length(peers) > 0) {
		for (size_t i = 0; i < json_object_array_length(peers); i++) {
			struct json_object *p = json_object_array_get_idx(peers, i);

			fprintf(out, "%s %s (%s)\n", i ? "                " : "peers:          ",
				str_member(p, "name", a, sizeof(a)),
				str_member(p, "uri", b, sizeof(b)));
		}
	} else {
		fprintf(out, "peers:           none\n");
	}
	fprintf(out, "bpf attach:      %s\n", str_member(st, "bpf_attach", a, sizeof(a)));
	if (json_object_object_get_ex(st, "features", &features)) {
		fprintf(out, "features:       ");
		json_object_object_foreach(features, name, v) {
			if (json_object_get_boolean(v))
				fprintf(out, " %s", cli_safe(name, a, sizeof(a)));
		}
		fprintf(out, "\nmissing:        ");
		json_object_object_foreach(features, name2, v2) {
			if (!json_object_get_boolean(v2)) {
				fprintf(out, " %s", cli_safe(name2, a, sizeof(a)));
				missing++;
			}
		}
		fprintf(out, "%s\n", missing ? "" : " none");
	}
}

static int do_status(int argc, char **argv)
{
	struct json_object *st;

	if (argc > 0)
		return BAD_ARG();
	st = request("status");
	if (!st)
		return -1;
	if (cli.json)
		cli_print_json(st);
	else
		show_status_plain(st);
	json_object_put(st);
	return 0;
}

/* ---- version ----------------------------------------------------------- */

static int do_version(int argc, char **argv)
{
	struct json_object *req = json_object_new_object(), *reply = NULL, *e;
	char err[ERR_BYTES] = "", a[NAME_BYTES];
	int ret;

	if (argc > 0) {
		json_object_put(req);
		return BAD_ARG();
	}
	if (!req) {
		p_err("out of memory");
		return -1;
	}
	/* the daemon's version is a bonus: unreachable is not an error */
	json_object_object_add(req, "cmd", json_object_new_string("version"));
	ret = ctl_client_call(cli.socket_path, req, cli.timeout_ms, &reply, err, sizeof(err));
	json_object_put(req);
	if (!ret && json_object_object_get_ex(reply, "error", &e)) {
		snprintf(err, sizeof(err), "%s", json_object_get_string(e));
		ret = -EPROTO;
	}

	if (cli.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "tidectl", json_object_new_string(TIDE_VERSION));
		if (ret) {
			json_object_object_add(o, "tided", NULL);
			json_object_object_add(o, "tided_error", json_object_new_string(err));
		} else {
			json_object_object_del(reply, "ok");
			json_object_object_add(o, "tided", json_object_get(reply));
		}
		cli_print_json(o);
		json_object_put(o);
	} else {
		fprintf(cli.out, "tidectl %s\n", TIDE_VERSION);
		if (ret)
			fprintf(cli.out, "tided   unreachable: %s\n", err);
		else
			fprintf(cli.out, "tided   %s (pid %lld)\n",
				str_member(reply, "version", a, sizeof(a)),
				(long long)int_member(reply, "pid"));
	}
	json_object_put(reply);
	return 0;
}

/* ---- help and dispatch ------------------------------------------------- */

static int do_help(int argc, char **argv)
{
	if (cli.json) {
		fprintf(cli.out, "null\n");
		return 0;
	}
	fprintf(cli.out,
		"Usage: %1$s [OPTIONS] COMMAND\n"
		"       %1$s help\n"
		"\n"
		"COMMAND := { status | version | help }\n"
		"       status    what tided runs with: version, uptime, configuration,\n"
		"                 libvirt URI, BPF attach path and kernel features\n"
		"       version   versions of tidectl and, if reachable, of tided\n"
		"\n"
		"OPTIONS := { -j|--json | -p|--pretty | -s|--socket PATH |\n"
		"             -t|--timeout MS | -h|--help | -V|--version }\n"
		"       -j        JSON output (errors too, on stdout: {\"error\": \"...\"})\n"
		"       -p        pretty-printed JSON (implies -j)\n"
		"       -s PATH   tided's control socket (default %2$s)\n"
		"       -t MS     how long to wait for tided's reply (default %3$d ms)\n"
		"\n"
		"Commands may be abbreviated to any unambiguous prefix: '%1$s st'.\n"
		"See tidectl(8).\n",
		cli.bin_name, TIDE_DEFAULT_CONTROL_SOCKET, CLI_DEFAULT_TIMEOUT_MS);
	return 0;
}

static const struct cmd cmds[] = {
	{ "help", do_help },
	{ "status", do_status },
	{ "version", do_version },
	/* next: { "vm", do_vm }, { "host", do_host }, { "migration", do_migration },
	 * { "plan", do_plan }, { "top", do_top }, { "migrate", do_migrate } */
	{ 0 }
};

int main(int argc, char **argv)
{
	int first, ret;

	cli_reset(argv[0]);
	cli_help_fn = do_help;
	first = cli_parse_opts(argc, argv);
	if (first < 0)
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
