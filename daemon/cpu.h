/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cpu: per-thread on-CPU time, run-queue wait and context switches of
 * tracked threads (vCPU threads), collected by bpf/cpu.bpf.c.
 *
 *	struct cpu_ctx *cpu;
 *	int err = cpu_init(&cpu, NULL);		// open, probe, load, attach
 *	log("cpu: %s, %s, %s", cpu_attach_mode(cpu), cpu_tag_mode(cpu),
 *	    cpu_source_mode(cpu));
 *	cpu_track(cpu, tid, vm_slot, vcpu);
 *	cpu_read(cpu, tid, &stats);		// any time: mmapped counters
 *	cpu_untrack(cpu, tid);
 *	cpu_fini(cpu);
 *
 * Every function returns 0 (or a count) on success and -errno on error;
 * nothing is logged here: the caller logs.  Not thread-safe: one caller
 * thread (the daemon's loop).  Figures read are monotonic per thread.
 *
 * The figures are the kernel's own definitions, those of
 * /proc/PID/task/TID/schedstat: on-CPU = se.sum_exec_runtime, wait =
 * sched_info.run_delay (runnable, not running: from wakeup, or from
 * preemption while runnable, until switched in), both counted from the
 * first switch after cpu_track().  Reads cost no syscall, but for a
 * thread running right now (at most one per CPU) whose slice in progress
 * is read from its /proc schedstat (sched_info mode).
 */
#ifndef TIDE_DAEMON_CPU_H
#define TIDE_DAEMON_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "cpu_abi.h" /* CPU_STATE_*, CPU_MAX_THREADS */

struct cpu_ctx;

struct cpu_opts {
	bool force_raw_tp;     /* use raw_tp even where tp_btf loads */
	bool force_tid_hash;   /* key threads by tid, not task storage */
	bool force_timestamps; /* time with BPF clocks, not sched_info */
	bool force_tag_iter;   /* tag through a task iterator, not a pidfd */
};

struct cpu_thread_stats {
	uint64_t on_cpu_ns;	       /* running, including the slice in progress */
	uint64_t wait_ns;	       /* runnable, not running; a wait after a
				 * wakeup counts once it ends (sched_info
				 * mode), as in the kernel's run_delay */
	uint64_t voluntary_switches;   /* switched out to block */
	uint64_t involuntary_switches; /* switched out while runnable */
	uint32_t state;		       /* CPU_STATE_* of include/cpu_abi.h */
	uint32_t vm_slot;
	uint32_t vcpu;
	uint32_t threads; /* threads summed (cpu_read_vm), 1 for cpu_read */
};

struct cpu_prog_stat {
	char name[32];		   /* BPF program name */
	uint64_t run_cnt;	   /* events, needs bpf_stats enabled */
	uint64_t run_time_ns;	   /* total time in the program */
	uint64_t recursion_misses; /* events skipped: program already running */
};

/* Open, probe tp_btf / task storage, load and attach.  opts may be NULL. */
int cpu_init(struct cpu_ctx **out, const struct cpu_opts *opts);
void cpu_fini(struct cpu_ctx *ctx);

/* "tp_btf" or "raw_tp" */
const char *cpu_attach_mode(const struct cpu_ctx *ctx);
/* "task_storage" (tagged through a pidfd), "task_storage_iter" (through a
 * task iterator, kernels < 6.9) or "tid_hash" */
const char *cpu_tag_mode(const struct cpu_ctx *ctx);
/* "sched_info" (kernel counters, sched_switch only) or "timestamps" */
const char *cpu_source_mode(const struct cpu_ctx *ctx);
/* Why a fallback was taken ("" if none), for the caller's log. */
const char *cpu_mode_note(const struct cpu_ctx *ctx);

/*
 * Start accounting thread tid (a tid of the caller's pid namespace; in
 * tid_hash mode it must be the initial namespace).  -EEXIST if tracked,
 * -ESRCH if no such thread, -ENOSPC if CPU_MAX_THREADS are tracked.
 */
int cpu_track(struct cpu_ctx *ctx, pid_t tid, uint32_t vm_slot, uint32_t vcpu);
/* Stop accounting tid; its figures are gone.  -ENOENT if not tracked. */
int cpu_untrack(struct cpu_ctx *ctx, pid_t tid);
/* Figures of one tracked thread since cpu_track().  -ENOENT if untracked. */
int cpu_read(struct cpu_ctx *ctx, pid_t tid, struct cpu_thread_stats *out);
/* Sum over the tracked threads of one VM; returns the thread count. */
int cpu_read_vm(struct cpu_ctx *ctx, uint32_t vm_slot, struct cpu_thread_stats *out);
/* Number of tracked threads. */
int cpu_tracked(const struct cpu_ctx *ctx);

/*
 * Context switches the tracepoint did not report for tracked threads, as
 * noticed by the BPF side (some kernels skip sched_switch for a few
 * switches).  The figures stay right: sched_info mode reads the kernel's
 * counters, timestamps mode repairs them; this says how often.
 */
uint64_t cpu_missed_switches(const struct cpu_ctx *ctx);

/* run_cnt / run_time_ns of each attached program; returns the count. */
int cpu_prog_stats(struct cpu_ctx *ctx, struct cpu_prog_stat *out, int max);

#endif /* TIDE_DAEMON_CPU_H */
