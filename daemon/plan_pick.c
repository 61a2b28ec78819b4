// SPDX-License-Identifier: GPL-2.0
/*
 * plan_pick: the projection of the hosts and the judgement of one
 * candidate, one VM to one peer, for plan_modes.c's plans.  The rules and
 * where they come from are at the top of plan.c.
 *
 * Every candidate is judged by plan_eval() against the projection
 * (plan_int.h), which each chosen move updates as it is chosen.  The
 * explanation judges every candidate again against the projection as it
 * was before the step, so that a rejection reads "why not this one, as
 * things are now", not "after what was chosen".  plan_eval() checks in
 * the order of enum plan_why, so that of two reasons the later is the
 * nearer miss: a VM that fits nowhere is declined with its nearest one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plan_int.h"

#define RELIEF_MIN 1e-9 /* less relieves nothing */
#define SCORE_EPS 1e-9	/* relative: scores this close are equal */

static int vm_by_uuid(const struct plan_snapshot *s, const char *uuid)
{
	for (uint32_t i = 0; i < s->n_vms; i++)
		if (!strcmp(s->vms[i].uuid, uuid))
			return (int)i;
	return -1;
}

/* ---- the projection ------------------------------------------------------ */

static void leave(struct plan_ctx *c, uint32_t v)
{
	struct plan_proj *p = &c->proj[0];

	c->leaving[v] = true;
	p->cpu_used = fmax(0, p->cpu_used - c->vm[v].cpu_used);
	p->net_ratio = fmax(0, p->net_ratio - c->vm[v].net_ratio);
	p->mem_used_bytes = fmax(0, p->mem_used_bytes - (double)vm_of(c, v)->memory_bytes);
}

/* planned: chosen now, its memory not yet reserved there (a migration in
 * flight has its reservation in the destination's free memory already) */
static void arrive(struct plan_ctx *c, uint32_t v, uint32_t d, bool planned)
{
	struct plan_proj *p = &c->proj[d];

	p->cpu_used += c->vm[v].cpu_used;
	p->net_ratio += c->vm[v].net_ratio;
	if (!planned)
		return;
	p->mem_used_bytes += (double)vm_of(c, v)->memory_bytes;
	p->taken_bytes += vm_of(c, v)->memory_bytes;
	p->incoming++;
}

void plan_project(struct plan_ctx *c)
{
	const struct plan_snapshot *s = c->snap;

	for (uint32_t i = 0; i < s->n_hosts; i++)
		c->proj[i] = (struct plan_proj){
			.cpu_used = c->host[i].cpu_used,
			.net_ratio = c->host[i].net_ratio,
			.mem_used_bytes = c->host[i].mem_ratio * (double)s->hosts[i].memory_bytes,
		};
	for (uint32_t i = 0; i < s->n_inflight; i++) {
		const struct plan_inflight *f = &s->inflight[i];
		int v;

		c->proj[f->dst].incoming++;
		if (f->dst == 0)
			c->incoming = true;
		if (f->src != 0)
			continue;
		c->outgoing++;
		v = vm_by_uuid(s, f->vm_uuid);
		if (v < 0 || c->in_flight[v])
			continue;
		c->in_flight[v] = true;
		leave(c, (uint32_t)v);
		arrive(c, (uint32_t)v, f->dst, false);
	}
	/* one the caller marks migrating without saying where to */
	for (uint32_t v = 0; v < s->n_vms; v++) {
		if (!s->vms[v].migrating || c->in_flight[v])
			continue;
		c->in_flight[v] = true;
		c->outgoing++;
		leave(c, v);
	}
}

void plan_save(const struct plan_ctx *c, struct plan_saved *s)
{
	memcpy(s->proj, c->proj, sizeof(s->proj));
	memcpy(s->leaving, c->leaving, sizeof(s->leaving));
}

void plan_restore(struct plan_ctx *c, const struct plan_saved *s)
{
	memcpy(c->proj, s->proj, sizeof(c->proj));
	memcpy(c->leaving, s->leaving, sizeof(c->leaving));
}

void plan_apply(struct plan_ctx *c, const struct plan_move *m)
{
	leave(c, m->vm);
	arrive(c, m->vm, m->dst, true);
}

/* ---- judging a candidate ------------------------------------------------- */

enum plan_why plan_vm_why(const struct plan_ctx *c, uint32_t v)
{
	const struct plan_vm *vm = vm_of(c, v);
	uint64_t now = c->snap->now_ms;

	if (vm->pinned)
		return PLAN_WHY_PINNED;
	if (c->in_flight[v])
		return PLAN_WHY_MIGRATING;
	if (c->mode != PLAN_MODE_DRAIN && vm->last_moved_ms &&
	    (vm->last_moved_ms > now || now - vm->last_moved_ms < c->o->cooldown_ms))
		return PLAN_WHY_COOLDOWN;
	return PLAN_WHY_NONE;
}

static enum plan_why dest_why(const struct plan_ctx *c, uint32_t d)
{
	const struct plan_host *h = &c->snap->hosts[d];

	if (!h->reachable)
		return PLAN_WHY_PEER_UNREACHABLE;
	if (!h->cpus || !h->memory_bytes)
		return PLAN_WHY_PEER_NO_FIGURES;
	if (h->age_ms > c->o->max_peer_age_ms)
		return PLAN_WHY_PEER_STALE;
	if (h->draining)
		return PLAN_WHY_PEER_DRAINING;
	return PLAN_WHY_NONE;
}

static bool came_from(const struct plan_ctx *c, const struct plan_vm *vm, uint32_t d)
{
	uint64_t now = c->snap->now_ms;

	if (!vm->came_from[0] || strcmp(vm->came_from, c->snap->hosts[d].name) != 0)
		return false;
	/* came back from there at an unknown time: take it as recent */
	return !vm->last_moved_ms || vm->last_moved_ms > now ||
	       now - vm->last_moved_ms < c->o->no_return_ms;
}

/* Consolidation onto busier hosts only, ties by name: of two hosts that
 * see each other alike, exactly one may empty into the other. */
static bool dest_busier(const struct plan_ctx *c, uint32_t d)
{
	if (c->load0[d] != c->load0[0])
		return c->load0[d] > c->load0[0];
	return strcmp(c->snap->hosts[0].name, c->snap->hosts[d].name) < 0;
}

static void take_cost(struct plan_move *m, const struct model_cost *k)
{
	m->cost = *k;
	m->cost.found = true;
}

/* The migration's settings and cost, with a remedy when it needs one. */
static enum plan_why remedy(const struct plan_vm *vm, const struct model_result *p,
			    const struct plan_opts *o, struct plan_move *m)
{
	bool policy = vm->max_downtime_ms != 0;
	uint32_t max_ms = policy ? vm->max_downtime_ms : o->default_downtime_limit_ms;
	struct model_cost base = {
		.total_time_ms = p->total_time_ms,
		.downtime_ms = p->downtime_ms,
		.bytes_sent = p->bytes_sent,
		.rounds = p->rounds,
	};

	m->downtime_limit_ms = plan_downtime_limit_ms(vm, o);
	if (p->why == MODEL_WHY_BAD_INPUT)
		return PLAN_WHY_NO_PREDICTION;
	if (p->converges) {
		take_cost(m, &base);
		/* a longer limit would only lengthen it: no remedy */
		return policy && p->downtime_ms > max_ms ? PLAN_WHY_DOWNTIME_OVER_LIMIT :
							   PLAN_WHY_NONE;
	}
	if (p->downtime_cost.found && p->need_downtime_limit_ms <= max_ms &&
	    (!policy || p->downtime_cost.downtime_ms <= max_ms)) {
		m->remedy = PLAN_REMEDY_DOWNTIME;
		m->downtime_limit_ms = p->need_downtime_limit_ms;
		take_cost(m, &p->downtime_cost);
		return PLAN_WHY_NONE;
	}
	if (p->throttle_cost.found && (!policy || p->throttle_cost.downtime_ms <= max_ms)) {
		m->remedy = PLAN_REMEDY_AUTO_CONVERGE;
		m->auto_converge = true;
		take_cost(m, &p->throttle_cost);
		return PLAN_WHY_NONE;
	}
	take_cost(m, &base);
	return PLAN_WHY_NO_CONVERGE;
}

static double cost_ms(const struct model_cost *k)
{
	return (double)k->downtime_ms + (double)k->bytes_sent / PLAN_COST_BYTES_PER_MS;
}

/* This host's load ratio once v has left too. */
double plan_self_without(const struct plan_ctx *c, uint32_t v)
{
	struct plan_proj p = c->proj[0];

	p.cpu_used = fmax(0, p.cpu_used - c->vm[v].cpu_used);
	p.net_ratio = fmax(0, p.net_ratio - c->vm[v].net_ratio);
	p.mem_used_bytes = fmax(0, p.mem_used_bytes - (double)vm_of(c, v)->memory_bytes);
	return plan_load_ratio(&c->snap->hosts[0], &p);
}

/* v to d as things are projected: PLAN_WHY_NONE and m filled, or why not
 * (m then holds what was found before the check that failed). */
enum plan_why plan_eval(const struct plan_ctx *c, uint32_t v, uint32_t d, struct plan_move *m)
{
	const struct plan_vm *vm = vm_of(c, v);
	const struct plan_host *h = &c->snap->hosts[d];
	struct plan_proj after = c->proj[d];
	uint64_t free_bytes;
	enum plan_why why;
	double dest_after;

	memset(m, 0, sizeof(*m));
	m->vm = v;
	m->dst = d;
	m->action = PLAN_MIGRATE;
	why = dest_why(c, d);
	if (why)
		return why;
	if (c->mode != PLAN_MODE_DRAIN && came_from(c, vm, d))
		return PLAN_WHY_NO_RETURN;
	if (c->mode == PLAN_MODE_CONSOLIDATE && !dest_busier(c, d))
		return PLAN_WHY_DEST_NOT_BUSIER;
	if (!c->whole_plan && after.incoming >= c->o->max_incoming)
		return PLAN_WHY_MAX_INCOMING;
	if (!vm->pred || !vm->pred_ok || !vm->pred_ok[d])
		return PLAN_WHY_NO_PREDICTION;
	why = remedy(vm, &vm->pred[d], c->o, m);
	if (why)
		return why;

	free_bytes = h->free_memory_bytes > after.taken_bytes ?
			     h->free_memory_bytes - after.taken_bytes :
			     0;
	if (vm->memory_bytes > free_bytes)
		return PLAN_WHY_NO_ROOM_MEMORY;
	after.cpu_used += c->vm[v].cpu_used;
	after.net_ratio += c->vm[v].net_ratio;
	after.mem_used_bytes += (double)vm->memory_bytes;
	if (vm->vcpus > h->cpus || after.cpu_used > h->cpus)
		return PLAN_WHY_NO_ROOM_CPU;
	dest_after = plan_load_ratio(h, &after);
	if (dest_after > c->o->high)
		return PLAN_WHY_WOULD_OVERLOAD_DEST;

	m->relief = plan_ratio(c, 0) - plan_self_without(c, v);
	switch (c->mode) {
	case PLAN_MODE_SPREAD:
		if (m->relief < RELIEF_MIN)
			return PLAN_WHY_NOT_ENOUGH_RELIEF;
		m->score = cost_ms(&m->cost) * (1 + dest_after) / m->relief;
		break;
	case PLAN_MODE_CONSOLIDATE:
		/* best fit: the fuller the destination stays, the better */
		m->score = cost_ms(&m->cost) * (1 + c->o->high - dest_after);
		break;
	case PLAN_MODE_DRAIN:
		m->score = cost_ms(&m->cost) * (1 + dest_after);
		break;
	}
	return PLAN_WHY_NONE;
}

/* a before b?  enough: the move alone brings the host under high. */
bool plan_better(const struct plan_ctx *c, const struct plan_move *a, bool a_enough,
		 const struct plan_move *b, bool b_enough)
{
	double tol = SCORE_EPS * fmax(fabs(a->score), fabs(b->score));
	int32_t pa = vm_of(c, a->vm)->priority, pb = vm_of(c, b->vm)->priority;

	if (a_enough != b_enough)
		return a_enough;
	if (fabs(a->score - b->score) > tol)
		return a->score < b->score;
	if (pa != pb)
		return pa < pb;
	if (a->vm != b->vm)
		return a->vm < b->vm;
	return a->dst < b->dst;
}

/* v's best destination now; false when none takes it. */
bool plan_best_dest(const struct plan_ctx *c, uint32_t v, struct plan_move *best)
{
	struct plan_move m;
	bool found = false;

	for (uint32_t d = 1; d < c->snap->n_hosts; d++) {
		if (plan_eval(c, v, d, &m))
			continue;
		if (!found || plan_better(c, &m, false, best, false))
			*best = m;
		found = true;
	}
	return found;
}

/* The nearest miss among v's destinations: why, and there. */
void plan_nearest(const struct plan_ctx *c, uint32_t v, struct plan_move *out)
{
	struct plan_move m;

	memset(out, 0, sizeof(*out));
	out->vm = v;
	out->dst = PLAN_NONE;
	out->why = PLAN_WHY_NO_PEER;
	for (uint32_t d = 1; d < c->snap->n_hosts; d++) {
		enum plan_why why = plan_eval(c, v, d, &m);

		if (out->dst != PLAN_NONE && why <= out->why)
			continue;
		*out = m;
		out->why = why;
	}
	out->action = PLAN_DECLINE;
}

/* ---- explaining ------------------------------------------------------------ */

static bool listed(const struct plan_move *l, uint32_t n, uint32_t v, uint32_t d)
{
	for (uint32_t i = 0; i < n; i++)
		if (l[i].vm == v && l[i].dst == d)
			return true;
	return false;
}

/* Every candidate but those in skip, and why it was not taken. */
void plan_explain(const struct plan_ctx *c, struct plan_result *out, const struct plan_move *skip,
		  uint32_t n_skip)
{
	struct plan_move m;

	for (uint32_t v = 0; v < c->snap->n_vms; v++) {
		enum plan_why why = plan_vm_why(c, v);

		if (why) {
			plan_reject(out, v, PLAN_NONE, why, NULL);
			continue;
		}
		for (uint32_t d = 1; d < c->snap->n_hosts; d++) {
			if (listed(skip, n_skip, v, d))
				continue;
			why = plan_eval(c, v, d, &m);
			plan_reject(out, v, d, why ? why : PLAN_WHY_COSTLIER, &m);
		}
	}
}
