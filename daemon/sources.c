// SPDX-License-Identifier: GPL-2.0
/*
 * sources: collector selection and the raw readers over it.  See sources.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "cpu.h"
#include "kvm.h"
#include "log.h"
#include "net.h"
#include "procfs.h"
#include "sources.h"

static struct {
	struct sources s;
	bool opened;
	char proc_root[256];
} ss;

const char *collect_cpu_src_name(enum collect_cpu_src s)
{
	switch (s) {
	case COLLECT_CPU_BPF:
		return "bpf";
	case COLLECT_CPU_PROC:
		return "proc";
	default:
		return "none";
	}
}

const char *collect_net_src_name(enum collect_net_src s)
{
	switch (s) {
	case COLLECT_NET_BPF:
		return "bpf";
	case COLLECT_NET_NETLINK:
		return "netlink";
	default:
		return "none";
	}
}

static void set_root(const struct sources_opts *opts)
{
	if (!ss.opened)
		snprintf(ss.proc_root, sizeof(ss.proc_root), "%s",
			 opts->proc_root ? opts->proc_root : "/proc");
	ss.opened = true;
}

int sources_open_cpu(const struct sources_opts *opts)
{
	struct sources *out = &ss.s;
	struct cpu_opts co = { 0 };
	int err;

	set_root(opts);

	/* cpu: tp_btf, else raw_tp (cpu.c decides), else /proc schedstat */
	if (opts->cpu_source == CONF_CPU_PROC) {
		snprintf(out->cpu_mode, sizeof(out->cpu_mode), "proc");
		snprintf(out->cpu_note, sizeof(out->cpu_note),
			 "cpu_source = \"proc\" in the configuration");
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
			snprintf(out->cpu_mode, sizeof(out->cpu_mode), "%s",
				 cpu_attach_mode(out->cpu));
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

int sources_open_net(const struct sources_opts *opts)
{
	struct sources *out = &ss.s;
	struct net_opts no = { 0 };
	int err;

	set_root(opts);

	/* net: tcx, else tc (net.c decides in auto mode), else netlink */
	switch (opts->net_source) {
	case CONF_NET_TCX:
		no.mode = NET_ATTACH_TCX;
		break;
	case CONF_NET_TC:
		no.mode = NET_ATTACH_TC;
		break;
	case CONF_NET_NETLINK:
		no.mode = NET_ATTACH_NETLINK;
		break;
	default:
		no.mode = NET_ATTACH_AUTO;
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
		snprintf(out->net_note, sizeof(out->net_note), "no rtnetlink socket: %s",
			 strerror(-err));
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

int sources_open_kvm(const struct sources_opts *opts)
{
	struct sources *out = &ss.s;
	struct kvm_opts ko = { .max_vms = opts->max_vms };
	int err;

	set_root(opts);

	/* kvm: tracepoints where KVM is, else off */
	if (!opts->kvm_stats) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		snprintf(out->kvm_note, sizeof(out->kvm_note),
			 "kvm_stats = false in the configuration");
		log_info("kvm collector: off (kvm_stats = false)");
	} else if (kvm_probe(out->kvm_note, sizeof(out->kvm_note))) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		log_info("kvm collector: off: %s", out->kvm_note);
	} else if ((err = kvm_init(&out->kvm, &ko))) {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "off");
		snprintf(out->kvm_note, sizeof(out->kvm_note),
			 "the KVM BPF programs cannot load: %s", strerror(-err));
		log_warn("kvm collector: off: the KVM BPF programs cannot load: %s", strerror(-err));
	} else {
		snprintf(out->kvm_mode, sizeof(out->kvm_mode), "tracepoint");
		log_info("kvm collector: kvm:kvm_exit tracepoint%s",
			 kvm_has_dirty_ring(out->kvm) ? " and kvm:kvm_dirty_ring_push" : "");
	}
	return 0;
}

int sources_open(const struct sources_opts *opts)
{
	memset(&ss.s, 0, sizeof(ss.s));
	sources_open_cpu(opts);
	sources_open_net(opts);
	sources_open_kvm(opts);
	return 0;
}

void sources_close_cpu(void)
{
	cpu_fini(ss.s.cpu);
	ss.s.cpu = NULL;
}

void sources_close_net(void)
{
	net_fini(ss.s.net);
	ss.s.net = NULL;
}

void sources_close_kvm(void)
{
	kvm_fini(ss.s.kvm);
	ss.s.kvm = NULL;
}

void sources_close(void)
{
	sources_close_kvm();
	sources_close_net();
	sources_close_cpu();
	memset(&ss, 0, sizeof(ss));
}

const struct sources *sources_get(void)
{
	return ss.opened ? &ss.s : NULL;
}

/* ---- readers -------------------------------------------------------------- */

static int read_thread(pid_t pid, pid_t tid, struct collect_thread_raw *out)
{
	struct procfs_schedstat ps;
	struct cpu_thread_stats st;
	int err;

	if (ss.s.cpu && cpu_read(ss.s.cpu, tid, &st) == 0) {
		out->on_cpu_ns = st.on_cpu_ns;
		out->wait_ns = st.wait_ns;
		out->switches = st.voluntary_switches + st.involuntary_switches;
		out->src = COLLECT_CPU_BPF;
		return 0;
	}
	err = procfs_schedstat(ss.proc_root, pid, tid, &ps);
	if (err)
		return err;
	out->on_cpu_ns = ps.on_cpu_ns;
	out->wait_ns = ps.wait_ns;
	out->switches = ps.switches;
	out->src = COLLECT_CPU_PROC;
	return 0;
}

static int read_tap(const char *ifname, struct collect_tap_raw *out)
{
	struct net_if_stats st;
	int err;

	if (!ss.s.net)
		return -ENODEV;
	/* net_read() answers from link stats itself when there is no BPF */
	err = net_read(ss.s.net, ifname, &st);
	if (err) /* BPF not on this tap (yet): the link's own counters */
		err = net_link_stats(ss.s.net, ifname, &st);
	if (err)
		return err;
	if (!(st.flags & NET_STATS_BPF)) {
		out->src = COLLECT_NET_NETLINK;
		out->epoch = (uint32_t)st.ifindex; /* a new link counts from 0 */
		out->has_drops = true;
	} else {
		out->src = COLLECT_NET_BPF;
		out->epoch = st.attach_seq; /* a new attach counts from 0 */
		out->has_drops = st.flags & NET_STATS_DROPS;
	}
	out->c = st.c;
	return 0;
}

static int read_vm(pid_t pid, struct collect_vm_raw *out)
{
	struct kvm_vm_stats st;
	int err;

	/* loaded is not live: under TCG no KVM exit ever comes */
	if (!ss.s.kvm || !kvm_active(ss.s.kvm))
		return -ENODATA;
	err = kvm_read(ss.s.kvm, pid, &st);
	if (err)
		return err;
	out->kvm_exits = st.exits;
	out->dirty_ring_pushes = st.dirty_ring_pushes;
	return 0;
}

static int read_host(struct collect_host_raw *out)
{
	struct procfs_host h;
	int err = procfs_host(ss.proc_root, &h);

	if (err)
		return err;
	out->cpu_busy_ticks = h.cpu_busy_ticks;
	out->cpu_total_ticks = h.cpu_total_ticks;
	out->cpus = h.online_cpus;
	out->memory_bytes = h.memory_bytes;
	out->memory_available_bytes = h.memory_available_bytes;
	return 0;
}

static int track_thread(uint32_t slot, pid_t pid, const struct vm_thread *t)
{
	if (!ss.s.cpu)
		return -EOPNOTSUPP;
	return cpu_track(ss.s.cpu, t->tid, slot, t->vcpu == VM_VCPU_ALL ? 0 : t->vcpu);
}

static void untrack_thread(const struct vm_thread *t)
{
	if (ss.s.cpu)
		cpu_untrack(ss.s.cpu, t->tid);
}

static int track_tap(uint32_t slot, const char *ifname)
{
	if (!ss.s.net)
		return -EOPNOTSUPP;
	return net_watch(ss.s.net, ifname, slot);
}

static void untrack_tap(const char *ifname)
{
	if (ss.s.net)
		net_unwatch(ss.s.net, ifname);
}

static int track_vm(uint32_t slot, pid_t pid)
{
	if (!ss.s.kvm)
		return -EOPNOTSUPP;
	return kvm_track_vm(ss.s.kvm, pid, slot);
}

static void untrack_vm(pid_t pid)
{
	if (ss.s.kvm)
		kvm_untrack_vm(ss.s.kvm, pid);
}

const struct collect_readers *sources_readers(void)
{
	static struct collect_readers rd;

	/* no collector, no hook: the store then says it has no such figures */
	rd = (struct collect_readers){
		.track_thread = track_thread,
		.untrack_thread = untrack_thread,
		.track_tap = ss.s.net ? track_tap : NULL,
		.untrack_tap = ss.s.net ? untrack_tap : NULL,
		.track_vm = ss.s.kvm ? track_vm : NULL,
		.untrack_vm = ss.s.kvm ? untrack_vm : NULL,
		.thread = read_thread,
		.tap = ss.s.net ? read_tap : NULL,
		.vm = ss.s.kvm ? read_vm : NULL,
		.host = read_host,
	};
	return &rd;
}
