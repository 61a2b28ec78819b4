/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli: tidectl's command-line machinery, after bpftool's main.c/main.h.
 *
 * Table-driven dispatch: one table per object, `struct cmd { name, func }`,
 * and cmd_select() picks the entry whose name the word matches exactly or
 * as the only prefix (`tidectl st` = status; `tidectl v` is an error when
 * both "version" and "vm" exist).  Objects with verbs are a second level:
 *     static const struct cmd vm_cmds[] = { { "show", do_show }, ... };
 *     static int do_vm(int argc, char **argv)
 *     { return cmd_select(vm_cmds, argc, argv, do_vm_help); }
 *
 * Output: every command produces one json_object; -j prints it, -p pretty
 * prints it (and implies -j), otherwise a plain printer formats it.
 * Errors go through p_err(): `Error: ...` on stderr, or {"error": "..."} on
 * stdout in JSON mode, so a script reading stdout always gets JSON.
 */
#ifndef TIDE_CLI_H
#define TIDE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "tide.h"

#define CLI_DEFAULT_TIMEOUT_MS 5000
#define CLI_DEFAULT_DELAY_MS 1000
/* vm show / host show: rates over the last second unless -w says */
#define CLI_DEFAULT_WINDOW_MS 1000

struct cmd {
	const char *cmd;
	int (*func)(int argc, char **argv);
};

struct cli_env {
	const char *bin_name;
	bool json;
	bool pretty;
	bool help;    /* -h given */
	bool version; /* -V given */
	const char *socket_path;
	int timeout_ms;
	/* top and show */
	int iterations;	    /* -n N, --once (1); 0: until q or a signal */
	const char *sort;   /* --sort/-S as given, for top to parse; NULL unset */
	int delay_ms;	    /* -d MS: top's refresh interval */
	int window_ms;	    /* -w MS: rates over this much; -1 unset */
	FILE *out;	    /* stdout; tests point these elsewhere */
	FILE *err;	    /* stderr */
	bool error_printed; /* JSON mode prints only the first error */
};

extern struct cli_env cli;

/* Reset cli to defaults (bin_name from argv[0]). */
void cli_reset(const char *argv0);
/*
 * Parse options (anywhere on the line, as bpftool does).  Returns the
 * index of the first non-option argument, or -1 after p_err().
 */
int cli_parse_opts(int argc, char **argv);

bool is_prefix(const char *pfx, const char *str);
/* The value of keyword kw: an integer 1..max, else -1 after p_err(). */
int cli_parse_u64_arg(const char *kw, const char *s, uint64_t max, uint64_t *out);
int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int argc, char **argv));

void p_err(const char *fmt, ...) __tide_printf(1, 2);
void p_info(const char *fmt, ...) __tide_printf(1, 2);

/* Print obj as JSON (plain or pretty, per -p), with a newline. */
void cli_print_json(struct json_object *obj);
/* s with control characters shown as '?': plain output of names that came
 * from users must not drive the terminal. */
const char *cli_safe(const char *s, char *buf, size_t buf_bytes);

/*
 * Plain output held in memory until its printer is done: shown on cli.out
 * when the reply it read was whole, dropped when not (only the error then).
 */
struct cli_buf {
	FILE *f;
	char *text;
	size_t len;
};
/* The stream to print into, or NULL after p_err(). */
FILE *cli_buf_open(struct cli_buf *b);
/* Show what was printed (show) or drop it, and free it all. */
void cli_buf_close(struct cli_buf *b, bool show);

/* bpftool's argument macros; they expect argc/argv in scope. */
void cli_usage(void) __attribute__((noreturn));
/* the program's help, called by cli_usage() */
extern int (*cli_help_fn)(int argc, char **argv);

/* bpftool's one-liners, and its layout */
/* clang-format off */
#define NEXT_ARG()	({ argc--; argv++; if (argc < 0) cli_usage(); })
#define NEXT_ARGP()	({ (*argc)--; (*argv)++; if (*argc < 0) cli_usage(); })
#define BAD_ARG()	({ p_err("what is '%s'?", *argv); -1; })
#define GET_ARG()	({ argc--; *argv++; })
#define REQ_ARGS(cnt)							\
	({								\
		int _cnt = (cnt);					\
		bool _res;						\
									\
		if (argc < _cnt) {					\
			p_err("'%s' needs at least %d arguments, %d found", \
			      argv[-1], _cnt, argc);			\
			_res = false;					\
		} else {						\
			_res = true;					\
		}							\
		_res;							\
	})
/* clang-format on */

#endif /* TIDE_CLI_H */
