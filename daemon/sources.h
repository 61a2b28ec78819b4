/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sources: which collector each figure comes from (BPF, /proc, netlink),
 * chosen at tided's start-up, and the raw readers collect reads them through.
 *
 * Each collector falls back as far as it can and logs which path it takes
 * and why: cpu (tp_btf, raw_tp, else /proc schedstat), net (tcx, tc, else
 * rtnetlink link stats), kvm (tracepoints, else off).  Never fails for
 * want of BPF: degraded is set instead (and logged at error level).  One
 * set of sources per process (tided, a benchmark):
 *
 *	sources_open(&opts);			// or one collector at a time
 *	collect_init(&(struct collect_opts){ .readers = sources_readers() });
 *	...
 *	collect_fini();
 *	sources_close();
 */
#ifndef TIDE_SOURCES_H
#define TIDE_SOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "collect.h"
#include "tide.h"

struct cpu_ctx;
struct net_ctx;
struct kvm_ctx;

struct sources {
	struct cpu_ctx *cpu; /* NULL: /proc schedstat */
	struct net_ctx *net; /* NULL: no tap counters */
	struct kvm_ctx *kvm; /* NULL: no KVM figures */
	char cpu_mode[32];   /* "tp_btf", "raw_tp", "proc" */
	char net_mode[32];   /* "tcx", "tc", "netlink", "none" */
	char kvm_mode[32];   /* "tracepoint", "off" */
	char cpu_note[256];  /* why a fallback was taken ("" if none) */
	char net_note[256];
	char kvm_note[256];
	bool degraded; /* a BPF collector could not load */
};

struct sources_opts {
	int cpu_source; /* enum conf_cpu_source */
	int net_source; /* enum conf_net_source */
	bool kvm_stats;
	uint32_t max_vms;      /* kvm map size; 0: KVM_MAX_VMS_DEFAULT */
	const char *proc_root; /* NULL: "/proc" (tests give a fake tree) */
};

const char *collect_cpu_src_name(enum collect_cpu_src s); /* "bpf", "proc", "none" */
const char *collect_net_src_name(enum collect_net_src s); /* "bpf", "netlink", "none" */

/* All three collectors; 0 or -ENOMEM. */
int sources_open(const struct sources_opts *opts) __tide_must_check;
/* One collector at a time (tided starts and stops them as modules). */
int sources_open_cpu(const struct sources_opts *opts);
int sources_open_net(const struct sources_opts *opts);
int sources_open_kvm(const struct sources_opts *opts);
void sources_close_cpu(void);
void sources_close_net(void);
void sources_close_kvm(void);
void sources_close(void);

/* What is open, for reports (modes, notes, degraded); NULL before any open. */
const struct sources *sources_get(void);
/* The raw readers over what is open, for collect_init(). */
const struct collect_readers *sources_readers(void);

#endif /* TIDE_SOURCES_H */
