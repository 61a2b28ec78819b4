/* SPDX-License-Identifier: GPL-2.0 */
/*
 * loop: tide's one event loop, and the only module that touches io_uring.
 *
 * Shape of chrony's sched.h: fd watches, one-shot and periodic timers in
 * milliseconds with optional jitter, eventfds for worker threads, signals
 * through signalfd, loop_run() until loop_quit().  Every other module
 * registers callbacks here and never blocks in them.
 *
 * Threads.  Callbacks always run on the thread that called loop_init() and
 * runs loop_run().  The loop_* calls themselves may be made from any thread
 * (libvirt's RPC client updates its watches from whichever thread made a
 * call, and tide runs long libvirt calls in worker threads): they take the
 * loop's lock, record the change and wake the loop, which alone prepares
 * io_uring submissions.  No lock is held while a callback runs, so
 * callbacks may call any loop_* function, including on their own watch or
 * timer.
 *
 * Identifiers.  loop_add_fd() and the timer functions hand back a positive
 * int id (the shape libvirt's virEventRegisterImpl wants).  Ids carry a
 * generation, so a stale id of a removed watch is refused with -ENOENT
 * rather than hitting whatever reused its slot.
 *
 * Level or edge.  By default a watch is level-triggered, like poll(2): it
 * reports again on the next iteration while the fd stays ready, which is
 * what libvirt expects.  io_uring's multishot poll only reports new
 * wake-ups (edge-triggered; a byte left unread is never reported again), so
 * it is used only for watches that pass LOOP_EDGE and promise to drain the
 * fd until EAGAIN (signalfd, eventfds, tide's own sockets).  Level watches
 * use one-shot polls re-armed after each report.
 */
#ifndef TIDE_LOOP_H
#define TIDE_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tide.h"

/* Event bits: the poll(2) ones, so they can be passed straight through. */
#define LOOP_IN POLLIN
#define LOOP_OUT POLLOUT
#define LOOP_ERR POLLERR /* always reported, never requested */
#define LOOP_HUP POLLHUP /* always reported, never requested */
/* Request flag: edge-triggered (multishot when the kernel has it). */
#define LOOP_EDGE (1u << 30)

typedef void (*loop_fd_cb)(int fd, unsigned int revents, void *arg);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_signal_cb)(int signo, pid_t sender_pid, void *arg);
typedef void (*loop_eventfd_cb)(uint64_t count, void *arg);
typedef void (*loop_reload_cb)(void *arg);
typedef void (*loop_defer_fn)(void *arg);

int loop_init(void);
void loop_fini(void);

/*
 * Can this process create an io_uring at all (kernel built with it, not
 * disabled by the kernel.io_uring_disabled sysctl or a seccomp filter)?
 * 0 or -errno; for the feature probe, which must not touch io_uring itself.
 */
int loop_probe(void);

/*
 * Run until loop_quit(); 0 then, -errno when io_uring fails.  Must run on
 * the thread that called loop_init().
 */
int loop_run(void);
/*
 * One iteration: wait up to timeout_ms for something to happen (-1: no
 * limit other than the next timer), then run every callback that is due.
 */
int loop_run_once(int timeout_ms);
/* Make loop_run() return after the current iteration.  Any thread, and
 * async-signal-safe. */
void loop_quit(void);
/* Signal number that made the loop quit through loop_handle_signals(), 0
 * when something else called loop_quit(). */
int loop_quit_signal(void);

/* Milliseconds on CLOCK_MONOTONIC: the clock every timer runs on. */
uint64_t loop_now_ms(void);

/* fd watches.  events: LOOP_IN and/or LOOP_OUT, optionally LOOP_EDGE;
 * 0 keeps the watch registered but silent. */
int loop_add_fd(int fd, unsigned int events, loop_fd_cb cb, void *arg, int *id) __tide_must_check;
int loop_modify_fd(int id, unsigned int events);
/* The fd is not closed: it belongs to the caller, who may close it once
 * this returns. */
int loop_remove_fd(int id);

/*
 * Timers, on CLOCK_MONOTONIC.  jitter_ms spreads each expiry uniformly over
 * [delay - jitter, delay + jitter] (never before now), so that hosts started
 * together do not all poll their peers in the same millisecond.  Periodic
 * timers keep their phase: the n-th expiry is due at start + n * interval
 * (+ jitter), whatever the callbacks cost.  An interval of 0 fires once per
 * loop iteration (libvirt's "0" timeout).  Timers due in the same iteration
 * fire in deadline order, ties in the order they were armed.
 *
 * A one-shot timer is removed just before its callback runs; its id is then
 * stale.
 */
int loop_add_timer(uint64_t delay_ms, uint64_t jitter_ms, loop_timer_cb cb, void *arg,
		   int *id) __tide_must_check;
int loop_add_periodic(uint64_t interval_ms, uint64_t jitter_ms, loop_timer_cb cb, void *arg,
		      int *id) __tide_must_check;
/*
 * Re-arm from now: a one-shot timer fires after ms, a periodic one gets
 * interval ms starting now.  ms < 0 disables the timer without removing it
 * (libvirt's "-1").
 */
int loop_modify_timer(int id, int64_t ms);
int loop_remove_timer(int id);

/*
 * Run fn(arg) on the loop thread at the end of the current iteration (or of
 * the next one, from another thread), never from inside this call.  For
 * releases that must wait until no callback can be running on the object
 * (libvirt's free callbacks).  The node is the caller's, so this cannot
 * fail; it must stay valid until fn runs, and not be queued twice.
 */
struct loop_defer {
	struct loop_defer *next;
	loop_defer_fn fn;
	void *arg;
};
void loop_defer(struct loop_defer *node, loop_defer_fn fn, void *arg);

/*
 * eventfd for worker threads: loop_eventfd_signal() from any thread (and
 * from a signal handler) makes cb run on the loop thread with the number of
 * signals since the last run (several signals may be merged into one run).
 * Join the threads that may signal before loop_remove_eventfd().
 */
struct loop_eventfd;
int loop_add_eventfd(loop_eventfd_cb cb, void *arg, struct loop_eventfd **handle) __tide_must_check;
int loop_eventfd_signal(struct loop_eventfd *handle);
void loop_remove_eventfd(struct loop_eventfd *handle);

/*
 * Signals through one signalfd.  The signal is blocked in the calling
 * thread, so call this from the main thread before any other thread is
 * created (threads inherit the mask).  loop_fini() unblocks what it
 * blocked.
 */
int loop_add_signal(int signo, loop_signal_cb cb, void *arg) __tide_must_check;
int loop_remove_signal(int signo);
/*
 * The daemon's set: SIGTERM and SIGINT log who sent them and quit the loop,
 * SIGHUP calls reload (logged and ignored when reload is NULL), SIGPIPE is
 * ignored (a control client that goes away must give EPIPE, not kill us).
 */
int loop_handle_signals(loop_reload_cb reload, void *arg) __tide_must_check;

#endif /* TIDE_LOOP_H */
