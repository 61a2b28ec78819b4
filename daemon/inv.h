/* SPDX-License-Identifier: GPL-2.0 */
/*
 * inv: the VM inventory, from libvirt, kept current by its events.
 *
 * Every active domain of the connection is tracked through collect (which
 * tracks its vCPU threads, taps and QEMU process): uuid, name, state,
 * QEMU pid, vCPU thread ids, tap devices, memory size, vCPU count.
 *
 *   - uuid, name, memory, vCPUs, taps: the live domain XML, parsed with
 *     libxml2 (<memory>, <currentMemory>, <vcpu current=...>,
 *     <devices><interface><target dev=.../><mac address=.../>);
 *   - QEMU pid: libvirt's pid file LIBVIRT_RUN_DIR/qemu/NAME.pid, checked
 *     against /proc/PID/cmdline ("-uuid UUID"), else a scan of /proc for the
 *     process whose cmdline has "-uuid UUID";
 *   - vCPU threads: /proc/PID/task/TID/comm "CPU n/KVM" or "CPU n/TCG"
 *     (libvirt starts QEMU with debug-threads=on), or QEMU's one
 *     "ALL CPUs/TCG" thread without MTTCG.  Never the QEMU monitor
 *     (virDomainQemuMonitorCommand taints the domain).
 *
 * Kept current by VIR_DOMAIN_EVENT_ID_LIFECYCLE events (started, stopped,
 * migrated in or out, resumed, suspended, crashed) through tide's loop: an
 * event queues its domain, and the next loop iteration asks libvirt what
 * the domain is now and tracks, updates or drops it (device added/removed
 * events do the same for a NIC plugged in or out).  A VM whose pid or
 * vCPU threads are not all found yet (they may appear a little after the
 * start event) is scanned again every tick, then less often.  When the
 * connection dies (libvirtd restarted: close callback), tracked VMs are
 * kept (their QEMU processes run on), tide reconnects with a doubling
 * delay up to libvirt_reconnect_max_ms and reconciles the whole list.
 */
#ifndef TIDE_INV_H
#define TIDE_INV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"
#include "tide.h"

struct inv_opts {
	const char *uri;	   /* libvirt URI */
	const char *run_dir;	   /* libvirtd's run dir; NULL: /run/libvirt */
	const char *proc_root;	   /* NULL: /proc (tests: a fake tree) */
	uint32_t rescan_ms;	   /* first rescan delay of an incomplete VM (a tick) */
	uint32_t reconnect_max_ms; /* 0: 30000 */
	uint32_t call_timeout_ms;  /* a libvirt call that takes longer fails; 0: vconn's */
};

/*
 * Connect, register for events, and track every active domain, all through
 * vconn (the calls run on a worker; the VMs are tracked once the list has
 * come back, a little after this returns).  A libvirt that cannot be reached
 * is not an error: it is logged, and tried again with backoff.  Needs loop,
 * virt, work, vconn and collect.
 */
int inv_init(const struct inv_opts *opts) __tide_must_check;
void inv_fini(void);

/* Connected, and the VM list read since. */
bool inv_connected(void);
/* Reconnections since start (a libvirtd restart is one). */
uint32_t inv_reconnects(void);

/*
 * Parse a live domain XML into d (uuid, name, memory, vCPUs, taps; pid and
 * threads untouched).  0, or -EINVAL with a sentence in err: a document
 * that is not XML, not a <domain>, or lacks a name or a valid uuid, a
 * number that is not one, a unit libvirt does not have.
 */
int inv_parse_domain_xml(const char *xml, struct vm_desc *d, char *err,
			 size_t err_bytes) __tide_must_check;

/*
 * The QEMU process of a domain: pid file first, /proc scan second; 0 if
 * none is found.
 */
pid_t inv_find_qemu_pid(const char *run_dir, const char *proc_root, const char *name,
			const char *uuid);
/*
 * vCPU threads of pid, sorted by vCPU: a malloc'd array in *out (NULL if
 * none), its length in *n.  0 or -errno.
 */
int inv_scan_vcpus(const char *proc_root, pid_t pid, struct vm_thread **out,
		   uint32_t *n) __tide_must_check;

#endif /* TIDE_INV_H */
