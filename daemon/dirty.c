// SPDX-License-Identifier: GPL-2.0
/*
 * dirty: each VM's dirty-page curve W(t).  See dirty.h.  This file keeps
 * the table and turns points into figures; dirty_probe.c runs the probes.
 *
 * Where a point comes from.  libvirt's virDomainStartDirtyRateCalc() in
 * page-sampling mode (libvirt-domain.c, "virDomainStartDirtyRateCalc";
 * results in virDomainListGetStats(VIR_DOMAIN_STATS_DIRTYRATE)) makes QEMU
 * (migration/dirtyrate.c, calculate_dirtyrate_sample_vm) hash
 * DIRTYRATE_DEFAULT_SAMPLE_PAGES = 512 random pages per GiB of every RAM
 * block of at least MIN_RAMBLOCK_SIZE (128 MiB), sleep for the period,
 * hash them again and count the pages whose hash changed.  Its figure is
 *	dirty_rate = dirty_samples * block_MiB * 1000 / (samples * msec)
 * in whole MiB/s, msec being the time it actually slept; calc_period is
 * that time in whole seconds.  A page written twice in the window changes
 * its hash once, so rate x period is not a rate at all: it is the distinct
 * pages written in the window, W(period), which is what we keep:
 *	W(t) = megabytes_per_second * calc_period * 2^20 / 4096 pages,
 * with t = calc_period (what QEMU measured, not what we asked).
 *
 * How far to trust it.  The fraction p of sampled pages found changed is a
 * binomial estimate over n = 512 x GiB samples: its standard error is
 * sqrt(p (1 - p) / n), so W's relative error is sqrt((1 - p) / (n p)).  A
 * 256 MiB guest has n = 128 (one sample stands for 2 MiB): a 16 MiB set
 * (p = 1/16) reads with a relative error of 34 %, 17 % once four readings
 * of the window are averaged (n = 512); libvirt lets us ask for no more
 * samples (QEMU's sample-pages is not in its API, and the monitor would
 * taint the domain).  On top of that QEMU rounds the rate down to a whole
 * MiB/s: up to period MiB lost.  A point's confidence is 1 / (1 + that
 * relative error), p taken as at least one sample (nothing seen is not
 * "exactly 0"), times 1 - age / stale age; a stale point is dropped.  The
 * points of migrations (dirty_add_point) are exact: confidence 1, aged.
 *
 * Averaging.  A window's point is the mean of its last DIRTY_READINGS
 * readings that are not stale (n grows with them, so does confidence); a
 * reading more than DIRTY_JUMP_SIGMAS standard errors (plus QEMU's
 * rounding) from that mean restarts the average: the guest changed pace.
 * With 128 samples a 16 MiB set is 8 expected hits, too few to tell from
 * an idle guest in one reading at 3 sigma; hence 2.5.
 *
 * Figures.  Working set: the plateau, the largest W of the two longest
 * windows (W never decreases; the largest is the best guess of the top,
 * biased up by the sampling noise).  It is a lower bound when W still grew
 * by more than a quarter between them.  Rate: W(t_min) / t_min; when
 * W(t_min) is already 80 % of the plateau the shortest window saw the set
 * fill up, and the true rate can be anything above: rate_is_lower_bound.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dirty_int.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* the least relative error a point has in the fit */
#define DIRTY_FIT_MIN_REL_ERR 0.02
/* a point is dropped after 10 probe intervals, or 3 full cycles of windows
 * if those are longer (a window is revisited once per cycle) */
#define DIRTY_STALE_INTERVALS 10
#define DIRTY_STALE_CYCLES 3

struct dirty_state ds;
const uint32_t dirty_windows_libvirt_ms[DIRTY_N_WINDOWS_LIBVIRT] = { 1000, 2000, 4000, 8000 };
/* the QMP probe: down to a tenth of a second, where a fast small set has
 * not yet filled up (QEMU accepts 50 ms .. 60 s) */
const uint32_t dirty_windows_qmp_ms[DIRTY_N_WINDOWS] = { 100, 250, 500, 1000, 2000, 4000, 8000 };

static const char *const source_names[DIRTY_SRC_N] = {
	[DIRTY_SRC_SAMPLING] = "page-sampling",
	[DIRTY_SRC_MIGRATION] = "migration",
	[DIRTY_SRC_KVM_RING] = "dirty-ring",
};

const char *dirty_source_name(enum dirty_source s)
{
	return (unsigned int)s < DIRTY_SRC_N ? source_names[s] : "?";
}

const char *dirty_shape_name(enum dirty_shape s)
{
	switch (s) {
	case DIRTY_SHAPE_SEQUENTIAL:
		return "sequential";
	case DIRTY_SHAPE_RANDOM:
		return "random";
	default:
		return "none";
	}
}

bool dirty_use_qmp(void)
{
	return ds.qmp_wanted && !ds.qmp_refused;
}

uint32_t dirty_n_windows(bool qmp)
{
	return qmp ? DIRTY_N_WINDOWS : DIRTY_N_WINDOWS_LIBVIRT;
}

uint32_t dirty_window_ms(bool qmp, uint32_t idx)
{
	return qmp ? dirty_windows_qmp_ms[idx % DIRTY_N_WINDOWS] :
		     dirty_windows_libvirt_ms[idx % DIRTY_N_WINDOWS_LIBVIRT];
}

/* ---- pure figures ---------------------------------------------------------- */

uint64_t dirty_stale_ns(void)
{
	uint64_t interval_ms = ds.interval_ms, cycle_ms = 0, stale_ms;
	bool qmp = dirty_use_qmp();

	for (uint32_t i = 0; i < dirty_n_windows(qmp); i++) {
		uint64_t w_ms = dirty_window_ms(qmp, i);

		cycle_ms += w_ms > interval_ms ? w_ms : interval_ms;
	}
	stale_ms = DIRTY_STALE_INTERVALS * interval_ms;
	if (stale_ms < DIRTY_STALE_CYCLES * cycle_ms)
		stale_ms = DIRTY_STALE_CYCLES * cycle_ms;
	return stale_ms * 1000000ull / (ds.time_scale ? ds.time_scale : 1);
}

double dirty_aged(double confidence, uint64_t age_ns, uint64_t stale_ns)
{
	if (!stale_ns || age_ns >= stale_ns)
		return 0;
	return confidence * (1 - (double)age_ns / (double)stale_ns);
}

void dirty_derive(struct dirty_info *out, double floor_pages, double max_pages)
{
	struct dirty_fit_point fp[DIRTY_MAX_POINTS];
	struct dirty_fit fit;
	uint32_t n = 0;

	out->rate_bytes_per_s = 0;
	out->rate_is_lower_bound = false;
	out->working_set_bytes = 0;
	out->working_set_is_lower_bound = false;
	out->shape = DIRTY_SHAPE_NONE;
	out->fit_chi2 = 0;
	if (floor_pages < 1)
		floor_pages = 1;
	for (uint32_t i = 0; i < out->nr_points; i++) {
		const struct dirty_point *p = &out->points[i];
		double rel;

		/* a stale point (confidence 0) weighs nothing */
		if (!p->t_ms || p->confidence <= 0)
			continue;
		/* confidence = 1 / (1 + relative error), hence the error back;
		 * an exact point still is a few % off (the round's length) */
		rel = 1 / p->confidence - 1;
		if (rel < DIRTY_FIT_MIN_REL_ERR)
			rel = DIRTY_FIT_MIN_REL_ERR;
		fp[n] = (struct dirty_fit_point){
			.t_s = p->t_ms / 1000.0,
			.pages = (double)p->pages,
			.sigma_pages = rel * ((double)p->pages > floor_pages ? (double)p->pages :
									       floor_pages),
		};
		if (p->src == DIRTY_SRC_SAMPLING) {
			/* QEMU reports whole MiB/s: a window of t s reads W to
			 * within t MiB, which for long windows outweighs the
			 * sampling (4 MiB in 8 s reads 0); uniform rounding
			 * error, variance width^2 / 12 */
			double round_pages = fp[n].t_s * (1 << 20) / DIRTY_PAGE_BYTES;

			fp[n].sigma_pages = sqrt(fp[n].sigma_pages * fp[n].sigma_pages +
						 round_pages * round_pages / 12);
		}
		/* W never decreases with t: a longer window that reads less
		 * than a shorter one is noise, raised to it (its error kept) */
		if (n && fp[n].pages < fp[n - 1].pages)
			fp[n].pages = fp[n - 1].pages;
		n++;
	}
	if (!n || dirty_fit_curve(fp, n, max_pages, &fit))
		return;
	out->shape = fit.shape;
	out->fit_chi2 = fit.chi2;
	out->rate_bytes_per_s = fit.rate_pages_per_s * DIRTY_PAGE_BYTES;
	out->rate_is_lower_bound = fit.rate_is_lower_bound;
	out->working_set_bytes = (uint64_t)(fit.set_pages + 0.5) * DIRTY_PAGE_BYTES;
	out->working_set_is_lower_bound = fit.set_is_lower_bound;
}

/* ---- the table ------------------------------------------------------------- */

struct dirty_vm *dirty_vm_find(const char *uuid)
{
	for (uint32_t i = 0; i < ds.n_vms; i++)
		if (!strcasecmp(ds.vms[i]->uuid, uuid))
			return ds.vms[i];
	return NULL;
}

static struct dirty_vm *vm_add(const struct vm_desc *d)
{
	struct dirty_vm *v;

	if (ds.n_vms == ds.cap_vms) {
		uint32_t cap = ds.cap_vms ? ds.cap_vms * 2 : 16;
		struct dirty_vm **p = realloc(ds.vms, cap * sizeof(struct dirty_vm *));

		if (!p)
			return NULL;
		ds.vms = p;
		ds.cap_vms = cap;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
	snprintf(v->name, sizeof(v->name), "%s", d->name ? d->name : "?");
	v->memory_bytes = d->memory_bytes;
	v->seen = true;
	ds.vms[ds.n_vms++] = v;
	return v;
}

static void vm_free_at(uint32_t i)
{
	struct dirty_vm *v = ds.vms[i];

	dirty_probe_forget(v);
	if (v->probing && ds.probing)
		ds.probing--;
	free(v);
	ds.vms[i] = ds.vms[--ds.n_vms];
}

struct dirty_vm *dirty_vm_get(const char *uuid)
{
	struct dirty_vm *v = dirty_vm_find(uuid);
	const struct store_vm *sv;

	if (v)
		return v;
	sv = store_vm_find(uuid);
	return sv ? vm_add(store_vm_desc(sv)) : NULL;
}

void dirty_vm_sync(void)
{
	for (uint32_t i = 0; i < ds.n_vms; i++)
		ds.vms[i]->seen = false;
	for (const struct store_vm *sv = store_vm_next(NULL); sv; sv = store_vm_next(sv)) {
		const struct vm_desc *d = store_vm_desc(sv);
		struct dirty_vm *v = dirty_vm_find(d->uuid);

		if (!v) {
			v = vm_add(d);
			if (!v) {
				log_err("dirty: out of memory tracking VM '%s'", d->name);
				continue;
			}
		}
		v->seen = true;
		v->memory_bytes = d->memory_bytes;
		snprintf(v->name, sizeof(v->name), "%s", d->name ? d->name : "?");
	}
	/* a VM gone (stopped, migrated away) takes its points with it */
	for (uint32_t i = 0; i < ds.n_vms;) {
		if (!ds.vms[i]->seen)
			vm_free_at(i);
		else
			i++;
	}
}

static uint64_t window_mean(const struct dirty_win *w)
{
	uint64_t sum = 0;

	for (uint32_t k = 0; k < w->n; k++)
		sum += w->r[k].pages;
	return w->n ? sum / w->n : 0;
}

void dirty_vm_reading(struct dirty_vm *v, uint32_t idx, uint32_t t_ms, uint64_t pages,
		      uint32_t sample_pages_per_gib, uint64_t taken_ns)
{
	struct dirty_win *w = &v->win[idx % DIRTY_N_WINDOWS];

	/* another period than before (QEMU overslept) or other samples: the
	 * old readings are of another window; a reading far outside the
	 * noise of the others: the guest changed its pace, and averaging
	 * would only lag */
	if (w->t_ms != t_ms || w->sample_pages_per_gib != sample_pages_per_gib ||
	    (w->n &&
	     dirty_is_jump_at(v->memory_bytes, sample_pages_per_gib, window_mean(w), pages, t_ms)))
		w->n = w->next = 0;
	w->t_ms = t_ms;
	w->sample_pages_per_gib = sample_pages_per_gib;
	w->r[w->next] = (struct dirty_reading){ .pages = pages, .taken_ns = taken_ns };
	w->next = (w->next + 1) % DIRTY_READINGS;
	if (w->n < DIRTY_READINGS)
		w->n++;
	ds.sources_mask |= 1u << DIRTY_SRC_SAMPLING;
}

/* ---- points and figures ------------------------------------------------------ */

/* Insert p in out, sorted by t_ms; one point per t_ms: the more trusted. */
static void put_point(struct dirty_info *out, const struct dirty_point *p)
{
	uint32_t i;

	for (i = 0; i < out->nr_points && out->points[i].t_ms < p->t_ms; i++)
		;
	if (i < out->nr_points && out->points[i].t_ms == p->t_ms) {
		if (p->confidence > out->points[i].confidence)
			out->points[i] = *p;
		return;
	}
	if (out->nr_points == DIRTY_MAX_POINTS)
		return;
	memmove(&out->points[i + 1], &out->points[i], (out->nr_points - i) * sizeof(*p));
	out->points[i] = *p;
	out->nr_points++;
}

static void fill(const struct dirty_vm *v, struct dirty_info *out)
{
	uint64_t now_ns = util_monotonic_ns(), stale_ns = dirty_stale_ns();
	uint32_t floor_spg = 0;
	double n_samples;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < dirty_n_windows(v->win_qmp); i++) {
		const struct dirty_win *w = &v->win[i];
		struct dirty_point p = { .t_ms = w->t_ms, .src = DIRTY_SRC_SAMPLING };
		uint64_t sum = 0;

		for (uint32_t k = 0; k < w->n; k++) {
			if (now_ns - w->r[k].taken_ns >= stale_ns)
				continue;
			sum += w->r[k].pages;
			p.readings++;
			if (w->r[k].taken_ns > p.taken_ns)
				p.taken_ns = w->r[k].taken_ns;
		}
		if (!p.readings)
			continue;
		p.pages = (sum + p.readings / 2) / p.readings;
		p.confidence = dirty_aged(dirty_sampling_confidence_at(p.pages, v->memory_bytes,
								       p.readings,
								       w->sample_pages_per_gib),
					  now_ns - p.taken_ns, stale_ns);
		put_point(out, &p);
		if (!floor_spg || w->sample_pages_per_gib < floor_spg)
			floor_spg = w->sample_pages_per_gib;
	}
	for (uint32_t i = 0; i < v->n_mig; i++) {
		struct dirty_point p = v->mig[i];
		uint64_t age_ns = now_ns > p.taken_ns ? now_ns - p.taken_ns : 0;

		if (age_ns >= stale_ns)
			continue;
		p.confidence = dirty_aged(p.confidence, age_ns, stale_ns);
		put_point(out, &p);
	}
	for (uint32_t i = 0; i < out->nr_points; i++)
		if (out->points[i].taken_ns > out->newest_ns)
			out->newest_ns = out->points[i].taken_ns;
	/* one sample's worth of pages: the least error of a sampled point */
	n_samples = (double)dirty_samples_at(v->memory_bytes, floor_spg);
	dirty_derive(out,
		     n_samples >= 1 ? ((double)v->memory_bytes / DIRTY_PAGE_BYTES) / n_samples : 1,
		     ((double)v->memory_bytes / DIRTY_PAGE_BYTES));
	out->probing = v->probing;
	out->migrating = v->migrating;
	out->probes_ok = v->probes_ok;
	out->probes_failed = v->probes_failed;
	out->probes_busy = v->probes_busy;
}

int dirty_get(const char *uuid, struct dirty_info *out)
{
	const struct dirty_vm *v = ds.inited && uuid ? dirty_vm_get(uuid) : NULL;

	if (!v) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	fill(v, out);
	return out->nr_points ? 0 : -ENODATA;
}

int dirty_curve(const char *uuid, struct model_curve *out)
{
	struct dirty_info info;
	int err = dirty_get(uuid, &info);

	if (model_curve_init(out, DIRTY_PAGE_BYTES))
		return -EINVAL;
	if (err)
		return err;
	for (uint32_t i = 0; i < info.nr_points; i++) {
		if (!info.points[i].t_ms)
			continue;
		err = model_curve_add(out, info.points[i].t_ms, info.points[i].pages);
		if (err)
			return err;
	}
	return 0;
}

int dirty_add_point(const char *uuid, enum dirty_source src, uint32_t t_ms, uint64_t pages,
		    uint64_t taken_ns)
{
	struct dirty_vm *v;
	uint32_t slot = 0;

	if (!uuid || (unsigned int)src >= DIRTY_SRC_N || !t_ms)
		return -EINVAL;
	v = ds.inited ? dirty_vm_get(uuid) : NULL;
	if (!v)
		return -ENOENT;
	/* the newest per window length; full: the oldest goes */
	for (slot = 0; slot < v->n_mig && v->mig[slot].t_ms != t_ms; slot++)
		;
	if (slot == v->n_mig && v->n_mig == DIRTY_MIG_POINTS) {
		slot = 0;
		for (uint32_t i = 1; i < v->n_mig; i++)
			if (v->mig[i].taken_ns < v->mig[slot].taken_ns)
				slot = i;
	} else if (slot == v->n_mig) {
		v->n_mig++;
	}
	v->mig[slot] = (struct dirty_point){
		.t_ms = t_ms,
		.pages = pages,
		.taken_ns = taken_ns ? taken_ns : util_monotonic_ns(),
		.confidence = 1,
		.src = src,
		.readings = 1,
	};
	ds.sources_mask |= 1u << src;
	ds.points_added++;
	return 0;
}

void dirty_migration_begin(const char *uuid)
{
	struct dirty_vm *v = ds.inited && uuid ? dirty_vm_get(uuid) : NULL;

	if (v)
		v->migrating = true;
}

void dirty_migration_end(const char *uuid)
{
	struct dirty_vm *v = ds.inited && uuid ? dirty_vm_find(uuid) : NULL;

	if (!v)
		return;
	v->migrating = false;
	/* the guest's pace just changed (throttled, moved): measure afresh
	 * soon, but not before an interval has passed */
	v->win_idx = 0;
}

void dirty_stats(struct dirty_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->enabled = ds.enabled;
	out->interval_ms = ds.interval_ms;
	out->budget = ds.budget;
	out->probing = ds.probing;
	out->vms = ds.n_vms;
	out->sources_mask = ds.sources_mask;
	out->sampling_state = !ds.enabled	  ? "off" :
			      ds.sampling_failing ? "failing" :
			      ds.sampling_worked  ? "works" :
						    "untested";
	out->qmp_state = !ds.qmp_wanted ? "off" :
			 ds.qmp_refused ? "refused" :
			 ds.qmp_worked	? "works" :
					  "untested";
	out->probes_started = ds.probes_started;
	out->probes_ok = ds.probes_ok;
	out->probes_failed = ds.probes_failed;
	out->probes_busy = ds.probes_busy;
	out->points_added = ds.points_added;
}

int dirty_init(void)
{
	const struct tide_conf *c = conf_get();
	uint64_t gen = ds.gen;
	int err;

	if (ds.inited)
		return -EALREADY;
	memset(&ds, 0, sizeof(ds));
	ds.gen = gen + 1;
	ds.time_scale = 1;
	ds.inited = true;
	err = dirty_probe_init(c && c->libvirt_uri ? c->libvirt_uri : TIDE_DEFAULT_LIBVIRT_URI);
	if (err) {
		ds.inited = false;
		return err;
	}
	return 0;
}

void dirty_fini(void)
{
	if (!ds.inited)
		return;
	dirty_probe_fini();
	while (ds.n_vms)
		vm_free_at(0);
	free(ds.vms);
	ds.vms = NULL;
	ds.cap_vms = 0;
	ds.inited = false;
}
