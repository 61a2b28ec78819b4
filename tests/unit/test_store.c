// SPDX-License-Identifier: GPL-2.0
/*
 * store and collect: the read API (values and rates of series over
 * windows, per VM, thread, tap and host; subscriptions), driven through
 * collect's libvirt-free API with a clock the test steps and raw readers
 * it controls (no BPF):
 *   - rates divide by the measured interval, not the tick; windows pick
 *     the right pair of samples;
 *   - counters never go back: restarts (a new BPF attach, a recreated
 *     link), a change of source, a VM's threads changing;
 *   - rings wrap and keep the newest ring_samples;
 *   - host figures, the load ratio and the host's capacity (host_cpus);
 *   - network series from the VM's side; KVM series; the series table;
 *   - subscribers run after every tick.
 */
#include "unit.h"

#include <math.h>

#include "fake_collect.h"
#include "log.h"

#define NS FAKE_NS
#define T0 (500 * NS) /* fake_collect_init()'s clock */

static int start_with(uint32_t ring, uint32_t max_vms, uint32_t host_cpus, bool kvm)
{
	struct collect_opts o = { .ring_samples = ring, .max_vms = max_vms, .host_cpus = host_cpus };

	return fake_collect_init(NULL, o, kvm);
}

static int start(uint32_t ring, uint32_t max_vms)
{
	return start_with(ring, max_vms, 0, false);
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

/* a VM with n vCPU threads (tids base+1..) and a tap if named */
static uint32_t add_vm(const char *name, const char *uuid, pid_t base, uint32_t n, const char *tap)
{
	const char *const taps[] = { tap, NULL };
	uint32_t slot = fake_vm(name, uuid, base, n, taps);

	assert_int_not_equal(slot, 0);
	return slot;
}

static void tick_at(double seconds)
{
	fake.now_ns = T0 + (uint64_t)(seconds * 1e9);
	assert_true(collect_tick() >= 0);
}

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "11111111-2222-3333-4444-666666666666"

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "11111111-2222-3333-4444-666666666666"

/* a VM series' rate over window_ms; its interval in *interval_ns if given */
static double rate(const struct store_vm *vm, enum series s, uint32_t window_ms, uint64_t *interval_ns)
{
	struct store_rate r;

	assert_int_equal(store_rate(vm, s, window_ms, &r), 0);
	if (interval_ns)
		*interval_ns = r.interval_ns;
	return r.per_s;
}

static uint64_t value(const struct store_vm *vm, enum series s)
{
	uint64_t v = 0;

	assert_int_equal(store_value(vm, s, &v), 0);
	return v;
}

static uint64_t tap_value(const struct store_vm *vm, enum series s)
{
	uint64_t v = 0;

	assert_int_equal(store_part_value(vm, SERIES_TAP, 0, s, &v), 0);
	return v;
}

/* ---- rates -------------------------------------------------------------- */

static void test_rates_use_the_measured_interval(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 2, "vnet0"));
	struct store_rate r;
	uint64_t v, iv;

	assert_non_null(vm);
	/* BPF counters count from tracking: the first reading is all new */
	fake_thread(101)->on_cpu_ns = 100000000; /* 0.1 s */
	tick_at(1.0);
	assert_true(fabs(rate(vm, SERIES_CPU_NS, 0, &iv) - 1e8) < 1);
	assert_int_equal(iv, NS);

	/* a late tick: 0.5 s of CPU in 1.25 s measured is 0.4 s/s, not 0.5 */
	fake_thread(101)->on_cpu_ns += 250000000;
	fake_thread(102)->on_cpu_ns += 250000000;
	fake_thread(102)->wait_ns += 125000000;
	fake_thread(102)->switches += 50;
	tick_at(2.25);
	assert_true(fabs(rate(vm, SERIES_CPU_NS, 0, &iv) - 4e8) < 1);
	assert_int_equal(iv, 1250000000ull);
	assert_true(fabs(rate(vm, SERIES_WAIT_NS, 0, NULL) - 1e8) < 1);
	assert_true(fabs(rate(vm, SERIES_SWITCHES, 0, NULL) - 40) < 1e-6);

	/* per thread, the same rule */
	assert_int_equal(store_part_rate(vm, SERIES_THREAD, 1, SERIES_CPU_NS, 0, &r), 0);
	assert_true(fabs(r.per_s - 2e8) < 1);

	/* cumulative figures */
	assert_int_equal(value(vm, SERIES_CPU_NS), 600000000);
	assert_int_equal(store_part_value(vm, SERIES_THREAD, 0, SERIES_CPU_NS, &v), 0);
	assert_int_equal(v, 350000000);
	/* out of range, wrong scope, a gauge */
	assert_int_equal(store_part_value(vm, SERIES_THREAD, 2, SERIES_CPU_NS, &v), -ENOENT);
	assert_int_equal(store_value(vm, SERIES_HOST_VM_CPU_NS, &v), -EINVAL);
	assert_int_equal(store_host_rate(SERIES_HOST_MEMORY_BYTES, 0, &r), -EINVAL);
	assert_int_equal(store_rate(NULL, SERIES_CPU_NS, 0, &r), -ENOENT);
}

static void test_rate_windows(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, "vnet0"));
	uint64_t iv;

	/* 0.1 s ticks, 10 ms of CPU in each; then 50 ms in the last one */
	for (int i = 1; i <= 6; i++) {
		fake_thread(101)->on_cpu_ns += i == 6 ? 50000000 : 10000000;
		fake_tap("vnet0")->c.rx_bytes += 1000; /* host receives: the VM sent */
		tick_at(0.1 * i);
	}
	/* window 0: the last interval */
	assert_true(fabs(rate(vm, SERIES_CPU_NS, 0, NULL) - 5e8) < 10);
	/* window 300 ms: from the sample 0.3 s older */
	assert_true(fabs(rate(vm, SERIES_CPU_NS, 300, &iv) - 70000000.0 / 0.3) < 10);
	assert_int_equal(iv, 300000000);
	assert_true(fabs(rate(vm, SERIES_TX_BYTES, 300, NULL) - 10000) < 1e-3);
	/* a window longer than the ring: from the oldest sample kept (8 of 7) */
	assert_true(fabs(rate(vm, SERIES_CPU_NS, 60000, &iv) - 100000000.0 / 0.6) < 10);
	assert_int_equal(iv, 600000000);
}

static void test_window_takes_the_closest_sample(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL));
	uint64_t iv;

	/* samples at 0 (add), 0.3, 0.62, 1.0: 0.38, 0.7 and 1.0 s before the newest */
	tick_at(0.3);
	tick_at(0.62);
	tick_at(1.0);
	rate(vm, SERIES_CPU_NS, 690, &iv);
	assert_int_equal(iv, 700000000);
	/* 750 ms: 0.7 s is closer than 1.0 s, though shorter */
	rate(vm, SERIES_CPU_NS, 750, &iv);
	assert_int_equal(iv, 700000000);
	rate(vm, SERIES_CPU_NS, 900, &iv);
	assert_int_equal(iv, 1000000000);
	/* never less than one interval */
	rate(vm, SERIES_CPU_NS, 1, &iv);
	assert_int_equal(iv, 380000000);
}

static void test_one_sample_gives_no_rate(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL));
	struct store_host_load h;
	uint64_t iv = 1;

	/* only the sample taken at add time */
	assert_true(rate(vm, SERIES_CPU_NS, 0, &iv) == 0);
	assert_int_equal(iv, 0);
	/* the host got its first sample at init */
	store_host_load(0, &h);
	assert_int_equal(h.interval_ns, 0);
	assert_int_equal(h.cpus, 4);
}

/* ---- counters ------------------------------------------------------------ */

static void test_counter_restarts_and_source_changes(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, "vnet0"));
	struct store_tap_info t;
	uint64_t newer, older;

	fake_tap("vnet0")->c.rx_bytes = 5000;
	tick_at(1);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 5000);

	/* re-attached (the tap was recreated): counts from 0 again */
	fake_tap("vnet0")->epoch = 2;
	fake_tap("vnet0")->c.rx_bytes = 300;
	tick_at(2);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 5300);

	/* a raw counter that goes back in the same epoch: a restart too */
	fake_tap("vnet0")->c.rx_bytes = 100;
	tick_at(3);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 5400);

	/* BPF gone, link stats since the link was created: a new baseline */
	fake_tap("vnet0")->src = COLLECT_NET_NETLINK;
	fake_tap("vnet0")->epoch = 7;
	fake_tap("vnet0")->c.rx_bytes = 123456789;
	tick_at(4);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 5400);
	assert_int_equal(store_tap_info(vm, 0, &t), 0);
	assert_int_equal(t.src, COLLECT_NET_NETLINK);
	fake_tap("vnet0")->c.rx_bytes += 600;
	tick_at(5);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 6000);
	/* the VM's sum followed, never backwards */
	assert_int_equal(value(vm, SERIES_TX_BYTES), 6000);
	for (uint32_t age = 0; store_value_at(vm, SERIES_TX_BYTES, age + 1, &older, NULL) == 0;
	     age++) {
		assert_int_equal(store_value_at(vm, SERIES_TX_BYTES, age, &newer, NULL), 0);
		assert_true(newer >= older);
	}

	/* a read that fails keeps the last figures */
	fake.n_taps = 0;
	tick_at(6);
	assert_int_equal(tap_value(vm, SERIES_TX_BYTES), 6000);
}

static void test_network_series_are_the_vm_side(void **state)
{
	const struct store_vm *vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, "vnet0"));
	struct store_rate r;

	/* the host sends 8000 bytes on the tap (the VM receives), receives 1000 */
	fake_tap("vnet0")->c.tx_bytes = 8000;
	fake_tap("vnet0")->c.tx_packets = 20;
	fake_tap("vnet0")->c.tx_dropped = 2;
	fake_tap("vnet0")->c.rx_bytes = 1000;
	fake_tap("vnet0")->c.rx_packets = 10;
	fake_tap("vnet0")->c.rx_dropped = 1;
	tick_at(2);
	assert_int_equal(value(vm, SERIES_RX_BYTES), 8000);
	assert_int_equal(value(vm, SERIES_RX_PACKETS), 20);
	assert_int_equal(value(vm, SERIES_RX_DROPS), 2);
	assert_int_equal(value(vm, SERIES_TX_BYTES), 1000);
	assert_int_equal(value(vm, SERIES_TX_PACKETS), 10);
	assert_int_equal(value(vm, SERIES_TX_DROPS), 1);
	assert_true(fabs(rate(vm, SERIES_RX_BYTES, 0, NULL) - 4000) < 1e-6);
	/* and the host's sums over the VMs too */
	assert_int_equal(store_host_rate(SERIES_HOST_VM_RX_BYTES, 0, &r), 0);
	assert_true(fabs(r.per_s - 4000) < 1e-6);
	assert_int_equal(store_host_rate(SERIES_HOST_VM_TX_BYTES, 0, &r), 0);
	assert_true(fabs(r.per_s - 500) < 1e-6);
	assert_true(store_has_net());
}

static void test_proc_source_starts_from_a_baseline(void **state)
{
	const struct store_vm *vm;
	struct store_thread_info t;

	/* /proc counts from the thread's birth: its first reading is the origin */
	fake_thread(201)->src = COLLECT_CPU_PROC;
	fake_thread(201)->on_cpu_ns = 77 * NS;
	vm = store_vm_by_slot(add_vm("vm2", UUID2, 200, 1, NULL));
	assert_int_equal(value(vm, SERIES_CPU_NS), 0);
	fake_thread(201)->on_cpu_ns += NS / 2;
	tick_at(1);
	assert_int_equal(value(vm, SERIES_CPU_NS), NS / 2);
	assert_int_equal(store_thread_info(vm, 0, &t), 0);
	assert_int_equal(t.src, COLLECT_CPU_PROC);
}

static void test_update_keeps_vm_counters_monotonic(void **state)
{
	struct vm_thread th[2] = { { .tid = 101, .vcpu = 0 }, { .tid = 105, .vcpu = 1 } };
	struct vm_desc d = { .name = "vm1", .pid = 100, .vcpus = 2, .threads = th, .n_threads = 2 };
	uint32_t slot = add_vm("vm1", UUID1, 100, 1, "vnet0");
	const struct store_vm *vm = store_vm_by_slot(slot);
	uint64_t v;

	assert_int_equal(fake.tracked_threads, 1);
	assert_int_equal(fake.tracked_taps, 1);
	fake_thread(101)->on_cpu_ns = 3 * NS;
	tick_at(1);
	/* a second vCPU thread shows up (found late), the tap went away */
	snprintf(d.uuid, sizeof(d.uuid), "%s", UUID1);
	fake_thread(105)->on_cpu_ns = 2 * NS; /* BPF: since its tracking */
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(fake.tracked_threads, 2);
	assert_int_equal(fake.tracked_taps, 0);
	vm = store_vm_by_slot(slot);
	assert_int_equal(store_vm_desc(vm)->n_threads, 2);
	/* the old thread keeps its ring: a rate at once */
	tick_at(2);
	assert_int_equal(value(vm, SERIES_CPU_NS), 5 * NS);
	assert_int_equal(store_part_value(vm, SERIES_THREAD, 0, SERIES_CPU_NS, &v), 0);
	assert_int_equal(v, 3 * NS);

	/* the first thread leaves: the VM's total does not drop */
	d.threads = &th[1];
	d.n_threads = 1;
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(fake.tracked_threads, 1);
	tick_at(3);
	assert_int_equal(value(vm, SERIES_CPU_NS), 5 * NS);

	/* a new QEMU process: everything tracked afresh */
	d.pid = 300;
	assert_int_equal(collect_vm_update(slot, &d), 0);
	assert_int_equal(fake.tracked_threads, 1);
	assert_int_equal(store_part_value(vm, SERIES_THREAD, 0, SERIES_CPU_NS, &v), -ENOENT);

	assert_int_equal(collect_vm_remove(slot), 0);
	assert_int_equal(fake.tracked_threads, 0);
	assert_int_equal(collect_vm_remove(slot), -ENOENT);
}

/* ---- rings ---------------------------------------------------------------- */

static void test_ring_wraps_and_keeps_the_newest(void **state)
{
	const struct store_vm *vm;
	uint64_t v, t_ns;

	collect_fini();
	assert_int_equal(start(4, 16), 0);
	vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL));
	for (int i = 1; i <= 10; i++) {
		fake_thread(101)->on_cpu_ns = (uint64_t)i * 1000;
		tick_at(i);
	}
	assert_int_equal(value(vm, SERIES_CPU_NS), 10000);
	assert_int_equal(store_value_at(vm, SERIES_CPU_NS, 3, &v, &t_ns), 0);
	assert_int_equal(v, 7000);
	assert_int_equal(t_ns, T0 + 7 * NS);
	assert_int_equal(store_value_at(vm, SERIES_CPU_NS, 4, &v, NULL), -ENOENT);
}

/* ---- host ----------------------------------------------------------------- */

static void test_host_load_and_cost(void **state)
{
	struct store_host_load h;
	struct store_self self;
	struct store_rate r;
	uint64_t v;

	add_vm("vm1", UUID1, 100, 2, "vnet0");
	add_vm("vm2", UUID2, 200, 1, NULL);
	fake.host.cpus = 2;
	fake.host.cpu_busy_ticks = 100;
	fake.host.cpu_total_ticks = 400;
	fake.host.memory_bytes = 8ull << 30;
	fake.host.memory_available_bytes = 6ull << 30;
	tick_at(1);
	/* vm1 runs 1.5 CPUs' worth, vm2 0.5: 2 of 2 CPUs over 0.5 s */
	fake_thread(101)->on_cpu_ns += 500000000;
	fake_thread(102)->on_cpu_ns += 250000000;
	fake_thread(201)->on_cpu_ns += 250000000;
	fake_thread(201)->wait_ns += 100000000;
	fake_tap("vnet0")->c.rx_bytes += 4096;
	fake.host.cpu_busy_ticks += 90;
	fake.host.cpu_total_ticks += 100;
	tick_at(1.5);
	store_host_load(0, &h);
	assert_int_equal(h.interval_ns, 500000000);
	assert_int_equal(h.cpus, 2);
	assert_int_equal(h.online_cpus, 2);
	assert_true(fabs(h.cpu_busy_ratio - 0.9) < 1e-9);
	assert_true(fabs(h.load_ratio - 1.0) < 1e-9);
	assert_int_equal(store_host_rate(SERIES_HOST_VM_CPU_NS, 0, &r), 0);
	assert_true(fabs(r.per_s - 2e9) < 1);
	assert_int_equal(store_host_rate(SERIES_HOST_VM_WAIT_NS, 0, &r), 0);
	assert_true(fabs(r.per_s - 2e8) < 1);
	/* the tap's rx is what the VM sent */
	assert_int_equal(store_host_rate(SERIES_HOST_VM_TX_BYTES, 0, &r), 0);
	assert_true(fabs(r.per_s - 8192) < 1e-6);
	assert_int_equal(store_host_value(SERIES_HOST_MEMORY_AVAILABLE_BYTES, &v), 0);
	assert_int_equal(v, 6ull << 30);
	assert_int_equal(store_host_value(SERIES_CPU_NS, &v), -EINVAL);

	store_self(&self);
	assert_int_equal(self.ticks, 2);
	assert_true(self.last_ns > 0);
	assert_true(self.max_ns >= self.last_ns);
	assert_true(self.total_ns >= self.max_ns);
	assert_int_equal(self.ring_samples, 8);
	assert_int_equal(self.host_cpus, 0);
}

static void test_host_cpus_is_the_capacity(void **state)
{
	struct store_host_load h;

	/* a testbed host owns 4 of the machine's CPUs; the machine has 16 online */
	collect_fini();
	assert_int_equal(start_with(8, 4, 4, false), 0);
	fake.host.cpus = 16;
	add_vm("vm1", UUID1, 100, 2, NULL);
	fake_thread(101)->on_cpu_ns = NS;
	fake_thread(102)->on_cpu_ns = NS;
	tick_at(1);
	/* 2 CPUs' worth of 4 */
	store_host_load(0, &h);
	assert_int_equal(h.cpus, 4);
	assert_int_equal(h.online_cpus, 16);
	assert_true(fabs(h.load_ratio - 0.5) < 1e-9);
	/* a reload back to 0: the online CPUs */
	collect_set_host_cpus(0);
	store_host_load(0, &h);
	assert_int_equal(h.cpus, 16);
	assert_true(fabs(h.load_ratio - 2.0 / 16) < 1e-9);
}

/* ---- KVM series ----------------------------------------------------------- */

static void test_kvm_series(void **state)
{
	const struct store_vm *vm;
	uint64_t iv;

	/* without a vm reader, the store has no KVM figures */
	assert_false(store_has_kvm());
	collect_fini();
	assert_int_equal(start_with(8, 4, 0, true), 0);
	assert_true(store_has_kvm());
	vm = store_vm_by_slot(add_vm("vm1", UUID1, 100, 1, NULL));
	fake.vm.kvm_exits = 500;
	fake.vm.dirty_ring_pushes = 64;
	tick_at(1);
	fake.vm.kvm_exits = 1500;
	fake.vm.dirty_ring_pushes = 64 + 32;
	tick_at(1.5);
	assert_int_equal(value(vm, SERIES_KVM_EXITS), 1500);
	assert_int_equal(value(vm, SERIES_DIRTY_RING_PUSHES), 96);
	assert_true(fabs(rate(vm, SERIES_KVM_EXITS, 0, &iv) - 2000) < 1e-6);
	assert_true(fabs(rate(vm, SERIES_DIRTY_RING_PUSHES, 0, NULL) - 64) < 1e-6);
	assert_int_equal(iv, 500000000);
}

/* ---- the series table ----------------------------------------------------- */

static void test_series_table_is_whole(void **state)
{
	for (enum series s = 0; s < SERIES_N; s++) {
		const struct series_info *i = series_info(s);

		assert_non_null(i);
		assert_true((s < SERIES_VM_N) == (i->scope != SERIES_HOST));
		/* what the export names has a help text */
		assert_true(!i->prom_name || i->prom_help);
		for (enum series o = 0; o < s; o++)
			assert_string_not_equal(series_name(o), i->name);
	}
	assert_null(series_info(SERIES_N));
	assert_string_equal(series_name(SERIES_N), "?");
	assert_string_equal(series_name(SERIES_RX_BYTES), "rx_bytes");
}

/* ---- subscribers ---------------------------------------------------------- */

static int calls_a, calls_b;
static uint64_t seen_cpu_ns;

static void on_tick_a(void *arg)
{
	const struct store_vm *vm = store_vm_find(arg);

	/* a subscriber sees the tick's figures already */
	calls_a++;
	if (vm)
		store_value(vm, SERIES_CPU_NS, &seen_cpu_ns);
}

static void on_tick_b(void *arg)
{
	calls_b++;
	store_unsubscribe(on_tick_b, arg); /* once only */
}

static void test_subscribers_run_after_each_tick(void **state)
{
	add_vm("vm1", UUID1, 100, 1, NULL);
	calls_a = calls_b = 0;
	assert_int_equal(store_subscribe(on_tick_a, "vm1"), 0);
	assert_int_equal(store_subscribe(on_tick_b, NULL), 0);
	fake_thread(101)->on_cpu_ns = 42;
	tick_at(1);
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_b, 1);
	assert_int_equal(seen_cpu_ns, 42);
	tick_at(2);
	assert_int_equal(calls_a, 2);
	assert_int_equal(calls_b, 1);
	store_unsubscribe(on_tick_a, "vm1");
	tick_at(3);
	assert_int_equal(calls_a, 2);
	assert_int_equal(store_subscribe(NULL, NULL), -EINVAL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(store_subscribe(on_tick_a, NULL), 0);
	assert_int_equal(store_subscribe(on_tick_a, NULL), -ENOSPC);
	for (int i = 0; i < 8; i++)
		store_unsubscribe(on_tick_a, NULL);
}

/* ---- slots ---------------------------------------------------------------- */

static void test_slots_duplicates_and_capacity(void **state)
{
	struct vm_desc d = { .name = "x" };
	uint32_t a, b, c, slot;
	struct collect_opts bad = { .readers = &fake_readers, .ring_samples = 1, .max_vms = 4 };

	collect_fini();
	/* sizes are the configuration's: none is made up here */
	assert_int_equal(collect_init(&bad), -EINVAL);
	bad.ring_samples = 4;
	bad.max_vms = 0;
	assert_int_equal(collect_init(&bad), -EINVAL);
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
	assert_int_equal(c, a); /* only one free: reused */
	assert_int_equal(store_vm_count(), 2);
	/* lookups: by name, by uuid in any case */
	assert_ptr_equal(store_vm_find("vm2"), store_vm_by_slot(b));
	assert_ptr_equal(store_vm_find("11111111-2222-3333-4444-666666666666"), store_vm_by_slot(b));
	assert_ptr_equal(store_vm_find("11111111-2222-3333-4444-777777777777"), store_vm_by_slot(c));
	assert_int_equal(store_vm_slot(store_vm_find("vm3")), c);
	assert_null(store_vm_find("nope"));
	assert_null(store_vm_by_slot(0));
	assert_null(store_vm_by_slot(3));
}

static void test_slots_are_not_reused_at_once(void **state)
{
	uint32_t a = add_vm("vm1", UUID1, 100, 1, NULL), b;

	assert_int_equal(collect_vm_remove(a), 0);
	b = add_vm("vm2", UUID2, 200, 1, NULL);
	assert_int_not_equal(a, b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rates_use_the_measured_interval),
		T(test_rate_windows),
		T(test_window_takes_the_closest_sample),
		T(test_one_sample_gives_no_rate),
		T(test_counter_restarts_and_source_changes),
		T(test_network_series_are_the_vm_side),
		T(test_proc_source_starts_from_a_baseline),
		T(test_update_keeps_vm_counters_monotonic),
		T(test_ring_wraps_and_keeps_the_newest),
		T(test_host_load_and_cost),
		T(test_host_cpus_is_the_capacity),
		T(test_kvm_series),
		T(test_series_table_is_whole),
		T(test_subscribers_run_after_each_tick),
		T(test_slots_duplicates_and_capacity),
		T(test_slots_are_not_reused_at_once),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
