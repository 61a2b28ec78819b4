/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl: the control socket tidectl talks to.
 *
 * A unix stream socket (mode 0600 in a 0755 directory) that only root may
 * use: the peer's uid is checked with SO_PEERCRED on accept, and anyone
 * else gets an error reply and a log line naming their pid and uid.
 *
 * Protocol: one JSON object per line each way.
 *     request  {"cmd": "status"}              (plus the command's arguments)
 *     reply    {"ok": true, ...}  or  {"error": "what failed, and why"}
 * Requests on one connection are answered in order; a client may send
 * several, or shut down its write side and still read the replies.
 *
 * Commands live in a table that modules fill with ctl_register(), so that
 * "vm show", "host show", "migration list" or "plan" come with the module
 * that owns the data.  ctl itself registers "version" and "commands".
 *
 * Everything is non-blocking through the loop: a client that sends too much
 * (> CTL_MAX_REQUEST_BYTES per line), stops reading its replies, or sits
 * idle is dropped, and never stalls the daemon.
 */
#ifndef TIDE_CTL_H
#define TIDE_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tide.h"

#define CTL_MAX_REQUEST_BYTES (64 * 1024)
/* replies waiting for a client that does not read */
#define CTL_MAX_PENDING_BYTES (8 * 1024 * 1024)
#define CTL_MAX_CLIENTS 64
/* a connection with nothing to do for this long is closed */
#define CTL_IDLE_TIMEOUT_MS 30000

/*
 * A command handler fills reply (which already holds "ok": true) and
 * returns 0, or returns -errno after ctl_error() said what went wrong (a
 * bare -errno becomes "'CMD' failed: strerror").  req is the whole request:
 * arguments are its other members.
 */
typedef int (*ctl_handler)(struct json_object *req, struct json_object *reply, void *arg);

/* Bind path (replacing a stale socket, refusing a live one) and serve. */
int ctl_init(const char *path) __tide_must_check;
void ctl_fini(void);

int ctl_register(const char *name, ctl_handler fn, void *arg) __tide_must_check;
int ctl_unregister(const char *name);

/* Put "error": message into reply; returns err, for `return ctl_error(...)`. */
int ctl_error(struct json_object *reply, int err, const char *fmt, ...) __tide_printf(3, 4);

/*
 * Optional arguments of a request: absent or null leaves *out as it is and
 * returns 0; a member of another type or out of [min, max] is -EINVAL after
 * ctl_error() said which and why.
 */
int ctl_arg_u64(struct json_object *req, struct json_object *reply, const char *key, uint64_t min,
		uint64_t max, uint64_t *out);
int ctl_arg_str(struct json_object *req, struct json_object *reply, const char *key,
		const char **out);
int ctl_arg_bool(struct json_object *req, struct json_object *reply, const char *key, bool *out);

/* Run one request object through the command table (also used by tests). */
struct json_object *ctl_dispatch(struct json_object *req);

#endif /* TIDE_CTL_H */
