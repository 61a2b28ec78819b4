// SPDX-License-Identifier: GPL-2.0
/*
 * plan: the control loop's decisions.  See plan.h for the interface; this
 * file checks the snapshot, smooths, follows the thresholds and writes the
 * explanation, plan_pick.c chooses VMs and destinations.  What was taken
 * from where:
 *
 * Load.  A host's load ratio is max(cpu_used / cpus, net_ratio, memory
 * used / memory): a host is as full as its fullest resource (free CPU is
 * of no use to a VM that needs memory the host lacks).  Each part is an
 * EWMA of its raw figure, smoothed before the max is taken so that each
 * resource keeps its own trend, with alpha = 1 - exp(-dt / ewma_ms) and
 * dt the time measured between this snapshot and the previous one, not
 * the tick asked for: a late tick weighs what it covered.  A VM's CPU and
 * network share are smoothed the same way (by uuid), and a peer's figures
 * (by name); memory sizes are not.  A first figure is taken as it is.
 *
 * Thresholds, asymmetric (VMware DRS/DPM).  Overloaded: above high
 * continuously for hold_up_ms; underloaded: below low for hold_down_ms,
 * longer.  DPM powers a host on after 5 minutes of high demand but off
 * only after 40 minutes of low demand: an overload hurts now, while a
 * consolidation made on a short lull costs two migrations for nothing.
 * Taken: the two holds, with defaults for the testbed and DPM's figures
 * as the production values of tided.conf(5).
 *
 * Which VM (Sandpiper, Wood et al., NSDI 2007).  Sandpiper migrates
 * first the VM of the highest volume-to-size ratio, its load over its
 * memory footprint: the most load moved per byte copied.  Taken: cost
 * per unit of relief, with the model's predicted cost in place of the
 * memory size: score = cost_ms x (1 + destination load after) / relief,
 * where cost_ms = downtime_ms + bytes_sent / PLAN_COST_BYTES_PER_MS
 * (a millisecond of downtime weighs as much as a millisecond of a 1 GiB/s
 * link kept busy: bytes are paid by both hosts and the network, downtime
 * by the VM's users, and at that rate the two terms of the testbed's
 * migrations are of one order) and relief = this host's load ratio now
 * minus after the move (the figure compared with high, so a VM using
 * nothing of the fullest resource relieves nothing).  The (1 + load)
 * factor is Sandpiper's least loaded destination: of two equally cheap
 * links the emptier peer wins, and a peer left at 0.7 must be 1.7 / 1.2
 * times cheaper than one left at 0.2.  A single move that brings the host
 * under high beats a better ratio that does not (one migration, not two);
 * with max_outgoing above 1 the next moves are chosen the same way
 * against the host as the earlier ones leave it.  Equal scores: the lower
 * priority moves first.
 *
 * Destination, no bounce (oVirt).  oVirt's balancing migrates a VM only
 * to a host that stays under its high utilisation threshold after the
 * move, so that the VM does not overload it and bounce on.  Taken as is:
 * the destination's projected figures (smoothed, plus our migrations in
 * flight to it, plus the moves chosen in this step) with the VM's must
 * stay at or under high and within its CPUs, and its free memory (raw:
 * reservations already out) must hold the VM's.  A peer's link is taken
 * to be as fast as ours.  Stale, unreachable or draining peers are no
 * destination.  Anti-flapping: a VM that arrived or left within
 * cooldown_ms stays; its previous host is no destination within
 * no_return_ms.
 *
 * Remedies.  A VM predicted not to converge, or a VM with a policy
 * maximum whose downtime would exceed it, is moved only with a remedy the
 * model found, set from the start: the smallest downtime limit that
 * converges (when it and the downtime predicted with it are within the
 * VM's maximum), else auto-converge; else it is declined with the reason.
 * A VM without a policy maximum takes QEMU's limit as it comes.
 *
 * Consolidation (Entropy, Hermenier et al., VEE 2009).  Entropy computes
 * a whole new placement before it moves anything, then the migrations
 * that reach it, counting their cost.  Taken: a host empties only when
 * every one of its VMs has a place (first-fit decreasing by memory, which
 * fails less often than cheapest-first), then moves the cheapest, one per
 * step, onto the busiest peer that stays under high (best fit packs).
 * Ours: a host empties only onto peers busier than itself (ties by name),
 * since without a central engine two underloaded hosts would otherwise
 * empty into each other.  An underloaded host with no VM is freed.
 *
 * Drain (OpenStack Watcher).  Watcher's audits produce an action plan
 * that an operator reads before it runs, and its host maintenance
 * strategy moves every instance off a host.  Taken: plan_drain gives the
 * whole evacuation, cheapest first, each move with its destination and
 * cost and each VM that cannot move with why, before anything moves;
 * plan_step then takes it a step at a time.  The dry run is the caller's:
 * the result explains itself either way.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plan_int.h"

/* clang-format off */
static const char *const state_names[] = {
	[PLAN_HOST_NORMAL] = "normal",
	[PLAN_HOST_OVERLOADED] = "overloaded",
	[PLAN_HOST_UNDERLOADED] = "underloaded",
	[PLAN_HOST_FREED] = "freed",
	[PLAN_HOST_DRAINING] = "draining",
};

static const char *const why_names[] = {
	[PLAN_WHY_NONE] = "none",
	[PLAN_WHY_PINNED] = "pinned",
	[PLAN_WHY_MIGRATING] = "migrating",
	[PLAN_WHY_COOLDOWN] = "cooldown",
	[PLAN_WHY_PEER_UNREACHABLE] = "peer_unreachable",
	[PLAN_WHY_PEER_NO_FIGURES] = "peer_no_figures",
	[PLAN_WHY_PEER_STALE] = "peer_stale",
	[PLAN_WHY_PEER_DRAINING] = "peer_draining",
	[PLAN_WHY_NO_RETURN] = "no_return",
	[PLAN_WHY_DEST_NOT_BUSIER] = "dest_not_busier",
	[PLAN_WHY_MAX_INCOMING] = "max_incoming",
	[PLAN_WHY_NO_PREDICTION] = "no_prediction",
	[PLAN_WHY_NO_CONVERGE] = "no_converge",
	[PLAN_WHY_DOWNTIME_OVER_LIMIT] = "downtime_over_limit",
	[PLAN_WHY_NO_ROOM_MEMORY] = "no_room_memory",
	[PLAN_WHY_NO_ROOM_CPU] = "no_room_cpu",
	[PLAN_WHY_WOULD_OVERLOAD_DEST] = "would_overload_dest",
	[PLAN_WHY_NOT_ENOUGH_RELIEF] = "not_enough_relief",
	[PLAN_WHY_COSTLIER] = "costlier",
	[PLAN_WHY_MAX_OUTGOING] = "max_outgoing",
	[PLAN_WHY_INCOMING] = "incoming",
	[PLAN_WHY_NO_PEER] = "no_peer",
	[PLAN_WHY_CANNOT_EMPTY] = "cannot_empty",
};

static const char *const remedy_names[] = {
	[PLAN_REMEDY_NONE] = "none",
	[PLAN_REMEDY_DOWNTIME] = "downtime",
	[PLAN_REMEDY_AUTO_CONVERGE] = "auto_converge",
};
/* clang-format on */

#define NAME(table, i) ((size_t)(i) < ARRAY_SIZE(table) && (table)[i] ? (table)[i] : "?")

const char *plan_host_state_name(enum plan_host_state s)
{
	return NAME(state_names, s);
}

const char *plan_why_name(enum plan_why why)
{
	return NAME(why_names, why);
}

const char *plan_remedy_name(enum plan_remedy r)
{
	return NAME(remedy_names, r);
}

const char *plan_action_name(enum plan_action a)
{
	return a == PLAN_MIGRATE ? "migrate" : a == PLAN_DECLINE ? "decline" : "?";
}

void plan_opts_default(struct plan_opts *o)
{
	*o = (struct plan_opts){
		.high = PLAN_DEFAULT_HIGH,
		.low = PLAN_DEFAULT_LOW,
		.hold_up_ms = PLAN_DEFAULT_HOLD_UP_MS,
		.hold_down_ms = PLAN_DEFAULT_HOLD_DOWN_MS,
		.ewma_ms = PLAN_DEFAULT_EWMA_MS,
		.cooldown_ms = PLAN_DEFAULT_COOLDOWN_MS,
		.no_return_ms = PLAN_DEFAULT_NO_RETURN_MS,
		.max_outgoing = PLAN_DEFAULT_MAX_OUTGOING,
		.max_incoming = PLAN_DEFAULT_MAX_INCOMING,
		.max_peer_age_ms = PLAN_DEFAULT_MAX_PEER_AGE_MS,
		.default_downtime_limit_ms = PLAN_DEFAULT_DOWNTIME_LIMIT_MS,
		.consolidate = true,
	};
}

int plan_opts_check(const struct plan_opts *o, char *err, size_t err_bytes)
{
	const char *what = NULL;

	if (!o)
		what = "no options";
	else if (!isfinite(o->high) || !isfinite(o->low) || o->low < 0 || o->high > 100)
		what = "thresholds must be numbers, low >= 0";
	else if (!(o->low < o->high))
		what = "low must be below high";
	else if (!o->max_outgoing || !o->max_incoming)
		what = "max_outgoing and max_incoming must be at least 1";
	else if (!o->default_downtime_limit_ms)
		what = "the default downtime limit must be at least 1 ms";
	if (!what)
		return 0;
	if (err && err_bytes)
		snprintf(err, err_bytes, "bad planner options: %s", what);
	return -EINVAL;
}

void plan_state_init(struct plan_state *st)
{
	memset(st, 0, sizeof(*st));
}

uint32_t plan_downtime_limit_ms(const struct plan_vm *vm, const struct plan_opts *o)
{
	uint32_t d = o->default_downtime_limit_ms;

	return vm->max_downtime_ms && vm->max_downtime_ms < d ? vm->max_downtime_ms : d;
}

/* ---- explanation ---------------------------------------------------------- */

void plan_say(struct plan_result *out, const char *fmt, ...)
{
	size_t len = strnlen(out->summary, sizeof(out->summary));
	va_list ap;

	if (len && len + 2 < sizeof(out->summary)) {
		memcpy(out->summary + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof(out->summary))
		return;
	va_start(ap, fmt);
	vsnprintf(out->summary + len, sizeof(out->summary) - len, fmt, ap);
	va_end(ap);
}

void plan_reject(struct plan_result *out, uint32_t vm, uint32_t dst, enum plan_why why,
		 const struct plan_move *m)
{
	struct plan_move *r;

	out->n_rejected_total++;
	if (out->n_rejected >= PLAN_MAX_REJECTED)
		return;
	r = &out->rejected[out->n_rejected++];
	if (m)
		*r = *m;
	else
		memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->dst = dst;
	r->action = PLAN_DECLINE;
	r->why = why;
}

/* ---- the snapshot's checks -------------------------------------------------- */

static bool terminated(const char *s, size_t bytes)
{
	return memchr(s, '\0', bytes) != NULL;
}

static bool figure_ok(double v)
{
	return isfinite(v) && v >= 0;
}

static int bad(char *err, size_t err_bytes, int ret, const char *fmt, ...) __tide_printf(4, 5);

static int bad(char *err, size_t err_bytes, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_bytes, fmt, ap);
	va_end(ap);
	return ret;
}

static int check_hosts(const struct plan_snapshot *s, char *err, size_t n)
{
	for (uint32_t i = 0; i < s->n_hosts; i++) {
		const struct plan_host *h = &s->hosts[i];

		if (!terminated(h->name, sizeof(h->name)) || !h->name[0])
			return bad(err, n, -EINVAL, "host %u has no name, or one too long", i);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(s->hosts[j].name, h->name))
				return bad(err, n, -EINVAL, "hosts %u and %u are both '%s'", j, i,
					   h->name);
		if (!figure_ok(h->cpu_used) || !figure_ok(h->net_ratio))
			return bad(err, n, -EINVAL,
				   "host '%s' has a CPU or network figure that is not a number >= 0",
				   h->name);
		if (h->free_memory_bytes > h->memory_bytes)
			return bad(err, n, -EINVAL, "host '%s' has more free memory than memory",
				   h->name);
	}
	if (!s->hosts[0].cpus || !s->hosts[0].memory_bytes)
		return bad(err, n, -EINVAL, "this host ('%s') has no CPUs or no memory",
			   s->hosts[0].name);
	return 0;
}

static int check_vms(const struct plan_snapshot *s, char *err, size_t n)
{
	for (uint32_t i = 0; i < s->n_vms; i++) {
		const struct plan_vm *v = &s->vms[i];

		if (!terminated(v->name, sizeof(v->name)) || !terminated(v->uuid, sizeof(v->uuid)) ||
		    !terminated(v->came_from, sizeof(v->came_from)) || !v->uuid[0])
			return bad(err, n, -EINVAL, "VM %u has no uuid, or a name too long", i);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(s->vms[j].uuid, v->uuid))
				return bad(err, n, -EINVAL, "VMs %u and %u are both '%s'", j, i,
					   v->uuid);
		if (!figure_ok(v->cpu_used) || !figure_ok(v->net_ratio))
			return bad(err, n, -EINVAL,
				   "VM '%s' has a CPU or network figure that is not a number >= 0",
				   v->name);
	}
	for (uint32_t i = 0; i < s->n_inflight; i++) {
		const struct plan_inflight *f = &s->inflight[i];

		if (!terminated(f->vm_uuid, sizeof(f->vm_uuid)) || f->src >= s->n_hosts ||
		    f->dst >= s->n_hosts || f->src == f->dst)
			return bad(err, n, -EINVAL, "migration in flight %u has bad hosts (%u to %u)",
				   i, f->src, f->dst);
	}
	return 0;
}

static int check_snapshot(const struct plan_state *st, const struct plan_snapshot *s, char *err,
			  size_t n)
{
	if (!s || !s->hosts || !s->n_hosts)
		return bad(err, n, -EINVAL, "no snapshot, or no host in it");
	if ((s->n_vms && !s->vms) || (s->n_inflight && !s->inflight))
		return bad(err, n, -EINVAL, "the snapshot counts VMs or migrations it does not give");
	if (s->n_hosts > PLAN_MAX_HOSTS || s->n_vms > PLAN_MAX_VMS)
		return bad(err, n, -E2BIG, "%u hosts and %u VMs: the planner holds %u and %u",
			   s->n_hosts, s->n_vms, PLAN_MAX_HOSTS, PLAN_MAX_VMS);
	if (st && st->started && s->now_ms < st->last_ms)
		return bad(err, n, -EINVAL, "the clock went back (%llu ms after %llu ms)",
			   (unsigned long long)s->now_ms, (unsigned long long)st->last_ms);
	return check_hosts(s, err, n) ?: check_vms(s, err, n);
}

/* ---- smoothing -------------------------------------------------------------- */

static double ewma(double prev, double raw, double alpha)
{
	return prev + alpha * (raw - prev);
}

static double host_mem_ratio(const struct plan_host *h)
{
	return h->memory_bytes ?
		       (double)(h->memory_bytes - h->free_memory_bytes) / (double)h->memory_bytes :
		       0;
}

/* The previous entry of that name: at the same index first, as snapshots
 * usually list hosts and VMs in the same order. */
static int find_host(const struct plan_state *st, uint32_t hint, const char *name)
{
	if (hint < st->n_hosts && !strcmp(st->hosts[hint].name, name))
		return (int)hint;
	for (uint32_t i = 0; i < st->n_hosts; i++)
		if (!strcmp(st->hosts[i].name, name))
			return (int)i;
	return -1;
}

static int find_vm(const struct plan_state *st, uint32_t hint, const char *uuid)
{
	if (hint < st->n_vms && !strcmp(st->vms[hint].uuid, uuid))
		return (int)hint;
	for (uint32_t i = 0; i < st->n_vms; i++)
		if (!strcmp(st->vms[i].uuid, uuid))
			return (int)i;
	return -1;
}

/* The smoothed figures of every host and VM into c; st (may be NULL) is
 * only read: alpha 0 reads its values back (plan_drain), 1 ignores them. */
static void smooth(struct plan_ctx *c, const struct plan_state *st, double alpha)
{
	const struct plan_snapshot *s = c->snap;

	for (uint32_t i = 0; i < s->n_hosts; i++) {
		const struct plan_host *h = &s->hosts[i];
		struct plan_smooth raw = { h->cpu_used, h->net_ratio, host_mem_ratio(h) };
		int k = st ? find_host(st, i, h->name) : -1;

		if (k < 0) {
			c->host[i] = raw;
			continue;
		}
		c->host[i].cpu_used = ewma(st->hosts[k].s.cpu_used, raw.cpu_used, alpha);
		c->host[i].net_ratio = ewma(st->hosts[k].s.net_ratio, raw.net_ratio, alpha);
		c->host[i].mem_ratio = ewma(st->hosts[k].s.mem_ratio, raw.mem_ratio, alpha);
	}
	for (uint32_t i = 0; i < s->n_vms; i++) {
		const struct plan_vm *v = &s->vms[i];
		int k = st ? find_vm(st, i, v->uuid) : -1;

		c->vm[i] = (struct plan_smooth){ v->cpu_used, v->net_ratio, 0 };
		if (k < 0)
			continue;
		c->vm[i].cpu_used = ewma(st->vms[k].s.cpu_used, v->cpu_used, alpha);
		c->vm[i].net_ratio = ewma(st->vms[k].s.net_ratio, v->net_ratio, alpha);
	}
}

/* The state's tables become this snapshot's: the gone are forgotten. */
static void remember(struct plan_state *st, const struct plan_ctx *c)
{
	const struct plan_snapshot *s = c->snap;

	for (uint32_t i = 0; i < s->n_hosts; i++) {
		memcpy(st->hosts[i].name, s->hosts[i].name, sizeof(st->hosts[i].name));
		st->hosts[i].s = c->host[i];
	}
	st->n_hosts = s->n_hosts;
	for (uint32_t i = 0; i < s->n_vms; i++) {
		memcpy(st->vms[i].uuid, s->vms[i].uuid, sizeof(st->vms[i].uuid));
		st->vms[i].s = c->vm[i];
	}
	st->n_vms = s->n_vms;
}

double plan_load_ratio(const struct plan_host *h, const struct plan_proj *p)
{
	double cpu = h->cpus ? p->cpu_used / h->cpus : 0;
	double mem = h->memory_bytes ? p->mem_used_bytes / (double)h->memory_bytes : 0;

	return fmax(cpu, fmax(p->net_ratio, mem));
}

double plan_ratio(const struct plan_ctx *c, uint32_t i)
{
	return plan_load_ratio(&c->snap->hosts[i], &c->proj[i]);
}

static void ctx_init(struct plan_ctx *c, const struct plan_snapshot *s, const struct plan_opts *o,
		     const struct plan_state *st, double alpha)
{
	memset(c, 0, sizeof(*c));
	c->snap = s;
	c->o = o;
	smooth(c, st, alpha);
	/* before anything moves: our migrations in flight are not done */
	for (uint32_t i = 0; i < s->n_hosts; i++) {
		struct plan_proj p = {
			.cpu_used = c->host[i].cpu_used,
			.net_ratio = c->host[i].net_ratio,
			.mem_used_bytes = c->host[i].mem_ratio * (double)s->hosts[i].memory_bytes,
		};

		c->load0[i] = plan_load_ratio(&s->hosts[i], &p);
	}
	plan_project(c);
}

/* ---- the step ----------------------------------------------------------------- */

static void fail(struct plan_result *out, const struct plan_state *st, int ret, const char *err)
{
	memset(out, 0, sizeof(*out));
	out->state = st ? st->last_state : PLAN_HOST_NORMAL;
	out->trigger = "";
	snprintf(out->summary, sizeof(out->summary), "no decision, nothing moves: %s (%s)", err,
		 strerror(-ret));
}

/* Follows the smoothed load across high and low; the state it implies. */
static enum plan_host_state hysteresis(struct plan_state *st, const struct plan_ctx *c,
				       struct plan_result *out)
{
	const struct plan_snapshot *s = c->snap;
	const struct plan_opts *o = c->o;
	uint64_t now = s->now_ms;
	double load = out->load_ratio;
	bool busy = s->n_vms || c->outgoing || c->incoming;

	if (load > o->high && !st->above)
		st->above_since_ms = now;
	if (load < o->low && !st->below)
		st->below_since_ms = now;
	st->above = load > o->high;
	st->below = load < o->low;
	if (s->hosts[0].draining && !st->draining)
		st->draining_since_ms = now;
	st->draining = s->hosts[0].draining;

	if (st->draining) {
		out->trigger = "drain";
		out->state_for_ms = now - st->draining_since_ms;
		return PLAN_HOST_DRAINING;
	}
	if (st->above) {
		out->trigger = "high";
		out->state_for_ms = now - st->above_since_ms;
		return out->state_for_ms >= o->hold_up_ms ? PLAN_HOST_OVERLOADED : PLAN_HOST_NORMAL;
	}
	if (st->below) {
		out->trigger = "low";
		out->state_for_ms = now - st->below_since_ms;
		if (out->state_for_ms < o->hold_down_ms)
			return PLAN_HOST_NORMAL;
		return busy ? PLAN_HOST_UNDERLOADED : PLAN_HOST_FREED;
	}
	out->trigger = "";
	return PLAN_HOST_NORMAL;
}

int plan_step(struct plan_state *st, const struct plan_snapshot *snap, const struct plan_opts *o,
	      struct plan_result *out)
{
	struct plan_ctx c;
	const struct plan_host *self;
	char err[192];
	double alpha = 1;
	int ret;

	if (!st || !out)
		return -EINVAL;
	ret = plan_opts_check(o, err, sizeof(err));
	if (!ret)
		ret = check_snapshot(st, snap, err, sizeof(err));
	if (ret) {
		fail(out, st, ret, err);
		return ret;
	}
	if (st->started && o->ewma_ms)
		alpha = -expm1(-(double)(snap->now_ms - st->last_ms) / o->ewma_ms);
	ctx_init(&c, snap, o, st, alpha);

	memset(out, 0, sizeof(*out));
	self = &snap->hosts[0];
	out->cpu_ratio = c.host[0].cpu_used / self->cpus;
	out->net_ratio = c.host[0].net_ratio;
	out->mem_ratio = c.host[0].mem_ratio;
	out->load_ratio = c.load0[0];
	out->outgoing = c.outgoing;
	out->state = hysteresis(st, &c, out);
	plan_describe(&c, out);

	switch (out->state) {
	case PLAN_HOST_DRAINING:
		c.mode = PLAN_MODE_DRAIN;
		plan_drain_step(&c, out);
		break;
	case PLAN_HOST_OVERLOADED:
		c.mode = PLAN_MODE_SPREAD;
		plan_spread(&c, out);
		break;
	case PLAN_HOST_UNDERLOADED:
		if (!o->consolidate) {
			plan_say(out, "consolidation is off: nothing moves");
			break;
		}
		c.mode = PLAN_MODE_CONSOLIDATE;
		plan_consolidate(&c, out);
		break;
	case PLAN_HOST_NORMAL:
	case PLAN_HOST_FREED:
		break;
	}

	remember(st, &c);
	st->started = true;
	st->last_ms = snap->now_ms;
	st->last_state = out->state;
	return 0;
}

int plan_drain(const struct plan_state *st, const struct plan_snapshot *snap,
	       const struct plan_opts *o, struct plan_move *out, uint32_t max, uint32_t *n)
{
	struct plan_ctx c;
	char err[192];
	int ret;

	if (!out || !n)
		return -EINVAL;
	*n = 0;
	ret = plan_opts_check(o, err, sizeof(err));
	/* the state's clock is not this snapshot's concern: it only lends
	 * its smoothed figures */
	if (!ret)
		ret = check_snapshot(NULL, snap, err, sizeof(err));
	if (ret)
		return ret;
	if (max < snap->n_vms)
		return -ENOSPC;
	ctx_init(&c, snap, o, st, 0);
	c.mode = PLAN_MODE_DRAIN;
	return plan_drain_order(&c, out, max, n);
}
