// SPDX-License-Identifier: GPL-2.0
/*
 * collect: rings, rates and counters, driven through its libvirt-free API
 * with a clock the test steps and raw readers it controls (no BPF):
 *   - rates divide by the measured interval, not the tick; windows pick
 *     the right pair of samples;
 *   - counters never go back: restarts (a new BPF attach, a recreated
 *     link), a change of source, a VM's threads changing;
 *   - rings wrap and keep the newest ring_samples;
 *   - host figures and the load ratio;
 *   - the default readers in degraded mode (/proc schedstat, /proc/stat,
 *     /proc/meminfo) on a fake /proc tree.
 */
#include "unit.h"

#include <math.h>
#include <sys/stat.h>

#include "collect.h"
#include "log.h"

#define MAX_FAKE 16
#define NS 1000000000ull

static uint64_t now_ns;

static uint64_t fake_clock(void)
{
	return now_ns;
}

static struct {
	pid_t tid[MAX_FAKE];
	struct collect_thread_raw raw[MAX_FAKE];
	int n;
} threads;

static struct {
	char ifname[MAX_FAKE][IFNAMSIZ];
	struct collect_tap_raw raw[MAX_FAKE];
	int n;
} taps;

static struct collect_host_raw host_raw;
static int tracked_threads, tracked_taps;

static struct collect_thread_raw *thread_raw(pid_t tid)
{
	for (int i = 0; i < threads.n; i++)
		if (threads.tid[i] == tid)
			return &threads.raw[i];
	threads.tid[threads.n] = tid;
	memset(&threads.raw[threads.n], 0, sizeof(threads.raw[0]));
	threads.raw[threads.n].src = COLLECT_CPU_BPF;
	return &threads.raw[threads.n++];
}

static struct collect_tap_raw *tap_raw(const char *ifname)
{
	for (int i = 0; i < taps.n; i++)
		if (!strcmp(taps.ifname[i], ifname))
			return &taps.raw[i];
	snprintf(taps.ifname[taps.n], IFNAMSIZ, "%s", ifname);
	memset(&taps.raw[taps.n], 0, sizeof(taps.raw[0]));
	taps.raw[taps.n].src = COLLECT_NET_BPF;
	taps.raw[taps.n].epoch = 1;
	taps.raw[taps.n].has_drops = true;
	return &taps.raw[taps.n++];
}

static int rd_track_thread(uint32_t slot, pid_t pid, const struct vm_thread *t)
{
	tracked_threads++;
	return 0;
}

static void rd_untrack_thread(const struct vm_thread *t)
{
	tracked_threads--;
}

static int rd_track_tap(uint32_t slot, const char *ifname)
{
	tracked_taps++;
	return 0;
}

static void rd_untrack_tap(const char *ifname)
{
	tracked_taps--;
}

static int rd_thread(pid_t pid, pid_t tid, struct collect_thread_raw *out)
{
	for (int i = 0; i < threads.n; i++) {
		if (threads.tid[i] == tid) {
			*out = threads.raw[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int rd_tap(const char *ifname, struct collect_tap_raw *out)
{
	for (int i = 0; i < taps.n; i++) {
		if (!strcmp(taps.ifname[i], ifname)) {
			*out = taps.raw[i];
			return 0;
		}
	}
	return -ENODEV;
}

static int rd_host(struct collect_host_raw *out)
{
	*out = host_raw;
	return 0;
}

static const struct collect_readers readers = {
	.track_thread = rd_track_thread,
	.untrack_thread = rd_untrack_thread,
	.track_tap = rd_track_tap,
	.untrack_tap = rd_untrack_tap,
	.thread = rd_thread,
	.tap = rd_tap,
	.host = rd_host,
};

static int start(uint32_t ring, uint32_t max_vms)
{
	struct collect_opts o = {
		.ring_samples = ring,
		.max_vms = max_vms,
		.clock_ns = fake_clock,
		.readers = &readers,
	};

	memset(&threads, 0, sizeof(threads));
	memset(&taps, 0, sizeof(taps));
	memset(&host_raw, 0, sizeof(host_raw));
	host_raw.cpus = 2;
	tracked_threads = tracked_taps = 0;
	now_ns = 1000 * NS;
	return collect_init(&o);
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	return start(8, 16);
}

static int teardown(void **state)
{
	collect_fini();
	return 0;
}

/* a VM with n vCPU threads (tids base+1..) and one tap per name */
static uint32_t add_vm(const char *name, const char *uuid, pid_t base, uint32_t n,
		       const char *tap)
{
	struct vm_thread th[8];
	struct vm_tap tp[1] = { 0 };
	struct vm_desc d = {
		.name = (char *)name, .pid = base, .memory_bytes = 128ull << 20, .vcpus = n,
		.vcpus_max = n, .threads = th, .n_threads = n, .taps = tp, .n_taps = tap ? 1 : 0,
	};
	uint32_t slot = 0;

	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	for (uint32_t i = 0; i < n; i++) {
		th[i].tid = base + 1 + (pid_t)i;
		th[i].vcpu = i;
		thread_raw(th[i].tid);
	}
	if (tap) {
		snprintf(tp[0].ifname, sizeof(tp[0].ifname), "%s", tap);
		tap_raw(tap);
	}
	assert_int_equal(collect_vm_add(&d, &slot), 0);
	return slot;
}

static void tick_at(double seconds)
{
	now_ns = 1000 * NS + (uint64_t)(seconds * 1e9);
	assert_true(collect_tick() >= 0);
}

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "11111111-2222-3333-4444-666666666666"

/* ---- rates -------------------------------------------------------------- */

static void test_rates_use_the_measured_interval(void **state)
{
	const struct collect_vm *vm;
	struct collect_rates r;
	uint32_t slot = add_vm("vm1", UUID1, 100, 2, "vnet0");

	vm = collect_vm_by_slot(slot);
	assert_non_null(vm);
	/* BPF counters count from tracking: the first reading is all new */
	thread_raw(101)->on_cpu_ns = 100000000;		/* 0.1 s */
	tick_at(1.0);
	collect_vm_rates(vm, 0, &r);
	assert_int_equal(r.interval_ns, NS);
	assert_true(fabs(r.on_cpu_ns_per_s - 1e8) < 1);

	/* a late tick: 0.5 s of CPU in 1.25 s measured is 0.4 s/s, not 0.5 */
	thread_raw(101)->on_cpu_ns += 250000000;
	thread_raw(102)->on_cpu_ns += 250000000;
	thread_raw(102)->wait_ns += 125000000;
	thread_raw(102)->switches += 50;
	tick_at(2.25);
	collect_vm_rates(vm, 0, &r);
	assert_int_equal(r.interval_ns, 1250000000ull);
	assert_true(fabs(r.on_cpu_ns_per_s - 4e8) < 1);
	assert_true(fabs(r.wait_ns_per_s - 1e8) < 1);
	assert_true(fabs(r.switches_per_s - 40) < 1e-6);

	/* per thread, the same rule */
	collect_thread_rates(&vm->threads[1], 0, &r);
	assert_true(fabs(r.on_cpu_ns_per_s - 2e8) < 1);

	/* cumulative figures */
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 600000000);
	assert_int_equal(collect_thread_sample_at(&vm->threads[0], 0)->on_cpu_ns, 350000000);
}

static void test_rate_windows(void **state)
{
	const struct collect_vm *vm;
	struct collect_rates r;
	uint32_t slot = add_vm("vm1", UUID1, 100, 1, "vnet0");

	vm = collect_vm_by_slot(slot);
	/* 0.1 s ticks, 10 ms of CPU in each; then 50 ms in the last one */
	for (int i = 1; i <= 6; i++) {
		thread_raw(101)->on_cpu_ns += i == 6 ? 50000000 : 10000000;
		tap_raw("vnet0")->tx_bytes += 1000;
		tick_at(0.1 * i);
	}
	/* window 0: the last interval */
	collect_vm_rates(vm, 0, &r);
	assert_true(fabs(r.on_cpu_ns_per_s - 5e8) < 10);
	/* window 300 ms: from the sample 0.3 s older */
	collect_vm_rates(vm, 300, &r);
	assert_int_equal(r.interval_ns, 300000000);
	assert_true(fabs(r.on_cpu_ns_per_s - 70000000.0 / 0.3) < 10);
	assert_true(fabs(r.tx_bytes_per_s - 10000) < 1e-3);
	/* a window longer than the ring: from the oldest sample kept (8 of 7) */
	collect_vm_rates(vm, 60000, &r);
	assert_int_equal(r.interval_ns, 600000000);
	assert_true(fabs(r.on_cpu_ns_per_s - 100000000.0 / 0.6) < 10);
}

static void test_window_takes_the_closest_sample(void **state)
{
	const struct collect_vm *vm = collect_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL));
	struct collect_rates r;

	/* samples at 0 (add), 0.3, 0.62, 1.0: 0.38, 0.7 and 1.0 s before the newest */
	tick_at(0.3);
	tick_at(0.62);
	tick_at(1.0);
	collect_vm_rates(vm, 690, &r);
	assert_int_equal(r.interval_ns, 700000000);
	/* 750 ms: 0.7 s is closer than 1.0 s, though shorter */
	collect_vm_rates(vm, 750, &r);
	assert_int_equal(r.interval_ns, 700000000);
	collect_vm_rates(vm, 900, &r);
	assert_int_equal(r.interval_ns, 1000000000);
	/* never less than one interval */
	collect_vm_rates(vm, 1, &r);
	assert_int_equal(r.interval_ns, 380000000);
}

static void test_one_sample_gives_no_rate(void **state)
{
	struct collect_rates r;
	struct collect_host_rates h;

	/* only the sample taken at add time */
	collect_vm_rates(collect_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL)), 0, &r);
	assert_int_equal(r.interval_ns, 0);
	assert_true(r.on_cpu_ns_per_s == 0);
	/* the host got its first sample at init */
	collect_host_rates(0, &h);
	assert_int_equal(h.interval_ns, 0);
	assert_int_equal(h.cpus, 2);
}

/* ---- counters ------------------------------------------------------------ */

static void test_counter_restarts_and_source_changes(void **state)
{
	const struct collect_tap *t;
	const struct collect_vm *vm;
	uint32_t slot = add_vm("vm1", UUID1, 100, 1, "vnet0");

	vm = collect_vm_by_slot(slot);
	t = &vm->taps[0];
	tap_raw("vnet0")->rx_bytes = 5000;
	tick_at(1);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 5000);

	/* re-attached (the tap was recreated): counts from 0 again */
	tap_raw("vnet0")->epoch = 2;
	tap_raw("vnet0")->rx_bytes = 300;
	tick_at(2);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 5300);

	/* a raw counter that goes back in the same epoch: a restart too */
	tap_raw("vnet0")->rx_bytes = 100;
	tick_at(3);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 5400);

	/* BPF gone, link stats since the link was created: a new baseline */
	tap_raw("vnet0")->src = COLLECT_NET_NETLINK;
	tap_raw("vnet0")->epoch = 7;
	tap_raw("vnet0")->rx_bytes = 123456789;
	tick_at(4);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 5400);
	assert_int_equal(t->src, COLLECT_NET_NETLINK);
	tap_raw("vnet0")->rx_bytes += 600;
	tick_at(5);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 6000);
	/* the VM's sum followed, never backwards */
	assert_int_equal(collect_vm_sample_at(vm, 0)->net.rx_bytes, 6000);
	for (uint32_t age = 0; age + 1 < vm->ring.count; age++)
		assert_true(collect_vm_sample_at(vm, age)->net.rx_bytes >=
			    collect_vm_sample_at(vm, age + 1)->net.rx_bytes);

	/* a read that fails keeps the last figures */
	taps.n = 0;
	tick_at(6);
	assert_int_equal(collect_tap_sample_at(t, 0)->rx_bytes, 6000);
}

static void test_proc_source_starts_from_a_baseline(void **state)
{
	const struct collect_vm *vm;
	uint32_t slot;

	/* /proc counts from the thread's birth: its first reading is the origin */
	thread_raw(201)->src = COLLECT_CPU_PROC;
	thread_raw(201)->on_cpu_ns = 77 * NS;
	slot = add_vm("vm2", UUID2, 200, 1, NULL);
	vm = collect_vm_by_slot(slot);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 0);
	thread_raw(201)->on_cpu_ns += NS / 2;
	tick_at(1);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, NS / 2);
	assert_int_equal(vm->threads[0].src, COLLECT_CPU_PROC);
}

static void test_update_keeps_vm_counters_monotonic(void **state)
{
	struct vm_thread th[2] = { { .tid = 101, .vcpu = 0 }, { .tid = 105, .vcpu = 1 } };
	struct vm_desc d = { .name = "vm1", .pid = 100, .vcpus = 2, .threads = th, .n_threads = 2 };
	const struct collect_vm *vm;
	uint32_t slot = add_vm("vm1", UUID1, 100, 1, "vnet0");

	vm = collect_vm_by_slot(slot);
	assert_int_equal(tracked_threads, 1);
	assert_int_equal(tracked_taps, 1);
	thread_raw(101)->on_cpu_ns = 3 * NS;
	tick_at(1);
	/* a second vCPU thread shows up (found late), the tap went away */
	snprintf(d.uuid, sizeof(d.uuid), "%s", UUID1);
	thread_raw(105)->on_cpu_ns = 2 * NS;	/* BPF: since its tracking */
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(tracked_threads, 2);
	assert_int_equal(tracked_taps, 0);
	vm = collect_vm_by_slot(slot);
	assert_int_equal(vm->desc.n_threads, 2);
	/* the old thread keeps its ring */
	assert_int_equal(vm->threads[0].ring.count, 2);
	tick_at(2);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 5 * NS);

	/* the first thread leaves: the VM's total does not drop */
	d.threads = &th[1];
	d.n_threads = 1;
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(tracked_threads, 1);
	tick_at(3);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 5 * NS);

	/* a new QEMU process: everything tracked afresh */
	d.pid = 300;
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(tracked_threads, 1);
	assert_int_equal(vm->threads[0].ring.count, 0);

	assert_int_equal(collect_vm_remove(slot), 0);
	assert_int_equal(tracked_threads, 0);
	assert_int_equal(collect_vm_remove(slot), -ENOENT);
}

/* ---- rings ---------------------------------------------------------------- */

static void test_ring_wraps_and_keeps_the_newest(void **state)
{
	const struct collect_vm *vm;
	uint32_t slot;

	collect_fini();
	assert_int_equal(start(4, 16), 0);
	slot = add_vm("vm1", UUID1, 100, 1, NULL);
	vm = collect_vm_by_slot(slot);
	for (int i = 1; i <= 10; i++) {
		thread_raw(101)->on_cpu_ns = (uint64_t)i * 1000;
		tick_at(i);
	}
	assert_int_equal(vm->ring.count, 4);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 10000);
	assert_int_equal(collect_vm_sample_at(vm, 3)->cpu.on_cpu_ns, 7000);
	assert_int_equal(collect_vm_sample_at(vm, 3)->t_ns, 1007 * NS);
	assert_null(collect_vm_sample_at(vm, 4));
	assert_int_equal(vm->threads[0].ring.count, 4);
	assert_null(collect_thread_sample_at(&vm->threads[0], 4));
	assert_non_null(collect_host_sample_at(3));
	assert_null(collect_host_sample_at(4));
}

/* ---- host ----------------------------------------------------------------- */

static void test_host_load_and_cost(void **state)
{
	struct collect_host_rates h;
	struct collect_self self;

	add_vm("vm1", UUID1, 100, 2, "vnet0");
	add_vm("vm2", UUID2, 200, 1, NULL);
	host_raw.cpu_busy_ticks = 100;
	host_raw.cpu_total_ticks = 400;
	host_raw.memory_bytes = 8ull << 30;
	host_raw.memory_available_bytes = 6ull << 30;
	tick_at(1);
	/* vm1 runs 1.5 CPUs' worth, vm2 0.5: 2 of 2 CPUs over 0.5 s */
	thread_raw(101)->on_cpu_ns += 500000000;
	thread_raw(102)->on_cpu_ns += 250000000;
	thread_raw(201)->on_cpu_ns += 250000000;
	thread_raw(201)->wait_ns += 100000000;
	tap_raw("vnet0")->rx_bytes += 4096;
	host_raw.cpu_busy_ticks += 90;
	host_raw.cpu_total_ticks += 100;
	tick_at(1.5);
	collect_host_rates(0, &h);
	assert_int_equal(h.interval_ns, 500000000);
	assert_int_equal(h.cpus, 2);
	assert_true(fabs(h.cpu_busy_ratio - 0.9) < 1e-9);
	assert_true(fabs(h.vm_on_cpu_ns_per_s - 2e9) < 1);
	assert_true(fabs(h.vm_wait_ns_per_s - 2e8) < 1);
	assert_true(fabs(h.vm_rx_bytes_per_s - 8192) < 1e-6);
	assert_true(fabs(h.load_ratio - 1.0) < 1e-9);
	assert_int_equal(collect_host_sample_at(0)->raw.memory_available_bytes, 6ull << 30);

	collect_self(&self);
	assert_int_equal(self.ticks, 2);
	assert_true(self.last_ns > 0);
	assert_true(self.max_ns >= self.last_ns);
	assert_true(self.total_ns >= self.max_ns);
	assert_int_equal(self.ring_samples, 8);
}

/* ---- slots ---------------------------------------------------------------- */

static void test_slots_duplicates_and_capacity(void **state)
{
	struct vm_desc d = { .name = "x" };
	uint32_t a, b, c, slot;

	collect_fini();
	assert_int_equal(start(4, 2), 0);
	a = add_vm("vm1", UUID1, 100, 1, NULL);
	b = add_vm("vm2", UUID2, 200, 1, NULL);
	assert_int_not_equal(a, b);
	/* the same uuid twice */
	snprintf(d.uuid, sizeof(d.uuid), "%s", UUID1);
	assert_int_equal(collect_vm_add(&d, &slot), -EEXIST);
	snprintf(d.uuid, sizeof(d.uuid), "%s", "11111111-2222-3333-4444-777777777777");
	assert_int_equal(collect_vm_add(&d, &slot), -ENOSPC);
	/* no uuid */
	d.uuid[0] = '\0';
	assert_int_equal(collect_vm_add(&d, &slot), -EINVAL);
	assert_int_equal(collect_vm_remove(a), 0);
	c = add_vm("vm3", "11111111-2222-3333-4444-777777777777", 300, 1, NULL);
	assert_int_equal(c, a);	/* only one free: reused */
	assert_int_equal(collect_vm_count(), 2);
	/* lookups: by name, by uuid in any case */
	assert_ptr_equal(collect_vm_find("vm2"), collect_vm_by_slot(b));
	assert_ptr_equal(collect_vm_find("11111111-2222-3333-4444-666666666666"),
			 collect_vm_by_slot(b));
	assert_ptr_equal(collect_vm_find("11111111-2222-3333-4444-777777777777"),
			 collect_vm_by_slot(c));
	assert_null(collect_vm_find("nope"));
	assert_null(collect_vm_by_slot(0));
	assert_null(collect_vm_by_slot(3));
}

static void test_slots_are_not_reused_at_once(void **state)
{
	uint32_t a = add_vm("vm1", UUID1, 100, 1, NULL), b;

	assert_int_equal(collect_vm_remove(a), 0);
	b = add_vm("vm2", UUID2, 200, 1, NULL);
	assert_int_not_equal(a, b);
}

/* ---- degraded: the default readers on a fake /proc ------------------------ */

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

static void test_proc_readers(void **state)
{
	char *proc = unit_mkdtemp("collect-proc");
	struct vm_thread th[1] = { { .tid = 4243, .vcpu = 0 } };
	struct vm_desc d = { .name = "vm1", .pid = 4242, .vcpus = 1, .threads = th, .n_threads = 1 };
	struct collect_opts o = { .clock_ns = fake_clock, .proc_root = proc, .ring_samples = 4 };
	const struct collect_vm *vm;
	struct collect_host_rates h;
	uint32_t slot;

	collect_fini();
	assert_non_null(proc);
	write_at(proc, "stat",
		 "cpu  100 0 100 700 100 0 0 0 0 0\n"
		 "cpu0 50 0 50 350 50 0 0 0 0 0\n"
		 "cpu1 50 0 50 350 50 0 0 0 0 0\n"
		 "intr 12345 1 2 3\n");
	write_at(proc, "meminfo", "MemTotal:       1024 kB\nMemFree:         512 kB\n"
		 "MemAvailable:    768 kB\n");
	write_at(proc, "4242/task/4243/schedstat", "5000000000 1000000 300\n");
	now_ns = 1000 * NS;
	assert_int_equal(collect_init(&o), 0);
	snprintf(d.uuid, sizeof(d.uuid), "%s", UUID1);
	assert_int_equal(collect_vm_add(&d, &slot), 0);
	vm = collect_vm_by_slot(slot);
	assert_int_equal(collect_cpu_source(), COLLECT_CPU_PROC);

	write_at(proc, "4242/task/4243/schedstat", "5500000000 1200000 310\n");
	write_at(proc, "stat", "cpu  150 0 150 750 150 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
	now_ns += NS;
	assert_int_equal(collect_tick(), 1);
	assert_int_equal(vm->threads[0].src, COLLECT_CPU_PROC);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.on_cpu_ns, 500000000);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.wait_ns, 200000);
	assert_int_equal(collect_vm_sample_at(vm, 0)->cpu.switches, 10);
	collect_host_rates(0, &h);
	assert_int_equal(h.cpus, 2);
	assert_true(fabs(h.cpu_busy_ratio - 100.0 / 200.0) < 1e-9);
	assert_true(fabs(h.load_ratio - 0.25) < 1e-9);
	assert_int_equal(collect_host_sample_at(0)->raw.memory_bytes, 1024 * 1024);
	assert_int_equal(collect_host_sample_at(0)->raw.memory_available_bytes, 768 * 1024);
	/* no net collector: the tap-less VM has nothing to say, and says it */
	assert_false(collect_has_net());
	unit_rmtree(proc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rates_use_the_measured_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_takes_the_closest_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_sample_gives_no_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_restarts_and_source_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_source_starts_from_a_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_keeps_vm_counters_monotonic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wraps_and_keeps_the_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_load_and_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_duplicates_and_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_are_not_reused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_readers, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("collect", tests, NULL, NULL);
}
