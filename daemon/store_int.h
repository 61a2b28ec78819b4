/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store_int: the store's state, shared by its writer (collect.c) and its
 * reader (store.c) and by nothing else: everyone else reads store.h.
 *
 * A sample of a thread, a tap or a VM holds every VM series (those an
 * object does not carry stay 0), so a new series is a row and no new struct.
 */
#ifndef TIDE_STORE_INT_H
#define TIDE_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "collect.h"
#include "ring.h"
#include "series.h"
#include "store.h"
#include "vm.h"

struct store_sample {
	uint64_t t_ns;		 /* CLOCK_MONOTONIC of the reading */
	uint64_t v[SERIES_VM_N]; /* cumulative since tracking began */
};

struct store_host_sample {
	uint64_t t_ns;
	uint64_t realtime_ns;	   /* CLOCK_REALTIME of the same tick */
	uint64_t v[SERIES_HOST_N]; /* by series - SERIES_VM_N */
};

struct store_thread {
	pid_t tid;
	uint32_t vcpu;
	bool tracked;		  /* the track hook took it */
	enum collect_cpu_src src; /* of the last reading */
	bool have_raw;		  /* last_raw is a baseline */
	struct collect_thread_raw last_raw;
	struct ring ring;
	struct store_sample *samples;
};

struct store_tap {
	char ifname[IFNAMSIZ];
	char mac[VM_MAC_BYTES];
	bool tracked;
	enum collect_net_src src;
	bool has_drops;
	bool have_raw;
	struct collect_tap_raw last_raw;
	struct ring ring;
	struct store_sample *samples;
};

struct store_vm {
	uint32_t slot;
	struct vm_desc desc;	      /* as last given */
	uint64_t added_ns;	      /* CLOCK_MONOTONIC of collect_vm_add() */
	struct store_thread *threads; /* desc.n_threads of them, same order */
	struct store_tap *taps;	      /* desc.n_taps, same order */
	bool proc_tracked;	      /* the track_vm hook took its process */
	struct collect_vm_raw last_raw;
	struct ring ring;
	struct store_sample *samples;
};

struct store_state {
	bool inited;
	const struct collect_readers *rd;
	uint64_t (*clock_ns)(void);
	uint32_t ring_samples;
	uint32_t max_vms;
	struct store_vm **vms; /* [1..max_vms], by slot */
	uint32_t n_vms;
	uint32_t next_slot; /* round robin: a slot is not reused at once */
	uint32_t tick_ms;
	uint32_t host_cpus; /* 0: online */
	int timer_id;
	bool kvm_full_logged;
	struct ring host_ring;
	struct store_host_sample *host_samples;
	uint64_t acc[SERIES_HOST_N]; /* the host's running sums over the VMs */
	struct store_self self;
};

extern struct store_state store_st;

/* The sample of a ring age steps older than the newest, or NULL. */
const struct store_sample *store_sample_at(const struct ring *r, const struct store_sample *samples,
					   uint32_t age);
/* collect_tick(), when done: the subscribers. */
void store_run_subscribers(void);

#endif /* TIDE_STORE_INT_H */
