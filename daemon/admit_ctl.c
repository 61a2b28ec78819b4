// SPDX-License-Identifier: GPL-2.0
/*
 * admit_ctl: the admission's control commands ("admit", "admit release",
 * "admit list"; see admit.h).  A request is checked whole before anything
 * changes; "admit" then decides and reserves within this one handler call
 * (admit.c says why that makes it atomic).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "admit_int.h"
#include "ctl.h"
#include "log.h"
#include "loop.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define ADD_U64(o, k, v) ADD(o, k, json_object_new_int64((int64_t)(v)))
#define ADD_DBL(o, k, v) ADD(o, k, json_object_new_double(v))

static const char *const commands[] = { "admit", "admit release", "admit list" };

static bool uuid_ok(const char *u)
{
	if (strlen(u) != VM_UUID_BYTES - 1)
		return false;
	for (int i = 0; i < VM_UUID_BYTES - 1; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
			return false;
	}
	return true;
}

/* a host name: no blanks, no control characters */
static bool host_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= ADMIT_SOURCE_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_request(struct json_object *req, struct json_object *reply, struct admit_request *rq)
{
	uint64_t memory_bytes = 0, vcpus = 0;
	struct json_object *v;
	int err;

	memset(rq, 0, sizeof(*rq));
	err = ctl_arg_str(req, reply, "name", &rq->name);
	if (!err)
		err = ctl_arg_str(req, reply, "uuid", &rq->uuid);
	if (!err)
		err = ctl_arg_str(req, reply, "source", &rq->source);
	if (!err)
		err = ctl_arg_u64(req, reply, "memory_bytes", 1, INT64_MAX, &memory_bytes);
	if (!err)
		err = ctl_arg_u64(req, reply, "vcpus", 1, ADMIT_VCPUS_MAX, &vcpus);
	if (err)
		return err;
	if (!rq->name || !*rq->name || strlen(rq->name) >= ADMIT_NAME_MAX_BYTES)
		return ctl_error(reply, -EINVAL, "'admit' needs the domain's 'name' (1 to %d bytes)",
				 ADMIT_NAME_MAX_BYTES - 1);
	if (!rq->uuid || !uuid_ok(rq->uuid))
		return ctl_error(reply, -EINVAL, "'admit' needs the domain's 'uuid', got '%s'",
				 rq->uuid ? rq->uuid : "");
	if (!memory_bytes || !vcpus)
		return ctl_error(reply, -EINVAL,
				 "'admit' needs 'memory_bytes' and 'vcpus' (integers)");
	if (rq->source && *rq->source && !host_name_ok(rq->source))
		return ctl_error(reply, -EINVAL, "'source' must be a host name, got '%s'",
				 rq->source);
	rq->memory_bytes = memory_bytes;
	rq->vcpus = (uint32_t)vcpus;
	rq->cpus = (double)vcpus;
	if (json_object_object_get_ex(req, "cpus_expected", &v) && v) {
		double x;

		if (!json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_int))
			return ctl_error(reply, -EINVAL, "'cpus_expected' must be a number");
		x = json_object_get_double(v);
		if (!isfinite(x) || x < 0 || x > ADMIT_VCPUS_MAX)
			return ctl_error(reply, -EINVAL,
					 "'cpus_expected' must be between 0 and %d, got %g",
					 ADMIT_VCPUS_MAX, x);
		/* a VM cannot run more than its vCPUs */
		rq->cpus = x < rq->cpus ? x : rq->cpus;
		rq->cpus_from_meta = true;
	}
	return 0;
}

static void refuse(struct json_object *reply, const char *reason)
{
	admit_st.refused++;
	snprintf(admit_st.last_refusal, sizeof(admit_st.last_refusal), "%s", reason);
	log_notice("admission: %s", reason);
	ADD(reply, "admit", json_object_new_boolean(false));
	ADD(reply, "reason", json_object_new_string(reason));
}

static int cmd_admit(struct json_object *req, struct json_object *reply, void *arg)
{
	char left[ADMIT_REASON_BYTES]; /* what is left, or why not */
	struct admit_res *old, *r;
	struct admit_request rq;
	int err = parse_request(req, reply, &rq);

	if (err)
		return err;
	ADD(reply, "host", json_object_new_string(admit_st.host));
	if (!admit_st.o.enabled) {
		admit_st.admitted++;
		log_info("admission: VM '%s' (%s) admitted unchecked (admit_enabled is false)",
			 rq.name, rq.uuid);
		ADD(reply, "admit", json_object_new_boolean(true));
		ADD(reply, "reservation", NULL);
		return 0;
	}
	/* a VM asking again: its earlier attempt failed, this one replaces it */
	old = admit_res_find(rq.uuid);
	if (!admit_decide(&rq, old, left, sizeof(left))) {
		if (old)
			admit_release(old, WHY_REPLACED, "the VM asked again and was refused");
		refuse(reply, left);
		return 0;
	}
	if (old)
		admit_release(old, WHY_REPLACED, "the VM asks again");
	r = admit_reserve(&rq);
	if (!r) {
		snprintf(left, sizeof(left), "tide on %s cannot hold a reservation: out of memory",
			 admit_st.host);
		refuse(reply, left);
		return 0;
	}
	admit_st.admitted++;
	log_info("admission: VM '%s' (%s)%s%s admitted: reservation %llu of %llu MiB and %.2f CPU "
		 "(%s); %s",
		 r->name, r->uuid, r->source[0] ? " from " : "", r->source,
		 (unsigned long long)r->id, (unsigned long long)(r->memory_bytes >> 20), r->cpus,
		 r->cpus_from_meta ? "tide's metadata" : "its vCPUs", left);
	ADD(reply, "admit", json_object_new_boolean(true));
	ADD_U64(reply, "reservation", r->id);
	return 0;
}

static int cmd_release(struct json_object *req, struct json_object *reply, void *arg)
{
	const char *uuid = NULL, *name = NULL, *why = NULL;
	struct admit_res *r;
	int err;

	err = ctl_arg_str(req, reply, "uuid", &uuid);
	if (!err)
		err = ctl_arg_str(req, reply, "name", &name);
	if (!err)
		err = ctl_arg_str(req, reply, "why", &why);
	if (err)
		return err;
	if (!uuid && !name)
		return ctl_error(reply, -EINVAL,
				 "'admit release' needs the domain's 'uuid' or 'name'");
	r = uuid ? admit_res_find(uuid) : admit_res_find_name(name);
	/* gone already, or its VM runs here and only its CPU share settles */
	if (!r || r->state != RES_RESERVED) {
		ADD(reply, "released", json_object_new_boolean(false));
		ADD(reply, "reservation", NULL);
		return 0;
	}
	ADD(reply, "released", json_object_new_boolean(true));
	ADD_U64(reply, "reservation", r->id);
	admit_release(r, WHY_REQUEST, why && *why ? why : "asked");
	return 0;
}

static struct json_object *res_json(const struct admit_res *r, uint64_t now)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	ADD_U64(o, "id", r->id);
	ADD(o, "uuid", json_object_new_string(r->uuid));
	ADD(o, "name", json_object_new_string(r->name));
	ADD(o, "source", r->source[0] ? json_object_new_string(r->source) : NULL);
	ADD(o, "state", json_object_new_string(r->state == RES_RESERVED ? "reserved" : "arrived"));
	ADD_U64(o, "memory_bytes", r->memory_bytes);
	ADD_U64(o, "vcpus", r->vcpus);
	ADD_DBL(o, "cpus_expected", r->cpus);
	ADD(o, "cpus_from", json_object_new_string(r->cpus_from_meta ? "metadata" : "vcpus"));
	ADD_U64(o, "age_ms", now - r->created_ms);
	ADD_U64(o, "expires_in_ms", r->deadline_ms > now ? r->deadline_ms - now : 0);
	return o;
}

static struct json_object *capacity_json(const struct admit_capacity *c)
{
	struct json_object *o = json_object_new_object();
	struct admit_room room;
	struct admit_sums s;

	if (!o)
		return NULL;
	admit_sum(NULL, &s);
	admit_room_of(c, &s, &room);
	ADD_U64(o, "memory_bytes", c->memory_bytes);
	ADD_U64(o, "reserve_memory_bytes", admit_st.o.reserve_memory_bytes);
	ADD_U64(o, "memory_used_bytes", c->memory_used_bytes);
	ADD_U64(o, "memory_reserved_bytes", s.memory_bytes);
	ADD_U64(o, "memory_free_bytes", room.memory_free_bytes);
	ADD_DBL(o, "cpus", c->cpus);
	ADD_DBL(o, "cpu_used", c->cpu_used);
	ADD_DBL(o, "cpu_reserved", s.cpus);
	ADD_DBL(o, "cpu_high_ratio", c->cpu_high_ratio);
	ADD_DBL(o, "cpu_free", room.cpu_free);
	ADD_U64(o, "age_ms", c->age_ms);
	return o;
}

static int cmd_list(struct json_object *req, struct json_object *reply, void *arg)
{
	struct json_object *arr = json_object_new_array(), *rel = json_object_new_object();
	struct admit_capacity c;
	uint64_t now = loop_now_ms();
	char why[512];
	int err;

	if (!arr || !rel) {
		json_object_put(arr);
		json_object_put(rel);
		return -ENOMEM;
	}
	for (size_t i = 0; i < admit_st.n; i++)
		json_object_array_add(arr, res_json(&admit_st.res[i], now));
	for (int i = 0; i < WHY_N; i++)
		ADD_U64(rel, admit_why_names[i], admit_st.released[i]);
	ADD(reply, "host", json_object_new_string(admit_st.host));
	ADD(reply, "enabled", json_object_new_boolean(admit_st.o.enabled));
	ADD(reply, "draining", json_object_new_boolean(admit_st.draining));
	ADD_U64(reply, "timeout_ms", admit_st.o.timeout_ms);
	ADD(reply, "reservations", arr);
	ADD_U64(reply, "admitted", admit_st.admitted);
	ADD_U64(reply, "refused", admit_st.refused);
	ADD(reply, "released", rel);
	ADD(reply, "last_refusal", json_object_new_string(admit_st.last_refusal));
	err = admit_capacity_now(&c, why, sizeof(why));
	ADD(reply, "capacity", err ? NULL : capacity_json(&c));
	ADD(reply, "capacity_error", json_object_new_string(err ? why : ""));
	return 0;
}

int admit_ctl_register(void)
{
	static const ctl_handler fns[] = { cmd_admit, cmd_release, cmd_list };
	size_t n;
	int err = 0;

	for (n = 0; n < ARRAY_SIZE(commands) && !err; n++)
		err = ctl_register(commands[n], fns[n], NULL);
	if (!err)
		return 0;
	log_err("cannot register the admission command '%s': %s", commands[n - 1], strerror(-err));
	/* only those registered here */
	while (--n > 0)
		ctl_unregister(commands[n - 1]);
	return err;
}

void admit_ctl_unregister(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		ctl_unregister(commands[i]);
}
