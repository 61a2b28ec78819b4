/* SPDX-License-Identifier: GPL-2.0 */
/*
 * admit_int: what admit's two files share: the reservations and the
 * decision (admit.c), the control commands that reach them (admit_ctl.c).
 */
#ifndef TIDE_ADMIT_INT_H
#define TIDE_ADMIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "vm.h"

#define ADMIT_REASON_BYTES 1024
#define ADMIT_SOURCE_BYTES 64
#define ADMIT_NAME_MAX_BYTES 1024
#define ADMIT_VCPUS_MAX 16384

enum admit_res_state {
	RES_RESERVED, /* the VM is on its way: memory and CPU held */
	RES_ARRIVED,  /* it runs here: only its CPU share, until settled */
};

enum admit_why {
	WHY_REQUEST,
	WHY_RUNNING,
	WHY_TIMEOUT,
	WHY_REPLACED,
	WHY_N,
};

extern const char *const admit_why_names[WHY_N];

struct admit_res {
	uint64_t id;
	char uuid[VM_UUID_BYTES]; /* lower case */
	char *name;
	char source[ADMIT_SOURCE_BYTES]; /* "" when the hook did not know */
	uint64_t memory_bytes;
	uint32_t vcpus;
	double cpus;	     /* expected */
	bool cpus_from_meta; /* else the vCPUs */
	enum admit_res_state state;
	uint64_t created_ms, deadline_ms; /* loop_now_ms() */
};

/* what a request asks for */
struct admit_request {
	const char *name, *uuid, *source;
	uint64_t memory_bytes;
	uint32_t vcpus;
	double cpus;
	bool cpus_from_meta;
};

struct admit_state {
	bool inited;
	struct admit_opts o;
	char host[65]; /* HOST_NAME_MAX + 1 */
	bool draining;
	struct admit_res res[ADMIT_MAX_RESERVATIONS];
	size_t n;
	uint64_t next_id;
	int timer; /* one-shot at the earliest deadline; 0: none */
	uint64_t admitted, refused, released[WHY_N];
	char last_refusal[ADMIT_REASON_BYTES];
};

extern struct admit_state admit_st;

/* the standing reservations, but skip */
struct admit_sums {
	uint64_t memory_bytes; /* of those still waiting for their VM */
	double cpus;	       /* of every one */
	unsigned int n;
};

/* what the host has left */
struct admit_room {
	uint64_t memory_limit_bytes, memory_free_bytes;
	double cpu_limit, cpu_free;
};

struct admit_res *admit_res_find(const char *uuid);
struct admit_res *admit_res_find_name(const char *name);
void admit_release(struct admit_res *r, enum admit_why why, const char *detail);
void admit_sum(const struct admit_res *skip, struct admit_sums *s);
void admit_room_of(const struct admit_capacity *c, const struct admit_sums *s,
		   struct admit_room *out);
/* The capacity callback's answer: 0, or -errno with a sentence in why. */
int admit_capacity_now(struct admit_capacity *c, char *why, size_t why_bytes);
/* Admit rq or not (reason: what is left, or why not); skip: its old
 * reservation, which the answer replaces. */
bool admit_decide(const struct admit_request *rq, const struct admit_res *skip, char *reason,
		  size_t reason_bytes);
/* The reservation for rq (admitted), or NULL when out of memory. */
struct admit_res *admit_reserve(const struct admit_request *rq);

/* admit_ctl.c */
int admit_ctl_register(void);
void admit_ctl_unregister(void);

#endif /* TIDE_ADMIT_INT_H */
