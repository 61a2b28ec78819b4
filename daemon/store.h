/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store: the one read API of tide's figures: per VM (and its vCPU threads
 * and taps) and per host, the value or the rate of a series over a window.
 *
 * Series are rows of one table (series.h); collect writes them at each
 * tick into a ring per object (ring.h), and code that must run after each
 * tick (the estimator, the planner) subscribes:
 *
 *	const struct store_vm *vm = store_vm_find("web-1");
 *	struct store_rate r;
 *	store_rate(vm, SERIES_RX_BYTES, 1000, &r);	// bytes/s the VM received
 *	store_subscribe(on_tick, arg);			// after every tick
 *
 * Rates are differences of two samples of a ring divided by the
 * CLOCK_MONOTONIC time measured between them, never by the nominal tick:
 * the newest sample and the one closest to window_ms older (at least the
 * previous one; the oldest kept if the ring is shorter); window_ms 0: over
 * the last interval.  Network series are the VM's side (rx: received).
 *
 * A store_vm is valid until the next collect_vm_remove() or collect_fini().
 * Not thread-safe: one thread (the loop) calls everything.
 */
#ifndef TIDE_STORE_H
#define TIDE_STORE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect.h"
#include "series.h"
#include "tide.h"
#include "vm.h"

struct store_vm;

/* A rate: per_s over interval_ns (0: fewer than two samples, per_s 0). */
struct store_rate {
	double per_s;
	uint64_t interval_ns;
};

/* ---- VMs ----------------------------------------------------------------- */

uint32_t store_vm_count(void);
/* Iterate: NULL starts, NULL ends.  Order: by slot. */
const struct store_vm *store_vm_next(const struct store_vm *prev);
const struct store_vm *store_vm_by_slot(uint32_t slot);
/* By exact name, else by uuid (any case); NULL if none. */
const struct store_vm *store_vm_find(const char *name_or_uuid);

/* As last given to collect (name, uuid, state, pid, memory, threads, taps). */
const struct vm_desc *store_vm_desc(const struct store_vm *vm);
uint32_t store_vm_slot(const struct store_vm *vm);
/* How long it has been tracked, up to its newest sample. */
uint64_t store_vm_tracked_ns(const struct store_vm *vm);

/*
 * Value of a VM series in the newest sample (age 0) or age samples older:
 * 0, -ENOENT when the ring has no such sample, -EINVAL for a series that
 * is not a VM's.  t_ns (may be NULL): CLOCK_MONOTONIC of that sample.
 */
int store_value_at(const struct store_vm *vm, enum series s, uint32_t age, uint64_t *out,
		   uint64_t *t_ns);
int store_value(const struct store_vm *vm, enum series s, uint64_t *out);
/* Rate of a VM counter over window_ms; -EINVAL for a gauge or not a VM's. */
int store_rate(const struct store_vm *vm, enum series s, uint32_t window_ms, struct store_rate *out);

/* ---- a VM's vCPU threads and taps, by index in its vm_desc ---------------- */

struct store_thread_info {
	pid_t tid;
	uint32_t vcpu;		  /* index, or VM_VCPU_ALL */
	enum collect_cpu_src src; /* of the last reading */
};

struct store_tap_info {
	char ifname[IFNAMSIZ];
	char mac[VM_MAC_BYTES];
	enum collect_net_src src; /* of the last reading */
	bool read;		  /* read at least once (the tap exists) */
	bool has_drops;		  /* its source counts drops */
};

int store_thread_info(const struct store_vm *vm, uint32_t i, struct store_thread_info *out);
int store_tap_info(const struct store_vm *vm, uint32_t i, struct store_tap_info *out);
/*
 * The newest value, or the rate, of a series of one part of a VM: the VM
 * itself (SERIES_VM, i unused), its i-th vCPU thread (SERIES_THREAD) or
 * its i-th tap (SERIES_TAP); a part carries the series of its scope.
 * -ENOENT for no such part or no sample yet, -EINVAL as store_rate().
 */
int store_part_value(const struct store_vm *vm, enum series_scope part, uint32_t i, enum series s,
		     uint64_t *out);
int store_part_rate(const struct store_vm *vm, enum series_scope part, uint32_t i, enum series s,
		    uint32_t window_ms, struct store_rate *out);

/* ---- the host ------------------------------------------------------------- */

int store_host_value(enum series s, uint64_t *out);
int store_host_rate(enum series s, uint32_t window_ms, struct store_rate *out);

/* The host's load over a window, from its series and its CPU capacity. */
struct store_host_load {
	uint64_t interval_ns; /* 0: fewer than two samples */
	uint32_t cpus;	      /* capacity: host_cpus, else online CPUs */
	uint32_t online_cpus;
	double cpu_busy_ratio; /* host CPU use, /proc/stat, 0..1 */
	double load_ratio;     /* VM on-CPU time / capacity */
};
void store_host_load(uint32_t window_ms, struct store_host_load *out);

/* ---- the collection ------------------------------------------------------- */

/* The collection's own cost (CLOCK_THREAD_CPUTIME_ID per collect_tick()). */
struct store_self {
	uint64_t ticks;
	uint64_t last_ns;
	uint64_t max_ns;
	uint64_t total_ns;     /* average = total_ns / ticks */
	uint64_t last_wall_ns; /* CLOCK_MONOTONIC duration of the last tick */
	uint64_t last_tick_ns; /* CLOCK_MONOTONIC when the last tick began */
	uint64_t last_tick_realtime_ns;
	uint32_t ring_samples;
	uint32_t host_cpus; /* as configured; 0: the online CPUs */
};
void store_self(struct store_self *out);

/* The store's clock, CLOCK_MONOTONIC in ns (a test's own clock in tests):
 * ages of what was measured are taken against it. */
uint64_t store_now_ns(void);

/* What the readers give: tap counters, KVM figures. */
bool store_has_net(void);
bool store_has_kvm(void);

/* Run cb(arg) after every tick, in subscription order.  -ENOSPC when full. */
typedef void (*store_tick_cb)(void *arg);
int store_subscribe(store_tick_cb cb, void *arg) __tide_must_check;
void store_unsubscribe(store_tick_cb cb, void *arg);

#endif /* TIDE_STORE_H */
