/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conf: tided's configuration file (libconfig syntax), its key table
 * (types, ranges, defaults) and the configuration in use.
 *
 * Every key has a default, so an empty or missing file is a valid
 * configuration.  A file is read whole into a new struct tide_conf and
 * checked before anything uses it: unknown keys, wrong types, out-of-range
 * values and syntax errors are refused with a message naming the file and
 * line, e.g.
 *     tided.conf:7: 'tick_ms' must be an integer between 10 and 60000, got "fast"
 * and the configuration in use stays as it was.  That is what makes SIGHUP
 * safe: a half-edited file is never half-applied.
 *
 * Adding a key: a field in struct tide_conf, a row in the key table of
 * conf.c (type, range, default, whether it can change on reload), a line in
 * man/tided.conf.5 and in packaging/tided.conf.
 *
 * Modules keep a copy of what they need from the struct, or call
 * conf_get() again: a reload frees the previous struct.
 */
#ifndef TIDE_CONF_H
#define TIDE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "tide.h"

/* longest error message conf_load() produces, terminator included */
#define CONF_ERR_BYTES 512

/* where vCPU figures come from (key cpu_source) */
enum conf_cpu_source {
	CONF_CPU_AUTO,	 /* BPF, tp_btf where it loads, else raw_tp */
	CONF_CPU_RAW_TP, /* BPF through raw_tp even where tp_btf loads */
	CONF_CPU_PROC,	 /* no BPF: /proc/PID/task/TID/schedstat each tick */
};

/* where tap counters come from (key net_source) */
enum conf_net_source {
	CONF_NET_AUTO, /* BPF on tcx where the kernel has it, else tc */
	CONF_NET_TCX,
	CONF_NET_TC,
	CONF_NET_NETLINK, /* no BPF: rtnetlink link stats64 */
};

/* "auto", "raw_tp", "proc" / "auto", "tcx", "tc", "netlink" */
const char *conf_cpu_source_name(enum conf_cpu_source s);
const char *conf_net_source_name(enum conf_net_source s);

/* what tide-qemu-hook does when tided cannot answer (admission_when_unreachable) */
enum conf_unreachable {
	CONF_UNREACHABLE_ADMIT, /* a stopped tided must not stop libvirt receiving VMs */
	CONF_UNREACHABLE_REFUSE,
};

struct conf_peer {
	char *name; /* short host name, as tidectl shows it */
	char *uri;  /* libvirt URI of that host */
	/* its capacity, when its node figures would be wrong (0: theirs) */
	uint32_t cpus;
	uint64_t memory_bytes;
};

struct tide_conf {
	char *path; /* file read; NULL: built-in defaults only */
	char *libvirt_uri;
	char *control_socket;
	char *state_dir;
	char *libvirt_run_dir;		   /* libvirtd's run dir: qemu/NAME.pid */
	uint32_t libvirt_reconnect_max_ms; /* reconnect backoff ceiling */
	uint32_t libvirt_call_timeout_ms;  /* a libvirt call that takes longer fails */
	uint32_t libvirt_workers;	   /* worker threads for libvirt calls */
	uint32_t peer_poll_ms;		   /* how often each peer is read */
	uint32_t tick_ms;		   /* collection interval */
	uint32_t ring_samples;		   /* samples kept per VM */
	uint32_t max_vms;		   /* VMs tracked at once */
	uint32_t host_cpus;		   /* this host's CPU capacity; 0: the online CPUs */
	enum conf_cpu_source cpu_source;
	enum conf_net_source net_source;
	bool kvm_stats;	       /* load the KVM exit counters */
	bool textfile_enabled; /* false (or textfile_dir "") disables the export */
	char *textfile_dir;
	uint32_t textfile_interval_ms;
	bool dirty_probe;			 /* libvirt page-sampling probes */
	uint32_t dirty_probe_interval_ms;	 /* a VM is probed at most this often */
	uint32_t dirty_probe_budget;		 /* VMs probed at once */
	bool dirty_probe_qmp;			 /* probe through QEMU's monitor instead */
	uint32_t dirty_probe_sample_pages;	 /* per GiB, the QMP probe's */
	uint32_t migration_bandwidth_mib_s;	 /* pre-copy cap; 0: none (the link) */
	uint32_t link_bandwidth_mib_s;		 /* what the migration link carries */
	uint32_t migration_downtime_limit_ms;	 /* QEMU's downtime-limit */
	uint32_t migration_history;		 /* migration records kept */
	uint32_t migration_timeout_ms;		 /* a driven migration is aborted after */
	uint32_t migration_max_downtime_ms;	 /* escalation's ceiling, without a VM policy */
	bool migration_postcopy;		 /* escalation may switch to post-copy */
	uint32_t migration_escalate_pct;	 /* behind: past this % of the predicted time */
	uint32_t migration_escalate_slack_ms;	 /* ... plus this */
	uint32_t migration_escalate_interval_ms; /* between two escalation steps */
	double plan_high, plan_low;		 /* the planner's thresholds (load ratio) */
	uint32_t plan_hold_up_ms, plan_hold_down_ms, plan_ewma_ms;
	uint32_t plan_cooldown_ms, plan_no_return_ms;
	uint32_t plan_max_outgoing, plan_max_incoming, plan_max_peer_age_ms;
	bool plan_consolidate;
	bool plan_dry_run;		   /* decide and explain, move nothing */
	char *hooks_dir;		   /* reaction hooks; "": none */
	uint32_t hook_timeout_ms;	   /* a hook still running after is killed */
	uint32_t hook_max_running;	   /* events whose hooks run at once */
	bool admit_enabled;		   /* false: every incoming VM admitted unchecked */
	uint32_t host_memory_mib;	   /* memory VMs may use here; 0: MemTotal */
	uint32_t admit_reserve_memory_mib; /* of it, never given to VMs */
	uint32_t admit_timeout_ms;	   /* a reservation whose VM does not come */
	enum conf_unreachable admission_when_unreachable; /* read by the hook */
	enum log_level log_level;
	struct conf_peer *peers;
	size_t n_peers;
};

/*
 * Load the configuration in use.  path NULL: TIDE_DEFAULT_CONFIG, and a
 * missing file means defaults (logged).  A path given (-c) must exist.
 */
int conf_init(const char *path);
void conf_fini(void);
/* The configuration in use; never NULL between conf_init() and conf_fini(). */
const struct tide_conf *conf_get(void);
/* The file conf_init() was given, or the default path. */
const char *conf_file(void);

/*
 * Read the file again.  On any error: logged, -errno returned, the
 * configuration in use untouched.  Keys that cannot change without a
 * restart (libvirt_uri, control_socket, state_dir, ...) keep their old value,
 * with a warning.  Subscribers run after the new configuration is in place.
 */
int conf_reload(void);
typedef void (*conf_reload_cb)(const struct tide_conf *conf, void *arg);
int conf_subscribe(conf_reload_cb cb, void *arg);

/*
 * The parser itself, with no global state (tests, --check-config).
 * must_exist false: a missing file gives the defaults.  On error, err holds
 * "FILE:LINE: what is wrong" and *out is untouched.
 */
int conf_load(const char *path, bool must_exist, struct tide_conf **out, char *err,
	      size_t err_bytes) __tide_must_check;
/* Same, from a string; name stands for the file name in messages. */
int conf_parse_string(const char *text, const char *name, struct tide_conf **out, char *err,
		      size_t err_bytes) __tide_must_check;
int conf_defaults(struct tide_conf **out) __tide_must_check;
void conf_free(struct tide_conf *conf);

#endif /* TIDE_CONF_H */
