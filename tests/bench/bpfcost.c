// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcost: what tide's sched_switch / sched_wakeup programs cost.
 *
 *   bpfcost cost [--seconds S] [--raw-tp] [--tid-hash] [--timestamps] [--tag-iter] [--cpu C]
 *		 [--empty-last]
 *	Per-event cost from the kernel's BPF stats (run_time_ns / run_cnt,
 *	enabled with BPF_ENABLE_STATS for the run only) of every tide cpu
 *	program and of an empty tp_btf program on sched_switch (baseline),
 *	while a pipe ping-pong between two processes pinned on one CPU
 *	switches: (a) untracked, (b) both ping-pong processes tracked.
 *   bpfcost slowdown [--seconds S] [--rounds N] [--cpu C]
 *	Round trips per second of the ping-pong with nothing attached, with
 *	the empty program, with tide (ping-pong untracked) and with tide
 *	(ping-pong tracked), interleaved N times.
 *
 * Output: CSV lines on stdout (the b-bpf-cost.sh script makes the
 * tables), progress on stderr.  Exit 0, 1 on error, 77 if it cannot run.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cpu.h"
#include "util.h"

#define MAX_ROUNDS 50

static struct env {
	double seconds;
	int rounds;
	int cpu;
	bool raw_tp;
	bool tid_hash;
	bool timestamps;
	bool tag_iter;
	bool empty_last;
	bool verbose;
} env = {
	.seconds = 2.0,
	.rounds = 5,
	.cpu = -1,
};

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

/* ---- empty baseline program -------------------------------------------- */

struct empty_prog {
	int prog_fd;
	int link_fd;
};

static int empty_attach(struct empty_prog *e)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP);

	e->prog_fd = e->link_fd = -1;
	if (id < 0)
		return id;
	opts.attach_btf_id = id;
	e->prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "empty_switch", "GPL", insns, 2, &opts);
	if (e->prog_fd < 0)
		return e->prog_fd;
	e->link_fd = bpf_raw_tracepoint_open(NULL, e->prog_fd);
	if (e->link_fd < 0) {
		int err = e->link_fd;

		close(e->prog_fd);
		e->prog_fd = -1;
		return err;
	}
	return 0;
}

static void empty_detach(struct empty_prog *e)
{
	if (e->link_fd >= 0)
		close(e->link_fd);
	if (e->prog_fd >= 0)
		close(e->prog_fd);
	e->prog_fd = e->link_fd = -1;
}

static int empty_stats(const struct empty_prog *e, struct cpu_prog_stat *st)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	err = bpf_prog_get_info_by_fd(e->prog_fd, &info, &len);
	if (err)
		return err;
	snprintf(st->name, sizeof(st->name), "empty_tp_btf");
	st->run_cnt = info.run_cnt;
	st->run_time_ns = info.run_time_ns;
	st->recursion_misses = info.recursion_misses;
	return 0;
}

/* ---- ping-pong --------------------------------------------------------- */

/*
 * Two processes pinned on one CPU bounce a byte through two pipes: per
 * round trip two wakeups and two switches, nothing else.  The parent
 * learns their pids (to track them), starts them, collects the count.
 */
struct pingpong {
	pid_t pid[2];
	int go_fd;  /* write a byte: start */
	int res_fd; /* read: round trips (uint64_t), elapsed (double) */
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void pp_child(int role, int in_fd, int out_fd, int go_fd, int res_fd, double seconds)
{
	uint64_t rounds = 0;
	char c = 'x';
	double t0, t1;

	pin(env.cpu);
	if (read(go_fd, &c, 1) != 1)
		_exit(1);
	t0 = now_s();
	if (role == 0) {
		for (;;) {
			if (write(out_fd, &c, 1) != 1 || read(in_fd, &c, 1) != 1)
				_exit(1);
			if (!(++rounds & 255) && now_s() - t0 >= seconds)
				break;
		}
		t1 = now_s();
		if (write(res_fd, &rounds, sizeof(rounds)) != sizeof(rounds))
			_exit(1);
		t1 -= t0;
		if (write(res_fd, &t1, sizeof(t1)) != sizeof(t1))
			_exit(1);
		_exit(0); /* closing out_fd ends the other side */
	}
	while (read(in_fd, &c, 1) == 1)
		if (write(out_fd, &c, 1) != 1)
			break;
	_exit(0);
}

static int pp_start(struct pingpong *pp, double seconds)
{
	int ab[2], ba[2], go[2], res[2];

	if (pipe(ab) || pipe(ba) || pipe(go) || pipe(res))
		return -errno;
	for (int role = 0; role < 2; role++) {
		pid_t pid = fork();

		if (pid < 0)
			return -errno;
		if (!pid) {
			close(go[1]);
			close(res[0]);
			if (role == 0) {
				close(ab[0]);
				close(ba[1]);
				pp_child(0, ba[0], ab[1], go[0], res[1], seconds);
			}
			close(ab[1]);
			close(ba[0]);
			pp_child(1, ab[0], ba[1], go[0], res[1], seconds);
		}
		pp->pid[role] = pid;
	}
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);
	close(go[0]);
	close(res[1]);
	pp->go_fd = go[1];
	pp->res_fd = res[0];
	return 0;
}

/* start, wait, reap; round trips per second */
static int pp_run(struct pingpong *pp, double *rt_per_s)
{
	char go[2] = { 'g', 'g' };
	uint64_t rounds = 0;
	double elapsed = 0;
	int err = 0;

	if (write(pp->go_fd, go, 2) != 2)
		err = -errno;
	if (!err && (read(pp->res_fd, &rounds, sizeof(rounds)) != sizeof(rounds) ||
		     read(pp->res_fd, &elapsed, sizeof(elapsed)) != sizeof(elapsed)))
		err = -EIO;
	close(pp->go_fd);
	close(pp->res_fd);
	for (int i = 0; i < 2; i++) {
		if (err)
			kill(pp->pid[i], SIGKILL);
		waitpid(pp->pid[i], NULL, 0);
	}
	*rt_per_s = elapsed > 0 ? (double)rounds / elapsed : 0;
	return err;
}

/* ---- cost --------------------------------------------------------------- */

#define MAX_PROGS 8

struct snap {
	struct cpu_prog_stat st[MAX_PROGS + 1];
	int n;
};

static int take_snap(struct cpu_ctx *ctx, const struct empty_prog *e, struct snap *s)
{
	s->n = cpu_prog_stats(ctx, s->st, MAX_PROGS);
	if (s->n < 0)
		return s->n;
	return empty_stats(e, &s->st[s->n++]);
}

static int cost_phase(struct cpu_ctx *ctx, const struct empty_prog *e, const char *mode)
{
	struct snap a, b;
	struct pingpong pp;
	struct cpu_thread_stats ts[2];
	uint64_t tracked_switches = 0;
	double rt;
	int err;

	err = pp_start(&pp, env.seconds);
	if (err)
		return err;
	if (!strcmp(mode, "tracked")) {
		for (int i = 0; i < 2; i++) {
			err = cpu_track(ctx, pp.pid[i], 1, (uint32_t)i);
			if (err) {
				fprintf(stderr, "cpu_track %d: %s\n", pp.pid[i], strerror(-err));
				return err;
			}
		}
	}
	fprintf(stderr, "  cost: %s + %s + %s, ping-pong %s, %.1f s ...\n", cpu_attach_mode(ctx),
		cpu_tag_mode(ctx), cpu_source_mode(ctx), mode, env.seconds);
	err = take_snap(ctx, e, &a);
	if (!err)
		err = pp_run(&pp, &rt);
	if (!err)
		err = take_snap(ctx, e, &b);
	if (err)
		return err;
	if (!strcmp(mode, "tracked")) {
		for (int i = 0; i < 2; i++) {
			if (!cpu_read(ctx, pp.pid[i], &ts[i]))
				tracked_switches += ts[i].voluntary_switches +
						    ts[i].involuntary_switches;
			cpu_untrack(ctx, pp.pid[i]);
		}
	}
	for (int i = 0; i < b.n; i++) {
		uint64_t cnt = b.st[i].run_cnt - a.st[i].run_cnt;
		uint64_t ns = b.st[i].run_time_ns - a.st[i].run_time_ns;
		uint64_t miss = b.st[i].recursion_misses - a.st[i].recursion_misses;

		/* cost,program,pingpong,attach,tag,source,events,ns_per_event,misses,
		 * rt_per_s,tracked_switches */
		printf("cost,%s,%s,%s,%s,%s,%llu,%.1f,%llu,%.0f,%llu\n", b.st[i].name, mode,
		       cpu_attach_mode(ctx), cpu_tag_mode(ctx), cpu_source_mode(ctx),
		       (unsigned long long)cnt, cnt ? (double)ns / (double)cnt : 0.0,
		       (unsigned long long)miss, rt, (unsigned long long)tracked_switches);
	}
	fflush(stdout);
	return 0;
}

static int cost(void)
{
	struct cpu_opts opts = {
		.force_raw_tp = env.raw_tp,
		.force_tid_hash = env.tid_hash,
		.force_timestamps = env.timestamps,
		.force_tag_iter = env.tag_iter,
	};
	struct empty_prog e = { -1, -1 };
	struct cpu_ctx *ctx = NULL;
	int stats_fd, err;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME); /* off again at close */
	if (stats_fd < 0) {
		fprintf(stderr, "cannot enable BPF stats: %s\n", strerror(-stats_fd));
		return 1;
	}
	/*
	 * Programs on a tracepoint run in the order they were attached, and
	 * the first pays for cache lines and TLB entries that the next finds
	 * warm: --empty-last puts tide first, and the mean of both orders'
	 * differences cancels that share.
	 */
	err = env.empty_last ? 0 : empty_attach(&e);
	if (err) {
		fprintf(stderr, "empty tp_btf program: %s\n", strerror(-err));
		goto out;
	}
	err = cpu_init(&ctx, &opts);
	if (err) {
		fprintf(stderr, "cpu_init: %s\n", strerror(-err));
		goto out;
	}
	err = env.empty_last ? empty_attach(&e) : 0;
	if (err) {
		fprintf(stderr, "empty tp_btf program: %s\n", strerror(-err));
		goto out;
	}
	err = cost_phase(ctx, &e, "untracked");
	if (!err)
		err = cost_phase(ctx, &e, "tracked");
out:
	cpu_fini(ctx);
	empty_detach(&e);
	close(stats_fd);
	return err ? 1 : 0;
}

/* ---- slowdown ----------------------------------------------------------- */

enum config { CFG_OFF, CFG_EMPTY, CFG_TIDE, CFG_TIDE_TRACKED, CFG_N };
static const char *const cfg_name[CFG_N] = { "off", "empty_tp_btf", "tide", "tide_tracked" };

static int one_run(enum config cfg, double *rt)
{
	struct empty_prog e = { -1, -1 };
	struct cpu_ctx *ctx = NULL;
	struct pingpong pp;
	int err = 0;

	if (cfg == CFG_EMPTY)
		err = empty_attach(&e);
	else if (cfg == CFG_TIDE || cfg == CFG_TIDE_TRACKED)
		err = cpu_init(&ctx, NULL);
	if (!err)
		err = pp_start(&pp, env.seconds);
	for (int i = 0; !err && cfg == CFG_TIDE_TRACKED && i < 2; i++)
		err = cpu_track(ctx, pp.pid[i], 1, (uint32_t)i);
	if (!err)
		err = pp_run(&pp, rt);
	cpu_fini(ctx);
	empty_detach(&e);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int slowdown(void)
{
	double rt[CFG_N][MAX_ROUNDS], med[CFG_N];

	for (int r = 0; r < env.rounds; r++) {
		fprintf(stderr, "  slowdown: round %d/%d:", r + 1, env.rounds);
		/* rotate the order so no config always runs first */
		for (int k = 0; k < CFG_N; k++) {
			enum config cfg = (enum config)((k + r) % CFG_N);
			int err = one_run(cfg, &rt[cfg][r]);

			if (err) {
				fprintf(stderr, "\n%s: %s\n", cfg_name[cfg], strerror(-err));
				return 1;
			}
			fprintf(stderr, " %s %.0f/s", cfg_name[cfg], rt[cfg][r]);
			/* slowdown_round,config,round,rt_per_s */
			printf("round,%s,%d,%.0f\n", cfg_name[cfg], r + 1, rt[cfg][r]);
		}
		fprintf(stderr, "\n");
		fflush(stdout);
	}
	for (int c = 0; c < CFG_N; c++) {
		qsort(rt[c], (size_t)env.rounds, sizeof(double), cmp_double);
		med[c] = env.rounds % 2 ? rt[c][env.rounds / 2] :
					  (rt[c][env.rounds / 2 - 1] + rt[c][env.rounds / 2]) / 2;
	}
	for (int c = 0; c < CFG_N; c++)
		/* slowdown,config,median_rt_per_s,slowdown_pct */
		printf("slowdown,%s,%.0f,%.2f\n", cfg_name[c], med[c],
		       100.0 * (med[CFG_OFF] - med[c]) / med[CFG_OFF]);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= lo && *out <= hi) ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "raw-tp", no_argument, NULL, 'r' },
		{ "tid-hash", no_argument, NULL, 'H' },
		{ "timestamps", no_argument, NULL, 'T' },
		{ "tag-iter", no_argument, NULL, 'I' },
		{ "empty-last", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	double v;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:c:rHTILv", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_num(optarg, 0.05, 3600, &env.seconds))
				goto bad;
			break;
		case 'n':
			if (parse_num(optarg, 1, MAX_ROUNDS, &v) || v != (int)v)
				goto bad;
			env.rounds = (int)v;
			break;
		case 'c':
			if (parse_num(optarg, 0, CPU_SETSIZE - 1, &v) || v != (int)v)
				goto bad;
			env.cpu = (int)v;
			break;
		case 'r':
			env.raw_tp = true;
			break;
		case 'H':
			env.tid_hash = true;
			break;
		case 'T':
			env.timestamps = true;
			break;
		case 'I':
			env.tag_iter = true;
			break;
		case 'L':
			env.empty_last = true;
			break;
		case 'v':
			env.verbose = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (loads BPF programs)\n");
		return 77;
	}
	if (env.cpu < 0)
		env.cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	libbpf_set_print(libbpf_print);
	if (!strcmp(argv[optind], "cost"))
		return cost();
	if (!strcmp(argv[optind], "slowdown"))
		return slowdown();
usage:
	fprintf(stderr, "usage: bpfcost cost|slowdown [--seconds S] [--rounds N] [--cpu C]"
			" [--raw-tp] [--tid-hash] [--timestamps] [--tag-iter] [--empty-last] [-v]\n");
	return 2;
bad:
	fprintf(stderr, "what is '%s'?\n", optarg);
	return 2;
}
