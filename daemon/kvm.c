// SPDX-License-Identifier: GPL-2.0
/*
 * kvm: loader and reader of bpf/kvm.bpf.c (see the design note there).
 *
 * Lifecycle: probe the tracepoints -> open -> size the maps, autoload ->
 * load -> attach; one cleanup path (kvm_fini).  Counters are per-CPU and
 * written by BPF only: a slot's figures are its sums minus the baseline
 * user space took when it handed the slot to a VM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvm.h"
#include "kvm.skel.h"

struct kvm_slot {
	pid_t pid; /* 0: free */
	uint32_t vm_slot;
	struct kvm_vm_counters base; /* sums when the slot was taken */
};

struct kvm_ctx {
	struct kvm_bpf *skel;
	uint32_t max_vms;
	int ncpus;
	bool dirty_ring;
	struct kvm_seen seen_base; /* host totals at init */
	struct kvm_slot *slots;
	struct kvm_vm_counters *percpu; /* ncpus values, lookup buffer */
	struct kvm_seen *seen_percpu;	/* ncpus values, lookup buffer */
};

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing/events/kvm",
	"/sys/kernel/debug/tracing/events/kvm",
};

/* 0 if tracefs shows event kvm/NAME */
static int have_event(const char *name)
{
	char path[128];

	for (size_t i = 0; i < sizeof(tracefs_dirs) / sizeof(tracefs_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tracefs_dirs[i], name);
		if (!access(path, F_OK))
			return 0;
	}
	return -ENOENT;
}

int kvm_probe(char *why, size_t len)
{
	if (!have_event("kvm_exit"))
		return 0;
	if (access("/sys/kernel/tracing/events", F_OK) &&
	    access("/sys/kernel/debug/tracing/events", F_OK))
		snprintf(why, len, "tracefs is not mounted (/sys/kernel/tracing)");
	else
		snprintf(why, len, "the kernel has no kvm:kvm_exit tracepoint (no KVM)");
	return -EOPNOTSUPP;
}

int kvm_init(struct kvm_ctx **out, const struct kvm_opts *opts)
{
	uint64_t exits, pushes;
	struct kvm_bpf *skel;
	struct kvm_ctx *ctx;
	char why[128];
	int err;

	*out = NULL;
	if (kvm_probe(why, sizeof(why)))
		return -EOPNOTSUPP;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->max_vms = opts && opts->max_vms ? opts->max_vms : KVM_MAX_VMS_DEFAULT;
	ctx->ncpus = libbpf_num_possible_cpus();
	if (ctx->ncpus <= 0) {
		err = ctx->ncpus ? ctx->ncpus : -EINVAL;
		goto cleanup;
	}
	ctx->slots = calloc(ctx->max_vms, sizeof(*ctx->slots));
	ctx->percpu = calloc((size_t)ctx->ncpus, sizeof(*ctx->percpu));
	ctx->seen_percpu = calloc((size_t)ctx->ncpus, sizeof(*ctx->seen_percpu));
	if (!ctx->slots || !ctx->percpu || !ctx->seen_percpu) {
		err = -ENOMEM;
		goto cleanup;
	}

	/* 1. open */
	skel = ctx->skel = kvm_bpf__open();
	if (!skel) {
		err = -errno;
		goto cleanup;
	}

	/* 2. size the maps; dirty-ring tracepoint only where it exists */
	ctx->dirty_ring = !have_event("kvm_dirty_ring_push");
	bpf_program__set_autoload(skel->progs.kvm_dirty_push, ctx->dirty_ring);
	err = bpf_map__set_max_entries(skel->maps.kvm_vms, ctx->max_vms);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.kvm_counters, ctx->max_vms);
	if (err)
		goto cleanup;

	/* 3. load */
	err = kvm_bpf__load(skel);
	if (err)
		goto cleanup;

	/* 4. attach */
	err = kvm_bpf__attach(skel);
	if (err)
		goto cleanup;

	/* host totals count from here (the base is still zero) */
	err = kvm_host_totals(ctx, &exits, &pushes);
	if (err)
		goto cleanup;
	ctx->seen_base.exits = exits;
	ctx->seen_base.dirty_ring_pushes = pushes;
	*out = ctx;
	return 0;

cleanup:
	kvm_fini(ctx);
	return err < 0 ? err : -EINVAL;
}

void kvm_fini(struct kvm_ctx *ctx)
{
	if (!ctx)
		return;
	kvm_bpf__destroy(ctx->skel);
	free(ctx->slots);
	free(ctx->percpu);
	free(ctx->seen_percpu);
	free(ctx);
}

bool kvm_has_dirty_ring(const struct kvm_ctx *ctx)
{
	return ctx->dirty_ring;
}

/* sum over CPUs of slot idx */
static int sum_slot(struct kvm_ctx *ctx, uint32_t idx, struct kvm_vm_counters *sum)
{
	int err = bpf_map_lookup_elem(bpf_map__fd(ctx->skel->maps.kvm_counters), &idx, ctx->percpu);

	if (err)
		return err;
	memset(sum, 0, sizeof(*sum));
	for (int cpu = 0; cpu < ctx->ncpus; cpu++) {
		for (int b = 0; b < KVM_EXIT_BUCKETS; b++)
			sum->exits[b] += ctx->percpu[cpu].exits[b];
		sum->dirty_ring_pushes += ctx->percpu[cpu].dirty_ring_pushes;
	}
	return 0;
}

static int slot_of_pid(const struct kvm_ctx *ctx, pid_t pid)
{
	for (uint32_t i = 0; i < ctx->max_vms; i++)
		if (pid > 0 && ctx->slots[i].pid == pid)
			return (int)i;
	return -1;
}

int kvm_track_vm(struct kvm_ctx *ctx, pid_t qemu_pid, uint32_t vm_slot)
{
	struct kvm_vm_tag tag;
	__u32 key = (__u32)qemu_pid;
	char path[32];
	int idx = -1, err;

	if (qemu_pid <= 0)
		return -EINVAL;
	if (slot_of_pid(ctx, qemu_pid) >= 0)
		return -EEXIST;
	snprintf(path, sizeof(path), "/proc/%d", (int)qemu_pid);
	if (access(path, F_OK))
		return -ESRCH;
	for (uint32_t i = 0; i < ctx->max_vms && idx < 0; i++)
		if (!ctx->slots[i].pid)
			idx = (int)i;
	if (idx < 0)
		return -ENOSPC;
	/* baseline first: counters are never reset, only subtracted */
	err = sum_slot(ctx, (uint32_t)idx, &ctx->slots[idx].base);
	if (err)
		return err;
	tag = (struct kvm_vm_tag){ .idx = (__u32)idx, .vm_slot = vm_slot };
	err = bpf_map_update_elem(bpf_map__fd(ctx->skel->maps.kvm_vms), &key, &tag, BPF_NOEXIST);
	if (err)
		return err;
	ctx->slots[idx].pid = qemu_pid;
	ctx->slots[idx].vm_slot = vm_slot;
	return 0;
}

int kvm_untrack_vm(struct kvm_ctx *ctx, pid_t qemu_pid)
{
	int idx = slot_of_pid(ctx, qemu_pid);
	__u32 key = (__u32)qemu_pid;

	if (idx < 0)
		return -ENOENT;
	bpf_map_delete_elem(bpf_map__fd(ctx->skel->maps.kvm_vms), &key);
	ctx->slots[idx].pid = 0;
	return 0;
}

int kvm_read(struct kvm_ctx *ctx, pid_t qemu_pid, struct kvm_vm_stats *out)
{
	int idx = slot_of_pid(ctx, qemu_pid);
	const struct kvm_vm_counters *base;
	struct kvm_vm_counters now;
	int err;

	if (idx < 0)
		return -ENOENT;
	err = sum_slot(ctx, (uint32_t)idx, &now);
	if (err)
		return err;
	base = &ctx->slots[idx].base;
	memset(out, 0, sizeof(*out));
	out->vm_slot = ctx->slots[idx].vm_slot;
	for (int b = 0; b < KVM_EXIT_BUCKETS; b++) {
		out->exits_by_bucket[b] = now.exits[b] - base->exits[b];
		out->exits += out->exits_by_bucket[b];
	}
	out->dirty_ring_pushes = now.dirty_ring_pushes - base->dirty_ring_pushes;
	return 0;
}

int kvm_host_totals(struct kvm_ctx *ctx, uint64_t *exits, uint64_t *dirty_ring_pushes)
{
	const struct kvm_seen *v = ctx->seen_percpu;
	__u32 zero = 0;
	int err;

	/* called at every tick (kvm_active()): no allocation here */
	err = bpf_map_lookup_elem(bpf_map__fd(ctx->skel->maps.kvm_seen), &zero, ctx->seen_percpu);
	if (err)
		return err;
	*exits = *dirty_ring_pushes = 0;
	for (int cpu = 0; cpu < ctx->ncpus; cpu++) {
		*exits += v[cpu].exits;
		*dirty_ring_pushes += v[cpu].dirty_ring_pushes;
	}
	*exits -= ctx->seen_base.exits;
	*dirty_ring_pushes -= ctx->seen_base.dirty_ring_pushes;
	return 0;
}

bool kvm_active(struct kvm_ctx *ctx)
{
	uint64_t exits = 0, pushes = 0;

	return !kvm_host_totals(ctx, &exits, &pushes) && (exits || pushes);
}

uint32_t kvm_isa(const struct kvm_ctx *ctx)
{
	return *(const volatile __u32 *)&ctx->skel->bss->kvm_isa;
}

/* the kernel's names (arch/x86/include/uapi/asm/vmx.h, svm.h) */
static const char *const vmx_names[] = {
	[0] = "EXCEPTION_NMI",
	[1] = "EXTERNAL_INTERRUPT",
	[2] = "TRIPLE_FAULT",
	[3] = "INIT_SIGNAL",
	[4] = "SIPI_SIGNAL",
	[7] = "INTERRUPT_WINDOW",
	[8] = "NMI_WINDOW",
	[9] = "TASK_SWITCH",
	[10] = "CPUID",
	[12] = "HLT",
	[13] = "INVD",
	[14] = "INVLPG",
	[15] = "RDPMC",
	[16] = "RDTSC",
	[18] = "VMCALL",
	[19] = "VMCLEAR",
	[20] = "VMLAUNCH",
	[21] = "VMPTRLD",
	[22] = "VMPTRST",
	[23] = "VMREAD",
	[24] = "VMRESUME",
	[25] = "VMWRITE",
	[26] = "VMOFF",
	[27] = "VMON",
	[28] = "CR_ACCESS",
	[29] = "DR_ACCESS",
	[30] = "IO_INSTRUCTION",
	[31] = "MSR_READ",
	[32] = "MSR_WRITE",
	[33] = "INVALID_STATE",
	[34] = "MSR_LOAD_FAIL",
	[36] = "MWAIT_INSTRUCTION",
	[37] = "MONITOR_TRAP_FLAG",
	[39] = "MONITOR_INSTRUCTION",
	[40] = "PAUSE_INSTRUCTION",
	[41] = "MCE_DURING_VMENTRY",
	[43] = "TPR_BELOW_THRESHOLD",
	[44] = "APIC_ACCESS",
	[45] = "EOI_INDUCED",
	[46] = "GDTR_IDTR",
	[47] = "LDTR_TR",
	[48] = "EPT_VIOLATION",
	[49] = "EPT_MISCONFIG",
	[50] = "INVEPT",
	[51] = "RDTSCP",
	[52] = "PREEMPTION_TIMER",
	[53] = "INVVPID",
	[54] = "WBINVD",
	[55] = "XSETBV",
	[56] = "APIC_WRITE",
	[57] = "RDRAND",
	[58] = "INVPCID",
	[59] = "VMFUNC",
	[60] = "ENCLS",
	[61] = "RDSEED",
	[62] = "PML_FULL",
	[63] = "XSAVES",
	[64] = "XRSTORS",
	[67] = "UMWAIT",
	[68] = "TPAUSE",
	[74] = "BUS_LOCK",
	[75] = "NOTIFY",
	[77] = "TDCALL",
	[84] = "MSR_READ_IMM",
	[85] = "MSR_WRITE_IMM",
};

/* SVM intercepts 0x060.. by bucket */
static const char *const svm_names[] = {
	"interrupt",
	"nmi",
	"smi",
	"init",
	"vintr",
	"cr0_sel_write",
	"read_idtr",
	"read_gdtr",
	"read_ldtr",
	"read_rt",
	"write_idtr",
	"write_gdtr",
	"write_ldtr",
	"write_rt",
	"rdtsc",
	"rdpmc",
	"pushf",
	"popf",
	"cpuid",
	"rsm",
	"iret",
	"swint",
	"invd",
	"pause",
	"hlt",
	"invlpg",
	"invlpga",
	"io",
	"msr",
	"task_switch",
	"ferr_freeze",
	"shutdown",
	"vmrun",
	"hypercall",
	"vmload",
	"vmsave",
	"stgi",
	"clgi",
	"skinit",
	"rdtscp",
	"icebp",
	"wbinvd",
	"monitor",
	"mwait",
	NULL,
	"xsetbv",
	NULL,
	"write_efer_trap",
	"write_cr0_trap",
	NULL,
	NULL,
	NULL,
	"write_cr4_trap",
	NULL,
	NULL,
	NULL,
	"write_cr8_trap",
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	"invpcid",
	NULL,
	NULL,
	"buslock",
	"idle-halt",
	[KVM_SVM_BUCKET_NPF] = "npf",
	"avic_incomplete_ipi",
	"avic_unaccelerated_access",
	"vmgexit",
	[KVM_SVM_BUCKET_CR] = "cr_access",
	[KVM_SVM_BUCKET_DR] = "dr_access",
	[KVM_SVM_BUCKET_EXCP] = "exception",
};

const char *kvm_exit_reason_name(uint32_t isa, unsigned int bucket)
{
	if (bucket == KVM_EXIT_OTHER)
		return "other";
	if (isa == KVM_ISA_VMX && bucket < sizeof(vmx_names) / sizeof(vmx_names[0]))
		return vmx_names[bucket];
	if (isa == KVM_ISA_SVM && bucket < sizeof(svm_names) / sizeof(svm_names[0]))
		return svm_names[bucket];
	return NULL;
}
