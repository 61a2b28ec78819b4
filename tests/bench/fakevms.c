// SPDX-License-Identifier: GPL-2.0
/*
 * fakevms: N processes that look like QEMU to tide's collectors, for
 * benchmarks at a scale the machine cannot boot real guests at.  Each has
 * VCPUS threads named "CPU n/KVM" (as QEMU names them with debug-threads=on)
 * that wake WAKE_HZ times a second and spin briefly, so they switch like
 * lightly loaded vCPUs do.
 *
 *   fakevms N VCPUS WAKE_HZ
 * prints one line per VM, "pid tid0 tid1 ...", then "ready", and runs until
 * SIGTERM/SIGINT, taking its children with it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_VCPUS 64

static long wake_hz;

static void *vcpu_main(void *arg)
{
	struct timespec ts = { .tv_nsec = 1000000000L / wake_hz };
	volatile unsigned long spin = 0;
	int *pipe_w = arg;

	pid_t tid = gettid();
	if (write(*pipe_w, &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	for (;;) {
		nanosleep(&ts, NULL);
		for (int i = 0; i < 2000; i++)
			spin++;
	}
	return NULL;
}

static int vm_main(long vcpus, int out_fd)
{
	int fds[2];
	pthread_t th;
	pid_t tids[MAX_VCPUS];
	char line[64 * (MAX_VCPUS + 1)], name[32];
	int len;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "qemu-system-x86");
	if (pipe(fds))
		return 1;
	for (long i = 0; i < vcpus; i++) {
		if (pthread_create(&th, NULL, vcpu_main, &fds[1]))
			return 1;
		snprintf(name, sizeof(name), "CPU %d/KVM", (int)i); /* < 16 bytes: MAX_VCPUS */
		pthread_setname_np(th, name);
		if (read(fds[0], &tids[i], sizeof(tids[i])) != sizeof(tids[i]))
			return 1;
	}
	len = snprintf(line, sizeof(line), "%d", getpid());
	for (long i = 0; i < vcpus; i++)
		len += snprintf(line + len, sizeof(line) - len, " %d", tids[i]);
	line[len++] = '\n';
	if (write(out_fd, line, len) != len)
		return 1;
	for (;;)
		pause();
}

static long parse_arg(const char *s, const char *what, long min, long max)
{
	long v;

	if (util_parse_long(s, min, max, &v)) {
		fprintf(stderr, "fakevms: %s must be an integer in [%ld, %ld], got '%s'\n", what,
			min, max, s);
		exit(2);
	}
	return v;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long n, vcpus;
	pid_t *pids;

	if (argc != 4) {
		fprintf(stderr, "usage: fakevms N VCPUS WAKE_HZ\n");
		return 2;
	}
	n = parse_arg(argv[1], "N", 1, 4096);
	vcpus = parse_arg(argv[2], "VCPUS", 1, MAX_VCPUS);
	wake_hz = parse_arg(argv[3], "WAKE_HZ", 1, 1000);
	pids = calloc(n, sizeof(*pids));
	if (!pids)
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fakevms: fork");
			stop = 1;
			break;
		}
		if (pids[i] == 0)
			_exit(vm_main(vcpus, STDOUT_FILENO));
	}
	/* children write their own lines; give them time to be complete */
	usleep(200000 + 2000 * n);
	if (!stop) {
		printf("ready\n");
		fflush(stdout);
	}
	while (!stop)
		pause();
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
