// SPDX-License-Identifier: GPL-2.0
/*
 * show: "vm show" and "host show".  See show.h; schema in tidectl(8).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>

#include "conf.h"
#include "ctl.h"
#include "dirty.h"
#include "inv.h"
#include "kvm.h"
#include "show.h"
#include "sources.h"
#include "store.h"
#include "util.h"

#define ADD(obj, key, val) json_object_object_add(obj, key, val)
#define ADD_U64(obj, key, v) ADD(obj, key, json_object_new_int64((int64_t)(v)))
#define ADD_DBL(obj, key, v) ADD(obj, key, json_object_new_double(v))
#define SHOW_HISTORY_MAX 4096

static bool registered;

/* An optional integer argument in [0, max]; -EINVAL after ctl_error(). */
static int arg_uint(struct json_object *req, struct json_object *reply, const char *key,
		    uint32_t max, uint32_t *out)
{
	uint64_t v = *out;
	int err = ctl_arg_u64(req, reply, key, 0, max, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

/*
 * The values, then the rates, of the series of one scope (thread: cpu;
 * tap: network) of a part of vm (the VM itself, or its i-th thread or
 * tap), as the store keeps them: the VM's point of view.
 */
static void add_series(struct json_object *o, enum series_scope scope, const struct store_vm *vm,
		       enum series_scope part, uint32_t i, uint32_t window_ms)
{
	char key[64];

	for (enum series s = 0; s < SERIES_VM_N; s++) {
		const struct series_info *si = series_info(s);
		uint64_t v = 0;

		if (si->scope != scope)
			continue;
		store_part_value(vm, part, i, s, &v);
		ADD_U64(o, si->name, v);
	}
	for (enum series s = 0; s < SERIES_VM_N; s++) {
		const struct series_info *si = series_info(s);
		struct store_rate r;

		if (si->scope != scope)
			continue;
		store_part_rate(vm, part, i, s, window_ms, &r);
		snprintf(key, sizeof(key), "%s_per_s", si->name);
		ADD_DBL(o, key, r.per_s);
	}
}

/* The VM's dirty-page curve and what it gives (dirty.h). */
static struct json_object *dirty_json(const char *uuid)
{
	struct json_object *o = json_object_new_object(), *pts;
	uint64_t now_ns = util_monotonic_ns();
	struct dirty_info di;
	int err;

	if (!o)
		return NULL;
	err = dirty_get(uuid, &di);
	ADD(o, "has_data", json_object_new_boolean(!err));
	ADD_DBL(o, "rate_bytes_per_s", di.rate_bytes_per_s);
	ADD(o, "rate_is_lower_bound", json_object_new_boolean(di.rate_is_lower_bound));
	ADD_U64(o, "working_set_bytes", di.working_set_bytes);
	ADD(o, "working_set_is_lower_bound", json_object_new_boolean(di.working_set_is_lower_bound));
	ADD(o, "shape", json_object_new_string(dirty_shape_name(di.shape)));
	ADD_DBL(o, "fit_chi2", di.fit_chi2);
	ADD(o, "probing", json_object_new_boolean(di.probing));
	ADD(o, "migrating", json_object_new_boolean(di.migrating));
	ADD_U64(o, "probes_ok", di.probes_ok);
	ADD_U64(o, "probes_failed", di.probes_failed);
	ADD_U64(o, "probes_busy", di.probes_busy);
	pts = json_object_new_array();
	for (uint32_t i = 0; pts && i < di.nr_points; i++) {
		const struct dirty_point *p = &di.points[i];
		struct json_object *po = json_object_new_object();

		if (!po)
			break;
		ADD_U64(po, "t_ms", p->t_ms);
		ADD_U64(po, "pages", p->pages);
		ADD_U64(po, "bytes", p->pages * 4096);
		ADD_U64(po, "age_ms", now_ns > p->taken_ns ? (now_ns - p->taken_ns) / 1000000 : 0);
		ADD_DBL(po, "confidence", p->confidence);
		ADD(po, "dirty_source", json_object_new_string(dirty_source_name(p->src)));
		ADD_U64(po, "readings", p->readings);
		json_object_array_add(pts, po);
	}
	ADD(o, "points", pts);
	return o;
}

static struct json_object *vm_json(const struct store_vm *vm, uint32_t window_ms, uint32_t history)
{
	struct json_object *o = json_object_new_object(), *threads, *ifaces;
	const struct vm_desc *d = store_vm_desc(vm);
	bool bpf = false, proc = false;
	struct store_rate r;
	const char *src;

	if (!o)
		return NULL;
	/* every series of a VM has the same samples: one interval for all */
	store_rate(vm, SERIES_CPU_NS, window_ms, &r);
	ADD(o, "name", json_object_new_string(d->name ? d->name : ""));
	ADD(o, "uuid", json_object_new_string(d->uuid));
	ADD_U64(o, "slot", store_vm_slot(vm));
	ADD(o, "state", json_object_new_string(d->state ? d->state : "running"));
	ADD_U64(o, "pid", d->pid > 0 ? d->pid : 0);
	ADD_U64(o, "vcpus", d->vcpus);
	ADD_U64(o, "vcpus_max", d->vcpus_max);
	ADD_U64(o, "memory_bytes", d->memory_bytes);
	ADD_U64(o, "current_memory_bytes", d->current_memory_bytes);
	{
		struct json_object *pol = json_object_new_object();

		if (pol) {
			ADD(pol, "pinned", json_object_new_boolean(d->policy.pinned));
			ADD(pol, "max_downtime_ms",
			    d->policy.max_downtime_ms ?
				    json_object_new_int64(d->policy.max_downtime_ms) :
				    NULL);
			ADD(pol, "priority", json_object_new_int64(d->policy.priority));
			ADD(pol, "error", json_object_new_string(d->policy.error));
			ADD(o, "policy", pol);
		}
	}
	ADD_U64(o, "tracked_ns", store_vm_tracked_ns(vm));
	ADD_U64(o, "interval_ns", r.interval_ns);
	add_series(o, SERIES_THREAD, vm, SERIES_VM, 0, window_ms);
	add_series(o, SERIES_TAP, vm, SERIES_VM, 0, window_ms);
	for (enum series s = 0; store_has_kvm() && s < SERIES_VM_N; s++) {
		uint64_t v = 0;

		if (series_info(s)->scope != SERIES_VM)
			continue;
		store_value(vm, s, &v);
		ADD_U64(o, series_name(s), v);
	}

	threads = json_object_new_array();
	for (uint32_t i = 0; threads && i < d->n_threads; i++) {
		struct json_object *to = json_object_new_object();
		struct store_thread_info t;

		if (!to || store_thread_info(vm, i, &t))
			break;
		ADD(to, "vcpu", json_object_new_int64(t.vcpu == VM_VCPU_ALL ? -1 : (int64_t)t.vcpu));
		ADD_U64(to, "tid", t.tid);
		ADD(to, "cpu_source", json_object_new_string(collect_cpu_src_name(t.src)));
		add_series(to, SERIES_THREAD, vm, SERIES_THREAD, i, window_ms);
		json_object_array_add(threads, to);
		bpf |= t.src == COLLECT_CPU_BPF;
		proc |= t.src == COLLECT_CPU_PROC;
	}
	src = bpf && proc ? "mixed" : bpf ? "bpf" : proc ? "proc" : "none";
	ADD(o, "cpu_source", json_object_new_string(src));
	ADD(o, "vcpu_threads", threads);

	ifaces = json_object_new_array();
	for (uint32_t i = 0; ifaces && i < d->n_taps; i++) {
		struct json_object *io = json_object_new_object();
		struct store_tap_info t;

		if (!io || store_tap_info(vm, i, &t))
			break;
		ADD(io, "target_device", json_object_new_string(t.ifname));
		ADD(io, "mac", json_object_new_string(t.mac));
		ADD(io, "net_source", json_object_new_string(collect_net_src_name(t.src)));
		ADD(io, "drops_counted", json_object_new_boolean(t.has_drops));
		add_series(io, SERIES_TAP, vm, SERIES_TAP, i, window_ms);
		json_object_array_add(ifaces, io);
	}
	ADD(o, "interfaces", ifaces);
	ADD(o, "dirty", dirty_json(d->uuid));

	if (history) {
		struct json_object *h = json_object_new_array();

		for (uint32_t age = 0; h && age < history; age++) {
			struct json_object *ho;
			uint64_t t_ns, v;

			if (store_value_at(vm, SERIES_CPU_NS, age, &v, &t_ns))
				break;
			ho = json_object_new_object();
			if (!ho)
				break;
			ADD_U64(ho, "t_ns", t_ns);
			for (enum series s = 0; s < SERIES_VM_N; s++) {
				enum series_scope sc = series_info(s)->scope;

				if (sc != SERIES_THREAD && sc != SERIES_TAP)
					continue;
				store_value_at(vm, s, age, &v, NULL);
				ADD_U64(ho, series_name(s), v);
			}
			json_object_array_add(h, ho);
		}
		ADD(o, "history", h);
	}
	return o;
}

int show_vm(struct json_object *req, struct json_object *reply)
{
	uint32_t window_ms = 0, history = 0;
	const struct store_vm *vm;
	struct json_object *arr, *name = NULL;
	int err;

	err = arg_uint(req, reply, "window_ms", 3600000, &window_ms);
	if (!err)
		err = arg_uint(req, reply, "history", SHOW_HISTORY_MAX, &history);
	if (err)
		return err;
	if (json_object_object_get_ex(req, "vm", &name) &&
	    !json_object_is_type(name, json_type_null) &&
	    !json_object_is_type(name, json_type_string))
		return ctl_error(reply, -EINVAL, "'vm' must be a name or a uuid");
	if (name && json_object_is_type(name, json_type_null))
		name = NULL;
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	if (name) {
		vm = store_vm_find(json_object_get_string(name));
		if (!vm) {
			json_object_put(arr);
			return ctl_error(reply, -ENOENT, "no VM '%s' on this host (by name or uuid)",
					 json_object_get_string(name));
		}
		json_object_array_add(arr, vm_json(vm, window_ms, history));
	} else {
		for (vm = store_vm_next(NULL); vm; vm = store_vm_next(vm))
			json_object_array_add(arr, vm_json(vm, window_ms, history));
	}
	ADD_U64(reply, "window_ms", window_ms);
	ADD_U64(reply, "tick_ms", collect_tick_ms());
	ADD(reply, "vms", arr);
	return 0;
}

int show_host(struct json_object *req, struct json_object *reply)
{
	const struct sources *src = sources_get();
	const struct tide_conf *c = conf_get();
	uint64_t vcpus = 0, mem = 0, mem_total = 0, mem_avail = 0;
	struct store_rate vm_cpu, vm_wait, vm_rx, vm_tx;
	struct json_object *o, *lv, *arr;
	struct store_host_load load;
	struct dirty_stats ds;
	struct store_self self;
	const struct store_vm *vm;
	uint32_t window_ms = 0;
	char host[256] = "";
	int err;

	err = arg_uint(req, reply, "window_ms", 3600000, &window_ms);
	if (err)
		return err;
	store_host_load(window_ms, &load);
	store_host_rate(SERIES_HOST_VM_CPU_NS, window_ms, &vm_cpu);
	store_host_rate(SERIES_HOST_VM_WAIT_NS, window_ms, &vm_wait);
	store_host_rate(SERIES_HOST_VM_RX_BYTES, window_ms, &vm_rx);
	store_host_rate(SERIES_HOST_VM_TX_BYTES, window_ms, &vm_tx);
	store_host_value(SERIES_HOST_MEMORY_BYTES, &mem_total);
	store_host_value(SERIES_HOST_MEMORY_AVAILABLE_BYTES, &mem_avail);
	store_self(&self);
	for (vm = store_vm_next(NULL); vm; vm = store_vm_next(vm)) {
		vcpus += store_vm_desc(vm)->vcpus;
		mem += store_vm_desc(vm)->memory_bytes;
	}
	gethostname(host, sizeof(host) - 1);
	ADD(reply, "hostname", json_object_new_string(host));
	ADD_U64(reply, "cpus", load.cpus);
	ADD_U64(reply, "online_cpus", load.online_cpus);
	ADD_U64(reply, "host_cpus", self.host_cpus);
	ADD_DBL(reply, "cpu_busy_ratio", load.cpu_busy_ratio);
	ADD_U64(reply, "memory_bytes", mem_total);
	ADD_U64(reply, "memory_available_bytes", mem_avail);
	ADD_U64(reply, "vms", store_vm_count());
	ADD_U64(reply, "vm_vcpus", vcpus);
	ADD_U64(reply, "vm_memory_bytes", mem);
	ADD_DBL(reply, "vm_cpu_ns_per_s", vm_cpu.per_s);
	ADD_DBL(reply, "vm_wait_ns_per_s", vm_wait.per_s);
	ADD_DBL(reply, "vm_rx_bytes_per_s", vm_rx.per_s);
	ADD_DBL(reply, "vm_tx_bytes_per_s", vm_tx.per_s);
	ADD_DBL(reply, "load_ratio", load.load_ratio);
	ADD_U64(reply, "interval_ns", load.interval_ns);
	ADD_U64(reply, "window_ms", window_ms);
	ADD_U64(reply, "tick_ms", collect_tick_ms());
	ADD_U64(reply, "ring_samples", self.ring_samples);

	o = json_object_new_object();
	if (o) {
		ADD_U64(o, "ticks", self.ticks);
		ADD_U64(o, "last_ns", self.last_ns);
		ADD_U64(o, "avg_ns", self.ticks ? self.total_ns / self.ticks : 0);
		ADD_U64(o, "max_ns", self.max_ns);
		ADD_U64(o, "last_wall_ns", self.last_wall_ns);
		ADD_U64(o, "last_unix_ns", self.last_tick_realtime_ns);
	}
	ADD(reply, "collection", o);

	o = json_object_new_object();
	if (o) {
		ADD(o, "cpu", json_object_new_string(src ? src->cpu_mode : "none"));
		ADD(o, "cpu_note", json_object_new_string(src ? src->cpu_note : ""));
		ADD(o, "net",
		    json_object_new_string(src		   ? src->net_mode :
					   store_has_net() ? "?" :
							     "none"));
		ADD(o, "net_note", json_object_new_string(src ? src->net_note : ""));
		ADD(o, "kvm", json_object_new_string(src ? src->kvm_mode : "off"));
		ADD(o, "kvm_note", json_object_new_string(src ? src->kvm_note : ""));
		/* loaded is not live: under TCG no KVM exit ever comes */
		ADD(o, "kvm_active",
		    json_object_new_boolean(src && src->kvm && kvm_active(src->kvm)));
	}
	ADD(reply, "sources", o);
	ADD(reply, "degraded", json_object_new_boolean(src && src->degraded));

	lv = json_object_new_object();
	if (lv) {
		ADD(lv, "uri", json_object_new_string(c ? c->libvirt_uri : ""));
		ADD(lv, "connected", json_object_new_boolean(inv_connected()));
		ADD_U64(lv, "reconnects", inv_reconnects());
	}
	ADD(reply, "libvirt", lv);

	dirty_stats(&ds);
	arr = json_object_new_array();
	for (enum dirty_source s = 0; arr && s < DIRTY_SRC_N; s++)
		if ((s == DIRTY_SRC_SAMPLING && ds.enabled) || (ds.sources_mask & (1u << s)))
			json_object_array_add(arr, json_object_new_string(dirty_source_name(s)));
	ADD(reply, "dirty_sources", arr);
	o = json_object_new_object();
	if (o) {
		ADD(o, "probe", json_object_new_boolean(ds.enabled));
		ADD(o, "page_sampling", json_object_new_string(ds.sampling_state));
		ADD(o, "qmp_probe", json_object_new_string(ds.qmp_state));
		ADD_U64(o, "interval_ms", ds.interval_ms);
		ADD_U64(o, "budget", ds.budget);
		ADD_U64(o, "probing", ds.probing);
		ADD_U64(o, "vms", ds.vms);
		ADD_U64(o, "probes_started", ds.probes_started);
		ADD_U64(o, "probes_ok", ds.probes_ok);
		ADD_U64(o, "probes_failed", ds.probes_failed);
		ADD_U64(o, "probes_busy", ds.probes_busy);
		ADD_U64(o, "points_added", ds.points_added);
	}
	ADD(reply, "dirty", o);
	return 0;
}

static int cmd_vm_show(struct json_object *req, struct json_object *reply, void *arg)
{
	return show_vm(req, reply);
}

static int cmd_host_show(struct json_object *req, struct json_object *reply, void *arg)
{
	return show_host(req, reply);
}

int show_init(void)
{
	int err = ctl_register("vm show", cmd_vm_show, NULL);

	if (err)
		return err;
	err = ctl_register("host show", cmd_host_show, NULL);
	if (err) {
		ctl_unregister("vm show");
		return err;
	}
	registered = true;
	return 0;
}

void show_fini(void)
{
	if (!registered)
		return;
	ctl_unregister("vm show");
	ctl_unregister("host show");
	registered = false;
}
