/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between bpf/cpu.bpf.c and daemon/cpu.c: only #defines and
 * fixed-width structs (never vmlinux.h).
 */
#ifndef TIDE_CPU_ABI_H
#define TIDE_CPU_ABI_H

/* Threads that can be tracked at once (size of the counter array). */
#define CPU_MAX_THREADS 4096
/* Tids below this are covered by the tid bitmap of the tid-hash mode
 * (PID_MAX_LIMIT of 64-bit kernels). */
#define CPU_TID_LIMIT (4u << 20)
#define CPU_TID_WORDS (CPU_TID_LIMIT / 64)
/* raw_tp: bloom filter over the task_struct addresses of tracked threads */
#define CPU_PTR_BLOOM_WORDS 2048 /* 128 Ki bits */

/* Scheduler state of a tracked thread, as the BPF side last saw it. */
#define CPU_STATE_UNKNOWN 0  /* no event since tracking started */
#define CPU_STATE_RUNNING 1  /* switched in at ts_ns */
#define CPU_STATE_WAITING 2  /* runnable, not running, since ts_ns */
#define CPU_STATE_SLEEPING 3 /* blocked */

/*
 * Tag of one tracked thread: the value of the task-storage map (or of
 * the tid hash in the fallback mode).  Written by user space only, when
 * the thread is tracked; BPF only reads it.
 */
struct cpu_tag {
	__u32 idx;     /* index into threads[] */
	__u32 gen;     /* tracking generation of that slot, never 0 */
	__u32 vm_slot; /* caller's VM id, for aggregation */
	__u32 vcpu;    /* vCPU index inside the VM */
};

/*
 * Tagging without PIDFD_THREAD (kernels 5.11 to 6.8): user space fills the
 * request in .bss and runs the cpu_tag_iter task iterator over the thread.
 */
#define CPU_TAG_SET 1
#define CPU_TAG_DELETE 2

struct cpu_tag_req {
	struct cpu_tag tag; /* CPU_TAG_SET: the tag to attach */
	__u32 tid;
	__u32 op;	 /* CPU_TAG_* */
	__u32 match_tid; /* iterating all tasks: act on task->pid == tid */
	__s32 result;	 /* 1 done, 0 no such thread, < 0 -errno */
};

/*
 * A thread's home slot: where user space puts it when that slot is free,
 * so that the default mode's program finds it from the task's pid
 * without a task-storage lookup (bpf/cpu.bpf.c).
 */
#define CPU_HOME_SLOT(tid) ((__u32)(tid) & (CPU_MAX_THREADS - 1))

/*
 * Counters of one slot, in the mmapped .bss.  Written by BPF only, but
 * for epoch.  When BPF sees a tag whose gen is newer than the slot's, the
 * slot changed owner: BPF starts it over from zero.  Two cache lines per
 * slot (one page) so that CPUs updating different threads do not share
 * lines.
 */
struct cpu_thread {
	__u64 on_cpu_ns;	    /* time switched in, as of the last switch */
	__u64 wait_ns;		    /* runnable but not running, idem */
	__u64 voluntary_switches;   /* switched out blocking */
	__u64 involuntary_switches; /* switched out still runnable */
	__u64 ts_ns;		    /* CLOCK_MONOTONIC of the last state change
				 * (timestamps mode) */
	__u64 sum_exec_ns;	    /* kernel's se.sum_exec_runtime: when tracking
				 * began (sched_info mode) or at the last
				 * switch out (timestamps mode) */
	__u64 run_delay_ns;	    /* kernel's sched_info.run_delay when tracking
				 * began (sched_info mode) */
	__u32 state;		    /* CPU_STATE_* */
	__u32 gen;		    /* generation of the owner the counters belong to */
	/*
	 * Home slots: the owner as BPF last confirmed it through its tag
	 * (pid, task_struct address and start_time of the task), valid while
	 * id_epoch == epoch.
	 * User space adds 1 to epoch after every change of the slot's owner
	 * or of its tag, so an identity confirmed before is never trusted.
	 */
	__u32 tid;
	__u32 id_epoch;
	__u64 task;
	__u64 start_ns;
	__u32 epoch; /* written by user space only */
} __attribute__((aligned(128)));

#endif /* TIDE_CPU_ABI_H */
