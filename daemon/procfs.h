/* SPDX-License-Identifier: GPL-2.0 */
/*
 * procfs: the one reader of /proc files: a thread's schedstat, the host's
 * CPU (stat) and memory (meminfo) figures, and small files read whole.
 *
 * Every reader takes the root of the tree ("/proc"; tests give a fake one),
 * returns 0 (or a length) or -errno, and logs nothing: the caller says what
 * failed.  The tick's readers use no allocation and no stdio.
 */
#ifndef TIDE_PROCFS_H
#define TIDE_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tide.h"

/*
 * Read a small file (a /proc figure) whole into buf, NUL-terminated,
 * without stdio: no allocation, for the collection tick.  Bytes read (at
 * most buf_bytes - 1) or -errno.
 */
ssize_t procfs_read_small(const char *path, char *buf, size_t buf_bytes);

/*
 * Read a file whole (up to max bytes, growing the buffer as needed):
 * malloc'd and NUL-terminated, its length in *len; NULL with errno set.
 */
char *procfs_read_file(const char *path, size_t max, size_t *len);

/* /proc/[PID/task/]TID/schedstat: the kernel's own figures of a thread. */
struct procfs_schedstat {
	uint64_t on_cpu_ns; /* se.sum_exec_runtime */
	uint64_t wait_ns;   /* sched_info.run_delay */
	uint64_t switches;  /* pcount: times switched in */
};

/* pid > 0: ROOT/PID/task/TID/schedstat, else ROOT/TID/schedstat. */
int procfs_schedstat(const char *root, pid_t pid, pid_t tid,
		     struct procfs_schedstat *out) __tide_must_check;

/* The host's CPU and memory, from ROOT/stat and ROOT/meminfo. */
struct procfs_host {
	uint64_t cpu_busy_ticks; /* "cpu" line: all but idle and iowait */
	uint64_t cpu_total_ticks;
	uint32_t online_cpus;		 /* "cpuN" lines */
	uint64_t memory_bytes;		 /* MemTotal */
	uint64_t memory_available_bytes; /* MemAvailable */
};

/* Whole or nothing: on failure *out is untouched. */
int procfs_host(const char *root, struct procfs_host *out) __tide_must_check;

#endif /* TIDE_PROCFS_H */
