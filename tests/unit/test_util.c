// SPDX-License-Identifier: GPL-2.0
/*
 * util: the number parsers every module and tool shares (command lines,
 * pid files, /proc names are all input that may be wrong).
 */
#include "unit.h"

#include "util.h"

static void test_parse_long(void **state)
{
	long v = 7;

	assert_int_equal(util_parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_long("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	/* every refusal leaves the output alone */
	v = 7;
	assert_int_equal(util_parse_long("", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_long("12x", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_long("fast", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_long("101", 0, 100, &v), -ERANGE);
	assert_int_equal(util_parse_long("99999999999999999999999", 0, 100, &v), -ERANGE);
	assert_int_equal(v, 7);
}

static void test_parse_pid(void **state)
{
	pid_t pid = 3;

	assert_int_equal(util_parse_pid("1234\n", &pid), 0);
	assert_int_equal(pid, 1234);
	assert_int_equal(util_parse_pid("99", &pid), 0);
	assert_int_equal(pid, 99);
	pid = 3;
	assert_int_equal(util_parse_pid("0\n", &pid), -EINVAL);
	assert_int_equal(util_parse_pid("-1\n", &pid), -EINVAL);
	assert_int_equal(util_parse_pid("12\n\n", &pid), -EINVAL);
	assert_int_equal(util_parse_pid("\n", &pid), -EINVAL);
	assert_int_equal(util_parse_pid("4294967296\n", &pid), -EINVAL);
	assert_int_equal(pid, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_pid),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
