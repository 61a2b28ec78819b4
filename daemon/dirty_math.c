// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_math: the page-sampling arithmetic of the dirty estimator: QEMU's
 * whole-MiB/s figure as pages, its rounding undone, the samples it takes,
 * a reading's confidence and whether it is a jump.  Pure; the reasoning is
 * in dirty.c's opening note.  Split from dirty.c.
 */
#include <math.h>
#include <stdint.h>

#include "dirty_int.h"

/* a reading this many standard errors from the mean restarts the average
 * (one reading in 80 of a steady guest does: harmless, it restarts) */
#define DIRTY_JUMP_SIGMAS 2.5

uint64_t dirty_pages_of(long long mib_per_s, int period_s)
{
	if (mib_per_s <= 0 || period_s <= 0)
		return 0;
	return (uint64_t)mib_per_s * (uint64_t)period_s * ((1ull << 20) / DIRTY_PAGE_BYTES);
}

uint64_t dirty_samples_at(uint64_t memory_bytes, uint32_t sample_pages_per_gib)
{
	if (memory_bytes < DIRTY_MIN_RAMBLOCK_BYTES)
		return 0;
	if (!sample_pages_per_gib)
		sample_pages_per_gib = DIRTY_SAMPLE_PAGES_PER_GIB;
	return (memory_bytes * sample_pages_per_gib) >> 30;
}

uint64_t dirty_sample_pages(uint64_t memory_bytes)
{
	return dirty_samples_at(memory_bytes, DIRTY_SAMPLE_PAGES_PER_GIB);
}

uint64_t dirty_unround_pages(long long mib_per_s, uint32_t calc_ms, uint32_t sample_pages_per_gib,
			     uint64_t memory_bytes)
{
	double n = (double)dirty_samples_at(memory_bytes, sample_pages_per_gib);
	double block_mib = (double)(memory_bytes >> 20), k, lo, hi, hits;

	if (mib_per_s <= 0 || !calc_ms || n < 1 || block_mib < 1)
		return 0;
	/* QEMU: rate = floor(hits x block_MiB x 1000 / (n x calc_ms)), so
	 * hits is one of the integers in [rate / k, (rate + 1) / k) */
	k = block_mib * 1000 / (n * calc_ms);
	lo = ceil((double)mib_per_s / k - 1e-9);
	hi = ceil((double)(mib_per_s + 1) / k - 1e-9) - 1;
	if (hi < lo)
		hi = lo;
	hits = (lo + hi) / 2;
	if (hits > n)
		hits = n;
	return (uint64_t)(hits / n * ((double)memory_bytes / DIRTY_PAGE_BYTES) + 0.5);
}

double dirty_sampling_confidence(uint64_t pages, uint64_t memory_bytes, uint32_t readings)
{
	return dirty_sampling_confidence_at(pages, memory_bytes, readings,
					    DIRTY_SAMPLE_PAGES_PER_GIB);
}

double dirty_sampling_confidence_at(uint64_t pages, uint64_t memory_bytes, uint32_t readings,
				    uint32_t sample_pages_per_gib)
{
	uint64_t total_pages = memory_bytes / DIRTY_PAGE_BYTES;
	double n = (double)dirty_samples_at(memory_bytes, sample_pages_per_gib) *
		   (readings ? readings : 1);
	double p, rel_err;

	if (!total_pages || n < 1)
		return 0;
	p = (double)pages / (double)total_pages;
	if (p < 1 / n)
		p = 1 / n;
	if (p > 1)
		p = 1;
	rel_err = sqrt((1 - p) / (n * p));
	return 1 / (1 + rel_err);
}

bool dirty_is_jump(uint64_t memory_bytes, uint64_t mean_pages, uint64_t pages, uint32_t t_ms)
{
	return dirty_is_jump_at(memory_bytes, 0, mean_pages, pages, t_ms);
}

bool dirty_is_jump_at(uint64_t memory_bytes, uint32_t sample_pages_per_gib, uint64_t mean_pages,
		      uint64_t pages, uint32_t t_ms)
{
	double total = (double)memory_bytes / DIRTY_PAGE_BYTES;
	double n = (double)dirty_samples_at(memory_bytes, sample_pages_per_gib), p, sigma, slack;

	if (n < 1 || total < 1)
		return false;
	/* the binomial error of one reading at the mean's fraction (at least
	 * one sample's worth), plus QEMU's rounding to whole MiB/s */
	p = (double)mean_pages / total;
	if (p < 1 / n)
		p = 1 / n;
	if (p > 1 - 1 / n)
		p = 1 - 1 / n;
	sigma = sqrt(p * (1 - p) / n) * total;
	slack = DIRTY_JUMP_SIGMAS * sigma +
		(t_ms / 1000.0 + 1) * ((double)(1 << 20) / DIRTY_PAGE_BYTES);
	return fabs((double)pages - (double)mean_pages) > slack;
}
