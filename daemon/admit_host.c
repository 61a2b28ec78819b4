// SPDX-License-Identifier: GPL-2.0
/*
 * admit_host: the admission module wired to this tided.  See admit.h.
 *
 * admit.c decides over plain figures; this file is where they come from,
 * so that the decision stays testable and the integrator can change the
 * sources (the planner's smoothed load, its plan_high) here alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "collect.h"
#include "conf.h"
#include "inv.h"
#include "log.h"
#include "store.h"

static struct {
	bool inited;
	bool subscribed_conf; /* conf has no unsubscribe: once per process */
} ah;

/* the load over two ticks (at least a second): one tick alone is noisy */
static uint32_t load_window_ms(void)
{
	uint32_t tick_ms = collect_tick_ms();

	return tick_ms * 2 > 1000 ? tick_ms * 2 : 1000;
}

static int host_capacity(struct admit_capacity *out, char *why, size_t why_bytes, void *arg)
{
	const struct tide_conf *c = conf_get();
	struct store_host_load load;
	struct store_self self;
	uint64_t mem = 0, now_ns = store_now_ns();

	memset(out, 0, sizeof(*out));
	if (!inv_connected()) {
		snprintf(why, why_bytes,
			 "tided is not connected to libvirt: the VMs here are unknown");
		return -ENOTCONN;
	}
	store_self(&self);
	store_host_load(load_window_ms(), &load);
	if (!self.ticks || !load.interval_ns || !load.cpus) {
		snprintf(why, why_bytes, "no load figures yet (tided started %llu ticks ago)",
			 (unsigned long long)self.ticks);
		return -ENODATA;
	}
	out->age_ms = now_ns > self.last_tick_ns ? (now_ns - self.last_tick_ns) / 1000000 : 0;
	if (c->host_memory_mib)
		out->memory_bytes = (uint64_t)c->host_memory_mib << 20;
	else if (store_host_value(SERIES_HOST_MEMORY_BYTES, &mem) || !mem) {
		snprintf(why, why_bytes, "no figure of the host's memory (MemTotal) yet");
		return -ENODATA;
	} else
		out->memory_bytes = mem;
	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);

		/* an incoming VM with a reservation is counted by it */
		if (!admit_counts_memory(d->uuid))
			out->memory_used_bytes += d->memory_bytes;
	}
	out->cpus = load.cpus;
	out->cpu_used = load.load_ratio * load.cpus;
	/* the planner's ceiling: no VM is admitted that the planner would
	 * have to move away again (no bounce) */
	out->cpu_high_ratio = conf_get() ? conf_get()->plan_high : ADMIT_CPU_HIGH_DEFAULT;
	return 0;
}

/* After each tick: what the inventory sees of the VMs that hold a reservation. */
static void on_tick(void *arg)
{
	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);

		if (!admit_counts_memory(d->uuid))
			continue;
		if (!d->state || !strcmp(d->state, "running"))
			admit_domain_running(d->uuid);
		else
			admit_domain_present(d->uuid);
	}
}

static struct admit_opts opts_of(const struct tide_conf *c)
{
	return (struct admit_opts){
		.capacity = host_capacity,
		.enabled = c->admit_enabled,
		.reserve_memory_bytes = (uint64_t)c->admit_reserve_memory_mib << 20,
		.timeout_ms = c->admit_timeout_ms,
		/* three ticks missed: the collection is stuck */
		.max_age_ms = c->tick_ms * 3 > 3000 ? c->tick_ms * 3 : 3000,
		/* until the load over load_window_ms() has seen the VM run */
		.settle_ms = load_window_ms() + c->tick_ms,
	};
}

static void on_reload(const struct tide_conf *c, void *arg)
{
	struct admit_opts o;

	if (!ah.inited)
		return;
	o = opts_of(c);
	admit_reconfigure(&o);
}

int admit_host_init(void)
{
	struct admit_opts o = opts_of(conf_get());
	int err;

	if (ah.inited)
		return -EALREADY;
	err = admit_init(&o);
	if (err)
		return err;
	err = store_subscribe(on_tick, NULL);
	if (!err && !ah.subscribed_conf)
		err = conf_subscribe(on_reload, NULL);
	if (err) {
		log_err("cannot follow the ticks and reloads for admission: %s", strerror(-err));
		store_unsubscribe(on_tick, NULL);
		admit_fini();
		return err;
	}
	ah.subscribed_conf = true;
	ah.inited = true;
	return 0;
}

void admit_host_fini(void)
{
	if (!ah.inited)
		return;
	store_unsubscribe(on_tick, NULL);
	admit_fini();
	ah.inited = false;
}
