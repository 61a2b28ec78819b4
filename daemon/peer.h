/* SPDX-License-Identifier: GPL-2.0 */
/*
 * peer: the other hosts, as far as tided knows them today.  Owns a vconn to
 * each configured peer (key peers) and the last node figures read from it
 * (virNodeGetInfo, virNodeGetFreeMemory, and its running domains' CPU time
 * and memory, virConnectGetAllDomainStats, every peer_poll_ms, on vconn's
 * workers), with their age and the last error: what the planner knows of
 * a destination.  The destination itself admits or refuses (admit.h).
 */
#ifndef TIDE_PEER_H
#define TIDE_PEER_H

#include <stdint.h>

#include <json-c/json.h>

#include "tide.h"

struct conf_peer;

struct peer_opts {
	const struct conf_peer *peers;
	size_t n_peers;
	uint32_t poll_ms;	   /* 0: 5000 */
	uint32_t call_timeout_ms;  /* 0: vconn's default */
	uint32_t reconnect_max_ms; /* 0: vconn's default */
};

/* Needs loop and vconn.  Peers that do not answer are no error. */
int peer_init(const struct peer_opts *opts) __tide_must_check;
void peer_fini(void);
/* Follow a new peers list (reload): peers whose name and URI are kept keep
 * their connection. */
int peer_reconfigure(const struct conf_peer *peers, size_t n_peers);

/*
 * Members of the peer called name, added to obj (tidectl status): connected,
 * last_ok_age_ms (null before any answer), cpus, cpu_mhz, memory_bytes,
 * free_memory_bytes, polls_ok, polls_failed, timeouts, last_error ("" while
 * the peer answers).
 */
void peer_fill_json(const char *name, struct json_object *obj);

/* a peer name as the configuration allows it, terminator included */
#define PEER_NAME_BYTES 64

/*
 * Which peer runs the domain uuid now (after a migration started by
 * someone else, whose destination libvirt does not say): each connected
 * peer is asked on its own connection; cb(name, arg) on the loop once
 * all have answered, name NULL when none runs it (or none answered).  cb
 * may run before peer_locate() returns, when no peer is connected.
 */
typedef void (*peer_locate_fn)(const char *name, void *arg);
int peer_locate(const char *uuid, peer_locate_fn cb, void *arg) __tide_must_check;

/* What the planner reads of peer i (0 .. peer_count() - 1). */
struct peer_state {
	const char *name; /* valid until the next reconfiguration */
	bool connected;
	bool answered;	 /* read at least once */
	bool failing;	 /* the last read failed */
	uint64_t age_ms; /* of the last good read */
	uint32_t cpus;	 /* capacity: the peer's conf cpus, else its node's */
	uint64_t memory_bytes;
	/* free: with a conf memory_mib, that less its domains' memory (a
	 * testbed's hosts share one machine); else the node's free memory */
	uint64_t free_memory_bytes;
	bool load_known; /* two reads of its domains */
	double cpu_used; /* CPUs its running domains used between them */
	uint32_t n_domains;
	uint64_t domains_memory_bytes;
};
size_t peer_count(void);
int peer_state_get(size_t i, struct peer_state *out) __tide_must_check;

#endif /* TIDE_PEER_H */
