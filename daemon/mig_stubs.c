// SPDX-License-Identifier: GPL-2.0
/*
 * mig_stubs: weak stand-ins for the dirty estimator (dirty.h) and the
 * predictor (predict.h), which other branches implement; replaced when
 * dirty.c / predict.c land (their strong definitions win at link time, and
 * this file goes away at the merge).
 *
 * The dirty side does nothing.  The predictor runs tide's model
 * (model_predict) on what it can know without the estimator: the VM's
 * memory from the store, an empty dirty curve (curve_measured false), the
 * given or configured bandwidth and downtime limit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "dirty.h"
#include "predict.h"
#include "store.h"

#define WEAK __attribute__((weak))

WEAK const char *dirty_source_name(enum dirty_source s)
{
	static const char *const names[DIRTY_SRC_N] = { "page-sampling", "migration", "dirty-ring" };

	return s < DIRTY_SRC_N ? names[s] : "?";
}

WEAK int dirty_add_point(const char *uuid, enum dirty_source src, uint32_t t_ms, uint64_t pages,
			 uint64_t taken_ns)
{
	return 0;
}

WEAK void dirty_migration_begin(const char *uuid)
{
}

WEAK void dirty_migration_end(const char *uuid)
{
}

WEAK int predict_vm(const struct predict_req *req, struct predict_out *out, char *err,
		    size_t err_bytes)
{
	const struct tide_conf *c = conf_get();
	const struct store_vm *vm = req->vm ? store_vm_find(req->vm) : NULL;
	const struct vm_desc *d;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!vm) {
		snprintf(err, err_bytes, "no VM '%s' on this host", req->vm ? req->vm : "");
		return -ENOENT;
	}
	d = store_vm_desc(vm);
	snprintf(out->uuid, sizeof(out->uuid), "%s", d->uuid);
	ret = model_curve_init(&out->curve, 4096);
	if (ret)
		return ret;
	out->in.memory_bytes = d->memory_bytes;
	out->in.curve = &out->curve;
	out->in.bandwidth_bytes_per_s = req->bandwidth_bytes_per_s;
	if (!out->in.bandwidth_bytes_per_s && c)
		out->in.bandwidth_bytes_per_s = (uint64_t)(c->migration_bandwidth_mib_s ?
								   c->migration_bandwidth_mib_s :
								   c->link_bandwidth_mib_s)
						<< 20;
	out->in.link_bytes_per_s = c ? (uint64_t)c->link_bandwidth_mib_s << 20 : 0;
	out->in.downtime_limit_ms = req->downtime_limit_ms ? req->downtime_limit_ms :
				    c			   ? c->migration_downtime_limit_ms :
							     300;
	out->in.auto_converge = req->auto_converge;
	model_predict(&out->in, &out->res);
	model_predict_textbook(&out->in, &out->textbook);
	return 0;
}

WEAK void predict_fill_json(const struct predict_out *p, struct json_object *obj)
{
	json_object_object_add(obj, "model", json_object_new_string("stub: no dirty curve yet"));
	json_object_object_add(obj, "curve_measured", json_object_new_boolean(p->curve_measured));
	json_object_object_add(obj, "memory_bytes",
			       json_object_new_int64((int64_t)p->in.memory_bytes));
	json_object_object_add(obj, "bandwidth_bytes_per_s",
			       json_object_new_int64((int64_t)p->in.bandwidth_bytes_per_s));
	json_object_object_add(obj, "downtime_limit_ms",
			       json_object_new_int64(p->in.downtime_limit_ms));
	json_object_object_add(obj, "converges", json_object_new_boolean(p->res.converges));
	json_object_object_add(obj, "why", json_object_new_string(model_why_name(p->res.why)));
	json_object_object_add(obj, "total_time_ms",
			       json_object_new_int64((int64_t)p->res.total_time_ms));
	json_object_object_add(obj, "downtime_ms",
			       json_object_new_int64((int64_t)p->res.downtime_ms));
	json_object_object_add(obj, "bytes_sent", json_object_new_int64((int64_t)p->res.bytes_sent));
	json_object_object_add(obj, "rounds", json_object_new_int64(p->res.rounds));
}
