// SPDX-License-Identifier: GPL-2.0
/*
 * textfile: the Prometheus export.  See textfile.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "conf.h"
#include "ctrl.h"
#include "dirty.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "react.h"
#include "sources.h"
#include "store.h"
#include "textfile.h"
#include "util.h"

static struct {
	int timer_id;
	uint32_t interval_ms;
	int last_err; /* logged once per distinct failure */
} ts;

static void vcpu_label(uint32_t vcpu, char *buf, size_t n)
{
	if (vcpu == VM_VCPU_ALL)
		snprintf(buf, n, "all");
	else
		snprintf(buf, n, "%u", vcpu);
}

/* per-vCPU counter family of a thread series */
static void vcpu_family(struct prom *p, enum series s)
{
	const struct series_info *si = series_info(s);

	prom_family(p, si->prom_name, "counter", si->prom_help);
	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);

		for (uint32_t i = 0; i < d->n_threads; i++) {
			struct store_thread_info t;
			char vcpu[16];
			struct prom_label l[] = {
				{ "domain", d->name },
				{ "uuid", d->uuid },
				{ "vcpu", vcpu },
			};
			uint64_t v;

			if (store_thread_info(vm, i, &t) ||
			    store_part_value(vm, SERIES_THREAD, i, s, &v))
				continue;
			vcpu_label(t.vcpu, vcpu, sizeof(vcpu));
			prom_sample(p, si->prom_name, l, ARRAY_SIZE(l), (double)v * si->prom_scale);
		}
	}
}

/* per-tap counter family of a tap series (the VM's point of view) */
static void tap_family(struct prom *p, enum series s)
{
	const struct series_info *si = series_info(s);

	prom_family(p, si->prom_name, "counter", si->prom_help);
	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);

		for (uint32_t i = 0; i < d->n_taps; i++) {
			struct store_tap_info t;
			struct prom_label l[] = {
				{ "domain", d->name },
				{ "uuid", d->uuid },
				{ "target_device", t.ifname },
			};
			uint64_t v;

			/* a tap never read (absent) or a source without drops
			 * says nothing rather than 0 */
			if (store_tap_info(vm, i, &t) || store_part_value(vm, SERIES_TAP, i, s, &v) ||
			    !t.read || (si->drops && !t.has_drops))
				continue;
			prom_sample(p, si->prom_name, l, ARRAY_SIZE(l), (double)v * si->prom_scale);
		}
	}
}

static void vm_gauge(struct prom *p, const char *name, const char *help, bool memory)
{
	prom_family(p, name, "gauge", help);
	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);
		struct prom_label l[] = { { "domain", d->name }, { "uuid", d->uuid } };

		prom_sample(p, name, l, ARRAY_SIZE(l),
			    memory ? (double)d->memory_bytes : (double)d->vcpus);
	}
}

/* a dirty-curve figure, only for the VMs with data (none: no sample at all) */
static void dirty_gauge(struct prom *p, const char *name, const char *help, bool rate)
{
	bool declared = false;

	for (const struct store_vm *vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		const struct vm_desc *d = store_vm_desc(vm);
		struct prom_label l[] = { { "domain", d->name }, { "uuid", d->uuid } };
		struct dirty_info di;

		if (dirty_get(d->uuid, &di))
			continue;
		if (!declared)
			prom_family(p, name, "gauge", help);
		declared = true;
		prom_sample(p, name, l, ARRAY_SIZE(l),
			    rate ? di.rate_bytes_per_s : (double)di.working_set_bytes);
	}
}

static void gauge(struct prom *p, const char *name, const char *help, double v)
{
	prom_family(p, name, "gauge", help);
	prom_sample(p, name, NULL, 0, v);
}

int textfile_build(struct prom *p)
{
	const struct sources *src = sources_get();
	struct prom_label version[] = { { "version", TIDE_VERSION } };
	uint64_t mem_total = 0, mem_avail = 0;
	struct store_host_load r;
	struct store_self self;

	store_self(&self);
	/* a gauge read every scrape: averaged over the export interval
	 * (as much of it as the ring holds), not the last tick's noise */
	store_host_load(ts.interval_ms, &r);
	store_host_value(SERIES_HOST_MEMORY_BYTES, &mem_total);
	store_host_value(SERIES_HOST_MEMORY_AVAILABLE_BYTES, &mem_avail);

	prom_family(p, "tide_build_info", "gauge", "tide's version, as a label.");
	prom_sample(p, "tide_build_info", version, 1, 1);
	gauge(p, "tide_last_collection_timestamp_seconds",
	      "When tided last collected its figures, in seconds since the epoch.",
	      (double)self.last_tick_realtime_ns / 1e9);
	prom_family(p, "tide_collection_duration_seconds", "summary",
		    "CPU time tided spent collecting, per tick (CLOCK_THREAD_CPUTIME_ID).");
	prom_sample(p, "tide_collection_duration_seconds_sum", NULL, 0, (double)self.total_ns / 1e9);
	prom_sample(p, "tide_collection_duration_seconds_count", NULL, 0, (double)self.ticks);
	gauge(p, "tide_collection_last_duration_seconds",
	      "CPU time of tided's last collection tick.", (double)self.last_ns / 1e9);
	gauge(p, "tide_collection_max_duration_seconds",
	      "Longest CPU time of a collection tick since tided started.",
	      (double)self.max_ns / 1e9);
	gauge(p, "tide_degraded", "1 when a BPF collector could not load and a fallback is in use.",
	      src && src->degraded ? 1 : 0);
	if (src) {
		struct prom_label c[2];

		prom_family(p, "tide_collector_info", "gauge",
			    "Where each collector's figures come from, as labels.");
		c[0] = (struct prom_label){ "collector", "cpu" };
		c[1] = (struct prom_label){ "mode", src->cpu_mode };
		prom_sample(p, "tide_collector_info", c, 2, 1);
		c[0].value = "net";
		c[1].value = src->net_mode;
		prom_sample(p, "tide_collector_info", c, 2, 1);
		c[0].value = "kvm";
		c[1].value = src->kvm_mode;
		prom_sample(p, "tide_collector_info", c, 2, 1);
	}

	gauge(p, "tide_host_cpus", "CPUs of the host: its CPU capacity (host_cpus, else online).",
	      r.cpus);
	gauge(p, "tide_host_cpu_busy_ratio",
	      "Host CPU use since the last export (/proc/stat), 0 to 1.", r.cpu_busy_ratio);
	gauge(p, "tide_host_load_ratio",
	      "On-CPU time of the VMs' vCPUs over the host's capacity since the last export, 0 to 1.",
	      r.load_ratio);
	gauge(p, "tide_host_memory_bytes", "Host memory (MemTotal).", (double)mem_total);
	gauge(p, "tide_host_memory_available_bytes", "Host memory available (MemAvailable).",
	      (double)mem_avail);
	gauge(p, "tide_host_vms", "VMs tracked on the host.", store_vm_count());

	for (enum series s = 0; s < SERIES_VM_N; s++) {
		const struct series_info *si = series_info(s);

		if (si->prom_name && si->scope == SERIES_THREAD)
			vcpu_family(p, s);
		else if (si->prom_name && si->scope == SERIES_TAP)
			tap_family(p, s);
	}

	vm_gauge(p, "tide_vm_memory_bytes", "Memory size of the VM (libvirt <memory>).", true);
	vm_gauge(p, "tide_vm_vcpus", "vCPUs of the VM.", false);
	mig_fill_prom(p);
	react_fill_prom(p);
	admit_fill_prom(p);
	ctrl_fill_prom(p);
	dirty_gauge(p, "tide_vm_dirty_rate_bytes_per_second",
		    "Rate the VM dirties memory: distinct bytes written in the shortest window "
		    "measured, over that window (a lower bound when the working set filled it).",
		    true);
	dirty_gauge(p, "tide_vm_working_set_bytes",
		    "Writable working set of the VM: the plateau of its dirty-page curve.", false);
	return p->err;
}

int textfile_write(const char *dir)
{
	char failed[4096] = "";
	struct prom p;
	int err;

	err = util_mkdir_p(dir, 0755, failed, sizeof(failed));
	if (err)
		return err;
	err = prom_begin(&p);
	if (err)
		return err;
	err = textfile_build(&p);
	if (err) {
		prom_abort(&p);
		return err;
	}
	return prom_commit(&p, dir, TIDE_TEXTFILE_NAME);
}

static void on_timer(void *arg)
{
	const struct tide_conf *c = conf_get();
	int err;

	if (!c || !c->textfile_enabled || !c->textfile_dir[0])
		return;
	err = textfile_write(c->textfile_dir);
	if (err && err != ts.last_err)
		log_warn("cannot write '%s/%s': %s; trying again every %u ms", c->textfile_dir,
			 TIDE_TEXTFILE_NAME, strerror(-err), ts.interval_ms);
	else if (!err && ts.last_err)
		log_notice("'%s/%s' written again", c->textfile_dir, TIDE_TEXTFILE_NAME);
	ts.last_err = err;
}

int textfile_reconfigure(void)
{
	const struct tide_conf *c = conf_get();
	bool on = c && c->textfile_enabled && c->textfile_dir[0];
	int err;

	if (ts.timer_id > 0 && on && ts.interval_ms == c->textfile_interval_ms)
		return 0;
	if (ts.timer_id > 0)
		loop_remove_timer(ts.timer_id);
	ts.timer_id = 0;
	if (!on) {
		log_info("Prometheus textfile export disabled");
		return 0;
	}
	ts.interval_ms = c->textfile_interval_ms;
	err = loop_add_periodic(ts.interval_ms, 0, on_timer, NULL, &ts.timer_id);
	if (err) {
		log_err("cannot arm the textfile timer: %s", strerror(-err));
		ts.timer_id = 0;
		return err;
	}
	log_info("Prometheus textfile '%s/%s' every %u ms", c->textfile_dir, TIDE_TEXTFILE_NAME,
		 ts.interval_ms);
	return 0;
}

int textfile_init(void)
{
	memset(&ts, 0, sizeof(ts));
	return textfile_reconfigure();
}

void textfile_fini(void)
{
	if (ts.timer_id > 0)
		loop_remove_timer(ts.timer_id);
	memset(&ts, 0, sizeof(ts));
}
