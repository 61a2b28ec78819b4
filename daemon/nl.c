// SPDX-License-Identifier: GPL-2.0
/*
 * nl.c: libnl-route adapter (see nl.h).  The only file of tide's network
 * module that includes libnl headers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "nl.h"

/* 1 MiB: a burst of link events (many taps at once) must not overrun it */
#define TNL_EVENT_RCVBUF_BYTES (1 << 20)

struct tnl {
	struct nl_sock *sk;
	/* tnl_recv_links() in progress */
	tnl_link_fn fn;
	void *arg;
	int cb_err;
};

static int tnl_errno(int nlerr)
{
	/* a table */
	/* clang-format off */
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:		return 0;
	case NLE_INTR:			return -EINTR;
	case NLE_BAD_SOCK:		return -EBADF;
	case NLE_AGAIN:			return -EAGAIN;
	case NLE_NOMEM:			return -ENOMEM;
	case NLE_EXIST:			return -EEXIST;
	case NLE_INVAL:			return -EINVAL;
	case NLE_RANGE:			return -ERANGE;
	case NLE_MSGSIZE:
	case NLE_MSG_TRUNC:		return -EMSGSIZE;
	case NLE_OPNOTSUPP:		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:		/* libnl's name for ENODEV/ENOENT */
	case NLE_NODEV:			return -ENODEV;
	case NLE_NOADDR:		return -EADDRNOTAVAIL;
	case NLE_BUSY:			return -EBUSY;
	case NLE_PROTO_MISMATCH:	return -EPROTONOSUPPORT;
	case NLE_NOACCESS:		return -EACCES;
	case NLE_PERM:			return -EPERM;
	case NLE_DUMP_INTR:		return -EINTR;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
	case NLE_PARSE_ERR:
	case NLE_ATTRSIZE:		return -EBADMSG;
	default:			return -EIO;
	}
	/* clang-format on */
}

static void link_from_rtnl(struct rtnl_link *l, struct tnl_link *out)
{
	const char *name = rtnl_link_get_name(l);

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	if (name)
		snprintf(out->ifname, sizeof(out->ifname), "%s", name);
	out->flags = rtnl_link_get_flags(l);
	out->c.rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
	out->c.rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
	out->c.tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
	out->c.tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
	out->c.rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
	out->c.tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
}

static int open_sock(struct tnl **out, bool events)
{
	struct tnl *nl;
	int err;

	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	if (events) {
		/* notifications carry no sequence number of ours */
		nl_socket_disable_seq_check(nl->sk);
		nl_socket_disable_auto_ack(nl->sk);
	}
	/* link messages with stats and VF info can exceed a page */
	nl_socket_enable_msg_peek(nl->sk);
	err = nl_connect(nl->sk, NETLINK_ROUTE);
	if (err < 0)
		goto fail;
	if (events) {
		err = nl_socket_add_membership(nl->sk, RTNLGRP_LINK);
		if (err < 0)
			goto fail;
		err = nl_socket_set_buffer_size(nl->sk, TNL_EVENT_RCVBUF_BYTES, 0);
		if (err < 0)
			goto fail;
		err = nl_socket_set_nonblocking(nl->sk);
		if (err < 0)
			goto fail;
	}
	*out = nl;
	return 0;
fail:
	nl_socket_free(nl->sk);
	free(nl);
	return tnl_errno(err);
}

int tnl_open(struct tnl **out)
{
	return open_sock(out, false);
}

int tnl_open_events(struct tnl **out)
{
	return open_sock(out, true);
}

int tnl_fd(const struct tnl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

static void parse_link_obj(struct nl_object *obj, void *arg)
{
	struct tnl *nl = arg;
	struct tnl_link link;
	int msgtype = nl_object_get_msgtype(obj);

	if (msgtype != RTM_NEWLINK && msgtype != RTM_DELLINK)
		return;
	link_from_rtnl((struct rtnl_link *)obj, &link);
	nl->fn(nl->arg, msgtype, &link);
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct tnl *nl = arg;
	int type = nlmsg_hdr(msg)->nlmsg_type;
	int err;

	if (type != RTM_NEWLINK && type != RTM_DELLINK)
		return NL_SKIP;
	err = nl_msg_parse(msg, parse_link_obj, nl);
	if (err < 0 && !nl->cb_err)
		nl->cb_err = tnl_errno(err);
	return NL_OK;
}

int tnl_recv_links(struct tnl *nl, tnl_link_fn fn, void *arg)
{
	int err;

	nl->fn = fn;
	nl->arg = arg;
	nl->cb_err = 0;
	err = nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_valid, nl);
	if (err < 0)
		return tnl_errno(err);
	for (;;) {
		err = nl_recvmsgs_default(nl->sk);
		if (err == -NLE_AGAIN) {
			err = nl->cb_err;
			break;
		}
		/* libnl folds ENOBUFS (events lost) into NLE_NOMEM */
		if (err == -NLE_NOMEM) {
			err = -ENOBUFS;
			break;
		}
		if (err < 0) {
			err = tnl_errno(err);
			break;
		}
	}
	nl->fn = NULL;
	nl->arg = NULL;
	return err;
}

int tnl_link_get(struct tnl *nl, const char *ifname, struct tnl_link *out)
{
	struct rtnl_link *l = NULL;
	int err;

	err = rtnl_link_get_kernel(nl->sk, 0, ifname, &l);
	if (err < 0)
		return tnl_errno(err);
	link_from_rtnl(l, out);
	rtnl_link_put(l);
	return 0;
}

int tnl_tc_filter_count(struct tnl *nl, int ifindex, uint32_t parent)
{
	struct nl_cache *cache = NULL;
	int err, n;

	err = rtnl_cls_alloc_cache(nl->sk, ifindex, parent, &cache);
	if (err < 0)
		return tnl_errno(err);
	n = nl_cache_nitems(cache);
	nl_cache_free(cache);
	return n;
}

int tnl_has_clsact(struct tnl *nl, int ifindex)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int err, found = 0;

	err = rtnl_qdisc_alloc_cache(nl->sk, &cache);
	if (err < 0)
		return tnl_errno(err);
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_tc *tc = TC_CAST(obj);
		const char *kind = rtnl_tc_get_kind(tc);

		if (rtnl_tc_get_ifindex(tc) == ifindex && kind && !strcmp(kind, "clsact")) {
			found = 1;
			break;
		}
	}
	nl_cache_free(cache);
	return found;
}

void tnl_close(struct tnl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}
