// SPDX-License-Identifier: GPL-2.0
/*
 * ctrl: the control loop between the planner and the migration driver.
 * The snapshot is the test's (ctrl_snap_build is defined here); the real
 * planner decides; mig_start, the hooks and admission are recorded.
 * Checks: a decided move is started with the remedy the planner chose,
 * the VM's CPUs and the reason; a dry run starts nothing and counts it;
 * a move that cannot start is counted; the state change runs the
 * host-overloaded hook; the drain plan is a reply, and only a real drain
 * makes the host refuse incoming VMs; the decision and the exports.
 *
 * Includes daemon/ctrl.c to reach its state.
 */
#include "unit.h"

#include <json-c/json.h>

#include "../../daemon/ctrl.c"
#include "conf.h"
#include "prom.h"

#define UUID1 "11111111-1111-1111-1111-111111111111"
#define UUID2 "22222222-2222-2222-2222-222222222222"
#define MIB (1ull << 20)

/* ---- neighbours ----------------------------------------------------------- */

static struct tide_conf conf;
static uint64_t now_ms;

const struct tide_conf *conf_get(void)
{
	return &conf;
}

const char *conf_file(void)
{
	return "tided.conf";
}

uint64_t loop_now_ms(void)
{
	return now_ms;
}

static ctl_handler drain_fn, undrain_fn;

int ctl_register(const char *name, ctl_handler fn, void *arg)
{
	(void)arg;
	if (!strcmp(name, "host drain"))
		drain_fn = fn;
	else if (!strcmp(name, "host undrain"))
		undrain_fn = fn;
	return 0;
}

int ctl_unregister(const char *name)
{
	(void)name;
	return 0;
}

int ctl_arg_bool(struct json_object *req, struct json_object *reply, const char *key, bool *out)
{
	struct json_object *v;

	(void)reply;
	if (json_object_object_get_ex(req, key, &v))
		*out = json_object_get_boolean(v);
	return 0;
}

int ctl_error(struct json_object *reply, int err, const char *fmt, ...)
{
	json_object_object_add(reply, "error", json_object_new_string(fmt));
	return err;
}

int store_subscribe(store_tick_cb cb, void *arg)
{
	return 0;
}

void store_unsubscribe(store_tick_cb cb, void *arg)
{
}

static struct {
	int n;
	struct mig_order o;
	char vm[64], dest[64], reason[32];
	int ret;
} started;

int mig_start(const struct mig_order *o, mig_done_fn done, void *arg, uint64_t *id, char *err,
	      size_t err_bytes)
{
	started.n++;
	started.o = *o;
	snprintf(started.vm, sizeof(started.vm), "%s", o->vm);
	snprintf(started.dest, sizeof(started.dest), "%s", o->dest);
	snprintf(started.reason, sizeof(started.reason), "%s", o->reason);
	if (started.ret) {
		snprintf(err, err_bytes, "a migration of it already runs");
		return started.ret;
	}
	*id = 7;
	return 0;
}

static char last_event[32];
static int n_events;

int react_event(const char *event, const struct react_var *vars, size_t n_vars)
{
	snprintf(last_event, sizeof(last_event), "%s", event);
	n_events++;
	return 0;
}

static int draining_set = -1;

void admit_set_draining(bool draining)
{
	draining_set = draining;
}

/* ---- the snapshot: h1 (1 CPU) with v1, v2; h2 idle with room --------------- */

static struct model_result preds[2][2];
static bool preds_ok[2][2];
static double v1_cpus = 0.6, v2_cpus = 0.5;

static void converging(struct model_result *r, uint64_t time_ms, uint64_t down_ms)
{
	memset(r, 0, sizeof(*r));
	r->converges = true;
	r->total_time_ms = time_ms;
	r->downtime_ms = down_ms;
	r->bytes_sent = 128 * MIB;
	r->rounds = 4;
}

int ctrl_opts_from_conf(struct plan_opts *o)
{
	plan_opts_default(o);
	o->hold_up_ms = 0;
	o->ewma_ms = 0;
	o->cooldown_ms = 0;
	return 0;
}

int ctrl_snap_build(struct ctrl_snap *snap, const struct plan_opts *o, bool predict, bool draining)
{
	static struct plan_vm vms[2];
	struct plan_host *h = snap->hosts;

	memset(h, 0, 2 * sizeof(*h));
	snprintf(h[0].name, sizeof(h[0].name), "h1");
	h[0].reachable = true;
	h[0].cpus = 1;
	h[0].memory_bytes = 4096 * MIB;
	h[0].free_memory_bytes = 3000 * MIB;
	h[0].cpu_used = v1_cpus + v2_cpus;
	h[0].draining = draining;
	snprintf(h[1].name, sizeof(h[1].name), "h2");
	h[1].reachable = true;
	h[1].cpus = 1;
	h[1].memory_bytes = 4096 * MIB;
	h[1].free_memory_bytes = 4000 * MIB;
	memset(vms, 0, sizeof(vms));
	snprintf(vms[0].name, sizeof(vms[0].name), "v1");
	snprintf(vms[0].uuid, sizeof(vms[0].uuid), UUID1);
	vms[0].cpu_used = v1_cpus;
	snprintf(vms[1].name, sizeof(vms[1].name), "v2");
	snprintf(vms[1].uuid, sizeof(vms[1].uuid), UUID2);
	vms[1].cpu_used = v2_cpus;
	for (int i = 0; i < 2; i++) {
		vms[i].memory_bytes = 128 * MIB;
		vms[i].vcpus = 1;
		vms[i].max_downtime_ms = 1000; /* as ctrl_snap.c: migration_max_downtime_ms */
		vms[i].pred = preds[i];
		vms[i].pred_ok = preds_ok[i];
		snap->vm_cpus[i] = vms[i].cpu_used;
	}
	snap->vms = vms;
	snap->s = (struct plan_snapshot){
		.now_ms = now_ms, .hosts = h, .n_hosts = 2, .vms = vms, .n_vms = 2
	};
	return 0;
}

void ctrl_snap_free(struct ctrl_snap *snap)
{
	snap->vms = NULL;
}

/* ---- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	memset(&conf, 0, sizeof(conf));
	conf.tick_ms = 1000;
	conf.migration_max_downtime_ms = 1000;
	memset(&started, 0, sizeof(started));
	memset(preds_ok, 0, sizeof(preds_ok));
	converging(&preds[0][1], 5000, 30);
	converging(&preds[1][1], 5000, 30);
	preds_ok[0][1] = preds_ok[1][1] = true;
	v1_cpus = 0.6;
	v2_cpus = 0.5;
	n_events = 0;
	last_event[0] = '\0';
	draining_set = -1;
	now_ms = 100000;
	return ctrl_init();
}

static int teardown(void **state)
{
	ctrl_fini();
	return 0;
}

static void tick(void)
{
	now_ms += 1000;
	on_tick(NULL);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_move_started_with_its_order(void **state)
{
	tick();
	assert_true(cs.have_last);
	assert_int_equal(cs.last.state, PLAN_HOST_OVERLOADED);
	assert_string_equal(last_event, "host-overloaded");
	assert_int_equal(started.n, 1);
	assert_string_equal(started.dest, "h2");
	assert_string_equal(started.reason, "overload");
	/* one move brings h1 under high: v1 (0.6) or v2 (0.5) alone does */
	assert_true(!strcmp(started.vm, UUID1) || !strcmp(started.vm, UUID2));
	assert_int_equal(started.o.downtime_limit_ms, 300);
	assert_int_equal(started.o.max_downtime_ms, 1000);
	assert_false(started.o.auto_converge);
	assert_true(started.o.cpus_expected == (!strcmp(started.vm, UUID1) ? 0.6 : 0.5));
	assert_int_equal(cs.decisions[DEC_STARTED], 1);
	/* the state is the same at the next tick: the hook ran once */
	tick();
	assert_int_equal(n_events, 1);
}

/* A VM that converges only with a longer limit moves with it from the start. */
static void test_remedy_set_from_the_start(void **state)
{
	struct model_result *r = &preds[0][1];

	preds_ok[1][1] = false; /* only v1 can go */
	memset(r, 0, sizeof(*r));
	r->converges = false;
	r->why = MODEL_WHY_DIRTY_FASTER;
	r->need_downtime_limit_ms = 600;
	r->downtime_cost = (struct model_cost){ .found = true,
						.total_time_ms = 9000,
						.downtime_ms = 500,
						.bytes_sent = 300 * MIB,
						.rounds = 9 };
	tick();
	assert_int_equal(started.n, 1);
	assert_string_equal(started.vm, UUID1);
	assert_int_equal(started.o.downtime_limit_ms, 600);
}

static void test_dry_run_starts_nothing(void **state)
{
	conf.plan_dry_run = true;
	tick();
	tick();
	assert_int_equal(started.n, 0);
	assert_int_equal(cs.decisions[DEC_DRY_RUN], 2);
	assert_int_equal(cs.decisions[DEC_STARTED], 0);
}

static void test_start_failure_counted(void **state)
{
	started.ret = -EBUSY;
	tick();
	assert_int_equal(started.n, 1);
	assert_int_equal(cs.decisions[DEC_FAILED], 1);
	assert_int_equal(cs.decisions[DEC_STARTED], 0);
}

static void test_quiet_host_moves_nothing(void **state)
{
	v1_cpus = 0.2;
	v2_cpus = 0.2;
	tick();
	assert_int_equal(cs.last.state, PLAN_HOST_NORMAL);
	assert_int_equal(started.n, 0);
	assert_int_equal(n_events, 0);
}

static void test_drain(void **state)
{
	struct json_object *req = json_object_new_object(), *reply = json_object_new_object();
	struct json_object *d, *moves, *v;

	v1_cpus = v2_cpus = 0.1;
	json_object_object_add(req, "dry_run", json_object_new_boolean(1));
	assert_int_equal(drain_fn(req, reply, NULL), 0);
	assert_true(json_object_object_get_ex(reply, "drain", &d));
	assert_true(json_object_object_get_ex(d, "moves", &moves));
	assert_int_equal(json_object_array_length(moves), 2);
	assert_true(json_object_object_get_ex(d, "predicted_total_time_ms", &v));
	assert_int_equal(json_object_get_int64(v), 10000); /* one after another */
	assert_false(cs.draining);
	assert_int_equal(draining_set, -1); /* a dry run changes nothing */
	json_object_put(req);
	json_object_put(reply);

	req = json_object_new_object();
	reply = json_object_new_object();
	assert_int_equal(drain_fn(req, reply, NULL), 0);
	assert_true(cs.draining);
	assert_int_equal(draining_set, 1);
	tick(); /* the planner drains: a move even on a quiet host */
	assert_int_equal(cs.last.state, PLAN_HOST_DRAINING);
	assert_int_equal(started.n, 1);
	assert_string_equal(started.reason, "drain");
	assert_int_equal(undrain_fn(req, reply, NULL), 0);
	assert_false(cs.draining);
	assert_int_equal(draining_set, 0);
	json_object_put(req);
	json_object_put(reply);
}

static void test_decision_and_exports(void **state)
{
	struct json_object *obj = json_object_new_object(), *d, *v;
	struct prom p;

	ctrl_fill_json(obj);
	assert_true(json_object_object_get_ex(obj, "decision", &d));
	assert_true(json_object_object_get_ex(d, "decided", &v));
	assert_false(json_object_get_boolean(v)); /* before the first tick */
	json_object_put(obj);
	tick();
	obj = json_object_new_object();
	ctrl_fill_json(obj);
	assert_true(json_object_object_get_ex(obj, "decision", &d));
	assert_true(json_object_object_get_ex(d, "state", &v));
	assert_string_equal(json_object_get_string(v), "overloaded");
	assert_true(json_object_object_get_ex(d, "moves", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(obj);

	assert_int_equal(prom_begin(&p), 0);
	ctrl_fill_prom(&p);
	assert_non_null(strstr(prom_text(&p), "tide_host_state{state=\"overloaded\"} 1\n"));
	assert_non_null(strstr(prom_text(&p), "tide_host_state{state=\"normal\"} 0\n"));
	assert_non_null(strstr(prom_text(&p), "tide_planner_decisions_total{action=\"migrate\"} 1\n"));
	assert_non_null(strstr(prom_text(&p), "tide_planner_load_ratio 1.1\n"));
	prom_abort(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_move_started_with_its_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remedy_set_from_the_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_starts_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_failure_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_host_moves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decision_and_exports, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
