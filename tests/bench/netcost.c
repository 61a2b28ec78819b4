// SPDX-License-Identifier: GPL-2.0
/*
 * netcost: what tide's tc programs (bpf/net.bpf.c) cost per packet.
 *
 *   netcost [--seconds S] [--frame BYTES] [--empty-first] DEV_A DEV_B
 *
 * Run inside a private network namespace holding the veth pair DEV_A <->
 * DEV_B, both up (b-bpf-cost.sh makes it).  tide's net collector watches
 * both links; an empty SCHED_CLS program (returns TCX_NEXT, as ours do)
 * sits on the same four tcx hooks, after ours.  A packet socket blasts
 * Ethernet frames out of DEV_A to DEV_B's address: each passes DEV_A's
 * egress and DEV_B's ingress.  Per-packet cost of every program on those
 * hooks from the kernel's BPF stats (run_time_ns / run_cnt, enabled with
 * BPF_ENABLE_STATS for the run only), side by side, plus a check that
 * tide counted every frame sent.
 *
 * Output: CSV lines on stdout, progress on stderr.  Exit 0, 1 on error,
 * 77 if it cannot run (not root, no tcx).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net.h"
#include "util.h"

/* uapi of Linux >= 6.6 (as in daemon/net.c) */
#define TCX_INGRESS ((enum bpf_attach_type)46)
#define TCX_EGRESS ((enum bpf_attach_type)47)
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)
#endif
#define ETH_P_BENCH 0x88B5 /* IEEE 802 local experimental */
#define MAX_IDS 8

static struct env {
	double seconds;
	int frame_bytes;
	bool empty_first;
} env = { .seconds = 2.0, .frame_bytes = 64 };

struct hook {
	const char *dev;
	int ifindex;
	enum bpf_attach_type type;
	const char *name; /* "ingress" or "egress" */
	int empty_fd;	  /* empty program, then its link */
	int link_fd;
};

struct prog_stat {
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
	__u64 run_cnt;
	__u64 run_time_ns;
};

static int empty_load(enum bpf_attach_type type)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	const struct bpf_insn insns[] = {
		/* r0 = TCX_NEXT (-1, TC_ACT_UNSPEC), what tide's programs return */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "empty_tc", "GPL", insns, 2, &opts);
}

/* program ids on one hook, first to last */
static int hook_ids(const struct hook *h, __u32 *ids, int max)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .count = (__u32)max);
	int err = bpf_prog_query_opts(h->ifindex, h->type, &q);

	return err ? err : (int)q.count;
}

static int prog_stat(__u32 id, struct prog_stat *st)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	err = bpf_prog_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return err;
	st->id = id;
	snprintf(st->name, sizeof(st->name), "%s", info.name);
	st->run_cnt = info.run_cnt;
	st->run_time_ns = info.run_time_ns;
	return 0;
}

/* stats of every distinct program on the hooks */
static int snap(const struct hook *hooks, int nhooks, struct prog_stat *st, int max)
{
	int n = 0;

	for (int h = 0; h < nhooks; h++) {
		__u32 ids[MAX_IDS];
		int cnt = hook_ids(&hooks[h], ids, MAX_IDS);

		if (cnt < 0)
			return cnt;
		for (int i = 0; i < cnt; i++) {
			int seen = 0, err;

			for (int j = 0; j < n; j++)
				seen |= st[j].id == ids[i];
			if (seen || n >= max)
				continue;
			err = prog_stat(ids[i], &st[n]);
			if (err)
				return err;
			n++;
		}
	}
	return n;
}

static int mac_of(int fd, const char *dev, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* frames out of dev_a to dev_b for env.seconds; count sent */
static int blast(const char *dev_a, int ifindex_a, const char *dev_b, uint64_t *sent)
{
	unsigned char frame[1514];
	struct sockaddr_ll to;
	struct ethhdr *eth = (struct ethhdr *)frame;
	uint64_t t0 = util_monotonic_ns(), n = 0;
	uint64_t dur_ns = (uint64_t)(env.seconds * 1e9);
	int fd, err = 0;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* send only */
	if (fd < 0)
		return -errno;
	memset(frame, 0x5a, sizeof(frame));
	err = mac_of(fd, dev_b, eth->h_dest);
	if (!err)
		err = mac_of(fd, dev_a, eth->h_source);
	if (err)
		goto cleanup;
	eth->h_proto = htons(ETH_P_BENCH);
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = ifindex_a;
	to.sll_halen = ETH_ALEN;
	memcpy(to.sll_addr, eth->h_dest, ETH_ALEN);
	for (;;) {
		if (sendto(fd, frame, (size_t)env.frame_bytes, 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			err = -errno;
			break;
		}
		if (!(++n & 1023) && util_monotonic_ns() - t0 >= dur_ns)
			break;
	}
cleanup:
	close(fd);
	*sent = n;
	return err;
}

static int run(const char *dev_a, const char *dev_b)
{
	struct hook hooks[4] = {
		{ .dev = dev_a, .type = TCX_EGRESS, .name = "egress" },
		{ .dev = dev_b, .type = TCX_INGRESS, .name = "ingress" },
		{ .dev = dev_a, .type = TCX_INGRESS, .name = "ingress" },
		{ .dev = dev_b, .type = TCX_EGRESS, .name = "egress" },
	};
	struct prog_stat a[MAX_IDS], b[MAX_IDS];
	struct net_if_stats sa0, sa1, sb0, sb1;
	struct net_ctx *net = NULL;
	uint64_t sent = 0;
	int stats_fd, na, nb, err;

	for (int i = 0; i < 4; i++) {
		hooks[i].empty_fd = hooks[i].link_fd = -1;
		hooks[i].ifindex = (int)if_nametoindex(hooks[i].dev);
		if (!hooks[i].ifindex) {
			fprintf(stderr, "netcost: no link '%s' in this namespace\n", hooks[i].dev);
			return 1;
		}
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME); /* off again at close */
	if (stats_fd < 0) {
		fprintf(stderr, "netcost: cannot enable BPF stats: %s\n", strerror(-stats_fd));
		return 1;
	}
	err = net_init(&net, &(struct net_opts){ .mode = NET_ATTACH_TCX });
	if (err) {
		fprintf(stderr, "netcost: net_init (tcx): %s\n", strerror(-err));
		err = err == -EOPNOTSUPP ? 77 : 1;
		goto out;
	}
	err = net_watch(net, dev_a, 1);
	if (!err)
		err = net_watch(net, dev_b, 2);
	if (err) {
		fprintf(stderr, "netcost: net_watch: %s\n", strerror(-err));
		err = 1;
		goto out;
	}
	/*
	 * Empty programs last on the same hooks (tide's are first), or first
	 * (--empty-first): the first program of a chain pays for the cold
	 * cache lines and TLB entries that the next one then finds warm.
	 */
	for (int i = 0; i < 4; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = env.empty_first ? BPF_F_BEFORE : 0);

		hooks[i].empty_fd = empty_load(hooks[i].type);
		if (hooks[i].empty_fd >= 0)
			hooks[i].link_fd = bpf_link_create(hooks[i].empty_fd, hooks[i].ifindex,
							   hooks[i].type, &lopts);
		if (hooks[i].empty_fd < 0 || hooks[i].link_fd < 0) {
			fprintf(stderr, "netcost: empty program on %s %s: %s\n", hooks[i].dev,
				hooks[i].name, strerror(errno));
			err = 1;
			goto out;
		}
	}
	err = net_read(net, dev_a, &sa0);
	if (!err)
		err = net_read(net, dev_b, &sb0);
	na = err ? err : snap(hooks, 4, a, MAX_IDS);
	fprintf(stderr, "  net cost: %d-byte frames %s -> %s for %.1f s ...\n", env.frame_bytes,
		dev_a, dev_b, env.seconds);
	err = na < 0 ? na : blast(dev_a, hooks[0].ifindex, dev_b, &sent);
	usleep(100 * 1000); /* let the receive backlog drain */
	nb = err ? err : snap(hooks, 4, b, MAX_IDS);
	if (nb < 0 || na < 0) {
		fprintf(stderr, "netcost: %s\n", strerror(-(nb < 0 ? nb : na)));
		err = 1;
		goto out;
	}
	err = net_read(net, dev_a, &sa1);
	if (!err)
		err = net_read(net, dev_b, &sb1);
	if (err) {
		fprintf(stderr, "netcost: net_read: %s\n", strerror(-err));
		err = 1;
		goto out;
	}
	/* per hook, first to last; a program on several hooks once */
	for (int h = 0, done = 0; h < 4; h++) {
		__u32 ids[MAX_IDS];
		int cnt = hook_ids(&hooks[h], ids, MAX_IDS);

		for (int k = 0; k < cnt; k++) {
			const struct prog_stat *x = NULL, *y = NULL;

			for (int i = 0; i < nb; i++)
				if (b[i].id == ids[k])
					y = &b[i];
			for (int j = 0; j < na; j++)
				if (a[j].id == ids[k])
					x = &a[j];
			if (!x || !y || (done & (1 << (y - b))))
				continue;
			done |= 1 << (y - b);
			/* net,hook,program,runs,ns_per_run */
			printf("net,%s %s,%s,%llu,%.1f\n", hooks[h].dev, hooks[h].name, y->name,
			       (unsigned long long)(y->run_cnt - x->run_cnt),
			       y->run_cnt > x->run_cnt ? (double)(y->run_time_ns - x->run_time_ns) /
								 (double)(y->run_cnt - x->run_cnt) :
							 0.0);
		}
	}
	/* sent,frames,counted_egress,counted_ingress */
	printf("sent,%llu,%llu,%llu\n", (unsigned long long)sent,
	       (unsigned long long)(sa1.c.tx_packets - sa0.c.tx_packets),
	       (unsigned long long)(sb1.c.rx_packets - sb0.c.rx_packets));
	fflush(stdout);
	err = 0;
out:
	for (int i = 0; i < 4; i++) {
		if (hooks[i].link_fd >= 0)
			close(hooks[i].link_fd);
		if (hooks[i].empty_fd >= 0)
			close(hooks[i].empty_fd);
	}
	net_fini(net);
	close(stats_fd);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "frame", required_argument, NULL, 'f' },
		{ "empty-first", no_argument, NULL, 'e' },
		{ 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "s:f:e", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			env.seconds = strtod(optarg, &end);
			if (*end || !(env.seconds >= 0.05 && env.seconds <= 3600))
				goto bad;
			break;
		case 'f':
			env.frame_bytes = (int)strtol(optarg, &end, 10);
			if (*end || env.frame_bytes < 60 || env.frame_bytes > 1514)
				goto bad;
			break;
		case 'e':
			env.empty_first = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 2)
		goto usage;
	if (geteuid() != 0) {
		fprintf(stderr, "netcost: needs root (loads BPF programs)\n");
		return 77;
	}
	return run(argv[optind], argv[optind + 1]);
usage:
	fprintf(stderr, "usage: netcost [--seconds S] [--frame BYTES] [--empty-first] DEV_A DEV_B\n");
	return 2;
bad:
	fprintf(stderr, "what is '%s'?\n", optarg);
	return 2;
}
