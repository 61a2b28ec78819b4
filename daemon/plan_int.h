/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plan's insides, shared by plan.c (checks, smoothing, hysteresis, the
 * step) and plan_pick.c (candidates, destinations, the three kinds of
 * plan).  Not for other modules: see plan.h.
 */
#ifndef TIDE_PLAN_INT_H
#define TIDE_PLAN_INT_H

#include "plan.h"

enum plan_mode {
	PLAN_MODE_SPREAD,      /* overloaded: relieve the host */
	PLAN_MODE_CONSOLIDATE, /* underloaded: empty it onto busier hosts */
	PLAN_MODE_DRAIN,       /* maintenance: empty it, whatever the load */
};

/* What a host carries, as projected for a plan: absolute figures, so that
 * moves add and subtract. */
struct plan_proj {
	double cpu_used;       /* CPUs */
	double net_ratio;      /* of its link (peers' links taken as ours) */
	double mem_used_bytes; /* smoothed use, plus the VMs planned in */
	uint64_t taken_bytes;  /* memory of the VMs planned in, out of free */
	uint32_t incoming;     /* migrations to it: in flight and planned */
};

struct plan_ctx {
	const struct plan_snapshot *snap;
	const struct plan_opts *o;
	enum plan_mode mode;
	/* a whole plan (plan_drain, consolidation's feasibility): the
	 * limits on migrations at once do not apply */
	bool whole_plan;
	struct plan_smooth host[PLAN_MAX_HOSTS]; /* by snapshot index */
	struct plan_smooth vm[PLAN_MAX_VMS];
	double load0[PLAN_MAX_HOSTS]; /* smoothed load ratios before any move */
	/* the projection: the smoothed figures, our migrations in flight
	 * done, and the moves planned so far */
	struct plan_proj proj[PLAN_MAX_HOSTS];
	bool leaving[PLAN_MAX_VMS];   /* in flight or planned */
	bool in_flight[PLAN_MAX_VMS]; /* in flight */
	uint32_t outgoing;	      /* our migrations in flight */
	bool incoming;		      /* some migration in flight comes to us */
};

/* The projection's part that moves change, to undo a tentative plan. */
struct plan_saved {
	struct plan_proj proj[PLAN_MAX_HOSTS];
	bool leaving[PLAN_MAX_VMS];
};

/* ---- plan.c ------------------------------------------------------------ */

/* Appends "; " and the text to out->summary (the first part goes bare). */
void plan_say(struct plan_result *out, const char *fmt, ...) __tide_printf(2, 3);
/* Counts a rejected candidate, and keeps it while there is room. */
void plan_reject(struct plan_result *out, uint32_t vm, uint32_t dst, enum plan_why why,
		 const struct plan_move *m);
/* max(cpu, net, memory) of a host carrying p; plan_ratio: as projected */
double plan_load_ratio(const struct plan_host *h, const struct plan_proj *p);
double plan_ratio(const struct plan_ctx *c, uint32_t host);

static inline const struct plan_vm *vm_of(const struct plan_ctx *c, uint32_t v)
{
	return &c->snap->vms[v];
}

/* ---- plan_pick.c: the projection and the judgement of candidates ------- */

/* The projection from the smoothed figures and the migrations in flight. */
void plan_project(struct plan_ctx *c);
void plan_save(const struct plan_ctx *c, struct plan_saved *s);
void plan_restore(struct plan_ctx *c, const struct plan_saved *s);
/* m's VM leaves this host and lands on m's destination, in the projection. */
void plan_apply(struct plan_ctx *c, const struct plan_move *m);

/* Why VM v cannot move at all (pinned, migrating, cooldown), or NONE. */
enum plan_why plan_vm_why(const struct plan_ctx *c, uint32_t v);
/* v to d as projected: PLAN_WHY_NONE with m filled (settings, cost,
 * relief, score), or why not (m holds what was found before). */
enum plan_why plan_eval(const struct plan_ctx *c, uint32_t v, uint32_t d, struct plan_move *m);
/* This host's load ratio, as projected, once v has left too. */
double plan_self_without(const struct plan_ctx *c, uint32_t v);
/* a before b?  enough: the move alone brings this host under high. */
bool plan_better(const struct plan_ctx *c, const struct plan_move *a, bool a_enough,
		 const struct plan_move *b, bool b_enough);
/* v's best destination now; false when none takes it. */
bool plan_best_dest(const struct plan_ctx *c, uint32_t v, struct plan_move *best);
/* v's nearest miss: the destination whose check failed last, and why. */
void plan_nearest(const struct plan_ctx *c, uint32_t v, struct plan_move *out);
/* Every candidate but those in skip into out's rejected, with why. */
void plan_explain(const struct plan_ctx *c, struct plan_result *out, const struct plan_move *skip,
		  uint32_t n_skip);

/* ---- plan_modes.c: the three kinds of plan ----------------------------- */

/* The host's state and load, as the summary's first words. */
void plan_describe(const struct plan_ctx *c, struct plan_result *out);
void plan_spread(struct plan_ctx *c, struct plan_result *out);
void plan_consolidate(struct plan_ctx *c, struct plan_result *out);
void plan_drain_step(struct plan_ctx *c, struct plan_result *out);
/* The whole drain plan (plan_drain's contract); c->whole_plan is set. */
int plan_drain_order(struct plan_ctx *c, struct plan_move *out, uint32_t max, uint32_t *n);

#endif /* TIDE_PLAN_INT_H */
