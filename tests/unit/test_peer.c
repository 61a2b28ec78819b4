// SPDX-License-Identifier: GPL-2.0
/*
 * peer and lag: the peers' node figures as status shows them, and the
 * loop's timer lateness.
 *   - a peer that answers (libvirt's test driver): connected, its cpus and
 *     memory, the age of the answer, no error;
 *   - a peer that cannot be reached: not connected, polls failing with a
 *     sentence that names the peer and its URI;
 *   - a reload keeps the connection of a peer that stays, drops the others;
 *   - lag: a callback that blocks the loop for 250 ms shows as a tick late
 *     by more than one 50 ms interval; an idle loop has none.
 */
#include "unit.h"

#include "../../daemon/peer.c"
#include "lag.h"
#include "work.h"

#define WATCHDOG_MS 20000

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	if (virt_init() || work_init(NULL) || vconn_init())
		return -1;
	return 0;
}

static int teardown(void **state)
{
	peer_fini();
	lag_fini();
	vconn_fini();
	work_fini();
	virt_fini();
	loop_fini();
	return 0;
}

#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(10), 0); \
	} while (0)

static struct json_object *fields(const char *name)
{
	struct json_object *o = json_object_new_object();

	assert_non_null(o);
	peer_fill_json(name, o);
	return o;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int64(v);
}

static struct conf_peer two[] = {
	{ .name = "h2", .uri = "test:///default" },
	{ .name = "gone", .uri = "test:///nonexistent/node.xml" },
};

static void test_peer_figures_and_errors(void **state)
{
	struct peer_opts o = { .peers = two, .n_peers = 2, .poll_ms = 100 };
	struct json_object *h2, *gone;
	struct vconn *kept;

	assert_int_equal(peer_init(&o), 0);
	RUN_UNTIL(ps.peers[0]->polls_ok && ps.peers[1]->polls_failed);
	h2 = fields("h2");
	assert_true(json_object_get_boolean(json_object_object_get(h2, "connected")));
	assert_true(num(h2, "cpus") > 0);
	assert_true(num(h2, "memory_bytes") > 0);
	assert_true(num(h2, "last_ok_age_ms") < 1000);
	assert_string_equal(str(h2, "last_error"), "");
	gone = fields("gone");
	assert_false(json_object_get_boolean(json_object_object_get(gone, "connected")));
	assert_null(json_object_object_get(gone, "last_ok_age_ms"));
	assert_non_null(strstr(str(gone, "last_error"), "peer 'gone'"));
	assert_non_null(strstr(str(gone, "last_error"), "test:///nonexistent/node.xml"));
	json_object_put(h2);
	json_object_put(gone);

	/* reload: h2 stays (same connection), gone goes */
	kept = ps.peers[0]->vc;
	assert_int_equal(peer_reconfigure(two, 1), 0);
	assert_int_equal(ps.n_peers, 1);
	assert_ptr_equal(ps.peers[0]->vc, kept);
	gone = fields("gone");
	assert_null(json_object_object_get(gone, "connected"));
	json_object_put(gone);
}

static void block_loop(void *arg)
{
	usleep(250 * 1000);
}

static void test_lag_sees_a_blocked_loop(void **state)
{
	struct lag_stats st;
	uint64_t t0 = loop_now_ms();
	int id;

	assert_int_equal(lag_init(50), 0);
	RUN_UNTIL(loop_now_ms() - t0 >= 300);
	lag_get(&st);
	assert_true(st.ticks >= 4);
	assert_int_equal(st.late_ticks, 0);
	assert_int_equal(loop_add_timer(10, 0, block_loop, NULL, &id), 0);
	t0 = loop_now_ms();
	RUN_UNTIL(loop_now_ms() - t0 >= 400);
	lag_get(&st);
	print_message("  after a 250 ms block: %llu ticks, late at most %llu ms, %llu late\n",
		      (unsigned long long)st.ticks, (unsigned long long)st.late_max_ms,
		      (unsigned long long)st.late_ticks);
	assert_true(st.late_max_ms >= 150);
	assert_int_equal(st.late_ticks, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peer_figures_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lag_sees_a_blocked_loop, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("peer", tests, NULL, NULL);
}
