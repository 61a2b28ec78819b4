// SPDX-License-Identifier: GPL-2.0
/*
 * textfile: the Prometheus export, built from canned figures for VMs whose
 * names hold quotes, backslashes, spaces, a newline, non-ASCII letters and
 * bytes that are not UTF-8 (libvirt refuses some of these; the escaping
 * must hold anyway).  Checks the escaping, HELP/TYPE once per family, base
 * units and the VM's point of view, then runs `promtool check metrics` on
 * the written file (skipped, loudly, without promtool).
 */
#include "unit.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include "fake_collect.h"
#include "log.h"
#include "textfile.h"

static const struct sources sources = {
	.cpu_mode = "raw_tp",
	.net_mode = "netlink",
	.kvm_mode = "off",
	.degraded = true,
};

static const char *const names[] = {
	"plain",
	"quote\"d",
	"back\\slash",
	"with space",
	"new\nline",
	"\xc3\xbcn\xc3\xaf"
	"c\xc3\xb8"
	"d\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac", /* ünïcødé-日本 */
	"bad\xff\xfe"
	"bytes",
};

static char *dir;

static int setup(void **state)
{
	char uuid[VM_UUID_BYTES];
	char tap[IFNAMSIZ];

	log_set_level(LOG_LEVEL_ERR);
	if (fake_collect_start(&sources))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const char *taps[] = { tap, NULL };

		snprintf(uuid, sizeof(uuid), "11111111-2222-3333-4444-%012zu", i);
		snprintf(tap, sizeof(tap), "tap%zu", i);
		if (!fake_vm(names[i], uuid, (pid_t)(100 * (i + 1)), 2, taps))
			return -1;
	}
	fake_thread(101)->on_cpu_ns = 1500000000; /* 1.5 s */
	fake_thread(102)->wait_ns = 250000000;
	fake_tap("tap0")->c.rx_bytes = 1000; /* the VM sent */
	fake_tap("tap0")->c.tx_bytes = 7000; /* the VM received */
	fake_tap("tap0")->c.tx_dropped = 3;
	fake_tap("tap1")->has_drops = false;
	fake.host.cpu_busy_ticks += 10;
	fake.host.cpu_total_ticks += 40;
	fake_tick(1.0);
	dir = unit_mkdtemp("textfile");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	collect_fini();
	unit_rmtree(dir);
	dir = NULL;
	return 0;
}

static char *build(void)
{
	struct prom p;
	char *text;

	assert_int_equal(prom_begin(&p), 0);
	assert_int_equal(textfile_build(&p), 0);
	text = strdup(prom_text(&p));
	prom_abort(&p);
	assert_non_null(text);
	return text;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_escaping_and_families(void **state)
{
	static const char *const families[] = {
		"tide_build_info",
		"tide_last_collection_timestamp_seconds",
		"tide_collection_duration_seconds",
		"tide_host_load_ratio",
		"tide_host_cpus",
		"tide_host_memory_bytes",
		"tide_host_memory_available_bytes",
		"tide_vm_cpu_seconds_total",
		"tide_vm_cpu_wait_seconds_total",
		"tide_vm_network_receive_bytes_total",
		"tide_vm_network_transmit_bytes_total",
		"tide_vm_network_receive_packets_total",
		"tide_vm_network_transmit_packets_total",
		"tide_vm_network_receive_drops_total",
		"tide_vm_network_transmit_drops_total",
		"tide_vm_memory_bytes",
		"tide_vm_vcpus",
		"tide_degraded",
		"tide_collector_info",
	};
	char *text = build(), needle[160];

	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		snprintf(needle, sizeof(needle), "# TYPE %s ", families[i]);
		if (count(text, needle) != 1)
			fail_msg("TYPE of %s appears %d times", families[i], count(text, needle));
		snprintf(needle, sizeof(needle), "# HELP %s ", families[i]);
		assert_int_equal(count(text, needle), 1);
	}
	assert_non_null(strstr(text, "tide_build_info{version=\"" TIDE_VERSION "\"} 1\n"));
	/* escapes: \" \\ \n; UTF-8 as it is; not UTF-8 as U+FFFD */
	assert_non_null(strstr(text, "domain=\"quote\\\"d\""));
	assert_non_null(strstr(text, "domain=\"back\\\\slash\""));
	assert_non_null(strstr(text, "domain=\"with space\""));
	assert_non_null(strstr(text, "domain=\"new\\nline\""));
	assert_non_null(strstr(text, "domain=\"\xc3\xbcn\xc3\xaf"
				     "c\xc3\xb8"
				     "d\xc3\xa9-\xe6\x97\xa5"));
	assert_non_null(strstr(text, "domain=\"bad\xef\xbf\xbd\xef\xbf\xbd"
				     "bytes\""));
	assert_null(strchr(text, '\xff'));
	/* base units, labels of the libvirt exporters, the VM's point of view */
	assert_non_null(strstr(text, "tide_vm_cpu_seconds_total{domain=\"plain\",uuid=\""
				     "11111111-2222-3333-4444-000000000000\",vcpu=\"0\"} 1.5\n"));
	assert_non_null(strstr(text, "tide_vm_cpu_wait_seconds_total{domain=\"plain\",uuid=\""
				     "11111111-2222-3333-4444-000000000000\",vcpu=\"1\"} 0.25\n"));
	assert_non_null(
		strstr(text, "tide_vm_network_receive_bytes_total{domain=\"plain\",uuid=\""
			     "11111111-2222-3333-4444-000000000000\",target_device=\"tap0\"} 7000\n"));
	assert_non_null(
		strstr(text, "tide_vm_network_transmit_bytes_total{domain=\"plain\",uuid=\""
			     "11111111-2222-3333-4444-000000000000\",target_device=\"tap0\"} 1000\n"));
	assert_non_null(
		strstr(text, "tide_vm_network_receive_drops_total{domain=\"plain\",uuid=\""
			     "11111111-2222-3333-4444-000000000000\",target_device=\"tap0\"} 3\n"));
	/* a source that does not count drops says nothing about them */
	assert_null(strstr(text, "drops_total{domain=\"quote"));
	assert_non_null(strstr(text, "tide_vm_memory_bytes{domain=\"plain\",uuid=\""
				     "11111111-2222-3333-4444-000000000000\"} 268435456\n"));
	assert_non_null(strstr(text, "tide_host_cpus 4\n"));
	assert_non_null(strstr(text, "tide_host_load_ratio 0.375\n"));
	assert_non_null(strstr(text, "tide_host_cpu_busy_ratio 0.25\n"));
	assert_non_null(strstr(text, "tide_degraded 1\n"));
	assert_non_null(strstr(text, "tide_collector_info{collector=\"cpu\",mode=\"raw_tp\"} 1\n"));
	assert_non_null(strstr(text, "tide_collection_duration_seconds_count 1\n"));
	assert_int_equal(count(text, "tide_vm_vcpus{"), (int)ARRAY_SIZE(names));
	/* no timestamps, ends with a newline */
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
}

/* promtool's verdict on path: its exit status, -1 if it cannot run */
static int promtool_check(const char *path, char *out, size_t n)
{
	char cmd[1024];
	size_t used = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (used + 1 < n && fgets(out + used, (int)(n - used), p))
		used = strlen(out);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_written_file_passes_promtool(void **state)
{
	char path[600], tmp[620], out[4096] = "";
	struct stat st;
	int rc;

	/* the directory is created; the file replaces any old one whole */
	snprintf(path, sizeof(path), "%s/sub/dir", dir);
	assert_int_equal(textfile_write(path), 0);
	snprintf(path, sizeof(path), "%s/sub/dir/" TIDE_TEXTFILE_NAME, dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_not_equal(stat(tmp, &st), 0);

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		fprintf(stderr, "\n*** SKIPPING the promtool check: promtool is not installed "
				"(Debian package 'prometheus'; `make deps` installs it) ***\n\n");
		skip();
	}
	rc = promtool_check(path, out, sizeof(out));
	if (rc != 0)
		fail_msg("promtool check metrics exit %d:\n%s", rc, out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escaping_and_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_file_passes_promtool, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("textfile", tests, NULL, NULL);
}
