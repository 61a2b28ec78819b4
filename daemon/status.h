/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: the "status" control command (what `tidectl status` shows):
 * tided's version, configuration in use, collectors and connection.
 *
 * Reply members: version, pid, uptime_s, config, config_loaded,
 * control_socket, state_dir, libvirt_uri, tick_ms, textfile_dir,
 * textfile_interval_ms, log_level, peers [{name, uri}], bpf_attach,
 * features {name: bool}, libvirt_run_dir, libvirt_connected, ring_samples,
 * max_vms, host_cpus, textfile_enabled, vms, collectors {cpu, net, kvm}, degraded,
 * tick_late_max_ms, tick_late_last_ms, ticks_late (later than one tick),
 * ticks_measured (lag.h), libvirt_workers {threads, busy, stuck, jobs_done,
 * jobs_timed_out}; each peer also has what peer_fill_json() gives.
 * Documented in tidectl(8).
 */
#ifndef TIDE_STATUS_H
#define TIDE_STATUS_H

#include <json-c/json.h>

/* Registers the command; uptime counts from here. */
int status_init(void);
void status_fini(void);

/* The reply's body, for tests and for tided --check-config. */
int status_fill(struct json_object *reply);

#endif /* TIDE_STATUS_H */
