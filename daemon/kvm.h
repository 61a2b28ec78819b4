/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm: KVM exits by reason and dirty-ring pushes per VM (keyed by the
 * tgid of its QEMU process), collected by bpf/kvm.bpf.c from the
 * kvm:kvm_exit and kvm:kvm_dirty_ring_push tracepoints.
 *
 *	char why[128];
 *	if (kvm_probe(why, sizeof(why)))	// no kvm tracepoints here
 *		log("kvm: off: %s", why);
 *	else if (!kvm_init(&kvm, NULL)) {
 *		kvm_track_vm(kvm, qemu_pid, vm_slot);
 *		kvm_read(kvm, qemu_pid, &stats);
 *		kvm_active(kvm);	// any KVM exit on this host yet?
 *		kvm_fini(kvm);
 *	}
 *
 * Functions return 0 (or a count) or -errno; nothing is logged here.
 * Pids are of the initial pid namespace.  Not thread-safe.
 */
#ifndef TIDE_DAEMON_KVM_H
#define TIDE_DAEMON_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "kvm_abi.h" /* KVM_EXIT_BUCKETS, KVM_ISA_* */

struct kvm_ctx;

struct kvm_opts {
	uint32_t max_vms; /* VMs tracked at once; 0: KVM_MAX_VMS_DEFAULT */
};

struct kvm_vm_stats {
	uint64_t exits;				    /* all reasons */
	uint64_t exits_by_bucket[KVM_EXIT_BUCKETS]; /* kvm_exit_reason_name() */
	uint64_t dirty_ring_pushes;
	uint32_t vm_slot;
};

/* 0 if the kernel has the kvm_exit tracepoint, else -EOPNOTSUPP and why */
int kvm_probe(char *why, size_t len);

/* open, load, attach; -EOPNOTSUPP without kvm tracepoints.  opts may be NULL */
int kvm_init(struct kvm_ctx **out, const struct kvm_opts *opts);
void kvm_fini(struct kvm_ctx *ctx);

/* kvm_dirty_ring_push is attached (kernel >= 5.11) */
bool kvm_has_dirty_ring(const struct kvm_ctx *ctx);

/* -EEXIST if tracked, -ESRCH if no such process, -ENOSPC if full */
int kvm_track_vm(struct kvm_ctx *ctx, pid_t qemu_pid, uint32_t vm_slot);
/* -ENOENT if not tracked */
int kvm_untrack_vm(struct kvm_ctx *ctx, pid_t qemu_pid);
/* counts since kvm_track_vm(); -ENOENT if not tracked */
int kvm_read(struct kvm_ctx *ctx, pid_t qemu_pid, struct kvm_vm_stats *out);

/* exits and dirty-ring pushes of every VM of the host since kvm_init() */
int kvm_host_totals(struct kvm_ctx *ctx, uint64_t *exits, uint64_t *dirty_ring_pushes);
/* whether any KVM exit was seen on this host: the feature is live */
bool kvm_active(struct kvm_ctx *ctx);
/* KVM_ISA_VMX or KVM_ISA_SVM once an exit was seen, else 0 */
uint32_t kvm_isa(const struct kvm_ctx *ctx);
/* name of an exit bucket ("HLT", "npf", "other", ...); NULL if unused */
const char *kvm_exit_reason_name(uint32_t isa, unsigned int bucket);

#endif /* TIDE_DAEMON_KVM_H */
