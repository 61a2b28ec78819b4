// SPDX-License-Identifier: GPL-2.0
/*
 * virt: libvirt event-loop adapter and thin call adapters.  See virt.h.
 *
 * Event implementation.  libvirt's contract (libvirt-event.h) maps onto
 * the loop almost one to one:
 *   add handle (fd, events, cb, opaque, ff) -> loop_add_fd, level-triggered
 *     (libvirt reads only what it needs and expects poll() semantics)
 *   update handle events (0 = silent)        -> loop_modify_fd
 *   add/update timeout (ms; -1 off, 0 every iteration, else periodic)
 *                                            -> loop periodic timer
 *   remove handle/timeout                    -> loop_remove_*; ff(opaque)
 *     runs later from the loop (loop_defer), never inside the remove
 *     call: the caller may hold the very lock ff takes.
 * libvirt's ids are the loop's ids.  Our record of each handle (callback,
 * opaque, ff) is found by id in a list under a mutex, because libvirt
 * calls these from any thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "loop.h"
#include "virt.h"
#include "virt_int.h"

#define VIRT_ERROR_BYTES 512
/* keep-alive on remote connections: a peer that vanishes is noticed in
 * interval * (count + 1) seconds instead of at the next TCP timeout */
#define VIRT_KEEPALIVE_INTERVAL_S 5
#define VIRT_KEEPALIVE_COUNT 3

struct vreg {
	struct vreg *next;
	int id; /* the loop's id, handed to libvirt */
	bool is_timer;
	int fd;
	virEventHandleCallback handle_cb;
	virEventTimeoutCallback timeout_cb;
	void *opaque;
	virFreeCallback ff;
	atomic_bool removed; /* a dispatch racing a remove skips it */
	struct loop_defer defer;
};

static struct {
	pthread_mutex_t lock;
	struct vreg *regs;
	bool registered; /* virEventRegisterImpl done: once per process */
} vs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static __thread char last_error[VIRT_ERROR_BYTES];

/* ---- event implementation ---------------------------------------------- */

static unsigned int to_loop_events(int vir_events)
{
	unsigned int events = 0;

	if (vir_events & VIR_EVENT_HANDLE_READABLE)
		events |= LOOP_IN;
	if (vir_events & VIR_EVENT_HANDLE_WRITABLE)
		events |= LOOP_OUT;
	return events;
}

static int to_vir_events(unsigned int revents)
{
	int events = 0;

	if (revents & LOOP_IN)
		events |= VIR_EVENT_HANDLE_READABLE;
	if (revents & LOOP_OUT)
		events |= VIR_EVENT_HANDLE_WRITABLE;
	if (revents & (LOOP_ERR | POLLNVAL))
		events |= VIR_EVENT_HANDLE_ERROR;
	if (revents & LOOP_HUP)
		events |= VIR_EVENT_HANDLE_HANGUP;
	return events;
}

static void reg_add(struct vreg *r)
{
	pthread_mutex_lock(&vs.lock);
	r->next = vs.regs;
	vs.regs = r;
	pthread_mutex_unlock(&vs.lock);
}

/* Unlink the record with this id and kind; NULL if none. */
static struct vreg *reg_take(int id, bool is_timer)
{
	struct vreg *r = NULL;

	pthread_mutex_lock(&vs.lock);
	for (struct vreg **pp = &vs.regs; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id && (*pp)->is_timer == is_timer) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&vs.lock);
	return r;
}

static bool reg_exists(int id, bool is_timer)
{
	bool found = false;

	pthread_mutex_lock(&vs.lock);
	for (struct vreg *r = vs.regs; r && !found; r = r->next)
		found = r->id == id && r->is_timer == is_timer;
	pthread_mutex_unlock(&vs.lock);
	return found;
}

static void reg_release(void *arg)
{
	struct vreg *r = arg;

	if (r->ff)
		r->ff(r->opaque);
	free(r);
}

static void handle_ready(int fd, unsigned int revents, void *arg)
{
	struct vreg *r = arg;

	if (atomic_load(&r->removed))
		return;
	r->handle_cb(r->id, fd, to_vir_events(revents), r->opaque);
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff)
{
	struct vreg *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -1;
	r->fd = fd;
	r->handle_cb = cb;
	r->opaque = opaque;
	r->ff = ff;
	err = loop_add_fd(fd, to_loop_events(events), handle_ready, r, &r->id);
	if (err) {
		log_warn("libvirt: cannot watch fd %d: %s", fd, strerror(-err));
		free(r);
		return -1;
	}
	reg_add(r);
	return r->id;
}

static void update_handle(int watch, int events)
{
	int err = loop_modify_fd(watch, to_loop_events(events));

	if (err)
		log_debug("libvirt: cannot update watch %d: %s", watch, strerror(-err));
}

static int remove_handle(int watch)
{
	struct vreg *r = reg_take(watch, false);

	if (!r)
		return -1;
	atomic_store(&r->removed, true);
	loop_remove_fd(watch);
	loop_defer(&r->defer, reg_release, r);
	return 0;
}

static void timeout_fired(void *arg)
{
	struct vreg *r = arg;

	if (atomic_load(&r->removed))
		return;
	r->timeout_cb(r->id, r->opaque);
}

static int add_timeout(int timeout_ms, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
	struct vreg *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -1;
	r->is_timer = true;
	r->fd = -1;
	r->timeout_cb = cb;
	r->opaque = opaque;
	r->ff = ff;
	/* a disabled timer is created with an interval it can never reach
	 * before being disabled: no window in which it could fire */
	err = loop_add_periodic(timeout_ms < 0 ? UINT64_C(1) << 40 : (uint64_t)timeout_ms, 0,
				timeout_fired, r, &r->id);
	if (!err && timeout_ms < 0)
		err = loop_modify_timer(r->id, -1);
	if (err) {
		log_warn("libvirt: cannot add a %d ms timer: %s", timeout_ms, strerror(-err));
		free(r);
		return -1;
	}
	reg_add(r);
	return r->id;
}

static void update_timeout(int timer, int timeout_ms)
{
	int err;

	if (!reg_exists(timer, true))
		return;
	err = loop_modify_timer(timer, timeout_ms < 0 ? -1 : timeout_ms);
	if (err)
		log_debug("libvirt: cannot update timer %d: %s", timer, strerror(-err));
}

static int remove_timeout(int timer)
{
	struct vreg *r = reg_take(timer, true);

	if (!r)
		return -1;
	atomic_store(&r->removed, true);
	loop_remove_timer(timer);
	loop_defer(&r->defer, reg_release, r);
	return 0;
}

/* libvirt prints every error to stderr unless told otherwise; the adapters
 * report them, with context, where they matter. */
static void quiet_error(void *user_data, virErrorPtr err)
{
	if (err && err->message)
		log_debug("libvirt: %s", err->message);
}

int virt_init(void)
{
	if (vs.registered)
		return 0;
	if (virInitialize() < 0) {
		log_err("cannot initialise libvirt: %s", virGetLastErrorMessage());
		return -EIO;
	}
	virSetErrorFunc(NULL, quiet_error);
	virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout,
			     remove_timeout);
	vs.registered = true;
	return 0;
}

void virt_fini(void)
{
	/*
	 * libvirt offers no way to unregister an event implementation; what it
	 * still has registered is released by loop_fini() (which runs the
	 * deferred free callbacks).  Forget our records of it so that a new
	 * loop starts clean (tests run several).
	 */
	pthread_mutex_lock(&vs.lock);
	while (vs.regs) {
		struct vreg *r = vs.regs;

		vs.regs = r->next;
		atomic_store(&r->removed, true);
		if (r->is_timer)
			loop_remove_timer(r->id);
		else
			loop_remove_fd(r->id);
		loop_defer(&r->defer, reg_release, r);
	}
	pthread_mutex_unlock(&vs.lock);
}

/* ---- errors ------------------------------------------------------------ */

const char *virt_last_error(void)
{
	return last_error;
}

void virt_clear_error(void)
{
	last_error[0] = '\0';
}

static int vir_errno(const virError *e)
{
	if (!e)
		return -EIO;
	switch (e->code) {
	case VIR_ERR_NO_MEMORY:
		return -ENOMEM;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_OPERATION_UNSUPPORTED:
		return -EOPNOTSUPP;
	case VIR_ERR_NO_CONNECT:
		return -ECONNREFUSED;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_OPERATION_INVALID:
		return -EINVAL;
	case VIR_ERR_NO_DOMAIN:
		return -ENOENT;
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_ACCESS_DENIED:
		return -EACCES;
	case VIR_ERR_OPERATION_TIMEOUT:
		return -ETIMEDOUT;
	case VIR_ERR_OPERATION_ABORTED:
		return -ECANCELED;
	case VIR_ERR_SYSTEM_ERROR:
		return e->int1 > 0 ? -e->int1 : -EIO;
	default:
		return -EIO;
	}
}

/* Record "cannot <what>: <libvirt's reason>" and return the errno. */
int virt_fail_with(const virError *e, const char *fmt, ...)
{
	size_t used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	used = n > 0 && (size_t)n < sizeof(last_error) ? (size_t)n : 0;
	snprintf(last_error + used, sizeof(last_error) - used, ": %s",
		 e->code != VIR_ERR_OK && e->message ? e->message : "unknown libvirt error");
	log_debug("%s", last_error);
	return e->code != VIR_ERR_OK ? vir_errno(e) : -EIO;
}

const char *virt_dom_name(virDomainPtr dom)
{
	const char *name = dom ? virDomainGetName(dom) : NULL;

	return name ? name : "?";
}

#define dom_name virt_dom_name

/* ---- adapters ---------------------------------------------------------- */

/* virConnectGetURI allocates; a message does not need it to be exact */
static __thread char uri_buf[256];

static const char *conn_uri(virConnectPtr conn)
{
	char *u = conn ? virConnectGetURI(conn) : NULL;

	snprintf(uri_buf, sizeof(uri_buf), "%s", u ? u : "?");
	free(u);
	return uri_buf;
}

int virt_open(const char *uri, virConnectPtr *conn)
{
	virConnectPtr c;

	c = virConnectOpen(uri);
	if (!c)
		return FAIL("cannot connect to libvirt at '%s'", uri);
	/* remote drivers only; 1 means "not supported here", which is fine */
	if (virConnectSetKeepAlive(c, VIRT_KEEPALIVE_INTERVAL_S, VIRT_KEEPALIVE_COUNT) < 0)
		log_debug("no keep-alive on '%s': %s", uri, virGetLastErrorMessage());
	*conn = c;
	return 0;
}

void virt_close(virConnectPtr conn)
{
	if (conn)
		virConnectClose(conn);
}

int virt_connect_register_close(virConnectPtr conn, virConnectCloseFunc cb, void *opaque,
				virFreeCallback ff)
{
	if (virConnectRegisterCloseCallback(conn, cb, opaque, ff) < 0)
		return FAIL("cannot register a close callback");
	return 0;
}

int virt_connect_unregister_close(virConnectPtr conn, virConnectCloseFunc cb)
{
	if (virConnectUnregisterCloseCallback(conn, cb) < 0)
		return FAIL("cannot unregister the close callback");
	return 0;
}

int virt_node_get_info(virConnectPtr conn, virNodeInfoPtr info)
{
	if (virNodeGetInfo(conn, info) < 0)
		return FAIL("cannot get the node information of '%s'", conn_uri(conn));
	return 0;
}

int virt_node_get_free_memory(virConnectPtr conn, uint64_t *free_bytes)
{
	unsigned long long b = virNodeGetFreeMemory(conn);

	/* 0 is libvirt's error value: no host has no free memory at all */
	if (b == 0)
		return FAIL("cannot get the free memory of '%s'", conn_uri(conn));
	*free_bytes = b;
	return 0;
}

int virt_list_domains(virConnectPtr conn, unsigned int flags, virDomainPtr **doms, int *n_doms)
{
	int n = virConnectListAllDomains(conn, doms, flags);

	if (n < 0)
		return FAIL("cannot list domains");
	*n_doms = n;
	return 0;
}

void virt_domains_free(virDomainPtr *doms, int n_doms)
{
	for (int i = 0; doms && i < n_doms; i++)
		virDomainFree(doms[i]);
	free(doms);
}

int virt_domain_lookup_by_name(virConnectPtr conn, const char *name, virDomainPtr *dom)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	if (!d)
		return FAIL("cannot find domain '%s'", name);
	*dom = d;
	return 0;
}

int virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid, virDomainPtr *dom)
{
	virDomainPtr d = virDomainLookupByUUIDString(conn, uuid);

	if (!d)
		return FAIL("cannot find domain %s", uuid);
	*dom = d;
	return 0;
}

void virt_domain_free(virDomainPtr dom)
{
	if (dom)
		virDomainFree(dom);
}

const char *virt_domain_get_name(virDomainPtr dom)
{
	return dom_name(dom);
}

int virt_domain_get_uuid_string(virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN])
{
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return FAIL("cannot get the uuid of domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_is_active(virDomainPtr dom)
{
	int ret = virDomainIsActive(dom);

	if (ret < 0)
		return FAIL("cannot tell whether domain '%s' is active", dom_name(dom));
	return ret;
}

int virt_domain_get_xml_desc(virDomainPtr dom, unsigned int flags, char **xml)
{
	char *x = virDomainGetXMLDesc(dom, flags);

	if (!x)
		return FAIL("cannot get the XML of domain '%s'", dom_name(dom));
	*xml = x;
	return 0;
}

int virt_domain_get_state(virDomainPtr dom, int *state, int *reason)
{
	if (virDomainGetState(dom, state, reason, 0) < 0)
		return FAIL("cannot get the state of domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_suspend(virDomainPtr dom)
{
	if (virDomainSuspend(dom) < 0)
		return FAIL("cannot suspend domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_resume(virDomainPtr dom)
{
	if (virDomainResume(dom) < 0)
		return FAIL("cannot resume domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
			      int *n_params, unsigned int flags)
{
	if (virDomainGetJobStats(dom, type, params, n_params, flags) < 0)
		return FAIL("cannot get the job statistics of domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_migrate_get_max_speed(virDomainPtr dom, unsigned long *mib_per_s, unsigned int flags)
{
	if (virDomainMigrateGetMaxSpeed(dom, mib_per_s, flags) < 0)
		return FAIL("cannot get the migration bandwidth of domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_migrate_get_max_downtime(virDomainPtr dom, unsigned long long *ms, unsigned int flags)
{
	if (virDomainMigrateGetMaxDowntime(dom, ms, flags) < 0)
		return FAIL("cannot get the migration downtime limit of domain '%s'", dom_name(dom));
	return 0;
}

int virt_domain_start_dirty_rate_calc(virDomainPtr dom, int seconds, unsigned int flags)
{
	int code, ret;

	if (virDomainStartDirtyRateCalc(dom, seconds, flags) == 0)
		return 0;
	code = virGetLastErrorCode();
	ret = FAIL("cannot start a %d s dirty-rate calculation on domain '%s'", seconds,
		   dom_name(dom));
	/* the job lock is held (a migration): libvirt waited for it and gave up */
	return code == VIR_ERR_OPERATION_TIMEOUT ? -EBUSY : ret;
}

int virt_domain_qemu_monitor_command(virDomainPtr dom, const char *what, const char *cmd, char **reply)
{
	int code, ret;

	*reply = NULL;
	if (virDomainQemuMonitorCommand(dom, cmd, reply, 0) == 0)
		return 0;
	code = virGetLastErrorCode();
	ret = FAIL("QEMU's monitor did not run '%s' on domain '%s'", what, dom_name(dom));
	/* the monitor is held (a migration's job): libvirt gave up waiting */
	return code == VIR_ERR_OPERATION_TIMEOUT ? -EBUSY : ret;
}

int virt_domain_get_dirty_rate(virDomainPtr dom, struct virt_dirty_rate *out)
{
	virDomainPtr doms[] = { dom, NULL };
	virDomainStatsRecordPtr *recs = NULL;
	const char *mode = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0);
	if (n < 0)
		return FAIL("cannot get the dirty-rate statistics of domain '%s'", dom_name(dom));
	if (n >= 1) {
		virTypedParameterPtr p = recs[0]->params;
		int np = recs[0]->nparams;

		virTypedParamsGetInt(p, np, VIR_DOMAIN_STATS_DIRTYRATE_CALC_STATUS,
				     &out->calc_status);
		virTypedParamsGetLLong(p, np, VIR_DOMAIN_STATS_DIRTYRATE_CALC_START_TIME,
				       &out->calc_start_time_s);
		virTypedParamsGetInt(p, np, VIR_DOMAIN_STATS_DIRTYRATE_CALC_PERIOD,
				     &out->calc_period_s);
		out->has_rate = virTypedParamsGetLLong(p, np,
						       VIR_DOMAIN_STATS_DIRTYRATE_MEGABYTES_PER_SECOND,
						       &out->mib_per_s) == 1;
		if (virTypedParamsGetString(p, np, VIR_DOMAIN_STATS_DIRTYRATE_CALC_MODE, &mode) == 1 &&
		    mode)
			snprintf(out->calc_mode, sizeof(out->calc_mode), "%s", mode);
	}
	virDomainStatsRecordListFree(recs);
	return 0;
}

int virt_domain_event_register(virConnectPtr conn, virDomainPtr dom, int event_id,
			       virConnectDomainEventGenericCallback cb, void *opaque,
			       virFreeCallback ff, int *callback_id)
{
	int id = virConnectDomainEventRegisterAny(conn, dom, event_id, cb, opaque, ff);

	if (id < 0)
		return FAIL("cannot register for event %d of %s%s%s", event_id,
			    dom ? "domain '" : "all domains", dom ? dom_name(dom) : "",
			    dom ? "'" : "");
	*callback_id = id;
	return 0;
}

int virt_domain_event_deregister(virConnectPtr conn, int callback_id)
{
	if (virConnectDomainEventDeregisterAny(conn, callback_id) < 0)
		return FAIL("cannot deregister event callback %d", callback_id);
	return 0;
}
