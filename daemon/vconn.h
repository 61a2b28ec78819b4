/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vconn: the one owner of tide's libvirt connections, local and remote
 * (peers), and the only module that makes blocking libvirt calls.
 *
 * A vconn is one URI.  Opening, closing and every call run as jobs on the
 * vconn's own serial work queue (work.h): calls on a connection keep their
 * order, run on a worker thread, and their results come back on the loop.
 * The loop never waits for libvirt, so a peer that stops answering costs a
 * worker thread, never a tick.
 *
 *   - open: virConnectOpen, keep-alive (virt_open), the close callback,
 *     then the owner's setup() (event registrations), all on the worker;
 *   - lost (close callback: libvirtd restarted, keep-alive timeout) or a
 *     failed open: on_state(false), and a new try after a delay doubling
 *     from 500 ms up to reconnect_max_ms;
 *   - every call has a deadline (call_timeout_ms, counted from its
 *     submission).  A call that does not return in time completes with
 *     -ETIMEDOUT and a sentence naming the call and the URI; the RPC itself
 *     cannot be cancelled, so its worker stays in it until libvirt gives up
 *     (keep-alive drops a dead peer), and the calls queued behind it on the
 *     same connection expire in turn.  Other connections are not affected.
 *
 * Loop thread only, except where a callback says otherwise.
 */
#ifndef TIDE_VCONN_H
#define TIDE_VCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "tide.h"

#define VCONN_CALL_TIMEOUT_MS_DEFAULT 10000
#define VCONN_RECONNECT_MIN_MS 500
#define VCONN_RECONNECT_MAX_MS_DEFAULT 30000
#define VCONN_ERR_BYTES 512

struct vconn;

/* worker: on a connection just opened; 0, or -errno with a sentence in
 * virt_last_error() (the connection is then closed and tried again) */
typedef int (*vconn_setup_fn)(virConnectPtr conn, void *arg);
/* worker: before the connection is closed */
typedef void (*vconn_teardown_fn)(virConnectPtr conn, void *arg);
/* loop: the connection is up (true) or lost / could not be opened (false) */
typedef void (*vconn_state_fn)(struct vconn *vc, bool up, void *arg);

struct vconn_opts {
	const char *uri;
	uint32_t call_timeout_ms;   /* 0: VCONN_CALL_TIMEOUT_MS_DEFAULT */
	uint32_t reconnect_max_ms;  /* 0: VCONN_RECONNECT_MAX_MS_DEFAULT */
	vconn_setup_fn setup;	    /* optional */
	vconn_teardown_fn teardown; /* optional */
	vconn_state_fn on_state;    /* optional */
	void *arg;
};

/* Needs loop, virt and work. */
int vconn_init(void) __tide_must_check;
/* Closes what is still open. */
void vconn_fini(void);

/* Starts connecting at once; a libvirt that does not answer is no error
 * (on_state(false), then retries). */
int vconn_open(const struct vconn_opts *opts, struct vconn **vc) __tide_must_check;
/*
 * on_state is not called again.  Calls already made still run, and their
 * done() comes later, in order (the close follows them on the queue): their
 * arg must not point at what the caller frees now.
 */
void vconn_close(struct vconn *vc);

/* worker: the call itself, through virt's adapters; 0 or -errno */
typedef int (*vconn_run_fn)(virConnectPtr conn, void *arg);
/* loop, exactly once: err is a sentence when result is not 0 */
typedef void (*vconn_done_fn)(int result, const char *err, void *arg);
/* after done() and once run() has returned (on a worker if it outlived its
 * deadline): release arg and what run() produced */
typedef void (*vconn_release_fn)(void *arg);

struct vconn_call {
	const char *what; /* for messages: "virNodeGetInfo" */
	vconn_run_fn run;
	vconn_done_fn done;
	vconn_release_fn release; /* optional */
};

/* -ENOTCONN (done not called) while the connection is not up. */
int vconn_call(struct vconn *vc, const struct vconn_call *call, void *arg) __tide_must_check;

bool vconn_connected(const struct vconn *vc);
const char *vconn_uri(const struct vconn *vc);
/* Successful opens after the first one. */
uint32_t vconn_reconnects(const struct vconn *vc);
/* The last failure (open or call) as a sentence, "" if none. */
const char *vconn_last_error(const struct vconn *vc);
/* Calls that did not return within their deadline. */
uint64_t vconn_timeouts(const struct vconn *vc);

/*
 * The connection, for what libvirt does locally on the loop thread (a
 * domain's uuid and name in an event callback).  NULL when down.  Never for
 * an RPC.
 */
virConnectPtr vconn_conn(const struct vconn *vc);

/* Tests: what libvirt's close callback does (any thread). */
void vconn_lost(struct vconn *vc, int reason);

#endif /* TIDE_VCONN_H */
