/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mig: the record of every migration of a domain of this host's libvirt,
 * whoever started it (tide, virsh, another manager): when it starts, what
 * tide predicted for it, each pre-copy pass as it ends (fed to the dirty
 * estimator as points of W(t)), and libvirt's figures of its end.  The
 * records live in state_dir (mig_record.h), survive a restart, and are
 * shown by "migration list" / "migration show" and the textfile export.
 *
 * It also drives the migrations tide starts (mig_drive.c): libvirt's
 * peer-to-peer live migration to a configured peer, with the bandwidth
 * cap, downtime limit and remedies of the order set from the start,
 * followed every poll against its prediction and escalated when it falls
 * behind: the downtime limit stepped up to the VM's allowed maximum, then
 * post-copy where allowed, else aborted (the VM keeps running here).
 *
 * Requests (ctl):
 *     {"cmd": "migrate", "vm": NAME, "dest": PEER, ...}  start one (below)
 *     {"cmd": "migration list"}                 every record, oldest first,
 *                                               without their passes
 *     {"cmd": "migration list", "passes": true} with them
 *     {"cmd": "migration show", "id": N}        one record with its passes
 * Reply: {"migrations": [record, ...]}; members in tidectl(8).
 *
 * Loop thread only.
 */
#ifndef TIDE_MIG_H
#define TIDE_MIG_H

#include <stdbool.h>
#include <stdint.h>

#include "mig_record.h"
#include "prom.h"
#include "tide.h"

/* how often a running migration's job stats are read */
#define MIG_POLL_MS 200

/*
 * Needs conf, loop, virt, work and vconn (its own connection to
 * libvirt_uri, for the events), and store for the predictions.  A history
 * that cannot be read is logged, never fatal.
 */
int mig_init(void) __tide_must_check;
void mig_fini(void);

/*
 * The destination of the next migration of uuid, for a driver that knows
 * it (a migration started by tide): used when it starts, for the
 * prediction and the calibration.  -EINVAL for a name calibration refuses.
 */
int mig_expect(const char *uuid, const char *dest) __tide_must_check;

/* A migration for tide to start and drive. */
struct mig_order {
	const char *vm;		    /* name or uuid, of this host */
	const char *dest;	    /* a configured peer's name */
	uint32_t bandwidth_mib_s;   /* 0: migration_bandwidth_mib_s (0 there: none) */
	uint32_t downtime_limit_ms; /* 0: migration_downtime_limit_ms */
	uint32_t max_downtime_ms;   /* escalation's ceiling; 0: migration_max_downtime_ms */
	bool auto_converge;	    /* QEMU's auto-converge from the start */
	bool postcopy;		    /* may switch to post-copy (needs migration_postcopy) */
	double cpus_expected; /* CPUs it needs, for the destination's admission; <0: unknown */
	const char *reason;   /* why: "manual", "overload", "underload", "drain" */
};

/* Loop: the migration ended (r: its record, valid during the call). */
typedef void (*mig_done_fn)(const struct mig_record *r, void *arg);

/*
 * Start it: 0 and its record's id (the record exists at once; libvirt's
 * job follows), or -errno and a sentence in err: -ENOENT no such VM here,
 * -EINVAL not a peer, -EBUSY a migration of it already runs.  done (may be
 * NULL) runs once when it ends, whichever way.
 */
int mig_start(const struct mig_order *o, mig_done_fn done, void *arg, uint64_t *id, char *err,
	      size_t err_bytes) __tide_must_check;
/* Migrations this tided started that still run. */
uint32_t mig_driven(void);
/* Any migration of uuid (whoever started it) running now. */
bool mig_running(const char *uuid);
/* The records, oldest first (the planner's cooldown and no-return rules). */
const struct mig_history *mig_records(void);

/* tide_migrations_total, tide_migration_downtime_seconds,
 * tide_migration_predicted_downtime_seconds into p (textfile). */
void mig_fill_prom(struct prom *p);

#endif /* TIDE_MIG_H */
