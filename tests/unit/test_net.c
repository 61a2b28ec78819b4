// SPDX-License-Identifier: GPL-2.0
/*
 * test_net: daemon/net.c against a fake kernel.  Every call net.c makes to
 * libnl (through daemon/nl.c) and to libbpf is replaced at link time
 * (TEST_LDFLAGS_test_net: -Wl,--wrap=...) by the fakes below: links come
 * and go in a small table, link events are queued by hand, the counter map
 * is an array, tcx links and tc filters are recorded.  What runs for real
 * is net.c's bookkeeping: attach on appearance, detach on removal, rename
 * and re-creation, lost events, partial failures, the clsact qdisc rules.
 * The kernel side proper is checked by tests/bpf/t-net.sh.
 */
#include "unit.h"

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net.h"
#include "nl.h"
#include "net_abi.h"

#define FAKE_NCPUS 2
#define FAKE_MAX 16

/* ---- the fake kernel --------------------------------------------------- */

static struct {
	/* links of the netns: name -> ifindex */
	struct {
		char name[IFNAMSIZ];
		int ifindex;
	} links[FAKE_MAX];
	/* queued link events, read by tnl_recv_links() */
	struct {
		int type;
		int ifindex;
		char name[IFNAMSIZ];
	} ev[FAKE_MAX];
	int n_ev;
	int recv_result; /* returned once by the next tnl_recv_links() */
	/* counter map */
	struct {
		bool used;
		__u32 key;
		struct net_counters c[FAKE_NCPUS];
	} map[FAKE_MAX];
	/* tcx: live links */
	struct fake_link {
		int ifindex;
		int prog;
	} * tcx[FAKE_MAX];
	int tcx_attach_err; /* next bpf_program__attach_tcx() fails with it */
	bool has_tcx;
	/* tc */
	bool clsact[64]; /* by ifindex */
	bool clsact_ours_created[64];
	int filters[64][2]; /* our filters by ifindex and direction */
	int foreign_filters[64];
	int stale_prog_named; /* 1: a filter at our handle/prio runs our program; 2: a foreign one */
	int hook_destroyed;
	int tc_replaced;
	__u32 queried_prog_id; /* 77: the ingress filter, 78: egress */
	/* skeleton */
	struct bpf_program *progs[4];
	const char *prog_names[4];
	int loads;
	bool tp_btf_fails;
	/* the mmapped .bss: net_fast[NET_FAST_CPUS][NET_FAST_SLOTS], its only variable */
	struct net_fast (*fast)[NET_FAST_SLOTS];
} fk;

static char fake_counters_map, fake_rodata_map;

static void fake_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.has_tcx = true;
}

static void link_add(const char *name, int ifindex)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (!fk.links[i].ifindex) {
			snprintf(fk.links[i].name, IFNAMSIZ, "%s", name);
			fk.links[i].ifindex = ifindex;
			return;
		}
	fail_msg("fake: too many links");
}

static void link_del(int ifindex)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.links[i].ifindex == ifindex) {
			fk.links[i].ifindex = 0;
			/* tc state goes with the device; tcx links go defunct */
			fk.clsact[ifindex] = false;
			fk.filters[ifindex][0] = fk.filters[ifindex][1] = 0;
			fk.foreign_filters[ifindex] = 0;
			return;
		}
}

static void link_rename(int ifindex, const char *name)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.links[i].ifindex == ifindex)
			snprintf(fk.links[i].name, IFNAMSIZ, "%s", name);
}

static void queue_event(int type, int ifindex, const char *name)
{
	assert_true(fk.n_ev < FAKE_MAX);
	fk.ev[fk.n_ev].type = type;
	fk.ev[fk.n_ev].ifindex = ifindex;
	snprintf(fk.ev[fk.n_ev].name, IFNAMSIZ, "%s", name);
	fk.n_ev++;
}

/* intent-named: the kernel creates/deletes a link and says so */
static void link_appears(const char *name, int ifindex)
{
	link_add(name, ifindex);
	queue_event(RTM_NEWLINK, ifindex, name);
}

static void link_goes(const char *name, int ifindex)
{
	link_del(ifindex);
	queue_event(RTM_DELLINK, ifindex, name);
}

static int tcx_count(int ifindex)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.tcx[i] && fk.tcx[i]->ifindex == ifindex)
			n++;
	return n;
}

static int tcx_total(void)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX; i++)
		n += fk.tcx[i] != NULL;
	return n;
}

static int map_find(__u32 key)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.map[i].used && fk.map[i].key == key)
			return i;
	return -1;
}

/* BPF counted packets on ifindex (split over the fake CPUs) */
static void count_packets(int ifindex, uint64_t rx_packets, uint64_t tx_packets)
{
	int i = map_find(ifindex);

	assert_true(i >= 0);
	fk.map[i].c[0].rx_packets += rx_packets / 2;
	fk.map[i].c[1].rx_packets += rx_packets - rx_packets / 2;
	fk.map[i].c[1].tx_packets += tx_packets;
	fk.map[i].c[0].rx_bytes += 100 * rx_packets;
}

/* ---- wraps: daemon/nl.c ------------------------------------------------ */

static struct tnl *fake_sock(void)
{
	return malloc(1); /* a distinct pointer, checked for leaks by ASan */
}

int __wrap_tnl_open(struct tnl **out)
{
	*out = fake_sock();
	return 0;
}

int __wrap_tnl_open_events(struct tnl **out)
{
	*out = fake_sock();
	return 0;
}

int __wrap_tnl_fd(const struct tnl *nl)
{
	return 42;
}

void __wrap_tnl_close(struct tnl *nl)
{
	free(nl);
}

int __wrap_tnl_recv_links(struct tnl *nl, tnl_link_fn fn, void *arg)
{
	int n = fk.n_ev, err = fk.recv_result;

	fk.n_ev = 0;
	fk.recv_result = 0;
	if (err)
		return err; /* overrun: the queued events are lost */
	for (int i = 0; i < n; i++) {
		struct tnl_link l = { .ifindex = fk.ev[i].ifindex };

		snprintf(l.ifname, IFNAMSIZ, "%s", fk.ev[i].name);
		fn(arg, fk.ev[i].type, &l);
	}
	return 0;
}

int __wrap_tnl_link_get(struct tnl *nl, const char *ifname, struct tnl_link *out)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.links[i].ifindex && !strcmp(fk.links[i].name, ifname)) {
			memset(out, 0, sizeof(*out));
			out->ifindex = fk.links[i].ifindex;
			snprintf(out->ifname, IFNAMSIZ, "%s", ifname);
			out->c.rx_packets = 1000 + out->ifindex;
			return 0;
		}
	return -ENODEV;
}

int __wrap_tnl_has_clsact(struct tnl *nl, int ifindex)
{
	return fk.clsact[ifindex];
}

int __wrap_tnl_tc_filter_count(struct tnl *nl, int ifindex, uint32_t parent)
{
	int dir = parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);

	return fk.filters[ifindex][dir] + fk.foreign_filters[ifindex];
}

/* ---- wraps: libc ----------------------------------------------------- */

char *__wrap_if_indextoname(unsigned int ifindex, char *name)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.links[i].ifindex == (int)ifindex)
			return strcpy(name, fk.links[i].name);
	errno = ENXIO;
	return NULL;
}

unsigned int __wrap_if_nametoindex(const char *name)
{
	return 1; /* "lo" */
}

/* ---- wraps: libbpf --------------------------------------------------- */

int __wrap_libbpf_num_possible_cpus(void)
{
	return FAKE_NCPUS;
}

int __wrap_libbpf_find_vmlinux_btf_id(const char *name, enum bpf_attach_type type)
{
	return 1234;
}

int __wrap_bpf_prog_query_opts(int target, enum bpf_attach_type type, struct bpf_prog_query_opts *opts)
{
	return fk.has_tcx ? 0 : -EINVAL;
}

int __wrap_bpf_object__open_skeleton(struct bpf_object_skeleton *s,
				     const struct bpf_object_open_opts *opts)
{
	for (int i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = (void *)((char *)s->maps + i * s->map_skel_sz);

		*m->map = (struct bpf_map *)(strstr(m->name, "rodata") ? &fake_rodata_map :
									 &fake_counters_map);
		if (m->mmaped)
			*m->mmaped = calloc(1, 1 << 20); /* room for net_fast in .bss */
		if (m->mmaped && strstr(m->name, "bss"))
			fk.fast = *m->mmaped;
	}
	assert_true(s->prog_cnt <= 4);
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = (void *)((char *)s->progs + i * s->prog_skel_sz);

		fk.progs[i] = (struct bpf_program *)&fk.progs[i];
		fk.prog_names[i] = p->name;
		*p->prog = fk.progs[i];
	}
	return 0;
}

static bool autoload[4];

int __wrap_bpf_program__set_autoload(struct bpf_program *prog, bool load)
{
	autoload[(struct bpf_program **)prog - fk.progs] = load;
	return 0;
}

int __wrap_bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	fk.loads++;
	/* progs: net_ingress, net_egress, net_kfree_skb_btf, net_kfree_skb_raw */
	if (fk.tp_btf_fails && autoload[2])
		return -EINVAL;
	return 0;
}

int __wrap_bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	return 0;
}

void __wrap_bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	for (int i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = (void *)((char *)s->maps + i * s->map_skel_sz);

		if (m->mmaped)
			free(*m->mmaped);
	}
	free(s->maps);
	free(s->progs);
	free(s);
}

int __wrap_bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries)
{
	return 0;
}

int __wrap_bpf_program__set_expected_attach_type(struct bpf_program *prog, enum bpf_attach_type type)
{
	return 0;
}

int __wrap_bpf_program__fd(const struct bpf_program *prog)
{
	return 100 + (int)((struct bpf_program **)prog - fk.progs);
}

const char *__wrap_bpf_program__name(const struct bpf_program *prog)
{
	return fk.prog_names[(struct bpf_program **)prog - fk.progs];
}

int __wrap_bpf_map__update_elem(const struct bpf_map *map, const void *key, size_t key_sz,
				const void *value, size_t value_sz, __u64 flags)
{
	__u32 k = *(const __u32 *)key;
	int i = map_find(k);

	assert_ptr_equal(map, &fake_counters_map);
	assert_int_equal(value_sz, sizeof(struct net_counters) * FAKE_NCPUS);
	if (i < 0)
		for (i = 0; i < FAKE_MAX && fk.map[i].used; i++)
			;
	assert_true(i < FAKE_MAX);
	fk.map[i].used = true;
	fk.map[i].key = k;
	memcpy(fk.map[i].c, value, value_sz);
	return 0;
}

int __wrap_bpf_map__lookup_elem(const struct bpf_map *map, const void *key, size_t key_sz,
				void *value, size_t value_sz, __u64 flags)
{
	int i = map_find(*(const __u32 *)key);

	assert_int_equal(value_sz, sizeof(struct net_counters) * FAKE_NCPUS);
	if (i < 0)
		return -ENOENT;
	memcpy(value, fk.map[i].c, value_sz);
	return 0;
}

int __wrap_bpf_map__delete_elem(const struct bpf_map *map, const void *key, size_t key_sz, __u64 flags)
{
	int i = map_find(*(const __u32 *)key);

	if (i < 0)
		return -ENOENT;
	fk.map[i].used = false;
	return 0;
}

struct bpf_link *__wrap_bpf_program__attach_tcx(const struct bpf_program *prog, int ifindex,
						const struct bpf_tcx_opts *opts)
{
	struct fake_link *l;

	if (fk.tcx_attach_err) {
		errno = -fk.tcx_attach_err;
		fk.tcx_attach_err = 0;
		return NULL;
	}
	assert_true(opts && (opts->flags & (1U << 3))); /* BPF_F_BEFORE: first in the chain */
	for (int i = 0; i < FAKE_MAX; i++)
		if (!fk.tcx[i]) {
			l = calloc(1, sizeof(*l));
			l->ifindex = ifindex;
			l->prog = (struct bpf_program **)prog - fk.progs;
			fk.tcx[i] = l;
			return (struct bpf_link *)l;
		}
	fail_msg("fake: too many tcx links");
	return NULL;
}

int __wrap_bpf_link__destroy(struct bpf_link *link)
{
	if (!link)
		return 0;
	for (int i = 0; i < FAKE_MAX; i++)
		if (fk.tcx[i] == (struct fake_link *)link)
			fk.tcx[i] = NULL;
	free(link);
	return 0;
}

static int dir_of(const struct bpf_tc_hook *hook)
{
	return hook->attach_point == BPF_TC_EGRESS;
}

int __wrap_bpf_tc_hook_create(struct bpf_tc_hook *hook)
{
	if (fk.clsact[hook->ifindex])
		return -EEXIST;
	fk.clsact[hook->ifindex] = true;
	fk.clsact_ours_created[hook->ifindex] = true;
	return 0;
}

int __wrap_bpf_tc_hook_destroy(struct bpf_tc_hook *hook)
{
	assert_int_equal(hook->attach_point, BPF_TC_INGRESS | BPF_TC_EGRESS); /* never a flush */
	fk.clsact[hook->ifindex] = false;
	fk.hook_destroyed++;
	return 0;
}

int __wrap_bpf_tc_attach(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	int *f = &fk.filters[hook->ifindex][dir_of(hook)];

	assert_true(fk.clsact[hook->ifindex]);
	assert_int_equal(opts->handle, NET_TC_HANDLE);
	if (fk.stale_prog_named && !(opts->flags & BPF_TC_F_REPLACE))
		return -EEXIST;
	if (opts->flags & BPF_TC_F_REPLACE)
		fk.tc_replaced++;
	*f = 1;
	return 0;
}

int __wrap_bpf_tc_detach(const struct bpf_tc_hook *hook, const struct bpf_tc_opts *opts)
{
	int *f = &fk.filters[hook->ifindex][dir_of(hook)];

	if (!fk.clsact[hook->ifindex])
		return -EINVAL;
	if (!*f)
		return -ENOENT;
	*f = 0;
	return 0;
}

int __wrap_bpf_tc_query(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	opts->prog_id = 77 + dir_of(hook);
	return 0;
}

int __wrap_bpf_prog_get_fd_by_id(__u32 id)
{
	fk.queried_prog_id = id;
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int __wrap_bpf_prog_get_info_by_fd(int prog_fd, struct bpf_prog_info *info, __u32 *info_len)
{
	/* the stale filter runs "our" program (by name) or a foreign one */
	snprintf((char *)info->name, sizeof(info->name), "%s",
		 fk.stale_prog_named != 1 ? "foreign" :
		 fk.queried_prog_id == 77 ? "net_ingress" :
					    "net_egress");
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

static struct {
	int calls;
	int ifindex;
	char ifname[IFNAMSIZ];
	bool up_or_new, removed;
	bool attached_when_called;
	struct net_ctx *ctx;
} cb;

static void on_link(void *arg, int ifindex, const char *ifname, bool up_or_new, bool removed)
{
	struct net_if_stats st;

	cb.calls++;
	cb.ifindex = ifindex;
	snprintf(cb.ifname, IFNAMSIZ, "%s", ifname);
	cb.up_or_new = up_or_new;
	cb.removed = removed;
	cb.attached_when_called = cb.ctx && net_read(cb.ctx, ifname, &st) == 0 &&
				  (st.flags & NET_STATS_ATTACHED);
}

static struct net_ctx *open_ctx(enum net_attach_mode mode)
{
	struct net_opts opts = { .mode = mode, .link_cb = on_link };
	struct net_ctx *ctx;

	assert_int_equal(net_init(&ctx, &opts), 0);
	cb.ctx = ctx;
	return ctx;
}

static bool attached(struct net_ctx *ctx, const char *ifname, int ifindex)
{
	struct net_if_stats st;

	return net_read(ctx, ifname, &st) == 0 && (st.flags & NET_STATS_ATTACHED) &&
	       st.ifindex == ifindex;
}

static int setup(void **state)
{
	fake_reset();
	memset(&cb, 0, sizeof(cb));
	return 0;
}

/* ---- tests ----------------------------------------------------------- */

static void test_init_picks_tcx_and_tp_btf(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_AUTO);

	assert_string_equal(net_attach_mode_name(ctx), "tcx");
	assert_string_equal(net_drops_source(ctx), "tp_btf/kfree_skb");
	assert_int_equal(net_fd(ctx), 42);
	net_fini(ctx);
}

static void test_init_falls_back(void **state)
{
	struct net_ctx *ctx;

	fk.has_tcx = false;
	fk.tp_btf_fails = true;
	ctx = open_ctx(NET_ATTACH_AUTO);
	assert_string_equal(net_attach_mode_name(ctx), "tc");
	assert_string_equal(net_drops_source(ctx), "raw_tp/kfree_skb");
	assert_int_equal(fk.loads, 2);
	net_fini(ctx);

	struct net_opts opts = { .mode = NET_ATTACH_TCX };
	assert_int_equal(net_init(&ctx, &opts), -EOPNOTSUPP);
	assert_null(ctx);
}

static void test_watch_arguments(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	assert_int_equal(net_watch(ctx, "", 1), -EINVAL);
	assert_int_equal(net_watch(ctx, "a-name-longer-than-15", 1), -EINVAL);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(net_watch(ctx, "vnet0", 2), -EEXIST);
	assert_int_equal(net_read(ctx, "vnet0", &st), -ENODEV); /* not seen yet */
	assert_int_equal(net_read(ctx, "vnet9", &st), -ENOENT); /* not watched */
	assert_int_equal(net_unwatch(ctx, "vnet9"), -ENOENT);
	assert_int_equal(net_unwatch(ctx, "vnet0"), 0);
	net_fini(ctx);
}

static void test_present_link_attached_at_watch(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	link_add("vnet0", 7);
	assert_int_equal(net_watch(ctx, "vnet0", 3), 0);
	assert_int_equal(tcx_count(7), 2);
	count_packets(7, 11, 5);
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.c.rx_packets, 11);
	assert_int_equal(st.c.tx_packets, 5);
	assert_int_equal(st.c.rx_bytes, 1100);
	assert_int_equal(st.vm_slot, 3);
	assert_int_equal(st.attach_seq, 1);
	assert_int_equal(st.flags, NET_STATS_BPF | NET_STATS_ATTACHED | NET_STATS_DROPS);
	/* fini detaches what it attached */
	net_fini(ctx);
	assert_int_equal(tcx_total(), 0);
	assert_int_equal(map_find(7), -1);
}

static void test_link_appears_then_goes(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	link_appears("vnet0", 7);
	assert_int_equal(net_process_events(ctx), 0);
	assert_true(attached(ctx, "vnet0", 7));
	assert_int_equal(tcx_count(7), 2);
	/* the callback runs after the attach, with the event's facts */
	assert_int_equal(cb.calls, 1);
	assert_int_equal(cb.ifindex, 7);
	assert_string_equal(cb.ifname, "vnet0");
	assert_true(cb.up_or_new);
	assert_false(cb.removed);
	assert_true(cb.attached_when_called);

	count_packets(7, 4, 2);
	link_goes("vnet0", 7);
	assert_int_equal(net_process_events(ctx), 0);
	assert_int_equal(tcx_total(), 0);
	assert_int_equal(map_find(7), -1);
	assert_true(cb.removed);
	/* the last values stay readable */
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.ifindex, 0);
	assert_int_equal(st.c.rx_packets, 4);
	assert_int_equal(st.flags & NET_STATS_ATTACHED, 0);

	/* it comes back: counters restart, attach_seq says so */
	link_appears("vnet0", 8);
	assert_int_equal(net_process_events(ctx), 0);
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.ifindex, 8);
	assert_int_equal(st.attach_seq, 2);
	assert_int_equal(st.c.rx_packets, 0);
	net_fini(ctx);
	assert_int_equal(tcx_total(), 0);
}

static void test_unrelated_links_untouched(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);

	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	link_appears("eth0", 2);
	link_goes("eth0", 2);
	assert_int_equal(net_process_events(ctx), 0);
	assert_int_equal(tcx_total(), 0);
	assert_int_equal(cb.calls, 2); /* the callback still hears about them */
	net_fini(ctx);
}

static void test_stale_event_follows_the_kernel(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);

	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	/* an old NEWLINK for ifindex 5; by now vnet0 is ifindex 9 */
	queue_event(RTM_NEWLINK, 5, "vnet0");
	link_add("vnet0", 9);
	assert_int_equal(net_process_events(ctx), 0);
	assert_true(attached(ctx, "vnet0", 9));
	assert_int_equal(tcx_count(5), 0);
	net_fini(ctx);
}

static void test_lost_events_resync(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);

	link_add("vnet1", 11);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(net_watch(ctx, "vnet1", 2), 0);
	assert_true(attached(ctx, "vnet1", 11));
	/* overrun: vnet0 appeared and vnet1 went, and both events are lost */
	link_appears("vnet0", 10);
	link_goes("vnet1", 11);
	fk.recv_result = -ENOBUFS;
	assert_int_equal(net_process_events(ctx), 0);
	assert_true(attached(ctx, "vnet0", 10));
	assert_false(attached(ctx, "vnet1", 11));
	assert_int_equal(tcx_total(), 2);
	net_fini(ctx);
}

static void test_rename_detaches_from_the_live_link(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TC);

	link_add("vnet0", 7);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(fk.filters[7][0] + fk.filters[7][1], 2);
	link_rename(7, "other");
	queue_event(RTM_NEWLINK, 7, "other");
	assert_int_equal(net_process_events(ctx), 0);
	/* the device lives on under another name: our filters and qdisc leave it */
	assert_int_equal(fk.filters[7][0] + fk.filters[7][1], 0);
	assert_false(fk.clsact[7]);
	assert_false(attached(ctx, "vnet0", 7));
	net_fini(ctx);
}

static void test_attach_failure_reported_and_retried(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	link_appears("vnet0", 7);
	fk.tcx_attach_err = -EPERM;
	assert_int_equal(net_process_events(ctx), -EPERM);
	assert_int_equal(net_read(ctx, "vnet0", &st), -EPERM);
	assert_int_equal(map_find(7), -1); /* no half-attached state */
	assert_int_equal(tcx_total(), 0);
	/* the next event about it retries */
	queue_event(RTM_NEWLINK, 7, "vnet0");
	assert_int_equal(net_process_events(ctx), 0);
	assert_true(attached(ctx, "vnet0", 7));
	net_fini(ctx);
}

static void test_watch_fails_when_attach_fails(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	link_add("vnet0", 7);
	fk.tcx_attach_err = -E2BIG;
	assert_int_equal(net_watch(ctx, "vnet0", 1), -E2BIG);
	assert_int_equal(net_read(ctx, "vnet0", &st), -ENOENT); /* not kept */
	assert_int_equal(tcx_total(), 0);
	net_fini(ctx);
}

static void test_tc_keeps_a_foreign_qdisc(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TC);

	link_add("vnet0", 7);
	fk.clsact[7] = true; /* someone else's, with a filter */
	fk.foreign_filters[7] = 1;
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(fk.filters[7][0] + fk.filters[7][1], 2);
	assert_int_equal(net_unwatch(ctx, "vnet0"), 0);
	assert_int_equal(fk.filters[7][0] + fk.filters[7][1], 0);
	assert_true(fk.clsact[7]);
	assert_int_equal(fk.foreign_filters[7], 1);
	assert_int_equal(fk.hook_destroyed, 0);
	net_fini(ctx);
}

static void test_tc_removes_its_own_empty_qdisc(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TC);

	link_add("vnet0", 7);
	link_add("vnet1", 8);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(net_watch(ctx, "vnet1", 2), 0);
	assert_true(fk.clsact_ours_created[7] && fk.clsact_ours_created[8]);
	/* someone adds a filter to the qdisc we created on vnet1 */
	fk.foreign_filters[8] = 1;
	net_fini(ctx);
	assert_false(fk.clsact[7]); /* ours and empty: removed */
	assert_true(fk.clsact[8]);  /* ours but in use: left */
	assert_int_equal(fk.hook_destroyed, 1);
	assert_int_equal(fk.filters[7][0] + fk.filters[7][1] + fk.filters[8][0] + fk.filters[8][1],
			 0);
}

static void test_tc_link_gone_touches_nothing(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TC);

	link_add("vnet0", 7);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	link_goes("vnet0", 7);
	assert_int_equal(net_process_events(ctx), 0);
	assert_int_equal(fk.hook_destroyed, 0);
	assert_int_equal(net_unwatch(ctx, "vnet0"), 0);
	net_fini(ctx);
}

static void test_tc_stale_filter_of_ours_replaced(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TC);

	link_add("vnet0", 7);
	fk.clsact[7] = true;
	fk.stale_prog_named = 1; /* left by a tided that crashed */
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(fk.tc_replaced, 2);
	net_fini(ctx);

	setup(state);
	ctx = open_ctx(NET_ATTACH_TC);
	link_add("vnet0", 7);
	fk.clsact[7] = true;
	fk.stale_prog_named = 2; /* someone else's filter at our handle/priority */
	assert_int_equal(net_watch(ctx, "vnet0", 1), -EEXIST);
	assert_int_equal(fk.tc_replaced, 0);
	assert_true(fk.clsact[7]);
	net_fini(ctx);
}

/* rows [cpu][ifindex % NET_FAST_SLOTS]: the first link claims, a colliding one uses the hash */
static void test_fast_rows(void **state)
{
	struct net_ctx *ctx = open_ctx(NET_ATTACH_TCX);
	struct net_if_stats st;

	link_add("vnet0", 7);
	link_add("vnet1", 7 + NET_FAST_SLOTS);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(net_watch(ctx, "vnet1", 2), 0);
	for (int cpu = 0; cpu < FAKE_NCPUS; cpu++)
		assert_int_equal(fk.fast[cpu][7].ifindex, 7);
	assert_int_equal(fk.fast[FAKE_NCPUS][7].ifindex, 0); /* possible CPUs only */
	/* what BPF counted in the rows and, for both links, in the hash */
	fk.fast[0][7].rx_packets = 3;
	fk.fast[0][7].rx_bytes = 300;
	fk.fast[1][7].tx_packets = 4;
	fk.fast[1][7].tx_bytes = 400;
	count_packets(7, 11, 5);
	count_packets(7 + NET_FAST_SLOTS, 2, 1);
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.c.rx_packets, 14);
	assert_int_equal(st.c.rx_bytes, 1400);
	assert_int_equal(st.c.tx_packets, 9);
	assert_int_equal(net_read(ctx, "vnet1", &st), 0);
	assert_int_equal(st.c.rx_packets, 2);
	assert_int_equal(st.c.tx_packets, 1);
	/* released at detach; the next owner starts from zero */
	assert_int_equal(net_unwatch(ctx, "vnet0"), 0);
	for (int cpu = 0; cpu < FAKE_NCPUS; cpu++)
		assert_int_equal(fk.fast[cpu][7].ifindex, 0);
	assert_int_equal(net_watch(ctx, "vnet0", 1), 0);
	assert_int_equal(fk.fast[0][7].ifindex, 7);
	assert_int_equal(fk.fast[0][7].rx_packets, 0);
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.c.rx_packets, 0);
	net_fini(ctx);
}

static void test_force_netlink(void **state)
{
	struct net_opts opts = { .force_netlink = true };
	struct net_ctx *ctx;
	struct net_if_stats st;

	assert_int_equal(net_init(&ctx, &opts), 0);
	assert_string_equal(net_attach_mode_name(ctx), "netlink");
	assert_int_equal(fk.loads, 0);
	link_add("vnet0", 7);
	assert_int_equal(net_watch(ctx, "vnet0", 4), 0);
	assert_int_equal(tcx_total(), 0);
	assert_int_equal(net_read(ctx, "vnet0", &st), 0);
	assert_int_equal(st.c.rx_packets, 1007); /* from the (fake) link stats */
	assert_int_equal(st.vm_slot, 4);
	assert_int_equal(st.flags, NET_STATS_DROPS);
	net_fini(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_picks_tcx_and_tp_btf, setup),
		cmocka_unit_test_setup(test_init_falls_back, setup),
		cmocka_unit_test_setup(test_watch_arguments, setup),
		cmocka_unit_test_setup(test_present_link_attached_at_watch, setup),
		cmocka_unit_test_setup(test_link_appears_then_goes, setup),
		cmocka_unit_test_setup(test_unrelated_links_untouched, setup),
		cmocka_unit_test_setup(test_stale_event_follows_the_kernel, setup),
		cmocka_unit_test_setup(test_lost_events_resync, setup),
		cmocka_unit_test_setup(test_rename_detaches_from_the_live_link, setup),
		cmocka_unit_test_setup(test_attach_failure_reported_and_retried, setup),
		cmocka_unit_test_setup(test_watch_fails_when_attach_fails, setup),
		cmocka_unit_test_setup(test_tc_keeps_a_foreign_qdisc, setup),
		cmocka_unit_test_setup(test_tc_removes_its_own_empty_qdisc, setup),
		cmocka_unit_test_setup(test_tc_link_gone_touches_nothing, setup),
		cmocka_unit_test_setup(test_tc_stale_filter_of_ours_replaced, setup),
		cmocka_unit_test_setup(test_fast_rows, setup),
		cmocka_unit_test_setup(test_force_netlink, setup),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
