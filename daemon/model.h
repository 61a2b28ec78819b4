/* SPDX-License-Identifier: GPL-2.0 */
/*
 * model: the pre-copy migration predictor: from a VM's dirty-page curve
 * W(t), its memory and the link, what a QEMU pre-copy migration will cost.
 *
 * Pure: plain structs in, plain structs out, no I/O, no clock, no global
 * state; the same input gives the same output bit for bit.  The mechanism
 * it simulates (QEMU 10's migration thread, checked every 100 ms) is
 * described at the top of model.c; the dirty curve lives in model_curve.c,
 * the per-destination calibration (the one part that touches files) in
 * model_calib.c.
 *
 *	struct model_curve w;
 *	model_curve_sequential(&w, 4096, 40 << 20, 16 << 20);
 *	struct model_input in = { .memory_bytes = 256 << 20, .curve = &w,
 *		.bandwidth_bytes_per_s = 32 << 20, .downtime_limit_ms = 300 };
 *	struct model_result r;
 *	model_predict(&in, &r);		// r.converges, r.total_time_ms, ...
 */
#ifndef TIDE_MODEL_H
#define TIDE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tide.h"

/* ---- the dirty-page curve W(t) ------------------------------------------ */

#define MODEL_CURVE_MAX_POINTS 32

struct model_curve_point {
	uint32_t t_ms;	/* window length */
	uint64_t pages; /* distinct pages written in such a window */
};

/*
 * W(t) as points; W(0) = 0 is implied.  Between points W is interpolated
 * linearly (monotone, and never above a concave curve it samples); past
 * the last point it stays at the last value: the last point is the
 * writable working set, so the estimator must sample windows long enough
 * to see the plateau.
 */
struct model_curve {
	uint32_t page_bytes;
	uint32_t nr_points;
	struct model_curve_point points[MODEL_CURVE_MAX_POINTS];
};

/* An empty curve (a guest that writes nothing); -EINVAL for page_bytes 0. */
int model_curve_init(struct model_curve *c, uint32_t page_bytes) __tide_must_check;
/*
 * Append a point; t_ms must grow (-EINVAL otherwise), -ENOSPC when full.
 * Fewer pages than the previous point is measurement noise: it is raised
 * to the previous value, since W never decreases.
 */
int model_curve_add(struct model_curve *c, uint32_t t_ms, uint64_t pages) __tide_must_check;
/* A sequential cycle over the set: W(t) = min(rate * t, wss). */
int model_curve_sequential(struct model_curve *c, uint32_t page_bytes, uint64_t rate_bytes_per_s,
			   uint64_t wss_bytes) __tide_must_check;
/* Uniform random writes: W(t) = wss * (1 - exp(-rate * t / wss)). */
int model_curve_random(struct model_curve *c, uint32_t page_bytes, uint64_t rate_bytes_per_s,
		       uint64_t wss_bytes) __tide_must_check;

/* W(t_ms) in pages (fractional between points). */
double model_curve_pages(const struct model_curve *c, double t_ms);
/* The plateau: W of the last point, in pages. */
uint64_t model_curve_wss_pages(const struct model_curve *c);
/* The slope of the first segment, pages per second (0 for an empty curve). */
double model_curve_rate_pages_per_s(const struct model_curve *c);

/* ---- the prediction ----------------------------------------------------- */

#define MODEL_DEFAULT_MAX_TIME_MS 60000	  /* give up after a minute */
#define MODEL_PERIOD_MS 100		  /* QEMU's BUFFER_DELAY */
#define MODEL_MAX_DOWNTIME_LIMIT_MS 60000 /* the downtime remedy looks no further */

struct model_input {
	uint64_t memory_bytes; /* guest RAM */
	const struct model_curve *curve;
	/* QEMU's max-bandwidth (libvirt's --bandwidth, MiB/s << 20) */
	uint64_t bandwidth_bytes_per_s;
	/*
	 * What the link carries when nothing caps it (0: the cap).  Pre-copy
	 * runs at min(cap, link); the stop-and-copy phase is not rate
	 * limited in QEMU and runs at the link's speed.
	 */
	uint64_t link_bytes_per_s;
	/* measured pre-copy throughput / min(cap, link) (calibration; 0: 1) */
	double throughput_ratio;
	uint32_t downtime_limit_ms; /* QEMU's downtime-limit (default 300) */
	/* downtime beyond sending the last pages: device state, stop, resume */
	uint32_t switchover_overhead_ms;
	uint32_t max_time_ms; /* give up after (0: MODEL_DEFAULT_MAX_TIME_MS) */
	/* zero pages among the memory outside the working set, 0..1 */
	double zero_page_fraction;
	/* simulate QEMU's auto-converge (cpu-throttle-initial 20, increment 10) */
	bool auto_converge;
};

enum model_why {
	MODEL_WHY_NONE,		/* converges */
	MODEL_WHY_NO_BANDWIDTH, /* bandwidth 0: nothing ever moves */
	/* still above the threshold when max_time_ms ran out */
	MODEL_WHY_DIRTY_FASTER,
	MODEL_WHY_BAD_INPUT, /* model_predict returned -EINVAL */
};

/* What one migration costs (or a remedy's migration). */
struct model_cost {
	bool found; /* a remedy: one was found */
	uint64_t total_time_ms;
	uint64_t downtime_ms;
	uint64_t bytes_sent;
	uint32_t rounds;
};

struct model_result {
	bool converges;
	enum model_why why;
	uint64_t total_time_ms; /* start to resume on the destination */
	uint64_t downtime_ms;	/* final pages at link speed + overhead */
	uint64_t bytes_sent;	/* on the wire, page headers included */
	/* dirty_sync_count: setup, every exact figure, completion (libvirt's
	 * memory_iteration) */
	uint32_t rounds;
	uint32_t throttle_pct;	  /* auto-converge's throttle at the end */
	uint64_t threshold_bytes; /* the last bandwidth x downtime limit */
	/* the smallest exact figure seen after round 0 (what had to fit) */
	uint64_t min_pending_bytes;
	uint64_t final_pending_bytes; /* what the stop-and-copy phase sent */
	/* Remedies, computed only when it does not converge; each changes
	 * one input, its cost says what that migration would cost. */
	uint64_t need_bandwidth_bytes_per_s; /* cap (and link) */
	struct model_cost bandwidth_cost;
	uint32_t need_downtime_limit_ms;
	struct model_cost downtime_cost;
	uint32_t need_throttle_pct; /* auto-converge's throttle reached */
	struct model_cost throttle_cost;
};

/*
 * Simulate QEMU's pre-copy at its own granularity: 0, or -EINVAL for an
 * input it cannot judge (no curve, no memory, page size 0, a fraction
 * outside 0..1); out is always filled (why = MODEL_WHY_BAD_INPUT then).
 */
int model_predict(const struct model_input *in, struct model_result *out);

/*
 * The textbook round model, for comparison: V0 = memory (zero pages at
 * their cost), round i takes Ti = Vi / B, V(i+1) = W(Ti), switch over when
 * V <= B x downtime limit, no convergence when V stops shrinking.  Fills
 * converges, why, total_time_ms, downtime_ms, bytes_sent, rounds.
 */
int model_predict_textbook(const struct model_input *in, struct model_result *out);

/* "none", "no-bandwidth", "dirty-faster", "bad-input". */
const char *model_why_name(enum model_why why);

/* ---- calibration per destination (model_calib.c) ------------------------ */

/*
 * What finished migrations to one destination taught: EWMA of the
 * throughput actually reached against the cap, the downtime beyond the
 * last pages' transfer, the device-state time.
 */
struct model_calib {
	double throughput_ratio; /* reached / min(cap, link), 1 before any sample */
	double switchover_overhead_ms;
	double device_state_ms;
	uint32_t samples;
};

/* A finished migration as libvirt's job stats report it. */
struct model_calib_sample {
	uint64_t bandwidth_bytes_per_s; /* the cap it ran under */
	uint64_t link_bytes_per_s;	/* 0: the cap */
	uint64_t precopy_bytes;		/* sent while the guest ran */
	uint64_t precopy_ms;
	uint64_t downtime_ms;
	uint64_t downtime_bytes;  /* sent while the guest was stopped */
	uint64_t device_state_ms; /* 0: not known, left as it was */
};

#define MODEL_CALIB_ALPHA 0.3 /* weight of the newest sample */

void model_calib_init(struct model_calib *c);
/* Fold one finished migration in (the first one is taken as is). */
int model_calib_update(struct model_calib *c, const struct model_calib_sample *s) __tide_must_check;
/* Put what was learnt into a prediction's input. */
void model_calib_apply(const struct model_calib *c, struct model_input *in);

/*
 * dir/calib-DEST.json, replaced atomically (.new, fsync, rename, fsync of
 * the directory).  dest: letters, digits, '.', '-', '_', ':' (a host name
 * or address), not starting with '.'.  On failure, -errno and a sentence
 * in err (may be NULL).  load: -ENOENT when there is no file yet (c is
 * then model_calib_init()'s), -EINVAL for a file that is not one.
 */
int model_calib_save(const char *dir, const char *dest, const struct model_calib *c, char *err,
		     size_t err_bytes) __tide_must_check;
int model_calib_load(const char *dir, const char *dest, struct model_calib *c, char *err,
		     size_t err_bytes) __tide_must_check;

#endif /* TIDE_MODEL_H */
