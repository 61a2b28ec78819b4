/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net_abi.h: what bpf/net.bpf.c and daemon/net.c share.  Only #defines and
 * fixed-width structs; never include vmlinux.h here.
 *
 * Direction names follow the host-side link, as rtnetlink link stats do:
 *
 *   rx = frames the host RECEIVES on the link = tc ingress of the tap
 *      = what the VM SENDS;
 *   tx = frames the host SENDS on the link    = tc egress of the tap
 *      = what the VM RECEIVES.
 *
 * So a VM's "network receive bytes" (libvirt's rx_bytes in domstats, the
 * tide_vm_network_receive_bytes_total metric) is the tap's tx_bytes here.
 */
#ifndef TIDE_NET_ABI_H
#define TIDE_NET_ABI_H

/* Default size of the per-interface counter map (one entry per watched link). */
#define NET_MAX_IFACES_DEFAULT 1024

/* cls_bpf handle and priority of our legacy tc filters (tcx needs neither). */
#define NET_TC_HANDLE 0x71de
#define NET_TC_PRIORITY_DEFAULT 1

/*
 * Per-CPU counters of one link, key: __u32 ifindex (in the netns the loader
 * runs in).  Written only by BPF; user space sums over the possible CPUs.
 * Raw hook counts, not yet link-stats semantics: see daemon/net.c.
 */
struct net_counters {
	__u64 rx_bytes;	  /* tc ingress: skb->len, L2 header included */
	__u64 rx_packets; /* tc ingress: one per skb (a GSO/GRO skb is one) */
	__u64 tx_bytes;	  /* tc egress: offered to the link, before qdisc and driver */
	__u64 tx_packets;
	__u64 rx_dropped; /* kfree_skb on this link, on the receive side */
	__u64 tx_dropped; /* kfree_skb on this link, on the send side (after or before egress) */
	__u64 tx_dropped_bytes;
};

/*
 * Fast counters: a direct-mapped table in the mmapped .bss, rows
 * [cpu][ifindex % NET_FAST_SLOTS], each owned by the link whose ifindex
 * it holds (written by user space only: set when it attaches, 0 when it
 * detaches).  A packet of a link that owns its row is counted there (one
 * line, no lookup), else in net_counters.  CPUs from NET_FAST_CPUS on,
 * and links whose row another link owns, use net_counters only.
 */
#define NET_FAST_SLOTS 128 /* a power of two */
#define NET_FAST_CPUS 64

struct net_fast {
	__u32 ifindex; /* owner, 0: free */
	__u32 pad;
	__u64 rx_bytes; /* as in struct net_counters */
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

#endif /* TIDE_NET_ABI_H */
