/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dirty: each VM's dirty-page curve W(t), the distinct pages it writes in a
 * window of length t, as points with their age, source and confidence.
 *
 * Sources (each used only where it works on this host, said in the log and
 * in tidectl vm show / host show):
 *   - libvirt page-sampling probes (virDomainStartDirtyRateCalc, then
 *     VIR_DOMAIN_STATS_DIRTYRATE), one window per probe, at most
 *     dirty_probe_budget VMs at once, never while the VM migrates, on
 *     vconn's workers; or, with dirty_probe_qmp, the same through QEMU's
 *     monitor (calc-dirty-rate with sample-pages and windows in ms);
 *   - the job stats of every migration (dirty_add_point() from mig): exact
 *     points at the round durations;
 *   - KVM dirty-ring pushes where KVM guests run (not under TCG).
 *
 * Loop thread only.
 */
#ifndef TIDE_DIRTY_H
#define TIDE_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "tide.h"

enum dirty_source {
	DIRTY_SRC_SAMPLING,  /* libvirt page-sampling probe */
	DIRTY_SRC_MIGRATION, /* a migration's job stats */
	DIRTY_SRC_KVM_RING,  /* KVM dirty-ring */
	DIRTY_SRC_N,
};

/* "page-sampling", "migration", "dirty-ring" */
const char *dirty_source_name(enum dirty_source s);

/* the curve's shape that fits the points best (dirty_fit.c) */
enum dirty_shape {
	DIRTY_SHAPE_NONE,	/* no fit: nothing written, or no point */
	DIRTY_SHAPE_SEQUENTIAL, /* W = min(r t, S) */
	DIRTY_SHAPE_RANDOM,	/* W = S (1 - exp(-r t / S)) */
};

/* "none", "sequential", "random" */
const char *dirty_shape_name(enum dirty_shape s);

struct dirty_point {
	uint32_t t_ms;	   /* window length, as measured */
	uint64_t pages;	   /* distinct pages written in it */
	uint64_t taken_ns; /* CLOCK_MONOTONIC at the end of the window */
	double confidence; /* 0..1: how far to trust it */
	enum dirty_source src;
	uint32_t readings; /* probes averaged into it (1 for a migration's) */
};

#define DIRTY_MAX_POINTS 16

/* What is known of one VM. */
struct dirty_info {
	uint32_t nr_points;
	struct dirty_point points[DIRTY_MAX_POINTS]; /* by t_ms, newest per window */
	double rate_bytes_per_s;		     /* slope at small t */
	bool rate_is_lower_bound;		     /* W saturated in the shortest window */
	uint64_t working_set_bytes;		     /* the plateau */
	uint64_t newest_ns;			     /* newest point's taken_ns; 0: none */
	bool probing;				     /* a probe runs now */
	bool migrating;				     /* probes held off */
	/* W still grew between the two longest windows: the set is larger */
	bool working_set_is_lower_bound;
	enum dirty_shape shape;				/* of the fit the figures come from */
	double fit_chi2;				/* its weighted squared residuals */
	uint64_t probes_ok, probes_failed, probes_busy; /* this VM's probes */
};

/* The module as a whole (host show). */
struct dirty_stats {
	bool enabled;	       /* dirty_probe */
	uint32_t interval_ms;  /* dirty_probe_interval_ms */
	uint32_t budget;       /* dirty_probe_budget */
	uint32_t probing;      /* probes running now */
	uint32_t vms;	       /* VMs known */
	uint32_t sources_mask; /* 1 << enum dirty_source: the sources that gave a point */
	/* "untested" (no probe yet), "works", "failing" (every probe since the
	 * last figure failed), "off" */
	const char *sampling_state;
	/* "off" (dirty_probe_qmp = false), "untested", "works", "refused"
	 * (fell back to libvirt's API) */
	const char *qmp_state;
	uint64_t probes_started, probes_ok, probes_failed, probes_busy;
	uint64_t points_added; /* through dirty_add_point() */
};

/* Needs conf, loop, store and vconn (the local connection). */
int dirty_init(void) __tide_must_check;
void dirty_fini(void);

/* -ENOENT: no such VM; -ENODATA: nothing measured yet (out still filled). */
int dirty_get(const char *uuid, struct dirty_info *out) __tide_must_check;
/* The curve the model reads (page size 4096); -ENOENT / -ENODATA as above. */
int dirty_curve(const char *uuid, struct model_curve *out) __tide_must_check;

/* An exact point from elsewhere (a migration's job stats). */
int dirty_add_point(const char *uuid, enum dirty_source src, uint32_t t_ms, uint64_t pages,
		    uint64_t taken_ns) __tide_must_check;
void dirty_stats(struct dirty_stats *out);

/* Hold off probes while the VM migrates, whoever started it. */
void dirty_migration_begin(const char *uuid);
void dirty_migration_end(const char *uuid);

#endif /* TIDE_DIRTY_H */
