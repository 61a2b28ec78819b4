// SPDX-License-Identifier: GPL-2.0
/*
 * inv: the VM inventory from libvirt.  See inv.h.  The XML and /proc
 * readers it runs on the worker are in inv_parse.c.
 *
 * Flow.  A lifecycle event only queues the domain's uuid; a zero-delay
 * timer then reconciles each queued domain with what libvirt says now
 * (active or not, its live XML, its state), which makes the order and
 * number of events irrelevant: a start followed by a stop before we look
 * is a domain that is not active, nothing more.  The same reconcile runs
 * for every domain after (re)connecting, and drops the tracked VMs that
 * libvirt no longer lists.
 *
 * libvirt calls (list, lookup, XML, state) run as vconn jobs on a worker,
 * in order on the one connection: a job reads what the domain is now and
 * parses it there (with the pid and vCPU threads from /proc), and its
 * completion applies that to the inventory on the loop.  vconn owns the
 * connection (reconnect with backoff, the close callback); inv registers
 * for events on each new connection (setup) and reads the whole list again
 * when it is up.  Events themselves arrive on the loop, through virt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collect.h"
#include "inv.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

#define INV_RECONNECT_MAX_MS_DEFAULT 30000
/* a domain list that failed on a live connection is asked again after */
#define INV_RESYNC_MS 1000
/* an incomplete VM is scanned again after rescan_ms, doubling up to this */
#define INV_RESCAN_MAX_MS 10000
#define INV_ERR_BYTES 256

struct inv_vm {
	char uuid[VM_UUID_BYTES];
	uint32_t slot;
	bool complete; /* pid and every vCPU thread found */
	uint64_t rescan_at_ms;
	uint32_t rescan_delay_ms;
	bool seen;	     /* mark for the full reconcile */
	struct vm_desc desc; /* as given to collect */
};

static struct {
	bool inited;
	char *uri;
	char *run_dir;
	char *proc_root;
	uint32_t rescan_ms;
	uint32_t reconnect_max_ms;
	uint64_t gen; /* a job of an older inv_init() is stale */
	struct vconn *vc;
	bool connected; /* and the VM list read since */
	bool synced_once;
	int pending_timer;
	int resync_timer;
	int rescan_timer;
	uint64_t rescan_timer_at_ms;
	struct inv_vm *vms;
	size_t n_vms, cap_vms;
	char (*pending)[VM_UUID_BYTES];
	size_t n_pending, cap_pending;
} is;

/*
 * The event registrations of the connection: touched only by its jobs on
 * the worker (setup, teardown), never cleared by inv_fini(), whose close
 * job may run after it.
 */
static struct {
	int lifecycle_id;  /* -1: none */
	int device_ids[2]; /* device added, removed; -1: none */
} ev = { .lifecycle_id = -1, .device_ids = { -1, -1 } };

/* ---- tracked VMs -------------------------------------------------------- */

static struct inv_vm *vm_by_uuid(const char *uuid)
{
	for (size_t i = 0; i < is.n_vms; i++)
		if (strcasecmp(is.vms[i].uuid, uuid) == 0)
			return &is.vms[i];
	return NULL;
}

static void vm_drop(struct inv_vm *v, const char *why)
{
	log_info("VM '%s' (%s) dropped: %s", v->desc.name ? v->desc.name : "?", v->uuid, why);
	collect_vm_remove(v->slot);
	vm_desc_clear(&v->desc);
	*v = is.vms[--is.n_vms];
}

static bool desc_complete(const struct vm_desc *d)
{
	if (d->pid <= 0)
		return false;
	if (d->n_threads == 1 && d->threads[0].vcpu == VM_VCPU_ALL)
		return true;
	return d->n_threads >= d->vcpus;
}

/* Fill the pid and vCPU threads of d from the run dir and /proc. */
static void find_process(struct vm_desc *d)
{
	free(d->threads);
	d->threads = NULL;
	d->n_threads = 0;
	d->pid = inv_find_qemu_pid(is.run_dir, is.proc_root, d->name, d->uuid);
	if (d->pid > 0 && inv_scan_vcpus(is.proc_root, d->pid, &d->threads, &d->n_threads))
		d->n_threads = 0;
}

static bool same_threads(const struct vm_desc *a, const struct vm_desc *b)
{
	if (a->pid != b->pid || a->n_threads != b->n_threads)
		return false;
	for (uint32_t i = 0; i < a->n_threads; i++)
		if (a->threads[i].tid != b->threads[i].tid || a->threads[i].vcpu != b->threads[i].vcpu)
			return false;
	return true;
}

static void arm_rescan(void);

static void schedule_rescan(struct inv_vm *v, bool first)
{
	if (v->complete)
		return;
	v->rescan_delay_ms = first ? is.rescan_ms : v->rescan_delay_ms * 2;
	if (v->rescan_delay_ms > INV_RESCAN_MAX_MS)
		v->rescan_delay_ms = INV_RESCAN_MAX_MS;
	if (!v->rescan_delay_ms)
		v->rescan_delay_ms = 1;
	v->rescan_at_ms = loop_now_ms() + v->rescan_delay_ms;
	arm_rescan();
}

/* Track d (new) or update the VM with its uuid; d is consumed. */
static void vm_apply(struct vm_desc *d)
{
	struct inv_vm *v = vm_by_uuid(d->uuid);
	uint32_t slot;
	int err;

	if (!v) {
		if (is.n_vms == is.cap_vms) {
			size_t cap = is.cap_vms ? is.cap_vms * 2 : 16;
			struct inv_vm *p = realloc(is.vms, cap * sizeof(*p));

			if (!p) {
				log_err("VM '%s': out of memory", d->name);
				vm_desc_clear(d);
				return;
			}
			is.vms = p;
			is.cap_vms = cap;
		}
		err = collect_vm_add(d, &slot);
		if (err) {
			log_warn("VM '%s' (%s) cannot be tracked: %s", d->name, d->uuid,
				 err == -ENOSPC ? "max_vms VMs are tracked already" : strerror(-err));
			vm_desc_clear(d);
			return;
		}
		v = &is.vms[is.n_vms++];
		memset(v, 0, sizeof(*v));
		snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
		v->slot = slot;
		v->desc = *d;
		v->complete = desc_complete(d);
		log_info("VM '%s' (%s) tracked: slot %u, %s, QEMU pid %d, %u of %u vCPU threads, "
			 "%u tap%s, %llu MiB",
			 d->name, d->uuid, slot, d->state ? d->state : "running", (int)d->pid,
			 d->n_threads, d->vcpus, d->n_taps, d->n_taps == 1 ? "" : "s",
			 (unsigned long long)(d->memory_bytes >> 20));
		schedule_rescan(v, true);
		return;
	}
	if (d->pid != v->desc.pid || !same_threads(d, &v->desc) || d->n_taps != v->desc.n_taps)
		log_info("VM '%s' (%s): QEMU pid %d, %u of %u vCPU threads, %u tap%s", d->name,
			 d->uuid, (int)d->pid, d->n_threads, d->vcpus, d->n_taps,
			 d->n_taps == 1 ? "" : "s");
	err = collect_vm_update(v->slot, d);
	if (err) {
		log_warn("VM '%s': cannot update its tracking: %s", d->name, strerror(-err));
		vm_desc_clear(d);
		return;
	}
	vm_desc_clear(&v->desc);
	v->desc = *d;
	v->complete = desc_complete(d);
	schedule_rescan(v, true);
}

static const char *state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return "running";
	case VIR_DOMAIN_BLOCKED:
		return "blocked";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTDOWN:
		return "shutdown";
	case VIR_DOMAIN_SHUTOFF:
		return "shutoff";
	case VIR_DOMAIN_CRASHED:
		return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:
		return "pmsuspended";
	default:
		return "unknown";
	}
}

/* What is the domain now?  Track, update or drop it accordingly. */
/*
 * What a domain is now, read on a worker: track it (d), drop it (why), or
 * leave it as it is (err says why).
 */
enum fetch_kind {
	FETCH_TRACK,
	FETCH_DROP,
	FETCH_ERROR,
};

struct fetch {
	char uuid[VM_UUID_BYTES];
	enum fetch_kind kind;
	const char *why;	   /* FETCH_DROP: a static string */
	char err[VCONN_ERR_BYTES]; /* FETCH_ERROR */
	struct vm_desc d;	   /* FETCH_TRACK */
};

static void fetch_error(struct fetch *f, const char *msg)
{
	f->kind = FETCH_ERROR;
	snprintf(f->err, sizeof(f->err), "%s", msg);
}

/* Worker.  Reads only what inv_init() set up (run_dir, proc_root). */
static void fetch_dom(virDomainPtr dom, const char *uuid, struct fetch *f)
{
	struct vm_desc d = { 0 };
	char err[INV_ERR_BYTES];
	int active, state = 0, reason = 0, ret;
	char *xml = NULL;

	if (uuid != f->uuid)
		snprintf(f->uuid, sizeof(f->uuid), "%s", uuid);
	active = virt_domain_is_active(dom);
	if (active == -ENOENT) {
		active = 0; /* a transient domain that stopped is gone */
	} else if (active < 0) {
		fetch_error(f, virt_last_error());
		return;
	}
	if (!active) {
		f->kind = FETCH_DROP;
		f->why = "not active";
		return;
	}
	ret = virt_domain_get_xml_desc(dom, 0, &xml);
	if (ret == -ENOENT) {
		f->kind = FETCH_DROP;
		f->why = "gone";
		return;
	}
	if (ret) {
		fetch_error(f, virt_last_error());
		return;
	}
	ret = inv_parse_domain_xml(xml, &d, err, sizeof(err));
	free(xml);
	if (ret) {
		f->kind = FETCH_ERROR;
		snprintf(f->err, sizeof(f->err), "domain '%s' (%s): %s; not tracked",
			 virt_domain_get_name(dom), uuid, err);
		return;
	}
	if (virt_domain_get_state(dom, &state, &reason) == 0) {
		const char *s = state_name(state);

		if (state == VIR_DOMAIN_PAUSED &&
		    (reason == VIR_DOMAIN_PAUSED_MIGRATION || reason == VIR_DOMAIN_PAUSED_POSTCOPY))
			s = "migrating";
		if (state == VIR_DOMAIN_SHUTOFF) {
			vm_desc_clear(&d);
			f->kind = FETCH_DROP;
			f->why = "shut off";
			return;
		}
		d.state = strdup(s);
	}
	find_process(&d);
	f->kind = FETCH_TRACK;
	f->d = d;
}

/* Loop: act on what a worker found. */
static void fetch_apply(struct fetch *f)
{
	struct inv_vm *v = vm_by_uuid(f->uuid);

	switch (f->kind) {
	case FETCH_DROP:
		if (v)
			vm_drop(v, f->why);
		break;
	case FETCH_ERROR:
		log_warn("%s", f->err);
		break;
	case FETCH_TRACK:
		vm_apply(&f->d); /* consumes it */
		memset(&f->d, 0, sizeof(f->d));
		break;
	}
}

/* ---- jobs on the connection's worker ------------------------------------- */

/* one domain, after an event */
struct one_job {
	uint64_t gen; /* inv's, when queued: stale after inv_fini */
	struct fetch f;
};

static int one_run(virConnectPtr conn, void *arg)
{
	struct one_job *j = arg;
	virDomainPtr dom = NULL;
	int err;

	err = virt_domain_lookup_by_uuid_string(conn, j->f.uuid, &dom);
	if (err == -ENOENT) {
		j->f.kind = FETCH_DROP;
		j->f.why = "stopped, and no longer defined (transient)";
		return 0;
	}
	if (err)
		return err;
	fetch_dom(dom, j->f.uuid, &j->f);
	virt_domain_free(dom);
	return 0;
}

static void one_done(int result, const char *err, void *arg)
{
	struct one_job *j = arg;

	if (!is.inited || j->gen != is.gen)
		return;
	if (result) {
		log_warn("%s", err);
		return;
	}
	fetch_apply(&j->f);
}

static void one_release(void *arg)
{
	struct one_job *j = arg;

	vm_desc_clear(&j->f.d);
	free(j);
}

static const struct vconn_call one_call = {
	.what = "virDomainLookupByUUIDString",
	.run = one_run,
	.done = one_done,
	.release = one_release,
};

static void reconcile_uuid(const char *uuid)
{
	struct one_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		log_err("out of memory reconciling domain %s", uuid);
		return;
	}
	j->gen = is.gen;
	snprintf(j->f.uuid, sizeof(j->f.uuid), "%s", uuid);
	err = vconn_call(is.vc, &one_call, j);
	if (err) {
		/* not connected: the full reconcile after reconnecting covers it */
		log_debug("domain %s not reconciled now: %s", uuid, strerror(-err));
		free(j);
	}
}

/* every domain, after (re)connecting */
struct sync_job {
	uint64_t gen;
	struct fetch *f;
	size_t n;
};

static int sync_run(virConnectPtr conn, void *arg)
{
	struct sync_job *j = arg;
	virDomainPtr *doms = NULL;
	int n = 0, err;

	err = virt_list_domains(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &doms, &n);
	if (err)
		return err;
	j->f = calloc(n ? (size_t)n : 1, sizeof(*j->f));
	if (!j->f) {
		virt_domains_free(doms, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];

		if (virt_domain_get_uuid_string(doms[i], uuid))
			continue;
		fetch_dom(doms[i], uuid, &j->f[j->n++]);
	}
	virt_domains_free(doms, n);
	return 0;
}

static void resync_later(void);

static void sync_done(int result, const char *err, void *arg)
{
	struct sync_job *j = arg;

	if (!is.inited || j->gen != is.gen)
		return;
	if (result) {
		log_warn("%s; the VM list is tried again in %u ms", err, INV_RESYNC_MS);
		resync_later();
		return;
	}
	for (size_t i = 0; i < is.n_vms; i++)
		is.vms[i].seen = false;
	for (size_t i = 0; i < j->n; i++) {
		struct inv_vm *v;

		fetch_apply(&j->f[i]);
		v = vm_by_uuid(j->f[i].uuid);
		if (v)
			v->seen = true;
	}
	for (size_t i = 0; i < is.n_vms;) {
		if (!is.vms[i].seen)
			vm_drop(&is.vms[i], "no longer active"); /* swaps in the last */
		else
			i++;
	}
	if (!is.synced_once)
		log_info("libvirt '%s': %zu active VMs tracked", is.uri, is.n_vms);
	else
		log_notice("libvirt connection to '%s' back; %zu VMs tracked", is.uri, is.n_vms);
	is.synced_once = true;
	is.connected = true;
}

static void sync_release(void *arg)
{
	struct sync_job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		vm_desc_clear(&j->f[i].d);
	free(j->f);
	free(j);
}

static const struct vconn_call sync_call = {
	.what = "virConnectListAllDomains",
	.run = sync_run,
	.done = sync_done,
	.release = sync_release,
};

static void sync_all(void)
{
	struct sync_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		log_err("out of memory listing the domains");
		return;
	}
	j->gen = is.gen;
	err = vconn_call(is.vc, &sync_call, j);
	if (err) {
		free(j);
		if (err != -ENOTCONN)
			resync_later();
	}
}

static void on_resync(void *arg)
{
	is.resync_timer = 0;
	sync_all();
}

static void resync_later(void)
{
	if (!is.resync_timer && loop_add_timer(INV_RESYNC_MS, 0, on_resync, NULL, &is.resync_timer))
		is.resync_timer = 0;
}
/* ---- rescans of incomplete VMs ------------------------------------------ */

static void on_rescan(void *arg)
{
	uint64_t now = loop_now_ms();

	is.rescan_timer = 0;
	for (size_t i = 0; i < is.n_vms; i++) {
		struct inv_vm *v = &is.vms[i];
		struct vm_desc d;

		if (v->complete || v->rescan_at_ms > now)
			continue;
		if (vm_desc_copy(&d, &v->desc))
			continue;
		find_process(&d);
		if (same_threads(&d, &v->desc)) {
			vm_desc_clear(&d);
			schedule_rescan(v, false);
			continue;
		}
		vm_apply(&d); /* reschedules itself while incomplete */
		/* keep backing off if still incomplete */
		v = vm_by_uuid(v->uuid);
		if (v && !v->complete)
			schedule_rescan(v, false);
	}
	arm_rescan();
}

static void arm_rescan(void)
{
	uint64_t next = UINT64_MAX, now = loop_now_ms();

	for (size_t i = 0; i < is.n_vms; i++)
		if (!is.vms[i].complete && is.vms[i].rescan_at_ms < next)
			next = is.vms[i].rescan_at_ms;
	if (next == UINT64_MAX) {
		if (is.rescan_timer > 0)
			loop_remove_timer(is.rescan_timer);
		is.rescan_timer = 0;
		return;
	}
	if (is.rescan_timer > 0 && is.rescan_timer_at_ms <= next)
		return;
	if (is.rescan_timer > 0)
		loop_remove_timer(is.rescan_timer);
	is.rescan_timer = 0;
	is.rescan_timer_at_ms = next;
	if (loop_add_timer(next > now ? next - now : 0, 0, on_rescan, NULL, &is.rescan_timer))
		is.rescan_timer = 0;
}

/* ---- events -------------------------------------------------------------- */

static void on_pending(void *arg)
{
	is.pending_timer = 0;
	/* not up: the full reconcile after (re)connecting covers them */
	if (!vconn_connected(is.vc))
		is.n_pending = 0;
	/* a reconcile may queue more (it does not today): take the list */
	while (is.n_pending) {
		char uuid[VM_UUID_BYTES];

		memcpy(uuid, is.pending[0], sizeof(uuid));
		memmove(is.pending, is.pending + 1, (is.n_pending - 1) * sizeof(*is.pending));
		is.n_pending--;
		reconcile_uuid(uuid);
	}
}

static void queue_uuid(const char *uuid)
{
	for (size_t i = 0; i < is.n_pending; i++)
		if (!strcasecmp(is.pending[i], uuid))
			return;
	if (is.n_pending == is.cap_pending) {
		size_t cap = is.cap_pending ? is.cap_pending * 2 : 16;
		char(*p)[VM_UUID_BYTES] = realloc(is.pending, cap * sizeof(*p));

		if (!p) {
			log_err("out of memory queueing a libvirt event");
			return;
		}
		is.pending = p;
		is.cap_pending = cap;
	}
	snprintf(is.pending[is.n_pending++], VM_UUID_BYTES, "%s", uuid);
	if (!is.pending_timer && loop_add_timer(0, 0, on_pending, NULL, &is.pending_timer))
		is.pending_timer = 0;
}

static const char *event_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? "started (incoming migration)" :
		       detail == VIR_DOMAIN_EVENT_STARTED_RESTORED ? "started (restored)" :
								     "started";
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED  ? "stopped (migrated away)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED   ? "stopped (crashed)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_FAILED    ? "stopped (failed)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED ? "stopped (destroyed)" :
								      "stopped";
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ? "suspended (migrating)" :
								       "suspended";
	case VIR_DOMAIN_EVENT_RESUMED:
		return detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED ? "resumed (migration done)" :
								     "resumed";
	case VIR_DOMAIN_EVENT_CRASHED:
		return "crashed";
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		return "shutting down";
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		return "pm-suspended";
	case VIR_DOMAIN_EVENT_DEFINED:
		return "defined";
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return "undefined";
	default:
		return "changed";
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virt_domain_get_uuid_string(dom, uuid))
		return 0;
	log_debug("libvirt event: domain '%s' (%s) %s", virt_domain_get_name(dom), uuid,
		  event_name(event, detail));
	/* a definition alone changes nothing that runs */
	if (event == VIR_DOMAIN_EVENT_DEFINED && !vm_by_uuid(uuid))
		return 0;
	queue_uuid(uuid);
	return 0;
}

/* a NIC plugged in or out: its tap comes or goes */
static void on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virt_domain_get_uuid_string(dom, uuid))
		return;
	log_debug("libvirt event: domain '%s' (%s) device '%s' %s", virt_domain_get_name(dom), uuid,
		  alias ? alias : "?", opaque ? "removed" : "added");
	if (vm_by_uuid(uuid))
		queue_uuid(uuid);
}

/* ---- connection (vconn) ----------------------------------------------------- */

static void unregister_events(virConnectPtr conn)
{
	if (ev.lifecycle_id >= 0)
		virt_domain_event_deregister(conn, ev.lifecycle_id);
	ev.lifecycle_id = -1;
	for (int i = 0; i < 2; i++) {
		if (ev.device_ids[i] >= 0)
			virt_domain_event_deregister(conn, ev.device_ids[i]);
		ev.device_ids[i] = -1;
	}
}

/* Worker, on each new connection (the ids are only touched on the
 * connection's queue: here and in teardown). */
static int setup_events(virConnectPtr conn, void *arg)
{
	int err;

	err = virt_domain_event_register(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL,
					 &ev.lifecycle_id);
	if (err) {
		log_err("%s; VMs would not be followed: dropping the connection", virt_last_error());
		ev.lifecycle_id = -1;
		return err;
	}
	/* not essential: a hot-plugged NIC is then seen at the next event */
	for (int i = 0; i < 2; i++) {
		static const int ids[] = { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
					   VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED };

		if (virt_domain_event_register(conn, NULL, ids[i],
					       VIR_DOMAIN_EVENT_CALLBACK(on_device),
					       i ? (void *)1 : NULL, NULL, &ev.device_ids[i])) {
			log_debug("%s", virt_last_error());
			ev.device_ids[i] = -1;
		}
	}
	return 0;
}

static void teardown_events(virConnectPtr conn, void *arg)
{
	unregister_events(conn);
}

static void on_conn_state(struct vconn *vc, bool up, void *arg)
{
	if (up) {
		sync_all();
		return;
	}
	is.connected = false;
	if (!is.synced_once)
		log_warn("cannot connect to libvirt at '%s' (%s); no VMs until it answers: "
			 "trying again with backoff up to %u ms",
			 is.uri, vconn_last_error(vc), is.reconnect_max_ms);
	else
		log_warn("libvirt connection to '%s' lost; keeping the %zu VMs tracked and "
			 "reconnecting",
			 is.uri, is.n_vms);
}

bool inv_connected(void)
{
	return is.connected;
}

uint32_t inv_reconnects(void)
{
	return is.vc ? vconn_reconnects(is.vc) : 0;
}

static void clear_state(void)
{
	uint64_t gen = is.gen;

	memset(&is, 0, sizeof(is));
	is.gen = gen + 1;
}

int inv_init(const struct inv_opts *opts)
{
	struct vconn_opts vo = {
		.call_timeout_ms = opts->call_timeout_ms,
		.reconnect_max_ms = opts->reconnect_max_ms,
		.setup = setup_events,
		.teardown = teardown_events,
		.on_state = on_conn_state,
	};
	int err;

	if (is.inited)
		return -EALREADY;
	clear_state();
	is.uri = strdup(opts->uri ? opts->uri : TIDE_DEFAULT_LIBVIRT_URI);
	is.run_dir = strdup(opts->run_dir ? opts->run_dir : TIDE_DEFAULT_LIBVIRT_RUN_DIR);
	is.proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
	if (!is.uri || !is.run_dir || !is.proc_root) {
		err = -ENOMEM;
		goto fail;
	}
	is.rescan_ms = opts->rescan_ms ? opts->rescan_ms : 1000;
	is.reconnect_max_ms = opts->reconnect_max_ms ? opts->reconnect_max_ms :
						       INV_RECONNECT_MAX_MS_DEFAULT;
	vo.uri = is.uri;
	vo.reconnect_max_ms = is.reconnect_max_ms;
	is.inited = true;
	/* connects on a worker; the VMs come when the list does */
	err = vconn_open(&vo, &is.vc);
	if (err) {
		log_err("cannot set up the libvirt connection to '%s': %s", is.uri, strerror(-err));
		is.inited = false;
		goto fail;
	}
	return 0;
fail:
	free(is.uri);
	free(is.run_dir);
	free(is.proc_root);
	clear_state();
	return err;
}

void inv_fini(void)
{
	if (!is.inited)
		return;
	if (is.pending_timer)
		loop_remove_timer(is.pending_timer);
	if (is.resync_timer)
		loop_remove_timer(is.resync_timer);
	if (is.rescan_timer > 0)
		loop_remove_timer(is.rescan_timer);
	/* the jobs still queued complete later, and see a new generation */
	is.inited = false;
	vconn_close(is.vc);
	while (is.n_vms)
		vm_drop(&is.vms[0], "tided stopping");
	free(is.vms);
	free(is.pending);
	free(is.uri);
	free(is.run_dir);
	free(is.proc_root);
	clear_state();
}
