// SPDX-License-Identifier: GPL-2.0
/*
 * collectbench: what one collection of N VMs costs tided, at a scale the
 * machine cannot boot real guests at.  N fakevms processes (vCPU threads
 * named "CPU n/KVM") with one veth each (made by the calling script, named
 * PREFIX%03d, in the current network namespace) are tracked by the real
 * collect module with the real BPF collectors, then collect_tick() runs at
 * HZ for SECONDS.
 *
 *   collectbench FAKEVMS_BIN N VCPUS HZ SECONDS TAP_PREFIX
 * prints key=value lines: vms, threads, taps, cpu_mode, net_mode, ticks,
 * avg_tick_cpu_ns, max_tick_cpu_ns, process_cpu_ns, wall_ns,
 * core_pct (process CPU over wall time: the share of one core),
 * bpf_progs, bpf_run_ns (kernel time of the BPF programs the collectors
 * loaded, over the same interval, from BPF stats enabled for the run:
 * they run on every context switch and packet of the host, in whatever
 * thread that is) and core_pct_all (process CPU plus that, over wall).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpfstats.h"
#include "collect.h"
#include "conf.h"
#include "log.h"
#include "sources.h"
#include "store.h"
#include "util.h"

#define MAX_LINE 4096

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long parse_arg(const char *s, const char *what, long min, long max)
{
	long v;

	if (util_parse_long(s, min, max, &v)) {
		fprintf(stderr, "collectbench: %s must be an integer in [%ld, %ld], got '%s'\n",
			what, min, max, s);
		exit(2);
	}
	return v;
}

/* "pid tid tid ..." -> a vm_desc named sim-NNN with tap PREFIXNNN */
static int desc_from_line(char *line, long i, long vcpus, const char *prefix, struct vm_desc *d,
			  struct vm_thread *th, struct vm_tap *tap)
{
	char *tok, *save = NULL;
	static char names[4096][24];
	long n = 0;

	tok = strtok_r(line, " \n", &save);
	if (!tok)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->pid = (pid_t)strtol(tok, NULL, 10);
	while ((tok = strtok_r(NULL, " \n", &save)) && n < vcpus) {
		th[n].tid = (pid_t)strtol(tok, NULL, 10);
		th[n].vcpu = (uint32_t)n;
		n++;
	}
	if (n != vcpus)
		return -EINVAL;
	snprintf(names[i], sizeof(names[i]), "sim-%03d", (int)i);
	snprintf(d->uuid, sizeof(d->uuid), "00000000-0000-4000-8000-%012d", (int)i);
	d->name = names[i];
	d->memory_bytes = d->current_memory_bytes = 128ull << 20;
	d->vcpus = d->vcpus_max = (uint32_t)vcpus;
	d->threads = th;
	d->n_threads = (uint32_t)vcpus;
	if (strlen(prefix) > 8)
		return -ENAMETOOLONG;
	snprintf(tap->ifname, sizeof(tap->ifname), "%.8s%03d", prefix, (int)(i % 1000));
	d->taps = tap;
	d->n_taps = 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sources_opts so = { .kvm_stats = true };
	/* set below: the KVM map is sized for max_vms */
	const struct sources *src;
	struct collect_opts co = { 0 };
	struct tide_conf *defaults;
	struct store_self self;
	struct vm_thread th[64];
	struct vm_tap tap;
	struct vm_desc d;
	char line[MAX_LINE], cmd[1024];
	long n, vcpus, hz, seconds, ticks = 0, added = 0;
	uint64_t cpu0, wall0, next, period_ns;
	static struct bpfstats_ids ids0;
	uint64_t bpf_ns0, bpf_ns;
	int stats_fd, nprogs = 0;
	FILE *fv;
	int err = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: collectbench FAKEVMS_BIN N VCPUS HZ SECONDS TAP_PREFIX\n");
		return 2;
	}
	n = parse_arg(argv[2], "N", 1, 4000);
	vcpus = parse_arg(argv[3], "VCPUS", 1, 64);
	hz = parse_arg(argv[4], "HZ", 1, 1000);
	seconds = parse_arg(argv[5], "SECONDS", 1, 3600);
	log_init("collectbench", LOG_TO_STDERR, LOG_LEVEL_WARNING);
	so.max_vms = (uint32_t)n;

	/* kernel time of the programs loaded here: stats on until we exit */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "collectbench: cannot enable BPF stats: %s\n", strerror(-stats_fd));
	bpfstats_ids(&ids0);
	if (conf_defaults(&defaults))
		goto out;
	co.ring_samples = defaults->ring_samples;
	conf_free(defaults);
	if (sources_open(&so))
		goto out;
	src = sources_get();
	co.readers = sources_readers();
	co.max_vms = (uint32_t)n + 1;
	if (collect_init(&co)) {
		fprintf(stderr, "collectbench: collect_init failed\n");
		goto close_src;
	}
	/* 100 Hz wakeups: the fake vCPUs switch like lightly loaded ones */
	snprintf(cmd, sizeof(cmd), "exec '%s' %ld %ld 100", argv[1], n, vcpus);
	fv = popen(cmd, "r");
	if (!fv) {
		perror("collectbench: fakevms");
		goto fini;
	}
	while (fgets(line, sizeof(line), fv)) {
		uint32_t slot;

		if (!strcmp(line, "ready\n"))
			break;
		if (desc_from_line(line, added, vcpus, argv[6], &d, th, &tap) ||
		    collect_vm_add(&d, &slot)) {
			fprintf(stderr, "collectbench: cannot track simulated VM %ld: '%s'\n",
				added, line);
			goto stop_fv;
		}
		added++;
	}
	if (added != n) {
		fprintf(stderr, "collectbench: fakevms started %ld of %ld VMs\n", added, n);
		goto stop_fv;
	}
	collect_tick(); /* baselines */
	sleep(1);
	period_ns = 1000000000ull / (uint64_t)hz;
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	wall0 = next = clock_ns(CLOCK_MONOTONIC);
	store_self(&self);
	bpf_ns0 = bpfstats_new_run_ns(&ids0, NULL);
	uint64_t self_ticks0 = self.ticks, self_total0 = self.total_ns;
	while (clock_ns(CLOCK_MONOTONIC) - wall0 < (uint64_t)seconds * 1000000000ull) {
		struct timespec ts;

		collect_tick();
		ticks++;
		next += period_ns;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	uint64_t cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	uint64_t wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;

	bpf_ns = bpfstats_new_run_ns(&ids0, &nprogs) - bpf_ns0;

	store_self(&self);
	printf("vms=%u\nthreads=%ld\ntaps=%ld\ncpu_mode=%s\nnet_mode=%s\nticks=%ld\n"
	       "avg_tick_cpu_ns=%" PRIu64 "\nmax_tick_cpu_ns=%" PRIu64 "\n"
	       "process_cpu_ns=%" PRIu64 "\nwall_ns=%" PRIu64 "\ncore_pct=%.3f\n",
	       store_vm_count(), n * vcpus, n, src->cpu_mode, src->net_mode, ticks,
	       (self.total_ns - self_total0) / (self.ticks - self_ticks0 ?: 1), self.max_ns, cpu_ns,
	       wall_ns, 100.0 * (double)cpu_ns / (double)wall_ns);
	printf("bpf_progs=%d\nbpf_run_ns=%" PRIu64 "\ncore_pct_all=%.3f\n", stats_fd < 0 ? 0 : nprogs,
	       bpf_ns, 100.0 * (double)(cpu_ns + bpf_ns) / (double)wall_ns);
	err = 0;
stop_fv:
	/* fakevms ends its VMs on SIGTERM; pclose waits for it */
	snprintf(cmd, sizeof(cmd), "pkill -TERM -P %d -x fakevms 2>/dev/null", getpid());
	if (system(cmd) < 0)
		err = 1;
	pclose(fv);
fini:
	collect_fini();
close_src:
	sources_close();
out:
	if (stats_fd >= 0)
		close(stats_fd);
	log_fini();
	return err;
}
