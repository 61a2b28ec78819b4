// SPDX-License-Identifier: GPL-2.0
/*
 * model: predicts a QEMU pre-copy migration by simulating what QEMU's
 * migration thread does, at the granularity at which it decides.
 *
 * What QEMU 10 does (migration/migration.c, migration/ram.c):
 *
 * - migration_thread() loops: migration_iteration_run(), then
 *   migration_rate_limit(), which calls migration_update_counters() and,
 *   once the period's quota (max-bandwidth / XFER_LIMIT_RATIO, i.e.
 *   100 ms worth of the cap) is spent, sleeps until the BUFFER_DELAY
 *   (100 ms) period ends.  So sending happens in 100 ms periods at the cap.
 *
 * - migration_update_counters(), once per period: bandwidth = bytes sent
 *   in the period / its length (the *measured* rate, not the cap), and
 *   threshold_size = bandwidth x downtime-limit (unless the user set
 *   avail-switchover-bandwidth).  threshold_size is 0 until the first
 *   period ends.  expected_downtime = dirty_bytes_last_sync / bandwidth is
 *   only reported, never used to decide.
 *
 * - migration_iteration_run(): pending = qemu_savevm_state_pending_estimate()
 *   (for RAM: ram_state_pending_estimate() = migration_dirty_pages x page
 *   size, the pages still set in the migration bitmap, which only falls
 *   as pages are sent).  Only when that is below threshold_size does it
 *   ask qemu_savevm_state_pending_exact(): ram_state_pending_exact() runs
 *   migration_bitmap_sync_precopy(), which ORs the pages the guest
 *   dirtied since the previous sync into the bitmap
 *   (ramblock_sync_dirty_bitmap() adds only bits not already set), and
 *   counts again.  If the exact figure is 0 or below threshold_size,
 *   migration_completion(): else one more qemu_savevm_state_iterate().
 *   (The 2025 rewrite of that test, complete_ready = can_switchover &&
 *   pending_size <= threshold_size, differs only at equality.)
 *
 * - So a "round" is what happens between two bitmap syncs, and a sync
 *   happens only when the bitmap's remainder has fallen below the
 *   threshold: dirty_sync_count (libvirt's memory_iteration) counts the
 *   setup sync in ram_init_bitmaps() (all pages start dirty: round 0 sends
 *   all of RAM), each exact figure, and the last one in
 *   ram_save_complete().  Because the check comes once per period, the
 *   remainder undershoots the threshold by up to one period's sending;
 *   the newly dirtied pages partly fall on pages still in the bitmap.
 *   That is why a guest whose working set exceeds the threshold still
 *   converges after some rounds (40 MiB/s over 16 MiB at 32 MiB/s with
 *   300 ms: threshold 9.6 MiB < 16 MiB), which the textbook round model
 *   V(i+1) = min(WSS, rate x V(i) / B) calls non-convergent.
 *
 * - ram_save_complete() flushes the remainder "regardless of rate
 *   limiting": the downtime is the remainder at the link's speed plus the
 *   device state, not the remainder at the cap.
 *
 * - Zero pages (save_zero_page()) go as a header and one byte instead of
 *   a page.
 *
 * - Auto-converge: migration_bitmap_sync() evaluates, at a sync more than
 *   1000 ms after the previous evaluation, migration_trigger_throttle():
 *   if the bytes newly dirtied in that period exceed
 *   throttle-trigger-threshold (50 %) of the bytes transferred, and that
 *   happens a second time (dirty_rate_high_cnt >= 2), mig_throttle_guest_down()
 *   starts the throttle at cpu-throttle-initial (20 %) or raises it by
 *   cpu-throttle-increment (10 %), up to max-cpu-throttle (99 %).  A
 *   throttled vCPU runs (100 - pct) % of the time: for a CPU-bound writer,
 *   the guest's dirtying clock slows by that factor (a clock-paced writer
 *   is not slowed, so this remedy is optimistic for it).
 *
 * - libvirt: --bandwidth MiB/s becomes max-bandwidth (<< 20 bytes/s); the
 *   downtime limit stays QEMU's 300 ms unless virDomainMigrateSetMaxDowntime.
 *
 * The model keeps, in pages, what is still set in the bitmap inside the
 * working set (rw) and outside it (ro; never dirtied again after round 0),
 * sends 100 ms periods proportionally from both (pages in address order,
 * working set spread across RAM), and at a sync adds W(guest time since
 * the last sync) pages, of which the fraction rw / wss already in the
 * bitmap adds nothing (independent placement within the working set).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "model.h"

#define PAGE_HEADER_BYTES 8 /* save_page_header() with CONTINUE */
#define ZERO_PAGE_BYTES (PAGE_HEADER_BYTES + 1)
#define THROTTLE_TRIGGER_PCT 50
#define THROTTLE_INITIAL_PCT 20
#define THROTTLE_INCREMENT_PCT 10
#define THROTTLE_MAX_PCT 99
#define THROTTLE_PERIOD_MS 1000
#define REMEDY_MAX_BANDWIDTH_BYTES_PER_S (100ull << 30)

struct sim {
	/* input, resolved */
	double mem_pages, wss_pages, page_bytes;
	double rate_bytes_per_ms; /* pre-copy: min(cap, link) x ratio */
	double link_bytes_per_ms; /* stop and copy */
	double zero_frac;
	double downtime_limit_ms, overhead_ms, max_time_ms;
	bool auto_converge;
	const struct model_curve *curve;
	/* state */
	double t_ms;
	double rw, ro; /* bitmap pages inside / outside the set */
	double guest_ms_since_sync;
	double sent_bytes, threshold_bytes, min_pending_bytes;
	uint32_t syncs;
	uint32_t throttle_pct;
	int high_cnt;
	double period_start_ms, period_dirty_pages, period_xfer_prev;
};

static const char *const why_names[] = {
	[MODEL_WHY_NONE] = "none",
	[MODEL_WHY_NO_BANDWIDTH] = "no-bandwidth",
	[MODEL_WHY_DIRTY_FASTER] = "dirty-faster",
	[MODEL_WHY_BAD_INPUT] = "bad-input",
};

const char *model_why_name(enum model_why why)
{
	if ((unsigned int)why >= sizeof(why_names) / sizeof(why_names[0]))
		return "?";
	return why_names[why];
}

static int check_input(const struct model_input *in)
{
	if (!in || !in->curve || !in->curve->page_bytes || !in->memory_bytes ||
	    in->memory_bytes < in->curve->page_bytes)
		return -EINVAL;
	if (!(in->zero_page_fraction >= 0 && in->zero_page_fraction <= 1))
		return -EINVAL;
	if (!(in->throughput_ratio >= 0 && in->throughput_ratio <= 10))
		return -EINVAL;
	return 0;
}

static void sim_init(struct sim *s, const struct model_input *in)
{
	double ratio = in->throughput_ratio > 0 ? in->throughput_ratio : 1;
	double cap = (double)in->bandwidth_bytes_per_s;
	double link = in->link_bytes_per_s ? (double)in->link_bytes_per_s : cap;

	memset(s, 0, sizeof(*s));
	s->curve = in->curve;
	s->page_bytes = in->curve->page_bytes;
	s->mem_pages = floor((double)in->memory_bytes / s->page_bytes);
	/* a working set larger than RAM is RAM */
	s->wss_pages = fmin((double)model_curve_wss_pages(in->curve), s->mem_pages);
	s->rate_bytes_per_ms = fmin(cap, link) * ratio / 1000.0;
	s->link_bytes_per_ms = link * ratio / 1000.0;
	s->zero_frac = in->zero_page_fraction;
	s->downtime_limit_ms = in->downtime_limit_ms;
	s->overhead_ms = in->switchover_overhead_ms;
	s->max_time_ms = in->max_time_ms ? in->max_time_ms : MODEL_DEFAULT_MAX_TIME_MS;
	s->auto_converge = in->auto_converge;
	/* ram_init_bitmaps(): every page dirty, and the setup sync */
	s->rw = s->wss_pages;
	s->ro = s->mem_pages - s->wss_pages;
	s->syncs = 1;
	s->min_pending_bytes = INFINITY;
}

/* Wire bytes of one page still in the bitmap, inside and outside the set. */
static double cost_in(const struct sim *s)
{
	return s->page_bytes + PAGE_HEADER_BYTES;
}

static double cost_out(const struct sim *s)
{
	return s->zero_frac * ZERO_PAGE_BYTES + (1 - s->zero_frac) * cost_in(s);
}

static double bitmap_wire_bytes(const struct sim *s)
{
	return s->rw * cost_in(s) + s->ro * cost_out(s);
}

/* Send up to budget bytes from the bitmap; returns the bytes sent. */
static double sim_send(struct sim *s, double budget_bytes)
{
	double pages = s->rw + s->ro, wire = bitmap_wire_bytes(s), frac;

	if (pages <= 0 || budget_bytes <= 0)
		return 0;
	if (budget_bytes >= wire) {
		s->rw = s->ro = 0;
		return wire;
	}
	/* proportionally from both: one page of each kind in address order */
	frac = budget_bytes / wire;
	s->rw -= s->rw * frac;
	s->ro -= s->ro * frac;
	return budget_bytes;
}

/* migration_trigger_throttle() and the period reset of migration_bitmap_sync() */
static void sim_throttle_check(struct sim *s)
{
	double dirty_bytes, xfer_bytes;

	if (s->t_ms <= s->period_start_ms + THROTTLE_PERIOD_MS)
		return;
	dirty_bytes = s->period_dirty_pages * s->page_bytes;
	xfer_bytes = s->sent_bytes - s->period_xfer_prev;
	if (s->auto_converge && dirty_bytes > xfer_bytes * THROTTLE_TRIGGER_PCT / 100 &&
	    ++s->high_cnt >= 2) {
		s->high_cnt = 0;
		if (!s->throttle_pct)
			s->throttle_pct = THROTTLE_INITIAL_PCT;
		else if (s->throttle_pct + THROTTLE_INCREMENT_PCT < THROTTLE_MAX_PCT)
			s->throttle_pct += THROTTLE_INCREMENT_PCT;
		else
			s->throttle_pct = THROTTLE_MAX_PCT;
	}
	s->period_start_ms = s->t_ms;
	s->period_dirty_pages = 0;
	s->period_xfer_prev = s->sent_bytes;
}

/* ORs the pages dirtied since the last sync into the bitmap: the new bits. */
static double sim_merge_dirty(struct sim *s)
{
	double dirty = fmin(model_curve_pages(s->curve, s->guest_ms_since_sync), s->wss_pages);
	double added = 0;

	if (s->wss_pages > 0)
		added = dirty * (1 - s->rw / s->wss_pages);
	if (added < 0)
		added = 0;
	s->rw = fmin(s->rw + added, s->wss_pages);
	s->guest_ms_since_sync = 0;
	s->syncs++;
	return added;
}

/* migration_bitmap_sync(): returns the exact pending figure in bytes. */
static double sim_sync(struct sim *s)
{
	s->period_dirty_pages += sim_merge_dirty(s);
	sim_throttle_check(s);
	return (s->rw + s->ro) * s->page_bytes;
}

/* The guest runs dt_ms of wall time (at 100 - throttle % of its vCPU). */
static void sim_run_guest(struct sim *s, double dt_ms)
{
	s->t_ms += dt_ms;
	s->guest_ms_since_sync += dt_ms * (100 - s->throttle_pct) / 100.0;
}

/*
 * migration_iteration_run() with the current threshold: true when it
 * switches over.
 */
static bool sim_check(struct sim *s)
{
	double estimate = (s->rw + s->ro) * s->page_bytes, exact;

	if (!(estimate < s->threshold_bytes)) {
		/* no exact figure; an empty bitmap still completes */
		return estimate <= 0;
	}
	exact = sim_sync(s);
	if (exact < s->min_pending_bytes)
		s->min_pending_bytes = exact;
	return exact <= 0 || exact < s->threshold_bytes;
}

static void sim_finish(struct sim *s, struct model_result *out, bool converged)
{
	double final_bytes = 0;

	out->converges = converged;
	out->why = converged ? MODEL_WHY_NONE : MODEL_WHY_DIRTY_FASTER;
	out->throttle_pct = s->throttle_pct;
	out->threshold_bytes = (uint64_t)llround(s->threshold_bytes);
	out->min_pending_bytes = isinf(s->min_pending_bytes) ?
					 0 :
					 (uint64_t)llround(s->min_pending_bytes);
	if (converged) {
		/* ram_save_complete(): the last sync (right after an exact
		 * one, so little is new) and the rest at the link's speed */
		sim_merge_dirty(s);
		final_bytes = bitmap_wire_bytes(s);
		out->final_pending_bytes = (uint64_t)llround(final_bytes);
		out->downtime_ms = (uint64_t)llround(final_bytes / s->link_bytes_per_ms +
						     s->overhead_ms);
		out->total_time_ms = (uint64_t)llround(s->t_ms) + out->downtime_ms;
	} else {
		out->total_time_ms = (uint64_t)llround(s->t_ms);
	}
	out->bytes_sent = (uint64_t)llround(s->sent_bytes + final_bytes);
	out->rounds = s->syncs;
}

static void simulate(const struct model_input *in, struct model_result *out)
{
	struct sim s;

	sim_init(&s, in);
	memset(out, 0, sizeof(*out));
	if (s.rate_bytes_per_ms <= 0 || s.link_bytes_per_ms <= 0) {
		out->why = MODEL_WHY_NO_BANDWIDTH;
		out->total_time_ms = (uint64_t)s.max_time_ms;
		out->rounds = s.syncs;
		return;
	}
	while (s.t_ms < s.max_time_ms) {
		double budget = s.rate_bytes_per_ms * MODEL_PERIOD_MS, used = 0;

		/* one period; if the bitmap empties early, the estimate (0)
		 * is below the threshold of the previous period at once */
		while (used < budget) {
			double wire = bitmap_wire_bytes(&s), sent;

			if (wire <= 0) {
				if (s.threshold_bytes > 0 && sim_check(&s)) {
					sim_finish(&s, out, true);
					return;
				}
				if (bitmap_wire_bytes(&s) <= 0)
					break; /* nothing dirty yet: idle */
				continue;
			}
			sent = sim_send(&s, budget - used);
			sim_run_guest(&s, MODEL_PERIOD_MS * sent / budget);
			s.sent_bytes += sent;
			used += sent;
		}
		if (used < budget)
			sim_run_guest(&s, MODEL_PERIOD_MS * (budget - used) / budget);
		/* migration_update_counters(): measured rate x downtime limit */
		s.threshold_bytes = used / MODEL_PERIOD_MS * s.downtime_limit_ms;
		if (sim_check(&s)) {
			sim_finish(&s, out, true);
			return;
		}
	}
	sim_finish(&s, out, false);
}

static void copy_cost(struct model_cost *c, const struct model_result *r)
{
	c->found = r->converges;
	c->total_time_ms = r->total_time_ms;
	c->downtime_ms = r->downtime_ms;
	c->bytes_sent = r->bytes_sent;
	c->rounds = r->rounds;
}

/* The smallest cap (and link) that converges, within 1 % or 1 MiB/s. */
static void remedy_bandwidth(const struct model_input *in, struct model_result *out)
{
	struct model_input t = *in;
	struct model_result r;
	uint64_t lo = in->bandwidth_bytes_per_s, hi = lo ? lo * 2 : 1 << 20;
	bool found = false;

	for (; hi <= REMEDY_MAX_BANDWIDTH_BYTES_PER_S; lo = hi, hi *= 2) {
		t.bandwidth_bytes_per_s = hi;
		t.link_bytes_per_s = in->link_bytes_per_s > hi ? in->link_bytes_per_s : 0;
		simulate(&t, &r);
		if (r.converges) {
			found = true;
			break;
		}
	}
	if (!found)
		return;
	while (hi - lo > (1 << 20) && hi - lo > hi / 100) {
		uint64_t mid = lo + (hi - lo) / 2;

		t.bandwidth_bytes_per_s = mid;
		t.link_bytes_per_s = in->link_bytes_per_s > mid ? in->link_bytes_per_s : 0;
		simulate(&t, &r);
		if (r.converges)
			hi = mid;
		else
			lo = mid;
	}
	t.bandwidth_bytes_per_s = hi;
	t.link_bytes_per_s = in->link_bytes_per_s > hi ? in->link_bytes_per_s : 0;
	simulate(&t, &r);
	out->need_bandwidth_bytes_per_s = hi;
	copy_cost(&out->bandwidth_cost, &r);
}

/* The smallest downtime limit that converges, within 1 % or 1 ms. */
static void remedy_downtime(const struct model_input *in, struct model_result *out)
{
	struct model_input t = *in;
	struct model_result r;
	uint32_t lo = in->downtime_limit_ms, hi = lo ? lo * 2 : 1;
	bool found = false;

	for (; hi <= MODEL_MAX_DOWNTIME_LIMIT_MS * 2; lo = hi, hi *= 2) {
		t.downtime_limit_ms = hi < MODEL_MAX_DOWNTIME_LIMIT_MS ? hi :
									 MODEL_MAX_DOWNTIME_LIMIT_MS;
		simulate(&t, &r);
		if (r.converges) {
			hi = t.downtime_limit_ms;
			found = true;
			break;
		}
		if (t.downtime_limit_ms == MODEL_MAX_DOWNTIME_LIMIT_MS)
			break;
	}
	if (!found)
		return;
	while (hi - lo > 1 && hi - lo > hi / 100) {
		uint32_t mid = lo + (hi - lo) / 2;

		t.downtime_limit_ms = mid;
		simulate(&t, &r);
		if (r.converges)
			hi = mid;
		else
			lo = mid;
	}
	t.downtime_limit_ms = hi;
	simulate(&t, &r);
	out->need_downtime_limit_ms = hi;
	copy_cost(&out->downtime_cost, &r);
}

/* Auto-converge as QEMU runs it: the throttle it reaches, and the cost. */
static void remedy_throttle(const struct model_input *in, struct model_result *out)
{
	struct model_input t = *in;
	struct model_result r;

	if (in->auto_converge)
		return; /* already on, and it did not help */
	t.auto_converge = true;
	simulate(&t, &r);
	if (!r.converges)
		return;
	out->need_throttle_pct = r.throttle_pct;
	copy_cost(&out->throttle_cost, &r);
}

int model_predict(const struct model_input *in, struct model_result *out)
{
	if (!out)
		return -EINVAL;
	if (check_input(in)) {
		memset(out, 0, sizeof(*out));
		out->why = MODEL_WHY_BAD_INPUT;
		return -EINVAL;
	}
	simulate(in, out);
	if (out->converges)
		return 0;
	remedy_bandwidth(in, out);
	if (out->why != MODEL_WHY_NO_BANDWIDTH) {
		remedy_downtime(in, out);
		remedy_throttle(in, out);
	}
	return 0;
}

int model_predict_textbook(const struct model_input *in, struct model_result *out)
{
	struct sim s;
	double v_bytes, b, t_ms = 0, sent = 0;
	uint32_t rounds = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (check_input(in)) {
		out->why = MODEL_WHY_BAD_INPUT;
		return -EINVAL;
	}
	sim_init(&s, in);
	b = s.rate_bytes_per_ms;
	if (b <= 0 || s.link_bytes_per_ms <= 0) {
		out->why = MODEL_WHY_NO_BANDWIDTH;
		out->total_time_ms = (uint64_t)s.max_time_ms;
		return 0;
	}
	v_bytes = bitmap_wire_bytes(&s); /* round 0: all of RAM */
	for (;;) {
		double round_ms, next;

		if (v_bytes <= b * s.downtime_limit_ms) {
			double down_ms = v_bytes / s.link_bytes_per_ms + s.overhead_ms;

			out->converges = true;
			out->downtime_ms = (uint64_t)llround(down_ms);
			out->total_time_ms = (uint64_t)llround(t_ms + down_ms);
			out->bytes_sent = (uint64_t)llround(sent + v_bytes);
			out->rounds = rounds + 1;
			return 0;
		}
		round_ms = v_bytes / b;
		next = fmin(model_curve_pages(s.curve, round_ms), s.wss_pages) * cost_in(&s);
		t_ms += round_ms;
		sent += v_bytes;
		rounds++;
		if (next >= v_bytes || t_ms >= s.max_time_ms)
			break;
		v_bytes = next;
	}
	out->why = MODEL_WHY_DIRTY_FASTER;
	out->total_time_ms = (uint64_t)llround(t_ms);
	out->bytes_sent = (uint64_t)llround(sent);
	out->rounds = rounds;
	return 0;
}
