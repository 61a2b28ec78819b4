// SPDX-License-Identifier: GPL-2.0
/*
 * tidectl: whole commands (options, request, reply, printer, exit status)
 * against a fake tided that answers each command with a canned reply over
 * a real unix socket.  The point is what a reply lacking a member does: an
 * error naming the member and the command, on stderr with a failing exit
 * and nothing on stdout, or {"error": ...} on stdout in JSON mode; never a
 * figure made up.  tidectl.c is included, its main() renamed, to reach its
 * command table.
 */
#include "unit.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#define main tidectl_main
#include "../../tidectl/tidectl.c"
#undef main

#include "capture.h"
#include "tidectl_replies.h"

#define MAX_CANNED 4

/* the fake tided: a reply per command */
static struct {
	char *dir, *sock;
	int listen_fd;
	pthread_t thread;
	atomic_bool stop;
	struct {
		const char *cmd;
		char *reply; /* owned */
	} canned[MAX_CANNED];
	int n_canned;
	atomic_int served;
} fake;

static void serve_one(int fd)
{
	char req[4096];
	size_t len = 0;
	const char *reply = "{\"error\": \"no such command\"}";
	struct json_object *o, *cmd;

	/* tidectl sends one line and waits */
	while (len + 1 < sizeof(req) && !memchr(req, '\n', len)) {
		ssize_t n = recv(fd, req + len, sizeof(req) - len - 1, 0);

		if (n <= 0)
			return;
		len += (size_t)n;
	}
	req[len] = '\0';
	o = json_tokener_parse(req);
	if (o && json_object_object_get_ex(o, "cmd", &cmd)) {
		for (int i = 0; i < fake.n_canned; i++)
			if (!strcmp(json_object_get_string(cmd), fake.canned[i].cmd))
				reply = fake.canned[i].reply;
	}
	json_object_put(o);
	/* counted before the client can see its reply and go on */
	atomic_fetch_add(&fake.served, 1);
	(void)!write(fd, reply, strlen(reply));
	(void)!write(fd, "\n", 1);
}

static void *fake_main(void *arg)
{
	while (!atomic_load(&fake.stop)) {
		struct pollfd p = { .fd = fake.listen_fd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(fake.listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

/* cmd answered with text, less the top-level member drop (NULL: none) */
static void can(const char *cmd, const char *text, const char *drop)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	assert_true(fake.n_canned < MAX_CANNED);
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	if (drop)
		json_object_object_del(o, drop);
	fake.canned[fake.n_canned].cmd = cmd;
	fake.canned[fake.n_canned].reply = strdup(
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fake.n_canned++;
	json_object_put(o);
}

static int setup(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(&fake, 0, sizeof(fake));
	fake.dir = unit_mkdtemp("tidectl");
	if (!fake.dir || asprintf(&fake.sock, "%s/tided.sock", fake.dir) < 0)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fake.sock);
	fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake.listen_fd < 0 || bind(fake.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fake.listen_fd, 8))
		return -1;
	if (pthread_create(&fake.thread, NULL, fake_main, NULL))
		return -1;
	return cap_open();
}

static int teardown(void **state)
{
	atomic_store(&fake.stop, true);
	pthread_join(fake.thread, NULL);
	close(fake.listen_fd);
	for (int i = 0; i < fake.n_canned; i++)
		free(fake.canned[i].reply);
	unit_rmtree(fake.dir);
	free(fake.sock);
	cap_close();
	return 0;
}

/* tidectl's main() with the output captured: its exit status */
static int run(int argc, char **argv)
{
	int first;

	cli_reset("tidectl");
	cli_help_fn = do_help;
	cli.out = cap.out;
	cli.err = cap.err;
	cli.socket_path = fake.sock;
	first = cli_parse_opts(argc, argv);
	if (first < 0 || top_parse_opts())
		return 1;
	return cmd_select(cmds, argc - first, argv + first, do_help) ? 1 : 0;
}

#define RUN(...)                                                  \
	({                                                        \
		char *_argv[] = { "tidectl", __VA_ARGS__, NULL }; \
		run((int)ARRAY_SIZE(_argv) - 1, _argv);           \
	})

#define MISSING(cmd, key)                                                    \
	"tided's reply to '" cmd "' has no '" key "' (tided and tidectl of " \
	"different versions? see 'tidectl version')"

static void test_whole_replies_print(void **state)
{
	can("host show", host_reply, NULL);
	can("vm show", vms_reply, NULL);
	can("status", status_reply, NULL);
	assert_int_equal(RUN("host", "show"), 0);
	assert_non_null(strstr(out_text(), "host h1: 2 CPUs, 24.0 GiB memory (23.0 GiB available)\n"));
	assert_int_equal(RUN("vm"), 0);
	assert_non_null(strstr(out_text(), "\nweb-1    running         2   256 MiB   12.3%"));
	assert_int_equal(RUN("top", "--once", "-S", "net"), 0);
	assert_non_null(strstr(out_text(), "sorted by net"));
	assert_int_equal(RUN("status"), 0);
	assert_non_null(strstr(out_text(), "tided 1.2-3, pid 4242, up 1h 02m 05s\n"));
	assert_non_null(
		strstr(out_text(),
		       "peers:           h2 (qemu+tcp://h2/system): connected, read 1200 ms ago, 8 CPUs\n"
		       "                 h3 (qemu+tcp://10.0.0.3/system): NOT connected\n"
		       "                   last error: cannot connect to libvirt at "
		       "'qemu+tcp://10.0.0.3/system': no answer within 1500 ms\n"));
	assert_non_null(strstr(out_text(), "host CPUs:       the machine's online CPUs\n"));
	assert_non_null(
		strstr(out_text(),
		       "loop lateness:   12 ms at most, 0 of 3725 ticks later than one tick\n"));
	assert_non_null(
		strstr(out_text(),
		       "libvirt workers: 4 threads, 1 busy, 1 stuck; 812 calls, 3 timed out\n"));
	assert_non_null(strstr(out_text(), "libvirt link:    connected, 2 VMs tracked\n"));
	assert_non_null(strstr(out_text(), "collectors:      cpu bpf, net bpf, kvm off\n"));
	assert_non_null(strstr(out_text(), "features:        tp_btf raw_tp\nmissing:         kvm\n"));
	assert_string_equal(err_text(), "");
	assert_int_equal(atomic_load(&fake.served), 5);
}

static void test_missing_member_plain(void **state)
{
	can("host show", host_reply, "load_ratio");
	assert_int_equal(RUN("host", "show"), 1);
	/* nothing half-printed: the error alone */
	assert_string_equal(out_text(), "");
	assert_string_equal(err_text(), "Error: " MISSING("host show", "load_ratio") "\n");
}

static void test_missing_member_status_and_version(void **state)
{
	can("status", status_reply, "peers");
	can("version", "{\"version\": \"1.2-3\"}", NULL);
	assert_int_equal(RUN("status"), 1);
	assert_string_equal(out_text(), "");
	assert_string_equal(err_text(), "Error: " MISSING("status", "peers") "\n");
	assert_int_equal(RUN("version"), 1);
	assert_non_null(strstr(err_text(), "Error: " MISSING("version", "pid") "\n"));
	assert_string_equal(out_text(), "");
}

static void test_missing_member_nested(void **state)
{
	struct json_object *o = json_tokener_parse(vms_reply), *vm;
	char *text;

	/* the second VM lacks a figure the table prints */
	vm = json_object_array_get_idx(json_object_object_get(o, "vms"), 1);
	json_object_object_del(vm, "tx_bytes_per_s");
	text = strdup(json_object_to_json_string(o));
	can("vm show", text, NULL);
	assert_int_equal(RUN("vm", "show"), 1);
	assert_string_equal(out_text(), "");
	assert_string_equal(err_text(), "Error: " MISSING("vm show", "tx_bytes_per_s") "\n");
	free(text);
	json_object_put(o);
}

static void test_missing_member_json_mode(void **state)
{
	can("host show", host_reply, NULL);
	can("vm show", vms_reply, "vms");
	/* top -j reads the VMs out of the vm show reply */
	assert_int_equal(RUN("-j", "top", "--once"), 1);
	assert_string_equal(out_text(), "{\"error\":\"" MISSING("vm show", "vms") "\"}\n");
	assert_string_equal(err_text(), "");
}

static void test_json_mode_prints_replies_as_they_are(void **state)
{
	/* -j is tided's reply itself: tidectl reads no member of it */
	can("host show", host_reply, "load_ratio");
	assert_int_equal(RUN("-j", "host", "show"), 0);
	assert_non_null(strstr(out_text(), "\"hostname\":\"h1\""));
	assert_null(strstr(out_text(), "load_ratio"));
	assert_null(strstr(out_text(), "\"ok\""));
}

static void test_tided_error_and_unreachable(void **state)
{
	can("vm show", "{\"error\": \"no VM 'x' on this host (by name or uuid)\"}", NULL);
	assert_int_equal(RUN("vm", "show", "x"), 1);
	assert_string_equal(err_text(), "Error: no VM 'x' on this host (by name or uuid)\n");
	/* version: tided's part is a bonus, unreachable is not an error */
	unlink(fake.sock);
	assert_int_equal(RUN("version"), 0);
	assert_non_null(strstr(out_text(), "tided   unreachable: cannot connect to tided at '"));
}

static void test_bad_sort_for_any_command(void **state)
{
	assert_int_equal(RUN("--sort", "disk", "status"), 1);
	assert_string_equal(err_text(), "Error: option '--sort' needs one of cpu, wait, net, "
					"got 'disk'\n");
	assert_int_equal(atomic_load(&fake.served), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_replies_print, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_status_and_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_member_json_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_mode_prints_replies_as_they_are, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tided_error_and_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sort_for_any_command, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("tidectl", tests, NULL, NULL);
}
