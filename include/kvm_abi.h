/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between bpf/kvm.bpf.c and daemon/kvm.c: only #defines and
 * fixed-width structs (never vmlinux.h).
 */
#ifndef TIDE_KVM_ABI_H
#define TIDE_KVM_ABI_H

/* VMs tracked at once, default (max_entries of the maps, set at load) */
#define KVM_MAX_VMS_DEFAULT 64

/*
 * kvm_exit reasons are folded into KVM_EXIT_BUCKETS counters per VM:
 *  VMX (isa 1): bucket = basic exit reason (exit_reason & 0xffff);
 *  SVM (isa 2): the intercepts 0x060..0x0a6 and 0x400..0x403 get a bucket
 *  each, the cr, dr and exception intercepts one per group (below).
 * The last bucket takes what fits nowhere else.  kvm_exit_bucket() in
 * bpf/kvm.bpf.c folds, kvm_exit_reason_name() in daemon/kvm.c names.
 */
#define KVM_ISA_VMX 1
#define KVM_ISA_SVM 2
#define KVM_EXIT_BUCKETS 96
#define KVM_EXIT_OTHER (KVM_EXIT_BUCKETS - 1)
/* SVM layout of the buckets */
#define KVM_SVM_INTERCEPT_FIRST 0x060 /* 0x060..0x0a6 -> 0..70 */
#define KVM_SVM_INTERCEPT_LAST 0x0a6
#define KVM_SVM_NPF_FIRST 0x400 /* 0x400..0x403 -> 71..74 */
#define KVM_SVM_NPF_LAST 0x403
#define KVM_SVM_BUCKET_NPF 71
#define KVM_SVM_BUCKET_CR 75   /* 0x000..0x01f cr read/write */
#define KVM_SVM_BUCKET_DR 76   /* 0x020..0x03f dr read/write */
#define KVM_SVM_BUCKET_EXCP 77 /* 0x040..0x05f exceptions */

/* Key: tgid of the QEMU process (initial pid namespace).  Written by user space. */
struct kvm_vm_tag {
	__u32 idx;     /* index into kvm_counters */
	__u32 vm_slot; /* caller's VM id */
};

/* Per-CPU counters of one VM slot; written by BPF only. */
struct kvm_vm_counters {
	__u64 exits[KVM_EXIT_BUCKETS];
	__u64 dirty_ring_pushes;
};

/* Per-CPU, every VM of the host, tracked or not: is the feature live? */
struct kvm_seen {
	__u64 exits;
	__u64 dirty_ring_pushes;
};

#endif /* TIDE_KVM_ABI_H */
