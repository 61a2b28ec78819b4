// SPDX-License-Identifier: GPL-2.0
/*
 * ctl: request/reply over a real unix socket in a temporary directory.
 *
 * The server runs in the test's loop on the main thread; each client runs
 * in a thread (blocking sockets, as tidectl), records what it saw, and the
 * main thread asserts after joining it (cmocka is not thread-safe).  ctl.c
 * is included to reach the allowed uid and the idle timeout.
 */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../../daemon/ctl.c"
#include "ctl_client.h"

#define WATCHDOG_MS 10000
#define CLIENT_TIMEOUT_S 5

struct fixture {
	char *dir;
	char *sock;
};

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup_loop(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	log_set_level(LOG_LEVEL_ERR);
	f->dir = unit_mkdtemp("ctl");
	if (!f->dir || asprintf(&f->sock, "%s/run/tided.sock", f->dir) < 0)
		return -1;
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f;

	if (setup_loop(state))
		return -1;
	f = *state;
	return ctl_init(f->sock);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ctl_fini();
	loop_fini();
	unit_rmtree(f->dir);
	free(f->sock);
	free(f);
	return 0;
}

/* ---- client side (threads) --------------------------------------------- */

struct client_run {
	const char *sock;
	void (*fn)(struct client_run *r);
	atomic_bool done;
	/* results */
	int ret;
	char err[512];
	char line[2][70000];
	int n_lines;
	bool eof;
	char *reply_text;
	/* for the slow-reader test */
	int hold_fd;
};

static void *client_main(void *arg)
{
	struct client_run *r = arg;

	r->fn(r);
	atomic_store(&r->done, true);
	return NULL;
}

/* Start r in a thread and serve it from the loop until it is done. */
static void run_client(struct client_run *r)
{
	pthread_t thread;

	assert_int_equal(pthread_create(&thread, NULL, client_main, r), 0);
	while (!atomic_load(&r->done))
		assert_int_equal(loop_run_once(10), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read reply lines until n are in or the server hangs up. */
static void raw_read_lines(struct client_run *r, int fd, int n)
{
	char buf[70000 * 2];
	size_t len = 0;

	while (r->n_lines < n) {
		ssize_t got = recv(fd, buf + len, sizeof(buf) - len - 1, 0);
		char *nl;

		if (got <= 0) {
			r->eof = got == 0;
			return;
		}
		len += (size_t)got;
		buf[len] = '\0';
		while (r->n_lines < n && (nl = strchr(buf, '\n'))) {
			size_t line_len = (size_t)(nl - buf);

			if (line_len >= sizeof(r->line[0]))
				line_len = sizeof(r->line[0]) - 1;
			memcpy(r->line[r->n_lines], buf, line_len);
			r->line[r->n_lines++][line_len] = '\0';
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
}

static void raw_expect_eof(struct client_run *r, int fd)
{
	char c;

	r->eof = recv(fd, &c, 1, 0) == 0;
}

static void call(struct client_run *r, const char *req_text)
{
	struct json_object *req = json_tokener_parse(req_text), *reply = NULL;

	r->ret = ctl_client_call(r->sock, req, CLIENT_TIMEOUT_S * 1000, &reply, r->err,
				 sizeof(r->err));
	if (!r->ret)
		r->reply_text = strdup(json_object_to_json_string_ext(
			reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(reply);
	json_object_put(req);
}

/* ---- tests ------------------------------------------------------------- */

static void client_version(struct client_run *r)
{
	call(r, "{\"cmd\": \"version\"}");
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_version };
	struct json_object *reply, *v;
	struct stat st;

	run_client(&r);
	assert_int_equal(r.ret, 0);
	reply = json_tokener_parse(r.reply_text);
	assert_non_null(reply);
	assert_true(json_object_get_boolean(json_object_object_get(reply, "ok")));
	assert_true(json_object_object_get_ex(reply, "version", &v));
	assert_string_equal(json_object_get_string(v), TIDE_VERSION);
	assert_int_equal(json_object_get_int(json_object_object_get(reply, "pid")), getpid());
	json_object_put(reply);
	free(r.reply_text);

	/* root only: the socket is 0600 */
	assert_int_equal(stat(f->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static int cmd_echo(struct json_object *req, struct json_object *reply, void *arg)
{
	struct json_object *name;

	if (!json_object_object_get_ex(req, "name", &name))
		return ctl_error(reply, -EINVAL, "echo needs a \"name\"");
	json_object_object_add(reply, "name", json_object_get(name));
	return 0;
}

static int cmd_broken(struct json_object *req, struct json_object *reply, void *arg)
{
	/* half a result, then a failure: the client must see only the error */
	json_object_object_add(reply, "partial", json_object_new_int(1));
	return -EIO;
}

static void client_pipeline(struct client_run *r)
{
	/* two requests in one write, the second with control characters in a
	 * name (user input): both answered, in order, escaped as \u00XX */
	static const char reqs[] = "{\"cmd\":\"echo\",\"name\":\"vm\\u0001\\u001b[31m\"}\n"
				   "{\"cmd\":\"broken\"}\r\n";
	int fd = raw_connect(r->sock);

	if (fd < 0)
		return;
	if (send(fd, reqs, sizeof(reqs) - 1, 0) == (ssize_t)sizeof(reqs) - 1)
		raw_read_lines(r, fd, 2);
	close(fd);
}

static void test_pipelined_requests_and_escaping(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_pipeline };

	assert_int_equal(ctl_register("echo", cmd_echo, NULL), 0);
	assert_int_equal(ctl_register("broken", cmd_broken, NULL), 0);
	assert_int_equal(ctl_register("echo", cmd_echo, NULL), -EEXIST);
	run_client(&r);
	assert_int_equal(r.n_lines, 2);
	assert_string_equal(r.line[0], "{\"ok\":true,\"name\":\"vm\\u0001\\u001b[31m\"}");
	assert_string_equal(r.line[1], "{\"error\":\"'broken' failed: Input/output error\"}");
}

static void client_errors(struct client_run *r)
{
	static const char reqs[] = "{\"cmd\":\"nope\"}\n"
				   "{\"cmd\":\"version\"\n"
				   "[1,2]\n"
				   "{\"cmd\":\"echo\"}\n"
				   "{\"cmd\":\"version\"} trailing\n";
	int fd = raw_connect(r->sock);

	if (fd < 0)
		return;
	if (send(fd, reqs, sizeof(reqs) - 1, 0) == (ssize_t)sizeof(reqs) - 1) {
		/* the connection survives every one of these */
		raw_read_lines(r, fd, 2);
		raw_read_lines(r, fd, 2);
	}
	close(fd);
}

static void test_bad_requests_get_error_replies(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_errors };

	/* only 2 lines fit in the record: check the first two, then the rest */
	assert_int_equal(ctl_register("echo", cmd_echo, NULL), 0);
	run_client(&r);
	assert_int_equal(r.n_lines, 2);
	assert_string_equal(r.line[0],
			    "{\"error\":\"unknown command 'nope' (\\\"commands\\\" lists them)\"}");
	assert_non_null(strstr(r.line[1], "{\"error\":\"request is not valid JSON: "));

	/* the rest, directly through the dispatcher */
	{
		struct json_object *req = json_tokener_parse("[1,2]");
		struct json_object *reply = ctl_dispatch(req);

		assert_string_equal(
			json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN),
			"{\"error\":\"request must be a JSON object, like {\\\"cmd\\\": \\\"status\\\"}\"}");
		json_object_put(reply);
		json_object_put(req);
		req = json_tokener_parse("{\"cmd\":\"echo\"}");
		reply = ctl_dispatch(req);
		assert_string_equal(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN),
				    "{\"error\":\"echo needs a \\\"name\\\"\"}");
		json_object_put(reply);
		json_object_put(req);
	}
}

static void client_oversize(struct client_run *r)
{
	size_t big = CTL_MAX_REQUEST_BYTES + 5000;
	char *buf = malloc(big);
	int fd = raw_connect(r->sock);

	if (fd < 0 || !buf)
		goto out;
	memset(buf, 'x', big);
	memcpy(buf, "{\"cmd\":\"version\",\"pad\":\"", 24);
	/* no newline: the server must not wait for one forever */
	if (send(fd, buf, big, 0) > 0) {
		raw_read_lines(r, fd, 1);
		raw_expect_eof(r, fd);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void test_oversize_request_refused(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_oversize };
	char want[128];

	run_client(&r);
	assert_int_equal(r.n_lines, 1);
	snprintf(want, sizeof(want), "{\"error\":\"request larger than %d bytes refused\"}",
		 CTL_MAX_REQUEST_BYTES);
	assert_string_equal(r.line[0], want);
	assert_true(r.eof);
	assert_int_equal(cs.n_clients, 0);
}

static void client_unknown_via_library(struct client_run *r)
{
	call(r, "{\"cmd\": \"frobnicate\"}");
}

static void test_unknown_command_error_json(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_unknown_via_library };

	run_client(&r);
	/* the transport worked; the daemon's answer is the error */
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.reply_text,
			    "{\"error\":\"unknown command 'frobnicate' (\\\"commands\\\" lists them)\"}");
	free(r.reply_text);
}

static void client_one_line(struct client_run *r)
{
	int fd = raw_connect(r->sock);

	if (fd < 0)
		return;
	/* shut our side without a newline: still answered */
	if (send(fd, "{\"cmd\":\"commands\"}", 18, 0) == 18 && shutdown(fd, SHUT_WR) == 0) {
		raw_read_lines(r, fd, 1);
		raw_expect_eof(r, fd);
	}
	close(fd);
}

static void test_last_request_without_newline(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_one_line };

	run_client(&r);
	assert_int_equal(r.n_lines, 1);
	assert_string_equal(r.line[0], "{\"ok\":true,\"commands\":[\"version\",\"commands\"]}");
	assert_true(r.eof);
}

static void client_refused(struct client_run *r)
{
	int fd = raw_connect(r->sock);

	if (fd < 0)
		return;
	raw_read_lines(r, fd, 1);
	raw_expect_eof(r, fd);
	close(fd);
}

static void test_peer_not_allowed_is_refused(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_refused };
	char want[256];

	/* we are root: pretend only uid 4242 may connect */
	cs.allow_root = false;
	cs.allowed_uid = 4242;
	run_client(&r);
	assert_int_equal(r.n_lines, 1);
	snprintf(want, sizeof(want),
		 "{\"error\":\"permission denied: tided accepts control "
		 "requests from uid 4242 only, you are uid %d\"}",
		 (int)getuid());
	assert_string_equal(r.line[0], want);
	assert_true(r.eof);
	assert_int_equal(cs.n_clients, 0);
}

static void client_idle(struct client_run *r)
{
	int fd = raw_connect(r->sock);

	if (fd < 0)
		return;
	raw_expect_eof(r, fd); /* send nothing; wait to be dropped */
	close(fd);
}

static void test_idle_client_dropped(void **state)
{
	struct fixture *f = *state;
	struct client_run r = { .sock = f->sock, .fn = client_idle };

	ctl_fini();
	cs.idle_timeout_ms = 100;
	assert_int_equal(ctl_init(f->sock), 0);
	run_client(&r);
	cs.idle_timeout_ms = CTL_IDLE_TIMEOUT_MS;
	assert_true(r.eof);
	assert_int_equal(cs.n_clients, 0);
}

static void client_flood_no_read(struct client_run *r)
{
	char req[] = "{\"cmd\":\"commands\"}\n";
	int sent = 0;

	r->hold_fd = raw_connect(r->sock);
	if (r->hold_fd < 0)
		return;
	/* never read: fill the socket until the kernel pushes back */
	while (sent < 200000) {
		if (send(r->hold_fd, req, sizeof(req) - 1, MSG_DONTWAIT) < 0)
			break;
		sent++;
	}
	r->ret = sent;
}

static void test_client_that_does_not_read_cannot_stall(void **state)
{
	struct fixture *f = *state;
	struct client_run flood = { .sock = f->sock, .fn = client_flood_no_read };
	struct client_run other = { .sock = f->sock, .fn = client_version };

	run_client(&flood);
	assert_true(flood.ret > 0);
	/* the daemon keeps serving others meanwhile */
	run_client(&other);
	assert_int_equal(other.ret, 0);
	assert_non_null(strstr(other.reply_text, "\"ok\":true"));
	free(other.reply_text);
	assert_true(cs.n_clients >= 1);

	/* it hangs up with replies pending: dropped, not polled forever */
	close(flood.hold_fd);
	while (cs.n_clients > 0)
		assert_int_equal(loop_run_once(10), 0);
}

static void test_stale_socket_replaced_live_one_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	ctl_fini();
	/* stale: bound once, nobody listening any more */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	assert_int_equal(ctl_init(f->sock), 0);
	ctl_fini();

	/* live: someone listens there */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(ctl_init(f->sock), -EADDRINUSE);
	close(fd);
	unlink(f->sock);

	/* not a socket: left alone */
	close(open(f->sock, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(ctl_init(f->sock), -EEXIST);
	unlink(f->sock);
	assert_int_equal(ctl_init(f->sock), 0);
}

static void test_client_library_errors(void **state)
{
	struct fixture *f = *state;
	struct json_object *req = json_tokener_parse("{\"cmd\":\"version\"}"), *reply = NULL;
	char err[512], *missing, *want;

	assert_int_equal(asprintf(&missing, "%s/absent.sock", f->dir) > 0, 1);
	assert_int_equal(ctl_client_call(missing, req, 1000, &reply, err, sizeof(err)), -ENOENT);
	assert_int_equal(asprintf(&want,
				  "cannot connect to tided at '%s': No such file or "
				  "directory (is tided running? -s chooses another socket)",
				  missing) > 0,
			 1);
	assert_string_equal(err, want);
	assert_null(reply);
	free(want);
	free(missing);
	json_object_put(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_requests_and_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_get_error_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_request_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command_error_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_request_without_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_not_allowed_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_client_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_that_does_not_read_cannot_stall, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced_live_one_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_library_errors, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
