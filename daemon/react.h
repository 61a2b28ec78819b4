/* SPDX-License-Identifier: GPL-2.0 */
/*
 * react: reaction hooks, the operator's programs run on tide's events
 * (vm-moved, host-freed, host-overloaded, migration-failed).  Owns the scan
 * of hooks_dir and its safety checks, the hook processes (no shell, a clean
 * environment, each in its own session), their output, timeouts, reaping,
 * the queue of events waiting for a free slot, and the counters.
 *
 * The hooks: every regular file of hooks_dir named like run-parts wants it
 * ([A-Za-z0-9_-]+: no dotfiles, no foo~, no foo.dpkg-old) and executable,
 * in C-locale order.  A hook not owned by root (or by tided's own user),
 * or writable by group or others, or in a directory that is, is refused
 * with a warning once per file, like cron and sudo refuse theirs.
 *
 * An event runs its hooks one after another, in that order, each as
 * `HOOK EVENT` with PATH, TIDE_EVENT and the event's TIDE_* variables as its
 * whole environment, stdin /dev/null, stdout and stderr logged line by line
 * (REACT_OUTPUT_MAX_BYTES per run, the rest counted and dropped), and
 * timeout_ms to finish: then SIGTERM to its process group, SIGKILL
 * REACT_KILL_GRACE_MS later.  A failure is logged and counted, never
 * retried, and never holds the next hook.  Up to max_running events run at
 * once; REACT_QUEUE_MAX more wait, the next ones are dropped (logged,
 * counted).
 *
 * Loop thread only.
 */
#ifndef TIDE_REACT_H
#define TIDE_REACT_H

#include <stddef.h>
#include <stdint.h>

#include "prom.h"
#include "tide.h"

#define REACT_HOOKS_DIR_DEFAULT "/etc/tide/hooks.d"
#define REACT_TIMEOUT_MS_DEFAULT 10000
#define REACT_MAX_RUNNING_DEFAULT 4
/* events waiting for a slot; a burst beyond is dropped */
#define REACT_QUEUE_MAX 64
/* output of one run that reaches the log */
#define REACT_OUTPUT_MAX_BYTES 4096
/* between SIGTERM and SIGKILL of a hook that outlived its timeout */
#define REACT_KILL_GRACE_MS 1000

struct react_opts {
	const char *hooks_dir; /* NULL: REACT_HOOKS_DIR_DEFAULT; "": no hooks */
	uint32_t timeout_ms;   /* 0: REACT_TIMEOUT_MS_DEFAULT */
	uint32_t max_running;  /* 0: REACT_MAX_RUNNING_DEFAULT */
};

/* Needs loop.  A missing hooks_dir is no error (logged at debug): it is
 * read again at each event. */
int react_init(const struct react_opts *o) __tide_must_check;
/* Drops queued events; SIGTERM to the hooks still running, SIGKILL to
 * those alive REACT_KILL_GRACE_MS later, and reaps them (blocks that long
 * at most). */
void react_fini(void);
/* Reload: new events follow o; running hooks keep their timeout. */
int react_reconfigure(const struct react_opts *o) __tide_must_check;

/* name without the TIDE_ prefix, [A-Z0-9_]+ and not EVENT: "VM" gives
 * TIDE_VM */
struct react_var {
	const char *name;
	const char *value;
};

/*
 * Queue the event (a name [A-Za-z0-9_.-]+, also the hooks' argv[1]) with its
 * variables, and return at once: the hooks run on the loop.  0 (also when
 * there is no hook to run), -EINVAL for a bad name or variable (logged),
 * -ENOBUFS when the queue is full (dropped, logged), -ENODEV before
 * react_init().
 */
int react_event(const char *event, const struct react_var *vars, size_t n_vars) __tide_must_check;

struct react_stats {
	uint64_t runs;		 /* hook processes started or that failed to start */
	uint64_t ok;		 /* exited 0 */
	uint64_t failed;	 /* exit status, signal, or could not start */
	uint64_t timed_out;	 /* killed at the timeout */
	uint64_t skipped;	 /* refused as unsafe, once per event */
	uint64_t queued_dropped; /* events dropped: the queue was full */
	uint32_t running;	 /* hook processes now */
	uint32_t queued;	 /* events waiting for a slot */
};
void react_stats(struct react_stats *out);

/* tide_hook_runs_total{result="ok|failed|timed_out|skipped"} and
 * tide_hook_events_dropped_total into p (textfile). */
void react_fill_prom(struct prom *p);

#endif /* TIDE_REACT_H */
