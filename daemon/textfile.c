// SPDX-License-Identifier: GPL-2.0
/*
 * textfile: the Prometheus export.  See textfile.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "textfile.h"
#include "util.h"

static struct {
	int timer_id;
	uint32_t interval_ms;
	int last_err;		/* logged once per distinct failure */
} ts;

static void vcpu_label(const struct collect_thread *t, char *buf, size_t n)
{
	if (t->vcpu == VM_VCPU_ALL)
		snprintf(buf, n, "all");
	else
		snprintf(buf, n, "%u", t->vcpu);
}

/* per-vCPU counter family; field: offset of a uint64_t in collect_cpu_sample */
static void vcpu_family(struct prom *p, const char *name, const char *help, size_t field,
			double scale)
{
	prom_family(p, name, "counter", help);
	for (const struct collect_vm *vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm)) {
		for (uint32_t i = 0; i < vm->desc.n_threads; i++) {
			const struct collect_thread *t = &vm->threads[i];
			const struct collect_cpu_sample *s = collect_thread_sample_at(t, 0);
			char vcpu[16];
			struct prom_label l[] = {
				{ "domain", vm->desc.name }, { "uuid", vm->desc.uuid },
				{ "vcpu", vcpu },
			};

			if (!s)
				continue;
			vcpu_label(t, vcpu, sizeof(vcpu));
			prom_sample(p, name, l, ARRAY_SIZE(l),
				    (double)*(const uint64_t *)((const char *)s + field) * scale);
		}
	}
}

/* per-tap counter family; field: offset in collect_net_sample (host side) */
static void tap_family(struct prom *p, const char *name, const char *help, size_t field,
		       bool drops)
{
	prom_family(p, name, "counter", help);
	for (const struct collect_vm *vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm)) {
		for (uint32_t i = 0; i < vm->desc.n_taps; i++) {
			const struct collect_tap *t = &vm->taps[i];
			const struct collect_net_sample *s = collect_tap_sample_at(t, 0);
			struct prom_label l[] = {
				{ "domain", vm->desc.name }, { "uuid", vm->desc.uuid },
				{ "target_device", t->ifname },
			};

			/* a tap never read (absent) or a source without drops
			 * says nothing rather than 0 */
			if (!s || !t->have_raw || (drops && !t->has_drops))
				continue;
			prom_sample(p, name, l, ARRAY_SIZE(l),
				    (double)*(const uint64_t *)((const char *)s + field));
		}
	}
}

static void vm_gauge(struct prom *p, const char *name, const char *help, bool memory)
{
	prom_family(p, name, "gauge", help);
	for (const struct collect_vm *vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm)) {
		struct prom_label l[] = { { "domain", vm->desc.name }, { "uuid", vm->desc.uuid } };

		prom_sample(p, name, l, ARRAY_SIZE(l),
			    memory ? (double)vm->desc.memory_bytes : (double)vm->desc.vcpus);
	}
}

static void gauge(struct prom *p, const char *name, const char *help, double v)
{
	prom_family(p, name, "gauge", help);
	prom_sample(p, name, NULL, 0, v);
}

int textfile_build(struct prom *p)
{
	const struct collect_sources *src = collect_sources();
	const struct collect_host_sample *h = collect_host_sample_at(0);
	struct prom_label version[] = { { "version", TIDE_VERSION } };
	struct collect_host_rates r;
	struct collect_self self;

	collect_self(&self);
	/* a gauge read every scrape: averaged over the export interval
	 * (as much of it as the ring holds), not the last tick's noise */
	collect_host_rates(ts.interval_ms, &r);

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
	      "Longest CPU time of a collection tick since tided started.", (double)self.max_ns / 1e9);
	gauge(p, "tide_degraded",
	      "1 when a BPF collector could not load and a fallback is in use.",
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

	gauge(p, "tide_host_cpus", "Online CPUs of the host: its CPU capacity.",
	      h ? h->raw.cpus : 0);
	gauge(p, "tide_host_cpu_busy_ratio",
	      "Host CPU use since the last export (/proc/stat), 0 to 1.", r.cpu_busy_ratio);
	gauge(p, "tide_host_load_ratio",
	      "On-CPU time of the VMs' vCPUs over the host's capacity since the last export, 0 to 1.",
	      r.load_ratio);
	gauge(p, "tide_host_memory_bytes", "Host memory (MemTotal).",
	      h ? (double)h->raw.memory_bytes : 0);
	gauge(p, "tide_host_memory_available_bytes", "Host memory available (MemAvailable).",
	      h ? (double)h->raw.memory_available_bytes : 0);
	gauge(p, "tide_host_vms", "VMs tracked on the host.", collect_vm_count());

	vcpu_family(p, "tide_vm_cpu_seconds_total", "Time the vCPU thread ran on a CPU.",
		    offsetof(struct collect_cpu_sample, on_cpu_ns), 1e-9);
	vcpu_family(p, "tide_vm_cpu_wait_seconds_total",
		    "Time the vCPU thread was runnable but waited for a CPU (run-queue wait).",
		    offsetof(struct collect_cpu_sample, wait_ns), 1e-9);
	vcpu_family(p, "tide_vm_cpu_switches_total", "Context switches of the vCPU thread.",
		    offsetof(struct collect_cpu_sample, switches), 1);

	/* the VM's point of view: it receives what the host transmits on the tap */
	tap_family(p, "tide_vm_network_receive_bytes_total", "Bytes the VM received.",
		   offsetof(struct collect_net_sample, tx_bytes), false);
	tap_family(p, "tide_vm_network_receive_packets_total", "Packets the VM received.",
		   offsetof(struct collect_net_sample, tx_packets), false);
	tap_family(p, "tide_vm_network_receive_drops_total",
		   "Packets for the VM dropped on the host side of its interface.",
		   offsetof(struct collect_net_sample, tx_drops), true);
	tap_family(p, "tide_vm_network_transmit_bytes_total", "Bytes the VM sent.",
		   offsetof(struct collect_net_sample, rx_bytes), false);
	tap_family(p, "tide_vm_network_transmit_packets_total", "Packets the VM sent.",
		   offsetof(struct collect_net_sample, rx_packets), false);
	tap_family(p, "tide_vm_network_transmit_drops_total",
		   "Packets the VM sent that the host dropped.",
		   offsetof(struct collect_net_sample, rx_drops), true);

	vm_gauge(p, "tide_vm_memory_bytes", "Memory size of the VM (libvirt <memory>).", true);
	vm_gauge(p, "tide_vm_vcpus", "vCPUs of the VM.", false);
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
