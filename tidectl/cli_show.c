// SPDX-License-Identifier: GPL-2.0
/*
 * cli_show: plain printers for tidectl's vm, host and top (the migration
 * records' are in cli_migration.c).  See cli_show.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_show.h"
#include "reply.h"

/* ---- units -------------------------------------------------------------- */

static const char *scaled(double v, const char *const *units, size_t n_units, double step,
			  const char *suffix, char *buf, size_t n)
{
	size_t u = 0;

	if (!isfinite(v) || v < 0)
		v = 0;
	while (v >= step && u + 1 < n_units) {
		v /= step;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f %s%s", v, units[0], suffix);
	else
		snprintf(buf, n, v < 99.95 ? "%.1f %s%s" : "%.0f %s%s", v, units[u], suffix);
	return buf;
}

const char *cli_human_bytes(double bytes, char *buf, size_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

	return scaled(bytes, units, ARRAY_SIZE(units), 1024, "", buf, n);
}

const char *cli_human_rate(double bytes_per_s, char *buf, size_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };

	return scaled(bytes_per_s, units, ARRAY_SIZE(units), 1024, "/s", buf, n);
}

const char *cli_human_percent(double ratio, char *buf, size_t n)
{
	if (!isfinite(ratio) || ratio < 0)
		ratio = 0;
	snprintf(buf, n, "%.1f%%", ratio * 100);
	return buf;
}

const char *cli_human_ns(double ns, char *buf, size_t n)
{
	if (!isfinite(ns) || ns < 0)
		ns = 0;
	if (ns < 1e3)
		snprintf(buf, n, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, n, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, n, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
	return buf;
}

const char *cli_human_count(double v, char *buf, size_t n)
{
	if (!isfinite(v) || v < 0)
		v = 0;
	if (v < 9999.5)
		snprintf(buf, n, "%.0f", v);
	else if (v < 999950)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.1fM", v / 1e6);
	return buf;
}

const char *cli_human_duration(double s, char *buf, size_t n)
{
	long long t = isfinite(s) && s > 0 ? (long long)s : 0;

	if (t >= 86400)
		snprintf(buf, n, "%lldd %02lldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(buf, n, "%lldh %02lldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, n, "%lldm %02llds", t / 60, t % 60);
	else
		snprintf(buf, n, "%llds", t);
	return buf;
}

/* ---- columns ------------------------------------------------------------ */

/* display width of a UTF-8 string: its code points (close enough) */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* s cut to at most max columns (with "~" marking the cut), padded to pad */
void cli_put_col(FILE *out, const char *s, size_t max, size_t pad)
{
	size_t w = 0;
	const char *p = s;

	if (width(s) > max) {
		/* keep max - 1 code points */
		while (*p && w < max - 1) {
			p++;
			while (((unsigned char)*p & 0xc0) == 0x80)
				p++;
			w++;
		}
		fprintf(out, "%.*s~", (int)(p - s), s);
		w++;
	} else {
		fputs(s, out);
		w = width(s);
	}
	for (; w < pad; w++)
		fputc(' ', out);
}

size_t cli_name_col(struct reply *r, struct json_object *vms)
{
	char buf[NAME_BYTES];
	size_t col = 4; /* "NAME" */

	for (size_t i = 0; i < reply_len(vms); i++) {
		size_t w = width(
			reply_str(r, json_object_array_get_idx(vms, i), "name", buf, sizeof(buf)));

		if (w > col)
			col = w;
	}
	return col > NAME_COL_MAX ? NAME_COL_MAX : col;
}

/* CPU time per second of wall time, as a ratio of one CPU */
double cli_cpu_ratio(struct reply *r, struct json_object *o, const char *key)
{
	return reply_num(r, o, key) / 1e9;
}

/* ---- vm show ------------------------------------------------------------- */

void cli_show_vm_table(FILE *out, struct reply *r)
{
	struct json_object *vms = reply_array(r, r->obj, "vms");
	char name[NAME_BYTES], state[64], mem[CLI_HUMAN_BYTES], cpu[16], wait[16];
	char rx[CLI_HUMAN_BYTES], tx[CLI_HUMAN_BYTES];
	size_t nc = cli_name_col(r, vms);
	size_t n = reply_len(vms);

	if (n == 0) {
		fprintf(out, "no VMs\n");
		return;
	}
	cli_put_col(out, "NAME", nc, nc + 2);
	fprintf(out, "%-11s %5s %9s %7s %7s %11s %11s\n", "STATE", "VCPUS", "MEMORY", "CPU", "WAIT",
		"RX", "TX");
	for (size_t i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		cli_put_col(out, reply_str(r, vm, "name", name, sizeof(name)), nc, nc + 2);
		fprintf(out, "%-11s %5lld %9s %7s %7s %11s %11s\n",
			reply_str(r, vm, "state", state, sizeof(state)),
			(long long)reply_int(r, vm, "vcpus"),
			cli_human_bytes(reply_num(r, vm, "memory_bytes"), mem, sizeof(mem)),
			cli_human_percent(cli_cpu_ratio(r, vm, "cpu_ns_per_s"), cpu, sizeof(cpu)),
			cli_human_percent(cli_cpu_ratio(r, vm, "wait_ns_per_s"), wait, sizeof(wait)),
			cli_human_rate(reply_num(r, vm, "rx_bytes_per_s"), rx, sizeof(rx)),
			cli_human_rate(reply_num(r, vm, "tx_bytes_per_s"), tx, sizeof(tx)));
	}
}

/* The dirty-page curve (absent from an older tided's reply). */
static void vm_dirty(struct reply *r, FILE *out, struct json_object *dirty)
{
	struct json_object *pts;
	char a[CLI_HUMAN_BYTES], b[CLI_HUMAN_BYTES], src[NAME_BYTES];

	if (!dirty)
		return;
	pts = reply_array(r, dirty, "points");
	if (!reply_bool(r, dirty, "has_data")) {
		fprintf(out, "  dirty:       not measured yet");
	} else {
		fprintf(out, "  dirty:       %s%s, working set %s%s",
			reply_bool(r, dirty, "rate_is_lower_bound") ? ">= " : "",
			cli_human_rate(reply_num(r, dirty, "rate_bytes_per_s"), a, sizeof(a)),
			reply_bool(r, dirty, "working_set_is_lower_bound") ? ">= " : "",
			cli_human_bytes(reply_num(r, dirty, "working_set_bytes"), b, sizeof(b)));
	}
	fprintf(out, "%s%s (probes: %lld ok, %lld failed, %lld busy)\n",
		reply_bool(r, dirty, "probing") ? ", probing now" : "",
		reply_bool(r, dirty, "migrating") ? ", migrating: probes held" : "",
		(long long)reply_int(r, dirty, "probes_ok"),
		(long long)reply_int(r, dirty, "probes_failed"),
		(long long)reply_int(r, dirty, "probes_busy"));
	for (size_t i = 0; i < reply_len(pts); i++) {
		struct json_object *p = json_object_array_get_idx(pts, i);

		fprintf(out, "    W(%lld ms) = %s  %.2f confident, %s old, %s x%lld\n",
			(long long)reply_int(r, p, "t_ms"),
			cli_human_bytes(reply_num(r, p, "bytes"), a, sizeof(a)),
			reply_num(r, p, "confidence"),
			cli_human_duration(reply_num(r, p, "age_ms") / 1e3, b, sizeof(b)),
			reply_str(r, p, "dirty_source", src, sizeof(src)),
			(long long)reply_int(r, p, "readings"));
	}
}

/* The operator's policy from the domain's metadata, when it says anything. */
static void show_policy(FILE *out, struct reply *r, struct json_object *pol)
{
	struct json_object *md;
	char err[160];

	if (!pol || !json_object_is_type(pol, json_type_object))
		return;
	reply_str(r, pol, "error", err, sizeof(err));
	md = reply_opt(pol, "max_downtime_ms");
	if (err[0] && strcmp(err, "-") != 0) {
		fprintf(out, "  policy:      ignored: %s\n", err);
		return;
	}
	if (!reply_bool(r, pol, "pinned") && !md && !reply_int(r, pol, "priority"))
		return;
	fprintf(out, "  policy:      %s", reply_bool(r, pol, "pinned") ? "pinned" : "movable");
	if (md)
		fprintf(out, ", max downtime %lld ms", (long long)json_object_get_int64(md));
	fprintf(out, ", priority %lld\n", (long long)reply_int(r, pol, "priority"));
}

static void vm_detail(struct reply *r, FILE *out, struct json_object *vm)
{
	char a[NAME_BYTES], b[NAME_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES];
	char e[CLI_HUMAN_BYTES], f[CLI_HUMAN_BYTES];
	struct json_object *threads = reply_array(r, vm, "vcpu_threads");
	struct json_object *ifaces = reply_array(r, vm, "interfaces");
	int64_t pid = reply_int(r, vm, "pid");

	fprintf(out, "%s  %s\n", reply_str(r, vm, "name", a, sizeof(a)),
		reply_str(r, vm, "uuid", b, sizeof(b)));
	fprintf(out, "  state:       %s", reply_str(r, vm, "state", a, sizeof(a)));
	if (pid > 0)
		fprintf(out, ", QEMU pid %lld", (long long)pid);
	else
		fprintf(out, ", QEMU process not found");
	fprintf(out, ", tracked for %s (slot %lld)\n",
		cli_human_duration(reply_num(r, vm, "tracked_ns") / 1e9, c, sizeof(c)),
		(long long)reply_int(r, vm, "slot"));
	fprintf(out, "  vcpus:       %lld", (long long)reply_int(r, vm, "vcpus"));
	if (reply_int(r, vm, "vcpus_max") > reply_int(r, vm, "vcpus"))
		fprintf(out, " (max %lld)", (long long)reply_int(r, vm, "vcpus_max"));
	fprintf(out, ", %zu thread%s found\n", reply_len(threads),
		reply_len(threads) == 1 ? "" : "s");
	fprintf(out, "  memory:      %s",
		cli_human_bytes(reply_num(r, vm, "memory_bytes"), c, sizeof(c)));
	if (reply_int(r, vm, "current_memory_bytes") != reply_int(r, vm, "memory_bytes"))
		fprintf(out, " (current %s)",
			cli_human_bytes(reply_num(r, vm, "current_memory_bytes"), d, sizeof(d)));
	fprintf(out, "\n");
	show_policy(out, r, reply_opt(vm, "policy"));
	fprintf(out, "  cpu:         %s on CPU, %s waiting, %s switches/s (from %s)\n",
		cli_human_percent(cli_cpu_ratio(r, vm, "cpu_ns_per_s"), c, sizeof(c)),
		cli_human_percent(cli_cpu_ratio(r, vm, "wait_ns_per_s"), d, sizeof(d)),
		cli_human_count(reply_num(r, vm, "switches_per_s"), e, sizeof(e)),
		reply_str(r, vm, "cpu_source", a, sizeof(a)));
	fprintf(out, "  cpu total:   %s on CPU, %s waiting\n",
		cli_human_ns(reply_num(r, vm, "cpu_ns"), c, sizeof(c)),
		cli_human_ns(reply_num(r, vm, "wait_ns"), d, sizeof(d)));
	fprintf(out, "  network:     rx %s (%s pkt/s), tx %s (%s pkt/s)\n",
		cli_human_rate(reply_num(r, vm, "rx_bytes_per_s"), c, sizeof(c)),
		cli_human_count(reply_num(r, vm, "rx_packets_per_s"), d, sizeof(d)),
		cli_human_rate(reply_num(r, vm, "tx_bytes_per_s"), e, sizeof(e)),
		cli_human_count(reply_num(r, vm, "tx_packets_per_s"), f, sizeof(f)));
	fprintf(out, "  net total:   rx %s, tx %s, drops rx %lld tx %lld\n",
		cli_human_bytes(reply_num(r, vm, "rx_bytes"), c, sizeof(c)),
		cli_human_bytes(reply_num(r, vm, "tx_bytes"), d, sizeof(d)),
		(long long)reply_int(r, vm, "rx_drops"), (long long)reply_int(r, vm, "tx_drops"));
	/* only when the KVM collector runs */
	if (reply_opt(vm, "kvm_exits"))
		fprintf(out, "  kvm exits:   %lld\n", (long long)reply_int(r, vm, "kvm_exits"));

	vm_dirty(r, out, reply_opt(vm, "dirty"));

	if (reply_len(threads)) {
		fprintf(out, "\n  %-5s %-8s %7s %7s %10s %10s %10s  %s\n", "VCPU", "TID", "CPU",
			"WAIT", "SWITCH/S", "CPU TOTAL", "WAIT TOTAL", "SOURCE");
		for (size_t i = 0; i < reply_len(threads); i++) {
			struct json_object *t = json_object_array_get_idx(threads, i);
			char vcpu[16], g[CLI_HUMAN_BYTES], h[CLI_HUMAN_BYTES];

			if (reply_int(r, t, "vcpu") < 0)
				snprintf(vcpu, sizeof(vcpu), "all");
			else
				snprintf(vcpu, sizeof(vcpu), "%lld",
					 (long long)reply_int(r, t, "vcpu"));
			fprintf(out, "  %-5s %-8lld %7s %7s %10s %10s %10s  %s\n", vcpu,
				(long long)reply_int(r, t, "tid"),
				cli_human_percent(cli_cpu_ratio(r, t, "cpu_ns_per_s"), c, sizeof(c)),
				cli_human_percent(cli_cpu_ratio(r, t, "wait_ns_per_s"), d, sizeof(d)),
				cli_human_count(reply_num(r, t, "switches_per_s"), e, sizeof(e)),
				cli_human_ns(reply_num(r, t, "cpu_ns"), g, sizeof(g)),
				cli_human_ns(reply_num(r, t, "wait_ns"), h, sizeof(h)),
				reply_str(r, t, "cpu_source", a, sizeof(a)));
		}
	}
	if (reply_len(ifaces)) {
		fprintf(out, "\n  %-15s %-17s %11s %11s %8s %8s %8s %8s  %s\n", "INTERFACE", "MAC",
			"RX", "TX", "RX PK/S", "TX PK/S", "RX DROP", "TX DROP", "SOURCE");
		for (size_t i = 0; i < reply_len(ifaces); i++) {
			struct json_object *t = json_object_array_get_idx(ifaces, i);
			char g[CLI_HUMAN_BYTES], h[CLI_HUMAN_BYTES], mac[64];
			bool drops = reply_bool(r, t, "drops_counted");

			if (drops) {
				snprintf(g, sizeof(g), "%lld",
					 (long long)reply_int(r, t, "rx_drops"));
				snprintf(h, sizeof(h), "%lld",
					 (long long)reply_int(r, t, "tx_drops"));
			} else {
				snprintf(g, sizeof(g), "-");
				snprintf(h, sizeof(h), "-");
			}
			fprintf(out, "  %-15s %-17s %11s %11s %8s %8s %8s %8s  %s\n",
				reply_str(r, t, "target_device", a, sizeof(a)),
				reply_str(r, t, "mac", mac, sizeof(mac)),
				cli_human_rate(reply_num(r, t, "rx_bytes_per_s"), c, sizeof(c)),
				cli_human_rate(reply_num(r, t, "tx_bytes_per_s"), d, sizeof(d)),
				cli_human_count(reply_num(r, t, "rx_packets_per_s"), e, sizeof(e)),
				cli_human_count(reply_num(r, t, "tx_packets_per_s"), f, sizeof(f)),
				g, h, reply_str(r, t, "net_source", b, sizeof(b)));
		}
	}
}

void cli_show_vm_detail(FILE *out, struct reply *r)
{
	struct json_object *vms = reply_array(r, r->obj, "vms");

	for (size_t i = 0; i < reply_len(vms); i++) {
		if (i)
			fputc('\n', out);
		vm_detail(r, out, json_object_array_get_idx(vms, i));
	}
}

/* ---- host show ----------------------------------------------------------- */

void cli_show_host(FILE *out, struct reply *r)
{
	struct json_object *col = reply_object(r, r->obj, "collection");
	struct json_object *src = reply_object(r, r->obj, "sources");
	struct json_object *lv = reply_object(r, r->obj, "libvirt");
	struct json_object *dirty = reply_opt(r->obj, "dirty");
	char a[NAME_BYTES], b[CLI_HUMAN_BYTES], c[CLI_HUMAN_BYTES];
	const char *kvm;
	int64_t cpus = reply_int(r, r->obj, "cpus");

	fprintf(out, "host %s: %lld CPU%s, %s memory (%s available)\n",
		reply_str(r, r->obj, "hostname", a, sizeof(a)), (long long)cpus, cpus == 1 ? "" : "s",
		cli_human_bytes(reply_num(r, r->obj, "memory_bytes"), b, sizeof(b)),
		cli_human_bytes(reply_num(r, r->obj, "memory_available_bytes"), c, sizeof(c)));
	if (reply_bool(r, r->obj, "degraded"))
		fprintf(out, "DEGRADED:     a BPF collector could not load; see 'collectors'\n");
	fprintf(out, "load:         %s  (VM on-CPU time over the %lld CPUs)\n",
		cli_human_percent(reply_num(r, r->obj, "load_ratio"), b, sizeof(b)), (long long)cpus);
	fprintf(out, "host cpu:     %s busy  (/proc/stat)\n",
		cli_human_percent(reply_num(r, r->obj, "cpu_busy_ratio"), b, sizeof(b)));
	fprintf(out, "vms:          %lld, %lld vCPUs, %s\n", (long long)reply_int(r, r->obj, "vms"),
		(long long)reply_int(r, r->obj, "vm_vcpus"),
		cli_human_bytes(reply_num(r, r->obj, "vm_memory_bytes"), b, sizeof(b)));
	fprintf(out, "vm cpu:       %s on CPU, %s waiting  (%% of one CPU)\n",
		cli_human_percent(cli_cpu_ratio(r, r->obj, "vm_cpu_ns_per_s"), b, sizeof(b)),
		cli_human_percent(cli_cpu_ratio(r, r->obj, "vm_wait_ns_per_s"), c, sizeof(c)));
	fprintf(out, "vm network:   rx %s, tx %s\n",
		cli_human_rate(reply_num(r, r->obj, "vm_rx_bytes_per_s"), b, sizeof(b)),
		cli_human_rate(reply_num(r, r->obj, "vm_tx_bytes_per_s"), c, sizeof(c)));
	kvm = reply_str(r, src, "kvm", c, sizeof(c));
	fprintf(out, "collectors:   cpu %s, net %s, kvm %s%s\n",
		reply_str(r, src, "cpu", a, sizeof(a)), reply_str(r, src, "net", b, sizeof(b)), kvm,
		strcmp(kvm, "off") != 0 && !reply_bool(r, src, "kvm_active") ?
			" (inactive: no KVM exit seen, guests not under KVM)" :
			"");
	for (int i = 0; i < 3; i++) {
		static const char *const keys[] = { "cpu_note", "net_note", "kvm_note" };
		static const char *const what[] = { "cpu", "net", "kvm" };

		const char *note = reply_str(r, src, keys[i], a, sizeof(a));

		if (note[0] && strcmp(note, "-") != 0)
			fprintf(out, "              %s: %s\n", what[i], note);
	}
	fprintf(out,
		"collection:   every %lld ms, %lld samples kept; CPU per tick %s last, "
		"%s average, %s max (%lld ticks)\n",
		(long long)reply_int(r, r->obj, "tick_ms"),
		(long long)reply_int(r, r->obj, "ring_samples"),
		cli_human_ns(reply_num(r, col, "last_ns"), a, sizeof(a)),
		cli_human_ns(reply_num(r, col, "avg_ns"), b, sizeof(b)),
		cli_human_ns(reply_num(r, col, "max_ns"), c, sizeof(c)),
		(long long)reply_int(r, col, "ticks"));
	if (dirty) {
		struct json_object *srcs = reply_array(r, r->obj, "dirty_sources");

		fprintf(out, "dirty:        sources");
		for (size_t i = 0; i < reply_len(srcs); i++)
			fprintf(out, "%s%s", i ? ", " : " ",
				json_object_get_string(json_object_array_get_idx(srcs, i)));
		if (!reply_len(srcs))
			fprintf(out, " none");
		fprintf(out,
			"; page-sampling %s; %lld probing (budget %lld, every %lld ms); probes "
			"%lld started, %lld ok, %lld failed, %lld busy; %lld points added\n",
			reply_str(r, dirty, "page_sampling", a, sizeof(a)),
			(long long)reply_int(r, dirty, "probing"),
			(long long)reply_int(r, dirty, "budget"),
			(long long)reply_int(r, dirty, "interval_ms"),
			(long long)reply_int(r, dirty, "probes_started"),
			(long long)reply_int(r, dirty, "probes_ok"),
			(long long)reply_int(r, dirty, "probes_failed"),
			(long long)reply_int(r, dirty, "probes_busy"),
			(long long)reply_int(r, dirty, "points_added"));
	}
	fprintf(out, "libvirt:      %s (%s", reply_str(r, lv, "uri", a, sizeof(a)),
		reply_bool(r, lv, "connected") ? "connected" : "NOT connected");
	if (reply_int(r, lv, "reconnects"))
		fprintf(out, ", %lld reconnects", (long long)reply_int(r, lv, "reconnects"));
	fprintf(out, ")\n");
}
