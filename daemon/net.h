/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net.h: the network collector.  Counts bytes, packets and drops on each
 * VM tap with bpf/net.bpf.c (tc clsact: tcx links, else cls_bpf filters)
 * and reads rtnetlink link stats64 as cross-check and fallback.
 *
 * Direction names are the host-side link's, as in link stats: rx is what
 * the host receives on the tap (the VM sends), tx what the host sends on
 * it (the VM receives).  See include/net_abi.h.
 *
 * Event-loop contract: net_fd() is a non-blocking netlink socket (link
 * events); call net_process_events() whenever it is readable.  No function
 * here logs: each returns 0 or -errno and the caller says what failed.
 * Not thread-safe: one thread (the loop) owns a net_ctx.
 */
#ifndef TIDE_DAEMON_NET_H
#define TIDE_DAEMON_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "net_abi.h" /* struct net_counters */

struct net_ctx;

enum net_attach_mode {
	NET_ATTACH_AUTO = 0, /* tcx if the kernel has it, else tc */
	NET_ATTACH_TCX,	     /* bpf_link on the tcx hooks (Linux >= 6.6) */
	NET_ATTACH_TC,	     /* cls_bpf filters in a clsact qdisc */
	NET_ATTACH_NETLINK,  /* no BPF: rtnetlink link stats only */
};

typedef void (*net_link_fn)(void *arg, int ifindex, const char *ifname, bool up_or_new, bool removed);

struct net_opts {
	enum net_attach_mode mode;
	bool force_netlink;   /* same as mode = NET_ATTACH_NETLINK */
	bool no_drops;	      /* do not load the kfree_skb drop counter */
	uint32_t max_ifaces;  /* 0: NET_MAX_IFACES_DEFAULT */
	uint16_t tc_priority; /* tc mode only; 0: NET_TC_PRIORITY_DEFAULT */
	/*
	 * Called from net_process_events() for every rtnetlink link event of
	 * the netns, after watched links were attached or detached:
	 * up_or_new = RTM_NEWLINK (the link was created or changed and exists),
	 * removed = RTM_DELLINK.  May call net_watch()/net_unwatch()/net_read().
	 */
	net_link_fn link_cb;
	void *link_cb_arg;
};

/* net_if_stats.flags */
#define NET_STATS_BPF (1u << 0)	     /* counted by our programs, else link stats */
#define NET_STATS_ATTACHED (1u << 1) /* our programs are on the link now */
#define NET_STATS_DROPS (1u << 2)    /* rx_dropped/tx_dropped are counted */

struct net_if_stats {
	/*
	 * BPF: tx counts what was offered to the link at its egress, so frames
	 * the tap then dropped (queue full: the VM is not reading) are in both
	 * tx_packets and tx_dropped, while the link's own tx_packets leaves
	 * them out (link tx = tx - tx_dropped, in packets and in bytes); a tap
	 * also counts tx only when QEMU reads the frame.
	 */
	struct net_counters c; /* c.tx_dropped_bytes: BPF only, 0 from link stats */
	int ifindex;	       /* 0: the link is gone; counters are its last values */
	uint32_t vm_slot;      /* as given to net_watch(); 0 if not watched */
	uint32_t flags;	       /* NET_STATS_* */
	uint32_t attach_seq;   /* +1 at each attach: BPF counters restart from 0 */
};

int net_init(struct net_ctx **out, const struct net_opts *opts);
/* The netlink event socket, for the event loop (readable: call net_process_events()). */
int net_fd(const struct net_ctx *ctx);
/* Drain link events: attach/detach watched links, call opts->link_cb.  Returns the first attach error. */
int net_process_events(struct net_ctx *ctx);
/* Count ifname (a VM tap) from now if it exists, else from when it appears. */
int net_watch(struct net_ctx *ctx, const char *ifname, uint32_t vm_slot);
/* Detach from ifname and forget it; -ENOENT if not watched. */
int net_unwatch(struct net_ctx *ctx, const char *ifname);
/*
 * Counters of a watched link from BPF (or from link stats when the context
 * has no BPF).  -ENOENT: not watched; -ENODEV: not seen yet; a link seen
 * then gone reports its last values with ifindex 0.
 */
int net_read(struct net_ctx *ctx, const char *ifname, struct net_if_stats *out);
/* rtnetlink link stats64 of any link of the netns; -ENODEV if absent. */
int net_link_stats(struct net_ctx *ctx, const char *ifname, struct net_if_stats *out);
/* Detaches everything it attached and nothing else; frees ctx. */
void net_fini(struct net_ctx *ctx);

/* What the context runs on, for the caller's log: "tcx", "tc" or "netlink". */
const char *net_attach_mode_name(const struct net_ctx *ctx);
/* Where drops come from: "tp_btf/kfree_skb", "raw_tp/kfree_skb" or "none". */
const char *net_drops_source(const struct net_ctx *ctx);

#endif /* TIDE_DAEMON_NET_H */
