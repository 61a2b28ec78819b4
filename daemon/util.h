/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util: small helpers shared by the daemon modules: directories, pid
 * files, sd_notify, clocks and number parsing.
 */
#ifndef TIDE_UTIL_H
#define TIDE_UTIL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "tide.h"

/*
 * mkdir -p with mode for the directories it creates (existing ones are
 * left as they are).  0 or -errno; on error, *failed (if not NULL) names
 * the component that could not be made, for the message.
 */
int util_mkdir_p(const char *path, mode_t mode, char *failed, size_t failed_bytes);

/* The directory part of path ("/run/tide" for "/run/tide/tided.sock") in
 * buf; -ENAMETOOLONG when it does not fit. */
int util_dirname(const char *path, char *buf, size_t buf_bytes);

/*
 * Replace DIR/NAME with the len bytes of buf so that a reader (or a crash)
 * sees the old file or the new one, never a mix (libvirt's virFileRewrite):
 * write DIR/NAME.new, fsync, close (checked), rename, fsync DIR.  0 or
 * -errno; the .new file is removed on failure.
 */
int util_write_file_atomic(const char *dir, const char *name, const char *buf,
			   size_t len) __tide_must_check;

/*
 * Pid file held with an exclusive flock() for the life of the daemon, so a
 * second daemon finds it locked even when the first one did not get to
 * remove it.  -EEXIST when another process holds it; *holder then has its
 * pid (0 when unreadable).
 */
struct util_pidfile {
	int fd;
	char *path;
};
int util_pidfile_acquire(struct util_pidfile *pf, const char *path, pid_t *holder) __tide_must_check;
void util_pidfile_release(struct util_pidfile *pf);

/*
 * Tell systemd (Type=notify) about a state change: "READY=1",
 * "RELOADING=1", "STOPPING=1", "STATUS=...".  A no-op returning 0 when not
 * started by systemd ($NOTIFY_SOCKET unset).  Written here rather than
 * linking libsystemd for one datagram.
 */
int util_sd_notify(const char *state);

/* clock_gettime(id) in nanoseconds */
uint64_t util_clock_ns(clockid_t id);
/* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(), in nanoseconds */
uint64_t util_monotonic_ns(void);
/* CLOCK_MONOTONIC in milliseconds */
uint64_t util_monotonic_ms(void);

/*
 * A whole decimal integer in [min, max]: no sign games, no trailing
 * characters, no overflow.  0 or -EINVAL (-ERANGE when out of range).
 */
int util_parse_long(const char *s, long min, long max, long *out) __tide_must_check;

/* A pid as a pid file holds it: "N" or "N\n", N > 0.  0 or -EINVAL. */
int util_parse_pid(const char *text, pid_t *out) __tide_must_check;

#endif /* TIDE_UTIL_H */
