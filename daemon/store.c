// SPDX-License-Identifier: GPL-2.0
/*
 * store: reading the rings collect writes, and the subscribers of the tick.
 * See store.h; the state is in store_int.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store_int.h"
#include "util.h"

#define STORE_MAX_SUBSCRIBERS 8

struct store_state store_st;

static struct {
	store_tick_cb cb;
	void *arg;
} subs[STORE_MAX_SUBSCRIBERS];
static uint32_t n_subs;

static double per_s(uint64_t delta, uint64_t interval_ns)
{
	return interval_ns ? (double)delta * 1e9 / (double)interval_ns : 0.0;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a >= b ? a - b : 0;
}

const struct store_sample *store_sample_at(const struct ring *r, const struct store_sample *samples,
					   uint32_t age)
{
	int i = samples ? ring_index(r, age) : -1;

	return i < 0 ? NULL : &samples[i];
}

static bool is_vm_series(enum series s)
{
	return (unsigned int)s < SERIES_VM_N;
}

static bool is_counter(enum series s)
{
	const struct series_info *i = series_info(s);

	return i && i->kind == SERIES_COUNTER;
}

/* a ring's value of s, age samples older than the newest */
static int ring_value(const struct ring *r, const struct store_sample *samples, enum series s,
		      uint32_t age, uint64_t *out, uint64_t *t_ns)
{
	const struct store_sample *x;

	if (!is_vm_series(s))
		return -EINVAL;
	x = store_sample_at(r, samples, age);
	if (!x)
		return -ENOENT;
	*out = x->v[s];
	if (t_ns)
		*t_ns = x->t_ns;
	return 0;
}

static int ring_rate(const struct ring *r, const struct store_sample *samples, enum series s,
		     uint32_t window_ms, struct store_rate *out)
{
	const struct store_sample *now, *then;
	int base;

	memset(out, 0, sizeof(*out));
	if (!is_vm_series(s) || !is_counter(s))
		return -EINVAL;
	if (!samples)
		return 0;
	base = ring_find_base(r, samples, sizeof(*samples), offsetof(struct store_sample, t_ns),
			      window_ms);
	if (base < 0)
		return 0;
	now = store_sample_at(r, samples, 0);
	then = store_sample_at(r, samples, (uint32_t)base);
	out->interval_ns = now->t_ns - then->t_ns;
	out->per_s = per_s(sub0(now->v[s], then->v[s]), out->interval_ns);
	return 0;
}

/* ---- VMs ----------------------------------------------------------------- */

uint32_t store_vm_count(void)
{
	return store_st.n_vms;
}

const struct store_vm *store_vm_by_slot(uint32_t slot)
{
	if (!store_st.inited || slot == 0 || slot > store_st.max_vms)
		return NULL;
	return store_st.vms[slot];
}

const struct store_vm *store_vm_next(const struct store_vm *prev)
{
	if (!store_st.inited)
		return NULL;
	for (uint32_t s = prev ? prev->slot + 1 : 1; s <= store_st.max_vms; s++)
		if (store_st.vms[s])
			return store_st.vms[s];
	return NULL;
}

const struct store_vm *store_vm_find(const char *name_or_uuid)
{
	const struct store_vm *vm;

	if (!name_or_uuid)
		return NULL;
	for (vm = store_vm_next(NULL); vm; vm = store_vm_next(vm))
		if (vm->desc.name && strcmp(vm->desc.name, name_or_uuid) == 0)
			return vm;
	for (vm = store_vm_next(NULL); vm; vm = store_vm_next(vm))
		if (strcasecmp(vm->desc.uuid, name_or_uuid) == 0)
			return vm;
	return NULL;
}

const struct vm_desc *store_vm_desc(const struct store_vm *vm)
{
	return &vm->desc;
}

uint32_t store_vm_slot(const struct store_vm *vm)
{
	return vm->slot;
}

uint64_t store_vm_tracked_ns(const struct store_vm *vm)
{
	const struct store_sample *s = store_sample_at(&vm->ring, vm->samples, 0);

	return s ? s->t_ns - vm->added_ns : 0;
}

int store_value_at(const struct store_vm *vm, enum series s, uint32_t age, uint64_t *out,
		   uint64_t *t_ns)
{
	if (!vm)
		return -ENOENT;
	return ring_value(&vm->ring, vm->samples, s, age, out, t_ns);
}

int store_value(const struct store_vm *vm, enum series s, uint64_t *out)
{
	return store_part_value(vm, SERIES_VM, 0, s, out);
}

int store_rate(const struct store_vm *vm, enum series s, uint32_t window_ms, struct store_rate *out)
{
	return store_part_rate(vm, SERIES_VM, 0, s, window_ms, out);
}

/* ---- threads and taps ---------------------------------------------------- */

/* the ring and samples of a VM (part SERIES_VM) or of its i-th thread or tap */
static int part_at(const struct store_vm *vm, enum series_scope part, uint32_t i,
		   const struct ring **r, const struct store_sample **samples)
{
	if (!vm)
		return -ENOENT;
	if (part == SERIES_VM) {
		*r = &vm->ring;
		*samples = vm->samples;
	} else if (part == SERIES_THREAD && i < vm->desc.n_threads) {
		*r = &vm->threads[i].ring;
		*samples = vm->threads[i].samples;
	} else if (part == SERIES_TAP && i < vm->desc.n_taps) {
		*r = &vm->taps[i].ring;
		*samples = vm->taps[i].samples;
	} else {
		return -ENOENT;
	}
	return 0;
}

int store_part_value(const struct store_vm *vm, enum series_scope part, uint32_t i, enum series s,
		     uint64_t *out)
{
	const struct store_sample *samples;
	const struct ring *r;
	int err = part_at(vm, part, i, &r, &samples);

	return err ? err : ring_value(r, samples, s, 0, out, NULL);
}

int store_part_rate(const struct store_vm *vm, enum series_scope part, uint32_t i, enum series s,
		    uint32_t window_ms, struct store_rate *out)
{
	const struct store_sample *samples;
	const struct ring *r;
	int err = part_at(vm, part, i, &r, &samples);

	memset(out, 0, sizeof(*out));
	return err ? err : ring_rate(r, samples, s, window_ms, out);
}

int store_thread_info(const struct store_vm *vm, uint32_t i, struct store_thread_info *out)
{
	const struct store_thread *t;

	if (!vm || i >= vm->desc.n_threads)
		return -ENOENT;
	t = &vm->threads[i];
	out->tid = t->tid;
	out->vcpu = t->vcpu;
	out->src = t->src;
	return 0;
}

int store_tap_info(const struct store_vm *vm, uint32_t i, struct store_tap_info *out)
{
	const struct store_tap *t;

	if (!vm || i >= vm->desc.n_taps)
		return -ENOENT;
	t = &vm->taps[i];
	snprintf(out->ifname, sizeof(out->ifname), "%s", t->ifname);
	snprintf(out->mac, sizeof(out->mac), "%s", t->mac);
	out->src = t->src;
	out->read = t->have_raw;
	out->has_drops = t->has_drops;
	return 0;
}

/* ---- the host ------------------------------------------------------------ */

static bool is_host_series(enum series s)
{
	return s >= SERIES_VM_N && s < SERIES_N;
}

static const struct store_host_sample *host_at(uint32_t age)
{
	int i = store_st.inited ? ring_index(&store_st.host_ring, age) : -1;

	return i < 0 ? NULL : &store_st.host_samples[i];
}

int store_host_value(enum series s, uint64_t *out)
{
	const struct store_host_sample *h = host_at(0);

	if (!is_host_series(s))
		return -EINVAL;
	if (!h)
		return -ENOENT;
	*out = h->v[s - SERIES_VM_N];
	return 0;
}

/* the host sample a rate over window_ms starts from, or NULL */
static const struct store_host_sample *host_base(uint32_t window_ms)
{
	int base;

	if (!store_st.inited)
		return NULL;
	base = ring_find_base(&store_st.host_ring, store_st.host_samples,
			      sizeof(*store_st.host_samples),
			      offsetof(struct store_host_sample, t_ns), window_ms);
	return base < 0 ? NULL : host_at((uint32_t)base);
}

int store_host_rate(enum series s, uint32_t window_ms, struct store_rate *out)
{
	const struct store_host_sample *now = host_at(0), *then;

	memset(out, 0, sizeof(*out));
	if (!is_host_series(s) || !is_counter(s))
		return -EINVAL;
	then = host_base(window_ms);
	if (!then)
		return 0;
	out->interval_ns = now->t_ns - then->t_ns;
	out->per_s = per_s(sub0(now->v[s - SERIES_VM_N], then->v[s - SERIES_VM_N]), out->interval_ns);
	return 0;
}

void store_host_load(uint32_t window_ms, struct store_host_load *out)
{
	const struct store_host_sample *now = host_at(0), *then;
	uint64_t busy, total;
	struct store_rate vm_cpu;

	memset(out, 0, sizeof(*out));
	if (!now)
		return;
	out->online_cpus = (uint32_t)now->v[SERIES_HOST_ONLINE_CPUS - SERIES_VM_N];
	out->cpus = store_st.host_cpus ? store_st.host_cpus : out->online_cpus;
	then = host_base(window_ms);
	if (!then)
		return;
	out->interval_ns = now->t_ns - then->t_ns;
	busy = sub0(now->v[SERIES_HOST_CPU_BUSY_TICKS - SERIES_VM_N],
		    then->v[SERIES_HOST_CPU_BUSY_TICKS - SERIES_VM_N]);
	total = sub0(now->v[SERIES_HOST_CPU_TOTAL_TICKS - SERIES_VM_N],
		     then->v[SERIES_HOST_CPU_TOTAL_TICKS - SERIES_VM_N]);
	out->cpu_busy_ratio = total ? (double)busy / (double)total : 0.0;
	if (store_host_rate(SERIES_HOST_VM_CPU_NS, window_ms, &vm_cpu))
		return;
	/* one CPU busy for one second is 1e9 ns of on-CPU time */
	out->load_ratio = out->cpus ? vm_cpu.per_s / 1e9 / out->cpus : 0.0;
}

/* ---- the collection ------------------------------------------------------ */

void store_self(struct store_self *out)
{
	*out = store_st.self;
	out->ring_samples = store_st.ring_samples;
	out->host_cpus = store_st.host_cpus;
}

bool store_has_net(void)
{
	return store_st.inited && store_st.rd->tap;
}

bool store_has_kvm(void)
{
	return store_st.inited && store_st.rd->vm;
}

int store_subscribe(store_tick_cb cb, void *arg)
{
	if (!cb)
		return -EINVAL;
	if (n_subs >= STORE_MAX_SUBSCRIBERS)
		return -ENOSPC;
	subs[n_subs].cb = cb;
	subs[n_subs].arg = arg;
	n_subs++;
	return 0;
}

void store_unsubscribe(store_tick_cb cb, void *arg)
{
	for (uint32_t i = 0; i < n_subs; i++) {
		if (subs[i].cb == cb && subs[i].arg == arg) {
			memmove(&subs[i], &subs[i + 1], (n_subs - i - 1) * sizeof(subs[0]));
			n_subs--;
			return;
		}
	}
}

void store_run_subscribers(void)
{
	/* a subscriber may unsubscribe itself: walk a copy */
	typeof(subs) run;
	uint32_t n = n_subs;

	memcpy(run, subs, sizeof(run));
	for (uint32_t i = 0; i < n; i++)
		run[i].cb(run[i].arg);
}

uint64_t store_now_ns(void)
{
	return store_st.clock_ns ? store_st.clock_ns() : util_monotonic_ns();
}
