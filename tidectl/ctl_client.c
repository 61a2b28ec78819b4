// SPDX-License-Identifier: GPL-2.0
/*
 * ctl_client: request/reply over the control socket.  See ctl_client.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "util.h"

static const char *connect_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return " (is tided running? -s chooses another socket)";
	case EACCES:
	case EPERM:
		return " (tided accepts root only)";
	default:
		return "";
	}
}

/* Wait for fd to be ready for events before deadline; 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline_ms - (int64_t)util_monotonic_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int ctl_client_call(const char *path, struct json_object *req, int timeout_ms,
		    struct json_object **reply, char *err, size_t err_bytes)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int64_t deadline_ms = (int64_t)util_monotonic_ms() + timeout_ms;
	const char *text;
	char *buf = NULL, *nl = NULL;
	size_t len = 0, cap = 0, sent = 0, text_len;
	struct json_object *obj;
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, err_bytes, "control socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_bytes, "cannot create a unix socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* a unix connect only waits when the backlog is full */
		if (errno == EAGAIN || errno == EINPROGRESS) {
			snprintf(err, err_bytes,
				 "cannot connect to tided at '%s': it is "
				 "not accepting connections (backlog full)",
				 path);
			ret = -EAGAIN;
		} else {
			ret = -errno;
			snprintf(err, err_bytes, "cannot connect to tided at '%s': %s%s", path,
				 strerror(errno), connect_hint(errno));
		}
		goto cleanup;
	}

	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	text_len = strlen(text);
	/* the request, then its newline */
	while (sent < text_len + 1) {
		const char *p = sent < text_len ? text + sent : "\n";
		size_t n_left = sent < text_len ? text_len - sent : 1;
		ssize_t n = send(fd, p, n_left, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(fd, POLLOUT, deadline_ms);
			if (ret == 0)
				continue;
		} else {
			ret = -errno;
		}
		snprintf(err, err_bytes, "cannot send the request to tided at '%s': %s", path,
			 ret == -ETIMEDOUT ? "timed out" : strerror(-ret));
		goto cleanup;
	}

	while (!nl) {
		ssize_t n;

		if (cap - len < 4096) {
			char *p;

			if (cap >= CTL_CLIENT_MAX_REPLY_BYTES) {
				snprintf(err, err_bytes,
					 "reply from tided at '%s' is larger than "
					 "%d bytes",
					 path, CTL_CLIENT_MAX_REPLY_BYTES);
				ret = -EMSGSIZE;
				goto cleanup;
			}
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap);
			if (!p) {
				snprintf(err, err_bytes, "out of memory");
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			nl = memchr(buf + len, '\n', (size_t)n);
			len += (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(err, err_bytes,
				 "tided at '%s' closed the connection "
				 "without a reply",
				 path);
			ret = -ECONNRESET;
			goto cleanup;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			ret = wait_fd(fd, POLLIN, deadline_ms);
			if (ret == 0)
				continue;
		} else {
			ret = -errno;
		}
		if (ret == -ETIMEDOUT)
			snprintf(err, err_bytes, "no reply from tided at '%s' within %d ms", path,
				 timeout_ms);
		else
			snprintf(err, err_bytes, "cannot read the reply from tided at '%s': %s",
				 path, strerror(-ret));
		goto cleanup;
	}
	*nl = '\0';
	obj = json_tokener_parse(buf);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		snprintf(err, err_bytes, "tided at '%s' sent a reply that is not a JSON object",
			 path);
		ret = -EPROTO;
		goto cleanup;
	}
	*reply = obj;
	ret = 0;
cleanup:
	free(buf);
	close(fd);
	return ret;
}
