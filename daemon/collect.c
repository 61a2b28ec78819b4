// SPDX-License-Identifier: GPL-2.0
/*
 * collect: samples of every tracked VM, per tick, into the store's rings.
 * See collect.h; the state is in store_int.h, the readers in store.c.
 *
 * Each thread, tap and process keeps its last raw reading; a tick adds
 * the difference to the store's own cumulative figures (so they never go
 * back, whatever the raw source does), pushes them into the object's ring
 * with the CLOCK_MONOTONIC time of the reading, and adds the same
 * differences to the VM's and the host's running sums.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "log.h"
#include "loop.h"
#include "store_int.h"
#include "util.h"

/* a store without readers: VMs and the host, no figures */
static const struct collect_readers no_readers;

/* ---- tracking ----------------------------------------------------------- */

static const char *vm_name(const struct store_vm *vm)
{
	return vm->desc.name ? vm->desc.name : "?";
}

static int thread_start(struct store_vm *vm, struct store_thread *t, const struct vm_thread *d)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	t->tid = d->tid;
	t->vcpu = d->vcpu;
	t->samples = calloc(store_st.ring_samples, sizeof(*t->samples));
	if (!t->samples)
		return -ENOMEM;
	t->ring.size = store_st.ring_samples;
	if (store_st.rd->track_thread)
		err = store_st.rd->track_thread(vm->slot, vm->desc.pid, d);
	t->tracked = !err;
	if (err && err != -EOPNOTSUPP)
		log_warn("VM '%s': cannot track vCPU thread %d with BPF: %s; reading its "
			 "/proc schedstat instead",
			 vm_name(vm), (int)d->tid, strerror(-err));
	return 0;
}

static void thread_stop(struct store_thread *t)
{
	struct vm_thread d = { .tid = t->tid, .vcpu = t->vcpu };

	if (t->tracked && store_st.rd->untrack_thread)
		store_st.rd->untrack_thread(&d);
	free(t->samples);
	t->samples = NULL;
	t->tracked = false;
}

static int tap_start(struct store_vm *vm, struct store_tap *t, const struct vm_tap *d)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->ifname, sizeof(t->ifname), "%s", d->ifname);
	snprintf(t->mac, sizeof(t->mac), "%s", d->mac);
	t->samples = calloc(store_st.ring_samples, sizeof(*t->samples));
	if (!t->samples)
		return -ENOMEM;
	t->ring.size = store_st.ring_samples;
	if (store_st.rd->track_tap)
		err = store_st.rd->track_tap(vm->slot, d->ifname);
	t->tracked = !err;
	if (err && err != -EOPNOTSUPP)
		log_warn("VM '%s': cannot watch tap '%s' with BPF: %s; reading its link "
			 "stats instead",
			 vm_name(vm), d->ifname, strerror(-err));
	return 0;
}

static void tap_stop(struct store_tap *t)
{
	if (t->tracked && store_st.rd->untrack_tap)
		store_st.rd->untrack_tap(t->ifname);
	free(t->samples);
	t->samples = NULL;
	t->tracked = false;
}

static void proc_start(struct store_vm *vm)
{
	int err;

	memset(&vm->last_raw, 0, sizeof(vm->last_raw)); /* the hook counts from now */
	if (!store_st.rd->track_vm || vm->desc.pid <= 0)
		return;
	err = store_st.rd->track_vm(vm->slot, vm->desc.pid);
	vm->proc_tracked = !err;
	if (err == -ENOSPC && !store_st.kvm_full_logged)
		log_warn("the KVM exit counters are full (max_vms of the kvm collector): VMs from "
			 "'%s' on have no KVM exit figures",
			 vm_name(vm));
	else if (err && err != -ENOSPC && err != -EOPNOTSUPP)
		log_warn("VM '%s': cannot count its KVM exits: %s", vm_name(vm), strerror(-err));
	store_st.kvm_full_logged |= err == -ENOSPC;
}

static void proc_stop(struct store_vm *vm)
{
	if (vm->proc_tracked && store_st.rd->untrack_vm)
		store_st.rd->untrack_vm(vm->desc.pid);
	vm->proc_tracked = false;
}

static void vm_free(struct store_vm *vm)
{
	if (!vm)
		return;
	for (uint32_t i = 0; vm->threads && i < vm->desc.n_threads; i++)
		thread_stop(&vm->threads[i]);
	for (uint32_t i = 0; vm->taps && i < vm->desc.n_taps; i++)
		tap_stop(&vm->taps[i]);
	proc_stop(vm);
	free(vm->threads);
	free(vm->taps);
	free(vm->samples);
	vm_desc_clear(&vm->desc);
	free(vm);
}

static struct store_vm *find_uuid(const char *uuid)
{
	for (uint32_t s = 1; s <= store_st.max_vms; s++)
		if (store_st.vms[s] && strcasecmp(store_st.vms[s]->desc.uuid, uuid) == 0)
			return store_st.vms[s];
	return NULL;
}

static void sample_vm(struct store_vm *vm, bool to_host);

int collect_vm_add(const struct vm_desc *d, uint32_t *slot)
{
	struct store_vm *vm;
	uint32_t s = 0;
	int err;

	if (!store_st.inited)
		return -ENODEV;
	if (!d->uuid[0])
		return -EINVAL;
	if (find_uuid(d->uuid))
		return -EEXIST;
	if (store_st.n_vms >= store_st.max_vms)
		return -ENOSPC;
	for (uint32_t n = 0; n < store_st.max_vms; n++) {
		uint32_t c = (store_st.next_slot + n) % store_st.max_vms + 1;

		if (!store_st.vms[c]) {
			s = c;
			break;
		}
	}
	if (!s)
		return -ENOSPC;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->slot = s;
	err = vm_desc_copy(&vm->desc, d);
	if (err) {
		free(vm);
		return err;
	}
	vm->samples = calloc(store_st.ring_samples, sizeof(*vm->samples));
	vm->threads = calloc(d->n_threads ? d->n_threads : 1, sizeof(*vm->threads));
	vm->taps = calloc(d->n_taps ? d->n_taps : 1, sizeof(*vm->taps));
	if (!vm->samples || !vm->threads || !vm->taps) {
		err = -ENOMEM;
		goto fail;
	}
	vm->ring.size = store_st.ring_samples;
	vm->added_ns = store_st.clock_ns();
	for (uint32_t i = 0; i < d->n_threads; i++) {
		err = thread_start(vm, &vm->threads[i], &d->threads[i]);
		if (err)
			goto fail;
	}
	for (uint32_t i = 0; i < d->n_taps; i++) {
		err = tap_start(vm, &vm->taps[i], &d->taps[i]);
		if (err)
			goto fail;
	}
	proc_start(vm);
	store_st.vms[s] = vm;
	store_st.n_vms++;
	store_st.next_slot = s % store_st.max_vms;
	/* a first sample now: rates exist after the next tick */
	sample_vm(vm, false);
	*slot = s;
	return 0;
fail:
	vm_free(vm);
	return err;
}

int collect_vm_remove(uint32_t slot)
{
	struct store_vm *vm = store_vm_by_slot(slot) ? store_st.vms[slot] : NULL;

	if (!vm)
		return -ENOENT;
	store_st.vms[slot] = NULL;
	store_st.n_vms--;
	vm_free(vm);
	return 0;
}

int collect_vm_update(uint32_t slot, const struct vm_desc *d)
{
	struct store_vm *vm = store_vm_by_slot(slot) ? store_st.vms[slot] : NULL;
	struct store_thread *threads = NULL;
	struct store_tap *taps = NULL;
	bool new_process;
	struct vm_desc nd;
	int err;

	if (!vm)
		return -ENOENT;
	err = vm_desc_copy(&nd, d);
	if (err)
		return err;
	threads = calloc(d->n_threads ? d->n_threads : 1, sizeof(*threads));
	taps = calloc(d->n_taps ? d->n_taps : 1, sizeof(*taps));
	if (!threads || !taps) {
		free(threads);
		free(taps);
		vm_desc_clear(&nd);
		return -ENOMEM;
	}
	new_process = nd.pid != vm->desc.pid;
	if (new_process)
		proc_stop(vm);

	/* threads: keep those still there (same tid, same process) */
	for (uint32_t i = 0; i < nd.n_threads; i++) {
		struct store_thread *old = NULL;

		for (uint32_t j = 0; !new_process && j < vm->desc.n_threads; j++) {
			if (vm->threads[j].samples && vm->threads[j].tid == nd.threads[i].tid) {
				old = &vm->threads[j];
				break;
			}
		}
		if (old) {
			threads[i] = *old;
			threads[i].vcpu = nd.threads[i].vcpu;
			old->samples = NULL; /* moved: the new entry untracks it */
			old->tracked = false;
			continue;
		}
		/* the new description is in place for the tracker's pid */
		{
			pid_t pid = vm->desc.pid;

			vm->desc.pid = nd.pid;
			err = thread_start(vm, &threads[i], &nd.threads[i]);
			vm->desc.pid = pid;
		}
		if (err)
			goto fail;
	}
	for (uint32_t j = 0; j < vm->desc.n_threads; j++)
		if (vm->threads[j].samples)
			thread_stop(&vm->threads[j]);

	/* taps: by name */
	for (uint32_t i = 0; i < nd.n_taps; i++) {
		struct store_tap *old = NULL;

		for (uint32_t j = 0; j < vm->desc.n_taps; j++) {
			if (vm->taps[j].samples && !strcmp(vm->taps[j].ifname, nd.taps[i].ifname)) {
				old = &vm->taps[j];
				break;
			}
		}
		if (old) {
			taps[i] = *old;
			snprintf(taps[i].mac, sizeof(taps[i].mac), "%s", nd.taps[i].mac);
			old->samples = NULL;
			old->tracked = false;
			continue;
		}
		err = tap_start(vm, &taps[i], &nd.taps[i]);
		if (err)
			goto fail;
	}
	for (uint32_t j = 0; j < vm->desc.n_taps; j++)
		if (vm->taps[j].samples)
			tap_stop(&vm->taps[j]);

	free(vm->threads);
	free(vm->taps);
	vm->threads = threads;
	vm->taps = taps;
	vm_desc_clear(&vm->desc);
	vm->desc = nd;
	if (new_process)
		proc_start(vm);
	return 0;
fail:
	/* cannot happen but for want of memory: the VM goes on as it was,
	 * less the threads and taps already moved (they are dropped) */
	for (uint32_t i = 0; i < nd.n_threads; i++)
		if (threads[i].samples)
			thread_stop(&threads[i]);
	for (uint32_t i = 0; i < nd.n_taps; i++)
		if (taps[i].samples)
			tap_stop(&taps[i]);
	free(threads);
	free(taps);
	vm_desc_clear(&nd);
	return err;
}

/* ---- sampling ----------------------------------------------------------- */

/*
 * Difference of a raw counter since the last reading.  restarted: the
 * source's counter began again at 0 since (everything it shows is new).
 */
static uint64_t raw_delta(uint64_t now, uint64_t last, bool restarted)
{
	if (restarted || now < last)
		return now;
	return now - last;
}

/* The ring's newest sample, stamped now_ns, to add this tick's differences to. */
static struct store_sample next_sample(const struct ring *r, const struct store_sample *samples,
				       uint64_t now_ns)
{
	const struct store_sample *prev = store_sample_at(r, samples, 0);
	struct store_sample s = { 0 };

	if (prev)
		s = *prev;
	s.t_ns = now_ns;
	return s;
}

static void add(struct store_sample *s, struct store_sample *vm_delta, enum series k, uint64_t d)
{
	s->v[k] += d;
	vm_delta->v[k] += d;
}

static void sample_thread(struct store_thread *t, pid_t pid, uint64_t now_ns,
			  struct store_sample *vm_delta)
{
	struct store_sample s = next_sample(&t->ring, t->samples, now_ns);
	struct collect_thread_raw raw = { 0 };

	if (t->samples && store_st.rd->thread && store_st.rd->thread(pid, t->tid, &raw) == 0) {
		if (!t->have_raw || raw.src != t->src) {
			/*
			 * First reading, or another source: BPF counts from
			 * cpu_track() (the origin is ours), anything else from
			 * an origin of its own, which becomes the baseline.
			 */
			if (!t->have_raw && raw.src == COLLECT_CPU_BPF)
				memset(&t->last_raw, 0, sizeof(t->last_raw));
			else
				t->last_raw = raw;
			t->have_raw = true;
			t->src = raw.src;
		}
		add(&s, vm_delta, SERIES_CPU_NS,
		    raw_delta(raw.on_cpu_ns, t->last_raw.on_cpu_ns, false));
		add(&s, vm_delta, SERIES_WAIT_NS, raw_delta(raw.wait_ns, t->last_raw.wait_ns, false));
		add(&s, vm_delta, SERIES_SWITCHES,
		    raw_delta(raw.switches, t->last_raw.switches, false));
		t->last_raw = raw;
	}
	if (t->samples)
		t->samples[ring_push(&t->ring)] = s;
}

static void sample_tap(struct store_tap *t, uint64_t now_ns, struct store_sample *vm_delta)
{
	struct store_sample s = next_sample(&t->ring, t->samples, now_ns);
	struct collect_tap_raw raw = { 0 };

	if (t->samples && store_st.rd->tap && store_st.rd->tap(t->ifname, &raw) == 0) {
		const struct net_counters *now = &raw.c, *last = &t->last_raw.c;
		bool restarted = false;

		if (!t->have_raw || raw.src != t->src) {
			/* as for threads: BPF counts from net_watch() */
			if (!t->have_raw && raw.src == COLLECT_NET_BPF)
				memset(&t->last_raw, 0, sizeof(t->last_raw));
			else
				t->last_raw = raw;
			t->have_raw = true;
			t->src = raw.src;
		} else if (raw.epoch != t->last_raw.epoch) {
			restarted = true;
		}
		/* the one place directions turn: the tap's tx is what the VM received */
		add(&s, vm_delta, SERIES_RX_BYTES,
		    raw_delta(now->tx_bytes, last->tx_bytes, restarted));
		add(&s, vm_delta, SERIES_RX_PACKETS,
		    raw_delta(now->tx_packets, last->tx_packets, restarted));
		add(&s, vm_delta, SERIES_RX_DROPS,
		    raw_delta(now->tx_dropped, last->tx_dropped, restarted));
		add(&s, vm_delta, SERIES_TX_BYTES,
		    raw_delta(now->rx_bytes, last->rx_bytes, restarted));
		add(&s, vm_delta, SERIES_TX_PACKETS,
		    raw_delta(now->rx_packets, last->rx_packets, restarted));
		add(&s, vm_delta, SERIES_TX_DROPS,
		    raw_delta(now->rx_dropped, last->rx_dropped, restarted));
		t->has_drops = raw.has_drops;
		t->last_raw = raw;
	}
	if (t->samples)
		t->samples[ring_push(&t->ring)] = s;
}

static void sample_proc(struct store_vm *vm, struct store_sample *vm_delta)
{
	struct collect_vm_raw raw;

	if (!vm->proc_tracked || !store_st.rd->vm || store_st.rd->vm(vm->desc.pid, &raw))
		return;
	vm_delta->v[SERIES_KVM_EXITS] += raw_delta(raw.kvm_exits, vm->last_raw.kvm_exits, false);
	vm_delta->v[SERIES_DIRTY_RING_PUSHES] += raw_delta(raw.dirty_ring_pushes,
							   vm->last_raw.dirty_ring_pushes, false);
	vm->last_raw = raw;
}

/* One sample of vm; adds its differences to the host's sums when asked. */
static void sample_vm(struct store_vm *vm, bool to_host)
{
	uint64_t now_ns = store_st.clock_ns();
	struct store_sample s = next_sample(&vm->ring, vm->samples, now_ns);
	struct store_sample d = { 0 };

	for (uint32_t i = 0; i < vm->desc.n_threads; i++)
		sample_thread(&vm->threads[i], vm->desc.pid, now_ns, &d);
	for (uint32_t i = 0; i < vm->desc.n_taps; i++)
		sample_tap(&vm->taps[i], now_ns, &d);
	sample_proc(vm, &d);
	for (uint32_t k = 0; k < SERIES_VM_N; k++)
		s.v[k] += d.v[k];
	vm->samples[ring_push(&vm->ring)] = s;
	if (to_host) {
		store_st.acc[SERIES_HOST_VM_CPU_NS - SERIES_VM_N] += d.v[SERIES_CPU_NS];
		store_st.acc[SERIES_HOST_VM_WAIT_NS - SERIES_VM_N] += d.v[SERIES_WAIT_NS];
		store_st.acc[SERIES_HOST_VM_RX_BYTES - SERIES_VM_N] += d.v[SERIES_RX_BYTES];
		store_st.acc[SERIES_HOST_VM_TX_BYTES - SERIES_VM_N] += d.v[SERIES_TX_BYTES];
	}
}

static void sample_host(void)
{
	struct store_host_sample h = { .realtime_ns = store_st.self.last_tick_realtime_ns };
	struct collect_host_raw raw;
	int i = ring_index(&store_st.host_ring, 0);

	if (i >= 0)
		h = store_st.host_samples[i], h.realtime_ns = store_st.self.last_tick_realtime_ns;
	/* on failure: the last figures */
	if (store_st.rd->host && store_st.rd->host(&raw) == 0) {
		h.v[SERIES_HOST_CPU_BUSY_TICKS - SERIES_VM_N] = raw.cpu_busy_ticks;
		h.v[SERIES_HOST_CPU_TOTAL_TICKS - SERIES_VM_N] = raw.cpu_total_ticks;
		h.v[SERIES_HOST_ONLINE_CPUS - SERIES_VM_N] = raw.cpus;
		h.v[SERIES_HOST_MEMORY_BYTES - SERIES_VM_N] = raw.memory_bytes;
		h.v[SERIES_HOST_MEMORY_AVAILABLE_BYTES - SERIES_VM_N] = raw.memory_available_bytes;
	}
	for (uint32_t k = SERIES_HOST_VM_CPU_NS; k <= SERIES_HOST_VM_TX_BYTES; k++)
		h.v[k - SERIES_VM_N] = store_st.acc[k - SERIES_VM_N];
	h.t_ns = store_st.clock_ns();
	store_st.host_samples[ring_push(&store_st.host_ring)] = h;
}

static int tick(bool notify)
{
	uint64_t cpu0 = util_clock_ns(CLOCK_THREAD_CPUTIME_ID), cpu1;
	uint64_t wall0 = store_st.clock_ns();

	if (!store_st.inited)
		return -ENODEV;
	store_st.self.last_tick_ns = wall0;
	store_st.self.last_tick_realtime_ns = util_clock_ns(CLOCK_REALTIME);
	for (uint32_t s = 1; s <= store_st.max_vms; s++)
		if (store_st.vms[s])
			sample_vm(store_st.vms[s], true);
	sample_host();

	cpu1 = util_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	store_st.self.ticks++;
	store_st.self.last_ns = cpu1 - cpu0;
	store_st.self.total_ns += store_st.self.last_ns;
	if (store_st.self.last_ns > store_st.self.max_ns)
		store_st.self.max_ns = store_st.self.last_ns;
	store_st.self.last_wall_ns = store_st.clock_ns() - wall0;
	if (notify)
		store_run_subscribers();
	return (int)store_st.n_vms;
}

int collect_tick(void)
{
	return tick(true);
}
static void on_tick(void *arg)
{
	collect_tick();
}

/* ---- reading ------------------------------------------------------------ */

/* ---- module ------------------------------------------------------------- */

int collect_set_tick_ms(uint32_t tick_ms)
{
	int err = 0;

	if (!store_st.inited)
		return -ENODEV;
	if (store_st.timer_id > 0)
		loop_remove_timer(store_st.timer_id);
	store_st.timer_id = 0;
	store_st.tick_ms = tick_ms;
	if (tick_ms)
		err = loop_add_periodic(tick_ms, 0, on_tick, NULL, &store_st.timer_id);
	return err;
}

uint32_t collect_tick_ms(void)
{
	return store_st.tick_ms;
}

void collect_set_host_cpus(uint32_t host_cpus)
{
	store_st.host_cpus = host_cpus;
}

int collect_init(const struct collect_opts *opts)
{
	int err;

	if (store_st.inited)
		return -EALREADY;
	/* sizes come from the configuration (conf.c's key table holds the defaults) */
	if (opts->ring_samples < 2 || opts->max_vms == 0)
		return -EINVAL;
	memset(&store_st, 0, sizeof(store_st));
	store_st.rd = opts->readers ? opts->readers : &no_readers;
	store_st.host_cpus = opts->host_cpus;
	store_st.clock_ns = opts->clock_ns ? opts->clock_ns : util_monotonic_ns;
	store_st.ring_samples = opts->ring_samples;
	store_st.max_vms = opts->max_vms;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	store_st.vms = calloc(store_st.max_vms + 1, sizeof(*store_st.vms));
	store_st.host_samples = calloc(store_st.ring_samples, sizeof(*store_st.host_samples));
	if (!store_st.vms || !store_st.host_samples) {
		free(store_st.vms);
		free(store_st.host_samples);
		memset(&store_st, 0, sizeof(store_st));
		return -ENOMEM;
	}
	store_st.host_ring.size = store_st.ring_samples;
	store_st.inited = true;
	/* the host's first figures: rates from the first tick on */
	tick(false);
	memset(&store_st.self, 0, sizeof(store_st.self));
	err = collect_set_tick_ms(opts->tick_ms);
	if (err) {
		collect_fini();
		return err;
	}
	return 0;
}

void collect_fini(void)
{
	if (!store_st.inited)
		return;
	if (store_st.timer_id > 0)
		loop_remove_timer(store_st.timer_id);
	for (uint32_t s = 1; s <= store_st.max_vms; s++)
		vm_free(store_st.vms[s]);
	free(store_st.vms);
	free(store_st.host_samples);
	memset(&store_st, 0, sizeof(store_st));
}
