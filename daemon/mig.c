// SPDX-License-Identifier: GPL-2.0
/*
 * mig: the record of every migration of this host's domains.  See mig.h;
 * the record and its file are in mig_record.c.
 *
 * What libvirt 11.3 emits (seen on the testbed, `virsh event --all` on both
 * hosts of a `virsh migrate --live --p2p --bandwidth 32`, QEMU 10.0):
 *   source:      migration-iteration 1 (at the start: QEMU's setup sync),
 *                2, 3, 4 (one per dirty-bitmap sync), lifecycle
 *                Suspended/Migrated (switch-over), migration-iteration 5
 *                (the final sync, guest stopped), Stopped/Migrated, then
 *                job-completed with the whole job's statistics (operation
 *                5 = migration out, time_elapsed, downtime, memory_*,
 *                data_*, memory_iteration 5);
 *   destination: Started/Migrated at the start, Resumed/Migrated at the
 *                end, and no job-completed event: its figures are read
 *                with virDomainGetJobStats(VIR_DOMAIN_JOB_STATS_COMPLETED).
 * A failed or cancelled job sends no job-completed event: the poll finds
 * the job gone and asks for the completed job's statistics, whose type
 * (failed, cancelled) and errmsg say how it ended.
 *
 * So a migration out starts at its first migration-iteration event (or at
 * Suspended/Migrated if that was missed), is polled every MIG_POLL_MS
 * through vconn (virDomainGetJobStats), and ends at job-completed, or when
 * a poll finds the job over.  An incoming one starts at Started/Migrated
 * and ends at Resumed/Migrated (completed) or a stop (failed).
 *
 * Dirty points.  QEMU's migration/ram.c, migration_bitmap_sync() (QEMU
 * 10.0): at each sync, ramblock_sync_dirty_bitmap() moves the pages KVM /
 * TCG logged as dirtied since the previous sync into the migration bitmap
 * (cpu_physical_memory_sync_dirty_bitmap(): it counts, as new_dirty_pages,
 * the bits it sets that were clear), then records ram_bytes_remaining()
 * as dirty_bytes_last_sync, and sends MIGRATION_PASS (libvirt's
 * migration-iteration).  memory_remaining just after sync n is therefore
 * the pages still to send: those dirtied, each counted once, during the
 * pass between sync n-1 and sync n, which is W(t) for t = the time between
 * the two syncs, plus what pass n-1 had not sent yet when the sync came
 * (QEMU syncs when its estimate of the pending bytes falls below bandwidth
 * x downtime limit, not at zero; migration.c, migration_iteration_run()).
 * Approximations, all said in the record (pass.fed):
 *   - the leftover of the previous pass is estimated from the last poll
 *     before the sync, less what the link sent until the sync (memory_bps
 *     x time), and subtracted; what the guest re-dirtied among those unsent
 *     pages is not new to the bitmap, so W is slightly underestimated;
 *   - a poll comes up to MIG_POLL_MS after the sync: what was sent since
 *     (memory_bps x time, capped by memory_processed's growth) is added
 *     back;
 *   - the window is the time between the two migration-iteration events
 *     as the loop received them (a few ms late, alike for both);
 *   - the bulk pass (pass 1) is not fed: every page starts dirty in the
 *     bitmap, so a page written before it was sent counts nowhere and
 *     W would come out far too low; nor is a pass that ended after the
 *     switch-over (the guest was stopped for part of it), nor one whose
 *     two syncs were not both seen as events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "ctl.h"
#include "dirty.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "mig_int.h"
#include "mig_record.h"
#include "model.h"
#include "peer.h"
#include "predict.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

struct mig_state mig_st;

/* ---- the active migrations (loop) ------------------------------------------ */

struct mig_active *mig_act_find(const char *uuid)
{
	for (struct mig_active *a = mig_st.act; a; a = a->next)
		if (strcasecmp(a->rec->uuid, uuid) == 0)
			return a;
	return NULL;
}

void mig_save(void)
{
	char err[MIG_ERR_BYTES];
	int ret;

	if (!mig_st.persist || !mig_st.state_dir)
		return;
	ret = mig_history_save(&mig_st.h, mig_st.state_dir, err, sizeof(err));
	if (ret && ret != mig_st.last_save_err)
		log_warn("%s; migration records are kept in memory meanwhile", err);
	else if (!ret && mig_st.last_save_err)
		log_notice("migration records written to '%s' again", mig_st.state_dir);
	mig_st.last_save_err = ret;
}

static uint32_t history_max(void)
{
	const struct tide_conf *c = conf_get();

	return c && c->migration_history ? c->migration_history : 100;
}

static void on_poll_timer(void *arg)
{
	mig_poll_now(arg);
}

/* Take the destination a driver announced for uuid, if any. */
static void take_expected(const char *uuid, char *dest, size_t dest_bytes)
{
	for (size_t i = 0; i < mig_st.n_expect; i++) {
		if (strcasecmp(mig_st.expect[i].uuid, uuid) == 0) {
			snprintf(dest, dest_bytes, "%s", mig_st.expect[i].dest);
			mig_st.expect[i] = mig_st.expect[--mig_st.n_expect];
			return;
		}
	}
}

static struct mig_active *act_begin(const char *uuid, const char *name, enum mig_dir dir,
				    uint64_t now_ns, const struct mig_known *k)
{
	struct mig_active *a = calloc(1, sizeof(*a));
	struct mig_record *r = mig_record_new();

	if (!a || !r || mig_history_add(&mig_st.h, r, history_max())) {
		log_err("out of memory recording the migration of domain '%s' (%s)", name, uuid);
		free(a);
		mig_record_free(r);
		return NULL;
	}
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	snprintf(r->domain, sizeof(r->domain), "%s", name ? name : "");
	r->dir = dir;
	r->result = MIG_RUNNING;
	if (k)
		r->driven = k->driven;
	r->start_realtime_ms = util_clock_ns(CLOCK_REALTIME) / 1000000;
	if (k && k->dest)
		snprintf(r->peer, sizeof(r->peer), "%s", k->dest);
	else if (dir == MIG_DIR_OUT)
		take_expected(uuid, r->peer, sizeof(r->peer));
	a->rec = r;
	a->start_mono_ns = now_ns;
	a->next = mig_st.act;
	mig_st.act = a;
	dirty_migration_begin(uuid);
	log_info("migration %llu: domain '%s' (%s) %s %s started", (unsigned long long)r->id,
		 r->domain, uuid, dir == MIG_DIR_OUT ? "to" : "from", r->peer);
	if (dir == MIG_DIR_OUT) {
		if (k)
			mig_start_known(a, k);
		else
			mig_start_params(a);
		if (mig_st.vc && loop_add_periodic(MIG_POLL_MS, 0, on_poll_timer, a, &a->poll_timer)) {
			log_warn("cannot arm the poll of migration %llu; its passes are not followed",
				 (unsigned long long)r->id);
			a->poll_timer = 0;
		}
	} else {
		snprintf(r->prediction_error, sizeof(r->prediction_error),
			 "an incoming migration: the source predicts it");
	}
	mig_save();
	return a;
}

struct mig_active *mig_act_begin(const char *uuid, const char *name, enum mig_dir dir, uint64_t now_ns)
{
	return act_begin(uuid, name, dir, now_ns, NULL);
}

struct mig_active *mig_act_begin_known(const char *uuid, const char *name, uint64_t now_ns,
				       const struct mig_known *k)
{
	return act_begin(uuid, name, MIG_DIR_OUT, now_ns, k);
}

static void act_unlink(struct mig_active *a)
{
	for (struct mig_active **pp = &mig_st.act; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	if (a->poll_timer > 0)
		loop_remove_timer(a->poll_timer);
	if (a->end_timer > 0)
		loop_remove_timer(a->end_timer);
	free(a);
}

/* A completed migration to a known destination teaches its calibration;
 * pending_bytes: what was left for the stop-and-copy phase. */
static void calibrate(const struct mig_record *r, uint64_t pending_bytes)
{
	const struct tide_conf *c = conf_get();
	struct model_calib_sample s = { 0 };
	struct model_calib cal;
	char err[MIG_ERR_BYTES];
	int ret;

	if (r->dir != MIG_DIR_OUT || r->result != MIG_COMPLETED || !r->has_actual ||
	    strcmp(r->peer, MIG_UNKNOWN_HOST) == 0 || !mig_st.state_dir)
		return;
	s.link_bytes_per_s = c ? (uint64_t)c->link_bandwidth_mib_s << 20 : 0;
	s.bandwidth_bytes_per_s = r->bandwidth_bytes_per_s ? r->bandwidth_bytes_per_s :
							     s.link_bytes_per_s;
	s.downtime_ms = r->act.downtime_ms;
	s.downtime_bytes = pending_bytes;
	/*
	 * The overhead is what the model misses: the downtime beyond the
	 * stop-and-copy bytes the model itself predicted for this migration
	 * (its final_pending_bytes), when it made a prediction.  The last sync
	 * tided saw is often much earlier than QEMU's switch-over check, so
	 * its remaining bytes undercount what the stopped guest sent, and an
	 * overhead learnt from them is then added on top of the model's own
	 * final pages: twice the same milliseconds (predicted 128 ms for an
	 * idle guest that stopped for 49 on the testbed).
	 */
	if (r->has_prediction && r->prediction) {
		struct json_object *v;

		if (json_object_object_get_ex(r->prediction, "final_pending_bytes", &v) &&
		    json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
			s.downtime_bytes = (uint64_t)json_object_get_int64(v);
	}
	s.precopy_ms = r->act.time_elapsed_ms > r->act.downtime_ms + r->act.setup_time_ms ?
			       r->act.time_elapsed_ms - r->act.downtime_ms - r->act.setup_time_ms :
			       0;
	s.precopy_bytes = r->act.data_processed_bytes > s.downtime_bytes ?
				  r->act.data_processed_bytes - s.downtime_bytes :
				  0;
	ret = model_calib_load(mig_st.state_dir, r->peer, &cal, err, sizeof(err));
	if (ret && ret != -ENOENT) {
		log_warn("%s; calibration of '%s' starts again", err, r->peer);
		model_calib_init(&cal);
	}
	if (model_calib_update(&cal, &s)) {
		log_debug("migration %llu to '%s' teaches the calibration nothing (no bandwidth "
			  "or no pre-copy time)",
			  (unsigned long long)r->id, r->peer);
		return;
	}
	if (model_calib_save(mig_st.state_dir, r->peer, &cal, err, sizeof(err)))
		log_warn("%s", err);
}

static void fill_actual(struct mig_record *r, const struct mig_stats *st)
{
	r->has_actual = true;
	r->act.time_elapsed_ms = st->time_elapsed_ms;
	r->act.downtime_ms = st->downtime_ms;
	r->act.setup_time_ms = st->setup_time_ms;
	r->act.data_total_bytes = st->data_total;
	r->act.data_processed_bytes = st->data_processed;
	r->act.memory_total_bytes = st->memory_total;
	r->act.memory_processed_bytes = st->memory_processed;
	r->act.memory_bps = st->memory_bps;
	r->act.iterations = (uint32_t)st->memory_iteration;
}

/* A migration whose destination libvirt did not name (virsh's). */
struct locate_ctx {
	uint64_t gen, id, pending_bytes;
};

static void on_located(const char *peer, void *arg)
{
	struct locate_ctx *l = arg;
	struct mig_record *r;

	if (!mig_st.inited || l->gen != mig_st.gen)
		goto cleanup;
	r = mig_history_find(&mig_st.h, l->id);
	if (!r || strcmp(r->peer, MIG_UNKNOWN_HOST) != 0)
		goto cleanup;
	if (!peer) {
		log_info("migration %llu: no configured peer runs domain '%s' now: its destination "
			 "stays unknown and teaches no calibration",
			 (unsigned long long)r->id, r->domain);
		goto cleanup;
	}
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	log_info("migration %llu: domain '%s' now runs on peer '%s', its destination",
		 (unsigned long long)r->id, r->domain, peer);
	calibrate(r, l->pending_bytes);
	mig_save();
cleanup:
	free(l);
}

/* Ask the peers where a completed migration went. */
static void locate_dest(const struct mig_active *a)
{
	struct locate_ctx *l = calloc(1, sizeof(*l));

	if (!l)
		return;
	l->gen = mig_st.gen;
	l->id = a->rec->id;
	l->pending_bytes = a->last_pending_bytes;
	if (peer_locate(a->rec->uuid, on_located, l))
		free(l);
}

/* The end: st is the finished job's statistics (NULL: none to be had). */
void mig_act_end(struct mig_active *a, enum mig_result result, const struct mig_stats *st,
		 const char *why)
{
	struct mig_record *r = a->rec;
	const char *drive_why = a->drive ? mig_drive_ending(a) : NULL;

	if (drive_why && *drive_why)
		why = drive_why;
	/* libvirt calls a job it was asked to abort failed */
	if (a->drive && a->drive->aborting && result == MIG_FAILED)
		result = MIG_CANCELLED;
	if (st)
		fill_actual(r, st);
	r->result = result;
	r->end_realtime_ms = util_clock_ns(CLOCK_REALTIME) / 1000000;
	if (why && *why)
		snprintf(r->error, sizeof(r->error), "%s", why);
	dirty_migration_end(r->uuid);
	if (r->dir == MIG_DIR_OUT && result == MIG_COMPLETED && !strcmp(r->peer, MIG_UNKNOWN_HOST))
		locate_dest(a);
	else
		calibrate(r, a->last_pending_bytes);
	mig_history_account(&mig_st.h, r);
	if (a->drive)
		mig_drive_ended(a);
	if (result == MIG_COMPLETED)
		log_info("migration %llu: domain '%s' %s %s completed: %llu ms, downtime %llu ms, "
			 "%llu bytes, %u iterations",
			 (unsigned long long)r->id, r->domain, r->dir == MIG_DIR_OUT ? "to" : "from",
			 r->peer, (unsigned long long)r->act.time_elapsed_ms,
			 (unsigned long long)r->act.downtime_ms,
			 (unsigned long long)r->act.data_processed_bytes, r->act.iterations);
	else
		log_warn("migration %llu: domain '%s' %s %s %s: %s", (unsigned long long)r->id,
			 r->domain, r->dir == MIG_DIR_OUT ? "to" : "from", r->peer,
			 mig_result_name(result), r->error[0] ? r->error : "no reason given");
	act_unlink(a);
	mig_history_trim(&mig_st.h, history_max());
	mig_save();
}

static struct mig_sync *sync_of(struct mig_active *a, uint32_t iteration)
{
	for (int i = 0; i < MIG_SYNC_RING; i++)
		if (a->syncs[i].iteration == iteration && a->syncs[i].at_ns)
			return &a->syncs[i];
	return NULL;
}

void mig_note_sync(struct mig_active *a, uint32_t iteration, uint64_t now_ns)
{
	struct mig_sync *s = &a->syncs[iteration % MIG_SYNC_RING];

	if (sync_of(a, iteration))
		return; /* the first word of it is the closest to the sync */
	s->iteration = iteration;
	s->at_ns = now_ns;
}

static uint64_t bytes_in(uint64_t bytes_per_s, uint64_t ns)
{
	return (uint64_t)((double)bytes_per_s * (double)ns / 1e9);
}

/*
 * A poll of a running migration: a sync since the last one ended a pass.
 * The math is in the note at the top.
 */
static void apply_poll(struct mig_active *a, const struct mig_stats *st, uint64_t now_ns)
{
	struct mig_record *r = a->rec;
	uint32_t it = (uint32_t)st->memory_iteration;
	uint64_t page = st->memory_page_size ? st->memory_page_size : 4096;

	/* the poll overtook the sync's event: wait for it (it polls again),
	 * or the pass would have no window */
	if (it == a->seen_iteration + 1 && a->seen_iteration >= 1 && !sync_of(a, it))
		return;
	if (it > a->seen_iteration && a->seen_iteration >= 1 && it >= 2) {
		const struct mig_sync *end = sync_of(a, it), *begin = sync_of(a, it - 1);
		struct mig_pass p = { .pass = it - 1,
				      .remaining_bytes = st->memory_remaining,
				      .dirty_rate_pages_per_s = st->memory_dirty_rate,
				      .bps = st->memory_bps };
		bool exact = end && begin && end->at_ns > begin->at_ns && it == a->seen_iteration + 1;
		uint64_t at_sync = st->memory_remaining, leftover = 0;

		if (exact) {
			uint64_t sent = bytes_in(st->memory_bps,
						 now_ns > end->at_ns ? now_ns - end->at_ns : 0);

			if (a->have_prev && st->memory_processed >= a->prev_processed &&
			    sent > st->memory_processed - a->prev_processed)
				sent = st->memory_processed - a->prev_processed;
			at_sync += sent;
			if (a->have_prev && a->prev_poll_ns <= end->at_ns) {
				uint64_t drained = bytes_in(st->memory_bps,
							    end->at_ns - a->prev_poll_ns);

				leftover = a->prev_remaining > drained ? a->prev_remaining - drained :
									 0;
			}
			if (leftover > at_sync)
				leftover = at_sync;
			p.duration_ms = (end->at_ns - begin->at_ns) / 1000000;
			p.dirty_pages = (at_sync - leftover) / page;
		} else if (begin && end && end->at_ns > begin->at_ns) {
			p.duration_ms = (end->at_ns - begin->at_ns) / 1000000;
		}
		a->last_pending_bytes = at_sync;
		/* the bulk pass, one the guest was stopped in, and inexact ones
		 * are kept in the record but not fed (see the note at the top) */
		p.fed = exact && p.pass >= 2 && p.duration_ms >= 1 &&
			!(a->suspended_ns && a->suspended_ns <= end->at_ns);
		if (p.fed) {
			int err = dirty_add_point(r->uuid, DIRTY_SRC_MIGRATION,
						  (uint32_t)p.duration_ms, p.dirty_pages, end->at_ns);

			if (err) {
				log_debug("migration %llu: the dirty estimator refused pass %u: %s",
					  (unsigned long long)r->id, p.pass, strerror(-err));
				p.fed = false;
			}
		}
		if (mig_record_add_pass(r, &p))
			log_warn("migration %llu: out of memory keeping pass %u",
				 (unsigned long long)r->id, p.pass);
	}
	if (it > a->seen_iteration)
		a->seen_iteration = it;
	a->have_prev = true;
	a->prev_remaining = st->memory_remaining;
	a->prev_processed = st->memory_processed;
	a->prev_poll_ns = now_ns;
}

enum mig_result mig_result_of(int type)
{
	switch (type) {
	case VIR_DOMAIN_JOB_COMPLETED:
		return MIG_COMPLETED;
	case VIR_DOMAIN_JOB_CANCELLED:
		return MIG_CANCELLED;
	default:
		return MIG_FAILED;
	}
}

void mig_on_end_wait(void *arg)
{
	struct mig_active *a = arg;

	a->end_timer = 0;
	mig_act_end(a, MIG_COMPLETED, NULL,
		    "the domain left with the migration, but libvirt sent no job statistics");
}

/*
 * What a poll found.  gone: the domain is no longer on this host; st: the
 * running job (type NONE when over), done: the job that just ended.
 */
void mig_poll_result(struct mig_active *a, bool gone, const struct mig_stats *st,
		     const struct mig_stats *done, uint64_t now_ns)
{
	char why[MIG_ERR_BYTES];

	/* a migration tide starts has its record before libvirt's job: until
	 * the job shows, or the call that starts it returns, no job is news */
	if (a->drive && !a->job_seen && !gone && st->type == VIR_DOMAIN_JOB_NONE &&
	    (!done || done->type == VIR_DOMAIN_JOB_NONE))
		return;
	if (st->type != VIR_DOMAIN_JOB_NONE)
		a->job_seen = true;
	if (gone || st->type == VIR_DOMAIN_JOB_NONE) {
		if (!gone && done && done->type != VIR_DOMAIN_JOB_NONE) {
			mig_act_end(a, mig_result_of(done->type), done, done->errmsg);
			return;
		}
		if (a->stopped_migrated) {
			/* job-completed is on its way */
			return;
		}
		if (gone) {
			snprintf(why, sizeof(why), "domain '%s' went away during its migration",
				 a->rec->domain);
			mig_act_end(a, MIG_FAILED, NULL, why);
			return;
		}
		mig_act_end(a, MIG_FAILED, NULL,
			    "the migration job ended and libvirt kept no statistics of it");
		return;
	}
	apply_poll(a, st, now_ns);
	if (a->drive)
		mig_drive_progress(a, st, now_ns);
}

/* ---- life ---------------------------------------------------------------------- */

int mig_expect(const char *uuid, const char *dest)
{
	size_t i;

	if (!uuid || !dest || !*dest || strlen(dest) >= MIG_HOST_BYTES ||
	    strlen(uuid) >= VM_UUID_BYTES)
		return -EINVAL;
	for (i = 0; i < mig_st.n_expect; i++)
		if (strcasecmp(mig_st.expect[i].uuid, uuid) == 0)
			break;
	if (i == mig_st.n_expect) {
		if (mig_st.n_expect == MIG_EXPECT_MAX)
			return -ENOSPC;
		mig_st.n_expect++;
	}
	snprintf(mig_st.expect[i].uuid, sizeof(mig_st.expect[i].uuid), "%s", uuid);
	snprintf(mig_st.expect[i].dest, sizeof(mig_st.expect[i].dest), "%s", dest);
	return 0;
}

static void load_history(void)
{
	char err[MIG_ERR_BYTES] = "";
	int ret = mig_history_load(&mig_st.h, mig_st.state_dir, err, sizeof(err));

	mig_st.persist = true;
	if (ret == 0) {
		log_info("%zu migration records read from '%s/%s'", mig_st.h.n, mig_st.state_dir,
			 MIG_FILE_NAME);
		mig_history_trim(&mig_st.h, history_max());
		return;
	}
	if (ret == -ENOENT)
		return;
	log_warn("%s; starting a new history", err);
	/* a file neither read nor set aside must not be overwritten */
	if (ret != -EINVAL)
		mig_st.persist = false;
}

static void clear_state(void)
{
	uint64_t gen = mig_st.gen;

	memset(&mig_st, 0, sizeof(mig_st));
	mig_st.gen = gen + 1;
	mig_history_init(&mig_st.h);
}

int mig_init(void)
{
	const struct tide_conf *c = conf_get();
	struct vconn_opts vo = {
		.setup = mig_setup_events,
		.teardown = mig_teardown_events,
		.on_state = mig_on_conn_state,
	};
	int err;

	if (mig_st.inited)
		return -EALREADY;
	clear_state();
	mig_st.uri = strdup(c && c->libvirt_uri ? c->libvirt_uri : TIDE_DEFAULT_LIBVIRT_URI);
	mig_st.state_dir = c && c->state_dir ? strdup(c->state_dir) : NULL;
	if (!mig_st.uri || (c && c->state_dir && !mig_st.state_dir)) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (mig_st.state_dir)
		load_history();
	mig_st.inited = true;
	err = mig_ctl_register();
	if (err) {
		log_err("cannot register the migration commands: %s", strerror(-err));
		goto cleanup;
	}
	vo.uri = mig_st.uri;
	vo.call_timeout_ms = c ? c->libvirt_call_timeout_ms : 0;
	vo.reconnect_max_ms = c ? c->libvirt_reconnect_max_ms : 0;
	err = vconn_open(&vo, &mig_st.vc);
	if (err) {
		log_err("cannot set up the libvirt connection to '%s' for migration records: %s",
			mig_st.uri, strerror(-err));
		goto cleanup;
	}
	return 0;
cleanup:
	mig_ctl_unregister();
	mig_history_clear(&mig_st.h);
	free(mig_st.uri);
	free(mig_st.state_dir);
	clear_state();
	return err;
}

void mig_fini(void)
{
	if (!mig_st.inited)
		return;
	/* still running: saved as such, read back as "lost" */
	mig_drive_fini();
	while (mig_st.act) {
		struct mig_active *a = mig_st.act;

		dirty_migration_end(a->rec->uuid);
		act_unlink(a);
	}
	mig_save();
	mig_st.inited = false;
	mig_ctl_unregister();
	if (mig_st.vc)
		vconn_close(mig_st.vc);
	mig_history_clear(&mig_st.h);
	free(mig_st.uri);
	free(mig_st.state_dir);
	clear_state();
}
