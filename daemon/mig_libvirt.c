// SPDX-License-Identifier: GPL-2.0
/*
 * mig_libvirt: libvirt's side of the migration records: the job
 * statistics (read on a worker), the vconn jobs that read them and a
 * migration's parameters, and the domain events that start and end a
 * record.  The state machine they drive is mig.c's; what libvirt emits,
 * and why the passes are W(t) points, is said at the top of mig.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "ctl.h"
#include "dirty.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "mig_int.h"
#include "mig_record.h"
#include "model.h"
#include "peer.h"
#include "predict.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

/* event registrations: touched only by the connection's jobs (see inv.c) */
static struct {
	int ids[3];
} ev = { { -1, -1, -1 } };

/* ---- job statistics (worker) ---------------------------------------------- */

/*
 * virTypedParamsGet* read the array in memory (no connection, no RPC): a
 * parameter libvirt did not send stays 0.
 */
static uint64_t param_u64(virTypedParameterPtr params, int n, const char *name)
{
	unsigned long long v = 0;

	if (virTypedParamsGetULLong(params, n, name, &v) != 1)
		return 0;
	return v;
}

static void parse_stats(int type, virTypedParameterPtr params, int n, struct mig_stats *st)
{
	const char *msg = NULL;

	memset(st, 0, sizeof(*st));
	st->type = type;
	if (virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &st->operation) != 1)
		st->operation = 0;
	st->time_elapsed_ms = param_u64(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
	st->downtime_ms = param_u64(params, n, VIR_DOMAIN_JOB_DOWNTIME);
	st->setup_time_ms = param_u64(params, n, VIR_DOMAIN_JOB_SETUP_TIME);
	st->data_total = param_u64(params, n, VIR_DOMAIN_JOB_DATA_TOTAL);
	st->data_processed = param_u64(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
	st->data_remaining = param_u64(params, n, VIR_DOMAIN_JOB_DATA_REMAINING);
	st->memory_total = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
	st->memory_processed = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
	st->memory_remaining = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
	st->memory_bps = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_BPS);
	st->memory_dirty_rate = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
	st->memory_iteration = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	st->memory_page_size = param_u64(params, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE);
	if (virTypedParamsGetString(params, n, VIR_DOMAIN_JOB_ERRMSG, &msg) == 1 && msg)
		snprintf(st->errmsg, sizeof(st->errmsg), "%s", msg);
}

/* Worker: the job of dom now (completed: the one that just ended). */
static int read_stats(virDomainPtr dom, unsigned int flags, struct mig_stats *st)
{
	virTypedParameterPtr params = NULL;
	int type = VIR_DOMAIN_JOB_NONE, n = 0, err;

	err = virt_domain_get_job_stats(dom, &type, &params, &n, flags);
	if (err)
		return err;
	parse_stats(type, params, n, st);
	virTypedParamsFree(params, n);
	return 0;
}

/* ---- vconn jobs ----------------------------------------------------------- */

struct start_job {
	uint64_t gen, rec_id;
	char uuid[VM_UUID_BYTES];
	char name[MIG_NAME_BYTES];
	bool has_speed, has_downtime;
	unsigned long speed_mib_s;
	unsigned long long downtime_ms;
	char speed_err[VCONN_ERR_BYTES], downtime_err[VCONN_ERR_BYTES];
};

static int start_run(virConnectPtr conn, void *arg)
{
	struct start_job *j = arg;
	virDomainPtr dom = NULL;
	int err;

	err = virt_domain_lookup_by_uuid_string(conn, j->uuid, &dom);
	if (err)
		return err;
	snprintf(j->name, sizeof(j->name), "%s", virt_domain_get_name(dom));
	j->has_speed = virt_domain_migrate_get_max_speed(dom, &j->speed_mib_s, 0) == 0;
	if (!j->has_speed)
		snprintf(j->speed_err, sizeof(j->speed_err), "%s", virt_last_error());
	j->has_downtime = virt_domain_migrate_get_max_downtime(dom, &j->downtime_ms, 0) == 0;
	if (!j->has_downtime)
		snprintf(j->downtime_err, sizeof(j->downtime_err), "%s", virt_last_error());
	virt_domain_free(dom);
	return 0;
}

static struct mig_active *act_by_id(uint64_t rec_id)
{
	for (struct mig_active *a = mig_st.act; a; a = a->next)
		if (a->rec->id == rec_id)
			return a;
	return NULL;
}

/* The prediction at the start, with what the migration runs under. */
static void predict_start(struct mig_record *r, bool auto_converge)
{
	struct predict_req req = {
		.vm = r->uuid,
		.dest = strcmp(r->peer, MIG_UNKNOWN_HOST) != 0 ? r->peer : NULL,
		.bandwidth_bytes_per_s = r->bandwidth_bytes_per_s,
		.downtime_limit_ms = r->downtime_limit_ms,
		.auto_converge = auto_converge,
	};
	struct predict_out *out = calloc(1, sizeof(*out));
	char err[MIG_ERR_BYTES] = "";
	int ret;

	if (!out) {
		snprintf(r->prediction_error, sizeof(r->prediction_error), "out of memory");
		return;
	}
	ret = predict_vm(&req, out, err, sizeof(err));
	if (ret) {
		snprintf(r->prediction_error, sizeof(r->prediction_error), "%s",
			 err[0] ? err : strerror(-ret));
		goto cleanup;
	}
	r->has_prediction = true;
	r->pred.converges = out->res.converges;
	r->pred.total_time_ms = out->res.total_time_ms;
	r->pred.downtime_ms = out->res.downtime_ms;
	r->pred.bytes_sent = out->res.bytes_sent;
	r->pred.rounds = out->res.rounds;
	json_object_put(r->prediction);
	r->prediction = json_object_new_object();
	if (r->prediction)
		predict_fill_json(out, r->prediction);
cleanup:
	free(out);
}

/* Loop: what libvirt said the migration runs under, or the defaults. */
static void apply_params(struct mig_record *r, const struct start_job *j)
{
	const struct tide_conf *c = conf_get();

	if (j && j->name[0])
		snprintf(r->domain, sizeof(r->domain), "%s", j->name);
	if (j && j->has_speed) {
		snprintf(r->bandwidth_source, sizeof(r->bandwidth_source), "libvirt");
		r->bandwidth_bytes_per_s = j->speed_mib_s >= MIG_UNLIMITED_MIB_S ?
						   0 :
						   (uint64_t)j->speed_mib_s << 20;
	} else {
		if (j)
			log_debug("%s; migration_bandwidth_mib_s stands for it", j->speed_err);
		snprintf(r->bandwidth_source, sizeof(r->bandwidth_source), "conf");
		r->bandwidth_bytes_per_s = c ? (uint64_t)c->migration_bandwidth_mib_s << 20 : 0;
	}
	if (j && j->has_downtime && j->downtime_ms <= UINT32_MAX) {
		snprintf(r->downtime_limit_source, sizeof(r->downtime_limit_source), "libvirt");
		r->downtime_limit_ms = (uint32_t)j->downtime_ms;
	} else {
		if (j)
			log_debug("%s; migration_downtime_limit_ms stands for it", j->downtime_err);
		snprintf(r->downtime_limit_source, sizeof(r->downtime_limit_source), "conf");
		r->downtime_limit_ms = c ? c->migration_downtime_limit_ms : 300;
	}
	predict_start(r, false);
}

static void start_done(int result, const char *err, void *arg)
{
	struct start_job *j = arg;
	struct mig_active *a;

	if (!mig_st.inited || j->gen != mig_st.gen)
		return;
	a = act_by_id(j->rec_id);
	if (!a)
		return;
	if (result)
		log_warn("%s; migration %llu is predicted with the configured bandwidth and "
			 "downtime limit",
			 err, (unsigned long long)j->rec_id);
	apply_params(a->rec, result ? NULL : j);
	mig_save();
}

static void job_release(void *arg)
{
	free(arg);
}

static const struct vconn_call start_call = {
	.what = "virDomainMigrateGetMaxSpeed",
	.run = start_run,
	.done = start_done,
	.release = job_release,
};

void mig_start_params(struct mig_active *a)
{
	struct start_job *j = calloc(1, sizeof(*j));

	if (j) {
		j->gen = mig_st.gen;
		j->rec_id = a->rec->id;
		snprintf(j->uuid, sizeof(j->uuid), "%s", a->rec->uuid);
		if (mig_st.vc && !vconn_call(mig_st.vc, &start_call, j))
			return;
		free(j);
	}
	apply_params(a->rec, NULL);
}

/* Loop: a migration tide starts runs under what its order says. */
void mig_start_known(struct mig_active *a, const struct mig_known *k)
{
	struct mig_record *r = a->rec;

	snprintf(r->bandwidth_source, sizeof(r->bandwidth_source), "tide");
	r->bandwidth_bytes_per_s = k->bandwidth_bytes_per_s;
	snprintf(r->downtime_limit_source, sizeof(r->downtime_limit_source), "tide");
	r->downtime_limit_ms = k->downtime_limit_ms;
	predict_start(r, k->auto_converge);
}

struct poll_job {
	uint64_t gen, rec_id;
	char uuid[VM_UUID_BYTES];
	bool completed_only; /* an incoming one: only the finished job */
	bool gone;
	struct mig_stats st, done;
};

static int poll_run(virConnectPtr conn, void *arg)
{
	struct poll_job *j = arg;
	virDomainPtr dom = NULL;
	int err;

	err = virt_domain_lookup_by_uuid_string(conn, j->uuid, &dom);
	if (err == -ENOENT) {
		j->gone = true;
		return 0;
	}
	if (err)
		return err;
	if (!j->completed_only)
		err = read_stats(dom, 0, &j->st);
	if (!err && (j->completed_only || j->st.type == VIR_DOMAIN_JOB_NONE))
		err = read_stats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED, &j->done);
	virt_domain_free(dom);
	return err;
}

static void poll_done(int result, const char *err, void *arg)
{
	struct poll_job *j = arg;
	struct mig_active *a;

	if (!mig_st.inited || j->gen != mig_st.gen)
		return;
	a = act_by_id(j->rec_id);
	if (!a)
		return; /* ended meanwhile (job-completed) */
	a->poll_busy = false;
	if (result) {
		log_debug("migration %llu: %s", (unsigned long long)j->rec_id, err);
		return;
	}
	if (j->completed_only) {
		if (j->gone || j->done.type == VIR_DOMAIN_JOB_NONE)
			mig_act_end(a, MIG_COMPLETED, NULL, "libvirt kept no statistics of the job");
		else
			mig_act_end(a, mig_result_of(j->done.type), &j->done, j->done.errmsg);
		return;
	}
	mig_poll_result(a, j->gone, &j->st, &j->done, util_monotonic_ns());
}

static const struct vconn_call poll_call = {
	.what = "virDomainGetJobStats",
	.run = poll_run,
	.done = poll_done,
	.release = job_release,
};

static void submit_poll(struct mig_active *a, bool completed_only)
{
	struct poll_job *j;

	if (a->poll_busy || !mig_st.vc)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->gen = mig_st.gen;
	j->rec_id = a->rec->id;
	j->completed_only = completed_only;
	snprintf(j->uuid, sizeof(j->uuid), "%s", a->rec->uuid);
	if (vconn_call(mig_st.vc, &poll_call, j)) {
		free(j);
		return;
	}
	a->poll_busy = true;
}

void mig_poll_now(struct mig_active *a)
{
	submit_poll(a, false);
}

/* ---- events (loop) ---------------------------------------------------------- */

static void handle_iteration(const char *uuid, const char *name, int iteration, uint64_t now_ns)
{
	struct mig_active *a = mig_act_find(uuid);

	if (!a)
		a = mig_act_begin(uuid, name, MIG_DIR_OUT, now_ns);
	if (!a || a->rec->dir != MIG_DIR_OUT || iteration < 1)
		return;
	mig_note_sync(a, (uint32_t)iteration, now_ns);
	/* memory_remaining is the pass's W best read right after its sync */
	mig_poll_now(a);
}

static void handle_completed(const char *uuid, const char *name, const struct mig_stats *st,
			     uint64_t now_ns)
{
	struct mig_active *a = mig_act_find(uuid);

	if (!a) {
		/* begun before tided looked: a record of its end is still worth it */
		if (st->operation != VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
			return;
		a = mig_act_begin(uuid, name, MIG_DIR_OUT, now_ns);
		if (!a)
			return;
	}
	mig_act_end(a, MIG_COMPLETED, st, NULL);
}

static void handle_lifecycle(const char *uuid, const char *name, int event, int detail,
			     uint64_t now_ns)
{
	struct mig_active *a = mig_act_find(uuid);

	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		if (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED && !a)
			mig_act_begin(uuid, name, MIG_DIR_IN, now_ns);
		return;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (detail != VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED)
			return;
		if (!a)
			a = mig_act_begin(uuid, name, MIG_DIR_OUT, now_ns);
		if (a && !a->suspended_ns)
			a->suspended_ns = now_ns;
		return;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (!a)
			return;
		if (a->rec->dir == MIG_DIR_IN && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED)
			submit_poll(a, true);
		else if (a->rec->dir == MIG_DIR_OUT)
			mig_poll_now(a); /* resumed here: the migration failed late */
		return;
	case VIR_DOMAIN_EVENT_STOPPED:
		if (!a)
			return;
		if (a->rec->dir == MIG_DIR_OUT && detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED) {
			a->stopped_migrated = true;
			if (!a->end_timer &&
			    loop_add_timer(MIG_END_WAIT_MS, 0, mig_on_end_wait, a, &a->end_timer))
				a->end_timer = 0;
			return;
		}
		if (a->rec->dir == MIG_DIR_IN)
			mig_act_end(a, MIG_FAILED, NULL,
				    "the incoming domain stopped before the migration completed");
		else
			mig_poll_now(a);
		return;
	default:
		return;
	}
}

static void ev_uuid(virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN])
{
	if (virt_domain_get_uuid_string(dom, uuid))
		uuid[0] = '\0';
}

static void on_iteration(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	ev_uuid(dom, uuid);
	log_debug("libvirt event: domain '%s' migration iteration %d", virt_domain_get_name(dom),
		  iteration);
	if (uuid[0])
		handle_iteration(uuid, virt_domain_get_name(dom), iteration, util_monotonic_ns());
}

static void on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
			     int n_params, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct mig_stats st;

	ev_uuid(dom, uuid);
	log_debug("libvirt event: domain '%s' job completed", virt_domain_get_name(dom));
	parse_stats(VIR_DOMAIN_JOB_COMPLETED, params, n_params, &st);
	if (uuid[0])
		handle_completed(uuid, virt_domain_get_name(dom), &st, util_monotonic_ns());
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	ev_uuid(dom, uuid);
	if (uuid[0])
		handle_lifecycle(uuid, virt_domain_get_name(dom), event, detail, util_monotonic_ns());
	return 0;
}

void mig_teardown_events(virConnectPtr conn, void *arg)
{
	for (int i = 0; i < 3; i++) {
		if (ev.ids[i] >= 0)
			virt_domain_event_deregister(conn, ev.ids[i]);
		ev.ids[i] = -1;
	}
}

/* Worker, on each new connection. */
int mig_setup_events(virConnectPtr conn, void *arg)
{
	static const int ids[3] = { VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
				    VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
				    VIR_DOMAIN_EVENT_ID_LIFECYCLE };
	virConnectDomainEventGenericCallback cbs[3] = {
		VIR_DOMAIN_EVENT_CALLBACK(on_iteration),
		VIR_DOMAIN_EVENT_CALLBACK(on_job_completed),
		VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
	};

	for (int i = 0; i < 3; i++) {
		int err = virt_domain_event_register(conn, NULL, ids[i], cbs[i], NULL, NULL,
						     &ev.ids[i]);

		if (err) {
			log_err("%s; migrations would not be recorded: dropping the connection",
				virt_last_error());
			ev.ids[i] = -1;
			mig_teardown_events(conn, arg);
			return err;
		}
	}
	return 0;
}

void mig_on_conn_state(struct vconn *vc, bool up, void *arg)
{
	if (!up)
		log_warn("migration records: libvirt connection to '%s' down (%s); "
			 "migrations meanwhile are not seen",
			 mig_st.uri, vconn_last_error(vc));
}
