/* SPDX-License-Identifier: GPL-2.0 */
/*
 * collect: the store's writer: tracks the VMs inv describes and, at every
 * tick, reads their threads, taps and QEMU process, and the host, into it.
 *
 * Driven through an API that knows nothing of libvirt or of BPF, so that
 * inv (the libvirt inventory), a benchmark with simulated VMs and the
 * tests drive it alike; the raw readers are given (tided's start-up takes
 * them from daemon/sources.c, tests from their fakes):
 *
 *	struct collect_opts o = { .readers = sources_readers(), .ring_samples = 64,
 *				  .max_vms = 256 };
 *	collect_init(&o);			// tick_ms 0: the caller ticks
 *	collect_vm_add(&desc, &slot);		// tracks its threads, taps, process
 *	collect_tick();				// one sample of every VM and the host
 *	store_rate(store_vm_find("vm1"), SERIES_RX_BYTES, 1000, &r);	// store.h
 *	collect_vm_remove(slot);
 *	collect_fini();
 *
 * Counters.  Every cumulative figure counts from when collect began
 * tracking the thread, tap or process, whatever the source, and never goes
 * back: collect adds the difference between two raw readings, and a raw
 * counter that restarts (BPF re-attached to a tap recreated under the same
 * name) adds what it counted since.  A change of source (BPF attach
 * failed, link stats used instead) adds nothing for that tick: the two do
 * not count the same thing.  Tap counters are read host side (the raw
 * readers' rx is what the VM sent) and stored once from the VM's side.
 *
 * Cost: every collect_tick() measures its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID): store_self().
 *
 * Not thread-safe: one thread (the loop) calls everything.  Nothing here
 * blocks for long: the readers read mmapped BPF counters, BPF maps and
 * small /proc files.
 */
#ifndef TIDE_COLLECT_H
#define TIDE_COLLECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "net_abi.h" /* struct net_counters */
#include "tide.h"
#include "vm.h"

enum collect_cpu_src {
	COLLECT_CPU_NONE,
	COLLECT_CPU_BPF,  /* daemon/cpu.c */
	COLLECT_CPU_PROC, /* /proc/PID/task/TID/schedstat */
};

enum collect_net_src {
	COLLECT_NET_NONE,    /* not read yet, or the tap does not exist */
	COLLECT_NET_BPF,     /* our tc/tcx programs */
	COLLECT_NET_NETLINK, /* rtnetlink link stats64 */
};

/* Their names ("bpf", "proc", "netlink", "none"): sources.h. */

/* One reading of a vCPU thread (cumulative; the source's own origin). */
struct collect_thread_raw {
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t switches;
	enum collect_cpu_src src; /* BPF counts from cpu_track(), /proc from birth */
};

/* One reading of a tap, host side (cumulative; the source's own origin). */
struct collect_tap_raw {
	struct net_counters c;	  /* rx: what the host received (the VM sent) */
	enum collect_net_src src; /* BPF counts from net_watch(), netlink from creation */
	uint32_t epoch;		  /* changes when the raw counters restart at 0 */
	bool has_drops;		  /* drops are counted by this source */
};

/* One reading of a VM's QEMU process (counts since track_vm). */
struct collect_vm_raw {
	uint64_t kvm_exits;
	uint64_t dirty_ring_pushes;
};

struct collect_host_raw {
	uint64_t cpu_busy_ticks; /* /proc/stat "cpu": all but idle and iowait */
	uint64_t cpu_total_ticks;
	uint32_t cpus;			 /* online: "cpuN" lines of /proc/stat */
	uint64_t memory_bytes;		 /* MemTotal */
	uint64_t memory_available_bytes; /* MemAvailable */
};

/*
 * Raw readers: reads return 0, or -errno when there is nothing to read
 * (the figure keeps its last value); a NULL track hook does nothing, a
 * NULL reader reads nothing (tap NULL: no network figures; vm NULL: no
 * KVM figures).
 */
struct collect_readers {
	int (*track_thread)(uint32_t slot, pid_t pid, const struct vm_thread *t);
	void (*untrack_thread)(const struct vm_thread *t);
	int (*track_tap)(uint32_t slot, const char *ifname);
	void (*untrack_tap)(const char *ifname);
	int (*track_vm)(uint32_t slot, pid_t pid);
	void (*untrack_vm)(pid_t pid);
	int (*thread)(pid_t pid, pid_t tid, struct collect_thread_raw *out);
	int (*tap)(const char *ifname, struct collect_tap_raw *out);
	int (*vm)(pid_t pid, struct collect_vm_raw *out);
	int (*host)(struct collect_host_raw *out);
};

struct collect_opts {
	const struct collect_readers *readers; /* required */
	uint32_t ring_samples; /* samples kept per object, >= 2 (conf: ring_samples) */
	uint32_t max_vms;      /* > 0 (conf: max_vms) */
	uint32_t tick_ms;      /* > 0: tick on a loop timer; 0: caller ticks */
	uint32_t host_cpus;    /* the host's CPU capacity; 0: its online CPUs */
	/* NULL: CLOCK_MONOTONIC in ns.  Tests give a clock they step. */
	uint64_t (*clock_ns)(void);
};

int collect_init(const struct collect_opts *opts) __tide_must_check;
void collect_fini(void);
/* Re-arm the tick timer (conf reload); 0 stops it. */
int collect_set_tick_ms(uint32_t tick_ms);
uint32_t collect_tick_ms(void);
/* The host's CPU capacity (conf reload); 0: its online CPUs. */
void collect_set_host_cpus(uint32_t host_cpus);

/*
 * Track a VM: a slot id (1..max_vms, not reused until others were), and
 * track every vCPU thread, every tap and the QEMU process.  A thread or
 * tap that cannot be tracked is logged and left out, the VM is tracked
 * anyway.  -EEXIST if the uuid is tracked, -ENOSPC when max_vms are.
 */
int collect_vm_add(const struct vm_desc *d, uint32_t *slot) __tide_must_check;
/*
 * New description of a tracked VM (vCPU threads found later, state,
 * memory, taps): threads and taps that appeared are tracked, those gone
 * untracked; the figures of the others go on.  A new QEMU pid means a new
 * process: everything is tracked afresh.
 */
int collect_vm_update(uint32_t slot, const struct vm_desc *d) __tide_must_check;
int collect_vm_remove(uint32_t slot);

/* One sample of every VM and of the host, then the store's subscribers.
 * Returns the number of VMs. */
int collect_tick(void);

#endif /* TIDE_COLLECT_H */
