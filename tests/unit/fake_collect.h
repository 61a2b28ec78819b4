/* SPDX-License-Identifier: GPL-2.0 */
/*
 * collect driven with canned raw figures and a clock the test steps, for
 * the tests of what is built from the store (show, textfile).  Include
 * after unit.h; one test binary at a time, so the state is static.  The
 * sources reported are the test's: it includes sources.c to set them.
 */
#ifndef TIDE_FAKE_COLLECT_H
#define TIDE_FAKE_COLLECT_H

#include "../../daemon/sources.c"
#include "collect.h"
#include "store.h"

#define FAKE_MAX 32
#define FAKE_NS 1000000000ull

static struct {
	uint64_t now_ns;
	pid_t tid[FAKE_MAX];
	struct collect_thread_raw thread[FAKE_MAX];
	int n_threads;
	char ifname[FAKE_MAX][IFNAMSIZ];
	struct collect_tap_raw tap[FAKE_MAX];
	int n_taps;
	struct collect_host_raw host;
	struct collect_vm_raw vm; /* every VM's KVM figures */
	int tracked_threads, tracked_taps;
} fake;

static inline uint64_t fake_clock(void)
{
	return fake.now_ns;
}

static inline struct collect_thread_raw *fake_thread(pid_t tid)
{
	for (int i = 0; i < fake.n_threads; i++)
		if (fake.tid[i] == tid)
			return &fake.thread[i];
	fake.tid[fake.n_threads] = tid;
	memset(&fake.thread[fake.n_threads], 0, sizeof(fake.thread[0]));
	fake.thread[fake.n_threads].src = COLLECT_CPU_BPF;
	return &fake.thread[fake.n_threads++];
}

static inline struct collect_tap_raw *fake_tap(const char *ifname)
{
	for (int i = 0; i < fake.n_taps; i++)
		if (!strcmp(fake.ifname[i], ifname))
			return &fake.tap[i];
	snprintf(fake.ifname[fake.n_taps], IFNAMSIZ, "%s", ifname);
	memset(&fake.tap[fake.n_taps], 0, sizeof(fake.tap[0]));
	fake.tap[fake.n_taps].src = COLLECT_NET_BPF;
	fake.tap[fake.n_taps].epoch = 1;
	fake.tap[fake.n_taps].has_drops = true;
	return &fake.tap[fake.n_taps++];
}

static inline int fake_read_thread(pid_t pid, pid_t tid, struct collect_thread_raw *out)
{
	for (int i = 0; i < fake.n_threads; i++) {
		if (fake.tid[i] == tid) {
			*out = fake.thread[i];
			return 0;
		}
	}
	return -ENOENT;
}

static inline int fake_read_tap(const char *ifname, struct collect_tap_raw *out)
{
	for (int i = 0; i < fake.n_taps; i++) {
		if (!strcmp(fake.ifname[i], ifname)) {
			*out = fake.tap[i];
			return 0;
		}
	}
	return -ENODEV;
}

static inline int fake_read_host(struct collect_host_raw *out)
{
	*out = fake.host;
	return 0;
}

static inline int fake_read_vm(pid_t pid, struct collect_vm_raw *out)
{
	*out = fake.vm;
	return 0;
}

static inline int fake_track_thread(uint32_t slot, pid_t pid, const struct vm_thread *t)
{
	fake.tracked_threads++;
	return 0;
}

static inline void fake_untrack_thread(const struct vm_thread *t)
{
	fake.tracked_threads--;
}

static inline int fake_track_tap(uint32_t slot, const char *ifname)
{
	fake.tracked_taps++;
	return 0;
}

static inline void fake_untrack_tap(const char *ifname)
{
	fake.tracked_taps--;
}

static inline int fake_track_vm(uint32_t slot, pid_t pid)
{
	return 0;
}

static struct collect_readers fake_readers;

/*
 * Start collect over the fakes with o's sizes (and host_cpus), with a KVM
 * collector or without; the clock at 500 s, a 4-CPU host.
 */
static inline int fake_collect_init(const struct sources *sources, struct collect_opts o, bool kvm)
{
	fake_readers = (struct collect_readers){
		.track_thread = fake_track_thread,
		.untrack_thread = fake_untrack_thread,
		.track_tap = fake_track_tap,
		.untrack_tap = fake_untrack_tap,
		.track_vm = kvm ? fake_track_vm : NULL,
		.thread = fake_read_thread,
		.tap = fake_read_tap,
		.vm = kvm ? fake_read_vm : NULL,
		.host = fake_read_host,
	};
	o.clock_ns = fake_clock;
	o.readers = &fake_readers;
	memset(&fake, 0, sizeof(fake));
	/* what sources_open() would have found, as show and textfile report it */
	memset(&ss, 0, sizeof(ss));
	if (sources) {
		ss.s = *sources;
		ss.opened = true;
	}
	fake.now_ns = 500 * FAKE_NS;
	fake.host = (struct collect_host_raw){
		.cpu_busy_ticks = 100,
		.cpu_total_ticks = 1000,
		.cpus = 4,
		.memory_bytes = 16ull << 30,
		.memory_available_bytes = 12ull << 30,
	};
	return collect_init(&o);
}

static inline int fake_collect_start(const struct sources *sources)
{
	return fake_collect_init(sources, (struct collect_opts){ .ring_samples = 8, .max_vms = 16 },
				 false);
}

/* A VM with vcpus threads (tids pid+1..) and the given taps (NULL-terminated). */
static inline uint32_t fake_vm(const char *name, const char *uuid, pid_t pid, uint32_t vcpus,
			       const char *const *taps)
{
	struct vm_thread th[8];
	struct vm_tap tp[4];
	struct vm_desc d = {
		.name = (char *)name,
		.state = "running",
		.pid = pid,
		.memory_bytes = 256ull << 20,
		.current_memory_bytes = 256ull << 20,
		.vcpus = vcpus,
		.vcpus_max = vcpus,
		.threads = th,
		.n_threads = vcpus,
		.taps = tp,
	};
	uint32_t slot = 0;

	memset(tp, 0, sizeof(tp));
	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	for (uint32_t i = 0; i < vcpus; i++) {
		th[i] = (struct vm_thread){ .tid = pid + 1 + (pid_t)i, .vcpu = i };
		fake_thread(th[i].tid);
	}
	for (uint32_t i = 0; taps && taps[i]; i++) {
		snprintf(tp[i].ifname, sizeof(tp[i].ifname), "%s", taps[i]);
		snprintf(tp[i].mac, sizeof(tp[i].mac), "52:54:00:00:00:%02x", i + 1);
		fake_tap(taps[i]);
		d.n_taps++;
	}
	if (collect_vm_add(&d, &slot))
		return 0;
	return slot;
}

/* Step the clock by seconds and tick. */
static inline void fake_tick(double seconds)
{
	fake.now_ns += (uint64_t)(seconds * 1e9);
	collect_tick();
}

#endif /* TIDE_FAKE_COLLECT_H */
