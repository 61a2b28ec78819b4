/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lag: how late the event loop runs its timers, the proof that nothing
 * blocks it.  Owns one periodic timer at the collection tick, beside
 * collect's own, that notes at each expiry how long after its due time it
 * ran: a callback that blocks the loop (a libvirt call made on it) shows
 * here as a late tick.
 */
#ifndef TIDE_LAG_H
#define TIDE_LAG_H

#include <stdint.h>

#include "tide.h"

struct lag_stats {
	uint32_t interval_ms;
	uint64_t ticks;	      /* expiries measured */
	uint64_t late_max_ms; /* since start */
	uint64_t late_ticks;  /* later than one interval */
	uint64_t late_last_ms;
};

/* Needs loop. */
int lag_init(uint32_t interval_ms) __tide_must_check;
void lag_fini(void);
/* A new tick (reload); the figures go on. */
int lag_set_interval(uint32_t interval_ms);
void lag_get(struct lag_stats *s);

#endif /* TIDE_LAG_H */
