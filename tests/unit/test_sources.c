// SPDX-License-Identifier: GPL-2.0
/*
 * sources and procfs: the readers tided falls back to without BPF, on a
 * fake /proc tree: a thread's schedstat, the host's stat and meminfo,
 * whole files; and the store fed by them (degraded mode).
 */
#include "unit.h"

#include <math.h>
#include <sys/stat.h>

#include "../../daemon/sources.c"
#include "collect.h"
#include "log.h"
#include "store.h"

#define NS 1000000000ull
#define UUID1 "11111111-2222-3333-4444-555555555555"

static uint64_t now_ns;
static char *proc;

static uint64_t fake_clock(void)
{
	return now_ns;
}

static void write_at(const char *dir, const char *rel, const char *text)
{
	char path[512], *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	free(unit_write_file(dir, rel, text));
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	proc = unit_mkdtemp("sources-proc");
	if (!proc)
		return -1;
	write_at(proc, "stat",
		 "cpu  100 0 100 700 100 0 0 0 0 0\n"
		 "cpu0 50 0 50 350 50 0 0 0 0 0\n"
		 "cpu1 50 0 50 350 50 0 0 0 0 0\n"
		 "intr 12345 1 2 3\n");
	write_at(proc, "meminfo",
		 "MemTotal:       1024 kB\nMemFree:         512 kB\n"
		 "MemAvailable:    768 kB\n");
	write_at(proc, "4242/task/4243/schedstat", "5000000000 1000000 300\n");
	write_at(proc, "4243/schedstat", "5000000000 1000000 300\n");
	return 0;
}

static int teardown(void **state)
{
	collect_fini();
	memset(&ss, 0, sizeof(ss));
	unit_rmtree(proc);
	proc = NULL;
	return 0;
}

static void test_procfs_readers(void **state)
{
	struct procfs_schedstat st;
	struct procfs_host h;
	char path[512], buf[8];
	size_t len = 0;
	char *text;

	assert_int_equal(procfs_schedstat(proc, 4242, 4243, &st), 0);
	assert_int_equal(st.on_cpu_ns, 5000000000ull);
	assert_int_equal(st.wait_ns, 1000000);
	assert_int_equal(st.switches, 300);
	/* pid 0: the thread's own directory */
	assert_int_equal(procfs_schedstat(proc, 0, 4243, &st), 0);
	assert_int_equal(procfs_schedstat(proc, 4242, 9999, &st), -ENOENT);
	write_at(proc, "7/schedstat", "garbage\n");
	assert_int_equal(procfs_schedstat(proc, 0, 7, &st), -EINVAL);

	assert_int_equal(procfs_host(proc, &h), 0);
	assert_int_equal(h.online_cpus, 2);
	assert_int_equal(h.cpu_busy_ticks, 200);
	assert_int_equal(h.cpu_total_ticks, 1000);
	assert_int_equal(h.memory_bytes, 1024 * 1024);
	assert_int_equal(h.memory_available_bytes, 768 * 1024);

	/* small files: cut to the buffer, NUL-terminated */
	snprintf(path, sizeof(path), "%s/meminfo", proc);
	assert_int_equal(procfs_read_small(path, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "MemTota");
	/* whole files: as long as they are, up to max */
	text = procfs_read_file(path, 1 << 20, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_non_null(strstr(text, "MemAvailable"));
	free(text);
	snprintf(path, sizeof(path), "%s/none", proc);
	assert_null(procfs_read_file(path, 64, &len));
	assert_int_equal(procfs_read_small(path, buf, sizeof(buf)), -ENOENT);
}

static void test_degraded_readers_feed_the_store(void **state)
{
	struct vm_thread th[1] = { { .tid = 4243, .vcpu = 0 } };
	struct vm_desc d = { .name = "vm1", .pid = 4242, .vcpus = 1, .threads = th, .n_threads = 1 };
	struct collect_opts o = { .clock_ns = fake_clock, .ring_samples = 4, .max_vms = 4 };
	const struct store_vm *vm;
	struct store_thread_info t;
	struct store_host_load h;
	uint64_t v;
	uint32_t slot;

	/* what sources_open() leaves when no BPF collector loads */
	set_root(&(struct sources_opts){ .proc_root = proc });
	o.readers = sources_readers();
	now_ns = 1000 * NS;
	assert_int_equal(collect_init(&o), 0);
	snprintf(d.uuid, sizeof(d.uuid), "%s", UUID1);
	assert_int_equal(collect_vm_add(&d, &slot), 0);
	vm = store_vm_by_slot(slot);

	write_at(proc, "4242/task/4243/schedstat", "5500000000 1200000 310\n");
	write_at(proc, "stat", "cpu  150 0 150 750 150 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
	now_ns += NS;
	assert_int_equal(collect_tick(), 1);
	assert_int_equal(store_thread_info(vm, 0, &t), 0);
	assert_int_equal(t.src, COLLECT_CPU_PROC);
	assert_int_equal(store_value(vm, SERIES_CPU_NS, &v), 0);
	assert_int_equal(v, 500000000);
	assert_int_equal(store_value(vm, SERIES_WAIT_NS, &v), 0);
	assert_int_equal(v, 200000);
	assert_int_equal(store_value(vm, SERIES_SWITCHES, &v), 0);
	assert_int_equal(v, 10);
	store_host_load(0, &h);
	assert_int_equal(h.cpus, 2);
	assert_true(fabs(h.cpu_busy_ratio - 100.0 / 200.0) < 1e-9);
	assert_true(fabs(h.load_ratio - 0.25) < 1e-9);
	assert_int_equal(store_host_value(SERIES_HOST_MEMORY_BYTES, &v), 0);
	assert_int_equal(v, 1024 * 1024);
	assert_int_equal(store_host_value(SERIES_HOST_MEMORY_AVAILABLE_BYTES, &v), 0);
	assert_int_equal(v, 768 * 1024);
	/* no net and no kvm collector: the store says it has no such figures */
	assert_false(store_has_net());
	assert_false(store_has_kvm());
	assert_non_null(sources_get());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_procfs_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_degraded_readers_feed_the_store, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("sources", tests, NULL, NULL);
}
