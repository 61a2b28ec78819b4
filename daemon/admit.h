/* SPDX-License-Identifier: GPL-2.0 */
/*
 * admit: admission of incoming migrations at this host.  Owns the
 * reservations of memory and CPU made for VMs on their way here, the
 * decision to make one or to refuse, and their release.
 *
 * libvirt's qemu hook (tide-qemu-hook, operation "migrate begin") asks
 * through the control socket before the destination QEMU starts; a refusal
 * makes libvirt fail the migration at prepare, before any memory is sent.
 *
 * Requests (ctl):
 *     {"cmd": "admit", "name": N, "uuid": U, "memory_bytes": B, "vcpus": V,
 *      "cpus_expected": X (optional), "source": S (optional)}
 *         -> {"ok": true, "admit": true, "reservation": ID, "host": H}
 *         or {"ok": true, "admit": false, "reason": "tide on H refused ..."}
 *         (a refusal is an answer, not an error)
 *     {"cmd": "admit release", "uuid": U (or "name": N), "why": W (optional)}
 *         -> {"ok": true, "released": true|false, "reservation": ID|null}
 *     {"cmd": "admit list"}
 *         -> {"ok": true, "host", "enabled", "draining", "reservations": [...],
 *             "capacity": {...}|null, "capacity_error", counters}
 * Members in tidectl(8) (tidectl host admissions).
 *
 * Reservations live in memory: after a restart of tided, a VM still on its
 * way here is counted once the inventory sees it (its memory as a VM's).
 *
 * Loop thread only.
 */
#ifndef TIDE_ADMIT_H
#define TIDE_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "prom.h"
#include "tide.h"

/* at most this many reservations stand at once */
#define ADMIT_MAX_RESERVATIONS 64
#define ADMIT_TIMEOUT_MS_DEFAULT 120000
#define ADMIT_MAX_AGE_MS_DEFAULT 10000

/*
 * This host's capacity and what its VMs use now, as the decision reads
 * them (the capacity callback fills it, once per request).
 */
struct admit_capacity {
	uint64_t memory_bytes;	    /* what VMs may use here in all, before the reserve */
	uint64_t memory_used_bytes; /* of the VMs here, less those admit_counts_memory() */
	double cpus;		    /* CPU capacity, in CPUs */
	double cpu_used;	    /* CPUs the VMs here use now */
	double cpu_high_ratio;	    /* the CPU load admission never passes (plan_high) */
	uint64_t age_ms;	    /* of the oldest of these figures */
};

/* 0, or -errno with a sentence in why ("no load figures yet") */
typedef int (*admit_capacity_fn)(struct admit_capacity *out, char *why, size_t why_bytes, void *arg);

struct admit_opts {
	admit_capacity_fn capacity;
	void *arg;
	bool enabled;		       /* false: admit every VM, unchecked (admit_enabled) */
	uint64_t reserve_memory_bytes; /* never given to VMs (admit_reserve_memory_mib) */
	uint32_t timeout_ms;	       /* a reservation whose VM is not seen here goes after
					* this (admit_timeout_ms); 0: the default */
	uint32_t max_age_ms;	       /* figures older than this refuse; 0: the default */
	uint32_t settle_ms;	       /* a VM running here keeps its reservation's CPU
					* this long, until the load figures count it */
	const char *host_name;	       /* in the replies; NULL: gethostname() */
};

/* Needs loop and ctl's table (its commands). */
int admit_init(const struct admit_opts *opts) __tide_must_check;
void admit_fini(void);
/* New limits (a reload); reservations stand. */
void admit_reconfigure(const struct admit_opts *opts);

/* While draining, every incoming VM is refused (the integrator's planner). */
void admit_set_draining(bool draining);

/*
 * What the inventory sees of domain uuid here.  Running: its reservation
 * is released (its CPU share is kept settle_ms more); present but not
 * running yet (an incoming migration in progress): its deadline moves on,
 * so a long migration keeps its reservation.
 */
void admit_domain_running(const char *uuid);
void admit_domain_present(const char *uuid);

/*
 * Whether a reservation stands for the memory of uuid: the capacity
 * callback then leaves that VM out of memory_used_bytes, so an incoming VM
 * is not counted twice.
 */
bool admit_counts_memory(const char *uuid);

/* tide_admissions_total{result}, tide_admission_releases_total{why},
 * tide_admission_reservations into p (textfile). */
void admit_fill_prom(struct prom *p);
/* Members of status: "admissions" {enabled, draining, reservations,
 * admitted, refused, last_refusal}. */
void admit_fill_json(struct json_object *obj);

/*
 * admit wired into tided (admit_host.c): the options from the configuration
 * (followed on reload), the capacity from the store (host_memory_mib or
 * MemTotal, the VMs' memory, the host's CPU load; figures as old as the
 * last tick), and after each tick the reserved VMs the store tracks told
 * to admit (running or present).  Needs conf, loop, ctl, collect, inv.
 */
/* until the planner's plan_high reaches the configuration */
#define ADMIT_CPU_HIGH_DEFAULT 0.8
int admit_host_init(void) __tide_must_check;
void admit_host_fini(void);

#endif /* TIDE_ADMIT_H */
