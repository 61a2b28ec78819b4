// SPDX-License-Identifier: GPL-2.0
/*
 * cpu.bpf.c: on-CPU time, run-queue wait and context switches of the
 * threads tide tracks (the vCPU threads of its VMs).
 *
 * Design.  sched_switch fires for every thread of the host, thousands of
 * which are not VMs, so the untracked path is what costs: it must be a
 * couple of loads.  A tracked thread carries a tag (struct cpu_tag: slot
 * index, generation, VM slot, vCPU):
 *
 *  - task_storage mode (default): the tag lives in a TASK_STORAGE map;
 *    user space attaches it through a pidfd of the thread (PIDFD_THREAD).
 *    A thread without any BPF local storage has task->bpf_storage ==
 *    NULL, which we test first: the untracked path is one load per task,
 *    no helper call.  The tag dies with the thread, so a recycled tid is
 *    never mistaken for a vCPU, and pid namespaces do not matter.
 *    Before 6.9 (no PIDFD_THREAD) a task iterator run over the thread
 *    attaches the tag instead (cpu_tag_iter).  (Were other BPF tools to
 *    give every task some local storage, the filter would pass and each
 *    event would cost the helper: ~12 ns each side, still correct.)
 *  - tid_hash mode (fallback: raw_tp, or no task storage before 5.11):
 *    a bitmap over tids in .bss filters, then a hash maps tid -> tag.
 *    raw_tp cannot read next->pid without a probe read; a bloom filter
 *    over tracked task_struct addresses spares it (ptr_bloom below).
 *
 * What is counted, sched_info mode (default, CONFIG_SCHED_INFO kernels):
 * only sched_switch is attached.  At a tracked thread's switch out we
 * read the kernel's own se.sum_exec_runtime (on-CPU, schedstat field 1)
 * and sched_info.run_delay; at its switch in run_delay plus the wait that
 * is just ending (rq->clock - sched_info.last_queued: from wakeup or
 * preemption; the kernel's run_delay, schedstat field 2).  Lines the
 * scheduler has just written; no clock read (user space adds the slice
 * of a running thread from /proc schedstat), and no sched_wakeup program,
 * which would cost as much as the switch one on every wakeup of the host.
 * Kernel counters also survive a lost event, and events are lost: on
 * some kernels (this test machine's, for one) sched_switch does not fire
 * for every switch.
 *
 * timestamps mode (fallback, no sched_info in the kernel): sched_wakeup
 * and sched_wakeup_new are attached too and the state machine runs on
 * bpf_ktime_get_ns():
 *   switch out, still runnable (preempted, yield) -> WAITING (involuntary)
 *   switch out, blocking                          -> SLEEPING (voluntary)
 *   wakeup of a SLEEPING (or UNKNOWN) thread       -> WAITING
 *   switch in                                     -> RUNNING, wait_ns +=
 * A switch out seen while we believe the thread waits means its switch in
 * was lost: it ran for exactly the growth of se.sum_exec_runtime since its
 * last switch out, so it came in at now - that, and both figures are
 * repaired.  missed_switches counts the lost events in either mode.
 *
 * Per-thread state and counters sit in one 128-byte slot of threads[] in
 * .bss, written by BPF only (but for the epoch, below) and read by user
 * space through the mmapped
 * .bss: no syscall to read 1000 threads, and the figures outlive the
 * thread.  Events of one task are serialised by the scheduler (its rq
 * lock, or p->on_cpu for a wakeup), so no atomics are needed.  A slot
 * that changes owner is reset by BPF when it first sees the newer
 * generation in a tag; user space never writes a counter.
 *
 * Cost.  What a program costs per event here is mostly the memory pages
 * it touches that the kernel path around it did not: on a host without
 * PCID and with page-table isolation (this test machine: a PVM guest,
 * pti=on) every syscall entry flushes the TLB (kernel
 * Documentation/arch/x86/pti.rst: without PCID each CR3 switch flushes
 * it), so each such page is a page walk, 20-50 ns, against ~1 ns per
 * instruction.  Measured pieces
 * (b-bpf-cost, BPF stats, interleaved builds): one store to .bss ~+40 ns;
 * the two task-storage lookups of a switch between tracked threads
 * ~+45 ns (bpf_local_storage, its data, the map: separate allocations);
 * the helper call itself next to nothing (an in-place read of the
 * storage cache, what bpf_local_storage_lookup() does first in
 * kernel/bpf/bpf_local_storage.c, measured no better).  Hence:
 *  - the untracked path touches task_struct only (the scheduler has it
 *    hot): no map, no global;
 *  - the default mode's program (cpu_switch_btf) takes its mode as
 *    constants: a test of a rodata flag is a load from the rodata map's
 *    own page on every event, even when the verifier has removed the
 *    branch it feeds (kernel/bpf/verifier.c: opt_hard_wire_dead_code_branches()
 *    and opt_remove_dead_code() drop unreachable insns, not loads); the fallback modes share cpu_switch_alt, which reads them;
 *  - home slots: user space puts a thread in slot CPU_HOME_SLOT(tid)
 *    when it is free, and once BPF has confirmed through the tag that the
 *    task (address, pid, start_time) owns it, later events go straight
 *    from task_struct to the slot: the slot's own page is the only one
 *    touched (slot_of_task() below).  The tag stays the authority: an
 *    epoch that user space bumps after each change of a slot's owner or
 *    tag voids every identity confirmed before.  Threads outside their
 *    home (taken slot, tids seen through a pid namespace) take the tag
 *    path every time, as before;
 *  - globals such as missed_switches are written on rare paths only.
 * The first program on a tracepoint also pays for lines and TLB entries
 * the next finds warm (~50 ns here): b-bpf-cost runs tide both after and
 * before the empty program and reports the mean of the two differences.
 * Measured so (2-core PVM guest shared with other users, +-20 ns run to
 * run): tracked switch +45..+60 ns over the empty program, tide last
 * alone +12..+55 (it was +60..+125 before the home slots, by that
 * figure); untracked +5..+15 (tide last: -15..-35).
 *
 * tp_btf programs are preferred (typed task pointers, direct loads);
 * the raw_tp twins are used where tp_btf does not load.  User space
 * enables one set with bpf_program__set_autoload() after a probe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cpu_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* set before load */
const volatile bool tag_by_tid = false;	   /* tid_hash, else task storage */
const volatile bool use_sched_info = true; /* sched_info, else timestamps */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cpu_tag);
} cpu_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CPU_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct cpu_tag);
} cpu_tids SEC(".maps");

/* written by BPF only */
struct cpu_thread threads[CPU_MAX_THREADS];
/* switches the tracepoint did not report (see above) */
__u64 missed_switches;
/* tid_hash mode: bit set <=> tid is in cpu_tids; written by user space */
__u64 tid_bits[CPU_TID_WORDS];
/* cpu_tag_iter's request, written by user space */
struct cpu_tag_req tag_req;
/*
 * raw_tp: next is a bare address, and reading next->pid is a probe read
 * (~40 ns) on every switch of the host.  Tracked threads' task_struct
 * addresses are learnt when they switch out (prev is current, whose tid
 * is cheap) into this bloom filter; a next whose bit is clear is
 * untracked.  Bits are never cleared: a stale one costs a probe read,
 * not a wrong answer.  Costs one missed switch in per thread.
 */
__u64 ptr_bloom[CPU_PTR_BLOOM_WORDS];

static __always_inline __u32 ptr_bloom_bit(const void *p)
{
	/* task_structs are cache-line aligned slab objects of ~10 KiB */
	return (__u32)((((__u64)p >> 6) * 0x9E3779B97F4A7C15ULL) >> 47) &
	       (CPU_PTR_BLOOM_WORDS * 64 - 1);
}

static __always_inline bool ptr_bloom_test(const void *p)
{
	__u32 bit = ptr_bloom_bit(p), word = bit / 64;

	barrier_var(word);
	if (word >= CPU_PTR_BLOOM_WORDS)
		return false;
	return ptr_bloom[word] & (1ULL << (bit % 64));
}

static __always_inline void ptr_bloom_set(const void *p)
{
	__u32 bit = ptr_bloom_bit(p), word = bit / 64;

	barrier_var(word);
	if (word >= CPU_PTR_BLOOM_WORDS)
		return;
	/* written once per thread: do not dirty a shared line every switch */
	if (!(ptr_bloom[word] & (1ULL << (bit % 64))))
		__sync_fetch_and_or(&ptr_bloom[word], 1ULL << (bit % 64));
}

/* ---- which thread ------------------------------------------------------- */

static __always_inline struct cpu_tag *tag_of_tid(__u32 tid)
{
	__u32 word = tid / 64;

	/* tested after the barrier, so clang cannot fold it into tid's bound */
	barrier_var(word);
	if (word >= CPU_TID_WORDS)
		return NULL;
	if (!(tid_bits[word] & (1ULL << (tid % 64))))
		return NULL;
	return bpf_map_lookup_elem(&cpu_tids, &tid);
}

/* tp_btf: the task pointer is typed, fields are direct loads */
static __always_inline struct cpu_tag *tag_of_task(struct task_struct *p, bool by_tid)
{
	if (!p)
		return NULL;
	if (by_tid)
		return tag_of_tid(p->pid);
	if (!p->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&cpu_tags, p, NULL, 0);
}

/* The slot of a tag; a slot seen with a newer generation starts over. */
static __always_inline struct cpu_thread *slot_of(const struct cpu_tag *tag)
{
	struct cpu_thread *th;
	__u32 idx = tag->idx;

	if (idx >= CPU_MAX_THREADS)
		return NULL;
	th = &threads[idx];
	if (th->gen != tag->gen) {
		if ((__s32)(tag->gen - th->gen) < 0)
			return NULL; /* tag of a former owner, in flight */
		th->on_cpu_ns = 0;
		th->wait_ns = 0;
		th->voluntary_switches = 0;
		th->involuntary_switches = 0;
		th->ts_ns = 0;
		th->sum_exec_ns = 0;
		th->run_delay_ns = 0;
		th->state = CPU_STATE_UNKNOWN;
		th->gen = tag->gen;
	}
	return th;
}

/*
 * Kernel counters of a task.  typed: p is a BTF pointer (tp_btf, or
 * current), else a plain kernel address (raw_tp) read with probes.
 */
#define task_sum_exec_ns(p, typed) \
	((typed) ? (p)->se.sum_exec_runtime : BPF_CORE_READ((p), se.sum_exec_runtime))
#define task_run_delay_ns(p, typed) \
	((typed) ? (p)->sched_info.run_delay : BPF_CORE_READ((p), sched_info.run_delay))
#define task_last_queued_ns(p, typed) \
	((typed) ? (p)->sched_info.last_queued : BPF_CORE_READ((p), sched_info.last_queued))

/*
 * rq->clock of the task's run queue (this CPU's at a switch), through
 * se.cfs_rq->rq: the per-CPU runqueues symbol needs KALLSYMS_ALL.  0 if
 * the kernel has no group scheduling (no se.cfs_rq).
 */
static __always_inline __u64 task_rq_clock_ns(struct task_struct *p, bool typed)
{
	if (!bpf_core_field_exists(p->se.cfs_rq))
		return 0;
	if (typed)
		return p->se.cfs_rq->rq->clock;
	return BPF_CORE_READ(p, se.cfs_rq, rq, clock);
}

/* task_struct.state before 5.14 */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/*
 * The state the task leaves the CPU in.  sched_switch has passed it as an
 * argument only since 5.18; read at the tracepoint it is the same thing
 * (the kernel derived the old tracepoint's prev_state from it).
 */
static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return (unsigned int)((struct task_struct___pre514 *)t)->state;
}

/* count the switch, set the state it leaves the thread in */
static __always_inline void count_switch(struct cpu_thread *th, bool preempt, unsigned int prev_state)
{
	/* state 0 is TASK_RUNNING: still on the run queue */
	if (preempt || prev_state == 0) {
		th->involuntary_switches++;
		th->state = CPU_STATE_WAITING;
	} else {
		th->voluntary_switches++;
		th->state = CPU_STATE_SLEEPING;
	}
}

/*
 * Default mode: the slot of a task.  A tracked thread in its home slot
 * whose identity is confirmed is found from task_struct alone (its
 * address, pid and start_time: lines the scheduler has just used); else
 * through the tag, and a home slot then records the identity for the
 * next events.  The address tells apart the thread that takes over the
 * leader's pid and start_time at exec (de_thread()); start_time, a
 * task_struct reused for a new thread of the same pid.  The
 * epoch is read before the tag: user space changes the tag before it
 * bumps the epoch, so an identity recorded from a tag that was then
 * replaced or deleted carries an old epoch and is not trusted.
 */
static __always_inline struct cpu_thread *slot_of_task(struct task_struct *p)
{
	__u32 tid = p->pid, home = CPU_HOME_SLOT(tid), epoch;
	struct cpu_thread *th = &threads[home];
	struct cpu_tag *tag;

	if (!p->bpf_storage)
		return NULL;
	/*
	 * An ordered load: x86 keeps loads in order; weakly ordered CPUs
	 * would want the load-acquire of BPF v4, which clang 14 lacks.
	 */
	epoch = *(volatile __u32 *)&th->epoch;
	barrier();
	if (th->tid == tid && th->id_epoch == epoch && th->task == (__u64)p &&
	    th->start_ns == p->start_time)
		return th;
	tag = bpf_task_storage_get(&cpu_tags, p, NULL, 0);
	if (!tag)
		return NULL;
	th = slot_of(tag);
	if (th && tag->idx == home) {
		th->tid = tid;
		th->task = (__u64)p;
		th->start_ns = p->start_time;
		th->id_epoch = epoch;
	}
	return th;
}

/* ---- switch out / switch in -------------------------------------------- */

/* prev is typed (tp_btf argument, or current in raw_tp) */
static __always_inline void switch_out(struct cpu_thread *th, struct task_struct *prev,
				       __u64 now_ns, bool preempt, bool sched_info)
{
	__u64 sum_exec_ns;

	sum_exec_ns = prev->se.sum_exec_runtime;
	if (sched_info) {
		/* sum_exec_ns, run_delay_ns: the kernel's, when tracking began */
		if (th->state == CPU_STATE_UNKNOWN) {
			th->sum_exec_ns = sum_exec_ns;
			th->run_delay_ns = prev->sched_info.run_delay;
		} else {
			if (th->state != CPU_STATE_RUNNING)
				__sync_fetch_and_add(&missed_switches, 1);
			th->on_cpu_ns = sum_exec_ns - th->sum_exec_ns;
			th->wait_ns = prev->sched_info.run_delay - th->run_delay_ns;
		}
	} else {
		/* sum_exec_ns: the kernel's at the last switch out */
		if (th->state == CPU_STATE_RUNNING) {
			th->on_cpu_ns += now_ns - th->ts_ns;
		} else if (th->state != CPU_STATE_UNKNOWN) {
			/* its switch in was lost: it came in at now - ran */
			__u64 ran_ns = sum_exec_ns - th->sum_exec_ns;

			th->on_cpu_ns += ran_ns;
			if (th->state == CPU_STATE_WAITING && now_ns - th->ts_ns > ran_ns)
				th->wait_ns += now_ns - th->ts_ns - ran_ns;
			__sync_fetch_and_add(&missed_switches, 1);
		}
		th->sum_exec_ns = sum_exec_ns;
	}
	count_switch(th, preempt, task_state(prev));
	th->ts_ns = now_ns;
}

/* next is typed (tp_btf) or a plain address (raw_tp) */
static __always_inline void switch_in(struct cpu_thread *th, struct task_struct *next, bool typed,
				      __u64 now_ns, bool sched_info)
{
	if (sched_info && !typed) {
		/* raw_tp: every field of next is a probe read; leave the
		 * kernel's figures to its switch out, just mark it running */
		if (th->state == CPU_STATE_UNKNOWN)
			return;
		if (th->state == CPU_STATE_RUNNING)
			__sync_fetch_and_add(&missed_switches, 1);
	} else if (sched_info) {
		/*
		 * The wait ending now is not in run_delay yet: the kernel adds
		 * rq->clock - last_queued right after this tracepoint.  (Without
		 * rq->clock it shows at the next switch out.)
		 */
		__u64 run_delay_ns = task_run_delay_ns(next, typed);
		__u64 queued_ns = task_last_queued_ns(next, typed);
		__u64 clock_ns = task_rq_clock_ns(next, typed);

		if (queued_ns && clock_ns > queued_ns)
			run_delay_ns += clock_ns - queued_ns;
		if (th->state == CPU_STATE_UNKNOWN) {
			th->sum_exec_ns = task_sum_exec_ns(next, typed);
			th->run_delay_ns = run_delay_ns;
		} else {
			if (th->state == CPU_STATE_RUNNING) {
				/* its switch out was lost */
				th->on_cpu_ns = task_sum_exec_ns(next, typed) - th->sum_exec_ns;
				__sync_fetch_and_add(&missed_switches, 1);
			}
			th->wait_ns = run_delay_ns - th->run_delay_ns;
		}
	} else if (th->state == CPU_STATE_WAITING) {
		th->wait_ns += now_ns - th->ts_ns;
	} else if (th->state == CPU_STATE_UNKNOWN) {
		th->sum_exec_ns = task_sum_exec_ns(next, typed);
	} else if (th->state == CPU_STATE_RUNNING) {
		/* its switch out was lost: the run is known, not whether the
		 * gap after it was a wait or a sleep */
		__u64 sum_exec_ns = task_sum_exec_ns(next, typed);

		th->on_cpu_ns += sum_exec_ns - th->sum_exec_ns;
		th->sum_exec_ns = sum_exec_ns;
		__sync_fetch_and_add(&missed_switches, 1);
	}
	th->state = CPU_STATE_RUNNING;
	th->ts_ns = now_ns;
}

/* timestamps mode only */
static __always_inline void wakeup(const struct cpu_tag *tag)
{
	struct cpu_thread *th = slot_of(tag);

	if (!th)
		return;
	/* a RUNNING thread woken before it slept, or a WAITING one, stays */
	if (th->state == CPU_STATE_SLEEPING || th->state == CPU_STATE_UNKNOWN) {
		th->state = CPU_STATE_WAITING;
		th->ts_ns = bpf_ktime_get_ns();
	}
}

/* sched_info mode reads no clock: the kernel's counters say it all */
static __always_inline __u64 now_ns(bool sched_info)
{
	return sched_info ? 0 : bpf_ktime_get_ns();
}

static __always_inline void on_switch(struct cpu_thread *prev_th, struct cpu_thread *next_th,
				      struct task_struct *prev, struct task_struct *next,
				      bool typed, bool preempt, bool sched_info)
{
	__u64 ts_ns;

	/* two tests, not (prev|next): the verifier refuses pointer arithmetic */
	if (prev_th) {
		/* raw_tp: prev is current, which the helper gives typed */
		struct task_struct *cur = typed ? prev : bpf_get_current_task_btf();

		ts_ns = now_ns(sched_info);
		switch_out(prev_th, cur, ts_ns, preempt, sched_info);
		if (next_th)
			switch_in(next_th, next, typed, ts_ns, sched_info);
	} else if (next_th) {
		switch_in(next_th, next, typed, now_ns(sched_info), sched_info);
	}
}

/* the slot of a tag, NULL if none (or a former owner's tag) */
static __always_inline struct cpu_thread *slot_or_null(const struct cpu_tag *tag)
{
	return tag ? slot_of(tag) : NULL;
}

/* ---- programs ----------------------------------------------------------- */

/*
 * The default mode (task storage, sched_info) with its choices as
 * constants: a test of rodata is a load from the rodata map's own page,
 * on every event (see the design note).  Three arguments: prev_state,
 * the fourth, only exists since 5.18.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(cpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(slot_of_task(prev), slot_of_task(next), prev, next, true, preempt, true);
	return 0;
}

/* tp_btf in the fallback modes (tid hash, timestamps): choices from rodata */
SEC("tp_btf/sched_switch")
int BPF_PROG(cpu_switch_alt, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(slot_or_null(tag_of_task(prev, tag_by_tid)),
		  slot_or_null(tag_of_task(next, tag_by_tid)), prev, next, true, preempt,
		  use_sched_info);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(cpu_wakeup_btf, struct task_struct *p)
{
	struct cpu_tag *tag = tag_of_task(p, tag_by_tid);

	if (tag)
		wakeup(tag);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(cpu_wakenew_btf, struct task_struct *p)
{
	struct cpu_tag *tag = tag_of_task(p, tag_by_tid);

	if (tag)
		wakeup(tag);
	return 0;
}

/* raw_tp: pointers are plain numbers; prev is current, the rest is read */
SEC("raw_tp/sched_switch")
int BPF_PROG(cpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_tag *prev_tag = tag_of_tid((__u32)bpf_get_current_pid_tgid());
	struct cpu_tag *next_tag = NULL;

	if (prev_tag)
		ptr_bloom_set(prev);
	if (ptr_bloom_test(next))
		next_tag = tag_of_tid(BPF_CORE_READ(next, pid));
	on_switch(slot_or_null(prev_tag), slot_or_null(next_tag), prev, next, false, preempt,
		  use_sched_info);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(cpu_wakeup_raw, struct task_struct *p)
{
	struct cpu_tag *tag = tag_of_tid(BPF_CORE_READ(p, pid));

	if (tag)
		wakeup(tag);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(cpu_wakenew_raw, struct task_struct *p)
{
	struct cpu_tag *tag = tag_of_tid(BPF_CORE_READ(p, pid));

	if (tag)
		wakeup(tag);
	return 0;
}

/*
 * Tagging without PIDFD_THREAD: run over the one thread (link_info tid,
 * 6.1+) or over every task, matching tag_req.tid.
 */
SEC("iter/task")
int cpu_tag_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct cpu_tag *tag;

	if (!task || (tag_req.match_tid && task->pid != tag_req.tid))
		return 0;
	if (tag_req.op == CPU_TAG_SET) {
		tag = bpf_task_storage_get(&cpu_tags, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!tag) {
			tag_req.result = -12; /* -ENOMEM */
			return 0;
		}
		tag->idx = tag_req.tag.idx;
		tag->gen = tag_req.tag.gen;
		tag->vm_slot = tag_req.tag.vm_slot;
		tag->vcpu = tag_req.tag.vcpu;
	} else {
		bpf_task_storage_delete(&cpu_tags, task);
	}
	tag_req.result = 1;
	return 0;
}
