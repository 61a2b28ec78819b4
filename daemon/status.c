// SPDX-License-Identifier: GPL-2.0
/*
 * status: the "status" control command.  See status.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "feat.h"
#include "inv.h"
#include "lag.h"
#include "peer.h"
#include "sources.h"
#include "admit.h"
#include "react.h"
#include "status.h"
#include "store.h"
#include "util.h"
#include "work.h"

static struct {
	uint64_t start_ms; /* monotonic: uptime must not jump with the clock */
	bool registered;
} ss;

#define ADD(obj, key, val) json_object_object_add(obj, key, val)

int status_fill(struct json_object *reply)
{
	const struct tide_conf *c = conf_get();
	const struct tide_features *f = feat_get();
	const struct sources *src;
	struct json_object *peers, *collectors, *workers;
	struct lag_stats lag;
	struct work_stats ws;

	ADD(reply, "version", json_object_new_string(TIDE_VERSION));
	ADD(reply, "pid", json_object_new_int((int)getpid()));
	ADD(reply, "uptime_s",
	    json_object_new_int64((int64_t)((util_monotonic_ms() - ss.start_ms) / 1000)));
	ADD(reply, "config", json_object_new_string(conf_file()));
	if (!c)
		return -ENODEV;
	ADD(reply, "config_loaded", json_object_new_boolean(c->path != NULL));
	ADD(reply, "control_socket", json_object_new_string(c->control_socket));
	ADD(reply, "state_dir", json_object_new_string(c->state_dir));
	ADD(reply, "libvirt_uri", json_object_new_string(c->libvirt_uri));
	ADD(reply, "tick_ms", json_object_new_int64(c->tick_ms));
	ADD(reply, "textfile_dir", json_object_new_string(c->textfile_dir));
	ADD(reply, "textfile_interval_ms", json_object_new_int64(c->textfile_interval_ms));
	ADD(reply, "log_level", json_object_new_string(log_level_name(c->log_level)));
	{
		struct json_object *h = json_object_new_object();
		struct react_stats rs;

		react_stats(&rs);
		if (h) {
			ADD(h, "dir", json_object_new_string(c->hooks_dir ? c->hooks_dir : ""));
			ADD(h, "runs", json_object_new_int64((int64_t)rs.runs));
			ADD(h, "ok", json_object_new_int64((int64_t)rs.ok));
			ADD(h, "failed", json_object_new_int64((int64_t)rs.failed));
			ADD(h, "timed_out", json_object_new_int64((int64_t)rs.timed_out));
			ADD(h, "skipped", json_object_new_int64((int64_t)rs.skipped));
			ADD(h, "dropped", json_object_new_int64((int64_t)rs.queued_dropped));
			ADD(h, "running", json_object_new_int64(rs.running));
			ADD(reply, "hooks", h);
		}
	}
	admit_fill_json(reply);
	peers = json_object_new_array();
	for (size_t i = 0; peers && i < c->n_peers; i++) {
		struct json_object *p = json_object_new_object();

		if (!p)
			break;
		ADD(p, "name", json_object_new_string(c->peers[i].name));
		ADD(p, "uri", json_object_new_string(c->peers[i].uri));
		peer_fill_json(c->peers[i].name, p);
		json_object_array_add(peers, p);
	}
	ADD(reply, "peers", peers);
	ADD(reply, "bpf_attach", json_object_new_string(f ? feat_bpf_attach(f) : "unknown"));
	ADD(reply, "features", f ? feat_to_json_short(f) : json_object_new_object());
	ADD(reply, "libvirt_run_dir", json_object_new_string(c->libvirt_run_dir));
	ADD(reply, "libvirt_connected", json_object_new_boolean(inv_connected()));
	ADD(reply, "ring_samples", json_object_new_int64(c->ring_samples));
	ADD(reply, "max_vms", json_object_new_int64(c->max_vms));
	ADD(reply, "host_cpus", json_object_new_int64(c->host_cpus));
	ADD(reply, "textfile_enabled",
	    json_object_new_boolean(c->textfile_enabled && c->textfile_dir[0]));
	ADD(reply, "vms", json_object_new_int64(store_vm_count()));
	src = sources_get();
	collectors = json_object_new_object();
	if (collectors) {
		ADD(collectors, "cpu", json_object_new_string(src ? src->cpu_mode : "none"));
		ADD(collectors, "net", json_object_new_string(src ? src->net_mode : "none"));
		ADD(collectors, "kvm", json_object_new_string(src ? src->kvm_mode : "off"));
	}
	ADD(reply, "collectors", collectors);
	ADD(reply, "degraded", json_object_new_boolean(src && src->degraded));
	lag_get(&lag);
	ADD(reply, "tick_late_max_ms", json_object_new_int64((int64_t)lag.late_max_ms));
	ADD(reply, "tick_late_last_ms", json_object_new_int64((int64_t)lag.late_last_ms));
	ADD(reply, "ticks_late", json_object_new_int64((int64_t)lag.late_ticks));
	ADD(reply, "ticks_measured", json_object_new_int64((int64_t)lag.ticks));
	work_get_stats(&ws);
	workers = json_object_new_object();
	if (workers) {
		ADD(workers, "threads", json_object_new_int64(ws.threads));
		ADD(workers, "busy", json_object_new_int64(ws.busy));
		ADD(workers, "stuck", json_object_new_int64(ws.detached));
		ADD(workers, "jobs_done", json_object_new_int64((int64_t)ws.jobs_done));
		ADD(workers, "jobs_timed_out", json_object_new_int64((int64_t)ws.jobs_timed_out));
	}
	ADD(reply, "libvirt_workers", workers);
	return 0;
}

static int cmd_status(struct json_object *req, struct json_object *reply, void *arg)
{
	int err = status_fill(reply);

	if (err)
		return ctl_error(reply, err, "status unavailable: %s", strerror(-err));
	return 0;
}

int status_init(void)
{
	int err;

	ss.start_ms = util_monotonic_ms();
	err = ctl_register("status", cmd_status, NULL);
	if (err)
		return err;
	ss.registered = true;
	return 0;
}

void status_fini(void)
{
	if (ss.registered)
		ctl_unregister("status");
	ss.registered = false;
}
