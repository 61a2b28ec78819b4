// SPDX-License-Identifier: GPL-2.0
/*
 * net.c: the network collector (see net.h).
 *
 * Lifecycle of the BPF side, as in libbpf-tools: open, set rodata (our
 * netns) and autoload (which drop-counter variant), load, attach the drop
 * counter, then per link: create the counter entry, attach ingress and
 * egress.  Per link state is reconciled with the kernel, never assumed:
 * on any link event naming a watched link, net.c asks rtnetlink what the
 * name is now and attaches, re-attaches or detaches to match, so stale or
 * lost events (-ENOBUFS: resync all) cannot leave a wrong attachment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net.h"     /* daemon/net.h: the API */
#include "net_abi.h" /* shared with BPF */
#include "nl.h"
#include "net.skel.h"

#ifndef TC_H_CLSACT
#define TC_H_CLSACT TC_H_INGRESS
#endif
#ifndef TC_H_MIN_INGRESS
#define TC_H_MIN_INGRESS 0xFFF2U
#define TC_H_MIN_EGRESS 0xFFF3U
#endif

/* uapi of Linux >= 6.6; the distro's linux/bpf.h may predate tcx */
#define NET_BPF_TCX_INGRESS ((enum bpf_attach_type)46)
#define NET_BPF_TCX_EGRESS ((enum bpf_attach_type)47)
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)
#endif

enum net_drops {
	NET_DROPS_NONE,
	NET_DROPS_TP_BTF,
	NET_DROPS_RAW_TP,
};

struct net_watch {
	char ifname[IFNAMSIZ];
	uint32_t vm_slot;
	int ifindex; /* attached to this ifindex; 0 if not */
	int err;     /* last attach error, 0 if none */
	uint32_t attach_seq;
	bool qdisc_created;	  /* tc mode: the clsact qdisc is ours */
	struct bpf_link *link_in; /* tcx mode */
	struct bpf_link *link_out;
	struct net_counters last; /* summed counters when last detached */
};

struct net_ctx {
	enum net_attach_mode mode;
	enum net_drops drops;
	uint16_t tc_priority;
	net_link_fn link_cb;
	void *link_cb_arg;
	struct tnl *nl_ev;  /* RTNLGRP_LINK, non-blocking */
	struct tnl *nl_req; /* requests */
	struct net_bpf *obj;
	int ncpus;
	int fast_cpus;		     /* CPUs with fast rows: min(ncpus, NET_FAST_CPUS) */
	struct net_counters *percpu; /* lookup buffer, ncpus entries */
	struct net_watch *w;
	size_t nw, cap;
	int ev_err; /* first error while handling events */
};

static struct net_watch *watch_by_name(struct net_ctx *ctx, const char *ifname)
{
	for (size_t i = 0; i < ctx->nw; i++)
		if (!strcmp(ctx->w[i].ifname, ifname))
			return &ctx->w[i];
	return NULL;
}

static struct net_watch *watch_by_ifindex(struct net_ctx *ctx, int ifindex)
{
	for (size_t i = 0; i < ctx->nw; i++)
		if (ctx->w[i].ifindex == ifindex)
			return &ctx->w[i];
	return NULL;
}

/* ---- probes -------------------------------------------------------- */

/* tcx exists iff the kernel accepts a query of a tcx hook (read-only) */
static bool probe_tcx(void)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	unsigned int lo = if_nametoindex("lo");

	return lo && bpf_prog_query_opts((int)lo, NET_BPF_TCX_INGRESS, &q) == 0;
}

static int netns_ino(uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/* ---- BPF object ------------------------------------------------------ */

static int load_bpf(struct net_ctx *ctx, const struct net_opts *opts)
{
	enum net_drops first = NET_DROPS_TP_BTF;
	uint32_t max_ifaces = opts->max_ifaces ? opts->max_ifaces : NET_MAX_IFACES_DEFAULT;
	uint64_t ino = 0;
	int err;

	err = netns_ino(&ino);
	if (err)
		return err;
	if (opts->no_drops)
		first = NET_DROPS_NONE;
	else if (libbpf_find_vmlinux_btf_id("kfree_skb", BPF_TRACE_RAW_TP) < 0)
		first = NET_DROPS_RAW_TP; /* no BTF for the tracepoint */

	/* try the drop counter as tp_btf, then raw_tp, then go without it */
	for (enum net_drops d = first;;
	     d = d == NET_DROPS_TP_BTF ? NET_DROPS_RAW_TP : NET_DROPS_NONE) {
		struct net_bpf *obj = net_bpf__open();

		if (!obj)
			return -errno;
		obj->rodata->targ_netns_ino = ino;
		err = bpf_map__set_max_entries(obj->maps.net_counters, max_ifaces);
		if (!err && ctx->mode == NET_ATTACH_TCX) {
			err = bpf_program__set_expected_attach_type(obj->progs.net_ingress,
								    NET_BPF_TCX_INGRESS);
			if (!err)
				err = bpf_program__set_expected_attach_type(obj->progs.net_egress,
									    NET_BPF_TCX_EGRESS);
		}
		if (!err)
			err = bpf_program__set_autoload(obj->progs.net_kfree_skb_btf,
							d == NET_DROPS_TP_BTF);
		if (!err)
			err = bpf_program__set_autoload(obj->progs.net_kfree_skb_raw,
							d == NET_DROPS_RAW_TP);
		if (!err)
			err = net_bpf__load(obj);
		/* attaches the drop counter only: tc programs have no auto-attach */
		if (!err)
			err = net_bpf__attach(obj);
		if (!err) {
			ctx->obj = obj;
			ctx->drops = d;
			return 0;
		}
		net_bpf__destroy(obj);
		if (d == NET_DROPS_NONE)
			return err;
	}
}

/* ifindex's fast row on cpu (its owner or not), in the mmapped .bss */
static volatile struct net_fast *fast_row(struct net_ctx *ctx, int cpu, int ifindex)
{
	return &ctx->obj->bss->net_fast[cpu][(uint32_t)ifindex & (NET_FAST_SLOTS - 1)];
}

static bool fast_owned(struct net_ctx *ctx, int ifindex)
{
	return ctx->fast_cpus && fast_row(ctx, 0, ifindex)->ifindex == (uint32_t)ifindex;
}

/* Sum the per-CPU counters of ifindex: its hash entry plus its fast rows. */
static int read_counters(struct net_ctx *ctx, int ifindex, struct net_counters *sum)
{
	__u32 key = ifindex;
	int err;

	err = bpf_map__lookup_elem(ctx->obj->maps.net_counters, &key, sizeof(key), ctx->percpu,
				   sizeof(*ctx->percpu) * ctx->ncpus, 0);
	if (err)
		return err;
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < ctx->ncpus; i++) {
		const struct net_counters *c = &ctx->percpu[i];

		sum->rx_bytes += c->rx_bytes;
		sum->rx_packets += c->rx_packets;
		sum->tx_bytes += c->tx_bytes;
		sum->tx_packets += c->tx_packets;
		sum->rx_dropped += c->rx_dropped;
		sum->tx_dropped += c->tx_dropped;
		sum->tx_dropped_bytes += c->tx_dropped_bytes;
	}
	for (int cpu = 0, n = fast_owned(ctx, ifindex) ? ctx->fast_cpus : 0; cpu < n; cpu++) {
		volatile struct net_fast *f = fast_row(ctx, cpu, ifindex);

		sum->rx_bytes += f->rx_bytes;
		sum->rx_packets += f->rx_packets;
		sum->tx_bytes += f->tx_bytes;
		sum->tx_packets += f->tx_packets;
	}
	return 0;
}

static int counters_create(struct net_ctx *ctx, int ifindex)
{
	__u32 key = ifindex;

	int err;

	memset(ctx->percpu, 0, sizeof(*ctx->percpu) * ctx->ncpus);
	/* BPF_ANY: a stale entry (ifindex reused) restarts from zero */
	err = bpf_map__update_elem(ctx->obj->maps.net_counters, &key, sizeof(key), ctx->percpu,
				   sizeof(*ctx->percpu) * ctx->ncpus, BPF_ANY);
	if (err || !ctx->fast_cpus || fast_row(ctx, 0, ifindex)->ifindex)
		return err; /* the row is another link's: the hash counts this one */
	/* programs are not on the link yet: zero, then claim (BPF tests the owner) */
	for (int cpu = 0; cpu < ctx->fast_cpus; cpu++) {
		volatile struct net_fast *f = fast_row(ctx, cpu, ifindex);

		f->rx_bytes = f->rx_packets = f->tx_bytes = f->tx_packets = 0;
		__atomic_store_n(&f->ifindex, (uint32_t)ifindex, __ATOMIC_RELEASE);
	}
	return 0;
}

static void counters_delete(struct net_ctx *ctx, int ifindex)
{
	__u32 key = ifindex;

	for (int cpu = 0, n = fast_owned(ctx, ifindex) ? ctx->fast_cpus : 0; cpu < n; cpu++)
		__atomic_store_n(&fast_row(ctx, cpu, ifindex)->ifindex, 0, __ATOMIC_RELEASE);
	bpf_map__delete_elem(ctx->obj->maps.net_counters, &key, sizeof(key), 0);
}

/* ---- tc (clsact + cls_bpf) --------------------------------------------- */

static bool prog_is(__u32 prog_id, const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool same = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	if (!bpf_prog_get_info_by_fd(fd, &info, &len))
		same = !strncmp(info.name, bpf_program__name(prog), sizeof(info.name) - 1);
	close(fd);
	return same;
}

static int tc_attach_one(struct net_ctx *ctx, int ifindex, enum bpf_tc_attach_point point,
			 const struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = NET_TC_HANDLE, .priority = ctx->tc_priority,
		    .prog_fd = bpf_program__fd(prog));
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = NET_TC_HANDLE, .priority = ctx->tc_priority);
	int err;

	err = bpf_tc_attach(&hook, &o);
	if (err != -EEXIST)
		return err;
	/* our handle and priority are taken: replace only a filter of ours left by a crash */
	if (bpf_tc_query(&hook, &q) || !prog_is(q.prog_id, prog))
		return -EEXIST;
	o.flags = BPF_TC_F_REPLACE;
	o.prog_id = 0;
	return bpf_tc_attach(&hook, &o);
}

static int tc_detach_one(struct net_ctx *ctx, int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = NET_TC_HANDLE, .priority = ctx->tc_priority);

	return bpf_tc_detach(&hook, &o);
}

/* Remove the clsact qdisc if we created it and nobody else put a filter in it. */
static int tc_qdisc_release(struct net_ctx *ctx, struct net_watch *w, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int n_in, n_out;

	if (!w->qdisc_created)
		return 0;
	w->qdisc_created = false;
	n_in = tnl_tc_filter_count(ctx->nl_req, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
	n_out = tnl_tc_filter_count(ctx->nl_req, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
	if (n_in < 0)
		return n_in;
	if (n_out < 0)
		return n_out;
	if (n_in || n_out)
		return 0; /* someone else's filters now live there: leave it */
	return bpf_tc_hook_destroy(&hook);
}

static int tc_attach(struct net_ctx *ctx, struct net_watch *w, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	/* asking first spares the log libbpf's "Exclusivity flag on" for a qdisc not ours */
	err = tnl_has_clsact(ctx->nl_req, ifindex);
	if (err < 0)
		return err;
	if (!err) {
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			return err;
		w->qdisc_created = !err; /* EEXIST: someone created it meanwhile */
	} else {
		w->qdisc_created = false;
	}
	err = tc_attach_one(ctx, ifindex, BPF_TC_INGRESS, ctx->obj->progs.net_ingress);
	if (err)
		goto fail;
	err = tc_attach_one(ctx, ifindex, BPF_TC_EGRESS, ctx->obj->progs.net_egress);
	if (err) {
		tc_detach_one(ctx, ifindex, BPF_TC_INGRESS);
		goto fail;
	}
	return 0;
fail:
	tc_qdisc_release(ctx, w, ifindex);
	return err;
}

static int tc_detach(struct net_ctx *ctx, struct net_watch *w, int ifindex)
{
	int err, err2, err3;

	err = tc_detach_one(ctx, ifindex, BPF_TC_INGRESS);
	err2 = tc_detach_one(ctx, ifindex, BPF_TC_EGRESS);
	err3 = tc_qdisc_release(ctx, w, ifindex);
	err = err ? err : err2 ? err2 : err3;
	/* the link went away under us: so did our filters and qdisc */
	return err == -ENODEV ? 0 : err;
}

/* ---- tcx ------------------------------------------------------------ */

static int tcx_attach(struct net_ctx *ctx, struct net_watch *w, int ifindex)
{
	/* first in the chain: no program before ours can hide traffic */
	LIBBPF_OPTS(bpf_tcx_opts, o, .flags = BPF_F_BEFORE);
	int err;

	w->link_in = bpf_program__attach_tcx(ctx->obj->progs.net_ingress, ifindex, &o);
	if (!w->link_in)
		return -errno;
	w->link_out = bpf_program__attach_tcx(ctx->obj->progs.net_egress, ifindex, &o);
	if (!w->link_out) {
		err = -errno;
		bpf_link__destroy(w->link_in);
		w->link_in = NULL;
		return err;
	}
	return 0;
}

static int tcx_detach(struct net_watch *w)
{
	int err, err2;

	/* a link whose device is gone is already detached: destroying it only closes it */
	err = bpf_link__destroy(w->link_in);
	err2 = bpf_link__destroy(w->link_out);
	w->link_in = w->link_out = NULL;
	return err ? err : err2;
}

/* ---- attach / detach one watch ---------------------------------------- */

static int watch_attach(struct net_ctx *ctx, struct net_watch *w, int ifindex)
{
	int err;

	err = counters_create(ctx, ifindex);
	if (err)
		goto out;
	err = ctx->mode == NET_ATTACH_TCX ? tcx_attach(ctx, w, ifindex) : tc_attach(ctx, w, ifindex);
	if (err) {
		counters_delete(ctx, ifindex);
		goto out;
	}
	w->ifindex = ifindex;
	w->attach_seq++;
	memset(&w->last, 0, sizeof(w->last));
out:
	w->err = err;
	return err;
}

/*
 * Detach from w->ifindex.  link_alive: the ifindex still names the link we
 * attached to, so our tc filters (and qdisc) are there to remove; when the
 * link is gone they went with it and nothing is touched.
 */
static int watch_detach(struct net_ctx *ctx, struct net_watch *w, bool link_alive)
{
	int err = 0;

	if (!w->ifindex)
		return 0;
	if (ctx->mode == NET_ATTACH_TCX)
		err = tcx_detach(w);
	else if (link_alive)
		err = tc_detach(ctx, w, w->ifindex);
	/* programs are off the link: the counters are final */
	if (read_counters(ctx, w->ifindex, &w->last))
		memset(&w->last, 0, sizeof(w->last));
	counters_delete(ctx, w->ifindex);
	w->ifindex = 0;
	w->qdisc_created = false;
	return err;
}

static bool ifindex_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

/* Make w match what its name is now: attach, re-attach or detach. */
static int watch_sync(struct net_ctx *ctx, struct net_watch *w)
{
	struct tnl_link link;
	int err;

	if (ctx->mode == NET_ATTACH_NETLINK)
		return 0;
	err = tnl_link_get(ctx->nl_req, w->ifname, &link);
	if (err && err != -ENODEV)
		return err;
	if (!err && w->ifindex == link.ifindex)
		return 0;
	/* deleted, renamed away or recreated: leave the old ifindex (if it still exists) */
	if (w->ifindex)
		watch_detach(ctx, w, ifindex_exists(w->ifindex));
	if (err == -ENODEV) {
		w->err = 0;
		return 0;
	}
	err = watch_attach(ctx, w, link.ifindex);
	if (err == -ENODEV) /* went away meanwhile: its event is queued */
		err = w->err = 0;
	return err;
}

/* ---- events --------------------------------------------------------- */

static void on_link(void *arg, int msgtype, const struct tnl_link *link)
{
	struct net_ctx *ctx = arg;
	struct net_watch *by_name = watch_by_name(ctx, link->ifname);
	struct net_watch *by_index = link->ifindex ? watch_by_ifindex(ctx, link->ifindex) : NULL;
	int err = 0;

	if (by_name)
		err = watch_sync(ctx, by_name);
	if (by_index && by_index != by_name) {
		int err2 = watch_sync(ctx, by_index);

		if (!err)
			err = err2;
	}
	if (err && !ctx->ev_err)
		ctx->ev_err = err;
	if (ctx->link_cb)
		ctx->link_cb(ctx->link_cb_arg, link->ifindex, link->ifname, msgtype == RTM_NEWLINK,
			     msgtype == RTM_DELLINK);
}

int net_process_events(struct net_ctx *ctx)
{
	int err;

	ctx->ev_err = 0;
	err = tnl_recv_links(ctx->nl_ev, on_link, ctx);
	if (err == -ENOBUFS) {
		/* events were lost: ask the kernel about every watched name */
		err = 0;
		for (size_t i = 0; i < ctx->nw; i++) {
			int err2 = watch_sync(ctx, &ctx->w[i]);

			if (err2 && !err)
				err = err2;
		}
		/* and read what queued up after the overrun */
		int err3 = tnl_recv_links(ctx->nl_ev, on_link, ctx);

		if (!err)
			err = err3 == -ENOBUFS ? 0 : err3;
	}
	if (err)
		return err;
	return ctx->ev_err;
}

int net_fd(const struct net_ctx *ctx)
{
	return tnl_fd(ctx->nl_ev);
}

/* ---- watches and reads -------------------------------------------------- */

int net_watch(struct net_ctx *ctx, const char *ifname, uint32_t vm_slot)
{
	struct net_watch *w;
	int err;

	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	if (watch_by_name(ctx, ifname))
		return -EEXIST;
	if (ctx->nw == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 8;
		struct net_watch *nw = realloc(ctx->w, cap * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		ctx->w = nw;
		ctx->cap = cap;
	}
	w = &ctx->w[ctx->nw];
	memset(w, 0, sizeof(*w));
	strcpy(w->ifname, ifname);
	w->vm_slot = vm_slot;
	ctx->nw++;
	err = watch_sync(ctx, w);
	if (err) {
		ctx->nw--;
		return err;
	}
	return 0;
}

int net_unwatch(struct net_ctx *ctx, const char *ifname)
{
	struct net_watch *w = watch_by_name(ctx, ifname);
	int err;

	if (!w)
		return -ENOENT;
	err = watch_detach(ctx, w, true);
	*w = ctx->w[--ctx->nw];
	return err;
}

static void stats_from_link(const struct tnl_link *l, struct net_if_stats *out)
{
	out->c = l->c;
	out->ifindex = l->ifindex;
	out->flags |= NET_STATS_DROPS;
}

int net_link_stats(struct net_ctx *ctx, const char *ifname, struct net_if_stats *out)
{
	struct net_watch *w = watch_by_name(ctx, ifname);
	struct tnl_link link;
	int err;

	memset(out, 0, sizeof(*out));
	err = tnl_link_get(ctx->nl_req, ifname, &link);
	if (err)
		return err;
	stats_from_link(&link, out);
	if (w) {
		out->vm_slot = w->vm_slot;
		out->attach_seq = w->attach_seq;
		if (w->ifindex == link.ifindex)
			out->flags |= NET_STATS_ATTACHED;
	}
	return 0;
}

int net_read(struct net_ctx *ctx, const char *ifname, struct net_if_stats *out)
{
	struct net_watch *w = watch_by_name(ctx, ifname);
	struct net_counters sum;
	int err;

	memset(out, 0, sizeof(*out));
	if (!w)
		return -ENOENT;
	if (ctx->mode == NET_ATTACH_NETLINK) {
		err = net_link_stats(ctx, ifname, out);
		out->flags &= ~NET_STATS_ATTACHED;
		return err;
	}
	if (w->ifindex) {
		err = read_counters(ctx, w->ifindex, &sum);
		if (err)
			return err;
		out->ifindex = w->ifindex;
		out->flags |= NET_STATS_ATTACHED;
	} else if (w->attach_seq) {
		sum = w->last;
	} else {
		return w->err ? w->err : -ENODEV;
	}
	out->c = sum;
	out->vm_slot = w->vm_slot;
	out->attach_seq = w->attach_seq;
	out->flags |= NET_STATS_BPF;
	if (ctx->drops != NET_DROPS_NONE)
		out->flags |= NET_STATS_DROPS;
	return 0;
}

/* ---- init / fini ------------------------------------------------------ */

int net_init(struct net_ctx **out, const struct net_opts *opts)
{
	static const struct net_opts defaults;
	struct net_ctx *ctx;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->mode = opts->force_netlink ? NET_ATTACH_NETLINK : opts->mode;
	ctx->tc_priority = opts->tc_priority ? opts->tc_priority : NET_TC_PRIORITY_DEFAULT;
	ctx->link_cb = opts->link_cb;
	ctx->link_cb_arg = opts->link_cb_arg;

	/* events first: a link that appears from here on is not missed */
	err = tnl_open_events(&ctx->nl_ev);
	if (err)
		goto fail;
	err = tnl_open(&ctx->nl_req);
	if (err)
		goto fail;
	if (ctx->mode == NET_ATTACH_NETLINK)
		goto done;

	if (ctx->mode == NET_ATTACH_AUTO)
		ctx->mode = probe_tcx() ? NET_ATTACH_TCX : NET_ATTACH_TC;
	else if (ctx->mode == NET_ATTACH_TCX && !probe_tcx()) {
		err = -EOPNOTSUPP;
		goto fail;
	}
	ctx->ncpus = libbpf_num_possible_cpus();
	if (ctx->ncpus < 0) {
		err = ctx->ncpus;
		goto fail;
	}
	ctx->percpu = calloc(ctx->ncpus, sizeof(*ctx->percpu));
	if (!ctx->percpu) {
		err = -ENOMEM;
		goto fail;
	}
	err = load_bpf(ctx, opts);
	if (err)
		goto fail;
	ctx->fast_cpus = ctx->obj->bss ? (ctx->ncpus < NET_FAST_CPUS ? ctx->ncpus : NET_FAST_CPUS) :
					 0;
done:
	*out = ctx;
	return 0;
fail:
	net_fini(ctx);
	return err;
}

void net_fini(struct net_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->obj) {
		for (size_t i = 0; i < ctx->nw; i++)
			watch_detach(ctx, &ctx->w[i], true);
	}
	net_bpf__destroy(ctx->obj);
	tnl_close(ctx->nl_req);
	tnl_close(ctx->nl_ev);
	free(ctx->percpu);
	free(ctx->w);
	free(ctx);
}

const char *net_attach_mode_name(const struct net_ctx *ctx)
{
	switch (ctx->mode) {
	case NET_ATTACH_TCX:
		return "tcx";
	case NET_ATTACH_TC:
		return "tc";
	case NET_ATTACH_NETLINK:
		return "netlink";
	default:
		return "?";
	}
}

const char *net_drops_source(const struct net_ctx *ctx)
{
	switch (ctx->drops) {
	case NET_DROPS_TP_BTF:
		return "tp_btf/kfree_skb";
	case NET_DROPS_RAW_TP:
		return "raw_tp/kfree_skb";
	default:
		return "none";
	}
}
