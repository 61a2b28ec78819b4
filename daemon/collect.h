/* SPDX-License-Identifier: GPL-2.0 */
/*
 * collect: one sample per tick of every tracked VM, into a short ring per
 * VM, vCPU thread and tap; host totals beside them.
 *
 * Driven through an API that knows nothing of libvirt, so that inv (the
 * libvirt inventory) and a benchmark with simulated VMs drive it alike:
 *
 *	struct collect_opts o = { .cpu = cpu, .net = net, .ring_samples = 64 };
 *	collect_init(&o);			// tick_ms 0: the caller ticks
 *	struct vm_desc d = { .uuid = "...", .name = "vm1", .pid = pid,
 *			     .threads = th, .n_threads = 2, ... };
 *	collect_vm_add(&d, &slot);		// cpu_track, net_watch, kvm_track_vm
 *	collect_tick();				// one sample of every VM and the host
 *	const struct collect_vm *vm = collect_vm_find("vm1");
 *	collect_vm_rates(vm, 1000, &r);		// rates over the last second
 *	collect_vm_remove(slot);		// untrack everything
 *	collect_fini();
 *
 * Sources, each with its fallback (struct collect_sources says which):
 *   vCPU threads: daemon/cpu.c (BPF), else /proc/PID/task/TID/schedstat;
 *   taps: daemon/net.c (BPF on tcx/tc, or rtnetlink link stats when its
 *   context runs without BPF, or for a tap BPF could not attach to);
 *   host: /proc/stat (CPU busy, online CPUs), /proc/meminfo.
 *
 * Counters.  Every cumulative figure here counts from when collect began
 * tracking the thread or tap (cpu_track, net_watch), whatever the source,
 * and never goes back: collect adds the difference between two raw
 * readings, and a raw counter that restarts (BPF re-attached to a tap
 * recreated under the same name) adds what it counted since.  A change of
 * source (BPF attach failed, link stats used instead) adds nothing for that
 * tick: the two do not count the same thing.
 *
 * Rates are differences divided by the CLOCK_MONOTONIC time measured
 * between the two readings, never by the nominal tick.
 *
 * Directions are the tap's, as the host sees it (rx: the VM sent), the
 * same as in net.h; callers presenting the VM's point of view swap them
 * (include/net_abi.h).
 *
 * Cost: every collect_tick() measures its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID): collect_self().
 *
 * Not thread-safe: one thread (the loop) calls everything.  Nothing here
 * blocks for long: reads are mmapped BPF counters, BPF map lookups and
 * small /proc files.
 */
#ifndef TIDE_COLLECT_H
#define TIDE_COLLECT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tide.h"
#include "vm.h"

struct cpu_ctx;
struct net_ctx;
struct kvm_ctx;

#define COLLECT_RING_DEFAULT 64

/* ---- sources ------------------------------------------------------------ */

enum collect_cpu_src {
	COLLECT_CPU_NONE,
	COLLECT_CPU_BPF,		/* daemon/cpu.c */
	COLLECT_CPU_PROC,		/* /proc/PID/task/TID/schedstat */
};

enum collect_net_src {
	COLLECT_NET_NONE,		/* not read yet, or the tap does not exist */
	COLLECT_NET_BPF,		/* our tc/tcx programs */
	COLLECT_NET_NETLINK,		/* rtnetlink link stats64 */
};

const char *collect_cpu_src_name(enum collect_cpu_src s);	/* "bpf", "proc", "none" */
const char *collect_net_src_name(enum collect_net_src s);	/* "bpf", "netlink", "none" */

/*
 * Open the collectors as configured, each falling back as far as it can,
 * and log which path each takes and why: cpu (tp_btf, raw_tp, else /proc
 * schedstat), net (tcx, tc, else netlink), kvm (tracepoints, else off).
 * Never fails for want of BPF: degraded is set instead (and logged at
 * error level).  0 or -ENOMEM.  Used by tided and by benchmarks.
 */
struct collect_sources {
	struct cpu_ctx *cpu;
	struct net_ctx *net;
	struct kvm_ctx *kvm;
	char cpu_mode[32];		/* "tp_btf", "raw_tp", "proc" */
	char net_mode[32];		/* "tcx", "tc", "netlink", "none" */
	char kvm_mode[32];		/* "tracepoint", "off" */
	char cpu_note[256];		/* why a fallback was taken ("" if none) */
	char net_note[256];
	char kvm_note[256];
	bool degraded;			/* a BPF collector could not load */
};

struct collect_sources_opts {
	int cpu_source;			/* enum conf_cpu_source */
	int net_source;			/* enum conf_net_source */
	bool kvm_stats;
	uint32_t max_vms;		/* kvm map size; 0: KVM_MAX_VMS_DEFAULT */
};

int collect_sources_open(const struct collect_sources_opts *opts, struct collect_sources *out)
	__tide_must_check;
/* The same, one collector at a time (out zeroed by the caller first). */
int collect_sources_open_cpu(const struct collect_sources_opts *opts, struct collect_sources *out);
int collect_sources_open_net(const struct collect_sources_opts *opts, struct collect_sources *out);
int collect_sources_open_kvm(const struct collect_sources_opts *opts, struct collect_sources *out);
void collect_sources_close(struct collect_sources *s);

/* ---- the module --------------------------------------------------------- */

struct collect_opts {
	struct cpu_ctx *cpu;		/* NULL: /proc schedstat */
	struct net_ctx *net;		/* NULL: no tap counters */
	struct kvm_ctx *kvm;		/* NULL: no KVM exits */
	uint32_t ring_samples;		/* 0: COLLECT_RING_DEFAULT */
	uint32_t max_vms;		/* 0: 4096 */
	uint32_t tick_ms;		/* > 0: tick on a loop timer; 0: caller ticks */
	const char *proc_root;		/* NULL: "/proc" (tests give a fake tree) */
	/* NULL: CLOCK_MONOTONIC in ns.  Tests give a clock they step. */
	uint64_t (*clock_ns)(void);
	/* Raw readers, for tests: NULL uses the sources above. */
	const struct collect_readers *readers;
	/* What the sources are, for reports (modes, notes); may be NULL. */
	const struct collect_sources *sources;
};

/* One reading of a vCPU thread (cumulative; the source's own origin). */
struct collect_thread_raw {
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t switches;
	enum collect_cpu_src src;	/* BPF counts from cpu_track(), /proc from birth */
};

/* One reading of a tap, host side (cumulative; the source's own origin). */
struct collect_tap_raw {
	uint64_t rx_bytes, rx_packets, rx_drops;
	uint64_t tx_bytes, tx_packets, tx_drops;
	enum collect_net_src src;	/* BPF counts from net_watch(), netlink from creation */
	uint32_t epoch;			/* changes when the raw counters restart at 0 */
	bool has_drops;			/* drops are counted by this source */
};

struct collect_host_raw {
	uint64_t cpu_busy_ticks;	/* /proc/stat "cpu": all but idle and iowait */
	uint64_t cpu_total_ticks;
	uint32_t cpus;			/* online: "cpuN" lines of /proc/stat */
	uint64_t memory_bytes;		/* MemTotal */
	uint64_t memory_available_bytes;	/* MemAvailable */
};

/*
 * Reader hooks, for tests: reads return 0, or -errno when there is
 * nothing to read (the figure keeps its last value); a NULL track hook
 * does nothing, a NULL reader reads nothing.
 */
struct collect_readers {
	int (*track_thread)(uint32_t slot, pid_t pid, const struct vm_thread *t);
	void (*untrack_thread)(const struct vm_thread *t);
	int (*track_tap)(uint32_t slot, const char *ifname);
	void (*untrack_tap)(const char *ifname);
	int (*thread)(pid_t pid, pid_t tid, struct collect_thread_raw *out);
	int (*tap)(const char *ifname, struct collect_tap_raw *out);
	int (*host)(struct collect_host_raw *out);
};

int collect_init(const struct collect_opts *opts) __tide_must_check;
void collect_fini(void);
/* Re-arm the tick timer (conf reload); 0 stops it. */
int collect_set_tick_ms(uint32_t tick_ms);
uint32_t collect_tick_ms(void);

/*
 * Track a VM: a slot id (1..max_vms, not reused until others were), and
 * cpu_track() of every vCPU thread, net_watch() of every tap,
 * kvm_track_vm() of the QEMU pid.  A thread or tap that cannot be tracked
 * is logged and left out, the VM is tracked anyway.  -EEXIST if the uuid
 * is tracked, -ENOSPC when max_vms are.
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

/* One sample of every VM and of the host.  Returns the number of VMs. */
int collect_tick(void);

/* ---- reading ------------------------------------------------------------ */

/* A sample of one vCPU thread: cumulative figures since tracking began. */
struct collect_cpu_sample {
	uint64_t t_ns;			/* CLOCK_MONOTONIC of the reading */
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t switches;
};

/* A sample of one tap, host side: cumulative since tracking began. */
struct collect_net_sample {
	uint64_t t_ns;
	uint64_t rx_bytes, rx_packets, rx_drops;
	uint64_t tx_bytes, tx_packets, tx_drops;
};

/* A sample of one VM: sums over its threads and taps. */
struct collect_vm_sample {
	uint64_t t_ns;
	struct collect_cpu_sample cpu;	/* t_ns unused */
	struct collect_net_sample net;	/* t_ns unused */
};

struct collect_host_sample {
	uint64_t t_ns;
	uint64_t realtime_ns;		/* CLOCK_REALTIME of the same tick */
	struct collect_host_raw raw;
	/* sums over the VMs, cumulative (VMs come and go: use the rates) */
	uint64_t vm_on_cpu_ns, vm_wait_ns;
	uint64_t vm_rx_bytes, vm_tx_bytes;
};

/* A ring: ring_samples entries, newest at head; count <= size. */
struct collect_ring {
	uint32_t size;
	uint32_t head;			/* index of the newest */
	uint32_t count;
};

struct collect_thread {
	pid_t tid;
	uint32_t vcpu;
	bool tracked;			/* cpu_track() took it */
	enum collect_cpu_src src;	/* of the last reading */
	bool have_raw;			/* last_raw is a baseline */
	struct collect_thread_raw last_raw;
	struct collect_ring ring;
	struct collect_cpu_sample *samples;
};

struct collect_tap {
	char ifname[IFNAMSIZ];
	char mac[VM_MAC_BYTES];
	bool tracked;			/* net_watch() took it */
	enum collect_net_src src;	/* of the last reading */
	bool has_drops;
	bool have_raw;
	struct collect_tap_raw last_raw;
	struct collect_ring ring;
	struct collect_net_sample *samples;
};

struct collect_vm {
	uint32_t slot;
	struct vm_desc desc;		/* as last given */
	uint64_t added_ns;		/* CLOCK_MONOTONIC of collect_vm_add() */
	struct collect_thread *threads;	/* desc.n_threads of them, same order */
	struct collect_tap *taps;	/* desc.n_taps, same order */
	bool kvm_tracked;
	uint64_t kvm_exits;		/* since tracking, when kvm is live */
	struct collect_ring ring;
	struct collect_vm_sample *samples;
};

/* Rates over a window: differences of two samples over their measured time. */
struct collect_rates {
	uint64_t interval_ns;		/* 0: fewer than two samples (rates are 0) */
	double on_cpu_ns_per_s, wait_ns_per_s, switches_per_s;
	double rx_bytes_per_s, rx_packets_per_s, rx_drops_per_s;
	double tx_bytes_per_s, tx_packets_per_s, tx_drops_per_s;
};

uint32_t collect_vm_count(void);
/* Iterate: NULL starts, NULL ends.  Order: by slot. */
const struct collect_vm *collect_vm_next(const struct collect_vm *prev);
const struct collect_vm *collect_vm_by_slot(uint32_t slot);
/* By exact name, else by uuid (any case); NULL if none. */
const struct collect_vm *collect_vm_find(const char *name_or_uuid);

/* Newest sample of a ring, or NULL when empty; i-th older: collect_*_at(.., i). */
const struct collect_vm_sample *collect_vm_sample_at(const struct collect_vm *vm, uint32_t age);
const struct collect_cpu_sample *collect_thread_sample_at(const struct collect_thread *t,
							  uint32_t age);
const struct collect_net_sample *collect_tap_sample_at(const struct collect_tap *t, uint32_t age);
const struct collect_host_sample *collect_host_sample_at(uint32_t age);

/*
 * Rates between the newest sample and the one closest to window_ms older
 * (at least the previous one; the oldest kept if the ring is shorter);
 * window_ms 0: over the last interval.  interval_ns says what was used.
 */
void collect_vm_rates(const struct collect_vm *vm, uint32_t window_ms, struct collect_rates *out);
void collect_thread_rates(const struct collect_thread *t, uint32_t window_ms,
			  struct collect_rates *out);
void collect_tap_rates(const struct collect_tap *t, uint32_t window_ms, struct collect_rates *out);

struct collect_host_rates {
	uint64_t interval_ns;
	uint32_t cpus;
	double cpu_busy_ratio;		/* host CPU use, /proc/stat, 0..1 */
	double vm_on_cpu_ns_per_s;	/* sum over the VMs tracked at both ends */
	double vm_wait_ns_per_s;
	double vm_rx_bytes_per_s;	/* host side */
	double vm_tx_bytes_per_s;
	double load_ratio;		/* VM on-CPU / capacity (cpus) */
};
void collect_host_rates(uint32_t window_ms, struct collect_host_rates *out);

/* The collection's own cost (CLOCK_THREAD_CPUTIME_ID per collect_tick()). */
struct collect_self {
	uint64_t ticks;
	uint64_t last_ns;
	uint64_t max_ns;
	uint64_t total_ns;		/* average = total_ns / ticks */
	uint64_t last_wall_ns;		/* CLOCK_MONOTONIC duration of the last tick */
	uint64_t last_tick_ns;		/* CLOCK_MONOTONIC when the last tick began */
	uint64_t last_tick_realtime_ns;
	uint32_t ring_samples;
};
void collect_self(struct collect_self *out);

/* Sources in use ("bpf"/"proc" for CPU ...), for status and the export. */
const struct collect_sources *collect_sources(void);	/* NULL if not given */
enum collect_cpu_src collect_cpu_source(void);
bool collect_has_net(void);
bool collect_has_kvm(void);

#endif /* TIDE_COLLECT_H */
