// SPDX-License-Identifier: GPL-2.0
/*
 * mig_ctl: mig's control commands ("migration list", "migration show",
 * "migrate") and its textfile families.  Split from mig.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "ctl.h"
#include "model.h"
#include "predict.h"
#include "store.h"
#include "mig.h"
#include "mig_int.h"
#include "mig_record.h"
#include "prom.h"

/* ---- control commands -------------------------------------------------------- */

static int cmd_list(struct json_object *req, struct json_object *reply, void *arg)
{
	struct json_object *arr = json_object_new_array(), *v;
	bool passes = false;

	if (!arr)
		return -ENOMEM;
	if (json_object_object_get_ex(req, "passes", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean)) {
			json_object_put(arr);
			return ctl_error(reply, -EINVAL, "'passes' must be true or false");
		}
		passes = json_object_get_boolean(v);
	}
	for (size_t i = 0; i < mig_st.h.n; i++)
		json_object_array_add(arr, mig_record_to_json(mig_st.h.recs[i], passes));
	json_object_object_add(reply, "migrations", arr);
	return 0;
}

static int cmd_show(struct json_object *req, struct json_object *reply, void *arg)
{
	struct json_object *v, *arr;
	struct mig_record *r;
	int64_t id;

	if (!json_object_object_get_ex(req, "id", &v) || !json_object_is_type(v, json_type_int))
		return ctl_error(reply, -EINVAL, "'migration show' needs an integer 'id'");
	id = json_object_get_int64(v);
	r = id > 0 ? mig_history_find(&mig_st.h, (uint64_t)id) : NULL;
	if (!r)
		return ctl_error(reply, -ENOENT, "no migration record %lld (%zu kept)",
				 (long long)id, mig_st.h.n);
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	json_object_array_add(arr, mig_record_to_json(r, true));
	json_object_object_add(reply, "migrations", arr);
	return 0;
}

/* ---- textfile ---------------------------------------------------------------- */

void mig_fill_prom(struct prom *p)
{
	char le[32];

	if (!mig_st.inited)
		return;
	prom_family(p, "tide_migrations_total", "counter",
		    "Migrations of this host's domains that ended, by result.");
	for (int i = MIG_COMPLETED; i < MIG_RESULT_N; i++) {
		struct prom_label l[] = { { "result", mig_result_name((enum mig_result)i) } };

		prom_sample(p, "tide_migrations_total", l, 1, (double)mig_st.h.totals[i]);
	}
	prom_family(p, "tide_migration_downtime_seconds", "histogram",
		    "Downtime of the completed migrations, as libvirt measured it.");
	for (int i = 0; i < MIG_DOWNTIME_BUCKETS; i++) {
		struct prom_label l[] = { { "le", le } };

		snprintf(le, sizeof(le), "%g", mig_downtime_bucket_s[i]);
		prom_sample(p, "tide_migration_downtime_seconds_bucket", l, 1,
			    (double)mig_st.h.downtime_le[i]);
	}
	{
		struct prom_label l[] = { { "le", "+Inf" } };

		prom_sample(p, "tide_migration_downtime_seconds_bucket", l, 1,
			    (double)mig_st.h.downtime_count);
	}
	prom_sample(p, "tide_migration_downtime_seconds_sum", NULL, 0, mig_st.h.downtime_sum_s);
	prom_sample(p, "tide_migration_downtime_seconds_count", NULL, 0,
		    (double)mig_st.h.downtime_count);
	prom_family(p, "tide_migration_predicted_downtime_seconds", "gauge",
		    "Downtime tide predicted for the last migration of each domain.");
	/* newest first, one sample per domain */
	for (size_t i = mig_st.h.n; i-- > 0;) {
		const struct mig_record *r = mig_st.h.recs[i];
		struct prom_label l[] = { { "domain", r->domain }, { "uuid", r->uuid } };
		bool newer = false;

		if (!r->has_prediction)
			continue;
		for (size_t k = i + 1; k < mig_st.h.n && !newer; k++)
			newer = mig_st.h.recs[k]->has_prediction &&
				strcasecmp(mig_st.h.recs[k]->uuid, r->uuid) == 0;
		if (!newer)
			prom_sample(p, "tide_migration_predicted_downtime_seconds", l, 2,
				    (double)r->pred.downtime_ms / 1000.0);
	}
}

/* ---- migrate -------------------------------------------------------------------- */

/* The VM's CPUs now (on-CPU and run-queue wait over the last 10 s), for
 * the destination's admission; -1 when not known yet. */
static double cpus_of(const char *vm_name)
{
	const struct store_vm *vm = store_vm_find(vm_name);
	struct store_rate on = { 0 }, wait = { 0 };

	if (!vm || store_rate(vm, SERIES_CPU_NS, 10000, &on) || !on.interval_ns)
		return -1;
	if (store_rate(vm, SERIES_WAIT_NS, 10000, &wait))
		wait.per_s = 0;
	return (on.per_s + wait.per_s) / 1e9;
}

/* "a downtime limit of 2100 ms ('downtime 2100': 9.5 s, 2100 ms down), or ..." */
static void remedies(const struct model_result *r, char *buf, size_t n)
{
	char a[160] = "", b[160] = "", c[160] = "";

	if (r->downtime_cost.found)
		snprintf(a, sizeof(a),
			 "a downtime limit of %u ms ('downtime %u': %.1f s, %llu ms down)",
			 r->need_downtime_limit_ms, r->need_downtime_limit_ms,
			 (double)r->downtime_cost.total_time_ms / 1e3,
			 (unsigned long long)r->downtime_cost.downtime_ms);
	if (r->throttle_cost.found)
		snprintf(b, sizeof(b), "auto-converge reaching %u %% ('auto-converge': %.1f s)",
			 r->need_throttle_pct, (double)r->throttle_cost.total_time_ms / 1e3);
	if (r->bandwidth_cost.found)
		snprintf(c, sizeof(c), "%llu MiB/s ('bandwidth %llu': %.1f s)",
			 (unsigned long long)(r->need_bandwidth_bytes_per_s >> 20),
			 (unsigned long long)((r->need_bandwidth_bytes_per_s + (1 << 20) - 1) >> 20),
			 (double)r->bandwidth_cost.total_time_ms / 1e3);
	if (!a[0] && !b[0] && !c[0])
		snprintf(buf, n, "nothing the model found within its limits");
	else
		snprintf(buf, n, "%s%s%s%s%s", a, a[0] && (b[0] || c[0]) ? ", or " : "", b,
			 b[0] && c[0] ? ", or " : "", c);
}

int mig_cmd_migrate(struct json_object *req, struct json_object *reply, void *arg)
{
	const char *vm = NULL, *dest = NULL;
	uint64_t bw = 0, dt = 0, max_dt = 0;
	bool ac = false, pc = false, force = false, predict_only = false;
	struct predict_out *p = NULL;
	struct json_object *pj;
	char err[MIG_ERR_BYTES], why[MIG_ERR_BYTES];
	uint64_t id = 0;
	int ret;

	(void)arg;
	if ((ret = ctl_arg_str(req, reply, "vm", &vm)) ||
	    (ret = ctl_arg_str(req, reply, "dest", &dest)) ||
	    (ret = ctl_arg_u64(req, reply, "bandwidth_mib_s", 1, 1048576, &bw)) ||
	    (ret = ctl_arg_u64(req, reply, "downtime_limit_ms", 1, 60000, &dt)) ||
	    (ret = ctl_arg_u64(req, reply, "max_downtime_ms", 1, 60000, &max_dt)) ||
	    (ret = ctl_arg_bool(req, reply, "auto_converge", &ac)) ||
	    (ret = ctl_arg_bool(req, reply, "postcopy", &pc)) ||
	    (ret = ctl_arg_bool(req, reply, "force", &force)) ||
	    (ret = ctl_arg_bool(req, reply, "predict", &predict_only)))
		return ret;
	if (!vm || !dest)
		return ctl_error(reply, -EINVAL, "'migrate' needs 'vm' and 'dest'");
	/* the planner's own limit holds for a migration asked by hand too */
	if (!predict_only && conf_get() && mig_driven() >= conf_get()->plan_max_outgoing)
		return ctl_error(reply, -EBUSY,
				 "%u migration%s already leave%s this host (plan_max_outgoing %u): "
				 "try again when it ends ('migration list')",
				 mig_driven(), mig_driven() == 1 ? "" : "s",
				 mig_driven() == 1 ? "s" : "", conf_get()->plan_max_outgoing);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	{
		struct predict_req pr = { .vm = vm,
					  .dest = dest,
					  .bandwidth_bytes_per_s = bw << 20,
					  .downtime_limit_ms = (uint32_t)dt,
					  .auto_converge = ac };

		ret = predict_vm(&pr, p, err, sizeof(err));
	}
	if (ret) {
		ret = ctl_error(reply, ret, "%s", err[0] ? err : strerror(-ret));
		goto cleanup;
	}
	pj = json_object_new_object();
	if (pj) {
		const struct store_vm *sv = store_vm_find(p->uuid);

		json_object_object_add(pj, "vm",
				       json_object_new_string(sv ? store_vm_desc(sv)->name : vm));
		json_object_object_add(pj, "uuid", json_object_new_string(p->uuid));
		json_object_object_add(pj, "dest", json_object_new_string(dest));
		predict_fill_json(p, pj);
		json_object_object_add(reply, "prediction", pj);
	}
	if (!p->res.converges && !force && !predict_only) {
		remedies(&p->res, why, sizeof(why));
		ret = ctl_error(reply, -EDOM,
				"VM '%s' is predicted not to converge to '%s' at %llu MiB/s with a "
				"%u ms downtime limit (%s): nothing was started; it needs %s, or "
				"'force' to try anyway",
				vm, dest, (unsigned long long)(p->in.bandwidth_bytes_per_s >> 20),
				p->in.downtime_limit_ms, model_why_name(p->res.why), why);
		goto cleanup;
	}
	if (predict_only) {
		json_object_object_add(reply, "started", json_object_new_boolean(false));
		goto cleanup;
	}
	{
		struct mig_order o = { .vm = vm,
				       .dest = dest,
				       .bandwidth_mib_s = (uint32_t)bw,
				       .downtime_limit_ms = (uint32_t)dt,
				       .max_downtime_ms = (uint32_t)max_dt,
				       .auto_converge = ac,
				       .postcopy = pc,
				       .cpus_expected = cpus_of(vm),
				       .reason = "manual" };

		ret = mig_start(&o, NULL, NULL, &id, err, sizeof(err));
	}
	if (ret) {
		ret = ctl_error(reply, ret, "%s", err);
		goto cleanup;
	}
	json_object_object_add(reply, "started", json_object_new_boolean(true));
	json_object_object_add(reply, "id", json_object_new_int64((int64_t)id));
	json_object_object_add(reply, "uuid", json_object_new_string(p->uuid));
	json_object_object_add(reply, "dest", json_object_new_string(dest));
cleanup:
	free(p);
	return ret;
}

/* ---- registration --------------------------------------------------------- */

int mig_ctl_register(void)
{
	int err = ctl_register("migration list", cmd_list, NULL);

	if (!err)
		err = ctl_register("migration show", cmd_show, NULL);
	if (!err)
		err = ctl_register("migrate", mig_cmd_migrate, NULL);
	if (err)
		mig_ctl_unregister();
	return err;
}

void mig_ctl_unregister(void)
{
	ctl_unregister("migration list");
	ctl_unregister("migration show");
	ctl_unregister("migrate");
}
