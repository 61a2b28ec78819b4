/* SPDX-License-Identifier: GPL-2.0 */
/*
 * work: tide's worker threads, for every call that can block (libvirt RPCs).
 * Owns the threads, the serial job queues and the jobs' deadlines; results
 * come back on the loop thread through one of loop's eventfds.
 *
 * A queue runs its jobs one at a time, in submission order (one queue per
 * libvirt connection: calls on a connection keep their order).  Different
 * queues run in parallel on a pool of `threads` threads, taken round-robin.
 *
 * Deadlines.  A job may have a timeout, counted from its submission.  A job
 * still queued when it expires is dropped; a running one cannot be stopped
 * (a libvirt RPC cannot be cancelled), so it is "detached": its done() runs
 * at once with -ETIMEDOUT and detached = true, and the thread it occupies
 * no longer counts in the pool, which starts another one in its place.  So
 * a peer that stops answering holds one thread and its own queue, never the
 * other queues.  The detached job's queue stays blocked until run()
 * returns (order is kept), its later jobs expiring in the queue.
 *
 * Lifetime of a job's arg: done() runs exactly once per job, on the loop
 * thread, at the latest from inside work_queue_free() or work_fini().  When
 * done() gets detached = false, arg is the caller's again.  When it gets
 * detached = true, run() is still using arg: abandon(result, arg) then runs
 * on the worker when run() returns, and must release arg and whatever run()
 * produced.
 *
 * Threads: work_submit(), work_queue_*() and work_init()/work_fini() are
 * for the loop thread.
 */
#ifndef TIDE_WORK_H
#define TIDE_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "tide.h"

#define WORK_THREADS_DEFAULT 4
/* how long work_fini() waits for running jobs before detaching them */
#define WORK_SHUTDOWN_WAIT_MS_DEFAULT 2000

struct work_queue;

/* worker thread: 0 or -errno */
typedef int (*work_run_fn)(void *arg);
/* loop thread, once per job */
typedef void (*work_done_fn)(int result, bool detached, void *arg);
/* worker thread, after run() of a detached job */
typedef void (*work_abandon_fn)(int result, void *arg);

struct work_spec {
	work_run_fn run;
	work_done_fn done;
	work_abandon_fn abandon; /* NULL: arg needs no release */
	uint32_t timeout_ms;	 /* from submission; 0: none */
};

struct work_opts {
	uint32_t threads;	   /* 0: WORK_THREADS_DEFAULT */
	uint32_t shutdown_wait_ms; /* 0: WORK_SHUTDOWN_WAIT_MS_DEFAULT */
};

/* Needs loop. */
int work_init(const struct work_opts *opts) __tide_must_check;
/*
 * Queued jobs complete with -ECANCELED; running ones are waited for up to
 * shutdown_wait_ms, then detached (done() with -ECANCELED, detached).
 */
void work_fini(void);

/* name: for messages ("libvirt qemu:///system"), copied */
int work_queue_new(const char *name, struct work_queue **q) __tide_must_check;
/*
 * Every job of q that has not completed yet completes from inside this
 * call: queued ones with -ECANCELED, a finished one with its result, a
 * running one with -ECANCELED, detached.  No callback of q runs afterwards.
 */
void work_queue_free(struct work_queue *q);
/* Jobs waiting in q, the running one included. */
uint32_t work_queue_pending(const struct work_queue *q);

/* -ESHUTDOWN after work_fini() has started, -ENOMEM */
int work_submit(struct work_queue *q, const struct work_spec *spec, void *arg) __tide_must_check;

struct work_stats {
	uint32_t threads;   /* alive, detached ones included */
	uint32_t busy;	    /* running a job that is not detached */
	uint32_t detached;  /* running a detached job */
	uint64_t jobs_done; /* completed with run()'s own result */
	uint64_t jobs_timed_out;
	uint64_t jobs_cancelled;
};
void work_get_stats(struct work_stats *s);

#endif /* TIDE_WORK_H */
