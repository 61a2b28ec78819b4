// SPDX-License-Identifier: GPL-2.0
/*
 * cli_show: tidectl's plain printers of vm show and host show, on
 * canned daemon replies (the JSON printers print the reply itself: checked
 * here through cli_print_json too).  Human units, columns, sorting, names
 * that would drive the terminal, names too long for their column.
 */
#include "unit.h"

#include "cli.h"
#include "cli_show.h"
#include "reply.h"
#include "tidectl_replies.h"

static char *buf;
static size_t len;
static FILE *out;

static int setup(void **state)
{
	cli_reset("tidectl");
	buf = NULL;
	len = 0;
	out = open_memstream(&buf, &len);
	return out ? 0 : -1;
}

static int teardown(void **state)
{
	fclose(out);
	free(buf);
	return 0;
}

static const char *text(void)
{
	fflush(out);
	return buf ? buf : "";
}

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

/* text as tided's reply to cmd */
static void adopt(struct reply *r, const char *cmd, const char *s)
{
	reply_adopt(r, cmd, parse(s));
}

static void test_human_units(void **state)
{
	char b[CLI_HUMAN_BYTES];

	assert_string_equal(cli_human_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(cli_human_bytes(512, b, sizeof(b)), "512 B");
	assert_string_equal(cli_human_bytes(1536, b, sizeof(b)), "1.5 KiB");
	assert_string_equal(cli_human_bytes(128.0 * (1 << 20), b, sizeof(b)), "128 MiB");
	assert_string_equal(cli_human_bytes(23.5 * (1 << 30), b, sizeof(b)), "23.5 GiB");
	assert_string_equal(cli_human_rate(1258291.2, b, sizeof(b)), "1.2 MiB/s");
	assert_string_equal(cli_human_rate(0, b, sizeof(b)), "0 B/s");
	assert_string_equal(cli_human_rate(-5, b, sizeof(b)), "0 B/s");
	assert_string_equal(cli_human_percent(0.123, b, sizeof(b)), "12.3%");
	assert_string_equal(cli_human_percent(2.0, b, sizeof(b)), "200.0%");
	assert_string_equal(cli_human_ns(850, b, sizeof(b)), "850 ns");
	assert_string_equal(cli_human_ns(12500, b, sizeof(b)), "12.5 us");
	assert_string_equal(cli_human_ns(3.2e6, b, sizeof(b)), "3.2 ms");
	assert_string_equal(cli_human_ns(1.25e9, b, sizeof(b)), "1.25 s");
	assert_string_equal(cli_human_count(12, b, sizeof(b)), "12");
	assert_string_equal(cli_human_count(12345, b, sizeof(b)), "12.3k");
	assert_string_equal(cli_human_count(3.4e6 + 1e4, b, sizeof(b)), "3.4M");
	assert_string_equal(cli_human_duration(45, b, sizeof(b)), "45s");
	assert_string_equal(cli_human_duration(123, b, sizeof(b)), "2m 03s");
	assert_string_equal(cli_human_duration(3720, b, sizeof(b)), "1h 02m");
	assert_string_equal(cli_human_duration(273600, b, sizeof(b)), "3d 04h");
}

static void test_vm_table(void **state)
{
	struct reply r;
	const char *t;

	adopt(&r, "vm show", vms_reply);
	cli_show_vm_table(out, &r);
	assert_int_equal(reply_check(&r), 0);
	t = text();
	assert_string_equal(
		t, "NAME     STATE       VCPUS    MEMORY     CPU    WAIT          RX          TX\n"
		   "web-1    running         2   256 MiB   12.3%    0.4%   1.2 MiB/s   3.4 KiB/s\n"
		   "db?[31m  paused          1   1.0 GiB    0.0%    5.0%       0 B/s   8.6 MiB/s\n");
	reply_free(&r);
}

static void test_vm_table_empty_and_long_names(void **state)
{
	struct reply r;

	adopt(&r, "vm show", "{\"vms\": []}");
	cli_show_vm_table(out, &r);
	assert_int_equal(reply_check(&r), 0);
	assert_string_equal(text(), "no VMs\n");
	reply_free(&r);
	adopt(&r, "vm show",
	      "{\"vms\": [{\"name\": \"a-very-long-domain-name-that-goes-on-and-on\","
	      " \"state\": \"running\", \"vcpus\": 1, \"memory_bytes\": 1048576,"
	      " \"cpu_ns_per_s\": 0, \"wait_ns_per_s\": 0, \"rx_bytes_per_s\": 0,"
	      " \"tx_bytes_per_s\": 0}]}");
	cli_show_vm_table(out, &r);
	assert_int_equal(reply_check(&r), 0);
	/* cut to 32 columns, the cut marked */
	assert_non_null(strstr(text(), "\na-very-long-domain-name-that-go~  running"));
	reply_free(&r);
}

static void test_vm_detail(void **state)
{
	struct json_object *all = parse(vms_reply), *one, *vms;
	struct reply r;
	const char *t;

	/* the reply to "vm show web-1" holds that one VM */
	vms = json_object_new_array();
	json_object_array_add(vms, json_object_get(json_object_array_get_idx(
					   json_object_object_get(all, "vms"), 0)));
	one = json_object_new_object();
	json_object_object_add(one, "vms", vms);
	reply_adopt(&r, "vm show", one);
	cli_show_vm_detail(out, &r);
	assert_int_equal(reply_check(&r), 0);
	t = text();
	assert_non_null(strstr(t, "web-1  11111111-2222-3333-4444-555555555555\n"));
	assert_non_null(
		strstr(t, "  state:       running, QEMU pid 4242, tracked for 2m 05s (slot 1)\n"));
	assert_non_null(strstr(t, "  vcpus:       2 (max 4), 2 threads found\n"));
	assert_non_null(strstr(t, "  memory:      256 MiB (current 128 MiB)\n"));
	assert_non_null(
		strstr(t, "  cpu:         12.3% on CPU, 0.4% waiting, 250 switches/s (from bpf)\n"));
	assert_non_null(
		strstr(t, "  network:     rx 1.2 MiB/s (850 pkt/s), tx 3.4 KiB/s (12 pkt/s)\n"));
	assert_non_null(
		strstr(t, "  0     4243       10.0%    0.3%        125    30.00 s     1.0 ms  bpf\n"));
	assert_non_null(
		strstr(t, "  vnet0           52:54:00:aa:bb:01   1.2 MiB/s   3.4 KiB/s      850"));
	/* no KVM collector, no kvm_exits: not an error */
	assert_null(strstr(t, "kvm exits"));
	reply_free(&r);
	json_object_put(all);
}

static void test_host(void **state)
{
	struct reply r;
	const char *t;

	adopt(&r, "host show", host_reply);
	cli_show_host(out, &r);
	assert_int_equal(reply_check(&r), 0);
	t = text();
	assert_non_null(strstr(t, "host h1: 2 CPUs, 24.0 GiB memory (23.0 GiB available)\n"));
	assert_non_null(strstr(t, "DEGRADED:"));
	assert_non_null(strstr(t, "load:         6.2%  (VM on-CPU time over the 2 CPUs)\n"));
	assert_non_null(strstr(t, "host cpu:     25.0% busy"));
	assert_non_null(strstr(t, "vms:          2, 3 vCPUs, 1.2 GiB\n"));
	assert_non_null(strstr(t, "vm cpu:       12.3% on CPU, 5.4% waiting"));
	assert_non_null(strstr(t, "collectors:   cpu proc, net netlink, kvm off\n"));
	assert_non_null(strstr(t, "              cpu: the BPF CPU collector cannot load: "
				  "Operation not permitted\n"));
	assert_non_null(strstr(t, "collection:   every 100 ms, 64 samples kept; CPU per tick "
				  "181.0 us last, 177.2 us average, 250.0 us max (42 ticks)\n"));
	assert_non_null(strstr(t, "libvirt:      qemu:///system (NOT connected, 2 reconnects)\n"));
	reply_free(&r);
}

static void test_json_printer_keeps_raw_numbers(void **state)
{
	struct json_object *r = parse(vms_reply);

	cli.out = out;
	cli.json = true;
	cli_print_json(r);
	/* one line, raw numbers, names escaped */
	assert_non_null(strstr(text(), "\"cpu_ns_per_s\":123000000"));
	assert_non_null(strstr(text(), "\"memory_bytes\":268435456"));
	assert_non_null(strstr(text(), "db\\u001b[31m"));
	assert_int_equal(strchr(text(), '\n') - text(), (long)strlen(text()) - 1);
	json_object_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_human_units, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_table_empty_and_long_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_printer_keeps_raw_numbers, setup, teardown),
	};

	unit_arm_alarm(30);
	return cmocka_run_group_tests_name("cli_show", tests, NULL, NULL);
}
