/* SPDX-License-Identifier: GPL-2.0 */
/*
 * react_int: what react's two files share: the module's state, the events
 * and the hook process of each (react.c: the hooks directory, the queue,
 * the module's life; react_run.c: the processes, their output, reaping and
 * killing).
 */
#ifndef TIDE_REACT_INT_H
#define TIDE_REACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "react.h"

/* a longer line of output is logged in pieces */
#define REACT_LINE_BYTES 1024
/* the reaping poll where pidfd_open() is refused */
#define REACT_SWEEP_MS 100

enum react_run_state {
	RUN_IDLE,
	RUN_RUNNING,
	RUN_TERMINATING, /* SIGTERM sent at the timeout */
	RUN_KILLED,	 /* SIGKILL sent */
};

/* The process of one hook for one event. */
struct react_run {
	enum react_run_state state;
	const char *hook; /* its name, in the event's path */
	pid_t pid;
	int pidfd, pidfd_watch; /* -1 and 0 when none: the sweep reaps it */
	int out_fd, out_watch;
	int timer;
	bool leader_exited; /* a zombie, kept until its group's SIGKILL */
	uint32_t timeout_ms;
	uint64_t started_ms;
	size_t logged_bytes;
	uint64_t dropped_bytes;
	size_t line_len;
	char line[REACT_LINE_BYTES + 1];
};

struct react_ev {
	struct react_ev *next; /* the queue, or the running events */
	char *name;
	char **envp;  /* NULL-terminated */
	char **hooks; /* full paths, in order */
	size_t n_hooks, next_hook;
	struct react_run run; /* of hooks[next_hook] */
};

/* A file refused once: warned about again only when it changes. */
struct react_warned {
	char *name;
	ino_t ino;
	mode_t mode;
	uid_t uid;
};

struct react_state {
	bool inited;
	char *dir; /* NULL: no hooks */
	uint32_t timeout_ms, max_running;
	bool dir_warned;
	struct react_warned *warned;
	size_t n_warned;
	struct react_ev *active; /* those with a hook running */
	uint32_t n_active;
	struct react_ev *q_head, *q_tail;
	uint32_t n_queued;
	bool pidfd_ok;
	int sweep_timer;
	struct react_stats st;
};

extern struct react_state react_st;

/* react_run.c */
/* Nothing running, nothing held. */
void react_run_reset(struct react_run *r);
/* Start e's hooks[next_hook]: 0, or -errno when it could not start
 * (logged, counted as failed). */
int react_run_start(struct react_ev *e);
/* Close what e's run holds (its process is the caller's business). */
void react_run_release(struct react_ev *e);
/* react_fini(): SIGTERM, the grace, SIGKILL, reap every active run. */
void react_run_stop_all(void);

/* react.c: e's hook is over (reaped, reported): its next one, or e is
 * done and frees its slot.  e may be freed. */
void react_run_over(struct react_ev *e);

#endif /* TIDE_REACT_INT_H */
