// SPDX-License-Identifier: GPL-2.0
/*
 * top: the frame of `tidectl top` on canned replies (sort orders, rows,
 * escape codes only for a terminal), the sort names, and top's reading of
 * its --sort option.
 */
#include "unit.h"

#include "cli.h"
#include "reply.h"
#include "tidectl_replies.h"
#include "top.h"

static char *buf;
static size_t len;
static FILE *out;
static char *err_buf;
static size_t err_len;

static int setup(void **state)
{
	cli_reset("tidectl");
	buf = NULL;
	len = 0;
	out = open_memstream(&buf, &len);
	err_buf = NULL;
	err_len = 0;
	cli.err = open_memstream(&err_buf, &err_len);
	return out && cli.err ? 0 : -1;
}

static int teardown(void **state)
{
	fclose(out);
	free(buf);
	fclose(cli.err);
	free(err_buf);
	return 0;
}

static const char *text(void)
{
	fflush(out);
	return buf ? buf : "";
}

static void adopt(struct reply *r, const char *cmd, const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	reply_adopt(r, cmd, o);
}

static void test_top_sorts(void **state)
{
	struct reply vms, h;
	const char *t, *web, *db;

	adopt(&vms, "vm show", vms_reply);
	adopt(&h, "host show", host_reply);
	top_frame(out, &h, &vms, TOP_SORT_CPU, 0, false);
	t = text();
	assert_null(strchr(t, '\033')); /* no escape codes: not a terminal */
	assert_non_null(strstr(t, "tide top - h1: 2 CPUs, load 6.2%, host CPU 25.0%, "
				  "23.0 GiB of 24.0 GiB memory free, 2 VMs  DEGRADED\n"));
	assert_non_null(strstr(t, "sorted by cpu"));
	web = strstr(t, "\nweb-1");
	db = strstr(t, "\ndb?[31m");
	assert_non_null(web);
	assert_non_null(db);
	assert_true(web < db);
	fseek(out, 0, SEEK_SET);
	fflush(out);
	buf[0] = '\0';

	top_frame(out, &h, &vms, TOP_SORT_WAIT, 0, false);
	t = text();
	assert_true(strstr(t, "\ndb?[31m") < strstr(t, "\nweb-1"));
	assert_non_null(strstr(t, "sorted by wait"));
	fseek(out, 0, SEEK_SET);
	fflush(out);
	buf[0] = '\0';

	top_frame(out, &h, &vms, TOP_SORT_NET, 1, true);
	t = text();
	/* ansi: clear first; one row only: db moves the most bytes */
	assert_true(strncmp(t, "\033[H\033[2J", 7) == 0);
	assert_non_null(strstr(t, "\ndb?[31m"));
	assert_null(strstr(t, "\nweb-1"));
	assert_int_equal(reply_check(&h), 0);
	assert_int_equal(reply_check(&vms), 0);
	reply_free(&vms);
	reply_free(&h);
}

static void test_sort_names(void **state)
{
	assert_int_equal(top_sort_parse("cpu"), TOP_SORT_CPU);
	assert_int_equal(top_sort_parse("w"), TOP_SORT_WAIT);
	assert_int_equal(top_sort_parse("ne"), TOP_SORT_NET);
	assert_int_equal(top_sort_parse("disk"), -1);
	assert_int_equal(top_sort_parse(""), -1);
	assert_string_equal(top_sort_name(TOP_SORT_WAIT), "wait");
}

static void test_frame_reports_a_missing_member(void **state)
{
	struct reply vms, h;

	adopt(&vms, "vm show", "{\"vms\": [{\"name\": \"web\", \"state\": \"running\"}]}");
	adopt(&h, "host show", host_reply);
	top_frame(out, &h, &vms, TOP_SORT_CPU, 0, false);
	assert_int_equal(reply_check(&h), 0);
	assert_int_equal(reply_check(&vms), -EPROTO);
	fflush(cli.err);
	assert_string_equal(err_buf,
			    "Error: tided's reply to 'vm show' has no 'cpu_ns_per_s' "
			    "(tided and tidectl of different versions? see 'tidectl version')\n");
	reply_free(&vms);
	reply_free(&h);
}

static void test_sort_option(void **state)
{
	assert_int_equal(top_parse_opts(), 0);
	cli.sort = "w";
	assert_int_equal(top_parse_opts(), 0);
	cli.sort = "disk";
	assert_int_equal(top_parse_opts(), -EINVAL);
	fflush(cli.err);
	assert_string_equal(err_buf, "Error: option '--sort' needs one of cpu, wait, net, "
				     "got 'disk'\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_top_sorts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_reports_a_missing_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_option, setup, teardown),
	};

	unit_arm_alarm(30);
	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
