// SPDX-License-Identifier: GPL-2.0
/*
 * predict: the model's input made from the configuration, the VM's memory,
 * its dirty curve and the destination's calibration, and the "plan"
 * command through ctl's table: a row per VM and peer, the figures the
 * model gives for that input, remedies for a move that does not converge,
 * an unmeasured curve said as such, and bad arguments refused alone.
 */
#include "unit.h"

#include "cli.h"
#include "cli_plan.h"
#include "conf.h"
#include "ctl.h"
#include "dirty.h"
#include "fake_collect.h"
#include "log.h"
#include "predict.h"

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define MiB (1ull << 20)

static char *dir;
static char conf_text[1024];	       /* setup's tided.conf */
static int curve_ret;		       /* what dirty_curve() answers */
static uint64_t curve_rate, curve_wss; /* its sequential curve */

/* dirty.c's place: a curve the test chooses */
int dirty_curve(const char *uuid, struct model_curve *out)
{
	assert_string_equal(uuid, UUID1);
	if (curve_ret)
		return model_curve_init(out, 4096) ? -EINVAL : curve_ret;
	return model_curve_sequential(out, 4096, curve_rate, curve_wss) < 0 ? -EINVAL : 0;
}

/* ctrl.c's place: no control loop in this test (its decision is ctrl's test) */
void ctrl_fill_json(struct json_object *obj)
{
	(void)obj;
}

int dirty_get(const char *uuid, struct dirty_info *out)
{
	(void)uuid;
	memset(out, 0, sizeof(*out));
	if (curve_ret)
		return curve_ret;
	out->newest_ns = fake.now_ns - 3 * FAKE_NS; /* three seconds old */
	return 0;
}

static const struct sources sources = { .cpu_mode = "tp_btf", .net_mode = "tcx", .kvm_mode = "off" };

static int setup(void **state)
{
	char *path;

	log_set_level(LOG_LEVEL_ERR);
	dir = unit_mkdtemp("predict");
	if (!dir)
		return -1;
	snprintf(conf_text, sizeof(conf_text),
		 "state_dir = \"%s\";\n"
		 "migration_bandwidth_mib_s = 32;\n"
		 "link_bandwidth_mib_s = 1024;\n"
		 "peers = ( { name = \"h2\"; uri = \"qemu+tcp://10.0.0.2/system\"; },\n"
		 "          { name = \"h3\"; uri = \"qemu+tcp://10.0.0.3/system\"; } );\n",
		 dir);
	path = unit_write_file(dir, "tided.conf", conf_text);
	if (!path || conf_init(path))
		return -1;
	free(path);
	if (fake_collect_start(&sources) || predict_init())
		return -1;
	if (!fake_vm("v1", UUID1, 100, 1, NULL))
		return -1;
	fake_tick(1.0);
	curve_ret = 0;
	curve_rate = 40 * MiB;
	curve_wss = 16 * MiB;
	return 0;
}

static int teardown(void **state)
{
	predict_fini();
	collect_fini();
	conf_fini();
	unit_rmtree(dir);
	dir = NULL;
	return 0;
}

static struct json_object *call(const char *req_text)
{
	struct json_object *req = json_tokener_parse(req_text), *reply;

	assert_non_null(req);
	reply = ctl_dispatch(req);
	json_object_put(req);
	assert_non_null(reply);
	return reply;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("member '%s' missing", key);
	return v;
}

static struct json_object *move(struct json_object *reply, size_t i)
{
	struct json_object *moves = get(reply, "moves");

	assert_true(json_object_is_type(moves, json_type_array));
	assert_true(i < json_object_array_length(moves));
	return json_object_array_get_idx(moves, i);
}

static const char *error_of(struct json_object *reply)
{
	struct json_object *e;

	if (!json_object_object_get_ex(reply, "error", &e))
		return NULL;
	return json_object_get_string(e);
}

/* One row per peer, each the model's own answer for the input shown. */
static void test_plan_rows_are_the_model(void **state)
{
	struct json_object *r = call("{\"cmd\": \"plan\"}"), *m, *in;
	struct model_curve c;
	struct model_input mi = { 0 };
	struct model_result want;

	assert_null(error_of(r));
	assert_int_equal(json_object_array_length(get(r, "moves")), 2);
	m = move(r, 0);
	assert_string_equal(json_object_get_string(get(m, "vm")), "v1");
	assert_string_equal(json_object_get_string(get(m, "uuid")), UUID1);
	assert_string_equal(json_object_get_string(get(m, "dest")), "h2");
	assert_string_equal(json_object_get_string(get(move(r, 1), "dest")), "h3");
	in = get(m, "input");
	assert_int_equal(json_object_get_int64(get(in, "memory_bytes")), 256 * MiB);
	assert_int_equal(json_object_get_int64(get(in, "bandwidth_bytes_per_s")), 32 * MiB);
	assert_int_equal(json_object_get_int64(get(in, "link_bytes_per_s")), 1024 * MiB);
	assert_int_equal(json_object_get_int64(get(in, "downtime_limit_ms")), 300);

	assert_int_equal(model_curve_sequential(&c, 4096, 40 * MiB, 16 * MiB), 0);
	mi.memory_bytes = 256 * MiB;
	mi.curve = &c;
	mi.bandwidth_bytes_per_s = 32 * MiB;
	mi.link_bytes_per_s = 1024 * MiB;
	mi.downtime_limit_ms = 300;
	assert_int_equal(model_predict(&mi, &want), 0);
	assert_true(want.converges);
	assert_true(json_object_get_boolean(get(m, "converges")));
	assert_int_equal(json_object_get_int64(get(m, "total_time_ms")), want.total_time_ms);
	assert_int_equal(json_object_get_int64(get(m, "downtime_ms")), want.downtime_ms);
	assert_int_equal(json_object_get_int64(get(m, "bytes_sent")), want.bytes_sent);
	assert_int_equal(json_object_get_int64(get(m, "rounds")), want.rounds);
	/* the textbook model calls this one non-convergent: both are shown */
	assert_false(json_object_get_boolean(get(get(m, "textbook"), "converges")));
	assert_true(json_object_get_boolean(get(get(m, "curve"), "measured")));
	assert_int_equal(json_object_get_int64(get(get(m, "curve"), "age_ms")), 3000);
	json_object_put(r);
}

/* One VM, one peer, the request's bandwidth and downtime limit. */
static void test_plan_one_move_with_arguments(void **state)
{
	struct json_object *r = call("{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h3\","
				     " \"bandwidth_mib_s\": 16, \"downtime_limit_ms\": 50}");
	struct json_object *in;

	assert_null(error_of(r));
	assert_int_equal(json_object_array_length(get(r, "moves")), 1);
	in = get(move(r, 0), "input");
	assert_int_equal(json_object_get_int64(get(in, "bandwidth_bytes_per_s")), 16 * MiB);
	assert_int_equal(json_object_get_int64(get(in, "downtime_limit_ms")), 50);
	json_object_put(r);
	/* by uuid too */
	r = call("{\"cmd\": \"plan\", \"vm\": \"" UUID1 "\", \"dest\": \"h2\"}");
	assert_null(error_of(r));
	assert_int_equal(json_object_array_length(get(r, "moves")), 1);
	json_object_put(r);
}

/* A move that cannot finish says what would make it finish. */
static void test_plan_non_convergent_has_remedies(void **state)
{
	struct json_object *r, *m, *needs;

	curve_rate = 100 * MiB;
	curve_wss = 64 * MiB;
	r = call("{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\"}");
	assert_null(error_of(r));
	m = move(r, 0);
	assert_false(json_object_get_boolean(get(m, "converges")));
	assert_string_equal(json_object_get_string(get(m, "why")), "dirty-faster");
	needs = get(m, "needs");
	assert_true(json_object_get_int64(get(get(needs, "bandwidth"), "bandwidth_bytes_per_s")) >
		    (int64_t)(32 * MiB));
	assert_true(json_object_get_int64(get(get(needs, "downtime_limit"), "downtime_limit_ms")) >
		    300);
	json_object_put(r);
}

/* No point yet: an empty curve, and the reply says it was not measured. */
static void test_plan_unmeasured_curve_said(void **state)
{
	struct json_object *r, *c;

	curve_ret = -ENODATA;
	r = call("{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\"}");
	assert_null(error_of(r));
	c = get(move(r, 0), "curve");
	assert_false(json_object_get_boolean(get(c, "measured")));
	assert_null(get(c, "age_ms"));
	assert_int_equal(json_object_array_length(get(c, "points")), 0);
	json_object_put(r);
}

/* The destination's calibration goes into its rows only. */
static void test_plan_applies_destination_calibration(void **state)
{
	struct model_calib cal;
	struct json_object *r;
	char err[256];

	model_calib_init(&cal);
	cal.throughput_ratio = 0.5;
	cal.switchover_overhead_ms = 40;
	cal.samples = 3;
	assert_int_equal(model_calib_save(dir, "h2", &cal, err, sizeof(err)), 0);
	r = call("{\"cmd\": \"plan\", \"vm\": \"v1\"}");
	assert_null(error_of(r));
	assert_float_equal(json_object_get_double(get(get(move(r, 0), "input"), "throughput_ratio")),
			   0.5, 1e-9);
	assert_int_equal(json_object_get_int64(
				 get(get(move(r, 0), "input"), "switchover_overhead_ms")),
			 40);
	assert_float_equal(json_object_get_double(get(get(move(r, 1), "input"), "throughput_ratio")),
			   1.0, 1e-9);
	/* half the throughput: a longer migration than h3's */
	assert_true(json_object_get_int64(get(move(r, 0), "total_time_ms")) >
		    json_object_get_int64(get(move(r, 1), "total_time_ms")));
	json_object_put(r);
}

/* tided aborts a driven migration at migration_timeout_ms: a move that
 * converges only later is predicted not to converge, and the input says
 * how far the model looked. */
static void test_plan_horizon_is_the_timeout(void **state)
{
	const char *req = "{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\","
			  " \"auto_converge\": true}";
	struct json_object *r;
	char text[sizeof(conf_text) + 64];
	int64_t total_ms;

	/* 100 MiB/s over 64 MiB at 32 MiB/s: only throttling brings it home,
	 * and that takes longer than round 0 alone */
	curve_rate = 100 * MiB;
	curve_wss = 64 * MiB;
	r = call(req);
	assert_null(error_of(r));
	assert_true(json_object_get_boolean(get(move(r, 0), "converges")));
	total_ms = json_object_get_int64(get(move(r, 0), "total_time_ms"));
	assert_true(total_ms > 5000);
	/* the default timeout (120 s) is beyond the model's own minute */
	assert_int_equal(json_object_get_int64(get(get(move(r, 0), "input"), "max_time_ms")),
			 MODEL_DEFAULT_MAX_TIME_MS);
	json_object_put(r);

	snprintf(text, sizeof(text), "%smigration_timeout_ms = %lld;\n", conf_text,
		 (long long)total_ms - 1000);
	free(unit_write_file(dir, "tided.conf", text));
	assert_int_equal(conf_reload(), 0);
	r = call(req);
	assert_null(error_of(r));
	assert_false(json_object_get_boolean(get(move(r, 0), "converges")));
	assert_int_equal(json_object_get_int64(get(get(move(r, 0), "input"), "max_time_ms")),
			 total_ms - 1000);
	json_object_put(r);
}

static void expect_error(const char *req, const char *want)
{
	struct json_object *r = call(req);
	const char *e = error_of(r);

	if (!e)
		fail_msg("%s: no error", req);
	if (!strstr(e, want))
		fail_msg("%s: error '%s' does not say '%s'", req, e, want);
	/* an error reply is the error alone */
	assert_int_equal(json_object_object_length(r), 1);
	json_object_put(r);
}

static void test_plan_bad_input_refused(void **state)
{
	expect_error("{\"cmd\": \"plan\", \"vm\": \"nope\"}", "no VM 'nope'");
	expect_error("{\"cmd\": \"plan\", \"dest\": \"h9\"}", "no peer 'h9'");
	expect_error("{\"cmd\": \"plan\", \"vm\": 3}", "'vm' must be a string");
	expect_error("{\"cmd\": \"plan\", \"bandwidth_mib_s\": 0}", "'bandwidth_mib_s' must be");
	expect_error("{\"cmd\": \"plan\", \"bandwidth_mib_s\": \"fast\"}", "must be an integer");
	expect_error("{\"cmd\": \"plan\", \"downtime_limit_ms\": 999999}", "'downtime_limit_ms'");
	expect_error("{\"cmd\": \"plan\", \"auto_converge\": 1}", "true or false");
}

/* tidectl's printers read tided's own reply without a member missing. */
static char *print(void (*fn)(FILE *, struct reply *), const char *req)
{
	struct reply r;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	reply_adopt(&r, "plan", call(req));
	json_object_object_del(r.obj, "ok");
	fn(out, &r);
	fclose(out);
	if (reply_check(&r))
		fail_msg("the printer found '%s' wanting in tided's reply", r.miss);
	reply_free(&r);
	return buf;
}

static void test_plan_printers_read_the_reply(void **state)
{
	char *t;

	cli_reset("tidectl");
	t = print(cli_show_plan, "{\"cmd\": \"plan\"}");
	assert_non_null(strstr(t, "VM  DEST"));
	assert_non_null(strstr(t, "v1  h2         yes"));
	assert_non_null(strstr(t, "3s old"));
	free(t);
	t = print(cli_show_plan_detail, "{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\"}");
	assert_non_null(strstr(t, "v1 -> h2\n  tide:      converges: "));
	assert_non_null(strstr(t, "  textbook:  does not converge (dirty-faster)"));
	assert_non_null(strstr(t, ") = 16.0 MiB\n"));
	free(t);
	/* a move that does not converge lists its remedies */
	curve_rate = 100 * MiB;
	curve_wss = 64 * MiB;
	t = print(cli_show_plan, "{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\"}");
	assert_non_null(strstr(t, "no        "));
	assert_non_null(strstr(t, "bandwidth "));
	assert_non_null(strstr(t, "downtime limit "));
	free(t);
	curve_ret = -ENODATA;
	t = print(cli_show_plan, "{\"cmd\": \"plan\", \"vm\": \"v1\", \"dest\": \"h2\"}");
	assert_non_null(strstr(t, "none yet"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plan_rows_are_the_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_one_move_with_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_non_convergent_has_remedies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_unmeasured_curve_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_applies_destination_calibration, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_horizon_is_the_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_bad_input_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_printers_read_the_reply, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
