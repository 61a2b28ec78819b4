// SPDX-License-Identifier: GPL-2.0
/*
 * loop: io_uring event loop.  See loop.h for the contract.
 *
 * How it works.  Each fd watch has at most one poll request of ours in the
 * kernel.  Its user_data is (arm_seq << 32 | id): a completion whose id no
 * longer exists, or whose arm_seq is not the watch's current one, comes from
 * a poll that was cancelled or replaced and is dropped.  That is what lets
 * loop_modify_fd() and loop_remove_fd() act at once (the old poll is merely
 * cancelled, and its late completions are recognised) with no need to wait
 * for the kernel to acknowledge anything before memory is freed.
 *
 * Only the loop thread prepares submissions: API calls mark the watch (or
 * queue a cancellation) and wake the loop through an internal eventfd; the
 * next iteration arms what needs arming before it sleeps.
 *
 * Timers live in a binary heap ordered by (deadline, arm order) on
 * CLOCK_MONOTONIC.  The loop sleeps in io_uring_submit_and_wait_timeout()
 * until the earliest deadline (one io_uring_enter with a timeout argument
 * where the kernel has IORING_FEAT_EXT_ARG, else liburing's own
 * IORING_OP_TIMEOUT), so no timerfd is needed.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define RING_ENTRIES 256
/* completions handled per iteration; the rest wait for the next one, so
 * timers are not starved by a flood of fd events */
#define CQE_BATCH 64
/* ids are (generation << 16 | slot + 1): 65535 live objects, 32767
 * generations before an id repeats, and always a positive int */
#define SLOT_MAX 0xffffu
#define GEN_MASK 0x7fffu
/* completions nobody waits for: cancellations */
#define UD_IGNORE 0
#define HEAP_NONE SIZE_MAX
/* a delay beyond ~34 years is a bug, and would overflow nanoseconds */
#define TIMER_MAX_MS (UINT64_C(1) << 40)
#define NS_PER_MS UINT64_C(1000000)

enum obj_type {
	OBJ_FD = 1,
	OBJ_TIMER,
};

struct obj {
	enum obj_type type;
	int id;
};

struct watch {
	struct obj hdr;
	int fd;
	unsigned int events; /* LOOP_IN | LOOP_OUT | LOOP_EDGE */
	loop_fd_cb cb;
	void *arg;
	uint32_t arm_seq; /* seq of the poll we consider current */
	bool armed;	  /* that poll is in the kernel */
	bool broken;	  /* poll refused (bad fd): silent until modified */
};

struct timer {
	struct obj hdr;
	uint64_t deadline_ns; /* when it fires, jitter included */
	uint64_t nominal_ns;  /* unjittered expiry: keeps a period's phase */
	uint64_t period_ns;
	uint64_t jitter_ns;
	uint64_t order; /* ties on deadline fire in arm order */
	bool periodic;
	size_t heap_idx; /* HEAP_NONE: disabled or firing */
	loop_timer_cb cb;
	void *arg;
};

struct slot {
	struct obj *obj;
	uint16_t gen;
};

struct sig_handler {
	loop_signal_cb cb;
	void *arg;
};

struct loop_eventfd {
	int fd;
	int watch_id;
	loop_eventfd_cb cb;
	void *arg;
};

static struct {
	bool initialised;
	struct io_uring ring;
	pthread_mutex_t lock;
	pthread_t thread;
	bool multishot_ok; /* cleared when the kernel refuses it */
	atomic_bool quit;
	volatile sig_atomic_t quit_signo;

	struct slot *slots;
	size_t n_slots;	  /* allocated */
	size_t next_slot; /* where the search for a free one starts */
	size_t n_watches;

	uint64_t *cancels; /* user_data of polls to cancel */
	size_t n_cancels, cap_cancels;
	bool watches_dirty; /* some watch may need arming */

	struct timer **heap;
	size_t n_heap, cap_heap;
	size_t n_timers;
	uint64_t timer_order;
	bool in_timer_round; /* run_timers() is dispatching */
	uint64_t round_now_ns;

	struct loop_defer *defer_head, *defer_tail;

	uint64_t rng; /* splitmix64 state, for jitter */

	int wake_fd;
	int wake_id;

	int sig_fd;
	int sig_watch_id;
	sigset_t sig_mask;	    /* signals routed to sig_fd */
	sigset_t sig_blocked_by_us; /* to unblock in loop_fini() */
	struct sig_handler sig_handlers[NSIG];
	bool sigpipe_changed;
	struct sigaction old_sigpipe;
	loop_reload_cb reload_cb;
	void *reload_arg;
} lp = {
	.wake_fd = -1,
	.sig_fd = -1,
};

uint64_t loop_now_ms(void)
{
	return util_monotonic_ms();
}

static bool on_loop_thread(void)
{
	return pthread_equal(pthread_self(), lp.thread);
}

/* Caller holds the lock.  From another thread the loop may be asleep with
 * an outdated timeout or unarmed watch: poke it. */
static void wake_if_foreign(void)
{
	uint64_t one = 1;

	if (lp.wake_fd >= 0 && !on_loop_thread())
		(void)!write(lp.wake_fd, &one, sizeof(one));
}

/* ---- object table ------------------------------------------------------ */

static int obj_insert(struct obj *o)
{
	size_t i, n = lp.n_slots;

	for (size_t k = 0; k < n; k++) {
		i = (lp.next_slot + k) % n;
		if (!lp.slots[i].obj)
			goto found;
	}
	if (n >= SLOT_MAX)
		return -EMFILE;
	{
		size_t new_n = n ? n * 2 : 64;
		struct slot *s;

		if (new_n > SLOT_MAX)
			new_n = SLOT_MAX;
		s = realloc(lp.slots, new_n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		memset(s + n, 0, (new_n - n) * sizeof(*s));
		lp.slots = s;
		lp.n_slots = new_n;
		i = n;
	}
found:
	lp.slots[i].gen = (lp.slots[i].gen + 1) & GEN_MASK;
	if (lp.slots[i].gen == 0)
		lp.slots[i].gen = 1;
	lp.slots[i].obj = o;
	lp.next_slot = i + 1;
	o->id = (int)(((unsigned int)lp.slots[i].gen << 16) | (unsigned int)(i + 1));
	return 0;
}

static struct obj *obj_lookup(int id, enum obj_type type)
{
	unsigned int u = (unsigned int)id;
	size_t i = (u & 0xffffu);
	struct obj *o;

	if (id <= 0 || i == 0 || i > lp.n_slots)
		return NULL;
	i--;
	o = lp.slots[i].obj;
	if (!o || o->id != id || o->type != type)
		return NULL;
	return o;
}

static void obj_erase(struct obj *o)
{
	size_t i = ((unsigned int)o->id & 0xffffu) - 1;

	lp.slots[i].obj = NULL;
}

/* ---- fd watches -------------------------------------------------------- */

static uint64_t watch_ud(const struct watch *w)
{
	return ((uint64_t)w->arm_seq << 32) | (uint32_t)w->hdr.id;
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&lp.ring);

	if (!sqe) {
		/* submission queue full: flush it and try once more */
		io_uring_submit(&lp.ring);
		sqe = io_uring_get_sqe(&lp.ring);
	}
	return sqe;
}

/* Forget the watch's poll: cancel it in the kernel, and make any completion
 * it still produces stale. */
static void watch_disarm(struct watch *w)
{
	if (!w->armed)
		return;
	/* loop_add_fd() reserves room for one cancellation per watch; only a
	 * submission queue that stayed full could use it up.  Then the poll
	 * is left to complete on its own: its completion is stale anyway. */
	if (lp.n_cancels < lp.cap_cancels)
		lp.cancels[lp.n_cancels++] = watch_ud(w);
	w->armed = false;
	w->arm_seq++;
}

static void watch_arm(struct watch *w)
{
	unsigned int mask = w->events & (LOOP_IN | LOOP_OUT);
	bool multishot = (w->events & LOOP_EDGE) && lp.multishot_ok;
	struct io_uring_sqe *sqe = get_sqe();

	if (!sqe) {
		lp.watches_dirty = true; /* retry next iteration */
		return;
	}
	w->arm_seq++;
	if (multishot)
		io_uring_prep_poll_multishot(sqe, w->fd, mask);
	else
		io_uring_prep_poll_add(sqe, w->fd, mask);
	io_uring_sqe_set_data64(sqe, watch_ud(w));
	w->armed = true;
}

/* Loop thread, lock held: turn recorded changes into submissions. */
static void sync_watches(void)
{
	for (size_t i = 0; i < lp.n_cancels; i++) {
		struct io_uring_sqe *sqe = get_sqe();

		if (!sqe) {
			/* keep the rest for the next iteration */
			memmove(lp.cancels, lp.cancels + i, (lp.n_cancels - i) * sizeof(*lp.cancels));
			lp.n_cancels -= i;
			goto arm;
		}
		io_uring_prep_poll_remove(sqe, lp.cancels[i]);
		io_uring_sqe_set_data64(sqe, UD_IGNORE);
	}
	lp.n_cancels = 0;
arm:
	if (!lp.watches_dirty)
		return;
	lp.watches_dirty = false;
	for (size_t i = 0; i < lp.n_slots; i++) {
		struct obj *o = lp.slots[i].obj;
		struct watch *w = (struct watch *)o;

		if (!o || o->type != OBJ_FD)
			continue;
		if (w->armed || w->broken || !(w->events & (LOOP_IN | LOOP_OUT)))
			continue;
		watch_arm(w);
	}
}

int loop_add_fd(int fd, unsigned int events, loop_fd_cb cb, void *arg, int *id)
{
	struct watch *w;
	int err;

	if (fd < 0 || !cb || !id || (events & ~(LOOP_IN | LOOP_OUT | LOOP_EDGE)))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->hdr.type = OBJ_FD;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;

	pthread_mutex_lock(&lp.lock);
	if (!lp.initialised) {
		err = -ENODEV;
		goto unlock;
	}
	/* every watch may need one cancellation per iteration: reserve it
	 * now, so that modify and remove never fail for lack of memory */
	if (lp.cap_cancels < lp.n_watches + 1 + lp.n_cancels) {
		size_t cap = (lp.n_watches + 1 + lp.n_cancels) * 2;
		uint64_t *c = realloc(lp.cancels, cap * sizeof(*c));

		if (!c) {
			err = -ENOMEM;
			goto unlock;
		}
		lp.cancels = c;
		lp.cap_cancels = cap;
	}
	err = obj_insert(&w->hdr);
	if (err)
		goto unlock;
	lp.n_watches++;
	lp.watches_dirty = true;
	*id = w->hdr.id;
	w = NULL;
	wake_if_foreign();
unlock:
	pthread_mutex_unlock(&lp.lock);
	free(w);
	return err;
}

int loop_modify_fd(int id, unsigned int events)
{
	struct watch *w;
	int err = 0;

	if (events & ~(LOOP_IN | LOOP_OUT | LOOP_EDGE))
		return -EINVAL;
	pthread_mutex_lock(&lp.lock);
	w = (struct watch *)obj_lookup(id, OBJ_FD);
	if (!w) {
		err = -ENOENT;
		goto unlock;
	}
	if (w->events == events && !w->broken)
		goto unlock;
	watch_disarm(w);
	w->events = events;
	w->broken = false;
	lp.watches_dirty = true;
	wake_if_foreign();
unlock:
	pthread_mutex_unlock(&lp.lock);
	return err;
}

int loop_remove_fd(int id)
{
	struct watch *w;

	pthread_mutex_lock(&lp.lock);
	w = (struct watch *)obj_lookup(id, OBJ_FD);
	if (!w) {
		pthread_mutex_unlock(&lp.lock);
		return -ENOENT;
	}
	watch_disarm(w);
	obj_erase(&w->hdr);
	lp.n_watches--;
	/* the cancellation must reach the kernel soon: until it does, the
	 * poll pins the file even if the caller closes the fd */
	wake_if_foreign();
	pthread_mutex_unlock(&lp.lock);
	free(w);
	return 0;
}

struct cqe_copy {
	uint64_t ud;
	int32_t res;
	uint32_t flags;
};

static void dispatch_cqe(const struct cqe_copy *c)
{
	int id = (int)(uint32_t)c->ud;
	uint32_t seq = (uint32_t)(c->ud >> 32);
	unsigned int revents = 0;
	struct watch *w;
	loop_fd_cb cb;
	void *arg;
	int fd;

	if (c->ud == UD_IGNORE || c->ud == LIBURING_UDATA_TIMEOUT)
		return;
	pthread_mutex_lock(&lp.lock);
	w = (struct watch *)obj_lookup(id, OBJ_FD);
	if (!w || !w->armed || w->arm_seq != seq) {
		pthread_mutex_unlock(&lp.lock);
		return; /* a poll we cancelled or replaced */
	}
	if (!(c->flags & IORING_CQE_F_MORE)) {
		/* the poll is over: level watches always end here, multishot
		 * ones when the kernel drops them (overflow, error) */
		w->armed = false;
		lp.watches_dirty = true;
	}
	if (c->res == -EINVAL && (w->events & LOOP_EDGE) && lp.multishot_ok) {
		log_info("kernel refuses multishot poll; using one-shot polls");
		lp.multishot_ok = false;
	} else if (c->res == -ECANCELED) {
		/* the kernel dropped it (e.g. exec or ring teardown): re-arm */
	} else if (c->res < 0) {
		log_err("cannot poll fd %d: %s; the watch stays silent until modified", w->fd,
			strerror(-c->res));
		w->broken = true;
		revents = LOOP_ERR;
	} else {
		revents = (unsigned int)c->res &
			  ((w->events & (LOOP_IN | LOOP_OUT)) | POLLERR | POLLHUP | POLLNVAL);
	}
	cb = w->cb;
	arg = w->arg;
	fd = w->fd;
	pthread_mutex_unlock(&lp.lock);
	if (revents)
		cb(fd, revents, arg);
}

static void dispatch_cqes(void)
{
	struct io_uring_cqe *cqes[CQE_BATCH];
	struct cqe_copy copy[CQE_BATCH];
	unsigned int n;

	/* copy first: callbacks may submit, and must not see us mid-ring */
	pthread_mutex_lock(&lp.lock);
	n = io_uring_peek_batch_cqe(&lp.ring, cqes, CQE_BATCH);
	for (unsigned int i = 0; i < n; i++) {
		copy[i].ud = io_uring_cqe_get_data64(cqes[i]);
		copy[i].res = cqes[i]->res;
		copy[i].flags = cqes[i]->flags;
	}
	io_uring_cq_advance(&lp.ring, n);
	pthread_mutex_unlock(&lp.lock);

	for (unsigned int i = 0; i < n; i++)
		dispatch_cqe(&copy[i]);
}

/* ---- timers ------------------------------------------------------------ */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->order < b->order;
}

static void heap_set(size_t i, struct timer *t)
{
	lp.heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(size_t i)
{
	struct timer *t = lp.heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, lp.heap[parent]))
			break;
		heap_set(i, lp.heap[parent]);
		i = parent;
	}
	heap_set(i, t);
}

static void heap_down(size_t i)
{
	struct timer *t = lp.heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= lp.n_heap)
			break;
		if (child + 1 < lp.n_heap && timer_before(lp.heap[child + 1], lp.heap[child]))
			child++;
		if (!timer_before(lp.heap[child], t))
			break;
		heap_set(i, lp.heap[child]);
		i = child;
	}
	heap_set(i, t);
}

static void heap_remove(struct timer *t)
{
	size_t i = t->heap_idx;
	struct timer *last;

	if (i == HEAP_NONE)
		return;
	t->heap_idx = HEAP_NONE;
	last = lp.heap[--lp.n_heap];
	if (last == t)
		return;
	heap_set(i, last);
	heap_down(i);
	heap_up(last->heap_idx);
}

static void heap_push(struct timer *t)
{
	/* capacity for every timer is reserved when it is added */
	heap_set(lp.n_heap++, t);
	heap_up(t->heap_idx);
}

static uint64_t rng_next(void)
{
	/* splitmix64: plenty for spreading timers, and lock-protected */
	uint64_t z = (lp.rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Lock held.  Put t in the heap at nominal (+ jitter). */
static void timer_schedule(struct timer *t, uint64_t nominal_ns, uint64_t now)
{
	uint64_t deadline = nominal_ns;

	t->nominal_ns = nominal_ns;
	if (t->jitter_ns) {
		uint64_t span = 2 * t->jitter_ns + 1;
		int64_t offset = (int64_t)(rng_next() % span) - (int64_t)t->jitter_ns;
		int64_t jittered = (int64_t)nominal_ns + offset;

		/* never before now */
		deadline = jittered < (int64_t)now ? now : (uint64_t)jittered;
	}
	/* a timer re-armed while timers are being dispatched waits for the
	 * next iteration: a 0 ms periodic timer must not spin in one round */
	if (lp.in_timer_round && deadline <= lp.round_now_ns)
		deadline = lp.round_now_ns + 1;
	t->deadline_ns = deadline;
	t->order = ++lp.timer_order;
	heap_remove(t);
	heap_push(t);
}

static int timer_add(uint64_t ms, uint64_t jitter_ms, bool periodic, loop_timer_cb cb, void *arg,
		     int *id)
{
	struct timer *t;
	int err;

	if (!cb || !id || ms > TIMER_MAX_MS || jitter_ms > TIMER_MAX_MS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->hdr.type = OBJ_TIMER;
	t->periodic = periodic;
	t->period_ns = ms * NS_PER_MS;
	t->jitter_ns = jitter_ms * NS_PER_MS;
	t->heap_idx = HEAP_NONE;
	t->cb = cb;
	t->arg = arg;

	pthread_mutex_lock(&lp.lock);
	if (!lp.initialised) {
		err = -ENODEV;
		goto unlock;
	}
	if (lp.cap_heap < lp.n_timers + 1) {
		size_t cap = lp.cap_heap ? lp.cap_heap * 2 : 16;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct timer **h = realloc(lp.heap, cap * sizeof(*h));

		if (!h) {
			err = -ENOMEM;
			goto unlock;
		}
		lp.heap = h;
		lp.cap_heap = cap;
	}
	err = obj_insert(&t->hdr);
	if (err)
		goto unlock;
	lp.n_timers++;
	{
		uint64_t now = util_monotonic_ns();

		timer_schedule(t, now + ms * NS_PER_MS, now);
	}
	*id = t->hdr.id;
	t = NULL;
	wake_if_foreign();
unlock:
	pthread_mutex_unlock(&lp.lock);
	free(t);
	return err;
}

int loop_add_timer(uint64_t delay_ms, uint64_t jitter_ms, loop_timer_cb cb, void *arg, int *id)
{
	return timer_add(delay_ms, jitter_ms, false, cb, arg, id);
}

int loop_add_periodic(uint64_t interval_ms, uint64_t jitter_ms, loop_timer_cb cb, void *arg, int *id)
{
	return timer_add(interval_ms, jitter_ms, true, cb, arg, id);
}

int loop_modify_timer(int id, int64_t ms)
{
	struct timer *t;
	int err = 0;

	if (ms > (int64_t)TIMER_MAX_MS)
		return -EINVAL;
	pthread_mutex_lock(&lp.lock);
	t = (struct timer *)obj_lookup(id, OBJ_TIMER);
	if (!t) {
		err = -ENOENT;
		goto unlock;
	}
	if (ms < 0) {
		heap_remove(t);
	} else {
		uint64_t now = util_monotonic_ns();

		if (t->periodic)
			t->period_ns = (uint64_t)ms * NS_PER_MS;
		timer_schedule(t, now + (uint64_t)ms * NS_PER_MS, now);
	}
	wake_if_foreign();
unlock:
	pthread_mutex_unlock(&lp.lock);
	return err;
}

int loop_remove_timer(int id)
{
	struct timer *t;

	pthread_mutex_lock(&lp.lock);
	t = (struct timer *)obj_lookup(id, OBJ_TIMER);
	if (!t) {
		pthread_mutex_unlock(&lp.lock);
		return -ENOENT;
	}
	heap_remove(t);
	obj_erase(&t->hdr);
	lp.n_timers--;
	pthread_mutex_unlock(&lp.lock);
	free(t);
	return 0;
}

static void run_timers(void)
{
	pthread_mutex_lock(&lp.lock);
	lp.in_timer_round = true;
	lp.round_now_ns = util_monotonic_ns();
	while (lp.n_heap > 0 && lp.heap[0]->deadline_ns <= lp.round_now_ns) {
		struct timer *t = lp.heap[0];
		loop_timer_cb cb = t->cb;
		void *arg = t->arg;

		if (t->periodic) {
			uint64_t next = t->nominal_ns + t->period_ns;

			/* fell behind by more than a period (a slow callback,
			 * a stopped process): resume from now, do not burst */
			if (next < lp.round_now_ns)
				next = lp.round_now_ns;
			timer_schedule(t, next, lp.round_now_ns);
		} else {
			heap_remove(t);
			obj_erase(&t->hdr);
			lp.n_timers--;
			free(t);
		}
		pthread_mutex_unlock(&lp.lock);
		cb(arg);
		pthread_mutex_lock(&lp.lock);
	}
	lp.in_timer_round = false;
	pthread_mutex_unlock(&lp.lock);
}

/* ---- deferred calls ---------------------------------------------------- */

void loop_defer(struct loop_defer *node, loop_defer_fn fn, void *arg)
{
	node->fn = fn;
	node->arg = arg;
	node->next = NULL;
	pthread_mutex_lock(&lp.lock);
	if (lp.defer_tail)
		lp.defer_tail->next = node;
	else
		lp.defer_head = node;
	lp.defer_tail = node;
	wake_if_foreign();
	pthread_mutex_unlock(&lp.lock);
}

static void run_defers(void)
{
	struct loop_defer *node;

	/* take the whole list: what the calls queue runs next iteration */
	pthread_mutex_lock(&lp.lock);
	node = lp.defer_head;
	lp.defer_head = lp.defer_tail = NULL;
	pthread_mutex_unlock(&lp.lock);
	while (node) {
		struct loop_defer *next = node->next;

		node->fn(node->arg); /* may free node */
		node = next;
	}
}

/* ---- running ----------------------------------------------------------- */

int loop_run_once(int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	uint64_t wait_ns = UINT64_MAX;
	int ret;

	if (!lp.initialised)
		return -ENODEV;
	if (!on_loop_thread())
		return -EINVAL; /* only the loop thread may touch the ring */
	pthread_mutex_lock(&lp.lock);
	sync_watches();
	if (lp.defer_head || atomic_load(&lp.quit)) {
		wait_ns = 0;
	} else if (lp.n_heap > 0) {
		uint64_t now = util_monotonic_ns();

		wait_ns = lp.heap[0]->deadline_ns > now ? lp.heap[0]->deadline_ns - now : 0;
	}
	pthread_mutex_unlock(&lp.lock);
	if (timeout_ms >= 0 && (uint64_t)timeout_ms * NS_PER_MS < wait_ns)
		wait_ns = (uint64_t)timeout_ms * NS_PER_MS;

	if (wait_ns == 0) {
		ret = io_uring_submit(&lp.ring);
	} else if (wait_ns == UINT64_MAX) {
		ret = io_uring_submit_and_wait(&lp.ring, 1);
	} else {
		ts.tv_sec = (long long)(wait_ns / 1000000000u);
		ts.tv_nsec = (long long)(wait_ns % 1000000000u);
		ret = io_uring_submit_and_wait_timeout(&lp.ring, &cqe, 1, &ts, NULL);
	}
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
		log_err("cannot wait for events on io_uring: %s", strerror(-ret));
		return ret;
	}
	dispatch_cqes();
	run_timers();
	run_defers();
	return 0;
}

int loop_run(void)
{
	int err = 0;

	if (!lp.initialised)
		return -ENODEV;
	if (!on_loop_thread()) {
		log_err("loop_run() called from a thread other than loop_init()'s");
		return -EINVAL;
	}
	while (!atomic_load(&lp.quit)) {
		err = loop_run_once(-1);
		if (err)
			break;
	}
	atomic_store(&lp.quit, false);
	return err;
}

void loop_quit(void)
{
	uint64_t one = 1;

	atomic_store(&lp.quit, true);
	if (lp.wake_fd >= 0)
		(void)!write(lp.wake_fd, &one, sizeof(one));
}

int loop_quit_signal(void)
{
	return lp.quit_signo;
}

static void wake_ready(int fd, unsigned int revents, void *arg)
{
	uint64_t count;

	/* only the wake-up itself matters */
	while (read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count))
		;
}

/* ---- eventfds ---------------------------------------------------------- */

static void eventfd_ready(int fd, unsigned int revents, void *arg)
{
	struct loop_eventfd *h = arg;
	uint64_t count;

	/* one read returns and resets the whole counter */
	if (read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count) && count)
		h->cb(count, h->arg);
}

int loop_add_eventfd(loop_eventfd_cb cb, void *arg, struct loop_eventfd **handle)
{
	struct loop_eventfd *h;
	int err;

	if (!cb || !handle)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cb = cb;
	h->arg = arg;
	h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->fd < 0) {
		err = -errno;
		log_err("cannot create an eventfd: %s", strerror(errno));
		goto cleanup;
	}
	err = loop_add_fd(h->fd, LOOP_IN | LOOP_EDGE, eventfd_ready, h, &h->watch_id);
	if (err)
		goto cleanup;
	*handle = h;
	return 0;
cleanup:
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	return err;
}

int loop_eventfd_signal(struct loop_eventfd *handle)
{
	uint64_t one = 1;

	if (!handle)
		return -EINVAL;
	if (write(handle->fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		/* EAGAIN: the counter is near 2^64, a wake-up is pending anyway */
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return 0;
}

void loop_remove_eventfd(struct loop_eventfd *handle)
{
	if (!handle)
		return;
	loop_remove_fd(handle->watch_id);
	close(handle->fd);
	free(handle);
}

/* ---- signals ----------------------------------------------------------- */

static void signals_ready(int fd, unsigned int revents, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct sig_handler h = { 0 };
		int signo = (int)si.ssi_signo;

		if (signo <= 0 || signo >= NSIG)
			continue;
		pthread_mutex_lock(&lp.lock);
		h = lp.sig_handlers[signo];
		pthread_mutex_unlock(&lp.lock);
		if (h.cb)
			h.cb(signo, (pid_t)si.ssi_pid, h.arg);
	}
}

int loop_add_signal(int signo, loop_signal_cb cb, void *arg)
{
	sigset_t one, current;
	int err = 0, fd;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP || !cb)
		return -EINVAL;
	if (!lp.initialised)
		return -ENODEV;

	sigemptyset(&one);
	sigaddset(&one, signo);
	pthread_sigmask(SIG_SETMASK, NULL, &current);
	if (!sigismember(&current, signo)) {
		/* a blocked signal stays pending for signalfd instead of
		 * running a handler or killing us */
		pthread_sigmask(SIG_BLOCK, &one, NULL);
		sigaddset(&lp.sig_blocked_by_us, signo);
	}

	pthread_mutex_lock(&lp.lock);
	sigaddset(&lp.sig_mask, signo);
	fd = signalfd(lp.sig_fd, &lp.sig_mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		sigdelset(&lp.sig_mask, signo);
		pthread_mutex_unlock(&lp.lock);
		log_err("cannot route signal %d to a signalfd: %s", signo, strerror(-err));
		return err;
	}
	lp.sig_handlers[signo].cb = cb;
	lp.sig_handlers[signo].arg = arg;
	pthread_mutex_unlock(&lp.lock);

	if (lp.sig_fd < 0) {
		lp.sig_fd = fd;
		err = loop_add_fd(fd, LOOP_IN | LOOP_EDGE, signals_ready, NULL, &lp.sig_watch_id);
		if (err) {
			close(fd);
			lp.sig_fd = -1;
			log_err("cannot watch the signalfd: %s", strerror(-err));
		}
	}
	return err;
}

int loop_remove_signal(int signo)
{
	sigset_t one;

	if (signo <= 0 || signo >= NSIG)
		return -EINVAL;
	pthread_mutex_lock(&lp.lock);
	if (!sigismember(&lp.sig_mask, signo)) {
		pthread_mutex_unlock(&lp.lock);
		return -ENOENT;
	}
	sigdelset(&lp.sig_mask, signo);
	lp.sig_handlers[signo].cb = NULL;
	if (lp.sig_fd >= 0)
		signalfd(lp.sig_fd, &lp.sig_mask, SFD_NONBLOCK | SFD_CLOEXEC);
	pthread_mutex_unlock(&lp.lock);
	if (sigismember(&lp.sig_blocked_by_us, signo)) {
		sigemptyset(&one);
		sigaddset(&one, signo);
		sigdelset(&lp.sig_blocked_by_us, signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	return 0;
}

static void quit_on_signal(int signo, pid_t sender_pid, void *arg)
{
	const char *abbrev = sigabbrev_np(signo);

	log_notice("received SIG%s from pid %d; stopping", abbrev ? abbrev : "?", (int)sender_pid);
	lp.quit_signo = signo;
	loop_quit();
}

static void reload_on_signal(int signo, pid_t sender_pid, void *arg)
{
	if (!lp.reload_cb) {
		log_notice("received SIGHUP from pid %d; nothing to reload", (int)sender_pid);
		return;
	}
	log_notice("received SIGHUP from pid %d; reloading", (int)sender_pid);
	lp.reload_cb(lp.reload_arg);
}

int loop_handle_signals(loop_reload_cb reload, void *arg)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	int err;

	lp.reload_cb = reload;
	lp.reload_arg = arg;
	if (!lp.sigpipe_changed) {
		if (sigaction(SIGPIPE, &ign, &lp.old_sigpipe) < 0)
			return -errno;
		lp.sigpipe_changed = true;
	}
	err = loop_add_signal(SIGTERM, quit_on_signal, NULL);
	if (!err)
		err = loop_add_signal(SIGINT, quit_on_signal, NULL);
	if (!err)
		err = loop_add_signal(SIGHUP, reload_on_signal, NULL);
	return err;
}

/* ---- life cycle -------------------------------------------------------- */

int loop_probe(void)
{
	struct io_uring ring;
	int err;

	err = io_uring_queue_init(2, &ring, 0);
	if (err)
		return err;
	io_uring_queue_exit(&ring);
	return 0;
}

int loop_init(void)
{
	int err;

	if (lp.initialised)
		return -EALREADY;
	memset(&lp, 0, sizeof(lp));
	lp.wake_fd = -1;
	lp.sig_fd = -1;
	sigemptyset(&lp.sig_mask);
	sigemptyset(&lp.sig_blocked_by_us);
	pthread_mutex_init(&lp.lock, NULL);
	lp.thread = pthread_self();
	lp.multishot_ok = true;
	if (getrandom(&lp.rng, sizeof(lp.rng), GRND_NONBLOCK) != (ssize_t)sizeof(lp.rng))
		lp.rng = util_monotonic_ns() ^ (uint64_t)getpid();

	err = io_uring_queue_init(RING_ENTRIES, &lp.ring, 0);
	if (err) {
		log_err("cannot create an io_uring: %s%s", strerror(-err),
			err == -EPERM ? " (is the sysctl kernel.io_uring_disabled set?)" : "");
		pthread_mutex_destroy(&lp.lock);
		return err;
	}
	lp.initialised = true;

	lp.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lp.wake_fd < 0) {
		err = -errno;
		log_err("cannot create the loop's wake-up eventfd: %s", strerror(errno));
		goto cleanup;
	}
	err = loop_add_fd(lp.wake_fd, LOOP_IN | LOOP_EDGE, wake_ready, NULL, &lp.wake_id);
	if (err)
		goto cleanup;
	return 0;
cleanup:
	loop_fini();
	return err;
}

void loop_fini(void)
{
	if (!lp.initialised)
		return;

	if (lp.sig_fd >= 0)
		close(lp.sig_fd);
	if (!sigisemptyset(&lp.sig_blocked_by_us)) {
		/* drop what arrived meanwhile, rather than be killed by it now */
		struct timespec zero = { 0 };

		while (sigtimedwait(&lp.sig_blocked_by_us, NULL, &zero) > 0)
			;
		pthread_sigmask(SIG_UNBLOCK, &lp.sig_blocked_by_us, NULL);
	}
	if (lp.sigpipe_changed)
		sigaction(SIGPIPE, &lp.old_sigpipe, NULL);

	/* cancels whatever is still in the kernel */
	io_uring_queue_exit(&lp.ring);
	lp.initialised = false;

	/* deferred releases still owed (libvirt's free callbacks) */
	while (lp.defer_head)
		run_defers();

	for (size_t i = 0; i < lp.n_slots; i++)
		free(lp.slots[i].obj);
	free(lp.slots);
	free(lp.cancels);
	free(lp.heap);
	if (lp.wake_fd >= 0)
		close(lp.wake_fd);
	pthread_mutex_destroy(&lp.lock);
	memset(&lp, 0, sizeof(lp));
	lp.wake_fd = -1;
	lp.sig_fd = -1;
}
