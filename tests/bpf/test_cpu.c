// SPDX-License-Identifier: GPL-2.0
/*
 * test_cpu: validate bpf/cpu.bpf.c + daemon/cpu.c against the kernel's
 * own accounting (/proc/PID/task/TID/schedstat: field 1 on-CPU ns,
 * field 2 run-queue wait ns; status: [non]voluntary_ctxt_switches).
 *
 *   test_cpu [--raw-tp] [--tid-hash] [--timestamps] [--tag-iter] [--seconds S]
 *	self test: burner threads (more than CPUs, so they wait), a thread
 *	that sleeps and spins by turns, and an untracked burner.  Deltas
 *	over the same interval must agree within --tolerance (2 %); the
 *	untracked thread must leave no trace in the BPF slots.
 *   test_cpu --pid PID [--comm PREFIX] [--seconds S] [--raw-tp] ...
 *	track the threads of PID whose comm starts with PREFIX ("CPU ",
 *	QEMU vCPU threads) and compare them the same way.
 *
 * Exit 0 pass, 1 fail, 77 skip (reason on stderr).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* white box: the module itself, to inspect its slots */
#include "../../daemon/cpu.c"

#define MAX_TRACKED 256

static struct env {
	bool raw_tp;
	bool tid_hash;
	bool timestamps;
	bool tag_iter;
	bool verbose;
	double seconds;
	double tolerance_pct;
	double floor_ms;	/* differences below this always pass */
	pid_t pid;
	const char *comm_prefix;
	int burners;
} env = {
	.seconds = 3.0,
	.tolerance_pct = 2.0,
	.floor_ms = 1.0,
	.comm_prefix = "CPU ",
};

struct kstat {
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t vol;
	uint64_t invol;
};

struct subject {
	pid_t tid;
	char role[24];
	bool tracked;
	struct kstat k0, k1;		/* kernel figures at start and end */
	struct cpu_thread_stats b0, b1;	/* BPF counters at start and end */
	struct cpu_thread_stats l0, l1;	/* the same with the slice in progress */
	double t0_s, t1_s;		/* when l0, l1 were read */
};

static atomic_bool stop;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static double now_s(void)
{
	return (double)util_monotonic_ns() / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int read_kstat(pid_t pid, pid_t tid, struct kstat *k)
{
	char path[96], line[256];
	unsigned long long a, b;
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%llu %llu", &a, &b) != 2) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	k->on_cpu_ns = a;
	k->wait_ns = b;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &a) == 1) {
			k->vol = a;
			ok |= 1;
		} else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &a) == 1) {
			k->invol = a;
			ok |= 2;
		}
	}
	fclose(f);
	return ok == 3 ? 0 : -EINVAL;
}

/* ---- workload threads ---------------------------------------------------- */

struct worker {
	pthread_t thread;
	pid_t tid;
	int kind;		/* 0 burner, 1 sleeper */
	atomic_bool ready;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t x = 0;

	w->tid = gettid();
	atomic_store(&w->ready, true);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (w->kind == 0) {
			for (int i = 0; i < 100000; i++)
				x++;
		} else {
			double t = now_s();

			while (now_s() - t < 0.001)
				x++;
			sleep_s(0.001);
		}
	}
	return NULL;
}

static int start_worker(struct worker *w, int kind)
{
	int err;

	w->kind = kind;
	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err)
		return -err;
	while (!atomic_load(&w->ready))
		sleep_s(0.001);
	return 0;
}

/* ---- comparison ---------------------------------------------------------- */

static bool close_enough(double bpf_ms, double k_ms, double *pct)
{
	double diff = fabs(bpf_ms - k_ms);

	*pct = k_ms > 0 ? 100.0 * (bpf_ms - k_ms) / k_ms : (bpf_ms > 0 ? 100.0 : 0.0);
	return diff <= env.floor_ms || fabs(*pct) <= env.tolerance_pct;
}

static void snapshot(struct cpu_ctx *ctx, pid_t pid, struct subject *s, int n, bool end)
{
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	int policy;

	/*
	 * Read both sides of a thread back to back; as a real-time thread so
	 * that the busy threads cannot preempt us between the two reads.
	 */
	policy = pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) ? -1 : SCHED_FIFO;
	for (int i = 0; i < n; i++) {
		struct cpu_thread_stats *b = end ? &s[i].b1 : &s[i].b0;
		struct cpu_thread_stats *l = end ? &s[i].l1 : &s[i].l0;
		struct kstat *k = end ? &s[i].k1 : &s[i].k0;
		int idx = slot_of_tid(ctx, s[i].tid);

		/*
		 * BPF and kernel read back to back, per thread.  The kernel's
		 * figures stop at the last switch (run_delay) or tick
		 * (sum_exec_runtime), so they are compared with the BPF
		 * counters without the slice in progress; what cpu_read()
		 * returns (with it) is checked against the clock.
		 */
		if (s[i].tracked && idx >= 0) {
			*(end ? &s[i].t1_s : &s[i].t0_s) = now_s();
			cpu_read(ctx, s[i].tid, l);
			read_slot(ctx, idx, false, b);
		}
		if (read_kstat(pid, s[i].tid, k))
			memset(k, 0, sizeof(*k));
	}
	if (policy == SCHED_FIFO)
		pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
}

/* prints the table; returns the number of disagreements */
static int compare(struct subject *s, int n, double elapsed_s)
{
	int bad = 0;

	printf("\n  interval %.3f s, tolerance %.1f %% (or %.1f ms)\n", elapsed_s,
	       env.tolerance_pct, env.floor_ms);
	printf("  %-7s %-12s %11s %11s %7s %11s %11s %7s %13s %13s %8s\n", "tid", "role",
	       "oncpu_ms", "sched_ms", "diff%", "wait_ms", "sched_ms", "diff%",
	       "vol bpf/k", "invol bpf/k", "live%");
	for (int i = 0; i < n; i++) {
		struct subject *t = &s[i];
		double on_b = (double)(t->b1.on_cpu_ns - t->b0.on_cpu_ns) / 1e6;
		double on_k = (double)(t->k1.on_cpu_ns - t->k0.on_cpu_ns) / 1e6;
		double w_b = (double)(t->b1.wait_ns - t->b0.wait_ns) / 1e6;
		double w_k = (double)(t->k1.wait_ns - t->k0.wait_ns) / 1e6;
		uint64_t v_b = t->b1.voluntary_switches - t->b0.voluntary_switches;
		uint64_t v_k = t->k1.vol - t->k0.vol;
		uint64_t i_b = t->b1.involuntary_switches - t->b0.involuntary_switches;
		uint64_t i_k = t->k1.invol - t->k0.invol;
		double p_on, p_w;
		bool ok_on, ok_w;
		char vol[32], invol[32];

		/* live on-CPU + wait over the time between the two reads */
		double live = 100.0 * (double)(t->l1.on_cpu_ns + t->l1.wait_ns - t->l0.on_cpu_ns -
					       t->l0.wait_ns) / 1e9 / (t->t1_s - t->t0_s);
		bool ok_live = true;
		char live_txt[16] = "-";

		if (!t->tracked) {
			printf("  %-7d %-12s %11s %11.1f %7s %11s %11.1f %7s %13s %13s %8s\n",
			       t->tid, t->role, "-", on_k, "", "-", w_k, "", "-", "-", "-");
			continue;
		}
		/* a thread that never sleeps is always running or waiting */
		if (!strcmp(t->role, "burner")) {
			ok_live = fabs(live - 100.0) <= env.tolerance_pct;
			snprintf(live_txt, sizeof(live_txt), "%.2f%s", live, ok_live ? " " : "!");
		}
		ok_on = close_enough(on_b, on_k, &p_on);
		ok_w = close_enough(w_b, w_k, &p_w);
		snprintf(vol, sizeof(vol), "%llu/%llu", (unsigned long long)v_b,
			 (unsigned long long)v_k);
		snprintf(invol, sizeof(invol), "%llu/%llu", (unsigned long long)i_b,
			 (unsigned long long)i_k);
		printf("  %-7d %-12s %11.1f %11.1f %+6.2f%s %11.1f %11.1f %+6.2f%s %13s %13s %8s\n",
		       t->tid, t->role, on_b, on_k, p_on, ok_on ? " " : "!", w_b, w_k, p_w,
		       ok_w ? " " : "!", vol, invol, live_txt);
		bad += !ok_on + !ok_w + !ok_live;
	}
	return bad;
}

/* every slot BPF has written must belong to a thread we tracked */
static int check_slots(struct cpu_ctx *ctx, const uint32_t *gens, int ngens)
{
	int stray = 0;

	for (int idx = 0; idx < CPU_MAX_THREADS; idx++) {
		const volatile struct cpu_thread *th = &ctx->skel->bss->threads[idx];
		bool known = false;

		if (!th->gen && !th->on_cpu_ns && !th->wait_ns && !th->voluntary_switches &&
		    !th->involuntary_switches)
			continue;
		for (int i = 0; i < ngens; i++)
			known |= th->gen == gens[i] && ctx->slots[idx].gen == gens[i];
		if (!known) {
			fprintf(stderr, "slot %d written by BPF (gen %u) but not tracked\n", idx,
				th->gen);
			stray++;
		}
	}
	return stray;
}

static int init(struct cpu_ctx **ctx)
{
	struct cpu_opts opts = {
		.force_raw_tp = env.raw_tp,
		.force_tid_hash = env.tid_hash,
		.force_timestamps = env.timestamps,
		.force_tag_iter = env.tag_iter,
	};
	int err = cpu_init(ctx, &opts);

	if (err) {
		fprintf(stderr, "cpu_init: %s\n", strerror(-err));
		return err;
	}
	printf("  mode: %s + %s + %s%s%s%s\n", cpu_attach_mode(*ctx), cpu_tag_mode(*ctx),
	       cpu_source_mode(*ctx),
	       *cpu_mode_note(*ctx) ? " (" : "", cpu_mode_note(*ctx),
	       *cpu_mode_note(*ctx) ? ")" : "");
	return 0;
}

static int self_test(void)
{
	int nburn = env.burners ? env.burners : (int)sysconf(_SC_NPROCESSORS_ONLN) + 1;
	int n = nburn + 2, bad = 0, err;
	struct worker *w = calloc((size_t)n, sizeof(*w));
	struct subject *s = calloc((size_t)n, sizeof(*s));
	uint32_t gens[MAX_TRACKED];
	struct cpu_thread_stats vm, one;
	struct cpu_ctx *ctx = NULL;
	double t0, t1;
	uint64_t sum_on = 0;

	if (!w || !s)
		return 1;
	if (init(&ctx))
		return 1;

	/* burners 0..nburn-1, one sleeper, one untracked burner */
	for (int i = 0; i < n; i++) {
		err = start_worker(&w[i], i == nburn ? 1 : 0);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(-err));
			bad++;
			goto out;
		}
		s[i].tid = w[i].tid;
		s[i].tracked = i < n - 1;
		snprintf(s[i].role, sizeof(s[i].role), "%s", i < nburn ? "burner" :
			 i == nburn ? "sleeper" : "untracked");
		if (!s[i].tracked)
			continue;
		err = cpu_track(ctx, s[i].tid, 7, (uint32_t)i);
		if (err) {
			fprintf(stderr, "cpu_track %d: %s\n", s[i].tid, strerror(-err));
			bad++;
			goto out;
		}
		gens[i] = ctx->slots[slot_of_tid(ctx, s[i].tid)].gen;
	}
	if (cpu_track(ctx, s[0].tid, 7, 0) != -EEXIST) {
		fprintf(stderr, "tracking a thread twice did not fail with EEXIST\n");
		bad++;
	}
	if (cpu_read(ctx, s[n - 1].tid, &one) != -ENOENT) {
		fprintf(stderr, "cpu_read of an untracked thread did not fail with ENOENT\n");
		bad++;
	}

	sleep_s(0.3);		/* every thread switched at least once */
	printf("  %d burners + 1 sleeper tracked, 1 burner untracked, %ld CPUs, %.1f s\n",
	       nburn, sysconf(_SC_NPROCESSORS_ONLN), env.seconds);
	t0 = now_s();
	snapshot(ctx, getpid(), s, n, false);
	for (double t = 0; t < env.seconds; t += 1.0) {
		fprintf(stderr, "  ... %.0f/%.0f s\n", t, env.seconds);
		sleep_s(env.seconds - t < 1.0 ? env.seconds - t : 1.0);
	}
	snapshot(ctx, getpid(), s, n, true);
	t1 = now_s();
	bad += compare(s, n, t1 - t0);
	printf("  switches the tracepoint did not report (repaired): %llu\n",
	       (unsigned long long)cpu_missed_switches(ctx));

	/* per-VM sum = sum of its threads */
	cpu_read_vm(ctx, 7, &vm);
	for (int i = 0; i < n - 1; i++) {
		cpu_read(ctx, s[i].tid, &one);
		sum_on += one.on_cpu_ns;
	}
	printf("  vm 7: %u threads, on-CPU %.1f ms (sum of threads %.1f ms)\n", vm.threads,
	       (double)vm.on_cpu_ns / 1e6, (double)sum_on / 1e6);
	if (vm.threads != (uint32_t)(n - 1) ||
	    fabs((double)vm.on_cpu_ns - (double)sum_on) > 0.01 * (double)sum_on + 2e6) {
		fprintf(stderr, "cpu_read_vm disagrees with its threads\n");
		bad++;
	}
	if (s[nburn].b1.voluntary_switches == s[nburn].b0.voluntary_switches) {
		fprintf(stderr, "the sleeper shows no voluntary switch\n");
		bad++;
	}

	/* the untracked burner ran all along: no slot but ours may be written */
	err = check_slots(ctx, gens, n - 1);
	printf("  untracked thread %d: %s\n", s[n - 1].tid,
	       err ? "ACCOUNTED (stray BPF slots)" : "not accounted (no stray slot)");
	bad += err;

	/* untrack: the slot is released and the thread is no longer read */
	if (cpu_untrack(ctx, s[nburn].tid) || cpu_read(ctx, s[nburn].tid, &one) != -ENOENT ||
	    cpu_untrack(ctx, s[nburn].tid) != -ENOENT || cpu_tracked(ctx) != n - 2) {
		fprintf(stderr, "untrack did not release the thread\n");
		bad++;
	}

	/*
	 * Track it again (its home slot, if it had one: see CPU_HOME_SLOT):
	 * its figures start over from the new tag, never from what BPF
	 * confirmed under the old one.
	 */
	err = cpu_track(ctx, s[nburn].tid, 7, 9);
	if (!err) {
		int idx = slot_of_tid(ctx, s[nburn].tid);
		struct kstat k0 = { 0 }, k1 = { 0 };
		uint64_t on0, on1;

		read_kstat(getpid(), s[nburn].tid, &k0);
		sleep_s(0.5);
		err = cpu_read(ctx, s[nburn].tid, &one);
		read_kstat(getpid(), s[nburn].tid, &k1);
		on0 = k0.on_cpu_ns;
		on1 = k1.on_cpu_ns;
		printf("  tracked again: slot %d (home %u), gen %u/%u, on-CPU %.1f ms (schedstat %.1f ms)\n",
		       idx, CPU_HOME_SLOT(s[nburn].tid), ctx->skel->bss->threads[idx].gen,
		       ctx->slots[idx].gen, (double)one.on_cpu_ns / 1e6, (double)(on1 - on0) / 1e6);
		if (err || ctx->skel->bss->threads[idx].gen != ctx->slots[idx].gen || !one.on_cpu_ns ||
		    (double)one.on_cpu_ns > (double)(on1 - on0) * 1.02 + 1e6) {
			fprintf(stderr, "a thread tracked again is not counted from its new tag\n");
			bad++;
		}
	} else {
		fprintf(stderr, "cpu_track again %d: %s\n", s[nburn].tid, strerror(-err));
		bad++;
	}
out:
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		if (w[i].tid)
			pthread_join(w[i].thread, NULL);
	cpu_fini(ctx);
	free(w);
	free(s);
	return bad ? 1 : 0;
}

/* threads of pid whose comm starts with the prefix; vCPU index from "CPU n/" */
static int pid_test(void)
{
	struct subject *s = calloc(MAX_TRACKED, sizeof(*s));
	struct cpu_ctx *ctx = NULL;
	struct dirent *de;
	char path[64];
	int n = 0, bad = 0;
	double t0, t1;
	DIR *d;

	if (!s)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)env.pid);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	if (init(&ctx)) {
		closedir(d);
		return 1;
	}
	while ((de = readdir(d)) && n < MAX_TRACKED) {
		char comm[64] = "", cpath[96];
		unsigned int vcpu = 0;
		char *end;
		long tid;
		FILE *f;
		int err;

		errno = 0;
		tid = strtol(de->d_name, &end, 10);
		if (errno || *end || end == de->d_name || tid <= 0 || tid > INT_MAX)
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%ld/comm", (int)env.pid, tid);
		f = fopen(cpath, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strncmp(comm, env.comm_prefix, strlen(env.comm_prefix)))
			continue;
		sscanf(comm + strlen(env.comm_prefix), "%u", &vcpu);
		err = cpu_track(ctx, (pid_t)tid, 0, vcpu);
		if (err) {
			fprintf(stderr, "cpu_track %ld: %s\n", tid, strerror(-err));
			bad++;
			continue;
		}
		s[n].tid = (pid_t)tid;
		s[n].tracked = true;
		snprintf(s[n].role, sizeof(s[n].role), "%.12s", comm);
		n++;
	}
	closedir(d);
	if (!n) {
		fprintf(stderr, "no thread of %d has a comm starting with '%s'\n", (int)env.pid,
			env.comm_prefix);
		cpu_fini(ctx);
		free(s);
		return 1;
	}
	printf("  pid %d: %d threads tracked, %.1f s\n", (int)env.pid, n, env.seconds);
	sleep_s(0.3);
	t0 = now_s();
	snapshot(ctx, env.pid, s, n, false);
	for (double t = 0; t < env.seconds; t += 1.0) {
		fprintf(stderr, "  ... %.0f/%.0f s\n", t, env.seconds);
		sleep_s(env.seconds - t < 1.0 ? env.seconds - t : 1.0);
	}
	snapshot(ctx, env.pid, s, n, true);
	t1 = now_s();
	bad += compare(s, n, t1 - t0);
	printf("  switches the tracepoint did not report (repaired): %llu\n",
	       (unsigned long long)cpu_missed_switches(ctx));
	cpu_fini(ctx);
	free(s);
	return bad ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: test_cpu [--raw-tp] [--tid-hash] [--timestamps] [--tag-iter] [--seconds S] [--burners N]\n"
		"                [--tolerance PCT] [--floor MS] [-v]\n"
		"       test_cpu --pid PID [--comm PREFIX] [--seconds S] [...]\n");
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) || *out < 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "raw-tp", no_argument, NULL, 'r' },
		{ "tid-hash", no_argument, NULL, 'H' },
		{ "timestamps", no_argument, NULL, 'T' },
		{ "tag-iter", no_argument, NULL, 'I' },
		{ "seconds", required_argument, NULL, 's' },
		{ "burners", required_argument, NULL, 'b' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "floor", required_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double val;
	int c;

	while ((c = getopt_long(argc, argv, "rHTIs:b:t:f:p:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': env.raw_tp = true; break;
		case 'H': env.tid_hash = true; break;
		case 'T': env.timestamps = true; break;
		case 'I': env.tag_iter = true; break;
		case 'v': env.verbose = true; break;
		case 'c': env.comm_prefix = optarg; break;
		case 's':
		case 'b':
		case 't':
		case 'f':
		case 'p':
			if (parse_double(optarg, &val) ||
			    ((c == 'b' || c == 'p') && (val != (int)val || val < 1 || val > INT_MAX)) ||
			    (c == 's' && val <= 0)) {
				fprintf(stderr, "what is '%s'?\n", optarg);
				return 2;
			}
			if (c == 's') env.seconds = val;
			if (c == 'b') env.burners = (int)val;
			if (c == 't') env.tolerance_pct = val;
			if (c == 'f') env.floor_ms = val;
			if (c == 'p') env.pid = (pid_t)val;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (env.burners > MAX_TRACKED - 2) {
		fprintf(stderr, "at most %d burners\n", MAX_TRACKED - 2);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (loads BPF programs)\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	return env.pid ? pid_test() : self_test();
}
