// SPDX-License-Identifier: GPL-2.0
/*
 * cli: tidectl's dispatch, options and error output.  See cli.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define CLI_MSG_BYTES 1024

struct cli_env cli;
int (*cli_help_fn)(int argc, char **argv);

void cli_reset(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	memset(&cli, 0, sizeof(cli));
	cli.bin_name = slash ? slash + 1 : (argv0 ? argv0 : "tidectl");
	cli.socket_path = TIDE_DEFAULT_CONTROL_SOCKET;
	cli.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	cli.delay_ms = CLI_DEFAULT_DELAY_MS;
	cli.window_ms = -1;
	cli.out = stdout;
	cli.err = stderr;
}

static FILE *out_stream(void)
{
	return cli.out ? cli.out : stdout;
}

static FILE *err_stream(void)
{
	return cli.err ? cli.err : stderr;
}

void cli_print_json(struct json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= cli.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			      JSON_C_TO_STRING_PLAIN;
	/* json-c writes every control character as \u00XX (or \n, \t, ...) */
	fprintf(out_stream(), "%s\n", json_object_to_json_string_ext(obj, flags));
}

FILE *cli_buf_open(struct cli_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->f = open_memstream(&b->text, &b->len);
	if (!b->f)
		p_err("cannot hold the output in memory: %s", strerror(errno));
	return b->f;
}

void cli_buf_close(struct cli_buf *b, bool show)
{
	if (b->f && fclose(b->f) == 0 && show && b->len)
		fwrite(b->text, 1, b->len, out_stream());
	free(b->text);
	memset(b, 0, sizeof(*b));
}

void p_err(const char *fmt, ...)
{
	char msg[CLI_MSG_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli.json) {
		struct json_object *o;

		/* stdout must stay one JSON document */
		if (cli.error_printed)
			return;
		o = json_object_new_object();
		if (o) {
			json_object_object_add(o, "error", json_object_new_string(msg));
			cli_print_json(o);
			json_object_put(o);
		}
	} else {
		fprintf(err_stream(), "Error: %s\n", msg);
	}
	cli.error_printed = true;
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (cli.json)
		return;
	va_start(ap, fmt);
	vfprintf(err_stream(), fmt, ap);
	va_end(ap);
	fputc('\n', err_stream());
}

const char *cli_safe(const char *s, char *buf, size_t buf_bytes)
{
	size_t i;

	if (!s)
		return "";
	for (i = 0; s[i] && i + 1 < buf_bytes; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = s[i];
		if (ch < 0x20 || ch == 0x7f)
			buf[i] = '?';
	}
	buf[i] = '\0';
	return buf;
}

bool is_prefix(const char *pfx, const char *str)
{
	if (!pfx || !*pfx)
		return false;
	return strncmp(str, pfx, strlen(pfx)) == 0;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int argc, char **argv))
{
	const struct cmd *match = NULL;
	char names[CLI_MSG_BYTES] = "";
	size_t used = 0;
	int n_matches = 0;

	/* no word: the table's first entry is its default (help, or show) */
	if (argc < 1)
		return cmds[0].func ? cmds[0].func(argc, argv) : help(argc, argv);

	for (int i = 0; cmds[i].cmd; i++) {
		if (strcmp(*argv, cmds[i].cmd) == 0)
			return cmds[i].func(argc - 1, argv + 1);
		if (is_prefix(*argv, cmds[i].cmd)) {
			match = &cmds[i];
			n_matches++;
		}
	}
	if (n_matches == 1)
		return match->func(argc - 1, argv + 1);

	for (int i = 0; cmds[i].cmd && used < sizeof(names); i++) {
		bool listed = n_matches == 0 || is_prefix(*argv, cmds[i].cmd);
		int n;

		if (!listed)
			continue;
		n = snprintf(names + used, sizeof(names) - used, "%s'%s'", used ? ", " : "",
			     cmds[i].cmd);
		if (n > 0)
			used += (size_t)n;
	}
	if (n_matches > 1)
		p_err("ambiguous command '%s': could be %s", *argv, names);
	else
		p_err("unknown command '%s'; expected one of %s", *argv, names);
	return -1;
}

void cli_usage(void)
{
	if (cli_help_fn)
		cli_help_fn(0, NULL);
	exit(-1);
}

static int parse_int(const char *s, long min, int *out)
{
	long v;

	if (util_parse_long(s, min, INT_MAX, &v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_ms(const char *s, int *out)
{
	return parse_int(s, 1, out);
}

int cli_parse_opts(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "sort", required_argument, NULL, 'S' },
		{ "delay", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ 0 },
	};
	int opt;

	/* JSON mode first, so that an error about any option is JSON too */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			cli.json = true;
		if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			cli.json = cli.pretty = true;
	}

	opterr = 0; /* getopt's own messages would bypass p_err() */
	optind = 0; /* full re-initialisation (tests parse several lines) */
	while ((opt = getopt_long(argc, argv, ":jps:t:hVn:S:d:w:", options, NULL)) >= 0) {
		switch (opt) {
		case 'j':
			cli.json = true;
			break;
		case 'p':
			/* pretty is a kind of JSON */
			cli.json = true;
			cli.pretty = true;
			break;
		case 's':
			if (!*optarg) {
				p_err("option '-s' needs a socket path");
				return -1;
			}
			cli.socket_path = optarg;
			break;
		case 't':
			if (parse_ms(optarg, &cli.timeout_ms)) {
				p_err("option '-t' needs a timeout in milliseconds, got '%s'",
				      optarg);
				return -1;
			}
			break;
		case 'h':
			cli.help = true;
			break;
		case 'V':
			cli.version = true;
			break;
		case 'n':
			if (parse_int(optarg, 1, &cli.iterations)) {
				p_err("option '-n' needs a number of iterations (1 or more), got '%s'",
				      optarg);
				return -1;
			}
			break;
		case 'o':
			cli.iterations = 1;
			break;
		case 'S':
			/* top's to parse (top_parse_opts) */
			cli.sort = optarg;
			break;
		case 'd':
			if (parse_int(optarg, 100, &cli.delay_ms)) {
				p_err("option '-d' needs a refresh interval of 100 ms or more, got '%s'",
				      optarg);
				return -1;
			}
			break;
		case 'w':
			if (parse_int(optarg, 0, &cli.window_ms)) {
				p_err("option '-w' needs a window in milliseconds (0: the last tick), "
				      "got '%s'",
				      optarg);
				return -1;
			}
			break;
		case ':':
			p_err("option '%s' needs an argument", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				p_err("unknown option '-%c'", optopt);
			else
				p_err("unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* a positive integer argument of a keyword, within max */
int cli_parse_u64_arg(const char *kw, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || v > max || *s == '-') {
		p_err("'%s' needs an integer between 1 and %llu, got '%s'", kw,
		      (unsigned long long)max, s);
		return -1;
	}
	*out = v;
	return 0;
}
