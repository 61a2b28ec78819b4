// SPDX-License-Identifier: GPL-2.0
/*
 * ctl: control socket server.  See ctl.h for the protocol.
 *
 * Each client has an input buffer (at most one request line plus what
 * follows it) and an output buffer of replies not yet written.  Watches are
 * level-triggered: read while no reply is pending, write while one is.  So
 * a client that pipelines requests without reading is throttled by its own
 * socket buffer, and one that stops reading altogether only costs its
 * pending replies (capped) until the idle timeout drops it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define CTL_MAX_COMMANDS 64
#define CTL_CMD_NAME_BYTES 32
#define CTL_LISTEN_BACKLOG 16
/* accepts per loop iteration: a connection flood must not starve timers */
#define CTL_ACCEPT_BURST 16
#define CTL_READ_CHUNK_BYTES 4096
#define CTL_ERROR_BYTES 512

struct client {
	struct client *next;
	int fd;
	int watch_id;
	pid_t pid;
	uid_t uid;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t last_activity_ms;
	bool closing; /* no more requests: close once out is written */
};

struct command {
	char name[CTL_CMD_NAME_BYTES];
	ctl_handler fn;
	void *arg;
};

static struct {
	int fd;
	int watch_id;
	int sweep_id;
	char *path;
	dev_t dev;
	ino_t ino;
	/* root always, and the uid tided runs as (which can do all tided
	 * can anyway); a test turns root off to see a refusal */
	bool allow_root;
	uid_t allowed_uid;
	uint64_t idle_timeout_ms;
	struct client *clients;
	int n_clients;
	struct command cmds[CTL_MAX_COMMANDS];
	size_t n_cmds;
	bool builtins;
} cs = {
	.fd = -1,
	.idle_timeout_ms = CTL_IDLE_TIMEOUT_MS,
};

/* ---- command table ----------------------------------------------------- */

static struct command *find_command(const char *name)
{
	for (size_t i = 0; i < cs.n_cmds; i++)
		if (strcmp(cs.cmds[i].name, name) == 0)
			return &cs.cmds[i];
	return NULL;
}

int ctl_register(const char *name, ctl_handler fn, void *arg)
{
	struct command *c;

	if (!name || !fn || strlen(name) >= CTL_CMD_NAME_BYTES || !*name)
		return -EINVAL;
	if (find_command(name))
		return -EEXIST;
	if (cs.n_cmds >= CTL_MAX_COMMANDS)
		return -ENOSPC;
	c = &cs.cmds[cs.n_cmds++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fn = fn;
	c->arg = arg;
	return 0;
}

int ctl_unregister(const char *name)
{
	struct command *c = name ? find_command(name) : NULL;

	if (!c)
		return -ENOENT;
	*c = cs.cmds[--cs.n_cmds];
	return 0;
}

static void set_error(struct json_object *reply, const char *fmt, va_list ap) __tide_printf(2, 0);

static void set_error(struct json_object *reply, const char *fmt, va_list ap)
{
	char msg[CTL_ERROR_BYTES];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	json_object_object_add(reply, "error", json_object_new_string(msg));
}

int ctl_arg_u64(struct json_object *req, struct json_object *reply, const char *key, uint64_t min,
		uint64_t max, uint64_t *out)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return ctl_error(reply, -EINVAL, "'%s' must be an integer", key);
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return ctl_error(reply, -EINVAL, "'%s' must be between %llu and %llu, got %lld", key,
				 (unsigned long long)min, (unsigned long long)max, (long long)n);
	*out = (uint64_t)n;
	return 0;
}

int ctl_arg_str(struct json_object *req, struct json_object *reply, const char *key, const char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return ctl_error(reply, -EINVAL, "'%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

int ctl_arg_bool(struct json_object *req, struct json_object *reply, const char *key, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return ctl_error(reply, -EINVAL, "'%s' must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

int ctl_error(struct json_object *reply, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(reply, fmt, ap);
	va_end(ap);
	return err;
}

static struct json_object *error_reply(const char *fmt, ...) __tide_printf(1, 2);

static struct json_object *error_reply(const char *fmt, ...)
{
	struct json_object *reply = json_object_new_object();
	va_list ap;

	if (!reply)
		return NULL;
	va_start(ap, fmt);
	set_error(reply, fmt, ap);
	va_end(ap);
	return reply;
}

struct json_object *ctl_dispatch(struct json_object *req)
{
	struct json_object *cmd_obj, *reply, *err_obj;
	const struct command *cmd;
	const char *name;
	int ret;

	if (!json_object_is_type(req, json_type_object))
		return error_reply("request must be a JSON object, like {\"cmd\": \"status\"}");
	if (!json_object_object_get_ex(req, "cmd", &cmd_obj) ||
	    !json_object_is_type(cmd_obj, json_type_string))
		return error_reply("request has no \"cmd\" string, like {\"cmd\": \"status\"}");
	name = json_object_get_string(cmd_obj);
	cmd = find_command(name);
	if (!cmd)
		return error_reply("unknown command '%s' (\"commands\" lists them)", name);

	reply = json_object_new_object();
	if (!reply)
		return NULL;
	json_object_object_add(reply, "ok", json_object_new_boolean(true));
	ret = cmd->fn(req, reply, cmd->arg);
	if (ret == 0)
		return reply;

	/* failure: the reply is the error alone, never half a result */
	if (json_object_object_get_ex(reply, "error", &err_obj) &&
	    json_object_is_type(err_obj, json_type_string)) {
		struct json_object *e = error_reply("%s", json_object_get_string(err_obj));

		json_object_put(reply);
		return e;
	}
	json_object_put(reply);
	return error_reply("'%s' failed: %s", cmd->name, strerror(ret < 0 ? -ret : ret));
}

static int cmd_version(struct json_object *req, struct json_object *reply, void *arg)
{
	json_object_object_add(reply, "version", json_object_new_string(TIDE_VERSION));
	json_object_object_add(reply, "pid", json_object_new_int((int)getpid()));
	return 0;
}

static int cmd_commands(struct json_object *req, struct json_object *reply, void *arg)
{
	struct json_object *list = json_object_new_array();

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < cs.n_cmds; i++)
		json_object_array_add(list, json_object_new_string(cs.cmds[i].name));
	json_object_object_add(reply, "commands", list);
	return 0;
}

/* ---- clients ----------------------------------------------------------- */

static void client_free(struct client *c)
{
	for (struct client **pp = &cs.clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	cs.n_clients--;
	loop_remove_fd(c->watch_id);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void client_drop(struct client *c, const char *why)
{
	log_info("control connection from pid %d closed: %s", (int)c->pid, why);
	client_free(c);
}

/* Queue one reply line; -errno when the client has too much pending. */
static int client_queue(struct client *c, struct json_object *reply)
{
	const char *text;
	size_t len, need;

	if (!reply)
		return -ENOMEM;
	/* control characters in names (user input) come out as \u00XX */
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (c->out_off > 0) {
		/* reclaim what was written already */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len + 1;
	if (need > CTL_MAX_PENDING_BYTES)
		return -ENOBUFS;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

static int client_request(struct client *c, const char *line, size_t len)
{
	enum json_tokener_error jerr;
	struct json_object *req, *reply;
	struct json_tokener *tok;
	int err;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0; /* blank line: nothing asked */
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!req || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		reply = error_reply("request is not valid JSON: %s",
				    req && jerr == json_tokener_success ?
					    "text after the object" :
					    json_tokener_error_desc(jerr));
	} else {
		reply = ctl_dispatch(req);
	}
	json_object_put(req);
	json_tokener_free(tok);
	err = client_queue(c, reply);
	json_object_put(reply);
	return err;
}

/* Write what is pending; false when c was freed. */
static bool client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot write reply: %s", strerror(errno));
			client_drop(c, why);
			return false;
		}
		c->out_off += (size_t)n;
		c->last_activity_ms = loop_now_ms();
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* After any progress: write, then choose what to wait for, or close.
 * false when c was freed. */
static bool client_update(struct client *c)
{
	unsigned int events = 0;

	if (!client_flush(c))
		return false;
	if (c->closing && c->out_len == 0) {
		client_free(c);
		return false;
	}
	if (c->out_len > 0)
		events |= LOOP_OUT;
	else if (!c->closing)
		events |= LOOP_IN;
	loop_modify_fd(c->watch_id, events);
	return true;
}

/* Answer every complete line in the input buffer. */
static int client_process(struct client *c, bool eof)
{
	size_t start = 0;
	int err = 0;

	while (!c->closing && start < c->in_len) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		size_t len;

		if (!nl) {
			if (!eof)
				break;
			/* the last request of a client that shut down its
			 * write side may lack its newline */
			len = c->in_len - start;
		} else {
			len = (size_t)(nl - (c->in + start));
		}
		if (len > CTL_MAX_REQUEST_BYTES)
			break; /* refused below */
		err = client_request(c, c->in + start, len);
		if (err)
			return err;
		start += len + (nl ? 1 : 0);
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > CTL_MAX_REQUEST_BYTES) {
		struct json_object *reply = error_reply("request larger than %d bytes refused",
							CTL_MAX_REQUEST_BYTES);

		log_warn("control connection from pid %d sent a request larger than %d bytes; "
			 "closing it",
			 (int)c->pid, CTL_MAX_REQUEST_BYTES);
		err = client_queue(c, reply);
		json_object_put(reply);
		c->closing = true;
		c->in_len = 0;
	}
	return err;
}

static void on_client(int fd, unsigned int revents, void *arg)
{
	struct client *c = arg;
	bool eof = false;
	ssize_t n;
	int err;

	/* writable, or gone (then the write fails and drops it): a hang-up
	 * while replies are pending must not leave a level-triggered watch
	 * reporting it forever */
	if ((revents & (LOOP_OUT | LOOP_HUP | LOOP_ERR)) && c->out_len > 0) {
		if (!client_update(c))
			return;
	}
	if (!(revents & (LOOP_IN | LOOP_HUP | LOOP_ERR)) || c->closing || c->out_len > 0)
		return;

	if (c->in_cap - c->in_len < CTL_READ_CHUNK_BYTES) {
		/* room for one request line and the start of the next */
		size_t cap = c->in_cap ? c->in_cap * 2 : CTL_READ_CHUNK_BYTES * 2;
		char *p;

		if (cap > CTL_MAX_REQUEST_BYTES + 2 * CTL_READ_CHUNK_BYTES)
			cap = CTL_MAX_REQUEST_BYTES + 2 * CTL_READ_CHUNK_BYTES;
		p = realloc(c->in, cap);
		if (!p) {
			client_drop(c, "out of memory");
			return;
		}
		c->in = p;
		c->in_cap = cap;
	}
	n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0) {
		char why[128];

		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		snprintf(why, sizeof(why), "cannot read request: %s", strerror(errno));
		client_drop(c, why);
		return;
	}
	if (n == 0)
		eof = true;
	c->in_len += (size_t)n;
	c->last_activity_ms = loop_now_ms();

	err = client_process(c, eof);
	if (err) {
		client_drop(c, err == -ENOBUFS ? "too many replies pending (client not reading)" :
						 strerror(-err));
		return;
	}
	if (eof)
		c->closing = true;
	client_update(c);
}

/* Say no in one line and hang up (best effort: the socket is new, its
 * buffer empty, so the line fits). */
static void refuse(int fd, const char *msg)
{
	struct json_object *reply = error_reply("%s", msg);

	if (reply) {
		const char *text = json_object_to_json_string_ext(
			reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		(void)!send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)!send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		json_object_put(reply);
	}
	close(fd);
}

static bool peer_allowed(uid_t uid)
{
	return (cs.allow_root && uid == 0) || uid == cs.allowed_uid;
}

static void on_listen(int fd, unsigned int revents, void *arg)
{
	for (int i = 0; i < CTL_ACCEPT_BURST; i++) {
		struct ucred cred;
		socklen_t cred_len = sizeof(cred);
		struct client *c;
		char msg[256];
		int cfd, err;

		/* cppcheck-suppress nullPointer ; gnu.cfg wrongly wants addrlen, see accept4(2) */
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("cannot accept on control socket '%s': %s", cs.path,
					 strerror(errno));
			return;
		}
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
			log_warn("cannot get the credentials of a control client: %s; refusing it",
				 strerror(errno));
			close(cfd);
			continue;
		}
		if (!peer_allowed(cred.uid)) {
			log_warn("refused control connection from pid %d uid %d: only root may "
				 "use '%s'",
				 (int)cred.pid, (int)cred.uid, cs.path);
			if (cs.allow_root && cs.allowed_uid == 0)
				snprintf(msg, sizeof(msg),
					 "permission denied: tided accepts "
					 "control requests from root only, you are uid %d",
					 (int)cred.uid);
			else
				snprintf(msg, sizeof(msg),
					 "permission denied: tided accepts "
					 "control requests from uid %d only, you are uid %d",
					 (int)cs.allowed_uid, (int)cred.uid);
			refuse(cfd, msg);
			continue;
		}
		if (cs.n_clients >= CTL_MAX_CLIENTS) {
			log_warn("refused control connection from pid %d: already %d connections",
				 (int)cred.pid, cs.n_clients);
			snprintf(msg, sizeof(msg), "too many control connections (%d); try again",
				 CTL_MAX_CLIENTS);
			refuse(cfd, msg);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(cfd, "out of memory");
			continue;
		}
		c->fd = cfd;
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->last_activity_ms = loop_now_ms();
		err = loop_add_fd(cfd, LOOP_IN, on_client, c, &c->watch_id);
		if (err) {
			log_warn("cannot watch control connection from pid %d: %s", (int)cred.pid,
				 strerror(-err));
			free(c);
			refuse(cfd, "tided cannot serve this connection now");
			continue;
		}
		c->next = cs.clients;
		cs.clients = c;
		cs.n_clients++;
		log_debug("control connection from pid %d", (int)cred.pid);
	}
}

static void sweep_idle(void *arg)
{
	uint64_t now = loop_now_ms();
	struct client *c = cs.clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (now - c->last_activity_ms >= cs.idle_timeout_ms)
			client_drop(c, c->out_len ? "not reading its replies" : "idle");
	}
}

/* ---- the socket -------------------------------------------------------- */

/* Is something accepting on path?  Connect and see. */
static bool socket_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ||
	       (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

/*
 * bind() found the path taken.  A socket nothing listens on is the remains
 * of a crashed tided: replace it.  A live one, or anything that is not a
 * socket, stays.  0 once fd is bound, else -errno (logged).
 */
static int replace_stale(int fd, const struct sockaddr_un *addr)
{
	const char *path = addr->sun_path;
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_err("cannot use '%s' as control socket: it exists and is not a "
			"socket; not replacing it",
			path);
		return -EEXIST;
	}
	if (socket_is_live(addr)) {
		log_err("control socket '%s' is in use: something listens on it (another "
			"tided?); stop it first, or choose another control_socket",
			path);
		return -EADDRINUSE;
	}
	log_notice("removing stale control socket '%s' (nothing listens on it)", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		log_err("cannot remove stale control socket '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		log_err("cannot bind control socket '%s': %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int bind_socket(const char *path, int *out_fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[sizeof(addr.sun_path)], failed[sizeof(addr.sun_path)] = "";
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_err("control socket path '%s' is longer than %zu bytes", path,
			sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	err = util_dirname(path, dir, sizeof(dir));
	if (!err)
		err = util_mkdir_p(dir, 0755, failed, sizeof(failed));
	if (err) {
		log_err("cannot create directory '%s' for control socket '%s': %s",
			failed[0] ? failed : dir, path, strerror(-err));
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_err("cannot create a unix socket: %s", strerror(errno));
		return err;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		if (err == -EADDRINUSE)
			err = replace_stale(fd, &addr);
		else
			log_err("cannot bind control socket '%s': %s", path, strerror(-err));
		if (err)
			goto cleanup;
	}
	/* before listen(): no one can connect while the mode is still wide */
	if (chmod(path, 0600) < 0 || listen(fd, CTL_LISTEN_BACKLOG) < 0) {
		err = -errno;
		log_err("cannot set up control socket '%s': %s", path, strerror(errno));
		unlink(path);
		goto cleanup;
	}
	*out_fd = fd;
	return 0;
cleanup:
	close(fd);
	return err;
}

int ctl_init(const char *path)
{
	struct stat st;
	int err;

	if (cs.fd >= 0)
		return -EALREADY;
	cs.allow_root = true;
	cs.allowed_uid = geteuid();
	if (!cs.builtins) {
		err = ctl_register("version", cmd_version, NULL);
		if (!err)
			err = ctl_register("commands", cmd_commands, NULL);
		if (err)
			return err;
		cs.builtins = true;
	}
	cs.path = strdup(path);
	if (!cs.path)
		return -ENOMEM;
	err = bind_socket(path, &cs.fd);
	if (err)
		goto cleanup;
	if (stat(path, &st) == 0) {
		cs.dev = st.st_dev;
		cs.ino = st.st_ino;
	}
	err = loop_add_fd(cs.fd, LOOP_IN, on_listen, NULL, &cs.watch_id);
	if (err) {
		log_err("cannot watch control socket '%s': %s", path, strerror(-err));
		goto cleanup;
	}
	err = loop_add_periodic(cs.idle_timeout_ms / 4 ? cs.idle_timeout_ms / 4 : 1, 0, sweep_idle,
				NULL, &cs.sweep_id);
	if (err) {
		log_err("cannot arm the control socket's idle timer: %s", strerror(-err));
		goto cleanup;
	}
	log_info("control socket listening on '%s'", path);
	return 0;
cleanup:
	ctl_fini();
	return err;
}

void ctl_fini(void)
{
	struct stat st;

	while (cs.clients)
		client_free(cs.clients);
	if (cs.sweep_id > 0)
		loop_remove_timer(cs.sweep_id);
	if (cs.fd >= 0) {
		loop_remove_fd(cs.watch_id);
		close(cs.fd);
		/* only our own socket: a successor may have replaced it */
		if (cs.path && stat(cs.path, &st) == 0 && st.st_ino == cs.ino && st.st_dev == cs.dev)
			unlink(cs.path);
	}
	free(cs.path);
	cs.path = NULL;
	cs.fd = -1;
	cs.watch_id = 0;
	cs.sweep_id = 0;
	cs.n_clients = 0;
	cs.n_cmds = 0;
	cs.builtins = false;
}
