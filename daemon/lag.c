// SPDX-License-Identifier: GPL-2.0
/*
 * lag: lateness of the loop's timers.  See lag.h.
 *
 * The loop keeps a periodic timer's phase (the n-th expiry is due at
 * start + n * interval) and, once behind by more than a period, resumes
 * from now; the due time is followed here the same way, so a tick is late
 * by what the loop made it wait, never by the sum of earlier delays.
 */
#include <errno.h>
#include <string.h>

#include "lag.h"
#include "loop.h"
#include "util.h"

#define NS_PER_MS 1000000u

static struct {
	int timer;
	uint64_t due_ns;
	uint64_t interval_ns;
	struct lag_stats st;
} ls;

static void on_tick(void *arg)
{
	uint64_t now = util_monotonic_ns();
	uint64_t late_ms = now > ls.due_ns ? (now - ls.due_ns) / NS_PER_MS : 0;

	ls.st.ticks++;
	ls.st.late_last_ms = late_ms;
	if (late_ms > ls.st.late_max_ms)
		ls.st.late_max_ms = late_ms;
	if (late_ms > ls.st.interval_ms)
		ls.st.late_ticks++;
	ls.due_ns += ls.interval_ns;
	if (ls.due_ns < now)
		ls.due_ns = now;
}

int lag_set_interval(uint32_t interval_ms)
{
	int err;

	if (!ls.timer)
		return -ENODEV;
	err = loop_modify_timer(ls.timer, interval_ms);
	if (err)
		return err;
	ls.st.interval_ms = interval_ms;
	ls.interval_ns = (uint64_t)interval_ms * NS_PER_MS;
	ls.due_ns = util_monotonic_ns() + ls.interval_ns;
	return 0;
}

int lag_init(uint32_t interval_ms)
{
	int err;

	if (ls.timer)
		return -EALREADY;
	memset(&ls, 0, sizeof(ls));
	if (!interval_ms)
		return -EINVAL;
	ls.st.interval_ms = interval_ms;
	ls.interval_ns = (uint64_t)interval_ms * NS_PER_MS;
	ls.due_ns = util_monotonic_ns() + ls.interval_ns;
	err = loop_add_periodic(interval_ms, 0, on_tick, NULL, &ls.timer);
	if (err)
		ls.timer = 0;
	return err;
}

void lag_fini(void)
{
	if (ls.timer)
		loop_remove_timer(ls.timer);
	ls.timer = 0;
}

void lag_get(struct lag_stats *s)
{
	*s = ls.st;
}
