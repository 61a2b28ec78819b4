// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_fit: the dirty-page curve W(t) fitted to noisy points.  Pure; see
 * the design note of dirty.c.
 *
 * Two shapes, the extremes of how a guest rewrites a set of S pages at r
 * pages per second:
 *   sequential (a ring over the set):	W(t) = min(r t, S)
 *   uniform random over the set:	W(t) = S (1 - exp(-r t / S))
 * Both have slope r at t = 0 and plateau S; any real guest lies between.
 * Each is fitted by weighted least squares (weight 1 / sigma^2 per point):
 * a coarse grid over log r x log S, then a pattern search in log space;
 * the shape with the smaller chi^2 wins.  Two parameters, at most
 * DIRTY_MAX_POINTS points: a few thousand evaluations, nothing to tune.
 *
 * What the points cannot say.  When the fitted curve is already at 80 %
 * of its plateau at the shortest window, any larger r fits as well: the
 * rate is only known to be at least W(t_min) / t_min (W(t) <= r t for both
 * shapes), which is what is returned.  When the fitted curve still grows
 * by more than a quarter between the two longest windows, S is an
 * extrapolation: only W(t_max) is known, and returned, as a lower bound.
 */
#include <errno.h>
#include <math.h>

#include "dirty_int.h"

/* the curve at this share of S: the plateau is reached */
#define FIT_PLATEAU_RATIO 0.8
/* the curve grew by more than this between the two longest windows */
#define FIT_RISING_RATIO 1.25
#define FIT_GRID_R 64
#define FIT_GRID_S 48
#define FIT_MAX_STEPS 400
/* the pattern search stops when its step is this small (log scale) */
#define FIT_MIN_LOG_STEP 1e-5

double dirty_shape_pages(enum dirty_shape shape, double rate_pages_per_s, double set_pages, double t_s)
{
	double x;

	if (set_pages <= 0 || rate_pages_per_s <= 0 || t_s <= 0)
		return 0;
	x = rate_pages_per_s * t_s;
	if (shape == DIRTY_SHAPE_SEQUENTIAL)
		return x < set_pages ? x : set_pages;
	return set_pages * -expm1(-x / set_pages);
}

static double chi2_of(enum dirty_shape shape, const struct dirty_fit_point *p, uint32_t n,
		      double log_r, double log_s)
{
	double r = exp(log_r), s = exp(log_s), sum = 0;

	for (uint32_t i = 0; i < n; i++) {
		double d = (p[i].pages - dirty_shape_pages(shape, r, s, p[i].t_s)) / p[i].sigma_pages;

		sum += d * d;
	}
	return sum;
}

/* chi^2's minimum over log r in [lr0, lr1], log S in [ls0, ls1] */
static double fit_shape(enum dirty_shape shape, const struct dirty_fit_point *p, uint32_t n,
			double lr0, double lr1, double ls0, double ls1, double *log_r, double *log_s)
{
	double best = INFINITY, step, br = lr0, bs = ls1;

	for (int i = 0; i < FIT_GRID_R; i++) {
		double lr = lr0 + (lr1 - lr0) * i / (FIT_GRID_R - 1);

		for (int k = 0; k < FIT_GRID_S; k++) {
			double ls = ls0 + (ls1 - ls0) * k / (FIT_GRID_S - 1);
			double c = chi2_of(shape, p, n, lr, ls);

			if (c < best) {
				best = c;
				br = lr;
				bs = ls;
			}
		}
	}
	/* refine: try a step each way on each axis; halve it when none helps */
	step = (lr1 - lr0) / (FIT_GRID_R - 1);
	for (int it = 0; it < FIT_MAX_STEPS && step > FIT_MIN_LOG_STEP; it++) {
		static const int dr[4] = { 1, -1, 0, 0 }, dsets[4] = { 0, 0, 1, -1 };
		bool moved = false;

		for (int d = 0; d < 4; d++) {
			double lr = br + dr[d] * step, ls = bs + dsets[d] * step, c;

			if (lr < lr0 || lr > lr1 || ls < ls0 || ls > ls1)
				continue;
			c = chi2_of(shape, p, n, lr, ls);
			if (c < best) {
				best = c;
				br = lr;
				bs = ls;
				moved = true;
			}
		}
		if (!moved)
			step /= 2;
	}
	*log_r = br;
	*log_s = bs;
	return best;
}

int dirty_fit_curve(const struct dirty_fit_point *p, uint32_t n, double max_pages,
		    struct dirty_fit *out)
{
	static const enum dirty_shape shapes[] = { DIRTY_SHAPE_SEQUENTIAL, DIRTY_SHAPE_RANDOM };
	double w_max = 0, t_min = INFINITY, t_max = 0, t_prev = 0, best = INFINITY, r = 0, s = 0;
	double lr0, lr1, ls0, ls1, w_lo, w_hi;

	*out = (struct dirty_fit){ .shape = DIRTY_SHAPE_NONE };
	for (uint32_t i = 0; i < n; i++) {
		if (p[i].t_s <= 0 || !(p[i].sigma_pages > 0))
			return -EINVAL;
		if (p[i].pages > w_max)
			w_max = p[i].pages;
		if (p[i].t_s < t_min)
			t_min = p[i].t_s;
		if (p[i].t_s > t_max)
			t_max = p[i].t_s;
	}
	if (!n)
		return -ENODATA;
	for (uint32_t i = 0; i < n; i++)
		if (p[i].t_s < t_max && p[i].t_s > t_prev)
			t_prev = p[i].t_s;
	if (w_max <= 0)
		return 0; /* nothing written: no rate, no set */
	if (max_pages < w_max)
		max_pages = w_max;
	/* S: from half the largest point (noise reads high) to all of memory;
	 * r: from what would fill a tenth of the largest point by t_max to
	 * what fills all of memory in a tenth of t_min */
	ls0 = log(w_max / 2);
	ls1 = log(max_pages);
	lr0 = log(w_max / t_max / 10);
	lr1 = log(max_pages / t_min * 10);
	if (ls1 <= ls0)
		ls1 = ls0 + 1e-3;
	for (uint32_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		double lr, ls, c = fit_shape(shapes[k], p, n, lr0, lr1, ls0, ls1, &lr, &ls);

		if (c < best) {
			best = c;
			out->shape = shapes[k];
			r = exp(lr);
			s = exp(ls);
		}
	}
	out->chi2 = best;
	out->rate_pages_per_s = r;
	out->set_pages = s;
	w_lo = dirty_shape_pages(out->shape, r, s, t_min);
	w_hi = dirty_shape_pages(out->shape, r, s, t_max);
	if (w_lo >= FIT_PLATEAU_RATIO * s) {
		out->rate_is_lower_bound = true;
		out->rate_pages_per_s = w_lo / t_min;
	}
	/* the plateau is seen when the curve hardly grows between the two
	 * longest windows; otherwise S is the fit's guess beyond them */
	if (!t_prev || w_hi > FIT_RISING_RATIO * dirty_shape_pages(out->shape, r, s, t_prev)) {
		out->set_is_lower_bound = true;
		out->set_pages = w_hi;
	}
	return 0;
}
