// SPDX-License-Identifier: GPL-2.0
/*
 * show: "vm show" and "host show".  See show.h; schema in tidectl(8).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "kvm.h"
#include "conf.h"
#include "ctl.h"
#include "inv.h"
#include "show.h"

#define ADD(obj, key, val) json_object_object_add(obj, key, val)
#define ADD_U64(obj, key, v) ADD(obj, key, json_object_new_int64((int64_t)(v)))
#define ADD_DBL(obj, key, v) ADD(obj, key, json_object_new_double(v))
#define SHOW_HISTORY_MAX 4096

static bool registered;

/* An optional non-negative integer argument; -EINVAL after ctl_error(). */
static int arg_uint(struct json_object *req, struct json_object *reply, const char *key,
		    uint32_t max, uint32_t *out)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return ctl_error(reply, -EINVAL, "'%s' must be an integer", key);
	n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return ctl_error(reply, -EINVAL, "'%s' must be between 0 and %u", key, max);
	*out = (uint32_t)n;
	return 0;
}

/* cpu figures and their rates */
static void add_cpu(struct json_object *o, const struct collect_cpu_sample *s,
		    const struct collect_rates *r)
{
	ADD_U64(o, "cpu_ns", s ? s->on_cpu_ns : 0);
	ADD_U64(o, "wait_ns", s ? s->wait_ns : 0);
	ADD_U64(o, "switches", s ? s->switches : 0);
	ADD_DBL(o, "cpu_ns_per_s", r->on_cpu_ns_per_s);
	ADD_DBL(o, "wait_ns_per_s", r->wait_ns_per_s);
	ADD_DBL(o, "switches_per_s", r->switches_per_s);
}

/* network figures, turned to the VM's point of view (the tap's tx is its rx) */
static void add_net(struct json_object *o, const struct collect_net_sample *s,
		    const struct collect_rates *r)
{
	static const struct collect_net_sample zero;

	if (!s)
		s = &zero;
	ADD_U64(o, "rx_bytes", s->tx_bytes);
	ADD_U64(o, "rx_packets", s->tx_packets);
	ADD_U64(o, "rx_drops", s->tx_drops);
	ADD_U64(o, "tx_bytes", s->rx_bytes);
	ADD_U64(o, "tx_packets", s->rx_packets);
	ADD_U64(o, "tx_drops", s->rx_drops);
	ADD_DBL(o, "rx_bytes_per_s", r->tx_bytes_per_s);
	ADD_DBL(o, "rx_packets_per_s", r->tx_packets_per_s);
	ADD_DBL(o, "rx_drops_per_s", r->tx_drops_per_s);
	ADD_DBL(o, "tx_bytes_per_s", r->rx_bytes_per_s);
	ADD_DBL(o, "tx_packets_per_s", r->rx_packets_per_s);
	ADD_DBL(o, "tx_drops_per_s", r->rx_drops_per_s);
}

static struct json_object *vm_json(const struct collect_vm *vm, uint32_t window_ms,
				   uint32_t history)
{
	struct json_object *o = json_object_new_object(), *threads, *ifaces;
	const struct collect_vm_sample *s = collect_vm_sample_at(vm, 0);
	bool bpf = false, proc = false;
	struct collect_rates r;
	const char *src;

	if (!o)
		return NULL;
	collect_vm_rates(vm, window_ms, &r);
	ADD(o, "name", json_object_new_string(vm->desc.name ? vm->desc.name : ""));
	ADD(o, "uuid", json_object_new_string(vm->desc.uuid));
	ADD_U64(o, "slot", vm->slot);
	ADD(o, "state", json_object_new_string(vm->desc.state ? vm->desc.state : "running"));
	ADD_U64(o, "pid", vm->desc.pid > 0 ? vm->desc.pid : 0);
	ADD_U64(o, "vcpus", vm->desc.vcpus);
	ADD_U64(o, "vcpus_max", vm->desc.vcpus_max);
	ADD_U64(o, "memory_bytes", vm->desc.memory_bytes);
	ADD_U64(o, "current_memory_bytes", vm->desc.current_memory_bytes);
	ADD_U64(o, "tracked_ns", s ? s->t_ns - vm->added_ns : 0);
	ADD_U64(o, "interval_ns", r.interval_ns);
	add_cpu(o, s ? &s->cpu : NULL, &r);
	add_net(o, s ? &s->net : NULL, &r);
	if (collect_has_kvm())
		ADD_U64(o, "kvm_exits", vm->kvm_exits);

	threads = json_object_new_array();
	for (uint32_t i = 0; threads && i < vm->desc.n_threads; i++) {
		const struct collect_thread *t = &vm->threads[i];
		struct json_object *to = json_object_new_object();
		struct collect_rates tr;

		if (!to)
			break;
		collect_thread_rates(t, window_ms, &tr);
		ADD(to, "vcpu", json_object_new_int64(t->vcpu == VM_VCPU_ALL ? -1 : (int64_t)t->vcpu));
		ADD_U64(to, "tid", t->tid);
		ADD(to, "cpu_source", json_object_new_string(collect_cpu_src_name(t->src)));
		add_cpu(to, collect_thread_sample_at(t, 0), &tr);
		json_object_array_add(threads, to);
		bpf |= t->src == COLLECT_CPU_BPF;
		proc |= t->src == COLLECT_CPU_PROC;
	}
	src = bpf && proc ? "mixed" : bpf ? "bpf" : proc ? "proc" : "none";
	ADD(o, "cpu_source", json_object_new_string(src));
	ADD(o, "vcpu_threads", threads);

	ifaces = json_object_new_array();
	for (uint32_t i = 0; ifaces && i < vm->desc.n_taps; i++) {
		const struct collect_tap *t = &vm->taps[i];
		struct json_object *io = json_object_new_object();
		struct collect_rates tr;

		if (!io)
			break;
		collect_tap_rates(t, window_ms, &tr);
		ADD(io, "target_device", json_object_new_string(t->ifname));
		ADD(io, "mac", json_object_new_string(t->mac));
		ADD(io, "net_source", json_object_new_string(collect_net_src_name(t->src)));
		ADD(io, "drops_counted", json_object_new_boolean(t->has_drops));
		add_net(io, collect_tap_sample_at(t, 0), &tr);
		json_object_array_add(ifaces, io);
	}
	ADD(o, "interfaces", ifaces);

	if (history) {
		struct json_object *h = json_object_new_array();

		for (uint32_t age = 0; h && age < history; age++) {
			const struct collect_vm_sample *hs = collect_vm_sample_at(vm, age);
			struct json_object *ho;

			if (!hs)
				break;
			ho = json_object_new_object();
			if (!ho)
				break;
			ADD_U64(ho, "t_ns", hs->t_ns);
			ADD_U64(ho, "cpu_ns", hs->cpu.on_cpu_ns);
			ADD_U64(ho, "wait_ns", hs->cpu.wait_ns);
			ADD_U64(ho, "switches", hs->cpu.switches);
			/* the VM's point of view, as above */
			ADD_U64(ho, "rx_bytes", hs->net.tx_bytes);
			ADD_U64(ho, "rx_packets", hs->net.tx_packets);
			ADD_U64(ho, "rx_drops", hs->net.tx_drops);
			ADD_U64(ho, "tx_bytes", hs->net.rx_bytes);
			ADD_U64(ho, "tx_packets", hs->net.rx_packets);
			ADD_U64(ho, "tx_drops", hs->net.rx_drops);
			json_object_array_add(h, ho);
		}
		ADD(o, "history", h);
	}
	return o;
}

int show_vm(struct json_object *req, struct json_object *reply)
{
	uint32_t window_ms = 0, history = 0;
	const struct collect_vm *vm;
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
		vm = collect_vm_find(json_object_get_string(name));
		if (!vm) {
			json_object_put(arr);
			return ctl_error(reply, -ENOENT, "no VM '%s' on this host (by name or uuid)",
					 json_object_get_string(name));
		}
		json_object_array_add(arr, vm_json(vm, window_ms, history));
	} else {
		for (vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm))
			json_object_array_add(arr, vm_json(vm, window_ms, history));
	}
	ADD_U64(reply, "window_ms", window_ms);
	ADD_U64(reply, "tick_ms", collect_tick_ms());
	ADD(reply, "vms", arr);
	return 0;
}

int show_host(struct json_object *req, struct json_object *reply)
{
	const struct collect_host_sample *h = collect_host_sample_at(0);
	const struct collect_sources *src = collect_sources();
	const struct tide_conf *c = conf_get();
	uint64_t vcpus = 0, mem = 0;
	struct json_object *o, *lv;
	struct collect_host_rates r;
	struct collect_self self;
	const struct collect_vm *vm;
	uint32_t window_ms = 0;
	char host[256] = "";
	int err;

	err = arg_uint(req, reply, "window_ms", 3600000, &window_ms);
	if (err)
		return err;
	collect_host_rates(window_ms, &r);
	collect_self(&self);
	for (vm = collect_vm_next(NULL); vm; vm = collect_vm_next(vm)) {
		vcpus += vm->desc.vcpus;
		mem += vm->desc.memory_bytes;
	}
	gethostname(host, sizeof(host) - 1);
	ADD(reply, "hostname", json_object_new_string(host));
	ADD_U64(reply, "cpus", r.cpus ? r.cpus : (h ? h->raw.cpus : 0));
	ADD_DBL(reply, "cpu_busy_ratio", r.cpu_busy_ratio);
	ADD_U64(reply, "memory_bytes", h ? h->raw.memory_bytes : 0);
	ADD_U64(reply, "memory_available_bytes", h ? h->raw.memory_available_bytes : 0);
	ADD_U64(reply, "vms", collect_vm_count());
	ADD_U64(reply, "vm_vcpus", vcpus);
	ADD_U64(reply, "vm_memory_bytes", mem);
	ADD_DBL(reply, "vm_cpu_ns_per_s", r.vm_on_cpu_ns_per_s);
	ADD_DBL(reply, "vm_wait_ns_per_s", r.vm_wait_ns_per_s);
	/* the VMs' point of view: they receive what the host sends on taps */
	ADD_DBL(reply, "vm_rx_bytes_per_s", r.vm_tx_bytes_per_s);
	ADD_DBL(reply, "vm_tx_bytes_per_s", r.vm_rx_bytes_per_s);
	ADD_DBL(reply, "load_ratio", r.load_ratio);
	ADD_U64(reply, "interval_ns", r.interval_ns);
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
		ADD(o, "cpu", json_object_new_string(src ? src->cpu_mode :
				collect_cpu_src_name(collect_cpu_source())));
		ADD(o, "cpu_note", json_object_new_string(src ? src->cpu_note : ""));
		ADD(o, "net", json_object_new_string(src ? src->net_mode :
				collect_has_net() ? "?" : "none"));
		ADD(o, "net_note", json_object_new_string(src ? src->net_note : ""));
		ADD(o, "kvm", json_object_new_string(src ? src->kvm_mode : "off"));
		ADD(o, "kvm_note", json_object_new_string(src ? src->kvm_note : ""));
		/* loaded is not live: under TCG no KVM exit ever comes */
		ADD(o, "kvm_active", json_object_new_boolean(src && src->kvm && kvm_active(src->kvm)));
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
