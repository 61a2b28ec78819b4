/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virt: tide's only door to libvirt.
 *
 * 1. virt_init() hands libvirt tide's loop (virEventRegisterImpl), so its
 *    fds, keep-alive timers and event queues run in the same io_uring loop
 *    as everything else.  It must run before any connection is opened:
 *    libvirt binds a connection's event handling when it is opened.
 *
 * 2. One thin adapter per libvirt call tide makes.  Each returns 0 or
 *    -errno (mapped from the libvirt error), and on failure leaves a whole
 *    sentence in virt_last_error() that names the operation, the object and
 *    libvirt's reason:
 *        cannot suspend domain 'vm1': Requested operation is not valid: ...
 *    Modules call these, never libvirt directly, so a unit test can replace
 *    any of them (or the libvirt call under it) at link time with
 *    -Wl,--wrap=virt_domain_suspend and test a module without libvirt.
 *
 * Threads: libvirt may call the event functions from any thread (its RPC
 * client does, from whichever thread makes a call); the loop is built for
 * that.  The adapters may run in worker threads (migrations);
 * virt_last_error() is per thread.
 */
#ifndef TIDE_VIRT_H
#define TIDE_VIRT_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "tide.h"

int virt_init(void) __tide_must_check;
void virt_fini(void);

/* The message of this thread's last failed adapter call ("" if none). */
const char *virt_last_error(void);
/* Forget it: a worker clears it before each job, so that a job's error is
 * never an older job's. */
void virt_clear_error(void);

/* connections */
int virt_open(const char *uri, virConnectPtr *conn) __tide_must_check;
void virt_close(virConnectPtr conn);
/* cb runs (from the loop) when the connection dies: libvirtd restarted,
 * keep-alive timeout.  One per connection. */
int virt_connect_register_close(virConnectPtr conn, virConnectCloseFunc cb, void *opaque,
				virFreeCallback ff) __tide_must_check;
int virt_connect_unregister_close(virConnectPtr conn, virConnectCloseFunc cb);

/* the host behind a connection (peers' capacity) */
int virt_node_get_info(virConnectPtr conn, virNodeInfoPtr info) __tide_must_check;
int virt_node_get_free_memory(virConnectPtr conn, uint64_t *free_bytes) __tide_must_check;

/* domains */
int virt_list_domains(virConnectPtr conn, unsigned int flags, virDomainPtr **doms,
		      int *n_doms) __tide_must_check;
/* frees the array too */
void virt_domains_free(virDomainPtr *doms, int n_doms);
int virt_domain_lookup_by_name(virConnectPtr conn, const char *name,
			       virDomainPtr *dom) __tide_must_check;
int virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid,
				      virDomainPtr *dom) __tide_must_check;
void virt_domain_free(virDomainPtr dom);
/* Local, no RPC: the name and uuid a domain object carries. */
const char *virt_domain_get_name(virDomainPtr dom);
int virt_domain_get_uuid_string(virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN]) __tide_must_check;
/* 1 active (a QEMU process exists), 0 not, or -errno */
int virt_domain_is_active(virDomainPtr dom);
/* The live XML; *xml is malloc'd (free()). */
int virt_domain_get_xml_desc(virDomainPtr dom, unsigned int flags, char **xml) __tide_must_check;
int virt_domain_get_state(virDomainPtr dom, int *state, int *reason) __tide_must_check;
int virt_domain_suspend(virDomainPtr dom) __tide_must_check;
int virt_domain_resume(virDomainPtr dom) __tide_must_check;
/* params: free with virTypedParamsFree(params, n_params) */
int virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
			      int *n_params, unsigned int flags) __tide_must_check;
/* The migration's bandwidth cap in MiB/s (libvirt's "unlimited" is huge). */
int virt_domain_migrate_get_max_speed(virDomainPtr dom, unsigned long *mib_per_s,
				      unsigned int flags) __tide_must_check;
/* The migration's downtime limit in ms; -EOPNOTSUPP where libvirt lacks it. */
int virt_domain_migrate_get_max_downtime(virDomainPtr dom, unsigned long long *ms,
					 unsigned int flags) __tide_must_check;

/* Driving a migration (virt_mig.c).  migrate_to_uri3 blocks for the whole
 * migration: a worker's call, with a deadline to match. */
int virt_domain_migrate_to_uri3(virDomainPtr dom, const char *dconnuri, virTypedParameterPtr params,
				int n_params, unsigned int flags) __tide_must_check;
int virt_domain_migrate_set_max_downtime(virDomainPtr dom, unsigned long long ms) __tide_must_check;
int virt_domain_abort_job(virDomainPtr dom) __tide_must_check;
int virt_domain_migrate_start_post_copy(virDomainPtr dom) __tide_must_check;
/* xml: one element, stored live under namespace uri with prefix key */
int virt_domain_set_metadata(virDomainPtr dom, const char *xml, const char *key,
			     const char *uri) __tide_must_check;
int virt_domain_is_persistent(virDomainPtr dom, bool *persistent) __tide_must_check;
/* virConnectGetAllDomainStats (a peer's domains); free with virt_domain_stats_free */
int virt_connect_get_all_domain_stats(virConnectPtr conn, unsigned int stats, unsigned int flags,
				      virDomainStatsRecordPtr **records,
				      int *n_records) __tide_must_check;
void virt_domain_stats_free(virDomainStatsRecordPtr *records);

/*
 * Dirty-rate calculation (virDomainStartDirtyRateCalc): seconds >= 1, flags
 * VIR_DOMAIN_DIRTYRATE_MODE_*.  Returns at once; QEMU measures in its own
 * thread.  -EBUSY when the domain's job lock is held (a migration): libvirt
 * gives up waiting for it with VIR_ERR_OPERATION_TIMEOUT.
 */
int virt_domain_start_dirty_rate_calc(virDomainPtr dom, int seconds,
				      unsigned int flags) __tide_must_check;

/* What VIR_DOMAIN_STATS_DIRTYRATE says of the last calculation. */
struct virt_dirty_rate {
	int calc_status;	     /* VIR_DOMAIN_DIRTYRATE_UNSTARTED / _MEASURING / _MEASURED */
	long long calc_start_time_s; /* CLOCK_REALTIME seconds, as QEMU gives it */
	int calc_period_s;	     /* the period QEMU measured over (whole seconds) */
	bool has_rate;		     /* megabytes_per_second present (measured) */
	long long mib_per_s;	     /* QEMU's figure: MiB/s, rounded down */
	char calc_mode[24];	     /* "page-sampling", "dirty-bitmap", "dirty-ring", "" */
};

/* virDomainListGetStats(VIR_DOMAIN_STATS_DIRTYRATE) for one domain. */
int virt_domain_get_dirty_rate(virDomainPtr dom, struct virt_dirty_rate *out) __tide_must_check;

/*
 * virDomainQemuMonitorCommand (libvirt-qemu): cmd is QMP JSON, *reply QEMU's
 * JSON answer (free()), which may be an {"error": ...} object.  libvirt
 * taints the domain ("custom-monitor") on the first call.  what names the
 * command in the error.  -EBUSY when libvirt gave up waiting for the job.
 */
int virt_domain_qemu_monitor_command(virDomainPtr dom, const char *what, const char *cmd,
				     char **reply) __tide_must_check;

/* events (dom NULL: every domain) */
int virt_domain_event_register(virConnectPtr conn, virDomainPtr dom, int event_id,
			       virConnectDomainEventGenericCallback cb, void *opaque,
			       virFreeCallback ff, int *callback_id) __tide_must_check;
int virt_domain_event_deregister(virConnectPtr conn, int callback_id);

#endif /* TIDE_VIRT_H */
