// SPDX-License-Identifier: GPL-2.0
/*
 * vconn: connections and calls through the worker pool, with libvirt's test
 * driver (test:///default, or a node file of our own that can vanish).
 *   - open, a call on a worker, its result on the loop;
 *   - a libvirt that cannot be reached: on_state(false) with the URI in the
 *     error, retries with a doubling delay, up once it answers;
 *   - the connection lost (what the close callback does): down, then up
 *     again, one reconnection counted;
 *   - a call that does not return in time: -ETIMEDOUT with a sentence that
 *     names the call and the URI, its arg released only once run() is
 *     back, the call queued behind it expiring, another connection served
 *     meanwhile by a pool of one thread;
 *   - close with calls pending: they complete first, in order.
 */
#include "unit.h"

#include <stdatomic.h>
#include <sys/stat.h>

#include "../../daemon/vconn.c"

#define WATCHDOG_MS 20000

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static struct {
	char *dir;
	char node[600];
	char uri[700];
	int ups, downs;
} fx;

static const char node_xml[] =
	"<node><cpu><mode>fixed</mode><model>i686</model><active>2</active></cpu></node>\n";

static void write_node(void)
{
	FILE *f = fopen(fx.node, "w");

	assert_non_null(f);
	fputs(node_xml, f);
	fclose(f);
}

static int setup(void **state)
{
	struct work_opts wo = { .threads = 1, .shutdown_wait_ms = 2000 };

	memset(&fx, 0, sizeof(fx));
	log_set_level(LOG_LEVEL_ERR);
	fx.dir = unit_mkdtemp("vconn");
	if (!fx.dir)
		return -1;
	snprintf(fx.node, sizeof(fx.node), "%s/node.xml", fx.dir);
	snprintf(fx.uri, sizeof(fx.uri), "test://%s", fx.node);
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	if (virt_init() || work_init(&wo) || vconn_init())
		return -1;
	return 0;
}

static int teardown(void **state)
{
	vconn_fini();
	work_fini();
	virt_fini();
	loop_fini();
	unit_rmtree(fx.dir);
	return 0;
}

#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(10), 0); \
	} while (0)

static void on_state(struct vconn *vc, bool up, void *arg)
{
	if (up)
		fx.ups++;
	else
		fx.downs++;
}

static struct vconn *open_uri(const char *uri, uint32_t timeout_ms)
{
	struct vconn_opts o = { .uri = uri,
				.call_timeout_ms = timeout_ms,
				.on_state = on_state,
				.reconnect_max_ms = 2000 };
	struct vconn *vc;

	assert_int_equal(vconn_open(&o, &vc), 0);
	return vc;
}

/* ---- a call ---------------------------------------------------------------- */

struct call {
	uint32_t sleep_ms;
	atomic_int ran;
	atomic_int released;
	virNodeInfo info;
	int done_calls;
	int result;
	char err[VCONN_ERR_BYTES];
	int tag;
	int *order, *n_order;
};

static int call_run(virConnectPtr conn, void *arg)
{
	struct call *c = arg;

	atomic_store(&c->ran, 1);
	if (c->sleep_ms)
		usleep(c->sleep_ms * 1000);
	return virt_node_get_info(conn, &c->info);
}

static void call_done(int result, const char *err, void *arg)
{
	struct call *c = arg;

	c->done_calls++;
	c->result = result;
	snprintf(c->err, sizeof(c->err), "%s", err ? err : "");
	if (c->order)
		c->order[(*c->n_order)++] = c->tag;
}

static void call_release(void *arg)
{
	struct call *c = arg;

	atomic_store(&c->released, 1);
}

static const struct vconn_call node_info = { "virNodeGetInfo", call_run, call_done, call_release };

/* ---- tests ----------------------------------------------------------------- */

static void test_open_and_call(void **state)
{
	struct vconn *vc = open_uri("test:///default", 0);
	struct call c = { 0 };

	assert_false(vconn_connected(vc));
	assert_int_equal(vconn_call(vc, &node_info, &c), -ENOTCONN);
	RUN_UNTIL(vconn_connected(vc));
	assert_int_equal(fx.ups, 1);
	assert_int_equal(vconn_call(vc, &node_info, &c), 0);
	RUN_UNTIL(c.done_calls);
	assert_int_equal(c.result, 0);
	assert_true(c.info.cpus > 0);
	assert_true(atomic_load(&c.released));
	assert_int_equal(vconn_reconnects(vc), 0);
	vconn_close(vc);
}

static void test_unreachable_then_back(void **state)
{
	struct vconn *vc = open_uri(fx.uri, 0);
	uint64_t t0 = loop_now_ms();

	RUN_UNTIL(fx.downs);
	assert_false(vconn_connected(vc));
	assert_non_null(strstr(vconn_last_error(vc), fx.uri));
	/* a few tries, 500 ms then 1000 ms apart, before the file is back */
	RUN_UNTIL(loop_now_ms() - t0 >= 1200);
	assert_int_equal(vc->backoff_ms, 2000);
	assert_int_equal(fx.downs, 1); /* said once, not at every try */
	write_node();
	RUN_UNTIL(vconn_connected(vc));
	assert_int_equal(fx.ups, 1);
	assert_string_equal(vconn_last_error(vc), "");
	assert_int_equal(vc->backoff_ms, VCONN_RECONNECT_MIN_MS);
	vconn_close(vc);
}

static void test_lost_and_reconnected(void **state)
{
	struct vconn *vc;

	write_node();
	vc = open_uri(fx.uri, 0);
	RUN_UNTIL(vconn_connected(vc));
	vconn_lost(vc, VIR_CONNECT_CLOSE_REASON_EOF);
	RUN_UNTIL(fx.downs == 1);
	assert_false(vconn_connected(vc));
	assert_non_null(strstr(vconn_last_error(vc), "end of file"));
	RUN_UNTIL(vconn_connected(vc));
	assert_int_equal(fx.ups, 2);
	assert_int_equal(vconn_reconnects(vc), 1);
	vconn_close(vc);
}

static void test_call_timeout_spares_other_connections(void **state)
{
	struct vconn *peer = open_uri("test:///default", 150);
	struct vconn *local = open_uri("test:///default", 0);
	struct call stuck = { .sleep_ms = 800 }, behind = { 0 }, other = { 0 };
	uint64_t t0;

	RUN_UNTIL(vconn_connected(peer) && vconn_connected(local));
	t0 = loop_now_ms();
	assert_int_equal(vconn_call(peer, &node_info, &stuck), 0);
	assert_int_equal(vconn_call(peer, &node_info, &behind), 0);
	while (!atomic_load(&stuck.ran))
		usleep(1000);
	assert_int_equal(vconn_call(local, &node_info, &other), 0);

	RUN_UNTIL(stuck.done_calls);
	assert_int_equal(stuck.result, -ETIMEDOUT);
	assert_true(loop_now_ms() - t0 < 600);
	assert_non_null(strstr(stuck.err, "virNodeGetInfo"));
	assert_non_null(strstr(stuck.err, "'test:///default'"));
	assert_non_null(strstr(stuck.err, "did not return within 150 ms"));
	assert_false(atomic_load(&stuck.released)); /* run() still has it */
	/* a pool of one thread, and the other connection is served */
	RUN_UNTIL(other.done_calls);
	assert_int_equal(other.result, 0);
	RUN_UNTIL(behind.done_calls);
	assert_int_equal(behind.result, -ETIMEDOUT);
	assert_false(atomic_load(&behind.ran));
	assert_non_null(strstr(behind.err, "not made"));
	assert_int_equal(vconn_timeouts(peer), 2);
	assert_non_null(strstr(vconn_last_error(peer), "virNodeGetInfo"));
	RUN_UNTIL(atomic_load(&stuck.released));
	assert_int_equal(stuck.done_calls, 1);
	vconn_close(peer);
	vconn_close(local);
}

static void test_close_lets_pending_calls_finish(void **state)
{
	struct vconn *vc = open_uri("test:///default", 0);
	struct call c[4] = { 0 };
	int order[4], n_order = 0;

	RUN_UNTIL(vconn_connected(vc));
	for (int i = 0; i < 4; i++) {
		c[i] = (struct call){ .tag = i, .sleep_ms = 20, .order = order, .n_order = &n_order };
		assert_int_equal(vconn_call(vc, &node_info, &c[i]), 0);
	}
	vconn_close(vc);
	RUN_UNTIL(n_order == 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(order[i], i);
		assert_int_equal(c[i].result, 0);
		assert_true(atomic_load(&c[i].released));
	}
	RUN_UNTIL(!vcs.all);
	assert_int_equal(fx.downs, 0); /* closing is not "lost" */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_and_reconnected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_timeout_spares_other_connections, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_lets_pending_calls_finish, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("vconn", tests, NULL, NULL);
}
