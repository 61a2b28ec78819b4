/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl_client: one request, one reply, over tided's control socket.
 * Used by tidectl and by the tests of ctl.
 */
#ifndef TIDE_CTL_CLIENT_H
#define TIDE_CTL_CLIENT_H

#include <stddef.h>

#include <json-c/json.h>

#include "tide.h"

/* largest reply accepted (a full `vm show` of a big host fits easily) */
#define CTL_CLIENT_MAX_REPLY_BYTES (16 * 1024 * 1024)

/*
 * Send req to the daemon at path and wait up to timeout_ms for its reply.
 * 0 and *reply (the daemon's object, which may be {"error": ...}), or
 * -errno and a sentence in err saying what failed, with a hint:
 *     cannot connect to tided at '/run/tide/tided.sock': No such file or
 *     directory (is tided running?)
 */
int ctl_client_call(const char *path, struct json_object *req, int timeout_ms,
		    struct json_object **reply, char *err, size_t err_bytes) __tide_must_check;

#endif /* TIDE_CTL_CLIENT_H */
