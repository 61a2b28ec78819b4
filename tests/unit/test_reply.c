// SPDX-License-Identifier: GPL-2.0
/*
 * reply: the accessors of tided's replies.  A member that is absent or of
 * another type is an error naming the member and the command (the first
 * one is kept), reported on stderr in plain mode and as {"error": ...} on
 * stdout in JSON mode; optional members and null strings are not errors;
 * a cli_buf shows its text only when asked to.
 */
#include "unit.h"

#include "capture.h"
#include "cli.h"
#include "reply.h"

static int setup(void **state)
{
	cli_reset("tidectl");
	return cap_open();
}

static int teardown(void **state)
{
	cap_close();
	return 0;
}

static void adopt(struct reply *r, const char *cmd, const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	reply_adopt(r, cmd, o);
}

static void test_members_present(void **state)
{
	struct reply r;
	char buf[64];

	adopt(&r, "host show",
	      "{\"cpus\": 2, \"load_ratio\": 0.5, \"ticks\": 3.0,"
	      " \"degraded\": true, \"hostname\": \"h\\u001b1\", \"libvirt\": {\"uri\": null},"
	      " \"vms\": [1, 2]}");
	assert_int_equal(reply_int(&r, r.obj, "cpus"), 2);
	/* an integer reads as a number, an integral double as an integer */
	assert_true(reply_num(&r, r.obj, "cpus") == 2.0);
	assert_true(reply_num(&r, r.obj, "load_ratio") == 0.5);
	assert_int_equal(reply_int(&r, r.obj, "ticks"), 3);
	assert_true(reply_bool(&r, r.obj, "degraded"));
	/* made safe for the terminal */
	assert_string_equal(reply_str(&r, r.obj, "hostname", buf, sizeof(buf)), "h?1");
	/* null: tided had no name to give */
	assert_string_equal(reply_str(&r, reply_object(&r, r.obj, "libvirt"), "uri", buf, sizeof(buf)),
			    "-");
	assert_int_equal(reply_len(reply_array(&r, r.obj, "vms")), 2);
	/* members tided may leave out */
	assert_null(reply_opt(r.obj, "kvm_exits"));
	assert_string_equal(r.miss, "");
	assert_int_equal(reply_check(&r), 0);
	assert_string_equal(err_text(), "");
	reply_free(&r);
}

static void test_missing_member_is_an_error(void **state)
{
	struct reply r;
	char buf[64];

	adopt(&r, "host show", "{\"cpus\": 2}");
	/* neutral values so the printer can run on ... */
	assert_true(reply_num(&r, r.obj, "load_ratio") == 0.0);
	/* ... and only the first miss is kept */
	assert_int_equal(reply_int(&r, r.obj, "vms"), 0);
	assert_string_equal(reply_str(&r, r.obj, "hostname", buf, sizeof(buf)), "-");
	assert_false(reply_bool(&r, r.obj, "degraded"));
	assert_null(reply_object(&r, r.obj, "collection"));
	/* a member of a missing object adds nothing */
	assert_int_equal(reply_int(&r, NULL, "ticks"), 0);
	assert_int_equal(reply_len(reply_array(&r, r.obj, "vms")), 0);
	assert_int_equal(reply_check(&r), -EPROTO);
	assert_string_equal(err_text(),
			    "Error: tided's reply to 'host show' has no 'load_ratio' "
			    "(tided and tidectl of different versions? see 'tidectl version')\n");
	assert_string_equal(out_text(), "");
	reply_free(&r);
}

static void test_wrong_type_is_an_error(void **state)
{
	struct reply r;
	char buf[64];

	adopt(&r, "vm show", "{\"vms\": {\"name\": \"web\"}}");
	assert_null(reply_array(&r, r.obj, "vms"));
	assert_int_equal(reply_check(&r), -EPROTO);
	assert_string_equal(err_text(), "Error: tided's reply to 'vm show' has 'vms' as an "
					"object, not an array\n");
	reply_free(&r);

	adopt(&r, "status", "{\"pid\": \"42\", \"version\": 7, \"uptime_s\": null}");
	assert_int_equal(reply_int(&r, r.obj, "pid"), 0);
	assert_non_null(strstr(r.miss, "has 'pid' as a string, not a number"));
	reply_free(&r);
	adopt(&r, "status", "{\"version\": 7}");
	assert_string_equal(reply_str(&r, r.obj, "version", buf, sizeof(buf)), "-");
	assert_non_null(strstr(r.miss, "has 'version' as a number, not a string"));
	reply_free(&r);
	/* a null number is no number */
	adopt(&r, "status", "{\"uptime_s\": null}");
	assert_int_equal(reply_int(&r, r.obj, "uptime_s"), 0);
	assert_non_null(strstr(r.miss, "has 'uptime_s' as null, not a number"));
	reply_free(&r);
}

static void test_missing_member_in_json_mode(void **state)
{
	struct reply r;

	cli.json = true;
	adopt(&r, "vm show", "{\"window_ms\": 1000}");
	assert_null(reply_array(&r, r.obj, "vms"));
	assert_int_equal(reply_check(&r), -EPROTO);
	/* bpftool's way: stdout stays JSON, one document */
	assert_string_equal(out_text(),
			    "{\"error\":\"tided's reply to 'vm show' has no 'vms' "
			    "(tided and tidectl of different versions? see 'tidectl version')\"}\n");
	assert_string_equal(err_text(), "");
	reply_free(&r);
}

static void test_buffered_output(void **state)
{
	struct cli_buf b;
	FILE *f;

	f = cli_buf_open(&b);
	assert_non_null(f);
	fprintf(f, "dropped\n");
	cli_buf_close(&b, false);
	f = cli_buf_open(&b);
	assert_non_null(f);
	fprintf(f, "shown\n");
	/* nothing reaches cli.out before the close */
	assert_string_equal(out_text(), "");
	cli_buf_close(&b, true);
	assert_string_equal(out_text(), "shown\n");
}

static void test_unreachable_tided(void **state)
{
	char *dir = unit_mkdtemp("reply");
	char *sock = NULL;
	struct reply r;

	assert_non_null(dir);
	assert_true(asprintf(&sock, "%s/none.sock", dir) > 0);
	cli.socket_path = sock;
	assert_int_equal(reply_call(&r, reply_request("status")), -ENOENT);
	assert_null(r.obj);
	assert_non_null(strstr(err_text(), "Error: cannot connect to tided at '"));
	assert_non_null(strstr(err_text(), "(is tided running? -s chooses another socket)\n"));
	free(sock);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_members_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_in_json_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffered_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_tided, setup, teardown),
	};

	unit_arm_alarm(30);
	return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
