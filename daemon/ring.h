/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring: the index arithmetic of a fixed ring of timed samples (newest at
 * head), and the choice of the sample a rate over a window starts from.
 *
 * The samples are the caller's array (any struct with a uint64_t time in
 * it); a ring only says where the newest, the i-th older and the next go.
 */
#ifndef TIDE_RING_H
#define TIDE_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint32_t size;
	uint32_t head;	/* index of the newest */
	uint32_t count; /* <= size */
};

/* Index of the sample age steps older than the newest, or -1. */
int ring_index(const struct ring *r, uint32_t age);
/* Index where the next sample goes (the oldest is overwritten when full). */
uint32_t ring_push(struct ring *r);
/*
 * Age of the sample a rate over window_ms starts from: of the two samples
 * around window_ms before the newest, the closer (ticks jitter: a 1 s
 * window over 100 ms ticks must not become 1.1 s); the oldest kept when
 * the ring is shorter; the previous one for window 0.  -1 with fewer than
 * two samples.  samples: the array, stride bytes apart, the time in ns at
 * t_offset in each.
 */
int ring_find_base(const struct ring *r, const void *samples, size_t stride, size_t t_offset,
		   uint32_t window_ms);

#endif /* TIDE_RING_H */
