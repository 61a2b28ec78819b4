// SPDX-License-Identifier: GPL-2.0
/*
 * ctrl_snap: the planner's snapshot, from what tided knows now.
 *
 *   this host   capacity from the store (host_cpus, else the online CPUs;
 *               host_memory_mib, else MemTotal), its VMs' CPUs (on-CPU
 *               time plus run-queue wait, over the last tick), memory in
 *               use (its VMs' <memory> when host_memory_mib is set, for
 *               hosts that share a machine; else MemTotal - MemAvailable),
 *               network (its VMs' rx + tx over link_bandwidth_mib_s);
 *   its VMs     the same per VM, their policy (pinned, max downtime,
 *               priority), whether a migration of them runs, and from the
 *               migration records when they last arrived, left or tried
 *               to (the cooldown: a refused or aborted attempt must not be
 *               retried every tick) and where they came from;
 *   the peers   peer_state_get(): reachable, the age of their figures,
 *               capacity, free memory, their domains' CPUs;
 *   in flight   every running migration record, ours both ways;
 *   predictions predict_vm() of every VM to every peer, with the downtime
 *               limit plan_downtime_limit_ms() gives it and auto-converge
 *               off, so that the remedies are the planner's to choose.
 * Times are on loop_now_ms()'s clock; a record's wall-clock end is moved
 * onto it by its age.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctrl_int.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "mig_record.h"
#include "peer.h"
#include "predict.h"
#include "store.h"
#include "util.h"

int ctrl_opts_from_conf(struct plan_opts *o)
{
	const struct tide_conf *c = conf_get();
	char err[256];

	plan_opts_default(o);
	if (!c)
		return 0;
	o->high = c->plan_high;
	o->low = c->plan_low;
	o->hold_up_ms = c->plan_hold_up_ms;
	o->hold_down_ms = c->plan_hold_down_ms;
	o->ewma_ms = c->plan_ewma_ms;
	o->cooldown_ms = c->plan_cooldown_ms;
	o->no_return_ms = c->plan_no_return_ms;
	o->max_outgoing = c->plan_max_outgoing;
	o->max_incoming = c->plan_max_incoming;
	o->max_peer_age_ms = c->plan_max_peer_age_ms;
	o->default_downtime_limit_ms = c->migration_downtime_limit_ms;
	o->consolidate = c->plan_consolidate;
	if (plan_opts_check(o, err, sizeof(err))) {
		log_err("%s: the planner's options do not hold together: %s", conf_file(), err);
		return -EINVAL;
	}
	return 0;
}

static double rate_of(const struct store_vm *vm, enum series s)
{
	struct store_rate r = { 0 };

	return store_rate(vm, s, 0, &r) ? 0 : r.per_s;
}

static double host_rate(enum series s)
{
	struct store_rate r = { 0 };

	return store_host_rate(s, 0, &r) ? 0 : r.per_s;
}

static void self_host(struct plan_host *h, bool draining, uint64_t vms_memory_bytes)
{
	const struct tide_conf *c = conf_get();
	struct store_host_load l;
	uint64_t mem = 0, avail = 0;
	double link = c ? (double)((uint64_t)c->link_bandwidth_mib_s << 20) : 0;

	memset(h, 0, sizeof(*h));
	if (gethostname(h->name, sizeof(h->name)) || !h->name[0])
		snprintf(h->name, sizeof(h->name), "localhost");
	h->name[sizeof(h->name) - 1] = '\0';
	h->reachable = true;
	store_host_load(0, &l);
	h->cpus = l.cpus ? l.cpus : 1;
	if (store_host_value(SERIES_HOST_MEMORY_BYTES, &mem))
		mem = 0;
	if (store_host_value(SERIES_HOST_MEMORY_AVAILABLE_BYTES, &avail))
		avail = 0;
	if (c && c->host_memory_mib) {
		h->memory_bytes = (uint64_t)c->host_memory_mib << 20;
		h->free_memory_bytes = h->memory_bytes > vms_memory_bytes ?
					       h->memory_bytes - vms_memory_bytes :
					       0;
	} else {
		h->memory_bytes = mem;
		h->free_memory_bytes = avail;
	}
	h->cpu_used = (host_rate(SERIES_HOST_VM_CPU_NS) + host_rate(SERIES_HOST_VM_WAIT_NS)) / 1e9;
	if (link > 0)
		h->net_ratio = (host_rate(SERIES_HOST_VM_RX_BYTES) +
				host_rate(SERIES_HOST_VM_TX_BYTES)) /
			       link;
	h->draining = draining;
}

static void peer_hosts(struct ctrl_snap *snap)
{
	for (size_t i = 0; i < peer_count() && snap->s.n_hosts < PLAN_MAX_HOSTS; i++) {
		struct plan_host *h = &snap->hosts[snap->s.n_hosts];
		struct peer_state ps;

		if (peer_state_get(i, &ps))
			continue;
		memset(h, 0, sizeof(*h));
		snprintf(h->name, sizeof(h->name), "%s", ps.name);
		h->reachable = ps.connected && !ps.failing && ps.answered;
		h->age_ms = ps.age_ms;
		/* no CPU figure yet: "no figures" rather than an idle host */
		h->cpus = ps.answered && ps.load_known ? ps.cpus : 0;
		h->memory_bytes = ps.memory_bytes;
		h->free_memory_bytes = ps.free_memory_bytes;
		h->cpu_used = ps.cpu_used;
		snap->s.n_hosts++;
	}
}

static uint32_t host_index(const struct ctrl_snap *snap, const char *name)
{
	for (uint32_t i = 1; i < snap->s.n_hosts; i++)
		if (!strcmp(snap->hosts[i].name, name))
			return i;
	return PLAN_NONE;
}

/* A record's wall-clock time on the loop's clock (0: never or in the future). */
static uint64_t on_loop_clock(uint64_t realtime_ms, uint64_t now_real_ms, uint64_t now_ms)
{
	uint64_t age_ms;

	if (!realtime_ms || realtime_ms > now_real_ms)
		return realtime_ms ? now_ms : 0;
	age_ms = now_real_ms - realtime_ms;
	return age_ms < now_ms ? now_ms - age_ms : 1;
}

/* From the records: the VM's last move or attempt, where it came from; the
 * migrations in flight. */
static void from_records(struct ctrl_snap *snap)
{
	const struct mig_history *h = mig_records();
	uint64_t now_real_ms = util_clock_ns(CLOCK_REALTIME) / 1000000;
	uint32_t n_in = 0;

	for (size_t k = 0; k < h->n; k++) {
		const struct mig_record *r = h->recs[k];

		if (r->result == MIG_RUNNING && n_in < ARRAY_SIZE(snap->inflight)) {
			uint32_t peer = host_index(snap, r->peer);

			if (peer != PLAN_NONE || r->dir == MIG_DIR_OUT) {
				struct plan_inflight *f = &snap->inflight[n_in++];

				snprintf(f->vm_uuid, sizeof(f->vm_uuid), "%s", r->uuid);
				f->src = r->dir == MIG_DIR_OUT ? 0 : peer;
				f->dst = r->dir == MIG_DIR_OUT ? peer : 0;
				/* a destination not among the peers: still ours going out */
				if (f->dst == PLAN_NONE)
					n_in--;
			}
		}
		for (uint32_t i = 0; i < snap->s.n_vms; i++) {
			struct plan_vm *v = &snap->vms[i];
			uint64_t at;

			if (strcasecmp(v->uuid, r->uuid) != 0)
				continue;
			at = on_loop_clock(r->end_realtime_ms ? r->end_realtime_ms :
								r->start_realtime_ms,
					   now_real_ms, snap->s.now_ms);
			/* records are oldest first: the last one seen is the newest */
			v->last_moved_ms = at;
			if (r->dir == MIG_DIR_IN && r->result == MIG_COMPLETED &&
			    strcmp(r->peer, MIG_UNKNOWN_HOST) != 0)
				snprintf(v->came_from, sizeof(v->came_from), "%.*s",
					 (int)sizeof(v->came_from) - 1, r->peer);
		}
	}
	snap->s.inflight = snap->inflight;
	snap->s.n_inflight = n_in;
}

static int grow(struct ctrl_snap *snap, uint32_t n_vms, uint32_t n_hosts)
{
	uint32_t n_pred = n_vms * n_hosts;

	if (n_vms > snap->cap_vms) {
		struct plan_vm *v = realloc(snap->vms, n_vms * sizeof(*v));

		if (!v)
			return -ENOMEM;
		snap->vms = v;
		snap->cap_vms = n_vms;
	}
	if (n_pred > snap->cap_pred) {
		struct model_result *p = realloc(snap->pred, n_pred * sizeof(*p));
		bool *ok;

		if (!p)
			return -ENOMEM;
		snap->pred = p;
		ok = realloc(snap->pred_ok, n_pred * sizeof(*ok));
		if (!ok)
			return -ENOMEM;
		snap->pred_ok = ok;
		snap->cap_pred = n_pred;
	}
	return 0;
}

static void predict_all(struct ctrl_snap *snap, const struct plan_opts *o)
{
	uint32_t nh = snap->s.n_hosts;
	struct predict_out *out = calloc(1, sizeof(*out));

	if (!out)
		return;
	for (uint32_t j = 1; j < nh; j++) {
		struct model_calib cal;

		predict_load_calib(snap->hosts[j].name, &cal);
		for (uint32_t i = 0; i < snap->s.n_vms; i++) {
			struct plan_vm *v = &snap->vms[i];
			struct predict_req req = {
				.vm = v->uuid,
				.dest = snap->hosts[j].name,
				.downtime_limit_ms = plan_downtime_limit_ms(v, o),
				.calib = &cal,
			};
			char err[256];

			if (predict_vm(&req, out, err, sizeof(err))) {
				log_debug("no prediction of VM '%s' to '%s': %s", v->name,
					  snap->hosts[j].name, err);
				continue;
			}
			snap->pred[i * nh + j] = out->res;
			snap->pred_ok[i * nh + j] = true;
		}
	}
	free(out);
}

int ctrl_snap_build(struct ctrl_snap *snap, const struct plan_opts *o, bool predict, bool draining)
{
	const struct store_vm *sv = NULL;
	uint64_t vms_memory = 0;
	uint32_t n_vms = store_vm_count(), nh;
	int err;

	if (n_vms > PLAN_MAX_VMS)
		return -E2BIG;
	snap->s.now_ms = loop_now_ms();
	snap->s.hosts = snap->hosts;
	snap->s.n_hosts = 1;
	peer_hosts(snap);
	nh = snap->s.n_hosts;
	err = grow(snap, n_vms ? n_vms : 1, nh);
	if (err)
		return err;
	snap->s.n_vms = 0;
	while ((sv = store_vm_next(sv)) && snap->s.n_vms < n_vms) {
		const struct vm_desc *d = store_vm_desc(sv);
		struct plan_vm *v = &snap->vms[snap->s.n_vms];
		double link = conf_get() ?
				      (double)((uint64_t)conf_get()->link_bandwidth_mib_s << 20) :
				      0;

		if (d->state && strcmp(d->state, "running") != 0)
			continue; /* only a running VM moves live, and only it loads the host */
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", d->name ? d->name : "");
		snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
		v->cpu_used = (rate_of(sv, SERIES_CPU_NS) + rate_of(sv, SERIES_WAIT_NS)) / 1e9;
		if (link > 0)
			v->net_ratio = (rate_of(sv, SERIES_RX_BYTES) + rate_of(sv, SERIES_TX_BYTES)) /
				       link;
		v->memory_bytes = d->memory_bytes;
		v->vcpus = d->vcpus;
		v->pinned = d->policy.pinned;
		/* the VM's own maximum, else what the driver escalates to: the
		 * planner's downtime remedy never goes past what the driver allows */
		v->max_downtime_ms = d->policy.max_downtime_ms ?
					     d->policy.max_downtime_ms :
					     (conf_get() ? conf_get()->migration_max_downtime_ms : 0);
		v->priority = d->policy.priority;
		v->migrating = mig_running(d->uuid);
		v->pred = snap->pred + (size_t)snap->s.n_vms * nh;
		v->pred_ok = snap->pred_ok + (size_t)snap->s.n_vms * nh;
		memset(snap->pred_ok + (size_t)snap->s.n_vms * nh, 0, nh * sizeof(bool));
		snap->vm_cpus[snap->s.n_vms] = v->cpu_used;
		vms_memory += d->memory_bytes;
		snap->s.n_vms++;
	}
	snap->s.vms = snap->vms;
	self_host(&snap->hosts[0], draining, vms_memory);
	from_records(snap);
	if (predict)
		predict_all(snap, o);
	return 0;
}

void ctrl_snap_free(struct ctrl_snap *snap)
{
	free(snap->vms);
	free(snap->pred);
	free(snap->pred_ok);
	memset(snap, 0, sizeof(*snap));
}
