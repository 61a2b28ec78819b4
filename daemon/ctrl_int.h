/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctrl_int: what ctrl's two files share: the snapshot the planner reads
 * and its storage (ctrl_snap.c builds it), and the options.
 */
#ifndef TIDE_CTRL_INT_H
#define TIDE_CTRL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "plan.h"

/* The planner's snapshot and the memory behind it, rebuilt every tick. */
struct ctrl_snap {
	struct plan_snapshot s;
	struct plan_host hosts[PLAN_MAX_HOSTS];
	struct plan_vm *vms; /* cap_vms */
	uint32_t cap_vms;
	/* predictions, vm i to host j at [i * n_hosts + j] */
	struct model_result *pred;
	bool *pred_ok;
	uint32_t cap_pred;
	struct plan_inflight inflight[PLAN_MAX_MOVES * 4];
	double vm_cpus[PLAN_MAX_VMS]; /* for the destination's admission */
};

/*
 * Fill snap from the store, the peers and the migration records; the
 * model's predictions too when predict is set (every VM to every peer:
 * the costly part, done only when a decision may need them).  draining:
 * this host's.  0 or -errno (-E2BIG: more VMs than the planner takes).
 */
int ctrl_snap_build(struct ctrl_snap *snap, const struct plan_opts *o, bool predict, bool draining);
void ctrl_snap_free(struct ctrl_snap *snap);

/* plan_opts from conf; -EINVAL (logged) when they do not hold together. */
int ctrl_opts_from_conf(struct plan_opts *o);

#endif /* TIDE_CTRL_INT_H */
