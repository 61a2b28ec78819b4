// SPDX-License-Identifier: GPL-2.0
/*
 * net.bpf.c: bytes and packets per VM tap, both directions, plus the drops
 * the kernel makes on those taps.
 *
 * Design.  Two SCHED_CLS programs hang off each watched link: net_ingress
 * counts what the host receives on it (what the VM sends), net_egress what
 * the host sends on it (what the VM receives).  User space attaches them
 * with tcx links where the kernel has tcx (first in the chain, so no
 * foreign program can hide traffic from us), else as cls_bpf filters of a
 * clsact qdisc under our own handle and priority.  Both always return
 * TC_ACT_UNSPEC (== TCX_NEXT): pass-through that also lets the filters and
 * programs after ours run as if we were not there.  TC_ACT_OK would end
 * the chain and silently disable a foreign filter behind us.
 *
 * Counters live in a per-CPU hash keyed by ifindex; user space creates the
 * entry when it attaches, so BPF never inserts, only adds on its own CPU
 * (tc runs with BH off: no two writers per CPU) and user space sums over
 * CPUs.  Nothing is read-then-deleted while a program can still write.
 *
 * Cost.  Per packet, what costs is the memory pages touched that the
 * stack around us did not touch: without PCID and with page-table
 * isolation (this test machine, a PVM guest) every syscall flushes the
 * TLB (kernel Documentation/arch/x86/pti.rst), so the egress hook, run in
 * the sender's syscall, pays a page walk (20-50 ns) for each; an
 * instruction is ~1 ns.  A hash lookup walks the map's buckets, an
 * element and its per-CPU value: three or four pages, ~+150 ns over an
 * empty program at egress, whether the map is per-CPU or shared with
 * atomics, preallocated or not (all measured).  So the packets and bytes
 * of a link go first to a direct-mapped table in the mmapped .bss, rows
 * [cpu][ifindex % NET_FAST_SLOTS] (net_abi.h): one line of one page, with
 * bpf_get_smp_processor_id() inlined by the verifier on x86-64 (6.10+,
 * do_misc_fixups() in kernel/bpf/verifier.c), and no syscall for user
 * space to read it.  A row belongs to the link whose ifindex it holds
 * (user space claims it at attach, before the programs run, and frees it
 * at detach); a link whose row is taken, or a CPU from NET_FAST_CPUS on,
 * counts in the hash as before, so every packet is counted exactly once
 * wherever it goes.  Drops stay in the hash: rare, and atomic there.
 * Measured (tests/bench/b-bpf-cost.sh: frames through a veth pair, BPF
 * stats, tide first on the hook as deployed and then last, the mean of
 * both orders cancelling what the first program of a chain pays for
 * both): egress +24..+34 ns over an empty tc program (was ~+150), ingress
 * +5 ns (was ~+25); tide first alone, egress +70..+95 ns.
 *
 * Drops are counted where visible: a kfree_skb tracepoint program (tp_btf,
 * else raw_tp; absent if neither loads) counts skbs freed as drops while
 * skb->dev is a watched link of our netns.  skb->tc_at_ingress tells the
 * side: set by the ingress hook of a link with programs, cleared on every
 * dev_queue_xmit.  Drops past our egress hook (tap queue full, qdisc) are
 * in tx_packets too: the link's own tx_packets = ours - tx_dropped there.
 * Trade-off: a global tracepoint, but it fires only on drops and costs one
 * hash lookup; a drop on the send side before the egress hook (netfilter
 * POSTROUTING) also counts as tx_dropped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "net_abi.h"

#define TC_ACT_UNSPEC (-1)

char LICENSE[] SEC("license") = "GPL";

/* inode number of the netns the loader runs in: ifindex is per netns */
const volatile __u64 targ_netns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, NET_MAX_IFACES_DEFAULT); /* user space may resize */
	__type(key, __u32);
	__type(value, struct net_counters);
} net_counters SEC(".maps");

/* written by BPF, but for the owner fields (see net_abi.h) */
struct net_fast net_fast[NET_FAST_CPUS][NET_FAST_SLOTS];

static __always_inline void count_skb(struct __sk_buff *skb, bool ingress)
{
	__u32 ifindex = skb->ifindex;
	__u32 cpu = bpf_get_smp_processor_id();
	struct net_counters *c;

	if (cpu < NET_FAST_CPUS) {
		struct net_fast *f = &net_fast[cpu][ifindex & (NET_FAST_SLOTS - 1)];

		if (f->ifindex == ifindex) {
			if (ingress) {
				f->rx_bytes += skb->len;
				f->rx_packets++;
			} else {
				f->tx_bytes += skb->len;
				f->tx_packets++;
			}
			return;
		}
	}
	c = bpf_map_lookup_elem(&net_counters, &ifindex);
	if (!c)
		return;
	if (ingress) {
		c->rx_bytes += skb->len;
		c->rx_packets++;
	} else {
		c->tx_bytes += skb->len;
		c->tx_packets++;
	}
}

SEC("tc")
int net_ingress(struct __sk_buff *skb)
{
	count_skb(skb, true);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int net_egress(struct __sk_buff *skb)
{
	count_skb(skb, false);
	return TC_ACT_UNSPEC;
}

static __always_inline int count_drop(struct sk_buff *skb, int reason)
{
	struct net_device *dev;
	struct net_counters *c;
	__u32 ifindex;
	__u64 netns_ino;

	dev = BPF_CORE_READ(skb, dev);
	if (!dev)
		return 0;
	ifindex = BPF_CORE_READ(dev, ifindex);
	c = bpf_map_lookup_elem(&net_counters, &ifindex);
	if (!c)
		return 0;
	netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	if (netns_ino != targ_netns_ino)
		return 0;
	/* CPU_BACKLOG: a received skb dropped before it reached the ingress hook */
	if (BPF_CORE_READ_BITFIELD_PROBED(skb, tc_at_ingress) ||
	    (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_CPU_BACKLOG) &&
	     reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_CPU_BACKLOG))) {
		__sync_fetch_and_add(&c->rx_dropped, 1);
	} else {
		__sync_fetch_and_add(&c->tx_dropped, 1);
		__sync_fetch_and_add(&c->tx_dropped_bytes, BPF_CORE_READ(skb, len));
	}
	return 0;
}

/*
 * Drops can be freed from any context (hard IRQ included) and so can nest
 * over a tc program or another drop on the same CPU: atomic adds here.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(net_kfree_skb_btf, struct sk_buff *skb, void *location, int reason)
{
	return count_drop(skb, reason);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(net_kfree_skb_raw, struct sk_buff *skb, void *location, int reason)
{
	return count_drop(skb, reason);
}
