// SPDX-License-Identifier: GPL-2.0
/*
 * peer: connections to the other hosts and their node figures.  See peer.h.
 *
 * One timer polls every peer; a peer whose previous read has not completed
 * is skipped, so a peer that stops answering has at most one call in
 * flight (vconn completes it with -ETIMEDOUT at the deadline).  The call's
 * arg is its own allocation, which forgets its peer when the peer is
 * dropped: a call completes after vconn_close(), and one that outlives its
 * deadline keeps the arg until libvirt returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "loop.h"
#include "peer.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

#define PEER_POLL_MS_DEFAULT 5000
#define PEER_ERR_BYTES VCONN_ERR_BYTES

/* one domain of a peer, as its last read saw it */
struct peer_dom {
	char uuid[VIR_UUID_STRING_BUFLEN];
	uint64_t cpu_ns;
	uint64_t memory_bytes;
};

struct peer {
	char *name;
	char *uri;
	uint32_t cap_cpus;	   /* conf's capacity; 0: the node's */
	uint64_t cap_memory_bytes; /* conf's; 0: the node's */
	struct peer_dom *doms;	   /* the last read of its domains */
	size_t n_doms;
	bool have_doms;
	uint64_t doms_taken_ns; /* CLOCK_MONOTONIC of that read */
	bool load_known;
	double cpu_used; /* CPUs its domains used between the last two reads */
	struct vconn *vc;
	struct poll_call *in_flight; /* its p is cleared if the peer goes first */
	bool failing;		     /* the last read failed: log changes only */
	uint64_t last_ok_ms;	     /* monotonic; 0: never */
	uint32_t cpus, cpu_mhz;
	uint64_t memory_bytes, free_memory_bytes;
	uint64_t polls_ok, polls_failed;
	char last_error[PEER_ERR_BYTES];
};

struct poll_call {
	struct peer *p; /* NULL once the peer is gone */
	virNodeInfo info;
	uint64_t free_bytes;
	struct peer_dom *doms;
	size_t n_doms;
	bool have_doms; /* false: the domains could not be read (not fatal) */
	uint64_t doms_taken_ns;
};

static struct {
	bool inited;
	struct peer_opts o;
	struct peer **peers; /* each its own allocation: vconn holds it */
	size_t n_peers;
	int timer;
} ps;

/* Worker: the running domains' CPU time and memory (the peer's load). */
static void read_domains(virConnectPtr conn, struct poll_call *c)
{
	virDomainStatsRecordPtr *recs = NULL;
	int n = 0;

	if (virt_connect_get_all_domain_stats(conn,
					      VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON,
					      VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING, &recs, &n))
		return;
	c->doms = calloc(n > 0 ? (size_t)n : 1, sizeof(*c->doms));
	if (!c->doms)
		goto cleanup;
	for (int i = 0; i < n; i++) {
		struct peer_dom *d = &c->doms[c->n_doms];
		unsigned long long v = 0;

		if (virt_domain_get_uuid_string(recs[i]->dom, d->uuid))
			continue;
		if (virTypedParamsGetULLong(recs[i]->params, recs[i]->nparams, "cpu.time", &v) == 1)
			d->cpu_ns = v;
		v = 0;
		if (virTypedParamsGetULLong(recs[i]->params, recs[i]->nparams, "balloon.maximum",
					    &v) == 1)
			d->memory_bytes = (uint64_t)v << 10; /* KiB */
		c->n_doms++;
	}
	c->have_doms = true;
	c->doms_taken_ns = util_monotonic_ns();
cleanup:
	virt_domain_stats_free(recs);
}

static int poll_run(virConnectPtr conn, void *arg)
{
	struct poll_call *c = arg;
	int err;

	err = virt_node_get_info(conn, &c->info);
	if (!err)
		err = virt_node_get_free_memory(conn, &c->free_bytes);
	if (!err)
		read_domains(conn, c);
	return err;
}

static void poll_free(void *arg)
{
	struct poll_call *c = arg;

	free(c->doms);
	free(c);
}

/*
 * Loop: the CPUs the peer's domains used since the previous read, from
 * the domains present in both (one that left or arrived between them
 * would count its whole life).
 */
static void take_domains(struct peer *p, struct poll_call *c)
{
	if (!c->have_doms)
		return;
	if (p->have_doms && c->doms_taken_ns > p->doms_taken_ns) {
		uint64_t used_ns = 0;

		for (size_t i = 0; i < c->n_doms; i++)
			for (size_t k = 0; k < p->n_doms; k++)
				if (!strcmp(c->doms[i].uuid, p->doms[k].uuid) &&
				    c->doms[i].cpu_ns >= p->doms[k].cpu_ns)
					used_ns += c->doms[i].cpu_ns - p->doms[k].cpu_ns;
		p->cpu_used = (double)used_ns / (double)(c->doms_taken_ns - p->doms_taken_ns);
		p->load_known = true;
	}
	free(p->doms);
	p->doms = c->doms;
	p->n_doms = c->n_doms;
	c->doms = NULL;
	p->have_doms = true;
	p->doms_taken_ns = c->doms_taken_ns;
}

static void poll_failed(struct peer *p, const char *err)
{
	char msg[PEER_ERR_BYTES];

	p->polls_failed++;
	snprintf(msg, sizeof(msg), "peer '%s': %s", p->name, err);
	/* every few seconds for a peer that is down: say it when it changes */
	if (!p->failing || strcmp(msg, p->last_error) != 0)
		log_warn("%s", msg);
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	p->failing = true;
}

static void poll_done(int result, const char *err, void *arg)
{
	struct poll_call *c = arg;
	struct peer *p = c->p;

	if (!p)
		return;
	p->in_flight = NULL;
	if (result) {
		poll_failed(p, err);
		return;
	}
	if (p->failing)
		log_notice("peer '%s' (%s) answers again", p->name, p->uri);
	p->failing = false;
	p->last_error[0] = '\0';
	p->polls_ok++;
	p->last_ok_ms = loop_now_ms();
	p->cpus = c->info.cpus;
	p->cpu_mhz = c->info.mhz;
	p->memory_bytes = (uint64_t)c->info.memory << 10; /* KiB */
	p->free_memory_bytes = c->free_bytes;
	take_domains(p, c);
}

static const struct vconn_call poll_call = {
	.what = "virNodeGetInfo",
	.run = poll_run,
	.done = poll_done,
	.release = poll_free,
};

static void poll_one(struct peer *p)
{
	struct poll_call *c;
	int err;

	if (p->in_flight)
		return;
	if (!vconn_connected(p->vc)) {
		const char *e = vconn_last_error(p->vc);

		poll_failed(p, e[0] ? e : "not connected yet (the first connection is being made)");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->p = p;
	err = vconn_call(p->vc, &poll_call, c);
	if (err) {
		free(c);
		poll_failed(p, strerror(-err));
		return;
	}
	p->in_flight = c;
}

static void on_poll(void *arg)
{
	for (size_t i = 0; i < ps.n_peers; i++)
		poll_one(ps.peers[i]);
}

static void on_state(struct vconn *vc, bool up, void *arg)
{
	struct peer *p = arg;

	if (up) {
		log_info("peer '%s': connected to '%s'", p->name, p->uri);
		poll_one(p); /* figures now, not a poll interval later */
	}
}

static void peer_free(struct peer *p)
{
	if (!p)
		return;
	/* a call in flight completes later, without its peer */
	if (p->in_flight)
		p->in_flight->p = NULL;
	vconn_close(p->vc);
	free(p->doms);
	free(p->name);
	free(p->uri);
	free(p);
}

static void peers_free(struct peer **peers, size_t n)
{
	for (size_t i = 0; peers && i < n; i++)
		peer_free(peers[i]);
	free(peers);
}

static int peer_start(struct peer **out, const struct conf_peer *cp)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct vconn_opts o = {
		.call_timeout_ms = ps.o.call_timeout_ms,
		.reconnect_max_ms = ps.o.reconnect_max_ms,
		.on_state = on_state,
		.arg = p,
	};

	int err;

	if (!p)
		return -ENOMEM;
	*out = p;
	p->name = strdup(cp->name);
	p->uri = strdup(cp->uri);
	p->cap_cpus = cp->cpus;
	p->cap_memory_bytes = cp->memory_bytes;
	if (!p->name || !p->uri)
		return -ENOMEM;
	o.uri = p->uri;
	o.arg = p;
	err = vconn_open(&o, &p->vc);
	if (err)
		p->vc = NULL;
	return err;
}

int peer_reconfigure(const struct conf_peer *cps, size_t n)
{
	struct peer **old = ps.peers, **peers;
	size_t n_old = ps.n_peers;
	int err = 0;

	if (!ps.inited)
		return -ENODEV;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	peers = calloc(n ? n : 1, sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct peer *keep = NULL;

		for (size_t k = 0; k < n_old && !keep; k++)
			if (old[k] && !strcmp(old[k]->name, cps[i].name) &&
			    !strcmp(old[k]->uri, cps[i].uri))
				keep = old[k], old[k] = NULL;
		if (!keep) {
			err = peer_start(&peers[i], &cps[i]);
			if (err)
				break;
			log_info("peer '%s' (%s) added", cps[i].name, cps[i].uri);
			continue;
		}
		keep->cap_cpus = cps[i].cpus;
		keep->cap_memory_bytes = cps[i].memory_bytes;
		peers[i] = keep;
	}
	if (err) {
		log_err("cannot set up the peers: %s", strerror(-err));
		peers_free(peers, n);
		return err;
	}
	ps.peers = peers;
	ps.n_peers = n;
	peers_free(old, n_old);
	return 0;
}

int peer_init(const struct peer_opts *opts)
{
	int err;

	if (ps.inited)
		return -EALREADY;
	memset(&ps, 0, sizeof(ps));
	ps.o = *opts;
	if (!ps.o.poll_ms)
		ps.o.poll_ms = PEER_POLL_MS_DEFAULT;
	ps.inited = true;
	err = peer_reconfigure(opts->peers, opts->n_peers);
	if (!err)
		err = loop_add_periodic(ps.o.poll_ms, ps.o.poll_ms / 10, on_poll, NULL, &ps.timer);
	if (err)
		peer_fini();
	return err;
}

void peer_fini(void)
{
	if (!ps.inited)
		return;
	if (ps.timer > 0)
		loop_remove_timer(ps.timer);
	peers_free(ps.peers, ps.n_peers);
	memset(&ps, 0, sizeof(ps));
}

/* ---- which peer runs a domain ------------------------------------------- */

struct locate {
	peer_locate_fn cb;
	void *arg;
	size_t pending;
	char found[PEER_NAME_BYTES]; /* "" while none */
};

struct locate_call {
	struct locate *l;
	char uuid[VIR_UUID_STRING_BUFLEN];
	char name[PEER_NAME_BYTES];
};

static int locate_run(virConnectPtr conn, void *arg)
{
	struct locate_call *c = arg;
	virDomainPtr dom = NULL;
	int err, active;

	err = virt_domain_lookup_by_uuid_string(conn, c->uuid, &dom);
	if (err)
		return err;
	active = virt_domain_is_active(dom);
	virt_domain_free(dom);
	return active > 0 ? 0 : active < 0 ? active : -ENOENT;
}

static void locate_done(int result, const char *err, void *arg)
{
	struct locate_call *c = arg;
	struct locate *l = c->l;

	if (!result && !l->found[0])
		snprintf(l->found, sizeof(l->found), "%s", c->name);
	else if (result && result != -ENOENT)
		log_debug("peer '%s': cannot tell whether it runs domain %s: %s", c->name, c->uuid,
			  err);
	if (--l->pending)
		return;
	l->cb(l->found[0] ? l->found : NULL, l->arg);
	free(l);
}

static const struct vconn_call locate_call = {
	.what = "virDomainLookupByUUIDString",
	.run = locate_run,
	.done = locate_done,
	.release = free,
};

int peer_locate(const char *uuid, peer_locate_fn cb, void *arg)
{
	struct locate *l;

	if (!ps.inited || !uuid || !cb)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cb = cb;
	l->arg = arg;
	/* one more than the calls: none completes before all are made */
	l->pending = 1;
	for (size_t i = 0; i < ps.n_peers; i++) {
		struct peer *p = ps.peers[i];
		struct locate_call *c;

		if (!vconn_connected(p->vc))
			continue;
		c = calloc(1, sizeof(*c));
		if (!c)
			break;
		c->l = l;
		snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
		snprintf(c->name, sizeof(c->name), "%s", p->name);
		l->pending++;
		if (vconn_call(p->vc, &locate_call, c)) {
			l->pending--;
			free(c);
		}
	}
	if (--l->pending == 0) {
		/* no peer to ask: the answer is now */
		cb(l->found[0] ? l->found : NULL, arg);
		free(l);
	}
	return 0;
}

#define ADD(obj, key, val) json_object_object_add(obj, key, val)

void peer_fill_json(const char *name, struct json_object *obj)
{
	const struct peer *p = NULL;

	for (size_t i = 0; i < ps.n_peers && !p; i++)
		if (!strcmp(ps.peers[i]->name, name))
			p = ps.peers[i];
	if (!p)
		return;
	ADD(obj, "connected", json_object_new_boolean(vconn_connected(p->vc)));
	ADD(obj, "last_ok_age_ms",
	    p->last_ok_ms ? json_object_new_int64((int64_t)(loop_now_ms() - p->last_ok_ms)) : NULL);
	ADD(obj, "cpus", json_object_new_int64(p->cpus));
	ADD(obj, "cpu_mhz", json_object_new_int64(p->cpu_mhz));
	ADD(obj, "memory_bytes", json_object_new_int64((int64_t)p->memory_bytes));
	ADD(obj, "free_memory_bytes", json_object_new_int64((int64_t)p->free_memory_bytes));
	ADD(obj, "polls_ok", json_object_new_int64((int64_t)p->polls_ok));
	ADD(obj, "polls_failed", json_object_new_int64((int64_t)p->polls_failed));
	ADD(obj, "timeouts", json_object_new_int64((int64_t)vconn_timeouts(p->vc)));
	ADD(obj, "last_error", json_object_new_string(p->last_error));
	ADD(obj, "domains", json_object_new_int64((int64_t)p->n_doms));
	ADD(obj, "cpu_used", p->load_known ? json_object_new_double(p->cpu_used) : NULL);
	ADD(obj, "capacity_cpus", p->cap_cpus ? json_object_new_int64(p->cap_cpus) : NULL);
	ADD(obj, "capacity_memory_bytes",
	    p->cap_memory_bytes ? json_object_new_int64((int64_t)p->cap_memory_bytes) : NULL);
}

/* ---- what the planner reads ------------------------------------------------- */

size_t peer_count(void)
{
	return ps.inited ? ps.n_peers : 0;
}

int peer_state_get(size_t i, struct peer_state *out)
{
	const struct peer *p;
	uint64_t doms_mem = 0;

	if (!ps.inited || i >= ps.n_peers)
		return -ENOENT;
	p = ps.peers[i];
	memset(out, 0, sizeof(*out));
	out->name = p->name;
	out->connected = vconn_connected(p->vc);
	out->answered = p->last_ok_ms != 0;
	out->age_ms = p->last_ok_ms ? loop_now_ms() - p->last_ok_ms : 0;
	out->failing = p->failing;
	for (size_t k = 0; k < p->n_doms; k++)
		doms_mem += p->doms[k].memory_bytes;
	out->n_domains = (uint32_t)p->n_doms;
	out->domains_memory_bytes = doms_mem;
	out->cpus = p->cap_cpus ? p->cap_cpus : p->cpus;
	out->memory_bytes = p->cap_memory_bytes ? p->cap_memory_bytes : p->memory_bytes;
	/* a capacity of the configuration's: what its domains leave of it */
	if (p->cap_memory_bytes)
		out->free_memory_bytes = p->cap_memory_bytes > doms_mem ?
						 p->cap_memory_bytes - doms_mem :
						 0;
	else
		out->free_memory_bytes = p->free_memory_bytes;
	out->load_known = p->load_known;
	out->cpu_used = p->cpu_used;
	return 0;
}
