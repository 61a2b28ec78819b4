// SPDX-License-Identifier: GPL-2.0
/*
 * loop: timers, fd watches, eventfds from threads, signals.
 *
 * loop.c is included (chrony style) to reach its state: the tests check the
 * heap's invariant and can force the one-shot poll path.  Every test runs
 * with a watchdog timer that fails it if the loop gets stuck, and the
 * binary with an alarm() as the outer bound.
 */
#include "unit.h"

#include <pthread.h>
#include <sys/wait.h>

#include "../../daemon/loop.c"

#define WATCHDOG_MS 5000

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_WARNING);
	if (loop_init())
		return -1;
	return loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id);
}

static int teardown(void **state)
{
	loop_fini();
	return 0;
}

/* Run iterations until *done or the watchdog fires. */
static void run_until(const bool *done)
{
	while (!*done)
		assert_int_equal(loop_run_once(-1), 0);
}

static void heap_check(void)
{
	for (size_t i = 1; i < lp.n_heap; i++)
		assert_false(timer_before(lp.heap[i], lp.heap[(i - 1) / 2]));
	for (size_t i = 0; i < lp.n_heap; i++)
		assert_int_equal(lp.heap[i]->heap_idx, i);
}

/* ---- timers ------------------------------------------------------------ */

struct order_log {
	int seen[16];
	int n;
	int expect;
	bool done;
};

struct order_arg {
	struct order_log *log;
	int tag;
};

static void order_cb(void *arg)
{
	struct order_arg *a = arg;

	a->log->seen[a->log->n++] = a->tag;
	if (a->log->n == a->log->expect)
		a->log->done = true;
}

static void test_timers_fire_in_deadline_order(void **state)
{
	/* armed out of order; two share a deadline and must keep arm order */
	static const uint64_t delay_ms[] = { 40, 10, 30, 20, 20, 0 };
	struct order_log log = { .expect = ARRAY_SIZE(delay_ms) };
	struct order_arg args[ARRAY_SIZE(delay_ms)];
	int id;

	for (size_t i = 0; i < ARRAY_SIZE(delay_ms); i++) {
		args[i] = (struct order_arg){ .log = &log, .tag = (int)i };
		assert_int_equal(loop_add_timer(delay_ms[i], 0, order_cb, &args[i], &id), 0);
	}
	heap_check();
	run_until(&log.done);
	assert_int_equal(log.seen[0], 5); /* 0 ms */
	assert_int_equal(log.seen[1], 1); /* 10 ms */
	assert_int_equal(log.seen[2], 3); /* 20 ms, armed first */
	assert_int_equal(log.seen[3], 4); /* 20 ms, armed second */
	assert_int_equal(log.seen[4], 2); /* 30 ms */
	assert_int_equal(log.seen[5], 0); /* 40 ms */
}

static void test_heap_stays_ordered(void **state)
{
	int ids[64];

	/* many timers, then removals from the middle */
	for (int i = 0; i < 64; i++)
		assert_int_equal(loop_add_timer((uint64_t)((i * 37) % 101) + 1000, 0, order_cb,
						NULL, &ids[i]),
				 0);
	heap_check();
	for (int i = 0; i < 64; i += 3)
		assert_int_equal(loop_remove_timer(ids[i]), 0);
	heap_check();
	for (int i = 1; i < 64; i += 3)
		assert_int_equal(loop_modify_timer(ids[i], 2000 - i), 0);
	heap_check();
}

struct periodic {
	int count;
	int stop_at;
	uint64_t first_ms, last_ms;
	bool done;
};

static void periodic_cb(void *arg)
{
	struct periodic *p = arg;

	if (p->count++ == 0)
		p->first_ms = loop_now_ms();
	p->last_ms = loop_now_ms();
	if (p->count == p->stop_at)
		p->done = true;
}

static void test_periodic_timer_repeats(void **state)
{
	struct periodic p = { .stop_at = 5 };
	uint64_t start_ms = loop_now_ms();
	int id;

	assert_int_equal(loop_add_periodic(10, 0, periodic_cb, &p, &id), 0);
	run_until(&p.done);
	assert_int_equal(p.count, 5);
	/* five expiries at 10, 20, ... 50 ms: not early, and on schedule */
	assert_true(p.first_ms - start_ms >= 10);
	assert_true(p.last_ms - start_ms >= 50);
	assert_true(p.last_ms - start_ms < 50 + 1000);
	assert_int_equal(loop_remove_timer(id), 0);
	assert_int_equal(loop_remove_timer(id), -ENOENT);
}

struct jitter {
	uint64_t armed_ms;
	uint64_t min_ms, max_ms;
	int fired;
	bool done;
};

static void jitter_cb(void *arg)
{
	struct jitter *j = arg;
	uint64_t delay_ms = loop_now_ms() - j->armed_ms;

	if (delay_ms < j->min_ms)
		j->min_ms = delay_ms;
	if (delay_ms > j->max_ms)
		j->max_ms = delay_ms;
	if (++j->fired == 40)
		j->done = true;
}

static void test_jitter_within_bounds(void **state)
{
	struct jitter j = { .min_ms = UINT64_MAX };
	int id;

	/* the draw itself: always within [nominal - jitter, nominal + jitter] */
	for (int i = 0; i < 10000; i++) {
		struct timer t = { .jitter_ns = 7 * NS_PER_MS, .heap_idx = HEAP_NONE };
		uint64_t now = UINT64_C(1) << 40;

		pthread_mutex_lock(&lp.lock);
		timer_schedule(&t, now + 20 * NS_PER_MS, now);
		heap_remove(&t);
		pthread_mutex_unlock(&lp.lock);
		assert_true(t.deadline_ns >= now + 13 * NS_PER_MS);
		assert_true(t.deadline_ns <= now + 27 * NS_PER_MS);
	}
	/* and never before now, even with jitter larger than the delay */
	for (int i = 0; i < 1000; i++) {
		struct timer t = { .jitter_ns = 50 * NS_PER_MS, .heap_idx = HEAP_NONE };
		uint64_t now = UINT64_C(1) << 40;

		pthread_mutex_lock(&lp.lock);
		timer_schedule(&t, now + 10 * NS_PER_MS, now);
		heap_remove(&t);
		pthread_mutex_unlock(&lp.lock);
		assert_true(t.deadline_ns >= now);
		assert_true(t.deadline_ns <= now + 60 * NS_PER_MS);
	}

	/* end to end: 20 +- 10 ms, measured in whole ms */
	j.armed_ms = loop_now_ms();
	for (int i = 0; i < 40; i++)
		assert_int_equal(loop_add_timer(20, 10, jitter_cb, &j, &id), 0);
	run_until(&j.done);
	assert_true(j.min_ms >= 10 - 1);
	assert_true(j.max_ms <= 30 + 1000); /* + scheduling slack */
	assert_true(j.max_ms > j.min_ms);   /* 40 draws over 21 ms: spread */
}

struct self_remove {
	int id;
	int count;
	int remove_ret;
	bool done;
};

static void self_remove_cb(void *arg)
{
	struct self_remove *s = arg;

	s->count++;
	s->remove_ret = loop_remove_timer(s->id);
}

static void mark_done(void *arg)
{
	*(bool *)arg = true;
}

static void test_remove_timer_from_own_callback(void **state)
{
	struct self_remove periodic = { 0 }, oneshot = { 0 };
	bool later = false;
	int id;

	assert_int_equal(loop_add_periodic(1, 0, self_remove_cb, &periodic, &periodic.id), 0);
	assert_int_equal(loop_add_timer(1, 0, self_remove_cb, &oneshot, &oneshot.id), 0);
	/* outlives several periods of the 1 ms timer */
	assert_int_equal(loop_add_timer(30, 0, mark_done, &later, &id), 0);
	run_until(&later);
	assert_int_equal(periodic.count, 1);
	assert_int_equal(periodic.remove_ret, 0);
	/* a one-shot timer is gone by the time its callback runs */
	assert_int_equal(oneshot.count, 1);
	assert_int_equal(oneshot.remove_ret, -ENOENT);
	heap_check();
}

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

static void test_zero_interval_fires_once_per_iteration(void **state)
{
	int count = 0, id;

	assert_int_equal(loop_add_periodic(0, 0, count_cb, &count, &id), 0);
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(loop_run_once(-1), 0);
		assert_int_equal(count, i);
	}
	assert_int_equal(loop_remove_timer(id), 0);
}

static void test_disabled_timer_does_not_fire(void **state)
{
	int count = 0, id;
	bool later = false;
	int later_id;

	assert_int_equal(loop_add_periodic(1, 0, count_cb, &count, &id), 0);
	assert_int_equal(loop_modify_timer(id, -1), 0);
	assert_int_equal(loop_add_timer(20, 0, mark_done, &later, &later_id), 0);
	run_until(&later);
	assert_int_equal(count, 0);
	/* enabled again: fires */
	assert_int_equal(loop_modify_timer(id, 1), 0);
	while (count == 0)
		assert_int_equal(loop_run_once(-1), 0);
	assert_int_equal(loop_remove_timer(id), 0);
}

/* ---- fd watches -------------------------------------------------------- */

struct reader {
	int fd;
	int calls;
	int bytes;
	int want_bytes;
	int remove_id; /* removed on the first call, when > 0 */
	bool done;
};

/* Reads one byte per call: a level watch must call again while more wait. */
static void reader_cb(int fd, unsigned int revents, void *arg)
{
	struct reader *r = arg;
	char c;

	assert_true(revents & LOOP_IN);
	r->calls++;
	if (read(fd, &c, 1) == 1)
		r->bytes++;
	if (r->remove_id > 0) {
		assert_int_equal(loop_remove_fd(r->remove_id), 0);
		r->remove_id = 0;
	}
	if (r->bytes == r->want_bytes)
		r->done = true;
}

static void test_fd_readable_level_triggered(void **state)
{
	struct reader r = { .want_bytes = 3 };
	int p[2], id;

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_add_fd(p[0], LOOP_IN, reader_cb, &r, &id), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	run_until(&r.done);
	assert_int_equal(r.calls, 3);
	assert_int_equal(loop_remove_fd(id), 0);
	assert_int_equal(loop_remove_fd(id), -ENOENT);
	close(p[0]);
	close(p[1]);
}

static void test_fd_oneshot_fallback(void **state)
{
	struct reader r = { .want_bytes = 2 };
	int p[2], id;

	/* the path for kernels without multishot poll */
	lp.multishot_ok = false;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_add_fd(p[0], LOOP_IN | LOOP_EDGE, reader_cb, &r, &id), 0);
	assert_int_equal(write(p[1], "a", 1), 1);
	while (r.bytes < 1)
		assert_int_equal(loop_run_once(-1), 0);
	assert_int_equal(write(p[1], "b", 1), 1);
	run_until(&r.done);
	assert_int_equal(loop_remove_fd(id), 0);
	close(p[0]);
	close(p[1]);
}

static void test_fd_modify_events(void **state)
{
	struct reader r = { .want_bytes = 1 };
	int p[2], id;

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_add_fd(p[0], 0, reader_cb, &r, &id), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	/* silent while no events are requested */
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(loop_modify_fd(id, LOOP_IN), 0);
	run_until(&r.done);
	assert_int_equal(r.calls, 1);
	/* and silent again once disabled, although new data arrives */
	assert_int_equal(loop_modify_fd(id, 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(loop_remove_fd(id), 0);
	close(p[0]);
	close(p[1]);
}

static void test_remove_other_watch_from_callback(void **state)
{
	struct reader a = { .want_bytes = 1 }, b = { .want_bytes = 1 };
	int pa[2], pb[2], ida, idb;
	bool later = false;
	int later_id;

	assert_int_equal(pipe2(pa, O_NONBLOCK), 0);
	assert_int_equal(pipe2(pb, O_NONBLOCK), 0);
	assert_int_equal(loop_add_fd(pa[0], LOOP_IN, reader_cb, &a, &ida), 0);
	assert_int_equal(loop_add_fd(pb[0], LOOP_IN, reader_cb, &b, &idb), 0);
	a.remove_id = idb;
	b.remove_id = ida;
	/* both ready in the same iteration: whichever runs first removes the
	 * other, whose completion is then stale and must be dropped */
	assert_int_equal(write(pa[1], "a", 1), 1);
	assert_int_equal(write(pb[1], "b", 1), 1);
	assert_int_equal(loop_add_timer(30, 0, mark_done, &later, &later_id), 0);
	run_until(&later);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(loop_remove_fd(a.calls ? ida : idb), 0);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

struct writer {
	int calls;
	bool done;
};

static void writer_cb(int fd, unsigned int revents, void *arg)
{
	struct writer *w = arg;

	assert_true(revents & LOOP_OUT);
	w->calls++;
	w->done = true;
}

static void test_fd_writable(void **state)
{
	struct writer w = { 0 };
	int p[2], id;

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(loop_add_fd(p[1], LOOP_OUT, writer_cb, &w, &id), 0);
	run_until(&w.done);
	assert_int_equal(loop_remove_fd(id), 0);
	close(p[1]);
	close(p[0]);
}

struct hangup {
	unsigned int revents;
	bool done;
};

static void hangup_cb(int fd, unsigned int revents, void *arg)
{
	struct hangup *h = arg;

	h->revents = revents;
	h->done = true;
}

static void test_fd_hangup_reported(void **state)
{
	struct hangup h = { 0 };
	int p[2], id;

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(loop_add_fd(p[0], LOOP_IN, hangup_cb, &h, &id), 0);
	close(p[1]);
	run_until(&h.done);
	assert_true(h.revents & LOOP_HUP);
	assert_int_equal(loop_remove_fd(id), 0);
	close(p[0]);
}

/* ---- eventfd, defer, threads ------------------------------------------- */

#define THREAD_SIGNALS 1000

struct efd_state {
	struct loop_eventfd *h;
	uint64_t total;
	bool done;
};

static void efd_cb(uint64_t count, void *arg)
{
	struct efd_state *s = arg;

	s->total += count;
	if (s->total == THREAD_SIGNALS)
		s->done = true;
}

static void *signaller(void *arg)
{
	struct efd_state *s = arg;

	for (int i = 0; i < THREAD_SIGNALS; i++)
		if (loop_eventfd_signal(s->h))
			return (void *)1;
	return NULL;
}

static void test_eventfd_from_another_thread(void **state)
{
	struct efd_state s = { 0 };
	pthread_t thread;
	void *ret;

	assert_int_equal(loop_add_eventfd(efd_cb, &s, &s.h), 0);
	assert_int_equal(pthread_create(&thread, NULL, signaller, &s), 0);
	run_until(&s.done);
	assert_int_equal(pthread_join(thread, &ret), 0);
	assert_null(ret);
	assert_int_equal(s.total, THREAD_SIGNALS);
	loop_remove_eventfd(s.h);
}

static void *add_timer_later(void *arg)
{
	int id;

	usleep(20 * 1000); /* the loop is asleep with no deadline by now */
	if (loop_add_timer(0, 0, mark_done, arg, &id))
		return (void *)1;
	return NULL;
}

static void test_timer_added_from_another_thread_wakes_loop(void **state)
{
	pthread_t thread;
	bool done = false;
	void *ret;

	/* leave only the watchdog: without the wake-up the loop would sleep
	 * until it fires and fails the test */
	assert_int_equal(pthread_create(&thread, NULL, add_timer_later, &done), 0);
	run_until(&done);
	assert_int_equal(pthread_join(thread, &ret), 0);
	assert_null(ret);
}

struct deferred {
	bool in_callback;
	bool ran;
	bool ran_inside_callback;
	struct loop_defer node;
};

static void deferred_fn(void *arg)
{
	struct deferred *d = arg;

	d->ran = true;
	d->ran_inside_callback = d->in_callback;
}

static void defer_from_timer(void *arg)
{
	struct deferred *d = arg;

	d->in_callback = true;
	loop_defer(&d->node, deferred_fn, d);
	assert_false(d->ran); /* never synchronous */
	d->in_callback = false;
}

static void test_defer_runs_after_callbacks(void **state)
{
	struct deferred d = { 0 };
	int id;

	assert_int_equal(loop_add_timer(0, 0, defer_from_timer, &d, &id), 0);
	run_until(&d.ran);
	assert_false(d.ran_inside_callback);
}

/* ---- signals ----------------------------------------------------------- */

struct sig_seen {
	int signo;
	pid_t sender;
	int reloads;
	bool done;
};

static void sig_cb(int signo, pid_t sender, void *arg)
{
	struct sig_seen *s = arg;

	s->signo = signo;
	s->sender = sender;
	s->done = true;
}

static void test_signal_through_signalfd(void **state)
{
	struct sig_seen s = { 0 };

	assert_int_equal(loop_add_signal(SIGUSR1, sig_cb, &s), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	run_until(&s.done);
	assert_int_equal(s.signo, SIGUSR1);
	assert_int_equal(s.sender, getpid());
	assert_int_equal(loop_remove_signal(SIGUSR1), 0);
	assert_int_equal(loop_remove_signal(SIGUSR1), -ENOENT);
}

static void reload_cb(void *arg)
{
	struct sig_seen *s = arg;

	s->reloads++;
	/* ask to stop from inside the loop, as a test would */
	kill(getpid(), SIGTERM);
}

static void test_daemon_signals_reload_and_quit(void **state)
{
	struct sig_seen s = { 0 };

	assert_int_equal(loop_handle_signals(reload_cb, &s), 0);
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	/* SIGHUP -> reload, whose SIGTERM -> loop_run() returns */
	assert_int_equal(loop_run(), 0);
	assert_int_equal(s.reloads, 1);
	assert_int_equal(loop_quit_signal(), SIGTERM);
}

static void *quit_later(void *arg)
{
	usleep(10 * 1000);
	loop_quit();
	return NULL;
}

static void test_quit_from_another_thread(void **state)
{
	pthread_t thread;

	/* loop_quit() is thread-safe: the loop wakes and returns */
	assert_int_equal(pthread_create(&thread, NULL, quit_later, NULL), 0);
	assert_int_equal(loop_run(), 0);
	pthread_join(thread, NULL);
	assert_int_equal(loop_quit_signal(), 0);
}

static void test_bad_arguments(void **state)
{
	int id;

	assert_int_equal(loop_add_fd(-1, LOOP_IN, reader_cb, NULL, &id), -EINVAL);
	assert_int_equal(loop_add_fd(0, 0x12345678, reader_cb, NULL, &id), -EINVAL);
	assert_int_equal(loop_modify_fd(12345, LOOP_IN), -ENOENT);
	assert_int_equal(loop_remove_timer(watchdog_id + 1), -ENOENT);
	/* an fd id is not a timer id */
	assert_int_equal(loop_remove_timer(lp.wake_id), -ENOENT);
	assert_int_equal(loop_add_signal(SIGKILL, sig_cb, NULL), -EINVAL);
	assert_int_equal(loop_add_timer(TIMER_MAX_MS + 1, 0, count_cb, NULL, &id), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timers_fire_in_deadline_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_stays_ordered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_timer_repeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jitter_within_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_timer_from_own_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_interval_fires_once_per_iteration, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disabled_timer_does_not_fire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_readable_level_triggered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_oneshot_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_modify_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_other_watch_from_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fd_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_hangup_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd_from_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_added_from_another_thread_wakes_loop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_runs_after_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_through_signalfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_signals_reload_and_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_from_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
