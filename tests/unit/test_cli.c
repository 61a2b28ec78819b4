// SPDX-License-Identifier: GPL-2.0
/*
 * cli: tidectl's dispatch (exact and prefix matching, ambiguity, unknown
 * words), option parsing (-p implies -j, options anywhere) and error output
 * (plain on stderr, JSON on stdout).  Output goes to memory streams.
 */
#include "unit.h"

#include "capture.h"
#include "cli.h"

/* which command ran, with what */
static struct {
	const char *ran;
	int argc;
	char *argv0;
} seen;

static int setup(void **state)
{
	cli_reset("/usr/bin/tidectl");
	memset(&seen, 0, sizeof(seen));
	return cap_open();
}

static int teardown(void **state)
{
	cap_close();
	return 0;
}

#define RECORDER(name)                                  \
	static int do_##name(int argc, char **argv)     \
	{                                               \
		seen.ran = #name;                       \
		seen.argc = argc;                       \
		seen.argv0 = argc > 0 ? argv[0] : NULL; \
		return 0;                               \
	}

RECORDER(help)
RECORDER(status)
RECORDER(version)
RECORDER(show)
RECORDER(start)

static const struct cmd vm_cmds[] = { { "show", do_show }, { "start", do_start }, { 0 } };

static int do_vm(int argc, char **argv)
{
	return cmd_select(vm_cmds, argc, argv, do_help);
}

static int do_migrate(int argc, char **argv)
{
	const char *vm, *host;

	if (!REQ_ARGS(2))
		return -1;
	vm = GET_ARG();
	host = GET_ARG();
	if (argc > 0)
		return BAD_ARG();
	seen.ran = "migrate";
	seen.argv0 = (char *)vm;
	seen.argc = host ? 2 : 0;
	return 0;
}

static const struct cmd cmds[] = { { "help", do_help },	      { "status", do_status },
				   { "version", do_version }, { "vm", do_vm },
				   { "migrate", do_migrate }, { 0 } };

/* Parse a command line as tidectl's main() does. */
static int run(int argc, char **argv)
{
	int first = cli_parse_opts(argc, argv);

	if (first < 0)
		return -1;
	return cmd_select(cmds, argc - first, argv + first, do_help);
}

#define RUN(...)                                                  \
	({                                                        \
		char *_argv[] = { "tidectl", __VA_ARGS__, NULL }; \
		run((int)ARRAY_SIZE(_argv) - 1, _argv);           \
	})

static void test_exact_and_prefix_match(void **state)
{
	assert_int_equal(RUN("status"), 0);
	assert_string_equal(seen.ran, "status");
	assert_int_equal(seen.argc, 0);

	assert_int_equal(RUN("st"), 0);
	assert_string_equal(seen.ran, "status");

	/* two levels: object then verb, each by prefix */
	assert_int_equal(RUN("vm", "sh", "web1"), 0);
	assert_string_equal(seen.ran, "show");
	assert_int_equal(seen.argc, 1);
	assert_string_equal(seen.argv0, "web1");

	/* an object alone runs its first verb (bpftool: "prog" = "prog show") */
	assert_int_equal(RUN("vm"), 0);
	assert_string_equal(seen.ran, "show");
	assert_string_equal(err_text(), "");
}

static void test_ambiguous_prefix_is_an_error(void **state)
{
	assert_int_equal(RUN("v"), -1);
	assert_null(seen.ran);
	assert_string_equal(err_text(), "Error: ambiguous command 'v': could be 'version', 'vm'\n");
	assert_string_equal(out_text(), "");
}

static void test_ambiguous_verb_is_an_error(void **state)
{
	assert_int_equal(RUN("vm", "s"), -1);
	assert_null(seen.ran);
	assert_string_equal(err_text(), "Error: ambiguous command 's': could be 'show', 'start'\n");
}

static void test_unknown_command_message(void **state)
{
	assert_int_equal(RUN("frobnicate"), -1);
	assert_null(seen.ran);
	assert_string_equal(err_text(), "Error: unknown command 'frobnicate'; expected one of "
					"'help', 'status', 'version', 'vm', 'migrate'\n");
	/* an exact word is never taken as a prefix of something longer */
	assert_int_equal(RUN("statusx"), -1);
	assert_null(seen.ran);
}

static void test_pretty_implies_json(void **state)
{
	char *argv[] = { "tidectl", "-p", "status", NULL };

	assert_int_equal(cli_parse_opts(3, argv), 2);
	assert_true(cli.json);
	assert_true(cli.pretty);

	cli_reset("tidectl");
	{
		char *argv2[] = { "tidectl", "-j", "status", NULL };

		assert_int_equal(cli_parse_opts(3, argv2), 2);
		assert_true(cli.json);
		assert_false(cli.pretty);
	}
	cli_reset("tidectl");
	{
		/* options may follow the command, as in bpftool */
		char *argv3[] = { "tidectl", "status", "--pretty", "-s", "/tmp/x.sock", NULL };
		int first = cli_parse_opts(5, argv3);

		assert_int_equal(first, 4);
		assert_string_equal(argv3[first], "status");
		assert_true(cli.json && cli.pretty);
		assert_string_equal(cli.socket_path, "/tmp/x.sock");
	}
	assert_string_equal(cli.bin_name, "tidectl");
}

static void test_json_error_output(void **state)
{
	/* in JSON mode errors are JSON on stdout, and nothing on stderr */
	assert_int_equal(RUN("-j", "frob"), -1);
	assert_string_equal(out_text(), "{\"error\":\"unknown command 'frob'; expected one of "
					"'help', 'status', 'version', 'vm', 'migrate'\"}\n");
	assert_string_equal(err_text(), "");
}

static void test_json_error_escapes_control_characters(void **state)
{
	cli.json = true;
	p_err("no VM named '%s'", "evil\x01\x1b[2J\n");
	/* stdout stays one document: a second error is not printed */
	p_err("second error");
	assert_string_equal(out_text(), "{\"error\":\"no VM named 'evil\\u0001\\u001b[2J\\n'\"}\n");
}

static void test_pretty_json_error(void **state)
{
	assert_int_equal(RUN("-p", "nope"), -1);
	assert_non_null(strstr(out_text(), "{\n  \"error\": \"unknown command 'nope'"));
}

static void test_option_errors(void **state)
{
	assert_int_equal(RUN("-x", "status"), -1);
	assert_string_equal(err_text(), "Error: unknown option '-x'\n");

	cli_reset("tidectl");
	cli.out = cap.out;
	cli.err = cap.err;
	/* -j anywhere makes even an option error JSON */
	assert_int_equal(RUN("status", "-t", "soon", "-j"), -1);
	assert_string_equal(out_text(), "{\"error\":\"option '-t' needs a timeout in "
					"milliseconds, got 'soon'\"}\n");

	cli_reset("tidectl");
	cli.out = cap.out;
	cli.err = cap.err;
	fclose(cap.err);
	free(cap.err_buf);
	cap.err_buf = NULL;
	cap.err = open_memstream(&cap.err_buf, &cap.err_len);
	cli.err = cap.err;
	assert_int_equal(RUN("status", "-s"), -1);
	assert_string_equal(err_text(), "Error: option '-s' needs an argument\n");
}

static void test_top_and_show_options(void **state)
{
	/* defaults */
	assert_int_equal(cli.iterations, 0);
	assert_null(cli.sort);
	assert_int_equal(cli.delay_ms, CLI_DEFAULT_DELAY_MS);
	assert_int_equal(cli.window_ms, -1);
	/* anywhere on the line, long and short */
	assert_int_equal(RUN("vm", "-n", "3", "show", "--sort", "wait", "-d", "250", "-w", "0"), 0);
	assert_string_equal(seen.ran, "show");
	assert_int_equal(cli.iterations, 3);
	/* top's to parse, as given */
	assert_string_equal(cli.sort, "wait");
	assert_int_equal(cli.delay_ms, 250);
	assert_int_equal(cli.window_ms, 0);
	assert_int_equal(RUN("--once", "-S", "n", "status"), 0);
	assert_int_equal(cli.iterations, 1);
	assert_string_equal(cli.sort, "n");
	/* -s stays the socket */
	assert_int_equal(RUN("-s", "/run/tide-h1/tided.sock", "status"), 0);
	assert_string_equal(cli.socket_path, "/run/tide-h1/tided.sock");

	assert_int_equal(RUN("-n", "0", "status"), -1);
	assert_non_null(strstr(err_text(), "Error: option '-n' needs a number of iterations"));
	assert_int_equal(RUN("-d", "10", "status"), -1);
	assert_non_null(strstr(err_text(), "Error: option '-d' needs a refresh interval of 100 ms"));
	assert_int_equal(RUN("-w", "-5", "status"), -1);
	assert_non_null(strstr(err_text(), "Error: option '-w' needs a window in milliseconds"));
}

static void test_argument_macros(void **state)
{
	assert_int_equal(RUN("migrate", "web1"), -1);
	assert_string_equal(err_text(), "Error: 'migrate' needs at least 2 arguments, 1 found\n");
	assert_int_equal(RUN("migrate", "web1", "h2"), 0);
	assert_string_equal(seen.ran, "migrate");
	assert_string_equal(seen.argv0, "web1");
	seen.ran = NULL;
	assert_int_equal(RUN("migrate", "web1", "h2", "now"), -1);
	assert_null(seen.ran);
	assert_non_null(strstr(err_text(), "Error: what is 'now'?\n"));
}

static void test_safe_plain_output(void **state)
{
	char buf[32];

	assert_string_equal(cli_safe("vm\x1b[31m\x7f!", buf, sizeof(buf)), "vm?[31m?!");
	assert_string_equal(cli_safe("a-very-long-name-that-does-not-fit", buf, 8), "a-very-");
	assert_string_equal(cli_safe(NULL, buf, sizeof(buf)), "");
	assert_true(is_prefix("st", "status"));
	assert_false(is_prefix("", "status"));
	assert_false(is_prefix("statuses", "status"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_and_prefix_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ambiguous_prefix_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ambiguous_verb_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pretty_implies_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_error_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_error_escapes_control_characters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pretty_json_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_and_show_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argument_macros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safe_plain_output, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
