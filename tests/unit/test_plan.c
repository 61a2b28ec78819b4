// SPDX-License-Identifier: GPL-2.0
/*
 * plan: the planner's rules, each on a small cluster built by hand: a
 * host h1 of 4 CPUs and 16 GiB with a few VMs, peers h2, h3 (h4) alike,
 * and the model's predictions written in (the planner only reads them).
 * Most tests turn smoothing and holds off (ewma_ms 0, holds 0) so that
 * one step decides; the hysteresis and smoothing tests turn them on.
 * Then a property over a grid (a higher threshold never more moves), the
 * mirrored consolidation of two planner instances, determinism, and the
 * JSON printer.
 */
#include "unit.h"

#include <math.h>

#include <json-c/json.h>

#include "plan.h"
#include "plan_json.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define MAX_H 8
#define MAX_V 16

static struct {
	struct plan_host hosts[MAX_H];
	struct plan_vm vms[MAX_V];
	struct model_result pred[MAX_V][MAX_H];
	bool pred_ok[MAX_V][MAX_H];
	struct plan_inflight inflight[MAX_H];
	struct plan_snapshot snap;
	struct plan_opts o;
	struct plan_state st;
	struct plan_result r;
} F;

static void host(uint32_t i, const char *name, double cpu_used, uint64_t free_bytes)
{
	struct plan_host *h = &F.hosts[i];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->reachable = true;
	h->cpus = 4;
	h->memory_bytes = 16 * GiB;
	h->free_memory_bytes = free_bytes;
	h->cpu_used = cpu_used;
	if (i >= F.snap.n_hosts)
		F.snap.n_hosts = i + 1;
}

/* A prediction that converges: downtime_ms, bytes. */
static void pred(uint32_t v, uint32_t d, uint64_t downtime_ms, uint64_t bytes)
{
	struct model_result *p = &F.pred[v][d];

	memset(p, 0, sizeof(*p));
	p->converges = true;
	p->downtime_ms = downtime_ms;
	p->bytes_sent = bytes;
	p->total_time_ms = bytes / (32 * MiB) * 1000 + downtime_ms;
	p->rounds = 3;
	F.pred_ok[v][d] = true;
}

/* One that does not; need_ms 0: no downtime remedy; throttle: found or not. */
static void pred_stuck(uint32_t v, uint32_t d, uint32_t need_ms, uint64_t need_downtime_ms,
		       bool throttle)
{
	struct model_result *p = &F.pred[v][d];

	memset(p, 0, sizeof(*p));
	p->why = MODEL_WHY_DIRTY_FASTER;
	p->total_time_ms = 60000;
	p->bytes_sent = 1800 * MiB;
	p->rounds = 40;
	if (need_ms) {
		p->need_downtime_limit_ms = need_ms;
		p->downtime_cost = (struct model_cost){ true, 5000, need_downtime_ms, 300 * MiB, 6 };
	}
	if (throttle) {
		p->need_throttle_pct = 40;
		p->throttle_cost = (struct model_cost){ true, 9000, 250, 400 * MiB, 9 };
	}
	F.pred_ok[v][d] = true;
}

/* A VM using cpu CPUs and mem bytes, predicted to every host at
 * downtime 50 ms and its memory in bytes. */
static void vm(uint32_t i, const char *name, double cpu, uint64_t mem)
{
	struct plan_vm *v = &F.vms[i];

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->uuid, sizeof(v->uuid), "00000000-0000-0000-0000-%012u", i);
	v->cpu_used = cpu;
	v->memory_bytes = mem;
	v->vcpus = 1;
	v->pred = F.pred[i];
	v->pred_ok = F.pred_ok[i];
	for (uint32_t d = 1; d < MAX_H; d++)
		pred(i, d, 50, mem);
	if (i >= F.snap.n_vms)
		F.snap.n_vms = i + 1;
}

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	F.snap.hosts = F.hosts;
	F.snap.vms = F.vms;
	F.snap.inflight = F.inflight;
	plan_opts_default(&F.o);
	F.o.ewma_ms = 0;
	F.o.hold_up_ms = 0;
	F.o.hold_down_ms = 0;
	plan_state_init(&F.st);
	/* h1 at 0.9 CPU (overloaded), half its memory used; peers at 0.2 */
	host(0, "h1", 3.6, 8 * GiB);
	host(1, "h2", 0.8, 12 * GiB);
	host(2, "h3", 0.8, 12 * GiB);
	return 0;
}

static void step(uint64_t now_ms)
{
	F.snap.now_ms = now_ms;
	assert_int_equal(plan_step(&F.st, &F.snap, &F.o, &F.r), 0);
	printf("  t=%-6llu %s\n", (unsigned long long)now_ms, F.r.summary);
}

/* The rejection of vm to dst (PLAN_NONE: the VM as a whole), or NULL. */
static const struct plan_move *rejected(uint32_t v, uint32_t dst)
{
	for (uint32_t i = 0; i < F.r.n_rejected; i++)
		if (F.r.rejected[i].vm == v && F.r.rejected[i].dst == dst)
			return &F.r.rejected[i];
	return NULL;
}

static void assert_rejected(uint32_t v, uint32_t dst, enum plan_why why)
{
	const struct plan_move *m = rejected(v, dst);

	if (!m)
		fail_msg("no rejection of VM %u to %u (want %s)", v, dst, plan_why_name(why));
	if (m->why != why)
		fail_msg("VM %u to %u rejected for %s, want %s", v, dst, plan_why_name(m->why),
			 plan_why_name(why));
}

static void assert_move(uint32_t i, uint32_t v, uint32_t dst)
{
	assert_true(F.r.n_moves > i);
	assert_int_equal(F.r.moves[i].vm, v);
	assert_int_equal(F.r.moves[i].dst, dst);
	assert_int_equal(F.r.moves[i].action, PLAN_MIGRATE);
	assert_int_equal(F.r.moves[i].why, PLAN_WHY_NONE);
}

/* ---- load and thresholds ---------------------------------------------- */

static void test_quiet_host(void **state)
{
	F.hosts[0].cpu_used = 2.0;
	vm(0, "a", 1.0, 1 * GiB);
	vm(1, "b", 1.0, 1 * GiB);
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_NORMAL);
	assert_string_equal(F.r.trigger, "");
	assert_int_equal(F.r.n_moves, 0);
	assert_float_equal(F.r.load_ratio, 0.5, 1e-9);
	assert_float_equal(F.r.cpu_ratio, 0.5, 1e-9);
	assert_float_equal(F.r.mem_ratio, 0.5, 1e-9);
}

/* The load is the fullest resource: memory here. */
static void test_load_is_max_of_parts(void **state)
{
	F.hosts[0].cpu_used = 1.0;
	F.hosts[0].free_memory_bytes = 2 * GiB; /* 14 of 16 used */
	F.hosts[0].net_ratio = 0.3;
	vm(0, "a", 0.5, 4 * GiB);
	step(1000);
	assert_float_equal(F.r.load_ratio, 14.0 / 16, 1e-9);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
	assert_move(0, 0, 1);
	/* 4 GiB of the 14 leave: 10 / 16 */
	assert_float_equal(F.r.moves[0].relief, 4.0 / 16, 1e-9);
}

static void test_hold_up(void **state)
{
	F.o.hold_up_ms = 3000;
	vm(0, "a", 1.0, 1 * GiB);
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_NORMAL);
	assert_string_equal(F.r.trigger, "high");
	assert_int_equal(F.r.state_for_ms, 0);
	assert_int_equal(F.r.n_moves, 0);
	step(3000);
	assert_int_equal(F.r.state_for_ms, 2000);
	assert_int_equal(F.r.n_moves, 0);
	/* a dip under high starts the count again */
	F.hosts[0].cpu_used = 3.0;
	step(3500);
	assert_string_equal(F.r.trigger, "");
	F.hosts[0].cpu_used = 3.6;
	step(4000);
	step(6500);
	assert_int_equal(F.r.state, PLAN_HOST_NORMAL);
	step(7000);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
	assert_int_equal(F.r.state_for_ms, 3000);
	assert_move(0, 0, 1);
}

/* Underload waits hold_down_ms (longer than hold_up_ms): asymmetric. */
static void test_hold_down_asymmetric(void **state)
{
	F.o.hold_up_ms = 3000;
	F.o.hold_down_ms = 30000;
	F.hosts[0].cpu_used = 0.4;
	F.hosts[0].free_memory_bytes = 15 * GiB;
	F.hosts[1].cpu_used = 2.0;
	vm(0, "a", 0.4, 512 * MiB);
	for (uint64_t t = 0; t <= 29000; t += 1000) {
		step(t);
		assert_int_equal(F.r.state, PLAN_HOST_NORMAL);
		assert_string_equal(F.r.trigger, "low");
		assert_int_equal(F.r.n_moves, 0);
	}
	step(30000);
	assert_int_equal(F.r.state, PLAN_HOST_UNDERLOADED);
	assert_int_equal(F.r.state_for_ms, 30000);
	assert_move(0, 0, 1);

	/* the same length of overload has long triggered */
	setup(NULL);
	F.o.hold_up_ms = 3000;
	F.o.hold_down_ms = 30000;
	vm(0, "a", 1.0, 1 * GiB);
	step(0);
	step(3000);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
}

/* One tick's spike is damped by the EWMA; without it, it would move a VM. */
static void test_ewma_damps_spike(void **state)
{
	F.o.ewma_ms = 2000;
	F.hosts[0].cpu_used = 2.0;
	vm(0, "a", 1.0, 1 * GiB);
	for (uint64_t t = 0; t < 10000; t += 1000)
		step(t);
	assert_float_equal(F.r.load_ratio, 0.5, 1e-9);
	F.hosts[0].cpu_used = 4.0; /* 1.0 for one tick */
	step(10000);
	/* alpha = 1 - e^-0.5 = 0.39: 0.5 + 0.39 x 0.5 */
	assert_float_equal(F.r.load_ratio, 0.5 + 0.5 * -expm1(-0.5), 1e-9);
	assert_true(F.r.load_ratio < F.o.high);
	assert_int_equal(F.r.n_moves, 0);
	F.hosts[0].cpu_used = 2.0;
	step(11000);
	assert_int_equal(F.r.n_moves, 0);

	/* the measured interval counts: the same spike after 10 s of
	 * silence is a level, not a spike */
	F.hosts[0].cpu_used = 4.0;
	step(21000);
	assert_true(F.r.load_ratio > 0.99);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);

	/* the control: unsmoothed, the spike moves a VM */
	setup(NULL);
	F.hosts[0].cpu_used = 4.0;
	vm(0, "a", 1.0, 1 * GiB);
	step(10000);
	assert_int_equal(F.r.n_moves, 1);
}

/* ---- choosing the VM ------------------------------------------------------ */

static void test_cheapest_wins(void **state)
{
	vm(0, "big", 1.0, 4 * GiB);
	vm(1, "small", 1.0, 512 * MiB);
	vm(2, "slow", 1.0, 512 * MiB);
	pred(2, 1, 900, 512 * MiB);
	pred(2, 2, 900, 512 * MiB);
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
	assert_int_equal(F.r.n_moves, 1);
	assert_int_equal(F.r.moves[0].vm, 1);
	assert_int_equal(F.r.moves[0].remedy, PLAN_REMEDY_NONE);
	assert_int_equal(F.r.moves[0].downtime_limit_ms, 300);
	assert_int_equal(F.r.moves[0].cost.downtime_ms, 50);
	assert_rejected(0, 1, PLAN_WHY_COSTLIER);
	assert_rejected(2, 1, PLAN_WHY_COSTLIER);
	assert_true(rejected(0, 1)->score > F.r.moves[0].score);
	assert_true(rejected(2, 1)->score > F.r.moves[0].score);
}

/* The link matters: the same VM is cheaper to move to h3. */
static void test_cheaper_link_wins(void **state)
{
	vm(0, "a", 1.0, 1 * GiB);
	pred(0, 1, 400, 2 * GiB);
	step(1000);
	assert_move(0, 0, 2);
	assert_rejected(0, 1, PLAN_WHY_COSTLIER);
}

/* Equal costs: the emptier peer. */
static void test_emptier_peer_wins(void **state)
{
	F.hosts[1].cpu_used = 1.6;
	F.hosts[2].cpu_used = 0.4;
	vm(0, "a", 1.0, 1 * GiB);
	step(1000);
	assert_move(0, 0, 2);
}

/* A single move that is enough beats a better ratio that is not. */
static void test_enough_beats_ratio(void **state)
{
	vm(0, "tiny", 0.2, 128 * MiB); /* 0.9 to 0.85: not enough, cheap per relief */
	vm(1, "large", 1.0, 2 * GiB);  /* 0.9 to 0.65 */
	step(1000);
	assert_int_equal(F.r.n_moves, 1);
	assert_int_equal(F.r.moves[0].vm, 1);
	assert_true(rejected(0, 1)->score < F.r.moves[0].score);
}

/* Nothing alone is enough: the best ratio first, then the next. */
static void test_greedy_when_none_is_enough(void **state)
{
	F.o.max_outgoing = 3;
	F.o.max_incoming = 3;
	F.hosts[0].cpu_used = 3.9;
	vm(0, "a", 0.4, 512 * MiB);
	vm(1, "b", 0.4, 1 * GiB);
	vm(2, "c", 0.4, 2 * GiB);
	step(1000);
	/* 3.9 -> 3.5 (0.875) -> 3.1 (0.775): two, cheapest first */
	assert_int_equal(F.r.n_moves, 2);
	assert_int_equal(F.r.moves[0].vm, 0);
	assert_int_equal(F.r.moves[1].vm, 1);
}

static void test_priority_breaks_ties(void **state)
{
	vm(0, "keep", 1.0, 1 * GiB);
	vm(1, "spare", 1.0, 1 * GiB);
	F.vms[0].priority = 10;
	step(1000);
	assert_move(0, 1, 1);
	setup(NULL);
	vm(0, "keep", 1.0, 1 * GiB);
	vm(1, "spare", 1.0, 1 * GiB);
	F.vms[1].priority = 5;
	step(1000);
	assert_move(0, 0, 1);
}

/* ---- remedies --------------------------------------------------------------- */

static void test_remedy_downtime(void **state)
{
	vm(0, "busy", 1.0, 1 * GiB);
	F.vms[0].max_downtime_ms = 1000;
	pred_stuck(0, 1, 800, 780, true);
	pred_stuck(0, 2, 800, 780, true);
	step(1000);
	assert_move(0, 0, 1);
	assert_int_equal(F.r.moves[0].remedy, PLAN_REMEDY_DOWNTIME);
	assert_int_equal(F.r.moves[0].downtime_limit_ms, 800);
	assert_false(F.r.moves[0].auto_converge);
	assert_int_equal(F.r.moves[0].cost.downtime_ms, 780);
	assert_int_equal(F.r.moves[0].cost.bytes_sent, 300 * MiB);
}

/* The limit needed is above the VM's maximum: auto-converge, at the
 * VM's own limit. */
static void test_remedy_auto_converge(void **state)
{
	vm(0, "busy", 1.0, 1 * GiB);
	F.vms[0].max_downtime_ms = 1000;
	pred_stuck(0, 1, 2000, 1900, true);
	pred_stuck(0, 2, 2000, 1900, true);
	step(1000);
	assert_move(0, 0, 1);
	assert_int_equal(F.r.moves[0].remedy, PLAN_REMEDY_AUTO_CONVERGE);
	assert_true(F.r.moves[0].auto_converge);
	assert_int_equal(F.r.moves[0].downtime_limit_ms, 300);
	assert_int_equal(F.r.moves[0].cost.bytes_sent, 400 * MiB);

	/* a maximum below QEMU's default is the limit it starts with */
	F.vms[0].max_downtime_ms = 260;
	step(2000);
	assert_int_equal(F.r.n_moves, 1);
	assert_int_equal(F.r.moves[0].downtime_limit_ms, 260);
}

static void test_no_remedy_declined(void **state)
{
	vm(0, "stuck", 1.0, 1 * GiB);
	F.vms[0].max_downtime_ms = 1000;
	pred_stuck(0, 1, 2000, 1900, false);
	pred_stuck(0, 2, 0, 0, false);
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 1, PLAN_WHY_NO_CONVERGE);
	assert_rejected(0, 2, PLAN_WHY_NO_CONVERGE);
	assert_int_equal(rejected(0, 1)->action, PLAN_DECLINE);
	assert_non_null(strstr(F.r.summary, "no_converge"));

	/* without a policy maximum, the default limit is the maximum: a
	 * higher one is no remedy, auto-converge is */
	F.vms[0].max_downtime_ms = 0;
	pred_stuck(0, 1, 500, 450, false);
	step(2000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 1, PLAN_WHY_NO_CONVERGE);
	pred_stuck(0, 1, 500, 450, true);
	step(3000);
	assert_move(0, 0, 1);
	assert_int_equal(F.r.moves[0].remedy, PLAN_REMEDY_AUTO_CONVERGE);
	assert_int_equal(F.r.moves[0].downtime_limit_ms, 300);
}

/* Converges, but its downtime is over the VM's maximum: declined. */
static void test_downtime_over_limit(void **state)
{
	vm(0, "fragile", 1.0, 1 * GiB);
	F.vms[0].max_downtime_ms = 100;
	pred(0, 1, 140, 1 * GiB);
	pred(0, 2, 90, 1 * GiB);
	step(1000);
	assert_move(0, 0, 2);
	assert_rejected(0, 1, PLAN_WHY_DOWNTIME_OVER_LIMIT);
	F.pred_ok[0][2] = false;
	step(2000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 2, PLAN_WHY_NO_PREDICTION);
}

/* ---- policy and anti-flapping ------------------------------------------------ */

static void test_pinned(void **state)
{
	vm(0, "db", 1.0, 512 * MiB);
	F.vms[0].pinned = true;
	step(1000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, PLAN_NONE, PLAN_WHY_PINNED);
	vm(1, "web", 1.0, 4 * GiB);
	step(2000);
	assert_move(0, 1, 1);
	assert_rejected(0, PLAN_NONE, PLAN_WHY_PINNED);
}

static void test_cooldown(void **state)
{
	vm(0, "a", 1.0, 1 * GiB);
	F.vms[0].last_moved_ms = 100000;
	step(110000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, PLAN_NONE, PLAN_WHY_COOLDOWN);
	step(129999);
	assert_int_equal(F.r.n_moves, 0);
	step(130000);
	assert_move(0, 0, 1);
}

/* Within no_return_ms, not back to where it came from. */
static void test_no_ping_pong(void **state)
{
	vm(0, "a", 1.0, 1 * GiB);
	snprintf(F.vms[0].came_from, sizeof(F.vms[0].came_from), "h2");
	F.vms[0].last_moved_ms = 100000;
	step(140000); /* out of cooldown (30 s), within no return (60 s) */
	assert_move(0, 0, 2);
	assert_rejected(0, 1, PLAN_WHY_NO_RETURN);
	F.snap.n_hosts = 2;
	step(150000);
	assert_int_equal(F.r.n_moves, 0);
	step(160000);
	assert_move(0, 0, 1);
}

/* ---- destinations -------------------------------------------------------------- */

static void test_no_bounce(void **state)
{
	F.hosts[1].cpu_used = 2.8; /* 0.7 + 0.25 > 0.8 */
	vm(0, "a", 1.0, 1 * GiB);
	step(1000);
	assert_move(0, 0, 2);
	assert_rejected(0, 1, PLAN_WHY_WOULD_OVERLOAD_DEST);
	F.hosts[2].cpu_used = 3.0;
	step(2000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 2, PLAN_WHY_WOULD_OVERLOAD_DEST);
}

static void test_room(void **state)
{
	vm(0, "a", 1.0, 4 * GiB);
	F.hosts[1].free_memory_bytes = 3 * GiB;
	F.vms[0].vcpus = 8;
	step(1000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 1, PLAN_WHY_NO_ROOM_MEMORY);
	assert_rejected(0, 2, PLAN_WHY_NO_ROOM_CPU);
}

static void test_bad_peers(void **state)
{
	host(3, "h4", 0.4, 12 * GiB);
	host(4, "h5", 0, 0);
	F.hosts[4].cpus = 0;
	F.hosts[4].memory_bytes = 0;
	F.hosts[1].reachable = false;
	F.hosts[2].age_ms = 20000;
	F.hosts[3].draining = true;
	vm(0, "a", 1.0, 1 * GiB);
	step(1000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 1, PLAN_WHY_PEER_UNREACHABLE);
	assert_rejected(0, 2, PLAN_WHY_PEER_STALE);
	assert_rejected(0, 3, PLAN_WHY_PEER_DRAINING);
	assert_rejected(0, 4, PLAN_WHY_PEER_NO_FIGURES);
	F.hosts[2].age_ms = 10000;
	step(2000);
	assert_move(0, 0, 2);
}

/* Two moves in one step go to two destinations when max_incoming is 1. */
static void test_max_incoming(void **state)
{
	F.o.max_outgoing = 2;
	F.hosts[0].cpu_used = 3.9;
	vm(0, "a", 0.6, 512 * MiB);
	vm(1, "b", 0.6, 1 * GiB);
	step(1000);
	assert_int_equal(F.r.n_moves, 2);
	assert_move(0, 0, 1);
	assert_move(1, 1, 2);

	/* one destination: the second waits */
	F.snap.n_hosts = 2;
	step(2000);
	assert_int_equal(F.r.n_moves, 1);
	assert_non_null(strstr(F.r.summary, "no other candidate"));

	/* a migration in flight to h2 (someone else's) fills it */
	F.inflight[0] = (struct plan_inflight){ "ffffffff-0000-0000-0000-000000000000", 2, 1 };
	F.snap.n_inflight = 1;
	F.snap.n_hosts = 3;
	step(3000);
	assert_int_equal(F.r.n_moves, 1);
	assert_move(0, 0, 2);
	assert_rejected(1, 1, PLAN_WHY_MAX_INCOMING);
}

/* ---- migrations in flight --------------------------------------------------------- */

static void test_inflight_not_second_guessed(void **state)
{
	vm(0, "a", 1.0, 1 * GiB);
	vm(1, "b", 1.0, 1 * GiB);
	F.vms[0].migrating = true;
	snprintf(F.inflight[0].vm_uuid, sizeof(F.inflight[0].vm_uuid), "%s", F.vms[0].uuid);
	F.inflight[0].src = 0;
	F.inflight[0].dst = 1;
	F.snap.n_inflight = 1;
	F.hosts[0].cpu_used = 4.4; /* still 0.85 once a has left */
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_OVERLOADED);
	assert_int_equal(F.r.outgoing, 1);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, PLAN_NONE, PLAN_WHY_MIGRATING);
	/* b would be next: said, not started */
	assert_rejected(1, 2, PLAN_WHY_MAX_OUTGOING);
	assert_non_null(strstr(F.r.summary, "in flight"));

	/* a's departure is enough: nothing more even with room for more */
	F.o.max_outgoing = 2;
	F.hosts[0].cpu_used = 3.6;
	step(2000);
	assert_int_equal(F.r.n_moves, 0);
	assert_non_null(strstr(F.r.summary, "in flight bring it to"));
}

/* ---- consolidation --------------------------------------------------------------- */

/* h1 nearly idle (0.19, its memory), h2 (0.4) and h3 (0.3) busier. */
static void underloaded(void)
{
	F.hosts[0].cpu_used = 0.4;
	F.hosts[0].free_memory_bytes = 13 * GiB;
	F.hosts[1].cpu_used = 1.6;
	F.hosts[2].cpu_used = 1.2;
	vm(0, "a", 0.2, 1 * GiB);
	vm(1, "b", 0.2, 2 * GiB);
}

static void test_consolidate(void **state)
{
	underloaded();
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_UNDERLOADED);
	assert_string_equal(F.r.trigger, "low");
	assert_int_equal(F.r.n_moves, 1);
	/* the cheaper one, onto the busier peer (best fit) */
	assert_move(0, 0, 1);
	assert_non_null(strstr(F.r.summary, "every VM has a place"));

	F.o.consolidate = false;
	step(2000);
	assert_int_equal(F.r.state, PLAN_HOST_UNDERLOADED);
	assert_int_equal(F.r.n_moves, 0);
}

/* All or nothing: one VM that fits nowhere keeps everything in place. */
static void test_consolidate_all_or_nothing(void **state)
{
	underloaded();
	vm(2, "huge", 0.1, 13 * GiB);
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_UNDERLOADED);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(2, PLAN_NONE, PLAN_WHY_CANNOT_EMPTY);
	assert_rejected(2, 1, PLAN_WHY_NO_ROOM_MEMORY);
	assert_non_null(strstr(F.r.summary, "'huge' fits nowhere"));

	F.vms[2].memory_bytes = 1 * GiB;
	F.vms[2].pinned = true;
	step(2000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(2, PLAN_NONE, PLAN_WHY_PINNED);

	F.vms[2].pinned = false;
	step(3000);
	assert_int_equal(F.r.n_moves, 1);
}

/* Consolidation onto less busy hosts is refused. */
static void test_consolidate_dest_not_busier(void **state)
{
	underloaded();
	host(1, "h2", 0.2, 15 * GiB);
	host(2, "h3", 0.3, 15 * GiB);
	step(1000);
	assert_int_equal(F.r.n_moves, 0);
	/* the larger VM is placed first, and fails first */
	assert_rejected(1, 1, PLAN_WHY_DEST_NOT_BUSIER);
	assert_rejected(1, 2, PLAN_WHY_DEST_NOT_BUSIER);
}

/* Two underloaded hosts that see each other alike: only one empties. */
static void test_two_underloaded_hosts(void **state)
{
	struct plan_host ha[2], hb[2];
	struct plan_vm va, vb;
	struct model_result pa[2] = { 0 }, pb[2] = { 0 };
	bool ok[2] = { false, true };
	struct plan_snapshot sa = { .hosts = ha, .n_hosts = 2, .vms = &va, .n_vms = 1 };
	struct plan_snapshot sb = { .hosts = hb, .n_hosts = 2, .vms = &vb, .n_vms = 1 };
	struct plan_state sta, stb;
	struct plan_result ra, rb;
	uint32_t moved_a = 0, moved_b = 0;

	host(0, "h1", 0.4, 14 * GiB);
	host(1, "h2", 0.4, 14 * GiB);
	vm(0, "on-h1", 0.4, 1 * GiB);
	vm(1, "on-h2", 0.4, 1 * GiB);
	/* each instance: itself first, the other second */
	ha[0] = F.hosts[0], ha[1] = F.hosts[1];
	hb[0] = F.hosts[1], hb[1] = F.hosts[0];
	va = F.vms[0], vb = F.vms[1];
	pa[1].converges = pb[1].converges = true;
	pa[1].downtime_ms = pb[1].downtime_ms = 50;
	pa[1].bytes_sent = pb[1].bytes_sent = 1 * GiB;
	va.pred = pa, vb.pred = pb;
	va.pred_ok = vb.pred_ok = ok;
	plan_state_init(&sta);
	plan_state_init(&stb);
	for (uint64_t t = 1000; t <= 5000; t += 1000) {
		sa.now_ms = sb.now_ms = t;
		assert_int_equal(plan_step(&sta, &sa, &F.o, &ra), 0);
		assert_int_equal(plan_step(&stb, &sb, &F.o, &rb), 0);
		assert_int_equal(ra.state, PLAN_HOST_UNDERLOADED);
		assert_int_equal(rb.state, PLAN_HOST_UNDERLOADED);
		moved_a += ra.n_moves;
		moved_b += rb.n_moves;
	}
	printf("  h1: %s\n  h2: %s\n", ra.summary, rb.summary);
	/* equal loads, the name decides: h1 empties into h2, not back */
	assert_int_equal(moved_a, 5);
	assert_int_equal(moved_b, 0);
	assert_int_equal(rb.rejected[0].why, PLAN_WHY_CANNOT_EMPTY);
	assert_int_equal(rb.rejected[1].why, PLAN_WHY_DEST_NOT_BUSIER);
	assert_non_null(strstr(rb.summary, "dest_not_busier"));

	/* unequal loads: the less busy one empties, whatever the names */
	ha[0].cpu_used = hb[1].cpu_used = 0.8;
	plan_state_init(&sta);
	plan_state_init(&stb);
	assert_int_equal(plan_step(&sta, &sa, &F.o, &ra), 0);
	assert_int_equal(plan_step(&stb, &sb, &F.o, &rb), 0);
	assert_int_equal(ra.n_moves, 0);
	assert_int_equal(rb.n_moves, 1);
}

static void test_freed(void **state)
{
	F.o.hold_down_ms = 10000;
	F.hosts[0].cpu_used = 0;
	F.hosts[0].free_memory_bytes = 15 * GiB;
	step(0);
	assert_int_equal(F.r.state, PLAN_HOST_NORMAL);
	step(10000);
	assert_int_equal(F.r.state, PLAN_HOST_FREED);
	assert_non_null(strstr(F.r.summary, "free"));
	/* a VM arriving: not free, and not emptied either */
	F.inflight[0] = (struct plan_inflight){ "ffffffff-0000-0000-0000-000000000000", 1, 0 };
	F.snap.n_inflight = 1;
	step(11000);
	assert_int_equal(F.r.state, PLAN_HOST_UNDERLOADED);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(PLAN_NONE, PLAN_NONE, PLAN_WHY_INCOMING);
}

/* ---- drain ------------------------------------------------------------------------- */

static void drain_cluster(void)
{
	F.hosts[0].draining = true;
	F.hosts[0].cpu_used = 2.0;
	vm(0, "costly", 0.5, 4 * GiB);
	vm(1, "cheap", 0.5, 512 * MiB);
	vm(2, "pinned", 0.5, 512 * MiB);
	vm(3, "huge", 0.5, 14 * GiB);
	vm(4, "mid", 0.5, 1 * GiB);
	F.vms[2].pinned = true;
	/* drain ignores cooldown and no-return: the operator asked */
	F.vms[4].last_moved_ms = 900;
	snprintf(F.vms[4].came_from, sizeof(F.vms[4].came_from), "h2");
}

static void test_drain_plan(void **state)
{
	struct plan_move m[MAX_V];
	uint32_t n = 0;

	drain_cluster();
	F.snap.now_ms = 1000;
	assert_int_equal(plan_drain(NULL, &F.snap, &F.o, m, MAX_V, &n), 0);
	assert_int_equal(n, 5);
	for (uint32_t i = 0; i < n; i++)
		printf("  %u: %s %s to %s: %s, score %.0f\n", i, plan_action_name(m[i].action),
		       F.vms[m[i].vm].name, m[i].dst == PLAN_NONE ? "-" : F.hosts[m[i].dst].name,
		       plan_why_name(m[i].why), m[i].score);
	/* cheapest first, spread over the peers */
	assert_int_equal(m[0].vm, 1);
	assert_int_equal(m[1].vm, 4);
	assert_int_equal(m[2].vm, 0);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(m[i].action, PLAN_MIGRATE);
		assert_true(m[i].dst == 1 || m[i].dst == 2);
		assert_true(i == 0 || m[i].score >= m[i - 1].score);
	}
	assert_int_not_equal(m[0].dst, m[1].dst);
	/* then what cannot move, and why */
	assert_int_equal(m[3].vm, 2);
	assert_int_equal(m[3].action, PLAN_DECLINE);
	assert_int_equal(m[3].why, PLAN_WHY_PINNED);
	assert_int_equal(m[4].vm, 3);
	assert_int_equal(m[4].action, PLAN_DECLINE);
	assert_int_equal(m[4].why, PLAN_WHY_NO_ROOM_MEMORY);
	assert_true(m[4].dst == 1 || m[4].dst == 2);

	assert_int_equal(plan_drain(NULL, &F.snap, &F.o, m, 4, &n), -ENOSPC);
}

/* The room each move takes is counted for the next: the second 7 GiB VM
 * goes to the other peer, the third fits nowhere. */
static void test_drain_counts_room(void **state)
{
	struct plan_move m[MAX_V];
	uint32_t n = 0;

	/* high enough that memory room binds before the no-bounce rule */
	F.o.high = 0.99;
	F.hosts[0].draining = true;
	F.hosts[0].cpu_used = 1.0;
	F.hosts[1].free_memory_bytes = 8 * GiB;
	F.hosts[2].free_memory_bytes = 8 * GiB;
	vm(0, "x", 0.1, 7 * GiB);
	vm(1, "y", 0.1, 7 * GiB);
	vm(2, "z", 0.1, 7 * GiB);
	F.snap.now_ms = 1000;
	assert_int_equal(plan_drain(NULL, &F.snap, &F.o, m, MAX_V, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(m[0].action, PLAN_MIGRATE);
	assert_int_equal(m[1].action, PLAN_MIGRATE);
	assert_int_not_equal(m[0].dst, m[1].dst);
	assert_int_equal(m[2].action, PLAN_DECLINE);
	assert_int_equal(m[2].why, PLAN_WHY_NO_ROOM_MEMORY);
}

/* plan_step on a draining host takes the plan one step at a time. */
static void test_drain_steps(void **state)
{
	drain_cluster();
	step(1000);
	assert_int_equal(F.r.state, PLAN_HOST_DRAINING);
	assert_string_equal(F.r.trigger, "drain");
	assert_int_equal(F.r.n_moves, 1);
	assert_move(0, 1, 1);
	assert_rejected(2, PLAN_NONE, PLAN_WHY_PINNED);
	assert_rejected(3, 1, PLAN_WHY_NO_ROOM_MEMORY);

	/* two at once, one per destination */
	F.o.max_outgoing = 3;
	step(2000);
	assert_int_equal(F.r.n_moves, 2);
	assert_int_not_equal(F.r.moves[0].dst, F.r.moves[1].dst);
	assert_int_equal(F.r.state_for_ms, 1000);

	/* one in flight and max_outgoing 1: the next is said, not started */
	F.o.max_outgoing = 1;
	F.vms[1].migrating = true;
	step(3000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(4, 1, PLAN_WHY_MAX_OUTGOING);
	assert_rejected(1, PLAN_NONE, PLAN_WHY_MIGRATING);

	F.snap.n_vms = 0;
	step(4000);
	assert_int_equal(F.r.state, PLAN_HOST_DRAINING);
	assert_non_null(strstr(F.r.summary, "drained"));
}

/* ---- bad input ----------------------------------------------------------------------- */

static void test_bad_snapshot(void **state)
{
	struct plan_state before;
	struct plan_opts o;
	struct plan_vm many[PLAN_MAX_VMS + 1];

	vm(0, "a", 1.0, 1 * GiB);
	step(5000);
	before = F.st;

	/* each refused, nothing moves, the state untouched */
#define REFUSED(ret, what)                                                    \
	do {                                                                  \
		assert_int_equal(plan_step(&F.st, &F.snap, &F.o, &F.r), ret); \
		assert_int_equal(F.r.n_moves, 0);                             \
		assert_non_null(strstr(F.r.summary, what));                   \
		assert_memory_equal(&F.st, &before, sizeof(before));          \
		printf("  refused: %s\n", F.r.summary);                       \
	} while (0)

	F.snap.now_ms = 4000;
	REFUSED(-EINVAL, "clock went back");
	F.snap.now_ms = 6000;
	snprintf(F.hosts[2].name, sizeof(F.hosts[2].name), "h2");
	REFUSED(-EINVAL, "'h2'");
	snprintf(F.hosts[2].name, sizeof(F.hosts[2].name), "h3");
	F.hosts[1].cpu_used = NAN;
	REFUSED(-EINVAL, "'h2'");
	F.hosts[1].cpu_used = 0.8;
	F.vms[0].net_ratio = -1;
	REFUSED(-EINVAL, "'a'");
	F.vms[0].net_ratio = 0;
	F.inflight[0] = (struct plan_inflight){ "x", 0, 7 };
	F.snap.n_inflight = 1;
	REFUSED(-EINVAL, "in flight");
	F.snap.n_inflight = 0;
	F.hosts[0].cpus = 0;
	REFUSED(-EINVAL, "no CPUs");
	F.hosts[0].cpus = 4;
	memset(F.hosts[1].name, 'x', sizeof(F.hosts[1].name));
	REFUSED(-EINVAL, "host 1");
	snprintf(F.hosts[1].name, sizeof(F.hosts[1].name), "h2");
	F.snap.vms = NULL;
	REFUSED(-EINVAL, "does not give");
	F.snap.vms = F.vms;

	memset(many, 0, sizeof(many));
	F.snap.vms = many;
	F.snap.n_vms = PLAN_MAX_VMS + 1;
	REFUSED(-E2BIG, "holds");
	F.snap.vms = F.vms;
	F.snap.n_vms = 1;

	o = F.o;
	F.o.low = 0.9;
	REFUSED(-EINVAL, "low must be below high");
	F.o = o;
	F.o.max_outgoing = 0;
	REFUSED(-EINVAL, "max_outgoing");
	F.o = o;
	assert_int_equal(plan_step(&F.st, NULL, &F.o, &F.r), -EINVAL);
	assert_int_equal(plan_step(&F.st, &F.snap, &F.o, &F.r), 0);
#undef REFUSED
}

/* ---- determinism and a property ------------------------------------------------------- */

static char *result_text(const struct plan_result *r, const struct plan_snapshot *s)
{
	struct json_object *o = json_object_new_object();
	char *text;

	assert_int_equal(plan_result_to_json(r, s, o), 0);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

static void run_mixed(struct plan_state *st, char **texts, uint32_t n)
{
	plan_state_init(st);
	for (uint32_t i = 0; i < n; i++) {
		F.snap.now_ms = 1000 * (i + 1);
		F.hosts[0].cpu_used = 3.0 + 0.3 * (i % 4);
		F.hosts[1].cpu_used = 0.5 + 0.2 * (i % 3);
		assert_int_equal(plan_step(st, &F.snap, &F.o, &F.r), 0);
		texts[i] = result_text(&F.r, &F.snap);
	}
}

static void test_deterministic(void **state)
{
	char *a[12], *b[12];
	struct plan_state st2;

	F.o.ewma_ms = 2000;
	F.o.hold_up_ms = 2000;
	F.o.max_outgoing = 2;
	vm(0, "a", 1.0, 1 * GiB);
	vm(1, "b", 0.7, 2 * GiB);
	vm(2, "c", 0.4, 512 * MiB);
	pred_stuck(1, 2, 600, 500, true);
	F.vms[1].max_downtime_ms = 800;
	run_mixed(&F.st, a, 12);
	run_mixed(&st2, b, 12);
	for (uint32_t i = 0; i < 12; i++) {
		assert_string_equal(a[i], b[i]);
		free(a[i]);
		free(b[i]);
	}
	assert_memory_equal(&F.st, &st2, sizeof(st2));
}

static uint64_t lcg_state;

static double lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(lcg_state >> 11) / (double)(1ull << 53);
}

/*
 * Raising high never produces more moves, over a grid of clusters whose
 * peers have room whatever the threshold.  Where the no-bounce rule binds,
 * it does not hold, and should not: a higher high also lets a destination
 * take more (test_higher_high_frees_a_destination).
 */
static void test_higher_high_never_more_moves(void **state)
{
	static const double highs[] = { 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95 };
	uint32_t cases = 0, moving = 0;

	lcg_state = 42;
	for (uint32_t k = 0; k < 300; k++) {
		uint32_t prev = UINT32_MAX, n_vms = 2 + (uint32_t)(lcg() * 8);
		double load = 0;

		setup(NULL);
		F.hosts[0].cpus = 8;
		F.hosts[0].memory_bytes = 32 * GiB;
		F.hosts[0].free_memory_bytes = 16 * GiB;
		for (uint32_t d = 1; d <= 3; d++) {
			host(d, d == 1 ? "p1" : d == 2 ? "p2" : "p3", 0, 60 * GiB);
			F.hosts[d].cpus = 16;
			F.hosts[d].memory_bytes = 64 * GiB;
			F.hosts[d].cpu_used = 0.2 + lcg() * 0.8;
		}
		for (uint32_t v = 0; v < n_vms; v++) {
			char name[16];

			snprintf(name, sizeof(name), "v%u", v);
			vm(v, name, 0.2 + lcg() * 1.3, (uint64_t)(256 + lcg() * 1792) * MiB);
			load += F.vms[v].cpu_used;
			for (uint32_t d = 1; d <= 3; d++) {
				if (lcg() < 0.2)
					pred_stuck(v, d, lcg() < 0.5 ? 500 : 0, 450, lcg() < 0.5);
				else
					pred(v, d, 10 + (uint64_t)(lcg() * 500),
					     F.vms[v].memory_bytes * (1 + (uint64_t)(lcg() * 3)));
			}
			F.vms[v].max_downtime_ms = lcg() < 0.3 ? 1000 : 0;
			F.vms[v].priority = (int32_t)(lcg() * 3);
		}
		F.hosts[0].cpu_used = load + lcg() * 2;
		F.o.max_outgoing = 1 + (uint32_t)(lcg() * 3);
		F.o.max_incoming = 3;
		F.o.low = 0.2;
		for (size_t h = 0; h < ARRAY_SIZE(highs); h++) {
			struct plan_state st;
			struct plan_result r;

			F.o.high = highs[h];
			F.snap.now_ms = 1000;
			plan_state_init(&st);
			assert_int_equal(plan_step(&st, &F.snap, &F.o, &r), 0);
			for (uint32_t i = 0; i < r.n_rejected; i++)
				assert_int_not_equal(r.rejected[i].why, PLAN_WHY_WOULD_OVERLOAD_DEST);
			if (r.n_moves > prev)
				fail_msg("case %u: high %.2f gives %u moves, %.2f gave %u", k,
					 highs[h], r.n_moves, highs[h - 1], prev);
			prev = r.n_moves;
			cases++;
			moving += r.n_moves > 0;
		}
	}
	printf("  %u cases, %u with moves\n", cases, moving);
	assert_true(moving > cases / 4);
}

/* Where the no-bounce rule binds, a higher high lets the move happen. */
static void test_higher_high_frees_a_destination(void **state)
{
	F.hosts[0].cpu_used = 3.8;
	F.hosts[1].cpu_used = 2.8;
	F.snap.n_hosts = 2;
	vm(0, "a", 0.8, 1 * GiB); /* h2: 0.7 + 0.2 = 0.9 */
	step(1000);
	assert_int_equal(F.r.n_moves, 0);
	assert_rejected(0, 1, PLAN_WHY_WOULD_OVERLOAD_DEST);
	F.o.high = 0.9;
	plan_state_init(&F.st);
	step(1000);
	assert_int_equal(F.r.n_moves, 1);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member '%s' in %s", key, json_object_to_json_string(o));
	return v;
}

static void test_json(void **state)
{
	struct json_object *o = json_object_new_object(), *back, *moves, *m, *p, *rej, *arr;
	struct plan_move drain[MAX_V];
	const char *text;
	uint32_t n;
	bool seen_null = false;

	vm(0, "we\"ird\nname\\", 1.0, 512 * MiB);
	vm(1, "b", 1.0, 4 * GiB);
	vm(2, "c", 1.0, 512 * MiB);
	F.vms[2].pinned = true;
	snprintf(F.hosts[1].name, sizeof(F.hosts[1].name), "h\"2");
	step(1000);
	assert_int_equal(plan_result_to_json(&F.r, &F.snap, o), 0);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	printf("  %s\n", text);
	back = json_tokener_parse(text);
	assert_non_null(back);

	assert_string_equal(json_object_get_string(member(back, "state")), "overloaded");
	assert_string_equal(json_object_get_string(member(back, "trigger")), "high");
	assert_float_equal(json_object_get_double(member(back, "load_ratio")), 0.9, 1e-9);
	assert_int_equal(json_object_get_int64(member(back, "state_for_ms")), 0);
	moves = member(back, "moves");
	assert_int_equal(json_object_array_length(moves), 1);
	m = json_object_array_get_idx(moves, 0);
	assert_string_equal(json_object_get_string(member(m, "vm")), "we\"ird\nname\\");
	assert_string_equal(json_object_get_string(member(m, "uuid")), F.vms[0].uuid);
	assert_string_equal(json_object_get_string(member(m, "destination")), "h\"2");
	assert_string_equal(json_object_get_string(member(m, "remedy")), "none");
	assert_int_equal(json_object_get_int64(member(m, "downtime_limit_ms")), 300);
	assert_false(json_object_get_boolean(member(m, "auto_converge")));
	p = member(m, "predicted");
	assert_int_equal(json_object_get_int64(member(p, "downtime_ms")), 50);
	assert_int_equal(json_object_get_int64(member(p, "bytes")), 512 * MiB);
	assert_int_equal(json_object_get_int64(member(p, "rounds")), 3);
	member(p, "total_time_ms");
	assert_float_equal(json_object_get_double(member(m, "relief")), F.r.moves[0].relief, 1e-12);
	member(m, "score");

	rej = member(back, "rejected");
	assert_int_equal(json_object_array_length(rej), F.r.n_rejected);
	assert_int_equal(json_object_get_int64(member(back, "rejected_total")), F.r.n_rejected_total);
	for (size_t i = 0; i < json_object_array_length(rej); i++) {
		struct json_object *e = json_object_array_get_idx(rej, i);

		member(e, "why");
		if (!member(e, "destination")) {
			seen_null = true;
			assert_string_equal(json_object_get_string(member(e, "why")), "pinned");
			assert_null(member(e, "score"));
		}
	}
	assert_true(seen_null);
	assert_string_equal(json_object_get_string(member(back, "summary")), F.r.summary);
	json_object_put(back);
	json_object_put(o);

	/* the drain plan: moves and declines */
	F.hosts[0].draining = true;
	F.snap.now_ms = 2000;
	assert_int_equal(plan_drain(&F.st, &F.snap, &F.o, drain, MAX_V, &n), 0);
	arr = json_object_new_array();
	assert_int_equal(plan_moves_to_json(drain, n, &F.snap, arr), 0);
	assert_int_equal(json_object_array_length(arr), n);
	m = json_object_array_get_idx(arr, n - 1);
	assert_string_equal(json_object_get_string(member(m, "action")), "decline");
	assert_string_equal(json_object_get_string(member(m, "why")), "pinned");
	assert_null(member(m, "predicted"));
	assert_null(member(m, "destination"));
	m = json_object_array_get_idx(arr, 0);
	assert_string_equal(json_object_get_string(member(m, "action")), "migrate");
	assert_string_equal(json_object_get_string(member(m, "why")), "none");
	/* an index outside the snapshot is refused */
	drain[0].dst = 9;
	assert_int_equal(plan_moves_to_json(drain, 1, &F.snap, arr), -EINVAL);
	json_object_put(arr);
}

static void test_names(void **state)
{
	assert_string_equal(plan_host_state_name(PLAN_HOST_FREED), "freed");
	assert_string_equal(plan_why_name(PLAN_WHY_DEST_NOT_BUSIER), "dest_not_busier");
	assert_string_equal(plan_why_name(PLAN_WHY_CANNOT_EMPTY), "cannot_empty");
	assert_string_equal(plan_why_name((enum plan_why)999), "?");
	assert_string_equal(plan_remedy_name(PLAN_REMEDY_AUTO_CONVERGE), "auto_converge");
	assert_string_equal(plan_action_name(PLAN_DECLINE), "decline");
	for (int w = PLAN_WHY_NONE; w <= PLAN_WHY_CANNOT_EMPTY; w++)
		assert_string_not_equal(plan_why_name((enum plan_why)w), "?");
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_quiet_host),
		T(test_load_is_max_of_parts),
		T(test_hold_up),
		T(test_hold_down_asymmetric),
		T(test_ewma_damps_spike),
		T(test_cheapest_wins),
		T(test_cheaper_link_wins),
		T(test_emptier_peer_wins),
		T(test_enough_beats_ratio),
		T(test_greedy_when_none_is_enough),
		T(test_priority_breaks_ties),
		T(test_remedy_downtime),
		T(test_remedy_auto_converge),
		T(test_no_remedy_declined),
		T(test_downtime_over_limit),
		T(test_pinned),
		T(test_cooldown),
		T(test_no_ping_pong),
		T(test_no_bounce),
		T(test_room),
		T(test_bad_peers),
		T(test_max_incoming),
		T(test_inflight_not_second_guessed),
		T(test_consolidate),
		T(test_consolidate_all_or_nothing),
		T(test_consolidate_dest_not_busier),
		T(test_two_underloaded_hosts),
		T(test_freed),
		T(test_drain_plan),
		T(test_drain_counts_room),
		T(test_drain_steps),
		T(test_bad_snapshot),
		T(test_deterministic),
		T(test_higher_high_never_more_moves),
		T(test_higher_high_frees_a_destination),
		T(test_json),
		T(test_names),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
