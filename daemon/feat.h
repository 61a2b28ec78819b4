/* SPDX-License-Identifier: GPL-2.0 */
/*
 * feat: what this kernel and this process can do, probed at run time.
 *
 * A build machine is not the machine tided runs on, so nothing here is
 * decided at compile time: each feature is tried for real (a tiny BPF
 * program loaded and attached, an io_uring created, a file opened for
 * writing) and the outcome kept with the reason it failed.
 *
 * The BPF collectors attach to sched_switch through tp_btf when the kernel
 * allows it (typed arguments, cheapest), else through raw_tp.
 *
 * Named feat, not features: daemon/ is on the include path, and a
 * daemon/features.h would shadow glibc's <features.h>.
 */
#ifndef TIDE_FEAT_H
#define TIDE_FEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

enum feat_id {
	FEAT_TP_BTF,	 /* BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP */
	FEAT_RAW_TP,	 /* BPF_PROG_TYPE_RAW_TRACEPOINT */
	FEAT_TRACEPOINT, /* BPF_PROG_TYPE_TRACEPOINT */
	FEAT_TC,	 /* BPF_PROG_TYPE_SCHED_CLS (tc clsact) */
	FEAT_BTF,	 /* /sys/kernel/btf/vmlinux */
	FEAT_BPFFS,	 /* bpffs mounted on /sys/fs/bpf */
	FEAT_IO_URING,	 /* io_uring_queue_init() works */
	FEAT_BPF_STATS,	 /* /proc/sys/kernel/bpf_stats_enabled writable */
	FEAT_KVM,	 /* /dev/kvm opens */
	FEAT__COUNT
};

#define FEAT_DETAIL_BYTES 128

struct feat_result {
	bool ok;
	int err;			/* -errno of the failure, 0 when ok */
	char detail[FEAT_DETAIL_BYTES]; /* what was tried, and what happened */
};

struct tide_features {
	struct feat_result r[FEAT__COUNT];
};

/* Probe everything; never fails as a whole (each result says why). */
int feat_probe(struct tide_features *out);
/*
 * The one tp_btf probe: 0 if a tp_btf program loads and attaches to
 * tracepoint tp (its btf_trace_<tp> in kernel BTF), else -errno; what was
 * tried and what happened in why.  The collectors call it for their own
 * tracepoints.
 */
int feat_probe_tp_btf(const char *tp, char *why, size_t why_bytes);

const char *feat_name(enum feat_id id);
/* "tp_btf", "raw_tp" or "none": how the BPF collectors will attach */
const char *feat_bpf_attach(const struct tide_features *f);
/* tided cannot run at all without these */
bool feat_essentials_ok(const struct tide_features *f);

/* Two printers for one probe: a table for people, JSON for programs. */
void feat_print_plain(FILE *out, const struct tide_features *f);
/* {"features": {"tp_btf": {"available": true, "detail": "..."}, ...},
 *  "bpf_attach": "tp_btf", "missing": [...]}; NULL when out of memory */
struct json_object *feat_to_json(const struct tide_features *f);
/* {"tp_btf": true, ...}: the short form in `tidectl status` */
struct json_object *feat_to_json_short(const struct tide_features *f);

/* Daemon module: probe once at start-up and log what will be used. */
int feat_init(void);
void feat_fini(void);
/* The start-up probe; NULL before feat_init(). */
const struct tide_features *feat_get(void);

#endif /* TIDE_FEAT_H */
