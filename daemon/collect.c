// SPDX-License-Identifier: GPL-2.0
/*
 * collect: samples of every tracked VM, per tick, into rings.  See collect.h.
 *
 * Each thread and tap keeps its last raw reading; a tick adds the
 * difference to collect's own cumulative figures (so they never go back,
 * whatever the raw source does), pushes them into the object's ring with
 * the CLOCK_MONOTONIC time of the reading, and adds the same differences
 * to the VM's and the host's running sums.  Rates are computed when asked,
 * from two samples of a ring and the time measured between them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "conf.h"
#include "cpu.h"
#include "kvm.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "util.h"

#define COLLECT_MAX_VMS_DEFAULT 4096
#define PROC_LINE_BYTES 512

static struct {
	bool inited;
	struct cpu_ctx *cpu;
	struct net_ctx *net;
	struct kvm_ctx *kvm;
	const struct collect_readers *rd;
	const struct collect_sources *sources;
	char proc_root[256];
	uint64_t (*clock_ns)(void);
	uint32_t ring_samples;
	uint32_t max_vms;
	struct collect_vm **vms;	/* [1..max_vms], by slot */
	uint32_t n_vms;
	uint32_t next_slot;		/* round robin: a slot is not reused at once */
	uint32_t tick_ms;
	int timer_id;
	bool kvm_full_logged;
	/* host */
	struct collect_ring host_ring;
	struct collect_host_sample *host_samples;
	uint64_t acc_vm_on_cpu_ns, acc_vm_wait_ns, acc_vm_rx_bytes, acc_vm_tx_bytes;
	/* cost */
	struct collect_self self;
} cs;

const char *collect_cpu_src_name(enum collect_cpu_src s)
{
	switch (s) {
	case COLLECT_CPU_BPF:	return "bpf";
	case COLLECT_CPU_PROC:	return "proc";
	default:		return "none";
	}
}

const char *collect_net_src_name(enum collect_net_src s)
{
	switch (s) {
	case COLLECT_NET_BPF:	return "bpf";
	case COLLECT_NET_NETLINK: return "netlink";
	default:		return "none";
	}
}

/* ---- sources ------------------------------------------------------------ */

int collect_sources_open_cpu(const struct collect_sources_opts *opts, struct collect_sources *out)
{
	struct cpu_opts co = { 0 };
	int err;

	/* cpu: tp_btf, else raw_tp (cpu.c decides), else /proc schedstat */
	if (opts->cpu_source == CONF_CPU_PROC) {
		snprintf(out->cpu_mode, sizeof(out->cpu_mode), "proc");
		snprintf(out->cpu_note, sizeof(out->cpu_note), "cpu_source = \"proc\" in the configuration");
		log_notice("cpu collector: /proc schedstat (cpu_source = \"proc\"): no BPF");
	} else {
		co.force_raw_tp = opts->cpu_source == CONF_CPU_RAW_TP;
		err = cpu_init(&out->cpu, &co);
		if (err) {
			out->degraded = true;
			snprintf(out->cpu_mode, sizeof(out->cpu_mode), "proc");
			snprintf(out->cpu_note, sizeof(out->cpu_note),
				 "the BPF CPU collector cannot load: %s", strerror(-err));
			log_err("DEGRADED: the BPF CPU collector cannot load (%s); vCPU figures "
				"come from /proc/PID/task/TID/schedstat, read at every tick",
				strerror(-err));
		} else {
			snprintf(out->cpu_mode, sizeof(out->cpu_mode), "%s", cpu_attach_mode(out->cpu));
			snprintf(out->cpu_note, sizeof(out->cpu_note), "%s", cpu_mode_note(out->cpu));
			if (cpu_mode_note(out->cpu)[0])
				log_notice("cpu collector: BPF %s, %s, %s (fallback: %s)",
					   cpu_attach_mode(out->cpu), cpu_tag_mode(out->cpu),
					   cpu_source_mode(out->cpu), cpu_mode_note(out->cpu));
			else
				log_info("cpu collector: BPF %s, %s, %s", cpu_attach_mode(out->cpu),
					 cpu_tag_mode(out->cpu), cpu_source_mode(out->cpu));
		}
	}

	return 0;
}

int collect_sources_open_net(const struct collect_sources_opts *opts, struct collect_sources *out)
{
	struct net_opts no = { 0 };
	int err;

	/* net: tcx, else tc (net.c decides in auto mode), else netlink */
	switch (opts->net_source) {
	case CONF_NET_TCX:	no.mode = NET_ATTACH_TCX; break;
	case CONF_NET_TC:	no.mode = NET_ATTACH_TC; break;
	case CONF_NET_NETLINK:	no.mode = NET_ATTACH_NETLINK; break;
	default:		no.mode = NET_ATTACH_AUTO;
	}
	err = net_init(&out->net, &no);
	if (err && no.mode != NET_ATTACH_NETLINK) {
		out->degraded = true;
		snprintf(out->net_note, sizeof(out->net_note),
			 "the BPF network collector (%s) cannot load: %s",
			 conf_net_source_name(opts->net_source), strerror(-err));
		log_err("DEGRADED: the BPF network collector (%s) cannot load (%s); tap "
			"counters come from rtnetlink link stats",
			conf_net_source_name(opts->net_source), strerror(-err));
		no.mode = NET_ATTACH_NETLINK;
		err = net_init(&out->net, &no);
	} else if (!err && no.mode == NET_ATTACH_NETLINK) {
		snprintf(out->net_note, sizeof(out->net_note),
			 "net_source = \"netlink\" in the configuration");
	} else if (!err && opts->net_source == CONF_NET_AUTO &&
		   strcmp(net_attach_mode_name(out->net), "tc") == 0) {
		snprintf(out->net_note, sizeof(out->net_note), "no tcx in this kernel (< 6.6)");
	}
	if (err) {
		out->degraded = true;
		snprintf(out->net_mode, sizeof(out->net_mode), "none");
		snprintf(out->net_note, sizeof(out->net_note),
			 "no rtnetlink socket: %s", strerror(-err));
		log_err("DEGRADED: no network collector at all (rtnetlink: %s): no tap counters",
			strerror(-err));
	} else {
		snprintf(out->net_mode, sizeof(out->net_mode), "%s", net_attach_mode_name(out->net));
		if (no.mode == NET_ATTACH_NETLINK)
			log_notice("net collector: rtnetlink link stats, no BPF (%s)", out->net_note);
		else if (out->net_note[0])
			log_notice("net collector: BPF on %s, drops from %s (%s)", out->net_mode,
				   net_drops_source(out->net), out->net_note);
		else
			log_info("net collector: BPF on %s, drops from %s", out->net_mode,
				 net_drops_source(out->net));
	}

	return 0;
}

int collect_sources_open_kvm(const struct collect_sources_opts *opts, struct collect_sources *out)
{
	struct kvm_opts ko = { .max_vms = opts->max_vms };
	int err;

	/* kvm: tracepoints where KVM is, else off */
	if (!opts->kvm_stats) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		snprintf(out->kvm_note, sizeof(out->kvm_note), "kvm_stats = false in the configuration");
		log_info("kvm collector: off (kvm_stats = false)");
	} else if (kvm_probe(out->kvm_note, sizeof(out->kvm_note))) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		log_info("kvm collector: off: %s", out->kvm_note);
	} else if ((err = kvm_init(&out->kvm, &ko))) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		snprintf(out->kvm_note, sizeof(out->kvm_note), "the KVM BPF programs cannot load: %s",
			 strerror(-err));
		log_warn("kvm collector: off: the KVM BPF programs cannot load: %s", strerror(-err));
	} else {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "tracepoint");
		log_info("kvm collector: kvm:kvm_exit tracepoint%s", kvm_has_dirty_ring(out->kvm) ?
			 " and kvm:kvm_dirty_ring_push" : "");
	}
	return 0;
}

int collect_sources_open(const struct collect_sources_opts *opts, struct collect_sources *out)
{
	memset(out, 0, sizeof(*out));
	collect_sources_open_cpu(opts, out);
	collect_sources_open_net(opts, out);
	collect_sources_open_kvm(opts, out);
	return 0;
}

void collect_sources_close(struct collect_sources *s)
{
	kvm_fini(s->kvm);
	net_fini(s->net);
	cpu_fini(s->cpu);
	s->kvm = NULL;
	s->net = NULL;
	s->cpu = NULL;
}

/* ---- default readers ---------------------------------------------------- */

static int proc_thread_read(pid_t pid, pid_t tid, struct collect_thread_raw *out)
{
	unsigned long long on_cpu, wait, slices;
	char path[320], buf[128];
	ssize_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", cs.proc_root, (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof(path), "%s/%d/schedstat", cs.proc_root, (int)tid);
	n = util_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (sscanf(buf, "%llu %llu %llu", &on_cpu, &wait, &slices) != 3)
		return -EINVAL;
	out->on_cpu_ns = on_cpu;
	out->wait_ns = wait;
	out->switches = slices;		/* times switched in: one per switch */
	out->src = COLLECT_CPU_PROC;
	return 0;
}

static int default_thread(pid_t pid, pid_t tid, struct collect_thread_raw *out)
{
	struct cpu_thread_stats st;

	if (cs.cpu && cpu_read(cs.cpu, tid, &st) == 0) {
		out->on_cpu_ns = st.on_cpu_ns;
		out->wait_ns = st.wait_ns;
		out->switches = st.voluntary_switches + st.involuntary_switches;
		out->src = COLLECT_CPU_BPF;
		return 0;
	}
	return proc_thread_read(pid, tid, out);
}

static int default_tap(const char *ifname, struct collect_tap_raw *out)
{
	struct net_if_stats st;
	int err;

	if (!cs.net)
		return -ENODEV;
	/* net_read() answers from link stats itself when there is no BPF */
	err = net_read(cs.net, ifname, &st);
	if (err)	/* BPF not on this tap (yet): the link's own counters */
		err = net_link_stats(cs.net, ifname, &st);
	if (err)
		return err;
	if (!(st.flags & NET_STATS_BPF)) {
		out->src = COLLECT_NET_NETLINK;
		out->epoch = (uint32_t)st.ifindex;	/* a new link counts from 0 */
		out->has_drops = true;
	} else {
		out->src = COLLECT_NET_BPF;
		out->epoch = st.attach_seq;		/* a new attach counts from 0 */
		out->has_drops = st.flags & NET_STATS_DROPS;
	}
	out->rx_bytes = st.rx_bytes;
	out->rx_packets = st.rx_packets;
	out->rx_drops = st.rx_dropped;
	out->tx_bytes = st.tx_bytes;
	out->tx_packets = st.tx_packets;
	out->tx_drops = st.tx_dropped;
	return 0;
}

/* Whole or nothing: on failure *out keeps the last figures (collect_tick). */
static int default_host(struct collect_host_raw *out)
{
	unsigned long long v[10] = { 0 };
	char path[300], line[PROC_LINE_BYTES];
	struct collect_host_raw h = { 0 };
	bool have_total = false, have_avail = false;
	uint32_t cpus = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stat", cs.proc_root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* the cpu lines come first; the rest (intr: long) is not needed */
	while (fgets(line, sizeof(line), f) && strncmp(line, "cpu", 3) == 0) {
		if (line[3] == ' ') {
			have_total = sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu %llu",
					    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
					    &v[7]) >= 4;
		} else if (line[3] >= '0' && line[3] <= '9') {
			cpus++;
		}
	}
	fclose(f);
	if (!have_total)
		return -EINVAL;
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	h.cpu_busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	h.cpu_total_ticks = h.cpu_busy_ticks + v[3] + v[4];
	h.cpus = cpus ? cpus : 1;

	snprintf(path, sizeof(path), "%s/meminfo", cs.proc_root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* MemTotal is the first line, MemAvailable the third: stop there */
	while (!have_avail && fgets(line, sizeof(line), f)) {
		unsigned long long kib;

		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			h.memory_bytes = kib * 1024;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			h.memory_available_bytes = kib * 1024;
			have_avail = true;
		}
	}
	fclose(f);
	*out = h;
	return 0;
}

static int default_track_thread(uint32_t slot, pid_t pid, const struct vm_thread *t)
{
	if (!cs.cpu)
		return -EOPNOTSUPP;
	return cpu_track(cs.cpu, t->tid, slot, t->vcpu == VM_VCPU_ALL ? 0 : t->vcpu);
}

static void default_untrack_thread(const struct vm_thread *t)
{
	if (cs.cpu)
		cpu_untrack(cs.cpu, t->tid);
}

static int default_track_tap(uint32_t slot, const char *ifname)
{
	if (!cs.net)
		return -EOPNOTSUPP;
	return net_watch(cs.net, ifname, slot);
}

static void default_untrack_tap(const char *ifname)
{
	if (cs.net)
		net_unwatch(cs.net, ifname);
}

static const struct collect_readers default_readers = {
	.track_thread = default_track_thread,
	.untrack_thread = default_untrack_thread,
	.track_tap = default_track_tap,
	.untrack_tap = default_untrack_tap,
	.thread = default_thread,
	.tap = default_tap,
	.host = default_host,
};

/* ---- rings -------------------------------------------------------------- */

/* index of the sample age steps older than the newest, or -1 */
static int ring_index(const struct collect_ring *r, uint32_t age)
{
	if (age >= r->count)
		return -1;
	return (int)((r->head + r->size - age) % r->size);
}

/* index where the next sample goes */
static uint32_t ring_push(struct collect_ring *r)
{
	r->head = r->count ? (r->head + 1) % r->size : 0;
	if (r->count < r->size)
		r->count++;
	return r->head;
}

/*
 * Age of the sample a rate over window_ms starts from: of the two samples
 * around window_ms before the newest, the closer (ticks jitter: a 1 s
 * window over 100 ms ticks must not become 1.1 s); the oldest kept when
 * the ring is shorter; the previous one for window 0.  -1 with < 2 samples.
 */
#define RING_FIND_BASE(ring, samples, tfield, window_ms)			\
	({									\
		int _base = -1;							\
		if ((ring)->count >= 2) {					\
			uint64_t _t0 = (samples)[ring_index((ring), 0)].tfield; \
			uint64_t _w = (uint64_t)(window_ms) * 1000000ull;	\
			uint64_t _prev = 0;					\
			_base = (int)(ring)->count - 1;				\
			for (uint32_t _a = 1; _a < (ring)->count; _a++) {	\
				uint64_t _d = _t0 - (samples)[ring_index((ring), _a)].tfield; \
				if (_d >= _w) {					\
					_base = _a > 1 && _w - _prev < _d - _w ? \
						(int)_a - 1 : (int)_a;		\
					break;					\
				}						\
				_prev = _d;					\
			}							\
		}								\
		_base;								\
	})

static double per_s(uint64_t delta, uint64_t interval_ns)
{
	return interval_ns ? (double)delta * 1e9 / (double)interval_ns : 0.0;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a >= b ? a - b : 0;
}

static void cpu_rates(const struct collect_cpu_sample *now, const struct collect_cpu_sample *then,
		      uint64_t interval_ns, struct collect_rates *out)
{
	out->on_cpu_ns_per_s = per_s(sub0(now->on_cpu_ns, then->on_cpu_ns), interval_ns);
	out->wait_ns_per_s = per_s(sub0(now->wait_ns, then->wait_ns), interval_ns);
	out->switches_per_s = per_s(sub0(now->switches, then->switches), interval_ns);
}

static void net_rates(const struct collect_net_sample *now, const struct collect_net_sample *then,
		      uint64_t interval_ns, struct collect_rates *out)
{
	out->rx_bytes_per_s = per_s(sub0(now->rx_bytes, then->rx_bytes), interval_ns);
	out->rx_packets_per_s = per_s(sub0(now->rx_packets, then->rx_packets), interval_ns);
	out->rx_drops_per_s = per_s(sub0(now->rx_drops, then->rx_drops), interval_ns);
	out->tx_bytes_per_s = per_s(sub0(now->tx_bytes, then->tx_bytes), interval_ns);
	out->tx_packets_per_s = per_s(sub0(now->tx_packets, then->tx_packets), interval_ns);
	out->tx_drops_per_s = per_s(sub0(now->tx_drops, then->tx_drops), interval_ns);
}

void collect_vm_rates(const struct collect_vm *vm, uint32_t window_ms, struct collect_rates *out)
{
	int base;

	memset(out, 0, sizeof(*out));
	if (!vm)
		return;
	base = RING_FIND_BASE(&vm->ring, vm->samples, t_ns, window_ms);
	if (base < 0)
		return;
	const struct collect_vm_sample *now = &vm->samples[ring_index(&vm->ring, 0)];
	const struct collect_vm_sample *then = &vm->samples[ring_index(&vm->ring, (uint32_t)base)];

	out->interval_ns = now->t_ns - then->t_ns;
	cpu_rates(&now->cpu, &then->cpu, out->interval_ns, out);
	net_rates(&now->net, &then->net, out->interval_ns, out);
}

void collect_thread_rates(const struct collect_thread *t, uint32_t window_ms,
			  struct collect_rates *out)
{
	int base;

	memset(out, 0, sizeof(*out));
	base = RING_FIND_BASE(&t->ring, t->samples, t_ns, window_ms);
	if (base < 0)
		return;
	const struct collect_cpu_sample *now = &t->samples[ring_index(&t->ring, 0)];
	const struct collect_cpu_sample *then = &t->samples[ring_index(&t->ring, (uint32_t)base)];

	out->interval_ns = now->t_ns - then->t_ns;
	cpu_rates(now, then, out->interval_ns, out);
}

void collect_tap_rates(const struct collect_tap *t, uint32_t window_ms, struct collect_rates *out)
{
	int base;

	memset(out, 0, sizeof(*out));
	base = RING_FIND_BASE(&t->ring, t->samples, t_ns, window_ms);
	if (base < 0)
		return;
	const struct collect_net_sample *now = &t->samples[ring_index(&t->ring, 0)];
	const struct collect_net_sample *then = &t->samples[ring_index(&t->ring, (uint32_t)base)];

	out->interval_ns = now->t_ns - then->t_ns;
	net_rates(now, then, out->interval_ns, out);
}

void collect_host_rates(uint32_t window_ms, struct collect_host_rates *out)
{
	const struct collect_host_sample *now, *then;
	uint64_t total;
	int base;

	memset(out, 0, sizeof(*out));
	if (!cs.inited || !cs.host_ring.count)
		return;
	now = &cs.host_samples[ring_index(&cs.host_ring, 0)];
	out->cpus = now->raw.cpus;
	base = RING_FIND_BASE(&cs.host_ring, cs.host_samples, t_ns, window_ms);
	if (base < 0)
		return;
	then = &cs.host_samples[ring_index(&cs.host_ring, (uint32_t)base)];
	out->interval_ns = now->t_ns - then->t_ns;
	total = sub0(now->raw.cpu_total_ticks, then->raw.cpu_total_ticks);
	out->cpu_busy_ratio = total ? (double)sub0(now->raw.cpu_busy_ticks,
						   then->raw.cpu_busy_ticks) / (double)total : 0.0;
	out->vm_on_cpu_ns_per_s = per_s(now->vm_on_cpu_ns - then->vm_on_cpu_ns, out->interval_ns);
	out->vm_wait_ns_per_s = per_s(now->vm_wait_ns - then->vm_wait_ns, out->interval_ns);
	out->vm_rx_bytes_per_s = per_s(now->vm_rx_bytes - then->vm_rx_bytes, out->interval_ns);
	out->vm_tx_bytes_per_s = per_s(now->vm_tx_bytes - then->vm_tx_bytes, out->interval_ns);
	/* one CPU busy for one second is 1e9 ns of on-CPU time */
	out->load_ratio = out->cpus ? out->vm_on_cpu_ns_per_s / 1e9 / out->cpus : 0.0;
}

const struct collect_vm_sample *collect_vm_sample_at(const struct collect_vm *vm, uint32_t age)
{
	int i = vm ? ring_index(&vm->ring, age) : -1;

	return i < 0 ? NULL : &vm->samples[i];
}

const struct collect_cpu_sample *collect_thread_sample_at(const struct collect_thread *t,
							  uint32_t age)
{
	int i = ring_index(&t->ring, age);

	return i < 0 ? NULL : &t->samples[i];
}

const struct collect_net_sample *collect_tap_sample_at(const struct collect_tap *t, uint32_t age)
{
	int i = ring_index(&t->ring, age);

	return i < 0 ? NULL : &t->samples[i];
}

const struct collect_host_sample *collect_host_sample_at(uint32_t age)
{
	int i = cs.inited ? ring_index(&cs.host_ring, age) : -1;

	return i < 0 ? NULL : &cs.host_samples[i];
}

/* ---- tracking ----------------------------------------------------------- */

static const char *vm_name(const struct collect_vm *vm)
{
	return vm->desc.name ? vm->desc.name : "?";
}

static int thread_start(struct collect_vm *vm, struct collect_thread *t, const struct vm_thread *d)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	t->tid = d->tid;
	t->vcpu = d->vcpu;
	t->samples = calloc(cs.ring_samples, sizeof(*t->samples));
	if (!t->samples)
		return -ENOMEM;
	t->ring.size = cs.ring_samples;
	if (cs.rd->track_thread)
		err = cs.rd->track_thread(vm->slot, vm->desc.pid, d);
	t->tracked = !err;
	if (err && err != -EOPNOTSUPP)
		log_warn("VM '%s': cannot track vCPU thread %d with BPF: %s; reading its "
			 "/proc schedstat instead", vm_name(vm), (int)d->tid, strerror(-err));
	return 0;
}

static void thread_stop(struct collect_thread *t)
{
	struct vm_thread d = { .tid = t->tid, .vcpu = t->vcpu };

	if (t->tracked && cs.rd->untrack_thread)
		cs.rd->untrack_thread(&d);
	free(t->samples);
	t->samples = NULL;
	t->tracked = false;
}

static int tap_start(struct collect_vm *vm, struct collect_tap *t, const struct vm_tap *d)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->ifname, sizeof(t->ifname), "%s", d->ifname);
	snprintf(t->mac, sizeof(t->mac), "%s", d->mac);
	t->samples = calloc(cs.ring_samples, sizeof(*t->samples));
	if (!t->samples)
		return -ENOMEM;
	t->ring.size = cs.ring_samples;
	if (cs.rd->track_tap)
		err = cs.rd->track_tap(vm->slot, d->ifname);
	t->tracked = !err;
	if (err && err != -EOPNOTSUPP)
		log_warn("VM '%s': cannot watch tap '%s' with BPF: %s; reading its link "
			 "stats instead", vm_name(vm), d->ifname, strerror(-err));
	return 0;
}

static void tap_stop(struct collect_tap *t)
{
	if (t->tracked && cs.rd->untrack_tap)
		cs.rd->untrack_tap(t->ifname);
	free(t->samples);
	t->samples = NULL;
	t->tracked = false;
}

static void kvm_start(struct collect_vm *vm)
{
	int err;

	if (!cs.kvm || vm->desc.pid <= 0 || cs.rd != &default_readers)
		return;
	err = kvm_track_vm(cs.kvm, vm->desc.pid, vm->slot);
	vm->kvm_tracked = !err;
	vm->kvm_exits = 0;
	if (err == -ENOSPC && !cs.kvm_full_logged)
		log_warn("the KVM exit counters are full (max_vms of the kvm collector): VMs from "
			 "'%s' on have no KVM exit figures", vm_name(vm));
	else if (err && err != -ENOSPC)
		log_warn("VM '%s': cannot count its KVM exits: %s", vm_name(vm), strerror(-err));
	cs.kvm_full_logged |= err == -ENOSPC;
}

static void kvm_stop(struct collect_vm *vm)
{
	if (vm->kvm_tracked)
		kvm_untrack_vm(cs.kvm, vm->desc.pid);
	vm->kvm_tracked = false;
}

static void vm_free(struct collect_vm *vm)
{
	if (!vm)
		return;
	for (uint32_t i = 0; vm->threads && i < vm->desc.n_threads; i++)
		thread_stop(&vm->threads[i]);
	for (uint32_t i = 0; vm->taps && i < vm->desc.n_taps; i++)
		tap_stop(&vm->taps[i]);
	kvm_stop(vm);
	free(vm->threads);
	free(vm->taps);
	free(vm->samples);
	vm_desc_clear(&vm->desc);
	free(vm);
}

static struct collect_vm *find_uuid(const char *uuid)
{
	for (uint32_t s = 1; s <= cs.max_vms; s++)
		if (cs.vms[s] && strcasecmp(cs.vms[s]->desc.uuid, uuid) == 0)
			return cs.vms[s];
	return NULL;
}

static void sample_vm(struct collect_vm *vm, uint64_t *d_cpu, uint64_t *d_wait,
		      uint64_t *d_rx, uint64_t *d_tx);

int collect_vm_add(const struct vm_desc *d, uint32_t *slot)
{
	struct collect_vm *vm;
	uint32_t s = 0;
	int err;

	if (!cs.inited)
		return -ENODEV;
	if (!d->uuid[0])
		return -EINVAL;
	if (find_uuid(d->uuid))
		return -EEXIST;
	if (cs.n_vms >= cs.max_vms)
		return -ENOSPC;
	for (uint32_t n = 0; n < cs.max_vms; n++) {
		uint32_t c = (cs.next_slot + n) % cs.max_vms + 1;

		if (!cs.vms[c]) {
			s = c;
			break;
		}
	}
	if (!s)
		return -ENOSPC;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->slot = s;
	err = vm_desc_copy(&vm->desc, d);
	if (err) {
		free(vm);
		return err;
	}
	vm->samples = calloc(cs.ring_samples, sizeof(*vm->samples));
	vm->threads = calloc(d->n_threads ? d->n_threads : 1, sizeof(*vm->threads));
	vm->taps = calloc(d->n_taps ? d->n_taps : 1, sizeof(*vm->taps));
	if (!vm->samples || !vm->threads || !vm->taps) {
		err = -ENOMEM;
		goto fail;
	}
	vm->ring.size = cs.ring_samples;
	vm->added_ns = cs.clock_ns();
	for (uint32_t i = 0; i < d->n_threads; i++) {
		err = thread_start(vm, &vm->threads[i], &d->threads[i]);
		if (err)
			goto fail;
	}
	for (uint32_t i = 0; i < d->n_taps; i++) {
		err = tap_start(vm, &vm->taps[i], &d->taps[i]);
		if (err)
			goto fail;
	}
	kvm_start(vm);
	cs.vms[s] = vm;
	cs.n_vms++;
	cs.next_slot = s % cs.max_vms;
	/* a first sample now: rates exist after the next tick */
	sample_vm(vm, NULL, NULL, NULL, NULL);
	*slot = s;
	return 0;
fail:
	vm_free(vm);
	return err;
}

int collect_vm_remove(uint32_t slot)
{
	struct collect_vm *vm = collect_vm_by_slot(slot) ? cs.vms[slot] : NULL;

	if (!vm)
		return -ENOENT;
	cs.vms[slot] = NULL;
	cs.n_vms--;
	vm_free(vm);
	return 0;
}

int collect_vm_update(uint32_t slot, const struct vm_desc *d)
{
	struct collect_vm *vm = collect_vm_by_slot(slot) ? cs.vms[slot] : NULL;
	struct collect_thread *threads = NULL;
	struct collect_tap *taps = NULL;
	bool new_process;
	struct vm_desc nd;
	int err;

	if (!vm)
		return -ENOENT;
	err = vm_desc_copy(&nd, d);
	if (err)
		return err;
	threads = calloc(d->n_threads ? d->n_threads : 1, sizeof(*threads));
	taps = calloc(d->n_taps ? d->n_taps : 1, sizeof(*taps));
	if (!threads || !taps) {
		free(threads);
		free(taps);
		vm_desc_clear(&nd);
		return -ENOMEM;
	}
	new_process = nd.pid != vm->desc.pid;
	if (new_process)
		kvm_stop(vm);

	/* threads: keep those still there (same tid, same process) */
	for (uint32_t i = 0; i < nd.n_threads; i++) {
		struct collect_thread *old = NULL;

		for (uint32_t j = 0; !new_process && j < vm->desc.n_threads; j++) {
			if (vm->threads[j].samples && vm->threads[j].tid == nd.threads[i].tid) {
				old = &vm->threads[j];
				break;
			}
		}
		if (old) {
			threads[i] = *old;
			threads[i].vcpu = nd.threads[i].vcpu;
			old->samples = NULL;	/* moved: the new entry untracks it */
			old->tracked = false;
			continue;
		}
		/* the new description is in place for the tracker's pid */
		{
			pid_t pid = vm->desc.pid;

			vm->desc.pid = nd.pid;
			err = thread_start(vm, &threads[i], &nd.threads[i]);
			vm->desc.pid = pid;
		}
		if (err)
			goto fail;
	}
	for (uint32_t j = 0; j < vm->desc.n_threads; j++)
		if (vm->threads[j].samples)
			thread_stop(&vm->threads[j]);

	/* taps: by name */
	for (uint32_t i = 0; i < nd.n_taps; i++) {
		struct collect_tap *old = NULL;

		for (uint32_t j = 0; j < vm->desc.n_taps; j++) {
			if (vm->taps[j].samples && !strcmp(vm->taps[j].ifname, nd.taps[i].ifname)) {
				old = &vm->taps[j];
				break;
			}
		}
		if (old) {
			taps[i] = *old;
			snprintf(taps[i].mac, sizeof(taps[i].mac), "%s", nd.taps[i].mac);
			old->samples = NULL;
			old->tracked = false;
			continue;
		}
		err = tap_start(vm, &taps[i], &nd.taps[i]);
		if (err)
			goto fail;
	}
	for (uint32_t j = 0; j < vm->desc.n_taps; j++)
		if (vm->taps[j].samples)
			tap_stop(&vm->taps[j]);

	free(vm->threads);
	free(vm->taps);
	vm->threads = threads;
	vm->taps = taps;
	vm_desc_clear(&vm->desc);
	vm->desc = nd;
	if (new_process)
		kvm_start(vm);
	return 0;
fail:
	/* cannot happen but for want of memory: the VM goes on as it was,
	 * less the threads and taps already moved (they are dropped) */
	for (uint32_t i = 0; i < nd.n_threads; i++)
		if (threads[i].samples)
			thread_stop(&threads[i]);
	for (uint32_t i = 0; i < nd.n_taps; i++)
		if (taps[i].samples)
			tap_stop(&taps[i]);
	free(threads);
	free(taps);
	vm_desc_clear(&nd);
	return err;
}

/* ---- sampling ----------------------------------------------------------- */

/*
 * Difference of a raw counter since the last reading.  restarted: the
 * source's counter began again at 0 since (everything it shows is new).
 */
static uint64_t raw_delta(uint64_t now, uint64_t last, bool restarted)
{
	if (restarted || now < last)
		return now;
	return now - last;
}

static void sample_thread(struct collect_thread *t, pid_t pid, uint64_t now_ns,
			  struct collect_cpu_sample *vm_delta)
{
	const struct collect_cpu_sample *prev = collect_thread_sample_at(t, 0);
	struct collect_thread_raw raw = { 0 };
	struct collect_cpu_sample s = { .t_ns = now_ns };

	if (prev)
		s = *prev, s.t_ns = now_ns;
	if (t->samples && cs.rd->thread && cs.rd->thread(pid, t->tid, &raw) == 0) {
		if (!t->have_raw || raw.src != t->src) {
			/*
			 * First reading, or another source: BPF counts from
			 * cpu_track() (the origin is ours), anything else from
			 * an origin of its own, which becomes the baseline.
			 */
			if (!t->have_raw && raw.src == COLLECT_CPU_BPF)
				memset(&t->last_raw, 0, sizeof(t->last_raw));
			else
				t->last_raw = raw;
			t->have_raw = true;
			t->src = raw.src;
		}
		uint64_t d_on = raw_delta(raw.on_cpu_ns, t->last_raw.on_cpu_ns, false);
		uint64_t d_wait = raw_delta(raw.wait_ns, t->last_raw.wait_ns, false);
		uint64_t d_sw = raw_delta(raw.switches, t->last_raw.switches, false);

		s.on_cpu_ns += d_on;
		s.wait_ns += d_wait;
		s.switches += d_sw;
		vm_delta->on_cpu_ns += d_on;
		vm_delta->wait_ns += d_wait;
		vm_delta->switches += d_sw;
		t->last_raw = raw;
	}
	if (t->samples)
		t->samples[ring_push(&t->ring)] = s;
}

static void sample_tap(struct collect_tap *t, uint64_t now_ns, struct collect_net_sample *vm_delta)
{
	const struct collect_net_sample *prev = collect_tap_sample_at(t, 0);
	struct collect_tap_raw raw = { 0 };
	struct collect_net_sample s = { .t_ns = now_ns };

	if (prev)
		s = *prev, s.t_ns = now_ns;
	if (t->samples && cs.rd->tap && cs.rd->tap(t->ifname, &raw) == 0) {
		bool restarted = false;

		if (!t->have_raw || raw.src != t->src) {
			/* as for threads: BPF counts from net_watch() */
			if (!t->have_raw && raw.src == COLLECT_NET_BPF)
				memset(&t->last_raw, 0, sizeof(t->last_raw));
			else
				t->last_raw = raw;
			t->have_raw = true;
			t->src = raw.src;
		} else if (raw.epoch != t->last_raw.epoch) {
			restarted = true;
		}
		struct collect_net_sample d = {
			.rx_bytes = raw_delta(raw.rx_bytes, t->last_raw.rx_bytes, restarted),
			.rx_packets = raw_delta(raw.rx_packets, t->last_raw.rx_packets, restarted),
			.rx_drops = raw_delta(raw.rx_drops, t->last_raw.rx_drops, restarted),
			.tx_bytes = raw_delta(raw.tx_bytes, t->last_raw.tx_bytes, restarted),
			.tx_packets = raw_delta(raw.tx_packets, t->last_raw.tx_packets, restarted),
			.tx_drops = raw_delta(raw.tx_drops, t->last_raw.tx_drops, restarted),
		};

		s.rx_bytes += d.rx_bytes;
		s.rx_packets += d.rx_packets;
		s.rx_drops += d.rx_drops;
		s.tx_bytes += d.tx_bytes;
		s.tx_packets += d.tx_packets;
		s.tx_drops += d.tx_drops;
		vm_delta->rx_bytes += d.rx_bytes;
		vm_delta->rx_packets += d.rx_packets;
		vm_delta->rx_drops += d.rx_drops;
		vm_delta->tx_bytes += d.tx_bytes;
		vm_delta->tx_packets += d.tx_packets;
		vm_delta->tx_drops += d.tx_drops;
		t->has_drops = raw.has_drops;
		t->last_raw = raw;
	}
	if (t->samples)
		t->samples[ring_push(&t->ring)] = s;
}

/* One sample of vm; adds its differences to the d_* sums when given. */
static void sample_vm(struct collect_vm *vm, uint64_t *d_cpu, uint64_t *d_wait,
		      uint64_t *d_rx, uint64_t *d_tx)
{
	const struct collect_vm_sample *prev = collect_vm_sample_at(vm, 0);
	struct collect_cpu_sample dc = { 0 };
	struct collect_net_sample dn = { 0 };
	uint64_t now_ns = cs.clock_ns();
	struct collect_vm_sample s = { 0 };

	if (prev)
		s = *prev;
	s.t_ns = now_ns;
	for (uint32_t i = 0; i < vm->desc.n_threads; i++)
		sample_thread(&vm->threads[i], vm->desc.pid, now_ns, &dc);
	for (uint32_t i = 0; i < vm->desc.n_taps; i++)
		sample_tap(&vm->taps[i], now_ns, &dn);
	s.cpu.on_cpu_ns += dc.on_cpu_ns;
	s.cpu.wait_ns += dc.wait_ns;
	s.cpu.switches += dc.switches;
	s.net.rx_bytes += dn.rx_bytes;
	s.net.rx_packets += dn.rx_packets;
	s.net.rx_drops += dn.rx_drops;
	s.net.tx_bytes += dn.tx_bytes;
	s.net.tx_packets += dn.tx_packets;
	s.net.tx_drops += dn.tx_drops;
	vm->samples[ring_push(&vm->ring)] = s;
	if (d_cpu) {
		*d_cpu += dc.on_cpu_ns;
		*d_wait += dc.wait_ns;
		*d_rx += dn.rx_bytes;
		*d_tx += dn.tx_bytes;
	}
}

static void sample_kvm(void)
{
	struct kvm_vm_stats st;

	if (!cs.kvm || cs.rd != &default_readers || !kvm_active(cs.kvm))
		return;
	for (uint32_t s = 1; s <= cs.max_vms; s++) {
		struct collect_vm *vm = cs.vms[s];

		if (vm && vm->kvm_tracked && kvm_read(cs.kvm, vm->desc.pid, &st) == 0)
			vm->kvm_exits = st.exits;
	}
}

int collect_tick(void)
{
	uint64_t cpu0 = util_clock_ns(CLOCK_THREAD_CPUTIME_ID), cpu1;
	uint64_t d_cpu = 0, d_wait = 0, d_rx = 0, d_tx = 0;
	struct collect_host_sample h = { 0 };
	uint64_t wall0 = cs.clock_ns();

	if (!cs.inited)
		return -ENODEV;
	cs.self.last_tick_ns = wall0;
	cs.self.last_tick_realtime_ns = util_clock_ns(CLOCK_REALTIME);
	for (uint32_t s = 1; s <= cs.max_vms; s++)
		if (cs.vms[s])
			sample_vm(cs.vms[s], &d_cpu, &d_wait, &d_rx, &d_tx);
	sample_kvm();

	cs.acc_vm_on_cpu_ns += d_cpu;
	cs.acc_vm_wait_ns += d_wait;
	cs.acc_vm_rx_bytes += d_rx;
	cs.acc_vm_tx_bytes += d_tx;
	if (cs.host_ring.count)
		h.raw = cs.host_samples[ring_index(&cs.host_ring, 0)].raw;
	if (cs.rd->host)
		cs.rd->host(&h.raw);		/* on failure: the last figures */
	h.t_ns = cs.clock_ns();
	h.realtime_ns = cs.self.last_tick_realtime_ns;
	h.vm_on_cpu_ns = cs.acc_vm_on_cpu_ns;
	h.vm_wait_ns = cs.acc_vm_wait_ns;
	h.vm_rx_bytes = cs.acc_vm_rx_bytes;
	h.vm_tx_bytes = cs.acc_vm_tx_bytes;
	cs.host_samples[ring_push(&cs.host_ring)] = h;

	cpu1 = util_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	cs.self.ticks++;
	cs.self.last_ns = cpu1 - cpu0;
	cs.self.total_ns += cs.self.last_ns;
	if (cs.self.last_ns > cs.self.max_ns)
		cs.self.max_ns = cs.self.last_ns;
	cs.self.last_wall_ns = cs.clock_ns() - wall0;
	return (int)cs.n_vms;
}

static void on_tick(void *arg)
{
	collect_tick();
}

/* ---- reading ------------------------------------------------------------ */

uint32_t collect_vm_count(void)
{
	return cs.n_vms;
}

const struct collect_vm *collect_vm_by_slot(uint32_t slot)
{
	if (!cs.inited || slot == 0 || slot > cs.max_vms)
		return NULL;
	return cs.vms[slot];
}

const struct collect_vm *collect_vm_next(const struct collect_vm *prev)
{
	if (!cs.inited)
		return NULL;
	for (uint32_t s = prev ? prev->slot + 1 : 1; s <= cs.max_vms; s++)
		if (cs.vms[s])
			return cs.vms[s];
	return NULL;
}

const struct collect_vm *collect_vm_find(const char *name_or_uuid)
{
	const struct collect_vm *vm;

	if (!name_or_uuid)
		return NULL;
	for (vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm))
		if (vm->desc.name && strcmp(vm->desc.name, name_or_uuid) == 0)
			return vm;
	for (vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm))
		if (strcasecmp(vm->desc.uuid, name_or_uuid) == 0)
			return vm;
	return NULL;
}

void collect_self(struct collect_self *out)
{
	*out = cs.self;
	out->ring_samples = cs.ring_samples;
}

const struct collect_sources *collect_sources(void)
{
	return cs.inited ? cs.sources : NULL;
}

enum collect_cpu_src collect_cpu_source(void)
{
	if (!cs.inited)
		return COLLECT_CPU_NONE;
	return cs.cpu ? COLLECT_CPU_BPF : COLLECT_CPU_PROC;
}

bool collect_has_net(void)
{
	return cs.inited && (cs.net || (cs.rd && cs.rd->tap && cs.rd != &default_readers));
}

bool collect_has_kvm(void)
{
	return cs.inited && cs.kvm;
}

/* ---- module ------------------------------------------------------------- */

int collect_set_tick_ms(uint32_t tick_ms)
{
	int err = 0;

	if (!cs.inited)
		return -ENODEV;
	if (cs.timer_id > 0)
		loop_remove_timer(cs.timer_id);
	cs.timer_id = 0;
	cs.tick_ms = tick_ms;
	if (tick_ms)
		err = loop_add_periodic(tick_ms, 0, on_tick, NULL, &cs.timer_id);
	return err;
}

uint32_t collect_tick_ms(void)
{
	return cs.tick_ms;
}

int collect_init(const struct collect_opts *opts)
{
	int err;

	if (cs.inited)
		return -EALREADY;
	memset(&cs, 0, sizeof(cs));
	cs.cpu = opts->cpu;
	cs.net = opts->net;
	cs.kvm = opts->kvm;
	cs.rd = opts->readers ? opts->readers : &default_readers;
	cs.sources = opts->sources;
	snprintf(cs.proc_root, sizeof(cs.proc_root), "%s", opts->proc_root ? opts->proc_root : "/proc");
	cs.clock_ns = opts->clock_ns ? opts->clock_ns : util_monotonic_ns;
	cs.ring_samples = opts->ring_samples >= 2 ? opts->ring_samples : COLLECT_RING_DEFAULT;
	cs.max_vms = opts->max_vms ? opts->max_vms : COLLECT_MAX_VMS_DEFAULT;
	cs.vms = calloc(cs.max_vms + 1, sizeof(*cs.vms));
	cs.host_samples = calloc(cs.ring_samples, sizeof(*cs.host_samples));
	if (!cs.vms || !cs.host_samples) {
		free(cs.vms);
		free(cs.host_samples);
		memset(&cs, 0, sizeof(cs));
		return -ENOMEM;
	}
	cs.host_ring.size = cs.ring_samples;
	cs.inited = true;
	/* the host's first figures: rates from the first tick on */
	collect_tick();
	memset(&cs.self, 0, sizeof(cs.self));
	err = collect_set_tick_ms(opts->tick_ms);
	if (err) {
		collect_fini();
		return err;
	}
	return 0;
}

void collect_fini(void)
{
	if (!cs.inited)
		return;
	if (cs.timer_id > 0)
		loop_remove_timer(cs.timer_id);
	for (uint32_t s = 1; s <= cs.max_vms; s++)
		vm_free(cs.vms[s]);
	free(cs.vms);
	free(cs.host_samples);
	memset(&cs, 0, sizeof(cs));
}
