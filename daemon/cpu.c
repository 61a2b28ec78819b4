// SPDX-License-Identifier: GPL-2.0
/*
 * cpu: loader and reader of bpf/cpu.bpf.c (see the design note there).
 *
 * Lifecycle: open -> probe (tp_btf, task storage, PIDFD_THREAD,
 * sched_info in the kernel's BTF), set autoload, autocreate and rodata
 * -> load -> attach; one cleanup path (cpu_fini).  Each probe that fails
 * picks a fallback and says why in cpu_mode_note().
 *
 * Figures are read from the mmapped .bss; the slice in progress is added
 * at read time, so a vCPU that runs for seconds without being switched
 * out is not seen as idle: from /proc/TID/schedstat (sched_info mode,
 * running threads only) or from the BPF clock (timestamps mode).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "cpu.skel.h"
#include "feat.h"
#include "procfs.h"
#include "util.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* linux/pidfd.h, 6.9 */
#endif

/* tid -> slot index, open addressing; a power of two, half full at most */
#define CPU_INDEX_SIZE (2 * CPU_MAX_THREADS)

struct cpu_slot {
	pid_t tid;    /* 0: free */
	uint32_t gen; /* generation in the tag given to BPF */
	uint32_t vm_slot;
	uint32_t vcpu;
	uint64_t on_cpu_ns; /* last figures returned: reads never go back */
	uint64_t wait_ns;
};

struct cpu_ctx {
	struct cpu_bpf *skel;
	bool raw_tp;	 /* raw_tp programs, else tp_btf */
	bool tid_hash;	 /* tid bitmap + hash, else task storage */
	bool tag_iter;	 /* task storage tagged by iterator, not pidfd */
	bool timestamps; /* BPF clocks + wakeup programs, else sched_info */
	int tag_fd;	 /* cpu_tags or cpu_tids */
	uint32_t gen;	 /* last generation handed out */
	uint32_t cursor; /* slots are allocated round robin */
	int tracked;
	char note[192];
	struct cpu_slot slots[CPU_MAX_THREADS];
	int32_t index[CPU_INDEX_SIZE]; /* -1: empty */
};

static int pidfd_open_thread(pid_t tid)
{
	return (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
}

/* ---- tid index ---------------------------------------------------------- */

static uint32_t index_hash(pid_t tid)
{
	return ((uint32_t)tid * 2654435761u) & (CPU_INDEX_SIZE - 1);
}

/* position in index[] of tid, or -1 */
static int index_find(const struct cpu_ctx *ctx, pid_t tid)
{
	uint32_t i = index_hash(tid);

	for (int n = 0; n < CPU_INDEX_SIZE; n++, i = (i + 1) & (CPU_INDEX_SIZE - 1)) {
		int32_t idx = ctx->index[i];

		if (idx < 0)
			return -1;
		if (ctx->slots[idx].tid == tid)
			return (int)i;
	}
	return -1;
}

static void index_insert(struct cpu_ctx *ctx, pid_t tid, int32_t idx)
{
	uint32_t i = index_hash(tid);

	while (ctx->index[i] >= 0)
		i = (i + 1) & (CPU_INDEX_SIZE - 1);
	ctx->index[i] = idx;
}

/* backward-shift deletion: no tombstones */
static void index_remove(struct cpu_ctx *ctx, uint32_t i)
{
	const uint32_t mask = CPU_INDEX_SIZE - 1;
	uint32_t j = i;

	for (;;) {
		ctx->index[i] = -1;
		for (;;) {
			uint32_t k;

			j = (j + 1) & mask;
			if (ctx->index[j] < 0)
				return;
			k = index_hash(ctx->slots[ctx->index[j]].tid);
			/* the entry at j may stay if its home k lies in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		ctx->index[i] = ctx->index[j];
		i = j;
	}
}

/* slot index of a tracked tid, or -1 */
static int slot_of_tid(const struct cpu_ctx *ctx, pid_t tid)
{
	int pos = tid > 0 ? index_find(ctx, tid) : -1;

	return pos < 0 ? -1 : ctx->index[pos];
}

/* ---- probes ------------------------------------------------------------- */

/* 0 if pidfd_open() accepts PIDFD_THREAD (6.9+), else -errno */
static int probe_pidfd_thread(void)
{
	int fd = pidfd_open_thread(gettid());

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * 0 if the kernel keeps sched_info (CONFIG_SCHED_INFO: task_struct has
 * sched_info.run_delay / last_queued), else -ENOENT.
 */
static int probe_sched_info(void)
{
	static const char *const fields[] = { "run_delay", "last_queued" };
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	int id, err = -ENOENT, found = 0;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "sched_info", BTF_KIND_STRUCT);
	if (id < 0)
		goto out;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			found += !strcmp(btf__name_by_offset(btf, m->name_off), fields[f]);
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	if (id < 0)
		goto out;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		found += !strcmp(btf__name_by_offset(btf, m->name_off), "sched_info");
	if (found == 3)
		err = 0;
out:
	btf__free(btf);
	return err;
}

/* append to ctx->note */
static void note(struct cpu_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct cpu_ctx *ctx, const char *fmt, ...)
{
	size_t len = strlen(ctx->note);
	va_list ap;

	if (len && len + 2 < sizeof(ctx->note)) {
		strcpy(ctx->note + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(ctx->note + len, sizeof(ctx->note) - len, fmt, ap);
	va_end(ap);
}

static void choose_modes(struct cpu_ctx *ctx, const struct cpu_opts *opts)
{
	char why[128];
	int err;

	ctx->note[0] = '\0';
	if (opts->force_raw_tp) {
		ctx->raw_tp = true;
		note(ctx, "raw_tp forced by option");
	} else if (feat_probe_tp_btf("sched_switch", why, sizeof(why)) < 0) {
		ctx->raw_tp = true;
		note(ctx, "tp_btf on sched_switch: %s", why);
	}

	if (ctx->raw_tp) {
		ctx->tid_hash = true;
		note(ctx, "raw_tp keys threads by tid");
	} else if (opts->force_tid_hash) {
		ctx->tid_hash = true;
		note(ctx, "tid hash forced by option");
	} else if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) != 1) {
		ctx->tid_hash = true;
		note(ctx, "no task storage maps (kernel < 5.11)");
	} else if (opts->force_tag_iter) {
		ctx->tag_iter = true;
		note(ctx, "tagging through a task iterator forced by option");
	} else if ((err = probe_pidfd_thread()) < 0) {
		/* task iterators (5.8) predate task storage (5.11) */
		ctx->tag_iter = true;
		note(ctx,
		     "pidfd_open(PIDFD_THREAD) refused (%s, kernel < 6.9): "
		     "tagging through a task iterator",
		     strerror(-err));
	}

	if (opts->force_timestamps) {
		ctx->timestamps = true;
		note(ctx, "timestamps forced by option");
	} else if (probe_sched_info() < 0) {
		ctx->timestamps = true;
		note(ctx, "no sched_info in the kernel (CONFIG_SCHED_INFO off)");
	}
}

/* ---- lifecycle ---------------------------------------------------------- */

int cpu_init(struct cpu_ctx **out, const struct cpu_opts *opts)
{
	static const struct cpu_opts defaults;
	struct cpu_bpf *skel;
	struct cpu_ctx *ctx;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	memset(ctx->index, 0xff, sizeof(ctx->index));
	ctx->tag_fd = -1;

	/* 1. open */
	skel = ctx->skel = cpu_bpf__open();
	if (!skel) {
		err = -errno;
		goto cleanup;
	}

	/* 2. probe; pick one program set and one tag map; rodata */
	choose_modes(ctx, opts);
	/* the default mode has its own program, free of rodata tests */
	bpf_program__set_autoload(skel->progs.cpu_switch_btf,
				  !ctx->raw_tp && !ctx->tid_hash && !ctx->timestamps);
	bpf_program__set_autoload(skel->progs.cpu_switch_alt,
				  !ctx->raw_tp && (ctx->tid_hash || ctx->timestamps));
	bpf_program__set_autoload(skel->progs.cpu_wakeup_btf, !ctx->raw_tp && ctx->timestamps);
	bpf_program__set_autoload(skel->progs.cpu_wakenew_btf, !ctx->raw_tp && ctx->timestamps);
	bpf_program__set_autoload(skel->progs.cpu_switch_raw, ctx->raw_tp);
	bpf_program__set_autoload(skel->progs.cpu_wakeup_raw, ctx->raw_tp && ctx->timestamps);
	bpf_program__set_autoload(skel->progs.cpu_wakenew_raw, ctx->raw_tp && ctx->timestamps);
	bpf_program__set_autoload(skel->progs.cpu_tag_iter, ctx->tag_iter);
	bpf_program__set_autoattach(skel->progs.cpu_tag_iter, false);
	bpf_map__set_autocreate(skel->maps.cpu_tags, !ctx->tid_hash);
	bpf_map__set_autocreate(skel->maps.cpu_tids, ctx->tid_hash);
	skel->rodata->tag_by_tid = ctx->tid_hash;
	skel->rodata->use_sched_info = !ctx->timestamps;

	/* 3. load */
	err = cpu_bpf__load(skel);
	if (err)
		goto cleanup;

	/* 4. attach */
	err = cpu_bpf__attach(skel);
	if (err)
		goto cleanup;

	ctx->tag_fd = bpf_map__fd(ctx->tid_hash ? skel->maps.cpu_tids : skel->maps.cpu_tags);
	*out = ctx;
	return 0;

cleanup:
	cpu_fini(ctx);
	return err < 0 ? err : -EINVAL;
}

void cpu_fini(struct cpu_ctx *ctx)
{
	if (!ctx)
		return;
	cpu_bpf__destroy(ctx->skel);
	free(ctx);
}

const char *cpu_attach_mode(const struct cpu_ctx *ctx)
{
	return ctx->raw_tp ? "raw_tp" : "tp_btf";
}

const char *cpu_tag_mode(const struct cpu_ctx *ctx)
{
	return ctx->tid_hash ? "tid_hash" : ctx->tag_iter ? "task_storage_iter" : "task_storage";
}

const char *cpu_source_mode(const struct cpu_ctx *ctx)
{
	return ctx->timestamps ? "timestamps" : "sched_info";
}

const char *cpu_mode_note(const struct cpu_ctx *ctx)
{
	return ctx->note;
}

/* ---- tracking ----------------------------------------------------------- */

/* the thread's home slot if free (see CPU_HOME_SLOT), else round robin */
static int slot_alloc(struct cpu_ctx *ctx, pid_t tid)
{
	if (!ctx->slots[CPU_HOME_SLOT(tid)].tid)
		return (int)CPU_HOME_SLOT(tid);
	for (uint32_t n = 0; n < CPU_MAX_THREADS; n++) {
		uint32_t idx = (ctx->cursor + n) % CPU_MAX_THREADS;

		if (!ctx->slots[idx].tid) {
			ctx->cursor = (idx + 1) % CPU_MAX_THREADS;
			return (int)idx;
		}
	}
	return -ENOSPC;
}

/*
 * Run cpu_tag_iter for thread tid: CPU_TAG_SET attaches *tag, else the
 * tag is deleted.  -ESRCH if there is no such thread.
 */
static int tag_through_iter(struct cpu_ctx *ctx, pid_t tid, __u32 op, const struct cpu_tag *tag)
{
	struct cpu_tag_req *req = &ctx->skel->bss->tag_req;
	union bpf_iter_link_info linfo = { .task.tid = (__u32)tid };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo, .link_info_len = sizeof(linfo));
	struct bpf_program *prog = ctx->skel->progs.cpu_tag_iter;
	struct bpf_link *link;
	char buf[64];
	int fd, err = 0;
	ssize_t n;

	memset(req, 0, sizeof(*req));
	req->tid = (__u32)tid;
	req->op = op;
	if (tag)
		req->tag = *tag;
	link = bpf_program__attach_iter(prog, &opts);
	if (!link) {
		/* before 6.1 an iterator cannot be given one task: walk all */
		req->match_tid = 1;
		link = bpf_program__attach_iter(prog, NULL);
		if (!link)
			return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = fd;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
out:
	bpf_link__destroy(link);
	if (err)
		return err;
	if (req->result < 0)
		return req->result;
	return req->result ? 0 : -ESRCH;
}

/*
 * After a change of slot idx's owner or tag: an identity BPF confirmed
 * before is not trusted any more (struct cpu_thread in cpu_abi.h).
 */
static void bump_epoch(struct cpu_ctx *ctx, int idx)
{
	__atomic_fetch_add(&ctx->skel->bss->threads[idx].epoch, 1, __ATOMIC_RELEASE);
}

static int tag_thread(struct cpu_ctx *ctx, pid_t tid, const struct cpu_tag *tag)
{
	uint64_t bit = 1ULL << ((uint32_t)tid % 64);
	char path[32];
	int fd, err;

	if (ctx->tid_hash) {
		__u32 key = (__u32)tid;

		if (key >= CPU_TID_LIMIT)
			return -ERANGE;
		snprintf(path, sizeof(path), "/proc/%d", (int)tid);
		if (access(path, F_OK))
			return -ESRCH;
		err = bpf_map_update_elem(ctx->tag_fd, &key, tag, BPF_ANY);
		if (err)
			return err;
		/* hash entry first, then the bit the BPF side filters on */
		__atomic_fetch_or(&ctx->skel->bss->tid_bits[key / 64], bit, __ATOMIC_RELEASE);
		return 0;
	}
	if (ctx->tag_iter)
		return tag_through_iter(ctx, tid, CPU_TAG_SET, tag);
	fd = pidfd_open_thread(tid);
	if (fd < 0)
		return -errno;
	err = bpf_map_update_elem(ctx->tag_fd, &fd, tag, BPF_ANY);
	close(fd);
	return err;
}

static void untag_thread(struct cpu_ctx *ctx, pid_t tid)
{
	uint64_t bit = 1ULL << ((uint32_t)tid % 64);
	int fd;

	if (ctx->tid_hash) {
		__u32 key = (__u32)tid;

		__atomic_fetch_and(&ctx->skel->bss->tid_bits[key / 64], ~bit, __ATOMIC_RELEASE);
		bpf_map_delete_elem(ctx->tag_fd, &key);
		return;
	}
	/* a thread that exited took its storage with it */
	if (ctx->tag_iter) {
		tag_through_iter(ctx, tid, CPU_TAG_DELETE, NULL);
		return;
	}
	fd = pidfd_open_thread(tid);
	if (fd < 0)
		return;
	bpf_map_delete_elem(ctx->tag_fd, &fd);
	close(fd);
}

int cpu_track(struct cpu_ctx *ctx, pid_t tid, uint32_t vm_slot, uint32_t vcpu)
{
	struct cpu_tag tag;
	int idx, err;

	if (tid <= 0)
		return -EINVAL;
	if (slot_of_tid(ctx, tid) >= 0)
		return -EEXIST;
	idx = slot_alloc(ctx, tid);
	if (idx < 0)
		return idx;
	if (++ctx->gen == 0)
		ctx->gen = 1;
	tag = (struct cpu_tag){
		.idx = (__u32)idx,
		.gen = ctx->gen,
		.vm_slot = vm_slot,
		.vcpu = vcpu,
	};
	err = tag_thread(ctx, tid, &tag);
	if (err)
		return err;
	bump_epoch(ctx, idx);
	ctx->slots[idx] = (struct cpu_slot){
		.tid = tid,
		.gen = tag.gen,
		.vm_slot = vm_slot,
		.vcpu = vcpu,
	};
	index_insert(ctx, tid, idx);
	ctx->tracked++;
	return 0;
}

int cpu_untrack(struct cpu_ctx *ctx, pid_t tid)
{
	int pos = tid > 0 ? index_find(ctx, tid) : -1;
	int idx;

	if (pos < 0)
		return -ENOENT;
	idx = ctx->index[pos];
	untag_thread(ctx, tid);
	bump_epoch(ctx, idx);
	index_remove(ctx, (uint32_t)pos);
	ctx->slots[idx].tid = 0;
	ctx->tracked--;
	return 0;
}

int cpu_tracked(const struct cpu_ctx *ctx)
{
	return ctx->tracked;
}

/* ---- reading ------------------------------------------------------------ */

static void load_thread(const volatile struct cpu_thread *src, struct cpu_thread *dst)
{
	dst->on_cpu_ns = src->on_cpu_ns;
	dst->wait_ns = src->wait_ns;
	dst->voluntary_switches = src->voluntary_switches;
	dst->involuntary_switches = src->involuntary_switches;
	dst->ts_ns = src->ts_ns;
	dst->sum_exec_ns = src->sum_exec_ns;
	dst->run_delay_ns = src->run_delay_ns;
	dst->state = src->state;
	dst->gen = src->gen;
}

static bool same_thread(const struct cpu_thread *a, const struct cpu_thread *b)
{
	return a->on_cpu_ns == b->on_cpu_ns && a->wait_ns == b->wait_ns &&
	       a->voluntary_switches == b->voluntary_switches &&
	       a->involuntary_switches == b->involuntary_switches && a->ts_ns == b->ts_ns &&
	       a->sum_exec_ns == b->sum_exec_ns && a->run_delay_ns == b->run_delay_ns &&
	       a->state == b->state && a->gen == b->gen;
}

/* the kernel's se.sum_exec_runtime of a thread, 0 if it cannot be read */
static uint64_t schedstat_on_cpu_ns(pid_t tid)
{
	struct procfs_schedstat st;

	if (procfs_schedstat("/proc", 0, tid, &st))
		return 0;
	return st.on_cpu_ns;
}

/*
 * live: add the slice in progress and never return less than before;
 * else the counters as BPF last wrote them.  The slice of a running
 * thread: its /proc schedstat (sched_info mode: at most one file per CPU
 * per read of all threads), or the BPF clock since ts_ns (timestamps
 * mode, where a wait after preemption is live too).
 */
static void read_slot(struct cpu_ctx *ctx, int idx, bool live, struct cpu_thread_stats *out)
{
	const volatile struct cpu_thread *src = &ctx->skel->bss->threads[idx];
	struct cpu_slot *slot = &ctx->slots[idx];
	struct cpu_thread a, b;
	uint64_t now_ns;

	/* BPF may update the slot meanwhile: take two equal copies */
	load_thread(src, &a);
	for (int tries = 0; tries < 8; tries++) {
		load_thread(src, &b);
		if (same_thread(&a, &b))
			break;
		a = b;
	}
	now_ns = ctx->timestamps ? util_monotonic_ns() : 0; /* bpf_ktime_get_ns() */

	memset(out, 0, sizeof(*out));
	out->vm_slot = slot->vm_slot;
	out->vcpu = slot->vcpu;
	out->threads = 1;
	out->state = CPU_STATE_UNKNOWN;
	if (a.gen != slot->gen)
		return; /* BPF has seen no event of this thread yet */
	out->on_cpu_ns = a.on_cpu_ns;
	out->wait_ns = a.wait_ns;
	out->voluntary_switches = a.voluntary_switches;
	out->involuntary_switches = a.involuntary_switches;
	out->state = a.state;
	if (!live)
		return;
	if (!ctx->timestamps) {
		uint64_t sum_exec_ns;

		if (a.state == CPU_STATE_RUNNING &&
		    (sum_exec_ns = schedstat_on_cpu_ns(slot->tid)) > a.sum_exec_ns)
			out->on_cpu_ns = sum_exec_ns - a.sum_exec_ns;
	} else if (now_ns > a.ts_ns && a.state == CPU_STATE_RUNNING) {
		out->on_cpu_ns += now_ns - a.ts_ns;
	} else if (now_ns > a.ts_ns && a.state == CPU_STATE_WAITING) {
		out->wait_ns += now_ns - a.ts_ns;
	}
	/* the estimate of a slice may exceed what the kernel then counts */
	if (out->on_cpu_ns < slot->on_cpu_ns)
		out->on_cpu_ns = slot->on_cpu_ns;
	if (out->wait_ns < slot->wait_ns)
		out->wait_ns = slot->wait_ns;
	slot->on_cpu_ns = out->on_cpu_ns;
	slot->wait_ns = out->wait_ns;
}

int cpu_read(struct cpu_ctx *ctx, pid_t tid, struct cpu_thread_stats *out)
{
	int idx = slot_of_tid(ctx, tid);

	if (idx < 0)
		return -ENOENT;
	read_slot(ctx, idx, true, out);
	return 0;
}

int cpu_read_vm(struct cpu_ctx *ctx, uint32_t vm_slot, struct cpu_thread_stats *out)
{
	struct cpu_thread_stats one;
	int n = 0;

	memset(out, 0, sizeof(*out));
	out->vm_slot = vm_slot;
	for (int idx = 0; idx < CPU_MAX_THREADS; idx++) {
		if (!ctx->slots[idx].tid || ctx->slots[idx].vm_slot != vm_slot)
			continue;
		read_slot(ctx, idx, true, &one);
		out->on_cpu_ns += one.on_cpu_ns;
		out->wait_ns += one.wait_ns;
		out->voluntary_switches += one.voluntary_switches;
		out->involuntary_switches += one.involuntary_switches;
		n++;
	}
	out->threads = (uint32_t)n;
	return n;
}

uint64_t cpu_missed_switches(const struct cpu_ctx *ctx)
{
	return *(const volatile __u64 *)&ctx->skel->bss->missed_switches;
}

int cpu_prog_stats(struct cpu_ctx *ctx, struct cpu_prog_stat *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, ctx->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int err;

		if (!bpf_program__autoload(prog))
			continue;
		if (n >= max)
			break;
		memset(&info, 0, sizeof(info));
		err = bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len);
		if (err)
			return err;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].run_cnt = info.run_cnt;
		out[n].run_time_ns = info.run_time_ns;
		out[n].recursion_misses = info.recursion_misses;
		n++;
	}
	return n;
}
