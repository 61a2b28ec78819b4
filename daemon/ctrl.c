// SPDX-License-Identifier: GPL-2.0
/*
 * ctrl: the control loop.  See ctrl.h; the snapshot is built in
 * ctrl_snap.c, the decisions are plan.c's.
 *
 * After each tick (store_subscribe): snapshot, plan_step(), then each move
 * the planner chose goes to mig_start() with the remedy it chose set from
 * the start, unless plan_dry_run.  The model's predictions, the costly
 * part, are made only when a decision may need them: while draining, and
 * from two ticks before a hold (plan_hold_up_ms above plan_high,
 * plan_hold_down_ms below plan_low) runs out; tidectl plan makes its own.
 * A move that cannot start (the VM went, a migration of it began
 * meanwhile) is logged and counted, and the planner sees it again at the
 * next tick: the migration records give the cooldown that keeps a refused
 * or aborted attempt from being retried every tick.
 *
 * What an operator reads: the host's state changes and every migration
 * started are logged at notice with the planner's one-sentence summary;
 * a dry run logs what it would start once per distinct decision; the
 * host-overloaded and host-freed hooks run on entering those states.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admit.h"
#include "conf.h"
#include "ctl.h"
#include "ctrl.h"
#include "ctrl_int.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "plan.h"
#include "plan_json.h"
#include "react.h"
#include "store.h"

enum { DEC_STARTED, DEC_DRY_RUN, DEC_FAILED, DEC_N };
static const char *const dec_names[DEC_N] = { "migrate", "dry_run", "start_failed" };

static struct {
	bool inited, registered;
	struct plan_opts o;
	struct plan_state st;
	struct ctrl_snap snap; /* the last decision's: cs.last indexes it */
	struct plan_result last;
	bool have_last;
	bool draining;
	enum plan_host_state prev_state;
	uint64_t decisions[DEC_N];
	char last_dry[256]; /* the dry run's last "would start", said once */
} cs;

static const char *reason_of(const char *trigger)
{
	if (!strcmp(trigger, "high"))
		return "overload";
	if (!strcmp(trigger, "low"))
		return "underload";
	if (!strcmp(trigger, "drain"))
		return "drain";
	return "planner";
}

static bool needs_predictions(void)
{
	const struct tide_conf *c = conf_get();
	uint64_t now = loop_now_ms(), margin = 2ull * (c ? c->tick_ms : 1000);

	if (cs.draining || !cs.st.started)
		return true;
	if (cs.st.above && now + margin >= cs.st.above_since_ms + cs.o.hold_up_ms)
		return true;
	return cs.o.consolidate && cs.st.below &&
	       now + margin >= cs.st.below_since_ms + cs.o.hold_down_ms;
}

static void state_changed(const struct plan_result *r)
{
	char load[32];

	log_notice("planner: host %s (%s)", plan_host_state_name(r->state), r->summary);
	snprintf(load, sizeof(load), "%.3f", r->load_ratio);
	if (r->state == PLAN_HOST_OVERLOADED) {
		struct react_var v[] = { { "HOST", cs.snap.hosts[0].name }, { "LOAD_RATIO", load } };

		if (react_event("host-overloaded", v, ARRAY_SIZE(v)))
			log_warn("the host-overloaded hooks could not be queued");
	} else if (r->state == PLAN_HOST_FREED) {
		struct react_var v[] = { { "HOST", cs.snap.hosts[0].name } };

		if (react_event("host-freed", v, ARRAY_SIZE(v)))
			log_warn("the host-freed hooks could not be queued");
	}
}

static void start_move(const struct plan_move *m, const char *trigger)
{
	const struct tide_conf *c = conf_get();
	const struct plan_vm *v = &cs.snap.vms[m->vm];
	const char *dest = cs.snap.hosts[m->dst].name;
	struct mig_order o = {
		.vm = v->uuid,
		.dest = dest,
		.downtime_limit_ms = m->downtime_limit_ms,
		.max_downtime_ms = v->max_downtime_ms ? v->max_downtime_ms :
							(c ? c->migration_max_downtime_ms : 0),
		.auto_converge = m->auto_converge,
		.cpus_expected = cs.snap.vm_cpus[m->vm],
		.reason = reason_of(trigger),
	};
	char err[512], what[256];
	uint64_t id = 0;

	snprintf(what, sizeof(what),
		 "VM '%s' to '%s' (%s; predicted %llu ms, %llu ms down, %llu MiB; remedy %s)",
		 v->name, dest, o.reason, (unsigned long long)m->cost.total_time_ms,
		 (unsigned long long)m->cost.downtime_ms,
		 (unsigned long long)(m->cost.bytes_sent >> 20), plan_remedy_name(m->remedy));
	if (c && c->plan_dry_run) {
		cs.decisions[DEC_DRY_RUN]++;
		if (strcmp(cs.last_dry, what) != 0)
			log_notice("planner (dry run, nothing moves): would migrate %s", what);
		snprintf(cs.last_dry, sizeof(cs.last_dry), "%s", what);
		return;
	}
	if (mig_start(&o, NULL, NULL, &id, err, sizeof(err))) {
		cs.decisions[DEC_FAILED]++;
		log_warn("planner: cannot migrate %s: %s", what, err);
		return;
	}
	cs.decisions[DEC_STARTED]++;
	log_notice("planner: migration %llu: %s", (unsigned long long)id, what);
}

static void on_tick(void *arg)
{
	struct plan_result *r = &cs.last;
	int err;

	(void)arg;
	if (!cs.inited)
		return;
	err = ctrl_snap_build(&cs.snap, &cs.o, needs_predictions(), cs.draining);
	if (err) {
		log_debug("planner: no snapshot this tick: %s", strerror(-err));
		return;
	}
	err = plan_step(&cs.st, &cs.snap.s, &cs.o, r);
	if (err) {
		log_warn("planner: %s", r->summary);
		cs.have_last = false;
		return;
	}
	cs.have_last = true;
	if (r->state != cs.prev_state)
		state_changed(r);
	cs.prev_state = r->state;
	for (uint32_t i = 0; i < r->n_moves; i++)
		if (r->moves[i].action == PLAN_MIGRATE)
			start_move(&r->moves[i], r->trigger);
}

/* ---- drain --------------------------------------------------------------------- */

static int cmd_drain(struct json_object *req, struct json_object *reply, void *arg)
{
	struct ctrl_snap snap = { 0 };
	struct plan_move *moves = NULL;
	struct json_object *arr = NULL, *d;
	uint64_t total_ms = 0, worst_down_ms = 0;
	uint32_t n = 0, declined = 0;
	bool dry = false;
	int ret;

	(void)arg;
	ret = ctl_arg_bool(req, reply, "dry_run", &dry);
	if (ret)
		return ret;
	ret = ctrl_snap_build(&snap, &cs.o, true, true);
	if (ret) {
		ret = ctl_error(reply, ret, "cannot plan the drain: %s", strerror(-ret));
		goto cleanup;
	}
	moves = calloc(snap.s.n_vms ? snap.s.n_vms : 1, sizeof(*moves));
	arr = json_object_new_array();
	d = json_object_new_object();
	if (!moves || !arr || !d) {
		json_object_put(d);
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = plan_drain(cs.st.started ? &cs.st : NULL, &snap.s, &cs.o, moves, snap.s.n_vms, &n);
	if (ret) {
		json_object_put(d);
		ret = ctl_error(reply, ret, "cannot plan the drain: %s", strerror(-ret));
		goto cleanup;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (moves[i].action != PLAN_MIGRATE) {
			declined++;
			continue;
		}
		/* one after another (plan_max_outgoing 1): their times add up */
		total_ms += moves[i].cost.total_time_ms;
		if (moves[i].cost.downtime_ms > worst_down_ms)
			worst_down_ms = moves[i].cost.downtime_ms;
	}
	ret = plan_moves_to_json(moves, n, &snap.s, arr);
	if (ret) {
		json_object_put(d);
		goto cleanup;
	}
	json_object_object_add(d, "moves", arr);
	arr = NULL;
	json_object_object_add(d, "vms", json_object_new_int64(n));
	json_object_object_add(d, "declined", json_object_new_int64(declined));
	json_object_object_add(d, "predicted_total_time_ms",
			       json_object_new_int64((int64_t)total_ms));
	json_object_object_add(d, "predicted_max_downtime_ms",
			       json_object_new_int64((int64_t)worst_down_ms));
	json_object_object_add(reply, "drain", d);
	if (!dry && !cs.draining) {
		cs.draining = true;
		admit_set_draining(true);
		log_notice("host drain: emptying this host, %u VMs (%u cannot move now), predicted "
			   "%llu ms in all; incoming VMs are refused",
			   n, declined, (unsigned long long)total_ms);
	}
	json_object_object_add(reply, "draining", json_object_new_boolean(cs.draining));
	json_object_object_add(reply, "dry_run", json_object_new_boolean(dry));
cleanup:
	json_object_put(arr);
	free(moves);
	ctrl_snap_free(&snap);
	return ret;
}

static int cmd_undrain(struct json_object *req, struct json_object *reply, void *arg)
{
	(void)req;
	(void)arg;
	if (cs.draining)
		log_notice("host undrain: this host takes VMs again and keeps the ones it has");
	cs.draining = false;
	admit_set_draining(false);
	json_object_object_add(reply, "draining", json_object_new_boolean(false));
	return 0;
}

/* ---- exports ------------------------------------------------------------------- */

void ctrl_fill_json(struct json_object *obj)
{
	const struct tide_conf *c = conf_get();
	struct json_object *d;

	if (!cs.inited)
		return;
	d = json_object_new_object();
	if (!d)
		return;
	if (cs.have_last && plan_result_to_json(&cs.last, &cs.snap.s, d)) {
		json_object_put(d);
		return;
	}
	json_object_object_add(d, "dry_run", json_object_new_boolean(c && c->plan_dry_run));
	json_object_object_add(d, "draining", json_object_new_boolean(cs.draining));
	json_object_object_add(d, "decided", json_object_new_boolean(cs.have_last));
	json_object_object_add(obj, "decision", d);
}

void ctrl_fill_prom(struct prom *p)
{
	static const enum plan_host_state states[] = { PLAN_HOST_NORMAL, PLAN_HOST_OVERLOADED,
						       PLAN_HOST_UNDERLOADED, PLAN_HOST_FREED,
						       PLAN_HOST_DRAINING };

	if (!cs.inited || !cs.have_last)
		return;
	prom_family(p, "tide_planner_load_ratio", "gauge",
		    "This host's load as the planner compares it with plan_high and plan_low: the "
		    "largest of CPU (with run-queue wait), network and memory over capacity, "
		    "smoothed.");
	prom_sample(p, "tide_planner_load_ratio", NULL, 0, cs.last.load_ratio);
	prom_family(p, "tide_host_state", "gauge", "The planner's state of this host (1: in it).");
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		struct prom_label l[] = { { "state", plan_host_state_name(states[i]) } };

		prom_sample(p, "tide_host_state", l, 1, cs.last.state == states[i] ? 1 : 0);
	}
	prom_family(p, "tide_planner_decisions_total", "counter",
		    "Moves the planner decided: started, only logged (dry run), or that could "
		    "not start.");
	for (int i = 0; i < DEC_N; i++) {
		struct prom_label l[] = { { "action", dec_names[i] } };

		prom_sample(p, "tide_planner_decisions_total", l, 1, (double)cs.decisions[i]);
	}
}

bool ctrl_draining(void)
{
	return cs.draining;
}

/* ---- life ---------------------------------------------------------------------- */

void ctrl_reconfigure(void)
{
	struct plan_opts o;

	if (!cs.inited)
		return;
	if (ctrl_opts_from_conf(&o)) {
		log_err("the planner keeps its previous options");
		return;
	}
	cs.o = o;
}

int ctrl_init(void)
{
	int err;

	if (cs.inited)
		return -EALREADY;
	memset(&cs, 0, sizeof(cs));
	err = ctrl_opts_from_conf(&cs.o);
	if (err)
		return err;
	plan_state_init(&cs.st);
	err = ctl_register("host drain", cmd_drain, NULL);
	if (!err)
		err = ctl_register("host undrain", cmd_undrain, NULL);
	if (err)
		goto cleanup;
	cs.registered = true;
	err = store_subscribe(on_tick, NULL);
	if (err)
		goto cleanup;
	cs.inited = true;
	log_info("planner: high %.2f for %u ms, low %.2f for %u ms, %s%s", cs.o.high,
		 cs.o.hold_up_ms, cs.o.low, cs.o.hold_down_ms,
		 cs.o.consolidate ? "consolidates" : "does not consolidate",
		 conf_get() && conf_get()->plan_dry_run ? ", dry run: nothing moves" : "");
	return 0;
cleanup:
	ctl_unregister("host drain");
	ctl_unregister("host undrain");
	memset(&cs, 0, sizeof(cs));
	return err;
}

void ctrl_fini(void)
{
	if (cs.registered) {
		ctl_unregister("host drain");
		ctl_unregister("host undrain");
	}
	if (cs.inited)
		store_unsubscribe(on_tick, NULL);
	cs.inited = false;
	ctrl_snap_free(&cs.snap);
	memset(&cs, 0, sizeof(cs));
}
