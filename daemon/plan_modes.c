// SPDX-License-Identifier: GPL-2.0
/*
 * plan_modes: the three kinds of plan, over plan_pick.c's judgement of
 * candidates, and the summary's words: spread an overloaded host (the
 * cheapest move per unit of relief, enough alone if one is, then the
 * next), empty an underloaded one (only when every VM has a place, one
 * move per step), drain one (the whole evacuation, cheapest first, taken
 * a step at a time).  The rules and their sources are at the top of
 * plan.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plan_int.h"

#define MIB (1024.0 * 1024.0)

/* A name as the summary, a log line, shows it: control characters
 * (a newline would forge a second line) become '?'. */
struct shown {
	char s[PLAN_NAME_BYTES];
};

static struct shown shown(const char *name)
{
	struct shown t;
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(t.s); i++) {
		t.s[i] = name[i];
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			t.s[i] = '?';
	}
	t.s[i] = '\0';
	return t;
}

static struct shown vm_name(const struct plan_ctx *c, uint32_t v)
{
	const struct plan_vm *vm = vm_of(c, v);

	return shown(vm->name[0] ? vm->name : vm->uuid);
}

static struct shown host_name(const struct plan_ctx *c, uint32_t d)
{
	return shown(d < c->snap->n_hosts ? c->snap->hosts[d].name : "none");
}

static void say_move(const struct plan_ctx *c, struct plan_result *out, const char *verb,
		     const struct plan_move *m)
{
	char remedy[64] = "";

	if (m->remedy == PLAN_REMEDY_DOWNTIME)
		snprintf(remedy, sizeof(remedy), ", downtime limit raised to %u ms",
			 m->downtime_limit_ms);
	else if (m->remedy == PLAN_REMEDY_AUTO_CONVERGE)
		snprintf(remedy, sizeof(remedy), ", with auto-converge");
	plan_say(out, "%s '%s' to '%s' (downtime %llu ms, %.1f MiB, relief %.3f%s)", verb,
		 vm_name(c, m->vm).s, host_name(c, m->dst).s, (unsigned long long)m->cost.downtime_ms,
		 (double)m->cost.bytes_sent / MIB, m->relief, remedy);
}

/* Nothing chosen: the first reason kept, as an example. */
static void say_none(const struct plan_ctx *c, struct plan_result *out, const char *what)
{
	const struct plan_move *r = out->n_rejected ? &out->rejected[0] : NULL;

	if (!r) {
		plan_say(out, "%s: no candidate", what);
		return;
	}
	if (r->vm == PLAN_NONE)
		plan_say(out, "%s: %s", what, plan_why_name(r->why));
	else if (r->dst == PLAN_NONE)
		plan_say(out, "%s: %u candidate(s) rejected, e.g. '%s': %s", what,
			 out->n_rejected_total, vm_name(c, r->vm).s, plan_why_name(r->why));
	else
		plan_say(out, "%s: %u candidate(s) rejected, e.g. '%s' to '%s': %s", what,
			 out->n_rejected_total, vm_name(c, r->vm).s, host_name(c, r->dst).s,
			 plan_why_name(r->why));
}

static uint32_t free_slots(const struct plan_ctx *c)
{
	return c->o->max_outgoing > c->outgoing ? c->o->max_outgoing - c->outgoing : 0;
}

static void say_waiting(const struct plan_ctx *c, struct plan_result *out)
{
	plan_say(out, "%u migration(s) in flight, max_outgoing %u: waiting for them", c->outgoing,
		 c->o->max_outgoing);
}

static bool no_peer(const struct plan_ctx *c, struct plan_result *out)
{
	if (c->snap->n_hosts > 1)
		return false;
	plan_reject(out, PLAN_NONE, PLAN_NONE, PLAN_WHY_NO_PEER, NULL);
	plan_say(out, "no peer to move a VM to");
	return true;
}

/* ---- the host ---------------------------------------------------------- */

void plan_describe(const struct plan_ctx *c, struct plan_result *out)
{
	const struct plan_opts *o = c->o;
	double for_s = (double)out->state_for_ms / 1000;

	switch (out->state) {
	case PLAN_HOST_DRAINING:
		plan_say(out, "draining for %.1f s, %u VM(s) left", for_s, c->snap->n_vms);
		return;
	case PLAN_HOST_OVERLOADED:
		plan_say(out, "overloaded: load %.2f above high %.2f for %.1f s (hold %.1f s)",
			 out->load_ratio, o->high, for_s, o->hold_up_ms / 1000.0);
		return;
	case PLAN_HOST_UNDERLOADED:
	case PLAN_HOST_FREED:
		plan_say(out, "%s: load %.2f below low %.2f for %.1f s (hold %.1f s)",
			 plan_host_state_name(out->state), out->load_ratio, o->low, for_s,
			 o->hold_down_ms / 1000.0);
		if (out->state == PLAN_HOST_FREED)
			plan_say(out, "no VM left: the host is free");
		return;
	case PLAN_HOST_NORMAL:
		break;
	}
	if (*out->trigger == 'h')
		plan_say(out, "normal: load %.2f above high %.2f for %.1f s of the %.1f s hold",
			 out->load_ratio, o->high, for_s, o->hold_up_ms / 1000.0);
	else if (*out->trigger == 'l')
		plan_say(out, "normal: load %.2f below low %.2f for %.1f s of the %.1f s hold",
			 out->load_ratio, o->low, for_s, o->hold_down_ms / 1000.0);
	else
		plan_say(out,
			 "normal: load %.2f (cpu %.2f, net %.2f, mem %.2f) within low %.2f and high %.2f",
			 out->load_ratio, out->cpu_ratio, out->net_ratio, out->mem_ratio, o->low,
			 o->high);
}

/* ---- overload: spread ------------------------------------------------------ */

static bool pick_spread(const struct plan_ctx *c, struct plan_move *best)
{
	double high = c->o->high, now = plan_ratio(c, 0);
	bool found = false, best_enough = false;
	struct plan_move m;

	for (uint32_t v = 0; v < c->snap->n_vms; v++) {
		if (c->leaving[v] || plan_vm_why(c, v))
			continue;
		for (uint32_t d = 1; d < c->snap->n_hosts; d++) {
			bool enough;

			if (plan_eval(c, v, d, &m))
				continue;
			enough = now - m.relief <= high;
			if (!found || plan_better(c, &m, enough, best, best_enough)) {
				*best = m;
				best_enough = enough;
			}
			found = true;
		}
	}
	return found;
}

void plan_spread(struct plan_ctx *c, struct plan_result *out)
{
	uint32_t slots = free_slots(c), want = slots ? slots : 1, n = 0;
	struct plan_move picked[PLAN_MAX_MOVES], m;
	struct plan_saved saved;
	double after;

	if (no_peer(c, out))
		return;
	if (c->outgoing && plan_ratio(c, 0) <= c->o->high) {
		plan_say(out, "the %u migration(s) in flight bring it to %.2f: nothing more",
			 c->outgoing, plan_ratio(c, 0));
		return;
	}
	if (want > PLAN_MAX_MOVES)
		want = PLAN_MAX_MOVES;
	plan_save(c, &saved);
	while (n < want && plan_ratio(c, 0) > c->o->high && pick_spread(c, &m)) {
		picked[n++] = m;
		plan_apply(c, &m);
	}
	after = plan_ratio(c, 0);
	plan_restore(c, &saved);

	if (!slots) {
		/* what would go next, so that the wait explains itself */
		for (uint32_t i = 0; i < n; i++)
			plan_reject(out, picked[i].vm, picked[i].dst, PLAN_WHY_MAX_OUTGOING,
				    &picked[i]);
		say_waiting(c, out);
	} else {
		memcpy(out->moves, picked, n * sizeof(*picked));
		out->n_moves = n;
	}
	plan_explain(c, out, picked, n);
	if (!n) {
		say_none(c, out, "no move");
		return;
	}
	say_move(c, out, slots ? "migrate" : "next", &picked[0]);
	if (n > 1)
		plan_say(out, "and %u more", n - 1);
	if (after > c->o->high && n < want)
		plan_say(out, "still %.2f after: no other candidate", after);
}

/* ---- underload: consolidate -------------------------------------------------- */

/* First-fit decreasing: larger VMs (memory, then CPU) are placed first. */
static bool larger(const struct plan_ctx *c, uint32_t a, uint32_t b)
{
	uint64_t ma = vm_of(c, a)->memory_bytes, mb = vm_of(c, b)->memory_bytes;

	if (ma != mb)
		return ma > mb;
	if (c->vm[a].cpu_used != c->vm[b].cpu_used)
		return c->vm[a].cpu_used > c->vm[b].cpu_used;
	return a < b;
}

/* Every VM that is not leaving placed, in turn, dst[v] its destination
 * (left alone for those leaving): false (and why, in out) when one fits
 * nowhere. */
static bool placement(struct plan_ctx *c, struct plan_result *out, uint32_t *dst, uint32_t *n_placed)
{
	uint32_t order[PLAN_MAX_VMS], n = 0;
	struct plan_move m;

	for (uint32_t v = 0; v < c->snap->n_vms; v++) {
		uint32_t i;

		if (c->leaving[v])
			continue;
		for (i = n++; i > 0 && larger(c, v, order[i - 1]); i--)
			order[i] = order[i - 1];
		order[i] = v;
	}
	*n_placed = n;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = order[i];

		if (!plan_best_dest(c, v, &m)) {
			plan_reject(out, v, PLAN_NONE, PLAN_WHY_CANNOT_EMPTY, NULL);
			for (uint32_t d = 1; d < c->snap->n_hosts; d++) {
				enum plan_why why = plan_eval(c, v, d, &m);

				plan_reject(out, v, d, why, &m);
			}
			plan_nearest(c, v, &m);
			plan_say(out,
				 "cannot empty the host: '%s' fits nowhere once %u other(s) are placed (nearest: '%s', %s)",
				 vm_name(c, v).s, i, host_name(c, m.dst).s, plan_why_name(m.why));
			return false;
		}
		dst[v] = m.dst;
		plan_apply(c, &m);
	}
	return true;
}

void plan_consolidate(struct plan_ctx *c, struct plan_result *out)
{
	uint32_t dst[PLAN_MAX_VMS], n_placed = 0, slots = free_slots(c);
	struct plan_move best = { 0 }, m;
	struct plan_saved saved;
	bool ok, found = false;

	if (no_peer(c, out))
		return;
	if (c->incoming) {
		plan_reject(out, PLAN_NONE, PLAN_NONE, PLAN_WHY_INCOMING, NULL);
		plan_say(out, "VMs are arriving: not emptying the host now");
		return;
	}
	/* all or nothing: a VM that must stay keeps the host on */
	for (uint32_t v = 0; v < c->snap->n_vms; v++) {
		enum plan_why why = plan_vm_why(c, v);

		if (why && why != PLAN_WHY_MIGRATING)
			plan_reject(out, v, PLAN_NONE, why, NULL);
	}
	if (out->n_rejected_total) {
		plan_say(out, "cannot empty the host: '%s' must stay (%s)",
			 vm_name(c, out->rejected[0].vm).s, plan_why_name(out->rejected[0].why));
		return;
	}

	memset(dst, 0xff, sizeof(dst)); /* PLAN_NONE */
	plan_save(c, &saved);
	c->whole_plan = true;
	ok = placement(c, out, dst, &n_placed);
	c->whole_plan = false;
	plan_restore(c, &saved);
	if (!ok)
		return;
	if (!n_placed) {
		plan_say(out, "its last VM(s) are leaving");
		return;
	}

	/* this step: the cheapest move of the placement that can start now */
	for (uint32_t v = 0; v < c->snap->n_vms; v++) {
		if (dst[v] == PLAN_NONE || plan_eval(c, v, dst[v], &m))
			continue;
		if (!found || plan_better(c, &m, false, &best, false))
			best = m;
		found = true;
	}
	if (found && !slots)
		plan_reject(out, best.vm, best.dst, PLAN_WHY_MAX_OUTGOING, &best);
	else if (found)
		out->moves[out->n_moves++] = best;
	plan_explain(c, out, &best, found);
	if (!found) {
		plan_say(out,
			 "every VM has a place, but no destination takes one now (max_incoming %u)",
			 c->o->max_incoming);
		return;
	}
	plan_say(out, "every VM has a place");
	if (!slots)
		say_waiting(c, out);
	say_move(c, out, slots ? "migrate" : "next", &best);
}

/* ---- drain ------------------------------------------------------------------- */

static uint32_t inflight_dst(const struct plan_ctx *c, uint32_t v)
{
	const struct plan_snapshot *s = c->snap;

	for (uint32_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].src == 0 && !strcmp(s->inflight[i].vm_uuid, s->vms[v].uuid))
			return s->inflight[i].dst;
	return PLAN_NONE;
}

int plan_drain_order(struct plan_ctx *c, struct plan_move *out, uint32_t max, uint32_t *n)
{
	const struct plan_snapshot *s = c->snap;
	struct plan_move best[PLAN_MAX_VMS];
	bool done[PLAN_MAX_VMS], has[PLAN_MAX_VMS];
	uint32_t k = 0;

	if (max < s->n_vms)
		return -ENOSPC;
	c->whole_plan = true;
	for (uint32_t v = 0; v < s->n_vms; v++) {
		done[v] = plan_vm_why(c, v) != PLAN_WHY_NONE;
		has[v] = !done[v] && plan_best_dest(c, v, &best[v]);
	}
	for (;;) {
		uint32_t pick = PLAN_NONE, d;

		for (uint32_t v = 0; v < s->n_vms; v++)
			if (!done[v] && has[v] &&
			    (pick == PLAN_NONE || plan_better(c, &best[v], false, &best[pick], false)))
				pick = v;
		if (pick == PLAN_NONE)
			break;
		out[k] = best[pick];
		out[k].relief = plan_ratio(c, 0) - plan_self_without(c, pick);
		plan_apply(c, &out[k++]);
		done[pick] = true;
		/* only that destination changed, and only for the worse: the
		 * VMs whose best it was look again */
		d = best[pick].dst;
		for (uint32_t v = 0; v < s->n_vms; v++)
			if (!done[v] && has[v] && best[v].dst == d)
				has[v] = plan_best_dest(c, v, &best[v]);
	}
	for (uint32_t v = 0; v < s->n_vms; v++) {
		enum plan_why why;

		if (c->leaving[v] && !c->in_flight[v])
			continue; /* planned above */
		why = plan_vm_why(c, v);
		if (why) {
			memset(&out[k], 0, sizeof(out[k]));
			out[k].vm = v;
			out[k].dst = why == PLAN_WHY_MIGRATING ? inflight_dst(c, v) : PLAN_NONE;
			out[k].action = PLAN_DECLINE;
			out[k].why = why;
		} else {
			plan_nearest(c, v, &out[k]);
		}
		k++;
	}
	c->whole_plan = false;
	*n = k;
	return 0;
}

void plan_drain_step(struct plan_ctx *c, struct plan_result *out)
{
	struct plan_move plan[PLAN_MAX_VMS];
	uint32_t incoming[PLAN_MAX_HOSTS], slots = free_slots(c), n = 0, n_moves = 0, n_flying = 0;
	const struct plan_move *next = NULL;
	struct plan_saved saved;

	if (!c->snap->n_vms) {
		plan_say(out, "drained: no VM left");
		return;
	}
	if (no_peer(c, out))
		return;
	for (uint32_t d = 0; d < c->snap->n_hosts; d++)
		incoming[d] = c->proj[d].incoming;
	plan_save(c, &saved);
	(void)plan_drain_order(c, plan, PLAN_MAX_VMS, &n);
	plan_restore(c, &saved);

	for (uint32_t i = 0; i < n; i++) {
		const struct plan_move *e = &plan[i];

		if (e->action == PLAN_DECLINE) {
			plan_reject(out, e->vm, e->dst, e->why, e);
			n_flying += e->why == PLAN_WHY_MIGRATING;
			continue;
		}
		n_moves++;
		if (!next)
			next = e;
		/* the others wait their turn: taking a later one first only
		 * leaves the earlier ones more room */
		if (!slots || incoming[e->dst] >= c->o->max_incoming || out->n_moves >= PLAN_MAX_MOVES)
			continue;
		out->moves[out->n_moves++] = *e;
		incoming[e->dst]++;
		slots--;
	}
	if (!out->n_moves && next && !free_slots(c))
		plan_reject(out, next->vm, next->dst, PLAN_WHY_MAX_OUTGOING, next);
	plan_say(out, "%u to move, %u in flight, %u cannot", n_moves, n_flying,
		 n - n_moves - n_flying);
	if (!free_slots(c))
		say_waiting(c, out);
	if (out->n_moves)
		say_move(c, out, "migrate", &out->moves[0]);
	else if (next)
		say_move(c, out, "next", next);
	if (out->n_moves > 1)
		plan_say(out, "and %u more", out->n_moves - 1);
	if (n_moves + n_flying == 0)
		say_none(c, out, "nothing can move");
}
