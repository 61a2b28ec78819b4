/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mig: the record of every migration of a domain of this host's libvirt,
 * whoever started it (tide, virsh, another manager): when it starts, what
 * tide predicted for it, each pre-copy pass as it ends (fed to the dirty
 * estimator as points of W(t)), and libvirt's figures of its end.  The
 * records live in state_dir (mig_record.h), survive a restart, and are
 * shown by "migration list" / "migration show" and the textfile export.
 *
 * Requests (ctl):
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

/* tide_migrations_total, tide_migration_downtime_seconds,
 * tide_migration_predicted_downtime_seconds into p (textfile). */
void mig_fill_prom(struct prom *p);

#endif /* TIDE_MIG_H */
