// SPDX-License-Identifier: GPL-2.0
/*
 * work: worker threads with serial queues and deadlines.  See work.h.
 *
 * One mutex guards everything (queues, jobs, counters): jobs are few and
 * each is a whole RPC, so contention does not matter, and one lock makes
 * the races between a job finishing on a worker and its deadline expiring
 * on the loop simple: whoever takes the lock first decides the job's fate
 * (JOB_FINISHED or JOB_DETACHED), the other one sees it.
 *
 * Threads are started on demand, up to base + detached: a detached job's
 * thread is replaced, and the thread exits once the job returns and the
 * pool has more threads than it needs.  Threads left running a detached
 * job at work_fini() belong to an older generation: when their job
 * returns they release it and exit without touching the new pool.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "util.h"
#include "work.h"

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_FINISHED, /* waiting on the done list for the loop */
	JOB_DETACHED, /* done() has run; run() still going */
};

struct work_job {
	struct work_job *next, *prev; /* queue, or done list (next only) */
	struct work_queue *q;
	struct work_spec spec;
	void *arg;
	enum job_state state;
	int result;
	int timer_id; /* 0: none */
	uint64_t gen;
};

struct work_queue {
	struct work_queue *all_next; /* every queue of the pool */
	struct work_queue *ready_next;
	bool in_ready;
	bool dead;
	struct work_job *head, *tail; /* queued, oldest first */
	struct work_job *running;     /* running or detached */
	uint32_t n_queued;
	uint32_t refs; /* the owner's, and one per job */
	char *name;
};

static struct {
	bool inited;
	bool conds_ready;
	bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t work_cond; /* workers: a queue became ready */
	pthread_cond_t idle_cond; /* fini: a job finished, a thread exited */
	uint64_t gen;
	uint32_t base_threads;
	uint32_t shutdown_wait_ms;
	uint32_t threads, idle, busy, detached;
	struct work_queue *queues;
	struct work_queue *ready_head, *ready_tail;
	struct work_job *done_head, *done_tail;
	struct loop_eventfd *efd;
	uint64_t jobs_done, jobs_timed_out, jobs_cancelled;
} wp = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- lists (lock held) --------------------------------------------------- */

static void ready_push(struct work_queue *q)
{
	if (q->in_ready || q->dead || q->running || !q->head)
		return;
	q->in_ready = true;
	q->ready_next = NULL;
	if (wp.ready_tail)
		wp.ready_tail->ready_next = q;
	else
		wp.ready_head = q;
	wp.ready_tail = q;
}

/* The next queue with a job to start, NULL if none. */
static struct work_queue *ready_pop(void)
{
	struct work_queue *q;

	while ((q = wp.ready_head)) {
		wp.ready_head = q->ready_next;
		if (!wp.ready_head)
			wp.ready_tail = NULL;
		q->in_ready = false;
		/* emptied by deadlines or a free since it was pushed */
		if (!q->dead && !q->running && q->head)
			return q;
	}
	return NULL;
}

static void queue_unlink(struct work_queue *q, struct work_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		q->head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		q->tail = j->prev;
	j->next = j->prev = NULL;
	q->n_queued--;
}

static void done_push(struct work_job *j)
{
	j->next = NULL;
	if (wp.done_tail)
		wp.done_tail->next = j;
	else
		wp.done_head = j;
	wp.done_tail = j;
}

static void queue_unref(struct work_queue *q)
{
	if (--q->refs)
		return;
	free(q->name);
	free(q);
}

/* ---- threads --------------------------------------------------------------- */

static void *worker_main(void *arg);

static void spawn(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int err;

	if (pthread_attr_init(&attr))
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* signals are the loop's (signalfd): never deliver one to a worker */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, &attr, worker_main, (void *)(uintptr_t)wp.gen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		/* the jobs wait for a thread that is there, or for their deadline */
		log_warn("cannot start a worker thread: %s", strerror(err));
		return;
	}
	wp.threads++;
}

/* Lock held: something became ready; wake a thread or start one. */
static void kick(void)
{
	if (!wp.ready_head || wp.stopping)
		return;
	if (wp.idle)
		pthread_cond_signal(&wp.work_cond);
	else if (wp.threads < wp.base_threads + wp.detached)
		spawn();
}

/* Lock held, dropped and taken again: run() of j returned r. */
static void finish(struct work_job *j, int r)
{
	struct work_queue *q = j->q;

	q->running = NULL;
	if (j->state == JOB_DETACHED) {
		bool mine = j->gen == wp.gen && wp.inited;

		if (mine)
			wp.detached--;
		pthread_mutex_unlock(&wp.lock);
		if (j->spec.abandon)
			j->spec.abandon(r, j->arg);
		pthread_mutex_lock(&wp.lock);
		if (mine) {
			ready_push(q);
			kick();
		}
		queue_unref(q);
		free(j);
		return;
	}
	j->state = JOB_FINISHED;
	j->result = r;
	wp.busy--;
	done_push(j);
	loop_eventfd_signal(wp.efd);
	ready_push(q);
	kick();
	pthread_cond_broadcast(&wp.idle_cond);
}

static void *worker_main(void *arg)
{
	uint64_t gen = (uintptr_t)arg;

	pthread_mutex_lock(&wp.lock);
	for (;;) {
		struct work_queue *q;
		struct work_job *j;
		int r;

		if (gen != wp.gen || wp.stopping)
			break;
		q = ready_pop();
		if (!q) {
			/* a replacement whose detached job came back: not needed */
			if (wp.threads > wp.base_threads + wp.detached)
				break;
			wp.idle++;
			pthread_cond_wait(&wp.work_cond, &wp.lock);
			wp.idle--;
			continue;
		}
		j = q->head;
		queue_unlink(q, j);
		j->state = JOB_RUNNING;
		q->running = j;
		wp.busy++;
		/* another queue may be ready for another thread */
		kick();
		pthread_mutex_unlock(&wp.lock);
		r = j->spec.run(j->arg);
		pthread_mutex_lock(&wp.lock);
		finish(j, r);
	}
	if (gen == wp.gen) {
		wp.threads--;
		pthread_cond_broadcast(&wp.idle_cond);
	}
	pthread_mutex_unlock(&wp.lock);
	return NULL;
}

/* ---- completion on the loop ---------------------------------------------- */

static void complete(struct work_job *j, int result, bool detached)
{
	if (j->timer_id > 0)
		loop_remove_timer(j->timer_id);
	j->timer_id = 0;
	j->spec.done(result, detached, j->arg);
	if (detached)
		return; /* the worker frees it once run() returns */
	pthread_mutex_lock(&wp.lock);
	queue_unref(j->q);
	pthread_mutex_unlock(&wp.lock);
	free(j);
}

/* Lock held: mark a running job detached; the caller then completes it. */
static void detach(struct work_job *j)
{
	j->state = JOB_DETACHED;
	wp.busy--;
	wp.detached++;
	kick();
	pthread_cond_broadcast(&wp.idle_cond);
}

static void on_done(uint64_t count, void *arg)
{
	for (;;) {
		struct work_job *j;

		/* one at a time: a done() may free a queue whose jobs follow */
		pthread_mutex_lock(&wp.lock);
		j = wp.done_head;
		if (j) {
			wp.done_head = j->next;
			if (!wp.done_head)
				wp.done_tail = NULL;
			wp.jobs_done++;
		}
		pthread_mutex_unlock(&wp.lock);
		if (!j)
			break;
		complete(j, j->result, false);
	}
}

static void on_deadline(void *arg)
{
	struct work_job *j = arg;

	j->timer_id = 0; /* one-shot: gone */
	pthread_mutex_lock(&wp.lock);
	switch (j->state) {
	case JOB_QUEUED:
		queue_unlink(j->q, j);
		wp.jobs_timed_out++;
		pthread_mutex_unlock(&wp.lock);
		complete(j, -ETIMEDOUT, false);
		return;
	case JOB_RUNNING:
		detach(j);
		wp.jobs_timed_out++;
		pthread_mutex_unlock(&wp.lock);
		complete(j, -ETIMEDOUT, true);
		return;
	default:
		/* finished: the eventfd delivers it next */
		pthread_mutex_unlock(&wp.lock);
		return;
	}
}

/*
 * Everything of q still to complete, in submission order: finished (on the
 * done list), then running, then queued.  Lock taken here.
 */
static void cancel_queue(struct work_queue *q, bool queued_only)
{
	struct work_job *finished = NULL, **fin_tail = &finished, *queued, *running = NULL;
	struct work_job **pp, *prev = NULL;

	pthread_mutex_lock(&wp.lock);
	if (!queued_only) {
		for (pp = &wp.done_head; *pp;) {
			struct work_job *j = *pp;

			if (j->q != q) {
				prev = j;
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			if (wp.done_tail == j)
				wp.done_tail = prev;
			j->next = NULL;
			*fin_tail = j;
			fin_tail = &j->next;
			wp.jobs_done++;
		}
		if (q->running && q->running->state == JOB_RUNNING) {
			running = q->running;
			detach(running);
			wp.jobs_cancelled++;
		}
	}
	queued = q->head;
	for (struct work_job *j = queued; j; j = j->next)
		wp.jobs_cancelled++;
	q->head = q->tail = NULL;
	q->n_queued = 0;
	pthread_mutex_unlock(&wp.lock);

	while (finished) {
		struct work_job *j = finished;

		finished = j->next;
		complete(j, j->result, false);
	}
	if (running)
		complete(running, -ECANCELED, true);
	while (queued) {
		struct work_job *j = queued;

		queued = j->next;
		complete(j, -ECANCELED, false);
	}
}

/* ---- API ------------------------------------------------------------------- */

int work_queue_new(const char *name, struct work_queue **out)
{
	struct work_queue *q;

	if (!wp.inited)
		return -ENODEV;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->name = strdup(name ? name : "?");
	if (!q->name) {
		free(q);
		return -ENOMEM;
	}
	q->refs = 1;
	pthread_mutex_lock(&wp.lock);
	q->all_next = wp.queues;
	wp.queues = q;
	pthread_mutex_unlock(&wp.lock);
	*out = q;
	return 0;
}

void work_queue_free(struct work_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&wp.lock);
	q->dead = true;
	for (struct work_queue **pp = &wp.queues; *pp; pp = &(*pp)->all_next) {
		if (*pp == q) {
			*pp = q->all_next;
			break;
		}
	}
	pthread_mutex_unlock(&wp.lock);
	cancel_queue(q, false);
	pthread_mutex_lock(&wp.lock);
	queue_unref(q);
	pthread_mutex_unlock(&wp.lock);
}

uint32_t work_queue_pending(const struct work_queue *q)
{
	uint32_t n;

	pthread_mutex_lock(&wp.lock);
	n = q->n_queued + (q->running != NULL);
	pthread_mutex_unlock(&wp.lock);
	return n;
}

int work_submit(struct work_queue *q, const struct work_spec *spec, void *arg)
{
	struct work_job *j;
	int err;

	if (!wp.inited || wp.stopping)
		return -ESHUTDOWN;
	if (!q || !spec || !spec->run || !spec->done)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->q = q;
	j->spec = *spec;
	j->arg = arg;
	j->state = JOB_QUEUED;
	j->gen = wp.gen;
	if (spec->timeout_ms) {
		err = loop_add_timer(spec->timeout_ms, 0, on_deadline, j, &j->timer_id);
		if (err) {
			free(j);
			return err;
		}
	}
	pthread_mutex_lock(&wp.lock);
	j->prev = q->tail;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n_queued++;
	q->refs++;
	ready_push(q);
	kick();
	pthread_mutex_unlock(&wp.lock);
	return 0;
}

void work_get_stats(struct work_stats *s)
{
	pthread_mutex_lock(&wp.lock);
	s->threads = wp.threads;
	s->busy = wp.busy;
	s->detached = wp.detached;
	s->jobs_done = wp.jobs_done;
	s->jobs_timed_out = wp.jobs_timed_out;
	s->jobs_cancelled = wp.jobs_cancelled;
	pthread_mutex_unlock(&wp.lock);
}

int work_init(const struct work_opts *opts)
{
	struct work_opts o = opts ? *opts : (struct work_opts){ 0 };
	pthread_condattr_t ca;
	int err;

	if (wp.inited)
		return -EALREADY;
	if (!wp.conds_ready) {
		/* never destroyed: threads of an older generation may still
		 * take the lock when their detached job returns */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&wp.work_cond, &ca);
		pthread_cond_init(&wp.idle_cond, &ca);
		pthread_condattr_destroy(&ca);
		wp.conds_ready = true;
	}
	err = loop_add_eventfd(on_done, NULL, &wp.efd);
	if (err)
		return err;
	pthread_mutex_lock(&wp.lock);
	wp.gen++;
	wp.base_threads = o.threads ? o.threads : WORK_THREADS_DEFAULT;
	wp.shutdown_wait_ms = o.shutdown_wait_ms ? o.shutdown_wait_ms : WORK_SHUTDOWN_WAIT_MS_DEFAULT;
	wp.threads = wp.idle = wp.busy = wp.detached = 0;
	wp.jobs_done = wp.jobs_timed_out = wp.jobs_cancelled = 0;
	wp.stopping = false;
	wp.inited = true;
	pthread_mutex_unlock(&wp.lock);
	return 0;
}

/* Lock held: wait on idle_cond until cond or the deadline (monotonic ns). */
#define WAIT_UNTIL(cond, deadline_ns)                                            \
	do {                                                                     \
		while (!(cond) && util_monotonic_ns() < (deadline_ns)) {         \
			struct timespec _ts = {                                  \
				.tv_sec = (time_t)((deadline_ns) / 1000000000u), \
				.tv_nsec = (long)((deadline_ns) % 1000000000u),  \
			};                                                       \
			pthread_cond_timedwait(&wp.idle_cond, &wp.lock, &_ts);   \
		}                                                                \
	} while (0)

void work_fini(void)
{
	uint64_t deadline_ns;
	struct work_queue *q;

	if (!wp.inited)
		return;
	pthread_mutex_lock(&wp.lock);
	wp.stopping = true; /* no new job starts; idle threads leave */
	pthread_cond_broadcast(&wp.work_cond);
	pthread_mutex_unlock(&wp.lock);
	for (q = wp.queues; q; q = q->all_next)
		cancel_queue(q, true);

	pthread_mutex_lock(&wp.lock);
	deadline_ns = util_monotonic_ns() + (uint64_t)wp.shutdown_wait_ms * 1000000u;
	WAIT_UNTIL(wp.busy == 0, deadline_ns);
	if (wp.busy)
		log_warn("%u worker thread%s still in a call after %u ms; not waiting for them",
			 wp.busy, wp.busy == 1 ? "" : "s", wp.shutdown_wait_ms);
	pthread_mutex_unlock(&wp.lock);
	/* what finished, then what did not */
	on_done(0, NULL);
	while ((q = wp.queues)) {
		pthread_mutex_lock(&wp.lock);
		wp.queues = q->all_next;
		q->dead = true;
		pthread_mutex_unlock(&wp.lock);
		cancel_queue(q, false);
		pthread_mutex_lock(&wp.lock);
		queue_unref(q);
		pthread_mutex_unlock(&wp.lock);
	}

	pthread_mutex_lock(&wp.lock);
	/* the idle ones are leaving; the detached ones are not waited for */
	deadline_ns = util_monotonic_ns() + 1000000000u;
	WAIT_UNTIL(wp.threads <= wp.detached, deadline_ns);
	wp.gen++; /* whatever still runs is an orphan now */
	wp.inited = false;
	wp.ready_head = wp.ready_tail = NULL;
	pthread_mutex_unlock(&wp.lock);
	loop_remove_eventfd(wp.efd);
	wp.efd = NULL;
}
