// SPDX-License-Identifier: GPL-2.0
/*
 * react_run: the hook processes of react.  See react.h for the contract.
 *
 * Spawning.  posix_spawn() (glibc's is clone(CLONE_VM | CLONE_VFORK): no
 * copy of tided's page tables, and an exec failure comes back as its
 * error), with file actions that leave the hook /dev/null, the pipe and
 * nothing else (closefrom 3 also closes what a library opened without
 * O_CLOEXEC), a new session (its own process group, and no controlling
 * terminal to read or take signals from), an empty signal mask and
 * default dispositions: tided blocks the signals it reads through
 * signalfd and ignores SIGPIPE, and exec would pass both on.
 *
 * Reaping.  One pidfd per hook, watched by the loop: waitid(P_PIDFD,
 * WNOHANG) reaps that process and no other, with no SIGCHLD to race.
 * Where pidfd_open() is refused, a timer calls waitid(P_PID) on each of our
 * own pids every REACT_SWEEP_MS instead; SIGCHLD through loop_add_signal()
 * would be lost whenever a worker thread, which does not block it, takes
 * it.
 *
 * Killing a group.  The leader of a hook that timed out is not reaped
 * before its group had its SIGKILL: a zombie keeps its pid, so the group
 * id signalled cannot have been given to anyone else meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "react_int.h"

#define READ_BYTES 4096
/* per callback: a chatty hook must not hold the loop */
#define READS_PER_CALL 4
/* at exit: a whole pipe buffer (64 KiB), then the end of file */
#define READS_AT_EXIT 17
#define FINI_POLL_MS 10

/* ---- one run's output ------------------------------------------------------ */

static void out_line(struct react_ev *e)
{
	struct react_run *r = &e->run;

	r->line[r->line_len] = '\0';
	log_info("hook '%s': %s", r->hook, r->line);
	r->line_len = 0;
}

static void out_bytes(struct react_ev *e, const char *buf, size_t n)
{
	struct react_run *r = &e->run;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (r->logged_bytes >= REACT_OUTPUT_MAX_BYTES) {
			r->dropped_bytes += n - i;
			return;
		}
		r->logged_bytes++;
		if (c == '\n') {
			out_line(e);
			continue;
		}
		if (c == '\r')
			continue;
		/* no terminal escapes nor fake log lines from a hook */
		r->line[r->line_len++] = buf[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			r->line[r->line_len - 1] = '?';
		if (r->line_len == REACT_LINE_BYTES)
			out_line(e);
	}
}

static void out_close(struct react_ev *e)
{
	struct react_run *r = &e->run;

	if (r->out_watch)
		loop_remove_fd(r->out_watch);
	close(r->out_fd);
	r->out_fd = -1;
	r->out_watch = 0;
	if (r->line_len)
		out_line(e);
	if (r->dropped_bytes)
		log_info("hook '%s' for event '%s': %llu more bytes of output not logged (over %d)",
			 r->hook, e->name, (unsigned long long)r->dropped_bytes,
			 REACT_OUTPUT_MAX_BYTES);
}

static void out_read(struct react_ev *e, int max_reads)
{
	struct react_run *r = &e->run;
	char buf[READ_BYTES];

	for (int i = 0; i < max_reads && r->out_fd >= 0; i++) {
		ssize_t n = read(r->out_fd, buf, sizeof(buf));

		if (n > 0)
			out_bytes(e, buf, (size_t)n);
		else if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		else
			out_close(e); /* end of file: the hook and its children closed it */
	}
}

static void on_output(int fd, unsigned int revents, void *arg)
{
	out_read(arg, READS_PER_CALL);
}

/* ---- runs ------------------------------------------------------------------ */

void react_run_reset(struct react_run *r)
{
	memset(r, 0, offsetof(struct react_run, line));
	r->pidfd = -1;
	r->out_fd = -1;
}

void react_run_release(struct react_ev *e)
{
	struct react_run *r = &e->run;

	if (r->out_fd >= 0)
		out_close(e);
	if (r->pidfd_watch)
		loop_remove_fd(r->pidfd_watch);
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->timer)
		loop_remove_timer(r->timer);
	if (r->state != RUN_IDLE)
		react_st.st.running--;
	react_run_reset(r);
}

static void on_sweep(void *arg);

static void sweep_arm(void)
{
	if (!react_st.sweep_timer &&
	    loop_add_periodic(REACT_SWEEP_MS, 0, on_sweep, NULL, &react_st.sweep_timer))
		react_st.sweep_timer = 0; /* the timeout's SIGKILL still ends the run */
}

/* 1 when the hook's process has exited (*si says how), 0 while it runs;
 * reaped unless keep. */
static int run_exited(struct react_run *r, bool keep, siginfo_t *si)
{
	int flags = WEXITED | WNOHANG | (keep ? WNOWAIT : 0);

	memset(si, 0, sizeof(*si));
	if (r->pidfd >= 0 ? waitid(P_PIDFD, (id_t)r->pidfd, si, flags) < 0 :
			    waitid(P_PID, (id_t)r->pid, si, flags) < 0)
		return 1; /* ECHILD: reaped by someone else; si_code 0 says so */
	return si->si_pid != 0;
}

static void run_report(struct react_ev *e, const siginfo_t *si)
{
	struct react_run *r = &e->run;
	unsigned long long ms = (unsigned long long)(loop_now_ms() - r->started_ms);
	const char *sig = sigabbrev_np(si->si_status);

	if (r->state != RUN_RUNNING) {
		react_st.st.timed_out++;
		log_debug("hook '%s' for event '%s' ended after its timeout", r->hook, e->name);
	} else if (si->si_code == CLD_EXITED && si->si_status == 0) {
		react_st.st.ok++;
		log_info("hook '%s' for event '%s' succeeded in %llu ms", r->hook, e->name, ms);
	} else if (si->si_code == CLD_EXITED) {
		react_st.st.failed++;
		log_warn("hook '%s' for event '%s' failed: exit status %d after %llu ms", r->hook,
			 e->name, si->si_status, ms);
	} else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
		react_st.st.failed++;
		log_warn("hook '%s' for event '%s' failed: killed by signal SIG%s%s after %llu ms",
			 r->hook, e->name, sig ? sig : "?",
			 si->si_code == CLD_DUMPED ? " (core dumped)" : "", ms);
	} else {
		react_st.st.failed++;
		log_warn("hook '%s' for event '%s': its exit status was lost (reaped elsewhere)",
			 r->hook, e->name);
	}
}

static int run_spawn(struct react_ev *e, int out_w)
{
	struct react_run *r = &e->run;
	char *argv[] = { e->hooks[e->next_hook], e->name, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	short flags = POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	sigset_t none, all;
	int err;

	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawn_file_actions_init(&fa))
		return ENOMEM;
	if (posix_spawnattr_init(&attr)) {
		posix_spawn_file_actions_destroy(&fa);
		return ENOMEM;
	}
	/* stdout first: a daemon whose 0-2 were closed may have got the
	 * pipe as fd 0, which /dev/null then replaces */
	err = posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
	err = err ?: posix_spawn_file_actions_adddup2(&fa, out_w, STDERR_FILENO);
	err = err ?: posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	err = err ?: posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	err = err ?: posix_spawn_file_actions_addchdir_np(&fa, "/");
	err = err ?: posix_spawnattr_setsigmask(&attr, &none);
	err = err ?: posix_spawnattr_setsigdefault(&attr, &all);
	err = err ?: posix_spawnattr_setflags(&attr, flags);
	err = err ?: posix_spawn(&r->pid, argv[0], &fa, &attr, argv, e->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

static void on_exit_fd(int fd, unsigned int revents, void *arg);
static void on_timeout(void *arg);

int react_run_start(struct react_ev *e)
{
	struct react_run *r = &e->run;
	int pfd[2], err;

	react_run_reset(r);
	r->hook = strrchr(e->hooks[e->next_hook], '/') + 1;
	react_st.st.runs++;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		err = -errno;
		log_warn("cannot run hook '%s' for event '%s': cannot create a pipe: %s", r->hook,
			 e->name, strerror(-err));
		goto cleanup;
	}
	/* the hook's end stays blocking: a full pipe must slow it, not fail it */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	err = -run_spawn(e, pfd[1]);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		log_warn("cannot run hook '%s' for event '%s': cannot execute '%s': %s%s", r->hook,
			 e->name, e->hooks[e->next_hook], strerror(-err),
			 err == -ENOEXEC ? " (no '#!' line?)" : "");
		goto cleanup;
	}
	r->state = RUN_RUNNING;
	r->started_ms = loop_now_ms();
	r->timeout_ms = react_st.timeout_ms;
	react_st.st.running++;
	r->out_fd = pfd[0];
	if (loop_add_fd(r->out_fd, LOOP_IN, on_output, e, &r->out_watch)) {
		r->out_watch = 0;
		out_close(e); /* its output is lost, the hook still supervised */
	}
	if (react_st.pidfd_ok) {
		r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
		if (r->pidfd >= 0 && loop_add_fd(r->pidfd, LOOP_IN, on_exit_fd, e, &r->pidfd_watch)) {
			close(r->pidfd);
			r->pidfd = -1;
			r->pidfd_watch = 0;
		}
	}
	if (r->pidfd < 0)
		sweep_arm();
	if (loop_add_timer(r->timeout_ms, 0, on_timeout, e, &r->timer)) {
		/* unbounded is not an option: stop it now */
		log_err("cannot arm the timeout of hook '%s' for event '%s': killed", r->hook,
			e->name);
		r->timer = 0;
		kill(-r->pid, SIGKILL);
		r->state = RUN_KILLED;
	}
	log_debug("hook '%s' for event '%s' started, pid %d", r->hook, e->name, (int)r->pid);
	return 0;
cleanup:
	react_st.st.failed++;
	return err;
}

static void run_check(struct react_ev *e)
{
	struct react_run *r = &e->run;
	siginfo_t si;

	if (r->state == RUN_TERMINATING) {
		if (r->leader_exited || !run_exited(r, true, &si))
			return;
		/* the grace timer's SIGKILL reaches what it leaves behind */
		r->leader_exited = true;
		if (r->pidfd_watch)
			loop_modify_fd(r->pidfd_watch, 0);
		return;
	}
	if (!run_exited(r, false, &si))
		return;
	/* what it wrote before it exited goes before its verdict */
	if (r->out_fd >= 0)
		out_read(e, READS_AT_EXIT);
	if (r->out_fd >= 0)
		out_close(e);
	run_report(e, &si);
	react_run_over(e);
}

static void on_exit_fd(int fd, unsigned int revents, void *arg)
{
	run_check(arg);
}

static void on_timeout(void *arg)
{
	struct react_ev *e = arg;
	struct react_run *r = &e->run;

	r->timer = 0;
	if (r->state == RUN_RUNNING) {
		log_warn("hook '%s' for event '%s' did not finish within %u ms: killed", r->hook,
			 e->name, r->timeout_ms);
		kill(-r->pid, SIGTERM);
		r->state = RUN_TERMINATING;
		if (!loop_add_timer(REACT_KILL_GRACE_MS, 0, on_timeout, e, &r->timer))
			return;
		r->timer = 0; /* no grace then */
	}
	kill(-r->pid, SIGKILL);
	r->state = RUN_KILLED;
	run_check(e);
}

static void on_sweep(void *arg)
{
	bool needed = false;
	struct react_ev *e, *next;

	for (e = react_st.active; e; e = next) {
		next = e->next; /* run_check may free e, never another one of the list */
		if (e->run.pidfd < 0)
			run_check(e);
	}
	for (e = react_st.active; e; e = e->next)
		needed |= e->run.pidfd < 0;
	if (!needed) {
		loop_remove_timer(react_st.sweep_timer);
		react_st.sweep_timer = 0;
	}
}

/* SIGTERM to what runs, SIGKILL to what is left after the grace, reaped. */
void react_run_stop_all(void)
{
	uint64_t deadline_ms = loop_now_ms() + REACT_KILL_GRACE_MS;
	bool waiting = true;
	struct react_ev *e;
	siginfo_t si;

	for (e = react_st.active; e; e = e->next) {
		if (e->run.state != RUN_RUNNING)
			continue;
		log_notice("stopping: hook '%s' for event '%s' still runs: killed", e->run.hook,
			   e->name);
		kill(-e->run.pid, SIGTERM);
		e->run.state = RUN_TERMINATING;
	}
	/* shutting down: a short sleep here blocks nothing that matters */
	while (waiting && loop_now_ms() < deadline_ms) {
		waiting = false;
		for (e = react_st.active; e; e = e->next) {
			if (!e->run.leader_exited)
				e->run.leader_exited = run_exited(&e->run, true, &si);
			waiting |= !e->run.leader_exited;
		}
		if (waiting)
			usleep(FINI_POLL_MS * 1000);
	}
	for (e = react_st.active; e; e = e->next) {
		kill(-e->run.pid, SIGKILL);
		waitid(P_PID, (id_t)e->run.pid, &si, WEXITED);
	}
}
