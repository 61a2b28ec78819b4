// SPDX-License-Identifier: GPL-2.0
/*
 * work: the worker pool, on a real loop and real threads.
 *   - one queue runs its jobs in submission order, done() comes back on the
 *     loop in that order; two queues run in parallel;
 *   - a slow job does not delay the loop's timers;
 *   - deadlines: a running job is detached (done at once with -ETIMEDOUT,
 *     abandon() when run() returns) and its thread replaced, so another
 *     queue is served even with a pool of one thread; a job queued behind
 *     it expires without running;
 *   - shutdown: queued jobs complete with -ECANCELED without running, a
 *     running one is waited for, one that outlasts the bound is detached;
 *     work_queue_free() completes everything of the queue inside the call.
 */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>

#include "../../daemon/work.c"

#define WATCHDOG_MS 10000

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	if (loop_init())
		return -1;
	return loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id);
}

static int teardown(void **state)
{
	work_fini();
	loop_fini();
	return 0;
}

static void start_pool(uint32_t threads, uint32_t shutdown_wait_ms)
{
	struct work_opts o = { .threads = threads, .shutdown_wait_ms = shutdown_wait_ms };

	assert_int_equal(work_init(&o), 0);
}

#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(-1), 0); \
	} while (0)

/* Without the loop: the loop would sleep until a job completes. */
#define WAIT_RAN(r)                             \
	do {                                    \
		while (!atomic_load(&(r)->ran)) \
			usleep(1000);           \
	} while (0)

/* ---- a job that records what happened to it -------------------------------- */

struct rec {
	int tag;
	uint32_t sleep_ms;
	atomic_int ran; /* run() started */
	atomic_int abandoned;
	int done_calls;
	int result;
	bool detached;
	uint64_t done_at_ms;
	int *order; /* run order, written by workers */
	atomic_int *n_order;
	int *done_order; /* done order, on the loop */
	int *n_done;
};

static int rec_run(void *arg)
{
	struct rec *r = arg;

	atomic_store(&r->ran, 1);
	if (r->order)
		r->order[atomic_fetch_add(r->n_order, 1)] = r->tag;
	if (r->sleep_ms)
		usleep(r->sleep_ms * 1000);
	return r->tag;
}

static void rec_done(int result, bool detached, void *arg)
{
	struct rec *r = arg;

	r->done_calls++;
	r->result = result;
	r->detached = detached;
	r->done_at_ms = loop_now_ms();
	if (r->done_order)
		r->done_order[(*r->n_done)++] = r->tag;
}

static void rec_abandon(int result, void *arg)
{
	struct rec *r = arg;

	atomic_store(&r->abandoned, 1);
}

static const struct work_spec rec_spec = { rec_run, rec_done, rec_abandon, 0 };

static void submit(struct work_queue *q, struct rec *r, uint32_t timeout_ms)
{
	struct work_spec s = rec_spec;

	s.timeout_ms = timeout_ms;
	assert_int_equal(work_submit(q, &s, r), 0);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_queue_keeps_order(void **state)
{
	enum { N = 24 };
	struct rec r[N] = { 0 };
	int order[N], done_order[N], n_done = 0;
	atomic_int n_order = 0;
	struct work_queue *q;

	start_pool(4, 0);
	assert_int_equal(work_queue_new("order", &q), 0);
	for (int i = 0; i < N; i++) {
		r[i] = (struct rec){ .tag = i,
				     .sleep_ms = (uint32_t)(i % 3),
				     .order = order,
				     .n_order = &n_order,
				     .done_order = done_order,
				     .n_done = &n_done };
		submit(q, &r[i], 0);
	}
	RUN_UNTIL(n_done == N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(order[i], i);
		assert_int_equal(done_order[i], i);
		assert_int_equal(r[i].result, i);
		assert_false(r[i].detached);
		assert_int_equal(r[i].done_calls, 1);
	}
	assert_int_equal(work_queue_pending(q), 0);
	work_queue_free(q);
}

static void test_queues_run_in_parallel(void **state)
{
	struct rec slow = { .tag = 1, .sleep_ms = 400 }, fast = { .tag = 2 };
	struct work_queue *q1, *q2;
	uint64_t t0 = loop_now_ms();

	start_pool(2, 0);
	assert_int_equal(work_queue_new("slow", &q1), 0);
	assert_int_equal(work_queue_new("fast", &q2), 0);
	submit(q1, &slow, 0);
	submit(q2, &fast, 0);
	RUN_UNTIL(fast.done_calls);
	assert_int_equal(slow.done_calls, 0);
	assert_true(fast.done_at_ms - t0 < 300);
	RUN_UNTIL(slow.done_calls);
	work_queue_free(q1);
	work_queue_free(q2);
}

struct ticker {
	uint64_t last_ms;
	uint64_t max_gap_ms;
	int n;
};

static void tick(void *arg)
{
	struct ticker *t = arg;
	uint64_t now = loop_now_ms();

	if (t->n++ && now - t->last_ms > t->max_gap_ms)
		t->max_gap_ms = now - t->last_ms;
	t->last_ms = now;
}

static void test_slow_job_does_not_delay_timers(void **state)
{
	struct rec slow = { .tag = 7, .sleep_ms = 600 };
	struct ticker tk = { 0 };
	struct work_queue *q;
	int id;

	start_pool(1, 0);
	assert_int_equal(work_queue_new("slow", &q), 0);
	assert_int_equal(loop_add_periodic(10, 0, tick, &tk, &id), 0);
	submit(q, &slow, 0);
	RUN_UNTIL(slow.done_calls);
	loop_remove_timer(id);
	assert_int_equal(slow.result, 7);
	/* 600 ms of work: some 60 ticks, none held up by it (a loaded
	 * machine may add a few ms of scheduling delay, not hundreds) */
	assert_true(tk.n >= 30);
	print_message("  %d ticks of 10 ms during a 600 ms job, largest gap %llu ms\n", tk.n,
		      (unsigned long long)tk.max_gap_ms);
	assert_true(tk.max_gap_ms < 150);
	work_queue_free(q);
}

static void test_deadline_detaches_and_replaces_the_thread(void **state)
{
	struct rec stuck = { .tag = 1, .sleep_ms = 700 }, behind = { .tag = 2 };
	struct rec other = { .tag = 3 };
	struct work_queue *peer, *local;
	struct work_stats st;
	uint64_t t0 = loop_now_ms();

	/* one thread: without a replacement, local would wait for peer */
	start_pool(1, 0);
	assert_int_equal(work_queue_new("peer", &peer), 0);
	assert_int_equal(work_queue_new("local", &local), 0);
	submit(peer, &stuck, 100);
	submit(peer, &behind, 200);
	WAIT_RAN(&stuck);
	submit(local, &other, 0);

	RUN_UNTIL(stuck.done_calls);
	assert_int_equal(stuck.result, -ETIMEDOUT);
	assert_true(stuck.detached);
	assert_true(stuck.done_at_ms - t0 < 400);
	/* the local queue is served beside the stuck job */
	RUN_UNTIL(other.done_calls);
	assert_int_equal(other.result, 3);
	assert_false(atomic_load(&stuck.abandoned));
	/* the job queued behind the stuck one expires without running */
	RUN_UNTIL(behind.done_calls);
	assert_int_equal(behind.result, -ETIMEDOUT);
	assert_false(behind.detached);
	assert_false(atomic_load(&behind.ran));
	work_get_stats(&st);
	assert_int_equal(st.detached, 1);
	assert_int_equal(st.jobs_timed_out, 2);
	/* when run() returns, abandon() releases the job; done() is not called again */
	while (!atomic_load(&stuck.abandoned))
		assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(stuck.done_calls, 1);
	RUN_UNTIL(work_queue_pending(peer) == 0);
	work_queue_free(peer);
	work_queue_free(local);
}

static void test_shutdown_cancels_queued_and_waits_for_running(void **state)
{
	struct rec running = { .tag = 1, .sleep_ms = 200 }, queued[3];
	struct work_queue *q;

	start_pool(1, 2000);
	assert_int_equal(work_queue_new("q", &q), 0);
	submit(q, &running, 0);
	for (int i = 0; i < 3; i++) {
		queued[i] = (struct rec){ .tag = 10 + i };
		submit(q, &queued[i], 5000);
	}
	WAIT_RAN(&running);
	work_fini();
	/* waited for: its own result */
	assert_int_equal(running.done_calls, 1);
	assert_int_equal(running.result, 1);
	assert_false(running.detached);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(queued[i].done_calls, 1);
		assert_int_equal(queued[i].result, -ECANCELED);
		assert_false(atomic_load(&queued[i].ran));
	}
	assert_int_equal(work_submit(q, &rec_spec, &running), -ESHUTDOWN);
}

static void test_shutdown_bound_detaches_a_stuck_job(void **state)
{
	struct rec stuck = { .tag = 1, .sleep_ms = 600 };
	struct work_queue *q;
	uint64_t t0;

	start_pool(2, 100);
	assert_int_equal(work_queue_new("q", &q), 0);
	submit(q, &stuck, 0);
	WAIT_RAN(&stuck);
	t0 = loop_now_ms();
	work_fini();
	assert_true(loop_now_ms() - t0 < 500);
	assert_int_equal(stuck.done_calls, 1);
	assert_int_equal(stuck.result, -ECANCELED);
	assert_true(stuck.detached);
	/* the orphan releases its job when the call returns */
	while (!atomic_load(&stuck.abandoned))
		usleep(10000);
	/* and a new pool starts clean beside it */
	start_pool(1, 0);
	assert_int_equal(work_queue_new("again", &q), 0);
	stuck = (struct rec){ .tag = 5 };
	submit(q, &stuck, 0);
	RUN_UNTIL(stuck.done_calls);
	assert_int_equal(stuck.result, 5);
	work_queue_free(q);
	usleep(50000); /* the orphan thread exits */
}

static void test_queue_free_completes_everything(void **state)
{
	struct rec running = { .tag = 1, .sleep_ms = 300 }, queued = { .tag = 2 };
	struct rec fin = { .tag = 3 };
	struct work_queue *q;

	start_pool(2, 0);
	assert_int_equal(work_queue_new("q", &q), 0);
	submit(q, &fin, 0);
	submit(q, &running, 0);
	submit(q, &queued, 1000);
	WAIT_RAN(&running);
	work_queue_free(q);
	/* inside the call, in submission order */
	assert_int_equal(fin.done_calls, 1);
	assert_int_equal(fin.result, 3);
	assert_int_equal(running.done_calls, 1);
	assert_int_equal(running.result, -ECANCELED);
	assert_true(running.detached);
	assert_int_equal(queued.done_calls, 1);
	assert_int_equal(queued.result, -ECANCELED);
	while (!atomic_load(&running.abandoned))
		assert_int_equal(loop_run_once(10), 0);
	/* nothing more arrives for the freed queue */
	for (int i = 0; i < 5; i++)
		assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(fin.done_calls + running.done_calls + queued.done_calls, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queues_run_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_job_does_not_delay_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_detaches_and_replaces_the_thread,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_cancels_queued_and_waits_for_running,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_bound_detaches_a_stuck_job, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_free_completes_everything, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("work", tests, NULL, NULL);
}
