// SPDX-License-Identifier: GPL-2.0
/*
 * model_curve: the dirty-page curve W(t) the model reads: distinct pages a
 * guest writes in a window of length t.  Its slope at small t is the dirty
 * rate, its plateau the writable working set; its shape in between is the
 * access pattern, which a single rate cannot tell (a guest rewriting a
 * 32 MiB buffer at 100 MiB/s never has more than 32 MiB dirty).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "model.h"

int model_curve_init(struct model_curve *c, uint32_t page_bytes)
{
	if (!c || !page_bytes)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->page_bytes = page_bytes;
	return 0;
}

int model_curve_add(struct model_curve *c, uint32_t t_ms, uint64_t pages)
{
	if (!c || !t_ms)
		return -EINVAL;
	if (c->nr_points && t_ms <= c->points[c->nr_points - 1].t_ms)
		return -EINVAL;
	if (c->nr_points >= MODEL_CURVE_MAX_POINTS)
		return -ENOSPC;
	/* a sampled W that dips is noise: the distinct pages of a longer
	 * window include those of every shorter one inside it */
	if (c->nr_points && pages < c->points[c->nr_points - 1].pages)
		pages = c->points[c->nr_points - 1].pages;
	c->points[c->nr_points].t_ms = t_ms;
	c->points[c->nr_points].pages = pages;
	c->nr_points++;
	return 0;
}

static int check_shape(struct model_curve *c, uint32_t page_bytes, uint64_t rate_bytes_per_s,
		       uint64_t wss_bytes)
{
	int err = model_curve_init(c, page_bytes);

	if (err)
		return err;
	/* no writes, or nowhere to write: W = 0 everywhere */
	if (!rate_bytes_per_s || wss_bytes < page_bytes)
		return 1;
	return 0;
}

int model_curve_sequential(struct model_curve *c, uint32_t page_bytes, uint64_t rate_bytes_per_s,
			   uint64_t wss_bytes)
{
	uint64_t wss_pages;
	double fill_ms;
	int err;

	err = check_shape(c, page_bytes, rate_bytes_per_s, wss_bytes);
	if (err)
		return err < 0 ? err : 0;
	wss_pages = wss_bytes / page_bytes;
	/* two points are exact: the ramp to the corner, then the plateau */
	fill_ms = ceil((double)wss_bytes * 1000.0 / (double)rate_bytes_per_s);
	if (fill_ms < 1)
		fill_ms = 1;
	if (fill_ms > UINT32_MAX / 2)
		fill_ms = UINT32_MAX / 2;
	err = model_curve_add(c, (uint32_t)fill_ms, wss_pages);
	if (!err)
		err = model_curve_add(c, (uint32_t)fill_ms * 2, wss_pages);
	return err;
}

int model_curve_random(struct model_curve *c, uint32_t page_bytes, uint64_t rate_bytes_per_s,
		       uint64_t wss_bytes)
{
	const uint32_t n = MODEL_CURVE_MAX_POINTS;
	double tau_ms, t_end_ms, t_prev = 0;
	uint64_t wss_pages;
	int err;

	err = check_shape(c, page_bytes, rate_bytes_per_s, wss_bytes);
	if (err)
		return err < 0 ? err : 0;
	wss_pages = wss_bytes / page_bytes;
	/* time constant wss / rate; at 12 tau W is within 1e-5 of wss */
	tau_ms = (double)wss_bytes * 1000.0 / (double)rate_bytes_per_s;
	t_end_ms = 12 * tau_ms;
	if (t_end_ms > UINT32_MAX / 2)
		t_end_ms = UINT32_MAX / 2;
	/* denser where the curve bends most (small t): t_k grows as k^2, so
	 * the chords stay within about 1 % of the exponential */
	for (uint32_t k = 1; k <= n; k++) {
		double t = t_end_ms * ((double)k / n) * ((double)k / n);
		double pages;

		t = ceil(t);
		if (t <= t_prev)
			continue;
		pages = (double)wss_pages * -expm1(-t / tau_ms);
		if (k == n)
			pages = (double)wss_pages;
		err = model_curve_add(c, (uint32_t)t, (uint64_t)llround(pages));
		if (err)
			return err;
		t_prev = t;
	}
	return 0;
}

double model_curve_pages(const struct model_curve *c, double t_ms)
{
	double t0 = 0, w0 = 0;

	if (!c || !c->nr_points || t_ms <= 0)
		return 0;
	for (uint32_t i = 0; i < c->nr_points; i++) {
		double t1 = c->points[i].t_ms, w1 = (double)c->points[i].pages;

		if (t_ms <= t1)
			return w0 + (w1 - w0) * (t_ms - t0) / (t1 - t0);
		t0 = t1;
		w0 = w1;
	}
	return w0;
}

uint64_t model_curve_wss_pages(const struct model_curve *c)
{
	if (!c || !c->nr_points)
		return 0;
	return c->points[c->nr_points - 1].pages;
}

double model_curve_rate_pages_per_s(const struct model_curve *c)
{
	if (!c || !c->nr_points)
		return 0;
	return (double)c->points[0].pages * 1000.0 / c->points[0].t_ms;
}
