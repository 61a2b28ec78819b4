// SPDX-License-Identifier: GPL-2.0
/*
 * vconn: libvirt connections and the calls made on them.  See vconn.h.
 *
 * Every job of a vconn (open, call, close) goes through its one serial
 * work queue, so a close always follows the calls made before it, and an
 * open the close before it: the virConnectPtr a call was given stays open
 * until the call has returned, without any reference counting of it.
 *
 * Lifetime.  A vconn is freed when its last reference goes: the owner's
 * (dropped when the close job is done), one per job in flight (a job that
 * outlived its deadline drops its own from the worker), one while libvirt
 * holds the close callback, one while a "lost" notice waits for the loop.
 * So the counter is atomic; everything else is touched on the loop thread
 * only, or by the one job running on the queue.  A detached job's buffers
 * stay the worker's: the loop writes its messages elsewhere.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"
#include "work.h"

/* how long vconn_fini() lets connections close cleanly */
#define VCONN_FINI_WAIT_MS 2000

enum vc_state {
	VC_DOWN,
	VC_OPENING,
	VC_UP,
};

enum vj_kind {
	VJ_OPEN,
	VJ_CALL,
	VJ_CLOSE,
};

struct vconn {
	struct vconn *next;  /* every open vconn */
	struct vconn_opts o; /* o.uri points at uri */
	char *uri;
	struct work_queue *q; /* NULL once going away */
	enum vc_state state;
	bool closing;	    /* vconn_close(): the close job is the last */
	bool down_told;	    /* on_state(false) given since the last up */
	virConnectPtr conn; /* VC_UP */
	bool close_cb;	    /* conn has our close callback */
	uint32_t backoff_ms;
	int reconnect_timer;
	uint32_t opens;
	uint64_t timeouts;
	char last_error[VCONN_ERR_BYTES];
	atomic_int refs;
	atomic_bool lost_pending;
	atomic_int lost_reason;
	_Atomic(virConnectPtr) lost_conn;
	struct loop_defer lost_defer;
};

struct vjob {
	struct vconn *vc;
	enum vj_kind kind;
	struct vconn_call call;
	void *arg;
	virConnectPtr conn;
	bool close_cb;
	atomic_bool started;
	char err[VCONN_ERR_BYTES];
};

static struct {
	bool inited;
	struct vconn *all;
} vcs;

static void vc_unref(struct vconn *vc)
{
	if (atomic_fetch_sub(&vc->refs, 1) != 1)
		return;
	free(vc->uri);
	free(vc);
}

/*
 * Drops the close callback's reference from a job on the worker: the job
 * holds its own (vjob_submit), so this is never the last one and vc lives
 * on for the rest of the job.
 */
static void vc_unref_in_job(struct vconn *vc)
{
	atomic_fetch_sub(&vc->refs, 1);
}

static void set_error(struct vconn *vc, const char *msg)
{
	snprintf(vc->last_error, sizeof(vc->last_error), "%s", msg);
}

static const char *close_reason(int reason)
{
	static const char *const why[] = {
		[VIR_CONNECT_CLOSE_REASON_ERROR] = "an error",
		[VIR_CONNECT_CLOSE_REASON_EOF] = "end of file (libvirtd stopped?)",
		[VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "keep-alive timeout",
		[VIR_CONNECT_CLOSE_REASON_CLIENT] = "closed by us",
	};

	return reason >= 0 && reason < (int)ARRAY_SIZE(why) && why[reason] ? why[reason] :
									     "unknown reason";
}

/* ---- the close callback: any thread ---------------------------------------- */

static void on_lost(void *arg);

static void lost(struct vconn *vc, virConnectPtr conn, int reason)
{
	atomic_store(&vc->lost_conn, conn);
	atomic_store(&vc->lost_reason, reason);
	if (atomic_exchange(&vc->lost_pending, true))
		return;
	atomic_fetch_add(&vc->refs, 1);
	/* libvirt holds its own locks here: act from the loop */
	loop_defer(&vc->lost_defer, on_lost, vc);
}

static void on_close_cb(virConnectPtr conn, int reason, void *opaque)
{
	lost(opaque, conn, reason);
}

void vconn_lost(struct vconn *vc, int reason)
{
	lost(vc, vc->conn, reason);
}

/* ---- jobs ------------------------------------------------------------------- */

static int vjob_run(void *arg);
static void vjob_done(int result, bool detached, void *arg);
static void vjob_abandon(int result, void *arg);

static int submit(struct vconn *vc, enum vj_kind kind, const struct vconn_call *call, void *arg,
		  virConnectPtr conn, bool close_cb)
{
	struct work_spec spec = { vjob_run, vjob_done, vjob_abandon, 0 };
	struct vjob *j;
	int err;

	if (!vc->q)
		return -ESHUTDOWN;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->vc = vc;
	j->kind = kind;
	if (call)
		j->call = *call;
	j->arg = arg;
	j->conn = conn;
	j->close_cb = close_cb;
	/* a close must happen, however long it takes */
	if (kind != VJ_CLOSE)
		spec.timeout_ms = vc->o.call_timeout_ms;
	atomic_fetch_add(&vc->refs, 1);
	err = work_submit(vc->q, &spec, j);
	if (err) {
		atomic_fetch_sub(&vc->refs, 1);
		free(j);
	}
	return err;
}

/* worker: the connection's end, close callback first (libvirt waits for a
 * callback in progress), then the owner's registrations */
static void close_conn(struct vconn *vc, virConnectPtr conn, bool close_cb)
{
	if (close_cb) {
		virt_connect_unregister_close(conn, on_close_cb);
		vc_unref_in_job(vc);
	}
	if (vc->o.teardown)
		vc->o.teardown(conn, vc->o.arg);
	virt_close(conn);
}

static void copy_error(struct vjob *j, const char *what, int r)
{
	const char *e = virt_last_error();

	if (e[0])
		snprintf(j->err, sizeof(j->err), "%s", e);
	else
		snprintf(j->err, sizeof(j->err), "%s on '%s' failed: %s", what, j->vc->uri,
			 strerror(-r));
}

static int run_open(struct vjob *j)
{
	struct vconn *vc = j->vc;
	virConnectPtr conn;
	int err;

	err = virt_open(vc->uri, &conn);
	if (err) {
		copy_error(j, "virConnectOpen", err);
		return err;
	}
	atomic_fetch_add(&vc->refs, 1);
	if (virt_connect_register_close(conn, on_close_cb, vc, NULL)) {
		/* the test driver has none; remote and qemu drivers have */
		log_debug("%s", virt_last_error());
		vc_unref_in_job(vc);
	} else {
		j->close_cb = true;
	}
	if (vc->o.setup) {
		virt_clear_error();
		err = vc->o.setup(conn, vc->o.arg);
		if (err) {
			copy_error(j, "setting up the connection", err);
			close_conn(vc, conn, j->close_cb);
			j->close_cb = false;
			return err;
		}
	}
	j->conn = conn;
	return 0;
}

static int vjob_run(void *arg)
{
	struct vjob *j = arg;
	int r;

	atomic_store(&j->started, true);
	virt_clear_error();
	switch (j->kind) {
	case VJ_OPEN:
		return run_open(j);
	case VJ_CLOSE:
		close_conn(j->vc, j->conn, j->close_cb);
		return 0;
	case VJ_CALL:
		r = j->call.run(j->conn, j->arg);
		if (r)
			copy_error(j, j->call.what, r);
		return r;
	}
	return -EINVAL;
}

static void vjob_free(struct vjob *j)
{
	if (j->kind == VJ_CALL && j->call.release)
		j->call.release(j->arg);
	vc_unref(j->vc);
	free(j);
}

/* worker: run() of a job that was completed without it has returned */
static void vjob_abandon(int result, void *arg)
{
	struct vjob *j = arg;

	/* an open that came back after all: nobody wants it now */
	if (j->kind == VJ_OPEN && result == 0 && j->conn)
		close_conn(j->vc, j->conn, j->close_cb);
	vjob_free(j);
}

static void tell(struct vconn *vc, bool up)
{
	if (!up && vc->down_told)
		return;
	vc->down_told = !up;
	if (vc->o.on_state && !vc->closing)
		vc->o.on_state(vc, up, vc->o.arg);
}

static void reconnect(void *arg);

static void arm_reconnect(struct vconn *vc)
{
	if (vc->reconnect_timer || vc->closing || !vcs.inited)
		return;
	if (loop_add_timer(vc->backoff_ms, vc->backoff_ms / 10, reconnect, vc, &vc->reconnect_timer))
		vc->reconnect_timer = 0;
	vc->backoff_ms = vc->backoff_ms * 2 > vc->o.reconnect_max_ms ? vc->o.reconnect_max_ms :
								       vc->backoff_ms * 2;
}

static void start_open(struct vconn *vc)
{
	int err = submit(vc, VJ_OPEN, NULL, NULL, NULL, false);

	if (err) {
		snprintf(vc->last_error, sizeof(vc->last_error),
			 "cannot queue a connection to '%s': %s", vc->uri, strerror(-err));
		arm_reconnect(vc);
		return;
	}
	vc->state = VC_OPENING;
}

static void reconnect(void *arg)
{
	struct vconn *vc = arg;

	vc->reconnect_timer = 0;
	/* an earlier open or call is still stuck in libvirt: the queue would
	 * only hold the new open behind it */
	if (work_queue_pending(vc->q)) {
		log_debug("libvirt '%s': a call is still in progress; next try in %u ms", vc->uri,
			  vc->backoff_ms);
		arm_reconnect(vc);
		return;
	}
	start_open(vc);
}

static void finish_close(struct vconn *vc)
{
	struct work_queue *q = vc->q;

	for (struct vconn **pp = &vcs.all; *pp; pp = &(*pp)->next) {
		if (*pp == vc) {
			*pp = vc->next;
			break;
		}
	}
	/* cleared first: the jobs it completes see a vconn going away */
	vc->q = NULL;
	work_queue_free(q);
	vc_unref(vc);
}

static void queue_close(struct vconn *vc, virConnectPtr conn, bool close_cb)
{
	if (submit(vc, VJ_CLOSE, NULL, NULL, conn, close_cb))
		log_warn("libvirt '%s': cannot queue the close of the connection", vc->uri);
}

/* Loop: forget the connection; its close runs on the queue. */
static void drop_conn(struct vconn *vc)
{
	if (!vc->conn)
		return;
	queue_close(vc, vc->conn, vc->close_cb);
	vc->conn = NULL;
	vc->close_cb = false;
	vc->state = VC_DOWN;
}

static void done_open(struct vconn *vc, struct vjob *j, int result, bool detached)
{
	char msg[VCONN_ERR_BYTES];
	virConnectPtr lost_conn;

	vc->state = VC_DOWN;
	if (vc->closing) {
		if (result == 0 && !detached && j->conn)
			queue_close(vc, j->conn, j->close_cb); /* its done frees the queue */
		else if (vc->q)
			finish_close(vc);
		return;
	}
	if (result == -ECANCELED)
		return;
	snprintf(msg, sizeof(msg), "%s", detached ? "" : j->err);
	lost_conn = result == 0 ? j->conn : NULL; /* 0: not detached, j->conn is ours */
	if (lost_conn && atomic_compare_exchange_strong(&vc->lost_conn, &lost_conn, NULL)) {
		queue_close(vc, j->conn, j->close_cb);
		result = -ECONNRESET;
		snprintf(msg, sizeof(msg), "libvirt connection to '%s' lost as it opened", vc->uri);
	}
	if (result == -ETIMEDOUT && (detached || !atomic_load(&j->started))) {
		vc->timeouts++;
		snprintf(msg, sizeof(msg),
			 "cannot connect to libvirt at '%s': no answer within "
			 "%u ms",
			 vc->uri, vc->o.call_timeout_ms);
	}
	if (result) {
		set_error(vc, msg);
		log_debug("%s; next try in %u ms", msg, vc->backoff_ms);
		tell(vc, false);
		arm_reconnect(vc);
		return;
	}
	vc->conn = j->conn;
	vc->close_cb = j->close_cb;
	vc->state = VC_UP;
	vc->opens++;
	vc->backoff_ms = VCONN_RECONNECT_MIN_MS;
	vc->last_error[0] = '\0';
	tell(vc, true);
}

static void done_call(struct vconn *vc, struct vjob *j, int result, bool detached)
{
	bool not_run = !atomic_load(&j->started);
	char msg[VCONN_ERR_BYTES];

	snprintf(msg, sizeof(msg), "%s", detached ? "" : j->err);
	if (result == -ETIMEDOUT && detached) {
		vc->timeouts++;
		snprintf(msg, sizeof(msg),
			 "libvirt call %s on '%s' did not return within %u ms "
			 "(it cannot be cancelled: the connection stays busy until libvirt gives "
			 "up on it)",
			 j->call.what, vc->uri, vc->o.call_timeout_ms);
	} else if (result == -ETIMEDOUT && not_run) {
		vc->timeouts++;
		snprintf(msg, sizeof(msg),
			 "libvirt call %s on '%s' not made: it waited %u ms "
			 "behind an earlier call that did not return",
			 j->call.what, vc->uri, vc->o.call_timeout_ms);
	} else if (result == -ECANCELED && (detached || not_run)) {
		snprintf(msg, sizeof(msg),
			 "libvirt call %s on '%s' cancelled: the connection "
			 "is closing",
			 j->call.what, vc->uri);
	}
	if (result && !vc->closing)
		set_error(vc, msg);
	j->call.done(result, result ? msg : NULL, j->arg);
}

static void vjob_done(int result, bool detached, void *arg)
{
	struct vjob *j = arg;
	struct vconn *vc = j->vc;

	switch (j->kind) {
	case VJ_OPEN:
		done_open(vc, j, result, detached);
		break;
	case VJ_CALL:
		done_call(vc, j, result, detached);
		break;
	case VJ_CLOSE:
		if (result == -ECANCELED)
			log_debug("libvirt '%s': close cancelled (tided stopping)", vc->uri);
		if (vc->closing && vc->q)
			finish_close(vc);
		break;
	}
	if (!detached)
		vjob_free(j);
}

static void on_lost(void *arg)
{
	struct vconn *vc = arg;
	int reason = atomic_load(&vc->lost_reason);
	virConnectPtr conn;

	atomic_store(&vc->lost_pending, false);
	/* taken: a later connection may get the same address */
	conn = atomic_exchange(&vc->lost_conn, NULL);
	if (vc->state == VC_UP && conn && conn == vc->conn && !vc->closing) {
		snprintf(vc->last_error, sizeof(vc->last_error),
			 "libvirt connection to '%s' lost: %s", vc->uri, close_reason(reason));
		log_warn("%s; reconnecting", vc->last_error);
		drop_conn(vc);
		vc->backoff_ms = VCONN_RECONNECT_MIN_MS;
		tell(vc, false);
		arm_reconnect(vc);
	}
	vc_unref(vc);
}

/* ---- API -------------------------------------------------------------------- */

int vconn_open(const struct vconn_opts *opts, struct vconn **out)
{
	struct vconn *vc;
	char name[600];
	int err;

	if (!vcs.inited)
		return -ENODEV;
	if (!opts || !opts->uri || !*opts->uri)
		return -EINVAL;
	vc = calloc(1, sizeof(*vc));
	if (!vc)
		return -ENOMEM;
	vc->o = *opts;
	vc->uri = strdup(opts->uri);
	if (!vc->uri) {
		free(vc);
		return -ENOMEM;
	}
	vc->o.uri = vc->uri;
	if (!vc->o.call_timeout_ms)
		vc->o.call_timeout_ms = VCONN_CALL_TIMEOUT_MS_DEFAULT;
	if (!vc->o.reconnect_max_ms)
		vc->o.reconnect_max_ms = VCONN_RECONNECT_MAX_MS_DEFAULT;
	if (vc->o.reconnect_max_ms < VCONN_RECONNECT_MIN_MS)
		vc->o.reconnect_max_ms = VCONN_RECONNECT_MIN_MS;
	vc->backoff_ms = VCONN_RECONNECT_MIN_MS;
	atomic_init(&vc->refs, 1);
	snprintf(name, sizeof(name), "libvirt %s", vc->uri);
	err = work_queue_new(name, &vc->q);
	if (err) {
		free(vc->uri);
		free(vc);
		return err;
	}
	vc->next = vcs.all;
	vcs.all = vc;
	start_open(vc);
	*out = vc;
	return 0;
}

void vconn_close(struct vconn *vc)
{
	if (!vc || vc->closing)
		return;
	vc->closing = true;
	if (vc->reconnect_timer)
		loop_remove_timer(vc->reconnect_timer);
	vc->reconnect_timer = 0;
	if (vc->conn) {
		drop_conn(vc); /* its done frees the queue */
		return;
	}
	if (vc->state == VC_OPENING)
		return; /* the open's done closes or frees */
	finish_close(vc);
}

int vconn_call(struct vconn *vc, const struct vconn_call *call, void *arg)
{
	if (!call || !call->run || !call->done)
		return -EINVAL;
	if (!vc || vc->state != VC_UP || vc->closing)
		return -ENOTCONN;
	return submit(vc, VJ_CALL, call, arg, vc->conn, false);
}

bool vconn_connected(const struct vconn *vc)
{
	return vc && vc->state == VC_UP;
}

const char *vconn_uri(const struct vconn *vc)
{
	return vc->uri;
}

uint32_t vconn_reconnects(const struct vconn *vc)
{
	return vc->opens ? vc->opens - 1 : 0;
}

const char *vconn_last_error(const struct vconn *vc)
{
	return vc->last_error;
}

uint64_t vconn_timeouts(const struct vconn *vc)
{
	return vc->timeouts;
}

virConnectPtr vconn_conn(const struct vconn *vc)
{
	return vc && vc->state == VC_UP ? vc->conn : NULL;
}

int vconn_init(void)
{
	if (vcs.inited)
		return -EALREADY;
	vcs.all = NULL;
	vcs.inited = true;
	return 0;
}

void vconn_fini(void)
{
	uint64_t deadline_ms = loop_now_ms() + VCONN_FINI_WAIT_MS;

	if (!vcs.inited)
		return;
	for (struct vconn *vc = vcs.all, *next; vc; vc = next) {
		next = vc->next;
		vconn_close(vc);
	}
	/* let the close jobs run (a healthy libvirtd answers at once) */
	while (vcs.all && loop_now_ms() < deadline_ms)
		if (loop_run_once(10))
			break;
	/* what is left is stuck in libvirt: cancelled, its workers detached */
	while (vcs.all) {
		log_warn("libvirt '%s': not closed cleanly (a call is still in progress)",
			 vcs.all->uri);
		finish_close(vcs.all);
	}
	vcs.inited = false;
}
