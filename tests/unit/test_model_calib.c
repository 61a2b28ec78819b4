// SPDX-License-Identifier: GPL-2.0
/*
 * model_calib: the EWMA of finished migrations, its effect on a
 * prediction, the save/load round trip in a temporary state directory
 * (atomic: no .new left behind), and files that are not calibrations
 * refused with a sentence that names the file and what is wrong.
 */
#include "unit.h"

#include <math.h>
#include <sys/stat.h>

#include "model.h"

#define MiB (1ull << 20)

static char *dir;

static int setup(void **state)
{
	dir = unit_mkdtemp("model-calib");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	unit_rmtree(dir);
	dir = NULL;
	return 0;
}

/* 32 MiB/s cap, 1 GiB/s link: pre-copy reached 28.8 MiB/s, 12 ms of
 * downtime of which 8 MiB at link speed is 7.8 ms */
static const struct model_calib_sample sample = {
	.bandwidth_bytes_per_s = 32 * MiB,
	.link_bytes_per_s = 1024 * MiB,
	.precopy_bytes = 144 * MiB,
	.precopy_ms = 5000,
	.downtime_ms = 12,
	.downtime_bytes = 8 * MiB,
	.device_state_ms = 3,
};

static void test_update_ewma(void **state)
{
	struct model_calib c;
	struct model_calib_sample s = sample;

	model_calib_init(&c);
	assert_float_equal(c.throughput_ratio, 1, 0);
	assert_int_equal(c.samples, 0);

	/* the first sample is taken as it is */
	assert_int_equal(model_calib_update(&c, &s), 0);
	assert_int_equal(c.samples, 1);
	assert_float_equal(c.throughput_ratio, 0.9, 1e-6);
	assert_float_equal(c.switchover_overhead_ms, 12 - 7.8125, 1e-6);
	assert_float_equal(c.device_state_ms, 3, 0);

	/* then weighted: a full-speed migration moves it 30 % of the way */
	s.precopy_bytes = 160 * MiB;
	s.device_state_ms = 0; /* unknown: kept */
	assert_int_equal(model_calib_update(&c, &s), 0);
	assert_int_equal(c.samples, 2);
	assert_float_equal(c.throughput_ratio, 0.9 + 0.3 * 0.1, 1e-6);
	assert_float_equal(c.device_state_ms, 3, 0);

	/* a downtime shorter than its bytes at link speed: no overhead */
	s.downtime_ms = 1;
	assert_int_equal(model_calib_update(&c, &s), 0);
	assert_true(c.switchover_overhead_ms < 4.2 && c.switchover_overhead_ms > 0);

	s.precopy_ms = 0;
	assert_int_equal(model_calib_update(&c, &s), -EINVAL);
	assert_int_equal(model_calib_update(NULL, &sample), -EINVAL);
}

/* An uncapped migration teaches the throughput, not the overhead. */
static void test_uncapped_keeps_overhead(void **state)
{
	struct model_calib c;
	struct model_calib_sample s = sample;

	model_calib_init(&c);
	s.bandwidth_bytes_per_s = s.link_bytes_per_s; /* no cap below the link */
	s.downtime_ms = 290;
	assert_int_equal(model_calib_update(&c, &s), 0);
	assert_float_equal(c.switchover_overhead_ms, 0, 0);
	/* the first capped one is then taken as it is */
	assert_int_equal(model_calib_update(&c, &sample), 0);
	assert_float_equal(c.switchover_overhead_ms, 12 - 7.8125, 1e-6);
	assert_int_equal(c.samples, 2);
}

/* What was learnt goes into the input, and a slower link predicts longer. */
static void test_apply(void **state)
{
	struct model_calib c;
	struct model_curve w;
	struct model_input in = {
		.memory_bytes = 128 * MiB,
		.curve = &w,
		.bandwidth_bytes_per_s = 32 * MiB,
		.link_bytes_per_s = 1024 * MiB,
		.downtime_limit_ms = 300,
	};
	struct model_result before, after;

	assert_int_equal(model_curve_sequential(&w, 4096, 10 * MiB, 32 * MiB), 0);
	assert_int_equal(model_predict(&in, &before), 0);

	model_calib_init(&c);
	model_calib_apply(&c, &in); /* nothing learnt: unchanged */
	assert_float_equal(in.throughput_ratio, 0, 0);
	assert_int_equal(in.switchover_overhead_ms, 0);

	assert_int_equal(model_calib_update(&c, &sample), 0);
	model_calib_apply(&c, &in);
	assert_float_equal(in.throughput_ratio, 0.9, 1e-6);
	assert_int_equal(in.switchover_overhead_ms, 4);
	assert_int_equal(model_predict(&in, &after), 0);
	assert_true(before.converges && after.converges);
	assert_true(after.total_time_ms > before.total_time_ms);
	/* the threshold follows the rate reached, not the cap */
	assert_true(after.threshold_bytes < before.threshold_bytes);
	assert_in_range(after.threshold_bytes, 32 * MiB * 9 / 10 * 3 / 10 - 1,
			32 * MiB * 9 / 10 * 3 / 10 + 1);
	assert_true(after.downtime_ms > 4);
}

static void test_save_load_round_trip(void **state)
{
	struct model_calib c, back;
	char err[512] = "", path[4096];
	struct stat st;

	model_calib_init(&c);
	assert_int_equal(model_calib_update(&c, &sample), 0);
	assert_int_equal(model_calib_update(&c, &sample), 0);
	assert_int_equal(model_calib_save(dir, "host-2.example:16509", &c, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/calib-host-2.example:16509.json", dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/calib-host-2.example:16509.json.new", dir);
	assert_int_equal(stat(path, &st), -1); /* renamed, not left behind */

	assert_int_equal(model_calib_load(dir, "host-2.example:16509", &back, err, sizeof(err)), 0);
	assert_int_equal(back.samples, 2);
	assert_float_equal(back.throughput_ratio, c.throughput_ratio, 1e-9);
	assert_float_equal(back.switchover_overhead_ms, c.switchover_overhead_ms, 1e-9);
	assert_float_equal(back.device_state_ms, c.device_state_ms, 1e-9);

	/* replaced, not appended */
	assert_int_equal(model_calib_update(&c, &sample), 0);
	assert_int_equal(model_calib_save(dir, "host-2.example:16509", &c, err, sizeof(err)), 0);
	assert_int_equal(model_calib_load(dir, "host-2.example:16509", &back, err, sizeof(err)), 0);
	assert_int_equal(back.samples, 3);

	/* no file yet: -ENOENT and the defaults */
	back.samples = 99;
	assert_int_equal(model_calib_load(dir, "host-3", &back, err, sizeof(err)), -ENOENT);
	assert_int_equal(back.samples, 0);
	assert_float_equal(back.throughput_ratio, 1, 0);
	assert_non_null(strstr(err, "cannot read"));
}

static void test_bad_dest(void **state)
{
	struct model_calib c;
	char err[512];

	model_calib_init(&c);
	assert_int_equal(model_calib_save(dir, "../etc", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'../etc'"));
	assert_int_equal(model_calib_save(dir, "a/b", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(model_calib_save(dir, "", &c, NULL, 0), -EINVAL);
	assert_int_equal(model_calib_load(dir, ".hidden", &c, err, sizeof(err)), -EINVAL);
}

/* Each of these is refused, with a sentence naming the file and the fault. */
static void expect_refused(const char *text, const char *why)
{
	struct model_calib c;
	char err[512] = "";
	char *path = unit_write_file(dir, "calib-bad.json", text);

	assert_non_null(path);
	c.samples = 7;
	assert_int_equal(model_calib_load(dir, "bad", &c, err, sizeof(err)), -EINVAL);
	printf("  %s\n", err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is not a calibration file"));
	assert_non_null(strstr(err, why));
	assert_int_equal(c.samples, 0); /* the defaults, never half a file */
	free(path);
}

static void test_corrupt_refused(void **state)
{
	static const char good[] =
		"{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": 0.9, "
		"\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2}\n";
	struct model_calib c;
	char big[8192];
	char *path;

	path = unit_write_file(dir, "calib-bad.json", good);
	assert_int_equal(model_calib_load(dir, "bad", &c, NULL, 0), 0);
	assert_int_equal(c.samples, 2);
	free(path);

	expect_refused("", "truncated JSON");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput", "truncated JSON");
	expect_refused("\x01\x02 garbage", "");
	expect_refused("[1, 2]", "not a JSON object");
	expect_refused("{\"version\": 2, \"dest\": \"bad\"}", "\"version\"");
	expect_refused("{\"version\": 1, \"dest\": \"other\", \"throughput_ratio\": 0.9, "
		       "\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2}",
		       "\"dest\"");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": -1, "
		       "\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2}",
		       "\"throughput_ratio\"");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": \"fast\", "
		       "\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2}",
		       "\"throughput_ratio\"");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": 0.9, "
		       "\"device_state_ms\": 3, \"samples\": 2}",
		       "\"switchover_overhead_ms\"");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": 0.9, "
		       "\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2.5}",
		       "\"samples\"");
	expect_refused("{\"version\": 1, \"dest\": \"bad\", \"throughput_ratio\": 0.9, "
		       "\"switchover_overhead_ms\": 4, \"device_state_ms\": 3, \"samples\": 2} {}",
		       "data after the JSON object");

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_refused(big, "larger than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_ewma),
		cmocka_unit_test(test_uncapped_keeps_overhead),
		cmocka_unit_test(test_apply),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_refused, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
