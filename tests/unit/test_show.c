// SPDX-License-Identifier: GPL-2.0
/*
 * show: the "vm show" and "host show" replies, through ctl's command table
 * (ctl_dispatch, as a client's request would go), on canned figures: the
 * documented members with their types, units in the names, the VM's point
 * of view for network directions, windows, history, and errors (unknown
 * VM, bad arguments) as {"error": ...} alone.
 */
#include "unit.h"

#include <math.h>

#include "ctl.h"
#include "fake_collect.h"
#include "log.h"
#include "show.h"

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "11111111-2222-3333-4444-666666666666"

static const struct sources sources = {
	.cpu_mode = "tp_btf",
	.net_mode = "tcx",
	.kvm_mode = "off",
	.kvm_note = "the kernel has no kvm:kvm_exit tracepoint (no KVM)",
};

static int setup(void **state)
{
	static const char *const taps1[] = { "tap-a0", "tap-a1", NULL };

	log_set_level(LOG_LEVEL_ERR);
	if (fake_collect_start(&sources) || show_init())
		return -1;
	if (!fake_vm("vm-a", UUID1, 100, 2, taps1) || !fake_vm("vm-b", UUID2, 200, 1, NULL))
		return -1;
	/* one second: vm-a runs 0.75 CPU, waits 0.1; its first tap moves bytes */
	fake_thread(101)->on_cpu_ns = 500000000;
	fake_thread(102)->on_cpu_ns = 250000000;
	fake_thread(102)->wait_ns = 100000000;
	fake_thread(101)->switches = 40;
	fake_tap("tap-a0")->c.rx_bytes = 1000; /* host receives: the VM sent */
	fake_tap("tap-a0")->c.rx_packets = 10;
	fake_tap("tap-a0")->c.tx_bytes = 8000; /* host sends: the VM received */
	fake_tap("tap-a0")->c.tx_packets = 20;
	fake_tap("tap-a0")->c.tx_dropped = 2;
	fake.host.cpu_busy_ticks += 50;
	fake.host.cpu_total_ticks += 100;
	fake_tick(1.0);
	return 0;
}

static int teardown(void **state)
{
	show_fini();
	collect_fini();
	return 0;
}

static struct json_object *call(const char *req_text)
{
	struct json_object *req = json_tokener_parse(req_text), *reply;

	assert_non_null(req);
	reply = ctl_dispatch(req);
	json_object_put(req);
	assert_non_null(reply);
	return reply;
}

static struct json_object *get(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("member '%s' missing", key);
	if (!json_object_is_type(v, type))
		fail_msg("member '%s' is a %s, not a %s", key,
			 json_type_to_name(json_object_get_type(v)), json_type_to_name(type));
	return v;
}

static int64_t geti(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key, json_type_int));
}

static double getd(struct json_object *o, const char *key)
{
	return json_object_get_double(get(o, key, json_type_double));
}

static const char *gets(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key, json_type_string));
}

static void test_vm_show_shape(void **state)
{
	static const char *const ints[] = {
		"slot",	      "pid",	      "vcpus",
		"vcpus_max",  "memory_bytes", "current_memory_bytes",
		"tracked_ns", "interval_ns",  "cpu_ns",
		"wait_ns",    "switches",     "rx_bytes",
		"rx_packets", "rx_drops",     "tx_bytes",
		"tx_packets", "tx_drops",
	};
	static const char *const rates[] = {
		"cpu_ns_per_s",	  "wait_ns_per_s",    "switches_per_s",
		"rx_bytes_per_s", "rx_packets_per_s", "rx_drops_per_s",
		"tx_bytes_per_s", "tx_packets_per_s", "tx_drops_per_s",
	};
	struct json_object *r = call("{\"cmd\": \"vm show\"}"), *vms, *a, *t, *i0;

	assert_true(json_object_get_boolean(get(r, "ok", json_type_boolean)));
	assert_int_equal(geti(r, "window_ms"), 0);
	assert_int_equal(geti(r, "tick_ms"), 0);
	vms = get(r, "vms", json_type_array);
	assert_int_equal(json_object_array_length(vms), 2);
	a = json_object_array_get_idx(vms, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		geti(a, ints[i]);
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		getd(a, rates[i]);
	assert_string_equal(gets(a, "name"), "vm-a");
	assert_string_equal(gets(a, "uuid"), UUID1);
	assert_string_equal(gets(a, "state"), "running");
	assert_string_equal(gets(a, "cpu_source"), "bpf");
	assert_int_equal(geti(a, "pid"), 100);
	assert_int_equal(geti(a, "memory_bytes"), 256ll << 20);
	assert_int_equal(geti(a, "interval_ns"), 1000000000);
	assert_int_equal(geti(a, "cpu_ns"), 750000000);
	assert_true(fabs(getd(a, "cpu_ns_per_s") - 7.5e8) < 1);
	assert_true(fabs(getd(a, "wait_ns_per_s") - 1e8) < 1);
	/* the VM's point of view: it received what the host sent on its tap */
	assert_int_equal(geti(a, "rx_bytes"), 8000);
	assert_int_equal(geti(a, "tx_bytes"), 1000);
	assert_int_equal(geti(a, "rx_drops"), 2);
	assert_true(fabs(getd(a, "rx_bytes_per_s") - 8000) < 1e-6);
	assert_true(fabs(getd(a, "tx_packets_per_s") - 10) < 1e-6);
	/* no KVM collector: no kvm_exits member */
	assert_false(json_object_object_get_ex(a, "kvm_exits", NULL));

	t = get(a, "vcpu_threads", json_type_array);
	assert_int_equal(json_object_array_length(t), 2);
	t = json_object_array_get_idx(t, 1);
	assert_int_equal(geti(t, "vcpu"), 1);
	assert_int_equal(geti(t, "tid"), 102);
	assert_string_equal(gets(t, "cpu_source"), "bpf");
	assert_int_equal(geti(t, "cpu_ns"), 250000000);
	assert_true(fabs(getd(t, "wait_ns_per_s") - 1e8) < 1);
	geti(t, "switches");

	i0 = get(a, "interfaces", json_type_array);
	assert_int_equal(json_object_array_length(i0), 2);
	i0 = json_object_array_get_idx(i0, 0);
	assert_string_equal(gets(i0, "target_device"), "tap-a0");
	assert_string_equal(gets(i0, "mac"), "52:54:00:00:00:01");
	assert_string_equal(gets(i0, "net_source"), "bpf");
	assert_true(json_object_get_boolean(get(i0, "drops_counted", json_type_boolean)));
	assert_int_equal(geti(i0, "rx_packets"), 20);
	assert_int_equal(geti(i0, "tx_packets"), 10);
	assert_true(fabs(getd(i0, "rx_bytes_per_s") - 8000) < 1e-6);
	/* no history unless asked */
	assert_false(json_object_object_get_ex(a, "history", NULL));
	json_object_put(r);
}

static void test_vm_show_one_by_name_or_uuid(void **state)
{
	struct json_object *r = call("{\"cmd\": \"vm show\", \"vm\": \"vm-b\"}"), *vms;

	vms = get(r, "vms", json_type_array);
	assert_int_equal(json_object_array_length(vms), 1);
	assert_string_equal(gets(json_object_array_get_idx(vms, 0), "name"), "vm-b");
	json_object_put(r);

	r = call("{\"cmd\": \"vm show\", \"vm\": \"11111111-2222-3333-4444-555555555555\"}");
	vms = get(r, "vms", json_type_array);
	assert_string_equal(gets(json_object_array_get_idx(vms, 0), "name"), "vm-a");
	json_object_put(r);
}

static void test_vm_show_errors(void **state)
{
	static const struct {
		const char *req;
		const char *error;
	} cases[] = {
		{ "{\"cmd\": \"vm show\", \"vm\": \"nope\"}",
		  "no VM 'nope' on this host (by name or uuid)" },
		{ "{\"cmd\": \"vm show\", \"vm\": 3}", "'vm' must be a name or a uuid" },
		{ "{\"cmd\": \"vm show\", \"window_ms\": \"x\"}", "'window_ms' must be an integer" },
		{ "{\"cmd\": \"vm show\", \"window_ms\": -1}",
		  "'window_ms' must be between 0 and 3600000, got -1" },
		{ "{\"cmd\": \"vm show\", \"history\": 99999}",
		  "'history' must be between 0 and 4096, got 99999" },
		{ "{\"cmd\": \"host show\", \"window_ms\": true}", "'window_ms' must be an integer" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *r = call(cases[i].req);

		/* the error alone: never half a result */
		assert_int_equal(json_object_object_length(r), 1);
		assert_string_equal(gets(r, "error"), cases[i].error);
		json_object_put(r);
	}
}

static void test_vm_show_window_and_history(void **state)
{
	struct json_object *r, *a, *h;

	/* three more half-second ticks, busy only in the last one */
	fake_tick(0.5);
	fake_tick(0.5);
	fake_thread(101)->on_cpu_ns += 500000000;
	fake_tick(0.5);
	r = call("{\"cmd\": \"vm show\", \"vm\": \"vm-a\", \"window_ms\": 0}");
	a = json_object_array_get_idx(get(r, "vms", json_type_array), 0);
	assert_int_equal(geti(a, "interval_ns"), 500000000);
	assert_true(fabs(getd(a, "cpu_ns_per_s") - 1e9) < 1);
	json_object_put(r);

	r = call("{\"cmd\": \"vm show\", \"vm\": \"vm-a\", \"window_ms\": 1500, \"history\": 3}");
	assert_int_equal(geti(r, "window_ms"), 1500);
	a = json_object_array_get_idx(get(r, "vms", json_type_array), 0);
	assert_int_equal(geti(a, "interval_ns"), 1500000000);
	assert_true(fabs(getd(a, "cpu_ns_per_s") - 5e8 / 1.5) < 1);
	h = get(a, "history", json_type_array);
	assert_int_equal(json_object_array_length(h), 3);
	/* newest first, cumulative, no rates */
	assert_int_equal(geti(json_object_array_get_idx(h, 0), "cpu_ns"), 1250000000);
	assert_int_equal(geti(json_object_array_get_idx(h, 1), "cpu_ns"), 750000000);
	assert_true(geti(json_object_array_get_idx(h, 0), "t_ns") -
			    geti(json_object_array_get_idx(h, 1), "t_ns") ==
		    500000000);
	assert_int_equal(geti(json_object_array_get_idx(h, 0), "rx_bytes"), 8000);
	assert_false(json_object_object_get_ex(json_object_array_get_idx(h, 0), "cpu_ns_per_s", NULL));
	json_object_put(r);
}

static void test_host_show_shape(void **state)
{
	struct json_object *r = call("{\"cmd\": \"host show\"}"), *o;

	assert_int_equal(geti(r, "cpus"), 4);
	assert_int_equal(geti(r, "memory_bytes"), 16ll << 30);
	assert_int_equal(geti(r, "memory_available_bytes"), 12ll << 30);
	assert_int_equal(geti(r, "vms"), 2);
	assert_int_equal(geti(r, "vm_vcpus"), 3);
	assert_int_equal(geti(r, "vm_memory_bytes"), 512ll << 20);
	assert_true(fabs(getd(r, "cpu_busy_ratio") - 0.5) < 1e-9);
	assert_true(fabs(getd(r, "vm_cpu_ns_per_s") - 7.5e8) < 1);
	assert_true(fabs(getd(r, "vm_wait_ns_per_s") - 1e8) < 1);
	assert_true(fabs(getd(r, "vm_rx_bytes_per_s") - 8000) < 1e-6);
	assert_true(fabs(getd(r, "vm_tx_bytes_per_s") - 1000) < 1e-6);
	/* 0.75 CPU of 4 */
	assert_true(fabs(getd(r, "load_ratio") - 0.1875) < 1e-9);
	assert_int_equal(geti(r, "interval_ns"), 1000000000);
	assert_int_equal(geti(r, "ring_samples"), 8);
	/* no host_cpus configured: the capacity is the online CPUs */
	assert_int_equal(geti(r, "online_cpus"), 4);
	assert_int_equal(geti(r, "host_cpus"), 0);
	gets(r, "hostname");
	o = get(r, "collection", json_type_object);
	assert_int_equal(geti(o, "ticks"), 1);
	assert_true(geti(o, "last_ns") > 0);
	geti(o, "avg_ns");
	geti(o, "max_ns");
	geti(o, "last_wall_ns");
	geti(o, "last_unix_ns");
	o = get(r, "sources", json_type_object);
	assert_string_equal(gets(o, "cpu"), "tp_btf");
	assert_string_equal(gets(o, "net"), "tcx");
	assert_string_equal(gets(o, "kvm"), "off");
	assert_string_equal(gets(o, "kvm_note"), sources.kvm_note);
	assert_false(json_object_get_boolean(get(r, "degraded", json_type_boolean)));
	json_object_put(r);

	/* a host owning 2 of the machine's CPUs (host_cpus = 2 on reload) */
	collect_set_host_cpus(2);
	r = call("{\"cmd\": \"host show\"}");
	assert_int_equal(geti(r, "cpus"), 2);
	assert_int_equal(geti(r, "online_cpus"), 4);
	assert_int_equal(geti(r, "host_cpus"), 2);
	/* 0.75 CPU of 2 */
	assert_true(fabs(getd(r, "load_ratio") - 0.375) < 1e-9);
	o = get(r, "libvirt", json_type_object);
	assert_false(json_object_get_boolean(get(o, "connected", json_type_boolean)));
	geti(o, "reconnects");
	json_object_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vm_show_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_show_one_by_name_or_uuid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_show_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_show_window_and_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_show_shape, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("show", tests, NULL, NULL);
}
