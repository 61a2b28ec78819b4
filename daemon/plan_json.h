/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plan_json: the planner's decisions as JSON members, for the control
 * socket's replies (tidectl plan, tidectl host drain) and the log of what
 * the control loop decided.  Owns nothing; names come from the snapshot
 * the result was computed from, and json-c escapes them.
 */
#ifndef TIDE_PLAN_JSON_H
#define TIDE_PLAN_JSON_H

#include <stdint.h>

#include "plan.h"

struct json_object;

/*
 * r's members added to the object out: state, trigger, load_ratio,
 * cpu_ratio, net_ratio, mem_ratio, state_for_ms, outgoing, moves [{vm,
 * uuid, destination, action, why, remedy, downtime_limit_ms,
 * auto_converge, predicted {total_time_ms, downtime_ms, bytes, rounds},
 * relief, score}], rejected [{vm, uuid, destination, why, score}],
 * rejected_total, summary.  A vm or destination that is none (PLAN_NONE)
 * is null; a rejected candidate's score is null unless it was possible
 * (why costlier or max_outgoing).  0, -EINVAL (an index outside snap),
 * -ENOMEM (out may then hold some of the members).
 */
int plan_result_to_json(const struct plan_result *r, const struct plan_snapshot *snap,
			struct json_object *out);

/* Each of n moves (plan_drain's, declines included) appended to the array
 * arr as a moves member above.  0, -EINVAL, -ENOMEM. */
int plan_moves_to_json(const struct plan_move *m, uint32_t n, const struct plan_snapshot *snap,
		       struct json_object *arr);

#endif /* TIDE_PLAN_JSON_H */
