/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nl.h: a thin adapter over libnl-route, so that net.c never calls libnl
 * directly and unit tests can replace every function here at link time
 * (-Wl,--wrap=tnl_link_get, ...).  Prefix tnl_ ("tide netlink"): libnl
 * owns nl_ and rtnl_.
 *
 * Plain structs in, plain structs out; every function returns 0 (or a
 * count) on success and -errno on failure, libnl's NLE_* codes mapped.
 */
#ifndef TIDE_NL_H
#define TIDE_NL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "net_abi.h" /* struct net_counters: one struct for the six figures */

struct tnl; /* one NETLINK_ROUTE socket */

struct tnl_link {
	int ifindex;
	char ifname[IFNAMSIZ];
	unsigned int flags; /* IFF_* */
	/* rtnetlink link stats64, the host side of the link (no tx_dropped_bytes) */
	struct net_counters c;
};

/* msgtype: RTM_NEWLINK (created or changed) or RTM_DELLINK */
typedef void (*tnl_link_fn)(void *arg, int msgtype, const struct tnl_link *link);

/* A request socket (blocking), for tnl_link_get() and tnl_tc_filter_count(). */
int tnl_open(struct tnl **out);
/* An event socket: member of RTNLGRP_LINK, non-blocking, for tnl_recv_links(). */
int tnl_open_events(struct tnl **out);
int tnl_fd(const struct tnl *nl);
/*
 * Read every pending link event and call fn for each; returns 0 once the
 * socket is drained, -ENOBUFS if the kernel dropped events (receive buffer
 * overrun: the caller must resynchronise), other -errno on failure.
 */
int tnl_recv_links(struct tnl *nl, tnl_link_fn fn, void *arg);
/* The link named ifname now, with its stats64; -ENODEV if there is none. */
int tnl_link_get(struct tnl *nl, const char *ifname, struct tnl_link *out);
/* How many tc filters hang off parent (e.g. clsact ingress) of ifindex. */
int tnl_tc_filter_count(struct tnl *nl, int ifindex, uint32_t parent);
/* 1 if ifindex has a clsact qdisc, 0 if not. */
int tnl_has_clsact(struct tnl *nl, int ifindex);
void tnl_close(struct tnl *nl);

#endif /* TIDE_NL_H */
