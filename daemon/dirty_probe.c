// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_probe: libvirt page-sampling probes of the VMs' dirty pages.  See
 * dirty.h and the design note of dirty.c.
 *
 * A probe is two short vconn jobs with a loop timer between them, so no
 * worker ever sleeps through a window:
 *   1. start (worker): look the domain up; if it has a job (a migration,
 *      whoever runs it) give up with -EBUSY, since libvirt would hold our
 *      call until it gives up waiting for the job lock; then
 *      virDomainStartDirtyRateCalc(seconds, PAGE_SAMPLING), which returns
 *      at once while QEMU measures in its own thread;
 *   2. after the window (+ a margin), stats (worker):
 *      virDomainListGetStats(VIR_DOMAIN_STATS_DIRTYRATE) until calc_status
 *      says measured, then the point (W = MiB/s x calc_period).
 * Windows cycle 1, 2, 4, 8 s, one per probe: libvirt takes whole seconds
 * and QEMU refuses less than MIN_FETCH_DIRTYRATE_TIME_SEC = 1.
 *
 * Why page-sampling only: it hashes guest pages and needs no dirty logging,
 * so it works under TCG and costs the guest nothing; dirty-bitmap mode reads
 * 0 under TCG (QEMU 7.2 even crashed on it) and dirty-ring mode is refused
 * without KVM's dirty ring.  Whether it works is learnt from the first
 * probe, logged, and shown (host show: dirty.page_sampling).
 *
 * Its own connection to the local libvirt: a probe's jobs must not queue
 * behind (or ahead of) the inventory's on one serial queue.
 *
 * Schedule: every DIRTY_SCHED_MS, with the store's VMs: at most
 * dirty_probe_budget probes at once, a VM at most once per
 * dirty_probe_interval_ms (counted from the start of its last probe, and
 * never before that probe ended), never while it migrates; the VM waiting
 * longest goes first.  A VM found busy is tried again after
 * DIRTY_BUSY_RETRY_MS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dirty_int.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

#define DIRTY_SCHED_MS 250
/* QEMU's thread ends a little after the period: look then */
#define DIRTY_STATS_MARGIN_MS 300
#define DIRTY_STATS_RETRY_MS 250
#define DIRTY_STATS_TRIES 20
#define DIRTY_BUSY_RETRY_MS 2000
/* the monitor probe's windows are short: look sooner, and more often */
#define DIRTY_QMP_MARGIN_MS 100
#define DIRTY_QMP_RETRY_MS 100
#define DIRTY_CMD_BYTES 256

enum job_kind {
	JOB_START,
	JOB_STATS,
};

struct job {
	uint64_t gen;
	enum job_kind kind;
	char uuid[VM_UUID_BYTES];
	bool qmp; /* through QEMU's monitor (dirty_probe_qmp) */
	uint32_t window_ms, sample_pages_per_gib;
	int busy;    /* the domain had a job, or a calculation ran */
	int refused; /* qmp: QEMU or libvirt refused the command */
	struct dirty_qmp_rate rate;
	char err[DIRTY_ERR_BYTES]; /* why, when it is not libvirt's error */
};

static uint64_t scaled(uint64_t ms)
{
	return ms / (ds.time_scale ? ds.time_scale : 1);
}

static int64_t realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* ---- jobs (worker) ------------------------------------------------------------ */

/* libvirt's API figure as the monitor's would be */
static int libvirt_stats(virDomainPtr dom, struct dirty_qmp_rate *out)
{
	struct virt_dirty_rate r;
	int err = virt_domain_get_dirty_rate(dom, &r);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	out->status = r.calc_status == VIR_DOMAIN_DIRTYRATE_MEASURED  ? DIRTY_QMP_MEASURED :
		      r.calc_status == VIR_DOMAIN_DIRTYRATE_MEASURING ? DIRTY_QMP_MEASURING :
									DIRTY_QMP_UNSTARTED;
	out->start_time_s = r.calc_start_time_s;
	out->calc_ms = r.calc_period_s > 0 ? (uint32_t)r.calc_period_s * 1000 : 0;
	out->sample_pages_per_gib = DIRTY_SAMPLE_PAGES_PER_GIB;
	out->has_rate = r.has_rate;
	out->mib_per_s = r.mib_per_s;
	snprintf(out->mode, sizeof(out->mode), "%s", r.calc_mode);
	return 0;
}

/* a refusal of the monitor (not a lost connection, not a gone domain) */
static bool is_refusal(int err)
{
	return err == -EOPNOTSUPP || err == -EACCES || err == -EINVAL || err == -EPROTO ||
	       err == -EBADMSG;
}

static int qmp_run(virDomainPtr dom, struct job *j)
{
	char cmd[DIRTY_CMD_BYTES], *reply = NULL;
	int err;

	if (j->kind == JOB_STATS) {
		err = virt_domain_qemu_monitor_command(dom, "query-dirty-rate", dirty_qmp_query_cmd,
						       &reply);
		if (!err)
			err = dirty_qmp_parse_query(reply, &j->rate, j->err, sizeof(j->err));
	} else {
		err = dirty_qmp_calc_cmd(cmd, sizeof(cmd), j->window_ms, j->sample_pages_per_gib);
		if (!err)
			err = virt_domain_qemu_monitor_command(dom, "calc-dirty-rate", cmd, &reply);
		if (!err)
			err = dirty_qmp_parse_calc(reply, j->err, sizeof(j->err));
		if (err == -EBUSY)
			j->busy = 1;
	}
	if (is_refusal(err))
		j->refused = 1;
	free(reply);
	return err;
}

static int job_run(virConnectPtr conn, void *arg)
{
	struct job *j = arg;
	virDomainPtr dom = NULL;
	virTypedParameterPtr params = NULL;
	int err, type = VIR_DOMAIN_JOB_NONE, n_params = 0;

	err = virt_domain_lookup_by_uuid_string(conn, j->uuid, &dom);
	if (err)
		return err;
	if (j->kind == JOB_STATS) {
		err = j->qmp ? qmp_run(dom, j) : libvirt_stats(dom, &j->rate);
		goto cleanup;
	}
	/* a query job: libvirt answers it during a migration */
	err = virt_domain_get_job_stats(dom, &type, &params, &n_params, 0);
	virTypedParamsFree(params, n_params);
	if (!err && type != VIR_DOMAIN_JOB_NONE) {
		j->busy = 1;
		err = -EBUSY;
		goto cleanup;
	}
	if (j->qmp) {
		err = qmp_run(dom, j);
		goto cleanup;
	}
	err = virt_domain_start_dirty_rate_calc(dom, (int)(j->window_ms / 1000),
						VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING);
	if (err == -EBUSY)
		j->busy = 1;
cleanup:
	virt_domain_free(dom);
	return err;
}

static void job_done(int result, const char *err, void *arg);

static const struct vconn_call job_call = {
	.what = "dirty-rate probe",
	.run = job_run,
	.done = job_done,
	.release = free,
};

static int submit(struct dirty_vm *v, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->gen = ds.gen;
	j->kind = kind;
	j->qmp = v->probe_qmp;
	j->window_ms = v->probe_window_ms;
	j->sample_pages_per_gib = ds.qmp_sample_pages;
	snprintf(j->uuid, sizeof(j->uuid), "%s", v->uuid);
	err = vconn_call(ds.vc, &job_call, j);
	if (err)
		free(j);
	return err;
}

/* ---- a probe's life (loop) ----------------------------------------------------- */

static void probe_end(struct dirty_vm *v, uint64_t next_in_ms)
{
	uint64_t now = loop_now_ms(), next = v->probe_start_ms + scaled(ds.interval_ms);

	if (v->probing && ds.probing)
		ds.probing--;
	v->probing = false;
	v->stat_tries = 0;
	if (next < now + next_in_ms)
		next = now + next_in_ms;
	v->next_probe_ms = next;
}

static void probe_failed(struct dirty_vm *v, const char *why)
{
	v->probes_failed++;
	ds.probes_failed++;
	if (!ds.sampling_failing && !ds.sampling_worked)
		log_warn("dirty: page-sampling probe of VM '%s' failed: %s; trying again later",
			 v->name, why);
	else if (strcmp(v->last_error, why) != 0)
		log_info("dirty: page-sampling probe of VM '%s' failed: %s", v->name, why);
	ds.sampling_failing = true;
	snprintf(v->last_error, sizeof(v->last_error), "%s", why);
	probe_end(v, 0);
}

static void on_wait(void *arg)
{
	struct dirty_vm *v = arg;
	int err;

	v->timer_id = 0;
	err = submit(v, JOB_STATS);
	if (err)
		probe_failed(v, err == -ENOTCONN ? "libvirt connection lost" : strerror(-err));
}

static void wait_then_stats(struct dirty_vm *v, uint64_t ms)
{
	int err = loop_add_timer(ms, 0, on_wait, v, &v->timer_id);

	if (err) {
		v->timer_id = 0;
		probe_failed(v, "cannot arm a timer");
	}
}

static void stats_done(struct dirty_vm *v, const struct dirty_qmp_rate *r)
{
	uint32_t idx = v->win_idx;
	uint64_t pages;
	char why[DIRTY_ERR_BYTES];

	/* still ours to come, or an older calculation's figure (another
	 * window's: shorter than ours; or from before our start) */
	if (r->status == DIRTY_QMP_MEASURING || (v->probe_qmp && r->status == DIRTY_QMP_UNSTARTED) ||
	    (r->status == DIRTY_QMP_MEASURED && (r->start_time_s + 1 < v->probe_start_real_s ||
						 (v->probe_qmp && r->calc_ms < v->probe_window_ms)))) {
		if (++v->stat_tries < DIRTY_STATS_TRIES) {
			wait_then_stats(v, scaled(v->probe_qmp ? DIRTY_QMP_RETRY_MS :
								 DIRTY_STATS_RETRY_MS));
			return;
		}
		snprintf(why, sizeof(why), "no figure %d tries after the %u ms window",
			 DIRTY_STATS_TRIES, v->probe_window_ms);
		probe_failed(v, why);
		return;
	}
	if (r->status != DIRTY_QMP_MEASURED || !r->has_rate || !r->calc_ms) {
		snprintf(why, sizeof(why), "%s gives no dirty rate (status %d, calc-time %u ms)",
			 v->probe_qmp ? "QEMU" : "libvirt", (int)r->status, r->calc_ms);
		probe_failed(v, why);
		return;
	}
	/* the period QEMU measured, not the one asked */
	pages = dirty_unround_pages(r->mib_per_s, r->calc_ms, r->sample_pages_per_gib,
				    v->memory_bytes);
	dirty_vm_reading(v, idx, r->calc_ms, pages, r->sample_pages_per_gib, util_monotonic_ns());
	log_debug("dirty: VM '%s': W(%u ms) = %llu pages (%lld MiB/s x %u ms, %u samples per GiB, "
		  "asked %u ms, %s)",
		  v->name, r->calc_ms, (unsigned long long)pages, r->mib_per_s, r->calc_ms,
		  r->sample_pages_per_gib, v->probe_window_ms, v->probe_qmp ? "QMP" : "libvirt");
	if (!ds.sampling_worked)
		log_notice("dirty: page-sampling works on this host: first figure from VM '%s', "
			   "W(%u ms) = %llu pages",
			   v->name, r->calc_ms, (unsigned long long)pages);
	if (v->probe_qmp && !ds.qmp_worked)
		log_notice("dirty: the QMP probe works: VM '%s', W(%u ms) with %u samples per GiB",
			   v->name, r->calc_ms, r->sample_pages_per_gib);
	ds.qmp_worked |= v->probe_qmp;
	ds.sampling_worked = true;
	ds.sampling_failing = false;
	v->last_error[0] = '\0';
	v->probes_ok++;
	ds.probes_ok++;
	v->win_idx = (idx + 1) % dirty_n_windows(v->win_qmp);
	probe_end(v, 0);
}

/* QEMU (or libvirt) will not run the monitor probe: libvirt's API from now */
static void qmp_refused(struct dirty_vm *v, const char *why)
{
	if (!ds.qmp_refused)
		log_warn("dirty: the QMP probe (dirty_probe_qmp) does not work on VM '%s': %s; "
			 "back to libvirt's page-sampling API (windows of whole seconds, %u "
			 "samples per GiB)",
			 v->name, why, DIRTY_SAMPLE_PAGES_PER_GIB);
	ds.qmp_refused = true;
	probe_end(v, 0);
}

static void job_done(int result, const char *err, void *arg)
{
	struct job *j = arg;
	struct dirty_vm *v;

	if (!ds.inited || j->gen != ds.gen)
		return;
	v = dirty_vm_find(j->uuid);
	if (!v || !v->probing)
		return;
	if (j->busy) {
		/* a migration holds the domain: not an error, later */
		log_debug("dirty: VM '%s' has a job running (a migration?); probe in %u ms",
			  v->name, DIRTY_BUSY_RETRY_MS);
		v->probes_busy++;
		ds.probes_busy++;
		probe_end(v, scaled(DIRTY_BUSY_RETRY_MS));
		return;
	}
	if (j->err[0])
		err = j->err;
	if (result && j->refused) {
		qmp_refused(v, err && *err ? err : strerror(-result));
		return;
	}
	if (result) {
		probe_failed(v, err && *err ? err : strerror(-result));
		return;
	}
	if (j->kind == JOB_START)
		wait_then_stats(v, scaled(v->probe_window_ms +
					  (j->qmp ? DIRTY_QMP_MARGIN_MS : DIRTY_STATS_MARGIN_MS)));
	else
		stats_done(v, &j->rate);
}

static void probe_start(struct dirty_vm *v)
{
	int err;

	bool qmp = dirty_use_qmp();

	/* the other probe's windows: its readings are of other windows */
	if (v->win_qmp != qmp) {
		memset(v->win, 0, sizeof(v->win));
		v->win_qmp = qmp;
		v->win_idx = 0;
	}
	if (qmp && !ds.qmp_worked && !ds.probes_started)
		log_notice("dirty: QMP probe on (dirty_probe_qmp): libvirt marks every probed "
			   "domain tainted (custom-monitor)");
	v->probing = true;
	ds.probing++;
	v->probe_qmp = qmp;
	v->probe_window_ms = dirty_window_ms(qmp, v->win_idx);
	v->probe_start_ms = loop_now_ms();
	v->probe_start_real_s = realtime_s();
	v->stat_tries = 0;
	ds.probes_started++;
	err = submit(v, JOB_START);
	if (err)
		probe_failed(v, err == -ENOTCONN ? "libvirt connection down" : strerror(-err));
}

/* ---- the schedule ----------------------------------------------------------------- */

static void refresh_conf(void)
{
	const struct tide_conf *c = conf_get();

	if (!c)
		return;
	ds.enabled = c->dirty_probe;
	ds.interval_ms = c->dirty_probe_interval_ms;
	ds.budget = c->dirty_probe_budget;
	/* on again after a reload: try the monitor afresh */
	if (c->dirty_probe_qmp && !ds.qmp_wanted)
		ds.qmp_refused = false;
	ds.qmp_wanted = c->dirty_probe_qmp;
	ds.qmp_sample_pages = c->dirty_probe_sample_pages;
}

static void on_sched(void *arg)
{
	uint64_t now = loop_now_ms();

	refresh_conf();
	dirty_vm_sync();
	if (!ds.enabled || !vconn_connected(ds.vc))
		return;
	while (ds.probing < ds.budget) {
		struct dirty_vm *best = NULL;

		for (uint32_t i = 0; i < ds.n_vms; i++) {
			struct dirty_vm *v = ds.vms[i];

			if (v->probing || v->migrating || v->next_probe_ms > now)
				continue;
			if (!best || v->next_probe_ms < best->next_probe_ms)
				best = v;
		}
		if (!best)
			break;
		probe_start(best);
	}
}

void dirty_probe_forget(struct dirty_vm *v)
{
	if (v->timer_id > 0)
		loop_remove_timer(v->timer_id);
	v->timer_id = 0;
}

int dirty_probe_init(const char *uri)
{
	struct vconn_opts o = {
		.uri = uri,
		.call_timeout_ms = conf_get() ? conf_get()->libvirt_call_timeout_ms : 0,
		.reconnect_max_ms = conf_get() ? conf_get()->libvirt_reconnect_max_ms : 0,
	};
	int err;

	refresh_conf();
	err = vconn_open(&o, &ds.vc);
	if (err) {
		log_err("dirty: cannot set up the libvirt connection to '%s': %s", uri,
			strerror(-err));
		return err;
	}
	err = loop_add_periodic(DIRTY_SCHED_MS, 0, on_sched, NULL, &ds.sched_timer);
	if (err) {
		log_err("dirty: cannot arm the probe schedule: %s", strerror(-err));
		vconn_close(ds.vc);
		ds.vc = NULL;
		return err;
	}
	if (ds.enabled && ds.qmp_wanted)
		log_info("dirty: sources: page-sampling probes through QEMU's monitor on '%s' "
			 "(dirty_probe_qmp: windows 0.1 to 8 s, %u samples per GiB; libvirt's API "
			 "if QEMU refuses them; at most %u VMs at once, each at most every %u ms) "
			 "and the rounds of migrations",
			 uri, ds.qmp_sample_pages, ds.budget, ds.interval_ms);
	else if (ds.enabled)
		log_info("dirty: sources: libvirt page-sampling probes on '%s' (windows 1, 2, 4, 8 s; "
			 "at most %u VMs at once, each at most every %u ms) and the rounds of "
			 "migrations; dirty-bitmap and dirty-ring modes not used (under TCG they "
			 "read 0 or are refused)",
			 uri, ds.budget, ds.interval_ms);
	else
		log_info("dirty: probes off (dirty_probe = false): only migrations' figures");
	return 0;
}

void dirty_probe_fini(void)
{
	if (ds.sched_timer > 0)
		loop_remove_timer(ds.sched_timer);
	ds.sched_timer = 0;
	for (uint32_t i = 0; i < ds.n_vms; i++)
		dirty_probe_forget(ds.vms[i]);
	/* jobs still queued complete later and see a new generation */
	if (ds.vc)
		vconn_close(ds.vc);
	ds.vc = NULL;
}
