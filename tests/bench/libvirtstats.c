// SPDX-License-Identifier: GPL-2.0
/*
 * libvirtstats: what one virConnectGetAllDomainStats() call costs, the call
 * the libvirt Prometheus exporters make at every scrape.  The caller's CPU
 * and libvirtd's CPU are both counted (the work is mostly libvirtd's, and
 * its queries to each QEMU monitor); QEMU's own share is not.
 *
 *   libvirtstats URI LIBVIRTD_PID CALLS INTERVAL_MS
 * prints key=value lines: calls, domains, wall_ns_per_call,
 * client_cpu_ns_per_call, libvirtd_cpu_ns_per_call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* utime + stime of a process, in ns */
static int proc_cpu_ns(long pid, uint64_t *ns)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*ns = (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	return 0;
}

static long parse_arg(const char *s, const char *what, long min, long max)
{
	long v;

	if (util_parse_long(s, min, max, &v)) {
		fprintf(stderr, "libvirtstats: %s must be an integer in [%ld, %ld], got '%s'\n",
			what, min, max, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t wall0, cpu0, d0, d1, wall_ns = 0;
	virDomainStatsRecordPtr *recs = NULL;
	virConnectPtr conn;
	long pid, calls, interval_ms;
	int n = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: libvirtstats URI LIBVIRTD_PID CALLS INTERVAL_MS\n");
		return 2;
	}
	pid = parse_arg(argv[2], "LIBVIRTD_PID", 1, 1 << 22);
	calls = parse_arg(argv[3], "CALLS", 1, 100000);
	interval_ms = parse_arg(argv[4], "INTERVAL_MS", 0, 60000);
	conn = virConnectOpen(argv[1]);
	if (!conn) {
		fprintf(stderr, "libvirtstats: cannot connect to '%s': %s\n", argv[1],
			virGetLastErrorMessage());
		return 1;
	}
	if (proc_cpu_ns(pid, &d0)) {
		fprintf(stderr, "libvirtstats: cannot read the CPU time of libvirtd pid %ld\n", pid);
		return 1;
	}
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < calls; i++) {
		wall0 = clock_ns(CLOCK_MONOTONIC);
		/* stats = 0: every group, as the exporters ask */
		n = virConnectGetAllDomainStats(conn, 0, &recs,
						VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
		wall_ns += clock_ns(CLOCK_MONOTONIC) - wall0;
		if (n < 0) {
			fprintf(stderr, "libvirtstats: virConnectGetAllDomainStats: %s\n",
				virGetLastErrorMessage());
			virConnectClose(conn);
			return 1;
		}
		virDomainStatsRecordListFree(recs);
		if (interval_ms)
			usleep((useconds_t)interval_ms * 1000);
	}
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	proc_cpu_ns(pid, &d1);
	virConnectClose(conn);
	printf("calls=%ld\ndomains=%d\nwall_ns_per_call=%" PRIu64 "\n"
	       "client_cpu_ns_per_call=%" PRIu64 "\nlibvirtd_cpu_ns_per_call=%" PRIu64 "\n",
	       calls, n, wall_ns / (uint64_t)calls, cpu0 / (uint64_t)calls,
	       (d1 - d0) / (uint64_t)calls);
	return 0;
}
