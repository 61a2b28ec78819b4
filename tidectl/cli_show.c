// SPDX-License-Identifier: GPL-2.0
/*
 * cli_show: plain printers for tidectl's vm, host and top.  See cli_show.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_show.h"

#define NAME_BYTES 256
#define NAME_COL_MAX 32

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

/* ---- JSON members ------------------------------------------------------- */

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static double num(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v ? json_object_get_double(v) : 0.0;
}

static int64_t inum(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v ? json_object_get_int64(v) : 0;
}

/* a string member, made safe for the terminal; "-" when absent */
static const char *str(struct json_object *o, const char *key, char *buf, size_t n)
{
	struct json_object *v = member(o, key);

	if (!v || json_object_is_type(v, json_type_null))
		return "-";
	return cli_safe(json_object_get_string(v), buf, n);
}

/* display width of a UTF-8 string: its code points (close enough) */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* s cut to at most max columns (with "~" marking the cut), padded to pad */
static void put_col(FILE *out, const char *s, size_t max, size_t pad)
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

static size_t name_col(struct json_object *vms)
{
	char buf[NAME_BYTES];
	size_t col = 4;	/* "NAME" */

	for (size_t i = 0; vms && i < json_object_array_length(vms); i++) {
		size_t w = width(str(json_object_array_get_idx(vms, i), "name", buf, sizeof(buf)));

		if (w > col)
			col = w;
	}
	return col > NAME_COL_MAX ? NAME_COL_MAX : col;
}

/* CPU time per second of wall time, as a ratio of one CPU */
static double cpu_ratio(struct json_object *o, const char *key)
{
	return num(o, key) / 1e9;
}

/* ---- vm show ------------------------------------------------------------- */

void cli_show_vm_table(FILE *out, struct json_object *reply)
{
	struct json_object *vms = member(reply, "vms");
	char name[NAME_BYTES], state[64], mem[CLI_HUMAN_BYTES], cpu[16], wait[16];
	char rx[CLI_HUMAN_BYTES], tx[CLI_HUMAN_BYTES];
	size_t nc = name_col(vms);
	size_t n = vms ? json_object_array_length(vms) : 0;

	if (n == 0) {
		fprintf(out, "no VMs\n");
		return;
	}
	put_col(out, "NAME", nc, nc + 2);
	fprintf(out, "%-11s %5s %9s %7s %7s %11s %11s\n", "STATE", "VCPUS", "MEMORY", "CPU",
		"WAIT", "RX", "TX");
	for (size_t i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		put_col(out, str(vm, "name", name, sizeof(name)), nc, nc + 2);
		fprintf(out, "%-11s %5lld %9s %7s %7s %11s %11s\n",
			str(vm, "state", state, sizeof(state)), (long long)inum(vm, "vcpus"),
			cli_human_bytes(num(vm, "memory_bytes"), mem, sizeof(mem)),
			cli_human_percent(cpu_ratio(vm, "cpu_ns_per_s"), cpu, sizeof(cpu)),
			cli_human_percent(cpu_ratio(vm, "wait_ns_per_s"), wait, sizeof(wait)),
			cli_human_rate(num(vm, "rx_bytes_per_s"), rx, sizeof(rx)),
			cli_human_rate(num(vm, "tx_bytes_per_s"), tx, sizeof(tx)));
	}
}

static void vm_detail(FILE *out, struct json_object *vm)
{
	char a[NAME_BYTES], b[NAME_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES];
	char e[CLI_HUMAN_BYTES], f[CLI_HUMAN_BYTES];
	struct json_object *threads = member(vm, "vcpu_threads");
	struct json_object *ifaces = member(vm, "interfaces");
	int64_t pid = inum(vm, "pid");

	fprintf(out, "%s  %s\n", str(vm, "name", a, sizeof(a)), str(vm, "uuid", b, sizeof(b)));
	fprintf(out, "  state:       %s", str(vm, "state", a, sizeof(a)));
	if (pid > 0)
		fprintf(out, ", QEMU pid %lld", (long long)pid);
	else
		fprintf(out, ", QEMU process not found");
	fprintf(out, ", tracked for %s (slot %lld)\n",
		cli_human_duration(num(vm, "tracked_ns") / 1e9, c, sizeof(c)),
		(long long)inum(vm, "slot"));
	fprintf(out, "  vcpus:       %lld", (long long)inum(vm, "vcpus"));
	if (inum(vm, "vcpus_max") > inum(vm, "vcpus"))
		fprintf(out, " (max %lld)", (long long)inum(vm, "vcpus_max"));
	fprintf(out, ", %zu thread%s found\n", threads ? json_object_array_length(threads) : 0,
		threads && json_object_array_length(threads) == 1 ? "" : "s");
	fprintf(out, "  memory:      %s", cli_human_bytes(num(vm, "memory_bytes"), c, sizeof(c)));
	if (inum(vm, "current_memory_bytes") != inum(vm, "memory_bytes"))
		fprintf(out, " (current %s)",
			cli_human_bytes(num(vm, "current_memory_bytes"), d, sizeof(d)));
	fprintf(out, "\n");
	fprintf(out, "  cpu:         %s on CPU, %s waiting, %s switches/s (from %s)\n",
		cli_human_percent(cpu_ratio(vm, "cpu_ns_per_s"), c, sizeof(c)),
		cli_human_percent(cpu_ratio(vm, "wait_ns_per_s"), d, sizeof(d)),
		cli_human_count(num(vm, "switches_per_s"), e, sizeof(e)),
		str(vm, "cpu_source", a, sizeof(a)));
	fprintf(out, "  cpu total:   %s on CPU, %s waiting\n",
		cli_human_ns(num(vm, "cpu_ns"), c, sizeof(c)),
		cli_human_ns(num(vm, "wait_ns"), d, sizeof(d)));
	fprintf(out, "  network:     rx %s (%s pkt/s), tx %s (%s pkt/s)\n",
		cli_human_rate(num(vm, "rx_bytes_per_s"), c, sizeof(c)),
		cli_human_count(num(vm, "rx_packets_per_s"), d, sizeof(d)),
		cli_human_rate(num(vm, "tx_bytes_per_s"), e, sizeof(e)),
		cli_human_count(num(vm, "tx_packets_per_s"), f, sizeof(f)));
	fprintf(out, "  net total:   rx %s, tx %s, drops rx %lld tx %lld\n",
		cli_human_bytes(num(vm, "rx_bytes"), c, sizeof(c)),
		cli_human_bytes(num(vm, "tx_bytes"), d, sizeof(d)),
		(long long)inum(vm, "rx_drops"), (long long)inum(vm, "tx_drops"));
	if (member(vm, "kvm_exits"))
		fprintf(out, "  kvm exits:   %lld\n", (long long)inum(vm, "kvm_exits"));

	if (threads && json_object_array_length(threads)) {
		fprintf(out, "\n  %-5s %-8s %7s %7s %10s %10s %10s  %s\n", "VCPU", "TID", "CPU",
			"WAIT", "SWITCH/S", "CPU TOTAL", "WAIT TOTAL", "SOURCE");
		for (size_t i = 0; i < json_object_array_length(threads); i++) {
			struct json_object *t = json_object_array_get_idx(threads, i);
			char vcpu[16], g[CLI_HUMAN_BYTES], h[CLI_HUMAN_BYTES];

			if (inum(t, "vcpu") < 0)
				snprintf(vcpu, sizeof(vcpu), "all");
			else
				snprintf(vcpu, sizeof(vcpu), "%lld", (long long)inum(t, "vcpu"));
			fprintf(out, "  %-5s %-8lld %7s %7s %10s %10s %10s  %s\n", vcpu,
				(long long)inum(t, "tid"),
				cli_human_percent(cpu_ratio(t, "cpu_ns_per_s"), c, sizeof(c)),
				cli_human_percent(cpu_ratio(t, "wait_ns_per_s"), d, sizeof(d)),
				cli_human_count(num(t, "switches_per_s"), e, sizeof(e)),
				cli_human_ns(num(t, "cpu_ns"), g, sizeof(g)),
				cli_human_ns(num(t, "wait_ns"), h, sizeof(h)),
				str(t, "cpu_source", a, sizeof(a)));
		}
	}
	if (ifaces && json_object_array_length(ifaces)) {
		fprintf(out, "\n  %-15s %-17s %11s %11s %8s %8s %8s %8s  %s\n", "INTERFACE", "MAC",
			"RX", "TX", "RX PK/S", "TX PK/S", "RX DROP", "TX DROP", "SOURCE");
		for (size_t i = 0; i < json_object_array_length(ifaces); i++) {
			struct json_object *t = json_object_array_get_idx(ifaces, i);
			char g[CLI_HUMAN_BYTES], h[CLI_HUMAN_BYTES], mac[64];
			bool drops = json_object_get_boolean(member(t, "drops_counted"));

			if (drops) {
				snprintf(g, sizeof(g), "%lld", (long long)inum(t, "rx_drops"));
				snprintf(h, sizeof(h), "%lld", (long long)inum(t, "tx_drops"));
			} else {
				snprintf(g, sizeof(g), "-");
				snprintf(h, sizeof(h), "-");
			}
			fprintf(out, "  %-15s %-17s %11s %11s %8s %8s %8s %8s  %s\n",
				str(t, "target_device", a, sizeof(a)), str(t, "mac", mac, sizeof(mac)),
				cli_human_rate(num(t, "rx_bytes_per_s"), c, sizeof(c)),
				cli_human_rate(num(t, "tx_bytes_per_s"), d, sizeof(d)),
				cli_human_count(num(t, "rx_packets_per_s"), e, sizeof(e)),
				cli_human_count(num(t, "tx_packets_per_s"), f, sizeof(f)), g, h,
				str(t, "net_source", b, sizeof(b)));
		}
	}
}

void cli_show_vm_detail(FILE *out, struct json_object *reply)
{
	struct json_object *vms = member(reply, "vms");

	for (size_t i = 0; vms && i < json_object_array_length(vms); i++) {
		if (i)
			fputc('\n', out);
		vm_detail(out, json_object_array_get_idx(vms, i));
	}
}

/* ---- host show ----------------------------------------------------------- */

void cli_show_host(FILE *out, struct json_object *r)
{
	struct json_object *col = member(r, "collection"), *src = member(r, "sources");
	struct json_object *lv = member(r, "libvirt");
	char a[NAME_BYTES], b[CLI_HUMAN_BYTES], c[CLI_HUMAN_BYTES];
	char note[NAME_BYTES];
	int64_t cpus = inum(r, "cpus");

	fprintf(out, "host %s: %lld CPU%s, %s memory (%s available)\n",
		str(r, "hostname", a, sizeof(a)), (long long)cpus, cpus == 1 ? "" : "s",
		cli_human_bytes(num(r, "memory_bytes"), b, sizeof(b)),
		cli_human_bytes(num(r, "memory_available_bytes"), c, sizeof(c)));
	if (json_object_get_boolean(member(r, "degraded")))
		fprintf(out, "DEGRADED:     a BPF collector could not load; see 'collectors'\n");
	fprintf(out, "load:         %s  (VM on-CPU time over the %lld CPUs)\n",
		cli_human_percent(num(r, "load_ratio"), b, sizeof(b)), (long long)cpus);
	fprintf(out, "host cpu:     %s busy  (/proc/stat)\n",
		cli_human_percent(num(r, "cpu_busy_ratio"), b, sizeof(b)));
	fprintf(out, "vms:          %lld, %lld vCPUs, %s\n", (long long)inum(r, "vms"),
		(long long)inum(r, "vm_vcpus"),
		cli_human_bytes(num(r, "vm_memory_bytes"), b, sizeof(b)));
	fprintf(out, "vm cpu:       %s on CPU, %s waiting  (%% of one CPU)\n",
		cli_human_percent(cpu_ratio(r, "vm_cpu_ns_per_s"), b, sizeof(b)),
		cli_human_percent(cpu_ratio(r, "vm_wait_ns_per_s"), c, sizeof(c)));
	fprintf(out, "vm network:   rx %s, tx %s\n",
		cli_human_rate(num(r, "vm_rx_bytes_per_s"), b, sizeof(b)),
		cli_human_rate(num(r, "vm_tx_bytes_per_s"), c, sizeof(c)));
	fprintf(out, "collectors:   cpu %s, net %s, kvm %s%s\n", str(src, "cpu", a, sizeof(a)),
		str(src, "net", b, sizeof(b)), str(src, "kvm", c, sizeof(c)),
		strcmp(c, "off") && member(src, "kvm_active") &&
		!json_object_get_boolean(member(src, "kvm_active")) ?
		" (inactive: no KVM exit seen, guests not under KVM)" : "");
	for (int i = 0; i < 3; i++) {
		static const char *const keys[] = { "cpu_note", "net_note", "kvm_note" };
		static const char *const what[] = { "cpu", "net", "kvm" };

		str(src, keys[i], note, sizeof(note));
		if (note[0] && strcmp(note, "-"))
			fprintf(out, "              %s: %s\n", what[i], note);
	}
	fprintf(out, "collection:   every %lld ms, %lld samples kept; CPU per tick %s last, "
		"%s average, %s max (%lld ticks)\n", (long long)inum(r, "tick_ms"),
		(long long)inum(r, "ring_samples"), cli_human_ns(num(col, "last_ns"), a, sizeof(a)),
		cli_human_ns(num(col, "avg_ns"), b, sizeof(b)),
		cli_human_ns(num(col, "max_ns"), c, sizeof(c)), (long long)inum(col, "ticks"));
	fprintf(out, "libvirt:      %s (%s", str(lv, "uri", a, sizeof(a)),
		json_object_get_boolean(member(lv, "connected")) ? "connected" : "NOT connected");
	if (inum(lv, "reconnects"))
		fprintf(out, ", %lld reconnects", (long long)inum(lv, "reconnects"));
	fprintf(out, ")\n");
}

/* ---- top ---------------------------------------------------------------- */

static const char *const sort_names[] = { "cpu", "wait", "net" };

int cli_top_sort_parse(const char *s)
{
	/* the names share no prefix: the first match is the only one */
	for (int i = 0; s && *s && i < (int)ARRAY_SIZE(sort_names); i++)
		if (is_prefix(s, sort_names[i]))
			return i;
	return -1;
}

const char *cli_top_sort_name(enum cli_top_sort s)
{
	return (unsigned int)s < ARRAY_SIZE(sort_names) ? sort_names[s] : "?";
}

static double sort_key(struct json_object *vm, enum cli_top_sort sort)
{
	switch (sort) {
	case CLI_TOP_SORT_WAIT:
		return num(vm, "wait_ns_per_s");
	case CLI_TOP_SORT_NET:
		return num(vm, "rx_bytes_per_s") + num(vm, "tx_bytes_per_s");
	default:
		return num(vm, "cpu_ns_per_s");
	}
}

static enum cli_top_sort sort_by;

static int cmp_vm(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	double kx = sort_key(x, sort_by), ky = sort_key(y, sort_by);
	const char *nx = json_object_get_string(member(x, "name"));
	const char *ny = json_object_get_string(member(y, "name"));

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return strcmp(nx ? nx : "", ny ? ny : "");
}

void cli_top_frame(FILE *out, struct json_object *host, struct json_object *vms,
		   enum cli_top_sort sort, int max_rows, bool ansi)
{
	size_t n = vms ? json_object_array_length(vms) : 0;
	char a[NAME_BYTES], b[CLI_HUMAN_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES];
	char m[CLI_HUMAN_BYTES];
	struct json_object **v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t nc = name_col(vms);

	if (ansi)
		fputs("\033[H\033[2J", out);	/* home, clear */
	fprintf(out, "tide top - %s: %lld CPUs, load %s, host CPU %s, %s of %s memory free, "
		"%zu VMs%s\n", str(host, "hostname", a, sizeof(a)), (long long)inum(host, "cpus"),
		cli_human_percent(num(host, "load_ratio"), b, sizeof(b)),
		cli_human_percent(num(host, "cpu_busy_ratio"), c, sizeof(c)),
		cli_human_bytes(num(host, "memory_available_bytes"), d, sizeof(d)),
		cli_human_bytes(num(host, "memory_bytes"), m, sizeof(m)), n,
		json_object_get_boolean(member(host, "degraded")) ? "  DEGRADED" : "");
	fprintf(out, "sorted by %s (c: cpu, w: wait, n: net, q: quit)\n", cli_top_sort_name(sort));
	if (ansi)
		fputs("\033[7m", out);	/* reverse video */
	put_col(out, "NAME", nc, nc + 2);
	fprintf(out, "%-11s %5s %7s %7s %11s %11s %9s %9s", "STATE", "VCPUS", "CPU", "WAIT", "RX",
		"TX", "RX PK/S", "TX PK/S");
	if (ansi)
		fputs("\033[0m", out);
	fputc('\n', out);
	if (n && !v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_object_array_get_idx(vms, i);
	sort_by = sort;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_vm);
	for (size_t i = 0; i < n && (max_rows <= 0 || (int)i < max_rows); i++) {
		char state[64], e[CLI_HUMAN_BYTES], f[CLI_HUMAN_BYTES], g[CLI_HUMAN_BYTES];

		put_col(out, str(v[i], "name", a, sizeof(a)), nc, nc + 2);
		fprintf(out, "%-11s %5lld %7s %7s %11s %11s %9s %9s\n",
			str(v[i], "state", state, sizeof(state)), (long long)inum(v[i], "vcpus"),
			cli_human_percent(cpu_ratio(v[i], "cpu_ns_per_s"), b, sizeof(b)),
			cli_human_percent(cpu_ratio(v[i], "wait_ns_per_s"), c, sizeof(c)),
			cli_human_rate(num(v[i], "rx_bytes_per_s"), d, sizeof(d)),
			cli_human_rate(num(v[i], "tx_bytes_per_s"), e, sizeof(e)),
			cli_human_count(num(v[i], "rx_packets_per_s"), f, sizeof(f)),
			cli_human_count(num(v[i], "tx_packets_per_s"), g, sizeof(g)));
	}
	free(v);
}
