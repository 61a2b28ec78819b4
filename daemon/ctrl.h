/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctrl: tided's control loop.  After each tick it builds the planner's
 * snapshot (this host and its VMs from the store, the peers from peer,
 * the model's predictions, the migrations in flight from mig), runs
 * plan_step() and hands the moves to mig_start(), unless plan_dry_run.
 * Owns the planner's state, the last decision (tidectl plan), the drain of
 * this host (tidectl host drain / undrain) and the planner's exports.
 *
 * Requests (ctl):
 *     {"cmd": "host drain", "dry_run": true|false}
 *         the evacuation plan, every VM a move or a decline with why,
 *         and the predicted totals; without dry_run the host then drains
 *     {"cmd": "host undrain"}
 *
 * Loop thread only.
 */
#ifndef TIDE_CTRL_H
#define TIDE_CTRL_H

#include <stdbool.h>

#include "prom.h"
#include "tide.h"

struct json_object;

/* Needs conf, store, peer, predict, mig, react and ctl. */
int ctrl_init(void) __tide_must_check;
void ctrl_fini(void);
/* plan_* keys changed (reload); bad ones keep the previous options. */
void ctrl_reconfigure(void);

/* The last decision, as "decision" in obj (tidectl plan). */
void ctrl_fill_json(struct json_object *obj);
/* tide_planner_load_ratio, tide_host_state, tide_planner_decisions_total. */
void ctrl_fill_prom(struct prom *p);
/* This host is being emptied (it refuses incoming VMs). */
bool ctrl_draining(void);

#endif /* TIDE_CTRL_H */
