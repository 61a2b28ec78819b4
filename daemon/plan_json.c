// SPDX-License-Identifier: GPL-2.0
/*
 * plan_json: plan's results as JSON.  See plan_json.h.
 *
 * Every value goes through json-c, which escapes what names may hold
 * (quotes, backslashes, control characters): a VM's name is user input.
 * A member json-c cannot allocate makes the whole call -ENOMEM rather
 * than a reply that silently lacks it.
 */
#include <errno.h>

#include <json-c/json.h>

#include "plan_json.h"

/* Adds val under key (taking it); -ENOMEM when val is NULL or the add fails. */
static int add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

/* A member that may be null: JSON null is json-c's NULL. */
static int add_null(struct json_object *obj, const char *key)
{
	return json_object_object_add(obj, key, NULL) ? -ENOMEM : 0;
}

static int add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return add(obj, key, json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v));
}

static int add_str(struct json_object *obj, const char *key, const char *s)
{
	return add(obj, key, json_object_new_string(s));
}

static int add_dbl(struct json_object *obj, const char *key, double v)
{
	return add(obj, key, json_object_new_double(v));
}

static int add_vm_host(struct json_object *o, const struct plan_move *m,
		       const struct plan_snapshot *s)
{
	int ret;

	if ((m->vm != PLAN_NONE && m->vm >= s->n_vms) ||
	    (m->dst != PLAN_NONE && m->dst >= s->n_hosts))
		return -EINVAL;
	if (m->vm == PLAN_NONE)
		ret = add_null(o, "vm") ?: add_null(o, "uuid");
	else
		ret = add_str(o, "vm", s->vms[m->vm].name) ?: add_str(o, "uuid", s->vms[m->vm].uuid);
	if (ret)
		return ret;
	if (m->dst == PLAN_NONE)
		return add_null(o, "destination");
	return add_str(o, "destination", s->hosts[m->dst].name);
}

static int add_predicted(struct json_object *o, const struct model_cost *k)
{
	struct json_object *p = json_object_new_object();
	int ret;

	if (!p)
		return -ENOMEM;
	ret = add_u64(p, "total_time_ms", k->total_time_ms)	?:
		      add_u64(p, "downtime_ms", k->downtime_ms) ?:
		      add_u64(p, "bytes", k->bytes_sent)	?:
								  add_u64(p, "rounds", k->rounds);
	if (ret) {
		json_object_put(p);
		return ret;
	}
	return add(o, "predicted", p);
}

static int move_json(const struct plan_move *m, const struct plan_snapshot *s, struct json_object *arr)
{
	struct json_object *o = json_object_new_object();
	int ret;

	if (!o)
		return -ENOMEM;
	ret = add_vm_host(o, m, s);
	if (!ret)
		ret = add_str(o, "action", plan_action_name(m->action))		    ?:
			      add_str(o, "why", plan_why_name(m->why))		    ?:
			      add_str(o, "remedy", plan_remedy_name(m->remedy))	    ?:
			      add_u64(o, "downtime_limit_ms", m->downtime_limit_ms) ?:
			      add(o, "auto_converge", json_object_new_boolean(m->auto_converge));
	/* a decline may have got no prediction at all */
	if (!ret)
		ret = m->cost.found ? add_predicted(o, &m->cost) : add_null(o, "predicted");
	if (!ret)
		ret = add_dbl(o, "relief", m->relief) ?: add_dbl(o, "score", m->score);
	if (!ret && json_object_array_add(arr, o))
		ret = -ENOMEM;
	if (ret)
		json_object_put(o);
	return ret;
}

static int rejected_json(const struct plan_move *m, const struct plan_snapshot *s,
			 struct json_object *arr)
{
	struct json_object *o = json_object_new_object();
	bool possible = m->why == PLAN_WHY_COSTLIER || m->why == PLAN_WHY_MAX_OUTGOING;
	int ret;

	if (!o)
		return -ENOMEM;
	ret = add_vm_host(o, m, s);
	if (!ret)
		ret = add_str(o, "why", plan_why_name(m->why));
	if (!ret)
		ret = possible ? add_dbl(o, "score", m->score) : add_null(o, "score");
	if (!ret && json_object_array_add(arr, o))
		ret = -ENOMEM;
	if (ret)
		json_object_put(o);
	return ret;
}

int plan_moves_to_json(const struct plan_move *m, uint32_t n, const struct plan_snapshot *snap,
		       struct json_object *arr)
{
	int ret = 0;

	if ((n && !m) || !snap || !arr)
		return -EINVAL;
	for (uint32_t i = 0; !ret && i < n; i++)
		ret = move_json(&m[i], snap, arr);
	return ret;
}

int plan_result_to_json(const struct plan_result *r, const struct plan_snapshot *snap,
			struct json_object *out)
{
	struct json_object *moves, *rejected;
	int ret;

	if (!r || !snap || !out)
		return -EINVAL;
	ret = add_str(out, "state", plan_host_state_name(r->state))	    ?:
		      add_str(out, "trigger", r->trigger ? r->trigger : "") ?:
		      add_dbl(out, "load_ratio", r->load_ratio)		    ?:
		      add_dbl(out, "cpu_ratio", r->cpu_ratio)		    ?:
		      add_dbl(out, "net_ratio", r->net_ratio)		    ?:
		      add_dbl(out, "mem_ratio", r->mem_ratio)		    ?:
		      add_u64(out, "state_for_ms", r->state_for_ms)	    ?:
		      add_u64(out, "outgoing", r->outgoing);
	if (ret)
		return ret;

	moves = json_object_new_array();
	ret = add(out, "moves", moves);
	if (!ret)
		ret = plan_moves_to_json(r->moves, r->n_moves, snap, moves);
	if (ret)
		return ret;
	rejected = json_object_new_array();
	ret = add(out, "rejected", rejected);
	for (uint32_t i = 0; !ret && i < r->n_rejected && i < PLAN_MAX_REJECTED; i++)
		ret = rejected_json(&r->rejected[i], snap, rejected);
	if (!ret)
		ret = add_u64(out, "rejected_total", r->n_rejected_total);
	if (!ret)
		ret = add_str(out, "summary", r->summary);
	return ret;
}
