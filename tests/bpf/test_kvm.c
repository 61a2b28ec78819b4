// SPDX-License-Identifier: GPL-2.0
/*
 * test_kvm: bpf/kvm.bpf.c + daemon/kvm.c load and attach to the KVM
 * tracepoints, track a process, read, untrack; and the module says
 * whether KVM exits happen on this host at all.  Where guests run under
 * TCG only (the test machine) it must say "inactive": this test proves
 * loading and attaching, not counting.
 *
 *   test_kvm [--seconds S] [--pid PID] [-v]
 *	--pid: track that process (a QEMU) instead of ourselves and print
 *	its exits by reason after S seconds.
 *
 * Exit 0 pass, 1 fail, 77 skip (reason on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* white box: the module itself, to check its links */
#include "../../daemon/kvm.c"

static struct env {
	double seconds;
	pid_t pid;
	bool verbose;
} env = { .seconds = 2.0 };

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define CHECK(cond, ...)                                          \
	do {                                                      \
		if (!(cond)) {                                    \
			fprintf(stderr, "FAIL: " __VA_ARGS__);    \
			fprintf(stderr, "\n");                    \
			bad++;                                    \
		}                                                 \
	} while (0)

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct kvm_vm_stats st;
	struct kvm_ctx *ctx = NULL;
	uint64_t exits = 0, pushes = 0;
	char why[128], *end;
	pid_t pid;
	int c, err, bad = 0;

	while ((c = getopt_long(argc, argv, "s:p:v", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			errno = 0;
			env.seconds = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(env.seconds > 0 && env.seconds < 3600))
				goto bad_arg;
			break;
		case 'p': {
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0 || v > INT_MAX)
				goto bad_arg;
			env.pid = (pid_t)v;
			break;
		}
		case 'v': env.verbose = true; break;
		default:
			fprintf(stderr, "usage: test_kvm [--seconds S] [--pid PID] [-v]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (loads BPF programs)\n");
		return 77;
	}
	libbpf_set_print(libbpf_print);
	if (kvm_probe(why, sizeof(why))) {
		fprintf(stderr, "kvm collector not attached: %s\n", why);
		return 77;
	}

	err = kvm_init(&ctx, NULL);
	if (err) {
		fprintf(stderr, "kvm_init: %s\n", strerror(-err));
		return 1;
	}
	printf("  kvm:kvm_exit             loaded and attached (%s)\n",
	       ctx->skel->links.kvm_exit ? "link up" : "NO LINK");
	CHECK(ctx->skel->links.kvm_exit, "kvm_exit has no link");
	if (kvm_has_dirty_ring(ctx)) {
		printf("  kvm:kvm_dirty_ring_push  loaded and attached (%s)\n",
		       ctx->skel->links.kvm_dirty_push ? "link up" : "NO LINK");
		CHECK(ctx->skel->links.kvm_dirty_push, "kvm_dirty_push has no link");
	} else {
		printf("  kvm:kvm_dirty_ring_push  absent from this kernel: not attached\n");
	}

	/* API contract */
	pid = env.pid ? env.pid : getpid();
	err = kvm_track_vm(ctx, pid, 3);
	CHECK(!err, "kvm_track_vm %d: %s", (int)pid, strerror(-err));
	CHECK(kvm_track_vm(ctx, pid, 3) == -EEXIST, "tracking twice did not fail with EEXIST");
	CHECK(kvm_read(ctx, 1 << 30, &st) == -ENOENT, "reading an untracked pid did not fail");
	CHECK(kvm_track_vm(ctx, INT_MAX, 4) == -ESRCH, "tracking no process did not fail");
	CHECK(!strcmp(kvm_exit_reason_name(KVM_ISA_VMX, 12), "HLT") &&
	      !strcmp(kvm_exit_reason_name(KVM_ISA_SVM, 0x78 - 0x60), "hlt") &&
	      !strcmp(kvm_exit_reason_name(KVM_ISA_SVM, 0xa2 - 0x60), "invpcid") &&
	      !strcmp(kvm_exit_reason_name(KVM_ISA_SVM, KVM_SVM_BUCKET_NPF), "npf") &&
	      !strcmp(kvm_exit_reason_name(KVM_ISA_VMX, KVM_EXIT_OTHER), "other"),
	      "exit reason names are off");

	fprintf(stderr, "  watching for %.1f s ...\n", env.seconds);
	sleep_s(env.seconds);

	err = kvm_read(ctx, pid, &st);
	CHECK(!err, "kvm_read: %s", strerror(-err));
	err = kvm_host_totals(ctx, &exits, &pushes);
	CHECK(!err, "kvm_host_totals: %s", strerror(-err));
	printf("  tracked pid %d (%s): %llu exits, %llu dirty-ring pushes\n", (int)pid,
	       env.pid ? "given" : "ourselves, not a VM", (unsigned long long)st.exits,
	       (unsigned long long)st.dirty_ring_pushes);
	if (!env.pid)
		CHECK(!st.exits && !st.dirty_ring_pushes, "a process that runs no guest has exits");
	for (int b = 0; b < KVM_EXIT_BUCKETS; b++) {
		const char *name = kvm_exit_reason_name(kvm_isa(ctx), (unsigned int)b);

		if (st.exits_by_bucket[b])
			printf("    %-28s %llu\n", name ? name : "?",
			       (unsigned long long)st.exits_by_bucket[b]);
	}
	printf("  whole host in %.1f s: %llu KVM exits, %llu dirty-ring pushes\n", env.seconds,
	       (unsigned long long)exits, (unsigned long long)pushes);
	if (kvm_active(ctx))
		printf("  feature ACTIVE: KVM guests run on this host (isa %u)\n", kvm_isa(ctx));
	else
		printf("  feature INACTIVE: no KVM exit seen (guests here run under TCG, or none "
		       "runs); this test proved loading and attaching only\n");

	err = kvm_untrack_vm(ctx, pid);
	CHECK(!err && kvm_read(ctx, pid, &st) == -ENOENT, "untrack did not release the VM");
	kvm_fini(ctx);
	return bad ? 1 : 0;

bad_arg:
	fprintf(stderr, "what is '%s'?\n", optarg);
	return 2;
}
