// SPDX-License-Identifier: GPL-2.0
/*
 * admit: reservations for incoming VMs, and the decision.  See admit.h;
 * the control commands are in admit_ctl.c.
 *
 * Atomicity.  Everything here runs on the loop thread, which serialises the
 * control requests: the check of a request against the capacity and the
 * standing reservations, and the reservation it makes, happen in one
 * handler call that nothing can interleave with.  So when two sources push
 * a VM here at once, the second request sees the first one's reservation,
 * and the host is never promised twice.
 *
 * The rule (memory, then CPU), for a VM asking for M bytes and C CPUs:
 *     used memory + reserved memory + M <= memory - reserve
 *     used CPU + reserved CPU + C       <= high x CPUs
 * "used" is what the VMs here hold now (the capacity callback: the store's
 * figures), "reserved" the sum over the standing reservations.  C is the
 * CPU the source's tided expects the VM to need (tide's metadata in the
 * domain XML), else its vCPUs: with nothing known, the conservative guess.
 * The figures must be fresh (max_age_ms), and a draining host refuses all.
 *
 * A reservation lives until its VM runs here (the inventory says so: its
 * memory is then the store's to count, and its CPU share stays settle_ms
 * more, until the load figures have seen the VM run), until it is released
 * by request (the hook, when libvirt tears a failed incoming domain down),
 * or until timeout_ms pass without its VM being seen here.  One one-shot
 * timer is kept at the earliest deadline.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "admit.h"
#include "admit_int.h"
#include "log.h"
#include "loop.h"

struct admit_state admit_st;

const char *const admit_why_names[WHY_N] = { "request", "running", "timeout", "replaced" };

/* ---- reservations ----------------------------------------------------------- */

struct admit_res *admit_res_find(const char *uuid)
{
	for (size_t i = 0; uuid && i < admit_st.n; i++)
		if (strcasecmp(admit_st.res[i].uuid, uuid) == 0)
			return &admit_st.res[i];
	return NULL;
}

struct admit_res *admit_res_find_name(const char *name)
{
	for (size_t i = 0; name && i < admit_st.n; i++)
		if (strcmp(admit_st.res[i].name, name) == 0)
			return &admit_st.res[i];
	return NULL;
}

static void res_remove(struct admit_res *r)
{
	free(r->name);
	*r = admit_st.res[--admit_st.n];
}

static void on_timer(void *arg);

/* Keep the one timer at the earliest deadline. */
static void arm_timer(void)
{
	uint64_t first = UINT64_MAX, now = loop_now_ms();

	if (admit_st.timer > 0)
		loop_remove_timer(admit_st.timer);
	admit_st.timer = 0;
	for (size_t i = 0; i < admit_st.n; i++)
		if (admit_st.res[i].deadline_ms < first)
			first = admit_st.res[i].deadline_ms;
	if (first == UINT64_MAX)
		return;
	if (loop_add_timer(first > now ? first - now : 0, 0, on_timer, NULL, &admit_st.timer)) {
		/* the next change tries again */
		log_warn("admission: cannot arm the timer of the reservations; they expire late");
		admit_st.timer = 0;
	}
}

void admit_release(struct admit_res *r, enum admit_why why, const char *detail)
{
	log_info("admission: reservation %llu for VM '%s' (%s) released (%s): %s",
		 (unsigned long long)r->id, r->name, r->uuid, admit_why_names[why], detail);
	admit_st.released[why]++;
	res_remove(r);
	arm_timer();
}

static void on_timer(void *arg)
{
	uint64_t now = loop_now_ms();

	admit_st.timer = 0; /* one-shot: gone already */
	for (size_t i = admit_st.n; i-- > 0;) {
		struct admit_res *r = &admit_st.res[i];

		if (r->deadline_ms > now)
			continue;
		if (r->state == RES_ARRIVED) {
			res_remove(r); /* settled: the load figures count the VM now */
			continue;
		}
		log_warn("admission: reservation %llu for VM '%s' (%s) expired: the VM was not "
			 "seen here within %u ms of its admission or of its last sighting",
			 (unsigned long long)r->id, r->name, r->uuid, admit_st.o.timeout_ms);
		admit_st.released[WHY_TIMEOUT]++;
		res_remove(r);
	}
	arm_timer();
}

void admit_domain_running(const char *uuid)
{
	struct admit_res *r = admit_st.inited ? admit_res_find(uuid) : NULL;

	if (!r || r->state != RES_RESERVED)
		return;
	log_info("admission: VM '%s' (%s) runs here: reservation %llu released (running); its "
		 "%.2f CPU stays counted %u ms more",
		 r->name, r->uuid, (unsigned long long)r->id, r->cpus, admit_st.o.settle_ms);
	admit_st.released[WHY_RUNNING]++;
	if (!admit_st.o.settle_ms) {
		res_remove(r);
	} else {
		r->state = RES_ARRIVED;
		r->deadline_ms = loop_now_ms() + admit_st.o.settle_ms;
	}
	arm_timer();
}

void admit_domain_present(const char *uuid)
{
	struct admit_res *r = admit_st.inited ? admit_res_find(uuid) : NULL;

	if (!r || r->state != RES_RESERVED)
		return;
	r->deadline_ms = loop_now_ms() + admit_st.o.timeout_ms;
	arm_timer();
}

bool admit_counts_memory(const char *uuid)
{
	const struct admit_res *r = admit_st.inited ? admit_res_find(uuid) : NULL;

	return r && r->state == RES_RESERVED;
}

void admit_set_draining(bool draining)
{
	if (admit_st.draining != draining)
		log_notice("admission: %s", draining ? "draining: incoming VMs are refused" :
						       "no longer draining: incoming VMs are admitted "
						       "when they fit");
	admit_st.draining = draining;
}

struct admit_res *admit_reserve(const struct admit_request *rq)
{
	struct admit_res *r = &admit_st.res[admit_st.n];
	uint64_t now = loop_now_ms();

	if (admit_st.n >= ADMIT_MAX_RESERVATIONS)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->name = strdup(rq->name);
	if (!r->name)
		return NULL;
	admit_st.n++;
	r->id = ++admit_st.next_id;
	snprintf(r->uuid, sizeof(r->uuid), "%s", rq->uuid);
	for (char *p = r->uuid; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(r->source, sizeof(r->source), "%s", rq->source ? rq->source : "");
	r->memory_bytes = rq->memory_bytes;
	r->vcpus = rq->vcpus;
	r->cpus = rq->cpus;
	r->cpus_from_meta = rq->cpus_from_meta;
	r->state = RES_RESERVED;
	r->created_ms = now;
	r->deadline_ms = now + admit_st.o.timeout_ms;
	arm_timer();
	return r;
}

/* ---- the decision --------------------------------------------------------------- */

void admit_sum(const struct admit_res *skip, struct admit_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < admit_st.n; i++) {
		const struct admit_res *r = &admit_st.res[i];

		if (r == skip)
			continue;
		s->n++;
		s->cpus += r->cpus;
		if (r->state == RES_RESERVED)
			s->memory_bytes += r->memory_bytes;
	}
}

void admit_room_of(const struct admit_capacity *c, const struct admit_sums *s, struct admit_room *out)
{
	uint64_t used = c->memory_used_bytes + s->memory_bytes;
	double cpu_used = c->cpu_used + s->cpus;

	out->memory_limit_bytes = c->memory_bytes > admit_st.o.reserve_memory_bytes ?
					  c->memory_bytes - admit_st.o.reserve_memory_bytes :
					  0;
	out->memory_free_bytes = out->memory_limit_bytes > used ? out->memory_limit_bytes - used : 0;
	out->cpu_limit = c->cpu_high_ratio * c->cpus;
	out->cpu_free = out->cpu_limit > cpu_used ? out->cpu_limit - cpu_used : 0;
}

int admit_capacity_now(struct admit_capacity *c, char *why, size_t why_bytes)
{
	int err;

	memset(c, 0, sizeof(*c));
	why[0] = '\0';
	if (!admit_st.o.capacity) {
		snprintf(why, why_bytes, "tided has no source of this host's figures");
		return -ENODATA;
	}
	err = admit_st.o.capacity(c, why, why_bytes, admit_st.o.arg);
	if (err && !why[0])
		snprintf(why, why_bytes, "%s", strerror(-err));
	return err;
}

/* A name as a sentence may quote it: control characters shown as '?'. */
static void safe_name(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < n; i++) {
		out[i] = in[i];
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
			out[i] = '?';
	}
	out[i] = '\0';
}

static const char *plural(unsigned int n)
{
	return n == 1 ? "" : "s";
}

/* The whole check.  Refusing is the safe answer to anything unknown. */
bool admit_decide(const struct admit_request *rq, const struct admit_res *skip, char *reason, size_t n)
{
	struct admit_capacity c;
	char name[256], why[512];
	struct admit_sums s;
	struct admit_room room;

	safe_name(rq->name, name, sizeof(name));
	admit_sum(skip, &s);
	if (admit_st.draining) {
		snprintf(reason, n, "tide on %s refused VM '%s': this host is draining",
			 admit_st.host, name);
		return false;
	}
	if (!skip && admit_st.n >= ADMIT_MAX_RESERVATIONS) {
		snprintf(reason, n,
			 "tide on %s refused VM '%s': %u reservations stand already, the most "
			 "it keeps",
			 admit_st.host, name, s.n);
		return false;
	}
	if (admit_capacity_now(&c, why, sizeof(why))) {
		snprintf(reason, n, "tide on %s refused VM '%s': cannot read this host's figures: %s",
			 admit_st.host, name, why);
		return false;
	}
	if (c.age_ms > admit_st.o.max_age_ms) {
		snprintf(reason, n,
			 "tide on %s refused VM '%s': its load figures are %llu ms old (at most %u "
			 "ms)",
			 admit_st.host, name, (unsigned long long)c.age_ms, admit_st.o.max_age_ms);
		return false;
	}
	admit_room_of(&c, &s, &room);
	if (rq->memory_bytes > room.memory_free_bytes) {
		/* needs rounded up, free down: never "needs 128 MiB, 128 MiB free" */
		snprintf(reason, n,
			 "tide on %s refused VM '%s': needs %llu MiB, %llu MiB free (%u "
			 "reservation%s)",
			 admit_st.host, name,
			 (unsigned long long)((rq->memory_bytes + (1 << 20) - 1) >> 20),
			 (unsigned long long)(room.memory_free_bytes >> 20), s.n, plural(s.n));
		return false;
	}
	if (rq->cpus > room.cpu_free + 1e-9) {
		snprintf(reason, n,
			 "tide on %s refused VM '%s': needs %.2f CPU%s, %.2f free under %.0f%% of "
			 "%.4g CPUs (%u reservation%s)",
			 admit_st.host, name, rq->cpus, rq->cpus_from_meta ? "" : " (its vCPUs)",
			 room.cpu_free, c.cpu_high_ratio * 100, c.cpus, s.n, plural(s.n));
		return false;
	}
	snprintf(reason, n, "%llu MiB and %.2f CPU left",
		 (unsigned long long)((room.memory_free_bytes - rq->memory_bytes) >> 20),
		 room.cpu_free - rq->cpus);
	return true;
}

/* ---- metrics and status ---------------------------------------------------------- */

void admit_fill_prom(struct prom *p)
{
	struct prom_label l[1];
	struct admit_sums s;

	if (!admit_st.inited)
		return;
	prom_family(p, "tide_admissions_total", "counter",
		    "Incoming migrations this host admitted or refused.");
	l[0] = (struct prom_label){ "result", "admitted" };
	prom_sample(p, "tide_admissions_total", l, 1, (double)admit_st.admitted);
	l[0] = (struct prom_label){ "result", "refused" };
	prom_sample(p, "tide_admissions_total", l, 1, (double)admit_st.refused);
	prom_family(p, "tide_admission_releases_total", "counter",
		    "Reservations for incoming VMs released, by why.");
	for (int i = 0; i < WHY_N; i++) {
		l[0] = (struct prom_label){ "why", admit_why_names[i] };
		prom_sample(p, "tide_admission_releases_total", l, 1, (double)admit_st.released[i]);
	}
	admit_sum(NULL, &s);
	prom_family(p, "tide_admission_reservations", "gauge",
		    "Reservations standing for incoming VMs.");
	prom_sample(p, "tide_admission_reservations", NULL, 0, (double)s.n);
	prom_family(p, "tide_admission_reserved_memory_bytes", "gauge",
		    "Memory held for incoming VMs not running here yet.");
	prom_sample(p, "tide_admission_reserved_memory_bytes", NULL, 0, (double)s.memory_bytes);
}

void admit_fill_json(struct json_object *obj)
{
	struct json_object *o;

	if (!admit_st.inited)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "enabled", json_object_new_boolean(admit_st.o.enabled));
	json_object_object_add(o, "draining", json_object_new_boolean(admit_st.draining));
	json_object_object_add(o, "reservations", json_object_new_int64((int64_t)admit_st.n));
	json_object_object_add(o, "admitted", json_object_new_int64((int64_t)admit_st.admitted));
	json_object_object_add(o, "refused", json_object_new_int64((int64_t)admit_st.refused));
	json_object_object_add(o, "last_refusal", json_object_new_string(admit_st.last_refusal));
	json_object_object_add(obj, "admissions", o);
}

/* ---- life -------------------------------------------------------------------------- */

void admit_reconfigure(const struct admit_opts *opts)
{
	admit_st.o = *opts;
	admit_st.o.host_name = NULL; /* the caller's string: admit_st.host keeps it */
	if (!admit_st.o.timeout_ms)
		admit_st.o.timeout_ms = ADMIT_TIMEOUT_MS_DEFAULT;
	if (!admit_st.o.max_age_ms)
		admit_st.o.max_age_ms = ADMIT_MAX_AGE_MS_DEFAULT;
}

int admit_init(const struct admit_opts *opts)
{
	int err;

	if (admit_st.inited)
		return -EALREADY;
	memset(&admit_st, 0, sizeof(admit_st));
	if (opts->host_name)
		snprintf(admit_st.host, sizeof(admit_st.host), "%s", opts->host_name);
	else if (gethostname(admit_st.host, sizeof(admit_st.host) - 1) || !admit_st.host[0])
		snprintf(admit_st.host, sizeof(admit_st.host), "this host");
	admit_reconfigure(opts);
	err = admit_ctl_register();
	if (err) {
		memset(&admit_st, 0, sizeof(admit_st));
		return err;
	}
	admit_st.inited = true;
	log_info("admission: %s; reserve %llu MiB, reservations time out after %u ms",
		 admit_st.o.enabled ? "incoming VMs admitted when they fit" :
				      "every incoming VM admitted unchecked (admit_enabled is false)",
		 (unsigned long long)(admit_st.o.reserve_memory_bytes >> 20), admit_st.o.timeout_ms);
	return 0;
}

void admit_fini(void)
{
	if (!admit_st.inited)
		return;
	admit_ctl_unregister();
	if (admit_st.timer > 0)
		loop_remove_timer(admit_st.timer);
	while (admit_st.n)
		res_remove(&admit_st.res[admit_st.n - 1]);
	memset(&admit_st, 0, sizeof(admit_st));
}
