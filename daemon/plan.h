/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plan: the control loop's decisions.  From a snapshot of this host (its
 * VMs, their loads, the model's predictions of moving each VM to each
 * peer, the peers' figures and their age, the migrations in flight) it
 * says which of this host's VMs to migrate where, or why none, with the
 * whole explanation.  It owns only the smoothing and hysteresis kept
 * between calls (struct plan_state, the caller's memory).
 *
 * Pure: no libvirt, no loop, no clock of its own, no I/O, no allocation;
 * the same snapshot and state give the same result.  tided calls it after
 * each tick; tidesim links plan.c, plan_pick.c, plan_modes.c (and
 * plan_json.c, model.c) unchanged, one plan_state per simulated host.  The
 * rules and where they come from are at the top of plan.c.
 *
 *	struct plan_state st;
 *	struct plan_opts o;
 *	struct plan_result r;
 *	plan_state_init(&st);
 *	plan_opts_default(&o);
 *	... every tick: fill a plan_snapshot ...
 *	if (!plan_step(&st, &snap, &o, &r))
 *		for (i = 0; i < r.n_moves; i++) start r.moves[i] (unless dry run)
 */
#ifndef TIDE_PLAN_H
#define TIDE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tide.h"

/* Fixed tables: a snapshot with more is refused with -E2BIG. */
#define PLAN_MAX_HOSTS 64 /* this host and its peers */
#define PLAN_MAX_VMS 256  /* this host's VMs */
#define PLAN_MAX_MOVES 16
#define PLAN_MAX_REJECTED 32
#define PLAN_NAME_BYTES 64 /* a host or VM name, terminator included */
#define PLAN_UUID_BYTES 37
/* a plan_move's vm or dst that names nothing (a reason about a VM as a
 * whole, or about the host) */
#define PLAN_NONE UINT32_MAX

/*
 * A migration's cost in milliseconds: its predicted downtime, plus its
 * bytes at this rate (the time they keep a 1 GiB/s link busy).  See the
 * score in plan.c.
 */
#define PLAN_COST_BYTES_PER_MS (1u << 20)

/* ---- options -------------------------------------------------------- */

/* Defaults suit the testbed (ticks of 100 ms to 1 s, scenarios of minutes);
 * production values are in tided.conf(5), PLANNER. */
#define PLAN_DEFAULT_HIGH 0.80
#define PLAN_DEFAULT_LOW 0.30
#define PLAN_DEFAULT_HOLD_UP_MS 3000
#define PLAN_DEFAULT_HOLD_DOWN_MS 30000
#define PLAN_DEFAULT_EWMA_MS 2000
#define PLAN_DEFAULT_COOLDOWN_MS 30000
#define PLAN_DEFAULT_NO_RETURN_MS 60000
#define PLAN_DEFAULT_MAX_OUTGOING 1
#define PLAN_DEFAULT_MAX_INCOMING 1
#define PLAN_DEFAULT_MAX_PEER_AGE_MS 15000 /* three peer polls of 5 s */
#define PLAN_DEFAULT_DOWNTIME_LIMIT_MS 300 /* QEMU's, libvirt's */

struct plan_opts {
	double high, low;	  /* load ratio thresholds: 0 <= low < high */
	uint32_t hold_up_ms;	  /* above high this long: overloaded */
	uint32_t hold_down_ms;	  /* below low this long: underloaded */
	uint32_t ewma_ms;	  /* smoothing time constant (0: none) */
	uint32_t cooldown_ms;	  /* a VM that just arrived or left stays */
	uint32_t no_return_ms;	  /* a VM's previous host is no destination */
	uint32_t max_outgoing;	  /* migrations from this host at once, >= 1 */
	uint32_t max_incoming;	  /* migrations to one destination at once, >= 1 */
	uint32_t max_peer_age_ms; /* older figures: the peer is no destination */
	/* what a migration gets without a remedy, and the VMs' maximum
	 * downtime when their policy says none */
	uint32_t default_downtime_limit_ms;
	bool consolidate; /* empty an underloaded host */
};

void plan_opts_default(struct plan_opts *o);
/* 0, or -EINVAL with a sentence in err (err may be NULL). */
int plan_opts_check(const struct plan_opts *o, char *err, size_t err_bytes);

/* ---- the snapshot (the caller's memory, read only) ------------------ */

struct plan_host {
	char name[PLAN_NAME_BYTES]; /* unique in the snapshot */
	bool reachable;		    /* peers: answered recently */
	uint64_t age_ms;	    /* of these figures */
	uint32_t cpus;		    /* capacity; 0 for a peer: no figures yet */
	uint64_t memory_bytes;
	uint64_t free_memory_bytes; /* now, reservations for incoming VMs out */
	/* CPUs busy now, raw (not smoothed): self, its VMs' on-CPU time plus
	 * run-queue wait; a peer, its node CPU */
	double cpu_used;
	double net_ratio; /* network / link capacity, raw, 0..1 */
	bool draining;	  /* a peer: refuses incoming; self: being emptied */
};

struct plan_vm {
	char name[PLAN_NAME_BYTES];
	char uuid[PLAN_UUID_BYTES]; /* unique in the snapshot */
	double cpu_used;	    /* CPUs it uses (on-CPU + wait), raw */
	double net_ratio;	    /* its share of this host's link, raw */
	uint64_t memory_bytes;
	uint32_t vcpus;
	bool pinned;			 /* policy: never moved */
	uint32_t max_downtime_ms;	 /* policy; 0: opts default_downtime_limit_ms */
	int32_t priority;		 /* policy: higher moves later */
	bool migrating;			 /* a migration of it is in flight */
	uint64_t last_moved_ms;		 /* now_ms's clock: last arrival or departure; 0 never */
	char came_from[PLAN_NAME_BYTES]; /* host it last came from, "" unknown */
	/*
	 * The model's prediction of moving it to each host of the snapshot
	 * (index = host index; entry 0, this host, unused), each made with
	 * downtime_limit_ms = plan_downtime_limit_ms() and auto-converge off,
	 * so that its remedies are the ones the planner may choose.
	 * pred_ok[i] false, or either NULL: no prediction for host i.
	 */
	const struct model_result *pred;
	const bool *pred_ok;
};

struct plan_inflight {
	char vm_uuid[PLAN_UUID_BYTES];
	uint32_t src, dst; /* host indices: src 0 outgoing, dst 0 incoming */
};

struct plan_snapshot {
	uint64_t now_ms;	       /* the caller's monotonic clock, never going back */
	const struct plan_host *hosts; /* [0]: this host */
	uint32_t n_hosts;
	const struct plan_vm *vms; /* this host's */
	uint32_t n_vms;
	/* every migration in flight that the caller knows, ours both ways
	 * first: an outgoing VM's load leaves us and lands on its destination */
	const struct plan_inflight *inflight;
	uint32_t n_inflight;
};

/* The downtime limit a migration of vm starts with when no remedy is
 * needed: the smaller of the default and the VM's maximum. */
uint32_t plan_downtime_limit_ms(const struct plan_vm *vm, const struct plan_opts *o);

/* ---- state kept between steps (the caller's memory) ----------------- */

enum plan_host_state {
	PLAN_HOST_NORMAL,
	PLAN_HOST_OVERLOADED,  /* above high for hold_up_ms: spread */
	PLAN_HOST_UNDERLOADED, /* below low for hold_down_ms: consolidate */
	PLAN_HOST_FREED,       /* underloaded with no VM: may be powered off */
	PLAN_HOST_DRAINING,    /* maintenance: every VM to go */
};

struct plan_smooth {
	double cpu_used, net_ratio, mem_ratio; /* EWMA; a VM's mem_ratio unused */
};

struct plan_state {
	bool started;
	uint64_t last_ms;  /* now_ms of the previous step */
	bool above, below; /* the smoothed load's side of high, low */
	uint64_t above_since_ms, below_since_ms, draining_since_ms;
	bool draining;
	enum plan_host_state last_state;
	/* EWMA per host by name, per VM by uuid; entries not in the last
	 * snapshot are dropped, so the tables hold at most one snapshot */
	uint32_t n_hosts, n_vms;
	struct {
		char name[PLAN_NAME_BYTES];
		struct plan_smooth s;
	} hosts[PLAN_MAX_HOSTS];
	struct {
		char uuid[PLAN_UUID_BYTES];
		struct plan_smooth s;
	} vms[PLAN_MAX_VMS];
};

void plan_state_init(struct plan_state *st);

/* ---- decisions ------------------------------------------------------ */

enum plan_action {
	PLAN_MIGRATE,
	PLAN_DECLINE, /* would move, but cannot: why */
};

enum plan_remedy {
	PLAN_REMEDY_NONE,
	PLAN_REMEDY_DOWNTIME,	   /* a higher downtime limit, within the VM's maximum */
	PLAN_REMEDY_AUTO_CONVERGE, /* QEMU's throttling */
};

enum plan_why {
	PLAN_WHY_NONE, /* a chosen move */
	/* the VM as a whole */
	PLAN_WHY_PINNED,
	PLAN_WHY_MIGRATING, /* in flight: never second-guessed */
	PLAN_WHY_COOLDOWN,
	/* the destination as a whole */
	PLAN_WHY_PEER_UNREACHABLE,
	PLAN_WHY_PEER_NO_FIGURES,
	PLAN_WHY_PEER_STALE,
	PLAN_WHY_PEER_DRAINING,
	/* this VM to this destination, in the order they are checked: of
	 * two, the later is the nearer miss */
	PLAN_WHY_NO_RETURN,	  /* it came from there within no_return_ms */
	PLAN_WHY_DEST_NOT_BUSIER, /* consolidation onto a host no busier */
	PLAN_WHY_MAX_INCOMING,
	PLAN_WHY_NO_PREDICTION,
	PLAN_WHY_NO_CONVERGE,	      /* and no remedy within the VM's policy */
	PLAN_WHY_DOWNTIME_OVER_LIMIT, /* converges, downtime above its maximum */
	PLAN_WHY_NO_ROOM_MEMORY,
	PLAN_WHY_NO_ROOM_CPU,
	PLAN_WHY_WOULD_OVERLOAD_DEST, /* above high after the move: no bounce */
	PLAN_WHY_NOT_ENOUGH_RELIEF,   /* its move does not lower the host's load */
	PLAN_WHY_COSTLIER,	      /* possible, but another move was cheaper */
	/* the host */
	PLAN_WHY_MAX_OUTGOING, /* the host's migrations in flight are enough */
	PLAN_WHY_INCOMING,     /* VMs are arriving: not emptying it now */
	PLAN_WHY_NO_PEER,      /* no other host in the snapshot */
	PLAN_WHY_CANNOT_EMPTY, /* consolidation: not every VM fits elsewhere */
};

struct plan_move {
	uint32_t vm, dst; /* snapshot indices, or PLAN_NONE */
	enum plan_action action;
	enum plan_why why; /* PLAN_WHY_NONE for a chosen move */
	enum plan_remedy remedy;
	uint32_t downtime_limit_ms; /* to set before the migration starts */
	bool auto_converge;	    /* likewise */
	struct model_cost cost;	    /* predicted (the remedy's when there is one) */
	double relief;		    /* load ratio it removes from this host */
	double score;		    /* the order compared, lower first */
};

struct plan_result {
	enum plan_host_state state;
	double load_ratio; /* smoothed: max(cpu, net, mem), compared with high/low */
	double cpu_ratio, net_ratio, mem_ratio;
	uint64_t state_for_ms;			/* above high / below low / draining so far */
	const char *trigger;			/* "high", "low", "drain" or "" (static) */
	uint32_t outgoing;			/* our migrations in flight */
	struct plan_move moves[PLAN_MAX_MOVES]; /* to start now, in order */
	uint32_t n_moves;
	/* candidates not chosen and why, the first PLAN_MAX_REJECTED */
	struct plan_move rejected[PLAN_MAX_REJECTED];
	uint32_t n_rejected;
	uint32_t n_rejected_total;
	char summary[256]; /* one sentence for the log: what and why */
};

/*
 * One step: smooth, follow the thresholds, decide.  0; -EINVAL for a bad
 * snapshot or options, -E2BIG for more hosts or VMs than the tables hold:
 * then nothing moves, out->summary says why and st is left as it was.
 */
int plan_step(struct plan_state *st, const struct plan_snapshot *snap, const struct plan_opts *o,
	      struct plan_result *out);

/*
 * The whole evacuation of this host, in order, one entry per VM: a move
 * (cheapest first, assuming each earlier one succeeds: destinations' room
 * taken as it goes) or a decline with why (dst: the destination that came
 * nearest, or PLAN_NONE).  Cooldown and no-return do not apply: a drain is
 * the operator's, not a reaction to load.  st: the smoothed figures of
 * the last plan_step over these hosts and VMs, or NULL to use the raw
 * ones.  0, -EINVAL, -E2BIG, or -ENOSPC when max < n_vms.
 */
int plan_drain(const struct plan_state *st, const struct plan_snapshot *snap,
	       const struct plan_opts *o, struct plan_move *out, uint32_t max, uint32_t *n);

/* Machine-readable names: "normal", "overloaded", ...; "pinned", ...;
 * "none", "downtime", "auto_converge"; "migrate", "decline". */
const char *plan_host_state_name(enum plan_host_state s);
const char *plan_why_name(enum plan_why why);
const char *plan_remedy_name(enum plan_remedy r);
const char *plan_action_name(enum plan_action a);

#endif /* TIDE_PLAN_H */
