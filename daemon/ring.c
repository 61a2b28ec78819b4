// SPDX-License-Identifier: GPL-2.0
/*
 * ring: index arithmetic and window choice of a sample ring.  See ring.h.
 */
#include "ring.h"

int ring_index(const struct ring *r, uint32_t age)
{
	if (age >= r->count)
		return -1;
	return (int)((r->head + r->size - age) % r->size);
}

uint32_t ring_push(struct ring *r)
{
	r->head = r->count ? (r->head + 1) % r->size : 0;
	if (r->count < r->size)
		r->count++;
	return r->head;
}

static uint64_t t_at(const struct ring *r, const void *samples, size_t stride, size_t t_offset,
		     uint32_t age)
{
	const char *s = (const char *)samples + (size_t)ring_index(r, age) * stride + t_offset;

	return *(const uint64_t *)(const void *)s;
}

int ring_find_base(const struct ring *r, const void *samples, size_t stride, size_t t_offset,
		   uint32_t window_ms)
{
	uint64_t t0, w = (uint64_t)window_ms * 1000000ull, prev = 0;

	if (r->count < 2)
		return -1;
	t0 = t_at(r, samples, stride, t_offset, 0);
	for (uint32_t a = 1; a < r->count; a++) {
		uint64_t d = t0 - t_at(r, samples, stride, t_offset, a);

		if (d >= w)
			return a > 1 && w - prev < d - w ? (int)a - 1 : (int)a;
		prev = d;
	}
	return (int)r->count - 1;
}
