// SPDX-License-Identifier: GPL-2.0
/*
 * kvm.bpf.c: KVM exits by reason and dirty-ring pushes, per VM (the tgid
 * of its QEMU process), for the VMs tide tracks.
 *
 * Design.  Classic tracepoints (tp/kvm/...), not tp_btf: the exit reason
 * is not an argument of kvm_exit (the event fetches it from the VMX or
 * SVM state), only a field of its record; and the tracepoints live in
 * kvm.ko on most hosts.  An exit costs a microsecond or more, so the
 * record and a hash lookup on the tgid are cheap beside it; every exit
 * and push of the host also bumps one per-CPU counter, so user space can
 * tell "KVM guests run here" from "none of ours exited".  Counters are
 * per-CPU, written only by BPF; user space sums them and keeps its own
 * baseline when it (re)uses a slot.  Where no KVM guest runs (TCG only,
 * as on the test machine) the programs load and attach but never run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kvm_abi.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVM_MAX_VMS_DEFAULT); /* set at load */
	__type(key, __u32);
	__type(value, struct kvm_vm_tag);
} kvm_vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVM_MAX_VMS_DEFAULT); /* set at load */
	__type(key, __u32);
	__type(value, struct kvm_vm_counters);
} kvm_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kvm_seen);
} kvm_seen SEC(".maps");

/* ISA of the exits seen (KVM_ISA_*), written once */
__u32 kvm_isa;

static __always_inline __u32 exit_bucket(__u32 isa, __u32 reason)
{
	if (isa == KVM_ISA_VMX) {
		reason &= 0xffff;
		return reason < KVM_EXIT_OTHER ? reason : KVM_EXIT_OTHER;
	}
	if (reason >= KVM_SVM_INTERCEPT_FIRST && reason <= KVM_SVM_INTERCEPT_LAST)
		return reason - KVM_SVM_INTERCEPT_FIRST;
	if (reason >= KVM_SVM_NPF_FIRST && reason <= KVM_SVM_NPF_LAST)
		return KVM_SVM_BUCKET_NPF + reason - KVM_SVM_NPF_FIRST;
	if (reason < 0x020)
		return KVM_SVM_BUCKET_CR;
	if (reason < 0x040)
		return KVM_SVM_BUCKET_DR;
	if (reason < 0x060)
		return KVM_SVM_BUCKET_EXCP;
	return KVM_EXIT_OTHER;
}

static __always_inline struct kvm_vm_counters *counters_of_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kvm_vm_tag *tag = bpf_map_lookup_elem(&kvm_vms, &tgid);

	if (!tag)
		return NULL;
	return bpf_map_lookup_elem(&kvm_counters, &tag->idx);
}

SEC("tp/kvm/kvm_exit")
int kvm_exit(struct trace_event_raw_kvm_exit *ctx)
{
	struct kvm_vm_counters *c;
	struct kvm_seen *seen;
	__u32 zero = 0, isa = ctx->isa, bucket;

	seen = bpf_map_lookup_elem(&kvm_seen, &zero);
	if (seen)
		seen->exits++;
	if (kvm_isa != isa)
		kvm_isa = isa; /* read-mostly: no line bouncing */
	c = counters_of_current();
	if (!c)
		return 0;
	bucket = exit_bucket(isa, ctx->exit_reason);
	/* clang knows the bound; the verifier must see it tested */
	barrier_var(bucket);
	if (bucket < KVM_EXIT_BUCKETS)
		c->exits[bucket]++;
	return 0;
}

SEC("tp/kvm/kvm_dirty_ring_push")
int kvm_dirty_push(struct trace_event_raw_kvm_dirty_ring_push *ctx)
{
	struct kvm_vm_counters *c;
	struct kvm_seen *seen;
	__u32 zero = 0;

	seen = bpf_map_lookup_elem(&kvm_seen, &zero);
	if (seen)
		seen->dirty_ring_pushes++;
	c = counters_of_current();
	if (c)
		c->dirty_ring_pushes++;
	return 0;
}
