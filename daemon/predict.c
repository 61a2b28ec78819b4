// SPDX-License-Identifier: GPL-2.0
/*
 * predict: the model's input from what tided knows, and "plan", the
 * control command that shows what moving each VM would cost now.
 *
 * Where each input comes from, and why:
 *   - memory: the domain's <memory>, what pre-copy's round 0 walks (QEMU
 *     sends every page of guest RAM once, zero pages as a header only);
 *   - W(t): dirty.c's curve.  A VM with no point yet is predicted with an
 *     empty curve (it writes nothing) and the prediction says so
 *     (curve_measured false): a guess made to look measured would be
 *     believed;
 *   - bandwidth: the request's, else migration_bandwidth_mib_s, else the
 *     link's (QEMU's max-bandwidth is libvirt's --bandwidth; 0 there means
 *     libvirt's own default, which on QEMU 10 is unlimited);
 *   - the link: link_bandwidth_mib_s, the speed of the stop-and-copy phase,
 *     which QEMU does not cap;
 *   - downtime limit: the request's, else migration_downtime_limit_ms
 *     (libvirt leaves QEMU's 300 ms);
 *   - throughput ratio and switch-over overhead: the destination's
 *     calibration (model_calib.c, learned from finished migrations);
 *   - horizon: migration_timeout_ms, when shorter than the model's own
 *     minute.  tided aborts a driven migration at that timeout, so one
 *     that would converge only later does not converge: the planner must
 *     not start it (to abort it, and start it again after the cooldown),
 *     nor tidectl migrate unforced.  The minute stays the bound when the
 *     timeout is longer: the model runs on the loop thread.
 * The textbook round model runs on the same input, beside it, so that a
 * reader can see where the two part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "ctl.h"
#include "ctrl.h"
#include "dirty.h"
#include "log.h"
#include "predict.h"
#include "store.h"
#include "util.h"

#define ADD(obj, key, val) json_object_object_add(obj, key, val)
#define ADD_U64(obj, key, v) ADD(obj, key, json_object_new_int64((int64_t)(v)))
#define ADD_DBL(obj, key, v) ADD(obj, key, json_object_new_double(v))
#define PAGE_BYTES 4096
#define MIB (1ull << 20)

static bool registered;

int predict_load_calib(const char *dest, struct model_calib *out)
{
	char err[256];
	int ret;

	/* a small local file, read whole: no worker needed */
	ret = model_calib_load(conf_get()->state_dir, dest, out, err, sizeof(err));
	if (ret && ret != -ENOENT) {
		log_msg(LOG_LEVEL_WARNING, "predict: %s; predicting without it", err);
		model_calib_init(out);
	}
	return ret;
}

int predict_vm(const struct predict_req *req, struct predict_out *out, char *err, size_t err_bytes)
{
	const struct tide_conf *c = conf_get();
	const struct store_vm *vm;
	const struct vm_desc *d;
	struct dirty_info di;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!req || !req->vm) {
		snprintf(err, err_bytes, "cannot predict a migration: no VM named");
		return -EINVAL;
	}
	vm = store_vm_find(req->vm);
	if (!vm) {
		snprintf(err, err_bytes, "no VM '%s' on this host (by name or uuid)", req->vm);
		return -ENOENT;
	}
	d = store_vm_desc(vm);
	snprintf(out->uuid, sizeof(out->uuid), "%s", d->uuid);

	ret = dirty_curve(d->uuid, &out->curve);
	if (ret == -ENODATA || ret == -ENOENT) {
		/* nothing measured yet: an empty curve, said as such */
		if (model_curve_init(&out->curve, PAGE_BYTES))
			return -EINVAL;
	} else if (ret) {
		snprintf(err, err_bytes, "cannot read the dirty curve of '%s': %s", req->vm,
			 strerror(-ret));
		return ret;
	} else {
		out->curve_measured = out->curve.nr_points > 0;
	}
	if (out->curve_measured && !dirty_get(d->uuid, &di) && di.newest_ns) {
		uint64_t now = store_now_ns();

		out->curve_age_ms = now > di.newest_ns ? (now - di.newest_ns) / 1000000 : 0;
	}

	out->in.memory_bytes = d->memory_bytes;
	out->in.curve = &out->curve;
	out->in.link_bytes_per_s = (uint64_t)c->link_bandwidth_mib_s * MIB;
	if (req->bandwidth_bytes_per_s)
		out->in.bandwidth_bytes_per_s = req->bandwidth_bytes_per_s;
	else if (c->migration_bandwidth_mib_s)
		out->in.bandwidth_bytes_per_s = (uint64_t)c->migration_bandwidth_mib_s * MIB;
	else
		out->in.bandwidth_bytes_per_s = out->in.link_bytes_per_s;
	out->in.downtime_limit_ms = req->downtime_limit_ms ? req->downtime_limit_ms :
							     c->migration_downtime_limit_ms;
	out->in.auto_converge = req->auto_converge;
	if (c->migration_timeout_ms < MODEL_DEFAULT_MAX_TIME_MS)
		out->in.max_time_ms = c->migration_timeout_ms;
	if (req->calib) {
		model_calib_apply(req->calib, &out->in);
	} else if (req->dest) {
		struct model_calib cal;

		if (!predict_load_calib(req->dest, &cal))
			model_calib_apply(&cal, &out->in);
	}

	ret = model_predict(&out->in, &out->res);
	if (!ret)
		ret = model_predict_textbook(&out->in, &out->textbook);
	if (ret) {
		snprintf(err, err_bytes,
			 "cannot predict the migration of '%s': the model refused its input (%s)",
			 req->vm, strerror(-ret));
		return ret;
	}
	return 0;
}

static struct json_object *cost_json(const struct model_cost *k)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	ADD_U64(o, "total_time_ms", k->total_time_ms);
	ADD_U64(o, "downtime_ms", k->downtime_ms);
	ADD_U64(o, "bytes_sent", k->bytes_sent);
	ADD_U64(o, "rounds", k->rounds);
	return o;
}

static void result_json(struct json_object *o, const struct model_result *r)
{
	ADD(o, "converges", json_object_new_boolean(r->converges));
	ADD(o, "why", json_object_new_string(model_why_name(r->why)));
	ADD_U64(o, "total_time_ms", r->total_time_ms);
	ADD_U64(o, "downtime_ms", r->downtime_ms);
	ADD_U64(o, "bytes_sent", r->bytes_sent);
	ADD_U64(o, "rounds", r->rounds);
}

/* What would make it converge: each remedy changes one input. */
static struct json_object *needs_json(const struct model_result *r)
{
	struct json_object *o = json_object_new_object(), *k;

	if (!o)
		return NULL;
	if (r->bandwidth_cost.found) {
		k = cost_json(&r->bandwidth_cost);
		if (k)
			ADD_U64(k, "bandwidth_bytes_per_s", r->need_bandwidth_bytes_per_s);
		ADD(o, "bandwidth", k);
	}
	if (r->downtime_cost.found) {
		k = cost_json(&r->downtime_cost);
		if (k)
			ADD_U64(k, "downtime_limit_ms", r->need_downtime_limit_ms);
		ADD(o, "downtime_limit", k);
	}
	if (r->throttle_cost.found) {
		k = cost_json(&r->throttle_cost);
		if (k)
			ADD_U64(k, "throttle_pct", r->need_throttle_pct);
		ADD(o, "auto_converge", k);
	}
	return o;
}

void predict_fill_json(const struct predict_out *p, struct json_object *obj)
{
	struct json_object *in = json_object_new_object(), *curve = json_object_new_object();
	struct json_object *pts = json_object_new_array(), *tb = json_object_new_object();

	result_json(obj, &p->res);
	ADD_U64(obj, "threshold_bytes", p->res.threshold_bytes);
	ADD_U64(obj, "min_pending_bytes", p->res.min_pending_bytes);
	ADD_U64(obj, "final_pending_bytes", p->res.final_pending_bytes);
	ADD_U64(obj, "throttle_pct", p->res.throttle_pct);
	if (!p->res.converges)
		ADD(obj, "needs", needs_json(&p->res));
	if (tb) {
		result_json(tb, &p->textbook);
		ADD(obj, "textbook", tb);
	}
	if (in) {
		ADD_U64(in, "memory_bytes", p->in.memory_bytes);
		ADD_U64(in, "bandwidth_bytes_per_s", p->in.bandwidth_bytes_per_s);
		ADD_U64(in, "link_bytes_per_s", p->in.link_bytes_per_s);
		ADD_U64(in, "downtime_limit_ms", p->in.downtime_limit_ms);
		ADD_DBL(in, "throughput_ratio", p->in.throughput_ratio ? p->in.throughput_ratio : 1);
		ADD_U64(in, "switchover_overhead_ms", p->in.switchover_overhead_ms);
		ADD(in, "auto_converge", json_object_new_boolean(p->in.auto_converge));
		ADD_U64(in, "max_time_ms",
			p->in.max_time_ms ? p->in.max_time_ms : MODEL_DEFAULT_MAX_TIME_MS);
		ADD(obj, "input", in);
	}
	if (curve) {
		ADD(curve, "measured", json_object_new_boolean(p->curve_measured));
		if (p->curve_measured)
			ADD_U64(curve, "age_ms", p->curve_age_ms);
		else
			ADD(curve, "age_ms", NULL);
		ADD_U64(curve, "page_bytes", p->curve.page_bytes);
		for (uint32_t i = 0; pts && i < p->curve.nr_points; i++) {
			struct json_object *pt = json_object_new_object();

			if (!pt)
				break;
			ADD_U64(pt, "t_ms", p->curve.points[i].t_ms);
			ADD_U64(pt, "pages", p->curve.points[i].pages);
			json_object_array_add(pts, pt);
		}
		ADD(curve, "points", pts);
		pts = NULL;
		ADD(obj, "curve", curve);
	}
	json_object_put(pts);
}

/* ---- "plan" --------------------------------------------------------------- */

static int plan_one(struct json_object *arr, struct json_object *reply, struct predict_req *pr,
		    const char *name)
{
	struct predict_out *p = calloc(1, sizeof(*p));
	struct json_object *o;
	char err[256];
	int ret;

	if (!p)
		return -ENOMEM;
	ret = predict_vm(pr, p, err, sizeof(err));
	if (ret) {
		free(p);
		return ctl_error(reply, ret, "%s", err);
	}
	o = json_object_new_object();
	if (!o) {
		free(p);
		return -ENOMEM;
	}
	ADD(o, "vm", json_object_new_string(name));
	ADD(o, "uuid", json_object_new_string(p->uuid));
	ADD(o, "dest", pr->dest ? json_object_new_string(pr->dest) : NULL);
	predict_fill_json(p, o);
	json_object_array_add(arr, o);
	free(p);
	return 0;
}

/* Every VM of this host (or the one named) to every peer (or the one named). */
static int cmd_plan(struct json_object *req, struct json_object *reply, void *arg)
{
	const struct tide_conf *c = conf_get();
	struct predict_req pr = { 0 };
	const char *vm_name = NULL, *dest = NULL;
	uint64_t bw_mib = 0, downtime_ms = 0;
	const struct store_vm *target;
	struct json_object *arr, *v;
	struct model_calib *cals;
	const char **dests;
	size_t n_dest;
	int ret;

	(void)arg;
	ret = ctl_arg_str(req, reply, "vm", &vm_name);
	if (!ret)
		ret = ctl_arg_str(req, reply, "dest", &dest);
	if (!ret)
		ret = ctl_arg_u64(req, reply, "bandwidth_mib_s", 1, 1048576, &bw_mib);
	if (!ret)
		ret = ctl_arg_u64(req, reply, "downtime_limit_ms", 1, MODEL_MAX_DOWNTIME_LIMIT_MS,
				  &downtime_ms);
	if (ret)
		return ret;
	if (json_object_object_get_ex(req, "auto_converge", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return ctl_error(reply, -EINVAL, "'auto_converge' must be true or false");
		pr.auto_converge = json_object_get_boolean(v);
	}
	if (dest && c->n_peers) {
		bool known = false;

		for (size_t i = 0; i < c->n_peers; i++)
			known |= !strcmp(c->peers[i].name, dest);
		if (!known)
			return ctl_error(reply, -ENOENT,
					 "no peer '%s' in the configuration (peers in %s)", dest,
					 conf_file());
	}
	if (vm_name && !store_vm_find(vm_name))
		return ctl_error(reply, -ENOENT, "no VM '%s' on this host (by name or uuid)",
				 vm_name);
	pr.bandwidth_bytes_per_s = bw_mib * MIB;
	pr.downtime_limit_ms = (uint32_t)downtime_ms;

	/* the destinations, each calibration read once for every VM */
	n_dest = dest || !c->n_peers ? 1 : c->n_peers;
	dests = calloc(n_dest, sizeof(*dests));
	cals = calloc(n_dest, sizeof(*cals));
	arr = json_object_new_array();
	if (!dests || !cals || !arr) {
		json_object_put(arr);
		ret = -ENOMEM;
		goto cleanup;
	}
	ADD(reply, "moves", arr);
	/* the control loop's own decision and why, beside the costs */
	ctrl_fill_json(reply);
	for (size_t i = 0; i < n_dest; i++) {
		/* one destination named, or none configured: its own row */
		dests[i] = dest || !c->n_peers ? dest : c->peers[i].name;
		if (dests[i])
			predict_load_calib(dests[i], &cals[i]);
		else
			model_calib_init(&cals[i]);
	}
	target = vm_name ? store_vm_find(vm_name) : NULL;
	for (const struct store_vm *vm = store_vm_next(NULL); !ret && vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);
		const char *name = d->name ? d->name : d->uuid;

		if (target && target != vm)
			continue;
		pr.vm = d->uuid;
		for (size_t i = 0; !ret && i < n_dest; i++) {
			pr.dest = dests[i];
			pr.calib = &cals[i];
			ret = plan_one(arr, reply, &pr, name);
		}
	}
cleanup:
	free(dests);
	free(cals);
	return ret;
}

int predict_init(void)
{
	int err = ctl_register("plan", cmd_plan, NULL);

	registered = !err;
	return err;
}

void predict_fini(void)
{
	if (registered)
		ctl_unregister("plan");
	registered = false;
}
