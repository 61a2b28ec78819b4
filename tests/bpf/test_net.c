// SPDX-License-Identifier: GPL-2.0
/*
 * test_net: checks of the network collector (daemon/net.c, bpf/net.bpf.c)
 * against rtnetlink link stats, run by t-net.sh inside network namespaces
 * that script creates.  Traffic goes only between those namespaces (or
 * into a tap this program owns); every wait is bounded.
 *
 *   test_net [-m auto|tcx|tc] count DEV LOCAL_IP PEER_IP PEER_NETNS N
 *       N UDP datagrams each way over the veth DEV: BPF counters must equal
 *       the link stats and the exact expected counts, then fini must leave
 *       no program of ours on DEV.
 *   test_net [-m ...] late
 *       watch a link before it exists; it is attached when it appears and
 *       detached without error when it is deleted.
 *   test_net [-m ...] tap
 *       a tap nobody reads: frames the host sends past its queue are
 *       dropped; BPF and link stats must agree on sent, dropped, received.
 *
 * Prints "RESULT key=value ..." lines for the script; exits 0 (pass),
 * 1 (fail) or 77 (skip, reason on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net.h"

#define UDP_PORT		47001
#define IPV4_UDP_OVERHEAD	(14 + 20 + 8)	/* Ethernet + IPv4 + UDP headers */
#define ETH_P_TIDE_TEST		0x88b5		/* IEEE local experimental */
#define WAIT_MS			5000
#define TEST_TIMEOUT_S		60

static enum net_attach_mode mode = NET_ATTACH_AUTO;
static int failures;
static bool quiet_libbpf;	/* probing for absent filters: expected kernel errors */

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		failures++;						\
	}								\
} while (0)

static void die(const char *what, int err)
{
	fprintf(stderr, "test_net: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int payload_bytes(int i)
{
	return 1 + (i * 37) % 1400;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "test_net: '%s' exited with %d\n", cmd, rc);
	return rc;
}

static int open_ctx(struct net_ctx **ctx, net_link_fn cb, void *arg)
{
	struct net_opts opts = { .mode = mode, .link_cb = cb, .link_cb_arg = arg };
	int err;

	err = net_init(ctx, &opts);
	if (err == -EOPNOTSUPP && mode == NET_ATTACH_TCX) {
		fprintf(stderr, "test_net: this kernel has no tcx\n");
		exit(77);
	}
	if (err == -EPERM) {
		fprintf(stderr, "test_net: loading BPF is not permitted here\n");
		exit(77);
	}
	if (err)
		die("net_init", err);
	printf("INFO attach=%s drops=%s\n", net_attach_mode_name(*ctx), net_drops_source(*ctx));
	return 0;
}

/* BPF counters twice around the link stats, until nothing moved in between. */
static int read_settled(struct net_ctx *ctx, const char *dev, struct net_if_stats *bpf,
			struct net_if_stats *link)
{
	struct net_if_stats again;
	int err;

	for (int tries = 0; tries < 20; tries++) {
		err = net_read(ctx, dev, bpf);
		if (!err)
			err = net_link_stats(ctx, dev, link);
		if (!err)
			err = net_read(ctx, dev, &again);
		if (err)
			return err;
		if (!memcmp(bpf, &again, sizeof(again)))
			return 0;
		usleep(100 * 1000);
	}
	return -EBUSY;
}

static void print_stats(const char *tag, const struct net_if_stats *bpf, const struct net_if_stats *link)
{
	printf("%-6s %-6s %12s %10s %12s %10s %10s %10s\n", tag, "source",
	       "rx_bytes", "rx_pkts", "tx_bytes", "tx_pkts", "rx_drop", "tx_drop");
	printf("%-6s %-6s %12llu %10llu %12llu %10llu %10llu %10llu\n", tag, "bpf",
	       (unsigned long long)bpf->c.rx_bytes, (unsigned long long)bpf->c.rx_packets,
	       (unsigned long long)bpf->c.tx_bytes, (unsigned long long)bpf->c.tx_packets,
	       (unsigned long long)bpf->c.rx_dropped, (unsigned long long)bpf->c.tx_dropped);
	printf("%-6s %-6s %12llu %10llu %12llu %10llu %10llu %10llu\n", tag, "link",
	       (unsigned long long)link->c.rx_bytes, (unsigned long long)link->c.rx_packets,
	       (unsigned long long)link->c.tx_bytes, (unsigned long long)link->c.tx_packets,
	       (unsigned long long)link->c.rx_dropped, (unsigned long long)link->c.tx_dropped);
}

static void check_equal(const struct net_if_stats *bpf, const struct net_if_stats *link)
{
	CHECK(bpf->c.rx_bytes == link->c.rx_bytes, "rx_bytes bpf %llu != link %llu",
	      (unsigned long long)bpf->c.rx_bytes, (unsigned long long)link->c.rx_bytes);
	CHECK(bpf->c.rx_packets == link->c.rx_packets, "rx_packets bpf %llu != link %llu",
	      (unsigned long long)bpf->c.rx_packets, (unsigned long long)link->c.rx_packets);
	CHECK(bpf->c.tx_bytes == link->c.tx_bytes, "tx_bytes bpf %llu != link %llu",
	      (unsigned long long)bpf->c.tx_bytes, (unsigned long long)link->c.tx_bytes);
	CHECK(bpf->c.tx_packets == link->c.tx_packets, "tx_packets bpf %llu != link %llu",
	      (unsigned long long)bpf->c.tx_packets, (unsigned long long)link->c.tx_packets);
	if (bpf->flags & NET_STATS_DROPS) {
		CHECK(bpf->c.rx_dropped == link->c.rx_dropped, "rx_dropped bpf %llu != link %llu",
		      (unsigned long long)bpf->c.rx_dropped, (unsigned long long)link->c.rx_dropped);
		CHECK(bpf->c.tx_dropped == link->c.tx_dropped, "tx_dropped bpf %llu != link %llu",
		      (unsigned long long)bpf->c.tx_dropped, (unsigned long long)link->c.tx_dropped);
	}
}

/* Number of our programs on ifindex: tcx links, or our tc filters. */
static int ours_attached(const struct net_ctx *ctx, int ifindex)
{
	int n = 0;

	quiet_libbpf = true;
	if (!strcmp(net_attach_mode_name(ctx), "tcx")) {
		for (int at = 46; at <= 47; at++) {	/* BPF_TCX_INGRESS, BPF_TCX_EGRESS */
			LIBBPF_OPTS(bpf_prog_query_opts, q);

			if (!bpf_prog_query_opts(ifindex, at, &q))
				n += q.count;
		}
	} else {
		enum bpf_tc_attach_point pts[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };

		for (int i = 0; i < 2; i++) {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = pts[i]);
			LIBBPF_OPTS(bpf_tc_opts, q, .handle = 0x71de, .priority = 1);

			if (!bpf_tc_query(&hook, &q))
				n++;
		}
	}
	quiet_libbpf = false;
	return n;
}

/* ---- count: UDP both ways over a veth ---------------------------------- */

static int udp_socket(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	int rcvbuf_bytes = 16 << 20;
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", errno);
	/* large enough for every datagram of the test: no socket drops */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof(rcvbuf_bytes)))
		die("SO_RCVBUFFORCE", errno);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		die("bad IPv4 address", EINVAL);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind", errno);
	return fd;
}

static uint64_t udp_send(int fd, const char *ip, int n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	static char buf[1500];
	uint64_t wire_bytes = 0;

	inet_pton(AF_INET, ip, &to.sin_addr);
	for (int i = 0; i < n; i++) {
		int len = payload_bytes(i);

		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
			die("sendto", errno);
		wire_bytes += len + IPV4_UDP_OVERHEAD;
	}
	return wire_bytes;
}

static int udp_recv(int fd, int n)
{
	static char buf[2048];
	int got = 0;

	while (got < n && recv(fd, buf, sizeof(buf), 0) >= 0)
		got++;
	return got;
}

static int cmd_count(int argc, char **argv)
{
	const char *dev, *local_ip, *peer_ip, *peer_netns;
	struct net_if_stats bpf, link;
	struct net_ctx *ctx;
	int n, sock, ready[2], status, got, err;
	uint64_t tx_wire_bytes, rx_wire_bytes = 0;
	char path[256], c;
	pid_t pid;

	if (argc != 6) {
		fprintf(stderr, "usage: count DEV LOCAL_IP PEER_IP PEER_NETNS N\n");
		return 2;
	}
	dev = argv[1];
	local_ip = argv[2];
	peer_ip = argv[3];
	peer_netns = argv[4];
	n = atoi(argv[5]);
	if (n <= 0 || n > 100000)
		die("N out of range 1..100000", EINVAL);
	for (int i = 0; i < n; i++)
		rx_wire_bytes += payload_bytes(i) + IPV4_UDP_OVERHEAD;

	open_ctx(&ctx, NULL, NULL);
	err = net_watch(ctx, dev, 1);
	if (err)
		die("net_watch", err);
	err = net_read(ctx, dev, &bpf);
	CHECK(!err && (bpf.flags & NET_STATS_ATTACHED), "not attached to '%s' after net_watch: %d", dev, err);
	/* counters start at attach; take the link stats then as the baseline */
	struct net_if_stats link0;
	err = net_link_stats(ctx, dev, &link0);
	if (err)
		die("net_link_stats", err);

	sock = udp_socket(local_ip);
	if (pipe(ready))
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		/* the peer: in PEER_NETNS, echo the same number of datagrams back */
		int nsfd, psock;

		snprintf(path, sizeof(path), "/run/netns/%s", peer_netns);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
			die(path, errno);
		psock = udp_socket(peer_ip);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		got = udp_recv(psock, n);
		udp_send(psock, local_ip, n);
		_exit(got == n ? 0 : 1);
	}
	if (read(ready[0], &c, 1) != 1)
		die("peer did not start", EPIPE);
	tx_wire_bytes = udp_send(sock, peer_ip, n);
	got = udp_recv(sock, n);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid", errno);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer did not receive all %d datagrams", n);
	CHECK(got == n, "received %d of %d datagrams", got, n);
	close(sock);

	err = read_settled(ctx, dev, &bpf, &link);
	if (err)
		die("read_settled", err);
	/* link stats count since the link was created: subtract what was there at attach */
	link.c.rx_bytes -= link0.c.rx_bytes;
	link.c.rx_packets -= link0.c.rx_packets;
	link.c.tx_bytes -= link0.c.tx_bytes;
	link.c.tx_packets -= link0.c.tx_packets;
	link.c.rx_dropped -= link0.c.rx_dropped;
	link.c.tx_dropped -= link0.c.tx_dropped;
	print_stats("count", &bpf, &link);
	check_equal(&bpf, &link);
	CHECK(bpf.c.tx_packets == (uint64_t)n && bpf.c.rx_packets == (uint64_t)n,
	      "expected exactly %d packets each way, got tx %llu rx %llu", n,
	      (unsigned long long)bpf.c.tx_packets, (unsigned long long)bpf.c.rx_packets);
	CHECK(bpf.c.tx_bytes == tx_wire_bytes && bpf.c.rx_bytes == rx_wire_bytes,
	      "expected %llu bytes each way, got tx %llu rx %llu",
	      (unsigned long long)tx_wire_bytes, (unsigned long long)bpf.c.tx_bytes,
	      (unsigned long long)bpf.c.rx_bytes);
	CHECK(bpf.c.rx_dropped == 0 && bpf.c.tx_dropped == 0, "unexpected drops");
	printf("RESULT rx_packets=%llu tx_packets=%llu rx_bytes=%llu tx_bytes=%llu\n",
	       (unsigned long long)bpf.c.rx_packets, (unsigned long long)bpf.c.tx_packets,
	       (unsigned long long)bpf.c.rx_bytes, (unsigned long long)bpf.c.tx_bytes);

	CHECK(ours_attached(ctx, bpf.ifindex) == 2, "expected 2 programs of ours on '%s'", dev);
	net_fini(ctx);
	/* a fresh context to look: the mode name tells which hooks to query */
	open_ctx(&ctx, NULL, NULL);
	CHECK(ours_attached(ctx, bpf.ifindex) == 0, "programs of ours left on '%s' after net_fini", dev);
	net_fini(ctx);
	return failures ? 1 : 0;
}

/* ---- late: the link appears after net_watch, then goes ------------------ */

struct events {
	int new_seen, del_seen;
	int ifindex;
};

static void on_link(void *arg, int ifindex, const char *ifname, bool up_or_new, bool removed)
{
	struct events *ev = arg;

	if (strcmp(ifname, "tnlate0"))
		return;
	ev->ifindex = ifindex;
	if (up_or_new)
		ev->new_seen++;
	if (removed)
		ev->del_seen++;
}

/* Process events until want(attached) holds or WAIT_MS passes. */
static int wait_attached(struct net_ctx *ctx, const char *dev, bool want)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct net_if_stats st;
	int err;

	for (;;) {
		struct pollfd p = { .fd = net_fd(ctx), .events = POLLIN };

		err = net_read(ctx, dev, &st);
		if ((err == 0 || err == -ENODEV) && !!(st.flags & NET_STATS_ATTACHED) == want)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		poll(&p, 1, 200);
		err = net_process_events(ctx);
		if (err)
			return err;
	}
}

/* Send n raw frames of an unhandled EtherType out of dev (AF_PACKET, no receive). */
static uint64_t send_raw(const char *dev, int n)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	static unsigned char frame[1514];
	uint64_t bytes = 0;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("AF_PACKET socket", errno);
	to.sll_ifindex = if_nametoindex(dev);
	memset(frame, 0xff, ETH_ALEN);			/* broadcast */
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x09", 6);
	frame[12] = ETH_P_TIDE_TEST >> 8;
	frame[13] = ETH_P_TIDE_TEST & 0xff;
	for (int i = 0; i < n; i++) {
		int len = 60 + payload_bytes(i);

		if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != len)
			die("AF_PACKET sendto", errno);
		bytes += len;
	}
	close(fd);
	return bytes;
}

static int cmd_late(int argc, char **argv)
{
	const char *dev = "tnlate0";
	struct events ev = { 0 };
	struct net_if_stats bpf, link, last;
	struct net_ctx *ctx;
	int err;

	open_ctx(&ctx, on_link, &ev);
	err = net_watch(ctx, dev, 7);
	CHECK(err == 0, "net_watch of absent '%s': %d", dev, err);
	err = net_read(ctx, dev, &bpf);
	CHECK(err == -ENODEV, "net_read of absent '%s': %d, expected -ENODEV", dev, err);

	if (run("ip link add tnlate0 type veth peer name tnlate1 && "
		"ip link set tnlate0 up && ip link set tnlate1 up"))
		die("creating veth tnlate0", EIO);
	err = wait_attached(ctx, dev, true);
	CHECK(err == 0, "not attached to '%s' after it appeared: %d", dev, err);
	CHECK(ev.new_seen > 0, "no link event for '%s'", dev);
	err = net_read(ctx, dev, &bpf);
	CHECK(!err && bpf.vm_slot == 7 && bpf.attach_seq == 1 && bpf.ifindex == ev.ifindex,
	      "net_read after appearance: err %d slot %u seq %u ifindex %d", err,
	      bpf.vm_slot, bpf.attach_seq, bpf.ifindex);
	CHECK(ours_attached(ctx, bpf.ifindex) == 2, "expected 2 programs of ours on '%s'", dev);

	/* frames both ways; those reaching tnlate0 have no protocol handler: rx drops */
	uint64_t tx_bytes = send_raw("tnlate0", 25);
	uint64_t rx_bytes = send_raw("tnlate1", 40);
	err = read_settled(ctx, dev, &bpf, &link);
	if (err)
		die("read_settled", err);
	print_stats("late", &bpf, &link);
	check_equal(&bpf, &link);
	CHECK(bpf.c.tx_packets == 25 && bpf.c.tx_bytes == tx_bytes, "tx: %llu packets %llu bytes, expected 25, %llu",
	      (unsigned long long)bpf.c.tx_packets, (unsigned long long)bpf.c.tx_bytes, (unsigned long long)tx_bytes);
	CHECK(bpf.c.rx_packets == 40 && bpf.c.rx_bytes == rx_bytes, "rx: %llu packets %llu bytes, expected 40, %llu",
	      (unsigned long long)bpf.c.rx_packets, (unsigned long long)bpf.c.rx_bytes, (unsigned long long)rx_bytes);
	if (bpf.flags & NET_STATS_DROPS)
		CHECK(bpf.c.rx_dropped == 40, "rx_dropped %llu, expected 40 (no handler)",
		      (unsigned long long)bpf.c.rx_dropped);

	/* renamed away: detached from the device that still exists; renamed back: attached anew */
	int ifindex = bpf.ifindex;
	if (run("ip link set tnlate0 down && ip link set tnlate0 name tnlate9"))
		die("renaming tnlate0", EIO);
	err = wait_attached(ctx, dev, false);
	CHECK(err == 0, "still attached after '%s' was renamed away: %d", dev, err);
	CHECK(ours_attached(ctx, ifindex) == 0, "programs of ours left on the renamed link");
	if (run("ip link set tnlate9 name tnlate0 && ip link set tnlate0 up"))
		die("renaming tnlate9 back", EIO);
	err = wait_attached(ctx, dev, true);
	CHECK(err == 0, "not attached after '%s' came back: %d", dev, err);
	err = net_read(ctx, dev, &bpf);
	CHECK(!err && bpf.attach_seq == 2 && bpf.ifindex == ifindex && bpf.c.rx_packets == 0,
	      "after rename back: err %d seq %u ifindex %d rx %llu", err, bpf.attach_seq,
	      bpf.ifindex, (unsigned long long)bpf.c.rx_packets);
	send_raw("tnlate1", 3);
	err = read_settled(ctx, dev, &bpf, &link);
	CHECK(!err && bpf.c.rx_packets == 3, "after rename back: rx %llu, expected 3",
	      (unsigned long long)bpf.c.rx_packets);

	if (run("ip link del tnlate0"))
		die("deleting tnlate0", EIO);
	err = wait_attached(ctx, dev, false);
	CHECK(err == 0, "still attached after '%s' was deleted: %d", dev, err);
	CHECK(ev.del_seen > 0, "no RTM_DELLINK event for '%s'", dev);
	err = net_read(ctx, dev, &last);
	CHECK(err == 0 && last.ifindex == 0 && last.c.rx_packets == bpf.c.rx_packets &&
	      last.c.tx_packets == bpf.c.tx_packets && last.c.rx_dropped == bpf.c.rx_dropped,
	      "after deletion net_read should give the last values: err %d ifindex %d rx %llu",
	      err, last.ifindex, (unsigned long long)last.c.rx_packets);
	err = net_unwatch(ctx, dev);
	CHECK(err == 0, "net_unwatch after deletion: %d", err);
	printf("RESULT late_attached=1 late_detached=1 new_events=%d del_events=%d\n",
	       ev.new_seen, ev.del_seen);
	net_fini(ctx);
	return failures ? 1 : 0;
}

/* ---- tap: a VM that does not read its queue --------------------------- */

static int cmd_tap(int argc, char **argv)
{
	const char *dev = "tntap0";
	const int n_tx = 800, n_rx = 300;
	struct net_if_stats bpf, link;
	struct net_ctx *ctx;
	struct ifreq ifr = { 0 };
	unsigned char mac[ETH_ALEN], frame[2048];
	uint64_t tx_wire_bytes, read_bytes = 0, rx_bytes = 0;
	int tap, sock, n_read = 0, err;

	tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (tap < 0) {
		fprintf(stderr, "test_net: cannot open /dev/net/tun: %s\n", strerror(errno));
		exit(77);
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(tap, TUNSETIFF, &ifr))
		die("TUNSETIFF", errno);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ioctl(sock, SIOCGIFHWADDR, &ifr))
		die("SIOCGIFHWADDR", errno);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(sock);
	/* the tap's queue (its ptr_ring) holds txqueuelen frames: fewer than we send */
	if (run("ip link set tntap0 txqueuelen 500 && "
		"ip addr add 198.51.100.1/24 dev tntap0 && ip link set tntap0 up && "
		"ip neigh add 198.51.100.2 lladdr 02:00:00:00:00:02 dev tntap0 nud permanent"))
		die("configuring tntap0", EIO);

	open_ctx(&ctx, NULL, NULL);
	err = net_watch(ctx, dev, 3);
	if (err)
		die("net_watch", err);

	/* host -> VM: more than the tap queue holds, nobody reading */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx_wire_bytes = udp_send(sock, "198.51.100.2", n_tx);
	close(sock);
	/* now the "VM" reads its queue: the tap counts tx as frames are read */
	for (;;) {
		ssize_t len = read(tap, frame, sizeof(frame));

		if (len < 0)
			break;
		n_read++;
		read_bytes += len;
	}
	/* VM -> host: frames of an unhandled EtherType, dropped by the host stack */
	memcpy(frame, mac, ETH_ALEN);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x02", 6);
	frame[12] = ETH_P_TIDE_TEST >> 8;
	frame[13] = ETH_P_TIDE_TEST & 0xff;
	for (int i = 0; i < n_rx; i++) {
		int len = 60 + payload_bytes(i);

		if (write(tap, frame, len) != len)
			die("write to tap", errno);
		rx_bytes += len;
	}

	err = read_settled(ctx, dev, &bpf, &link);
	if (err)
		die("read_settled", err);
	print_stats("tap", &bpf, &link);
	printf("INFO tap: sent %d frames (%llu bytes), VM read %d (%llu bytes), wrote %d (%llu bytes)\n",
	       n_tx, (unsigned long long)tx_wire_bytes, n_read, (unsigned long long)read_bytes,
	       n_rx, (unsigned long long)rx_bytes);
	/* receive side: equal, drops included */
	CHECK(bpf.c.rx_packets == link.c.rx_packets && bpf.c.rx_packets == (uint64_t)n_rx,
	      "rx_packets bpf %llu link %llu expected %d", (unsigned long long)bpf.c.rx_packets,
	      (unsigned long long)link.c.rx_packets, n_rx);
	CHECK(bpf.c.rx_bytes == link.c.rx_bytes && bpf.c.rx_bytes == rx_bytes,
	      "rx_bytes bpf %llu link %llu expected %llu", (unsigned long long)bpf.c.rx_bytes,
	      (unsigned long long)link.c.rx_bytes, (unsigned long long)rx_bytes);
	/* send side: BPF saw all offered; the link counts what the VM read, and drops */
	CHECK(bpf.c.tx_packets == (uint64_t)n_tx && bpf.c.tx_bytes == tx_wire_bytes,
	      "tx bpf %llu packets %llu bytes, expected %d, %llu", (unsigned long long)bpf.c.tx_packets,
	      (unsigned long long)bpf.c.tx_bytes, n_tx, (unsigned long long)tx_wire_bytes);
	CHECK(link.c.tx_packets == (uint64_t)n_read && link.c.tx_bytes == read_bytes,
	      "link tx %llu packets %llu bytes, VM read %d, %llu", (unsigned long long)link.c.tx_packets,
	      (unsigned long long)link.c.tx_bytes, n_read, (unsigned long long)read_bytes);
	CHECK(link.c.tx_dropped > 0, "expected the tap to drop (queue full)");
	if (bpf.flags & NET_STATS_DROPS) {
		CHECK(bpf.c.tx_dropped == link.c.tx_dropped, "tx_dropped bpf %llu link %llu",
		      (unsigned long long)bpf.c.tx_dropped, (unsigned long long)link.c.tx_dropped);
		CHECK(bpf.c.tx_packets - bpf.c.tx_dropped == link.c.tx_packets,
		      "bpf tx_packets - tx_dropped %llu != link tx_packets %llu",
		      (unsigned long long)(bpf.c.tx_packets - bpf.c.tx_dropped), (unsigned long long)link.c.tx_packets);
		CHECK(bpf.c.tx_bytes - bpf.c.tx_dropped_bytes == link.c.tx_bytes,
		      "bpf tx_bytes - tx_dropped_bytes %llu != link tx_bytes %llu",
		      (unsigned long long)(bpf.c.tx_bytes - bpf.c.tx_dropped_bytes), (unsigned long long)link.c.tx_bytes);
		CHECK(bpf.c.rx_dropped == link.c.rx_dropped && bpf.c.rx_dropped == (uint64_t)n_rx,
		      "rx_dropped bpf %llu link %llu expected %d", (unsigned long long)bpf.c.rx_dropped,
		      (unsigned long long)link.c.rx_dropped, n_rx);
	}
	printf("RESULT tap_tx_packets=%llu tap_tx_dropped=%llu tap_tx_dropped_bytes=%llu "
	       "tap_rx_packets=%llu tap_rx_dropped=%llu\n",
	       (unsigned long long)bpf.c.tx_packets, (unsigned long long)bpf.c.tx_dropped,
	       (unsigned long long)bpf.c.tx_dropped_bytes,
	       (unsigned long long)bpf.c.rx_packets, (unsigned long long)bpf.c.rx_dropped);
	net_fini(ctx);
	close(tap);
	return failures ? 1 : 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN && !quiet_libbpf ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "+m:")) != -1) {
		if (opt != 'm')
			return 2;
		if (!strcmp(optarg, "auto"))
			mode = NET_ATTACH_AUTO;
		else if (!strcmp(optarg, "tcx"))
			mode = NET_ATTACH_TCX;
		else if (!strcmp(optarg, "tc"))
			mode = NET_ATTACH_TC;
		else {
			fprintf(stderr, "test_net: what is mode '%s'?\n", optarg);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "usage: test_net [-m auto|tcx|tc] count|late|tap ...\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(TEST_TIMEOUT_S);	/* never hang: SIGALRM kills us, the script reports a failure */
	if (!strcmp(argv[0], "count"))
		return cmd_count(argc, argv);
	if (!strcmp(argv[0], "late"))
		return cmd_late(argc, argv);
	if (!strcmp(argv[0], "tap"))
		return cmd_tap(argc, argv);
	fprintf(stderr, "test_net: what is '%s'?\n", argv[0]);
	return 2;
}
