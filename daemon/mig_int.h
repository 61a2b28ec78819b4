/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mig_int: what mig's two files share: the active migrations and their
 * state machine (mig.c), libvirt's side of them, its jobs and events
 * (mig_libvirt.c).
 */
#ifndef TIDE_MIG_INT_H
#define TIDE_MIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "loop.h"

#include "mig.h"
#include "mig_record.h"
#include "vconn.h"
#include "vm.h"

/* how long a migration out that stopped (Stopped/Migrated) may wait for
 * its job-completed event before it is closed with the last figures */
#define MIG_END_WAIT_MS 3000
/* libvirt's "no cap" is INT64_MAX >> 20 MiB/s; anything above is none */
#define MIG_UNLIMITED_MIB_S (1ull << 40)
#define MIG_SYNC_RING 8
#define MIG_EXPECT_MAX 16

struct mig_stats {
	int type; /* VIR_DOMAIN_JOB_* */
	int operation;
	uint64_t time_elapsed_ms, downtime_ms, setup_time_ms;
	uint64_t data_total, data_processed, data_remaining;
	uint64_t memory_total, memory_processed, memory_remaining;
	uint64_t memory_bps, memory_dirty_rate, memory_iteration, memory_page_size;
	char errmsg[MIG_ERR_BYTES];
};

struct mig_sync {
	uint32_t iteration;
	uint64_t at_ns; /* CLOCK_MONOTONIC when its event came */
};

#define MIG_URI_BYTES 512

/* A migration tide started (mig_drive.c), escalated by mig_escalate.c. */

struct mig_drive {
	struct mig_drive *next;
	uint64_t gen, id; /* mig_st.gen, the record's id */
	char uuid[VM_UUID_BYTES];
	char name[MIG_NAME_BYTES];
	char dest[MIG_HOST_BYTES];
	char dest_uri[MIG_URI_BYTES];
	uint32_t bandwidth_mib_s, downtime_ms, max_downtime_ms;
	bool auto_converge, postcopy;
	double cpus_expected;
	struct mig_active *act; /* NULL once the record ended */
	struct vconn *vc;
	bool submitted, call_done;
	char call_err[MIG_ERR_BYTES];
	uint64_t next_check_ms; /* elapsed time of the next escalation check */
	uint32_t steps;
	bool aborting, postcopy_started;
	char abort_why[MIG_ERR_BYTES];
	mig_done_fn done;
	void *arg;
	struct loop_defer close_defer;
	bool defer_pending;
	bool orphan; /* mig_fini() let it go while its close was deferred */
};

struct mig_active {
	struct mig_active *next;
	struct mig_drive *drive; /* tide drives it (mig_drive.c); NULL: someone else */
	bool job_seen;		 /* a poll saw libvirt's job running */
	struct mig_record *rec;	 /* in ms.h */
	uint64_t start_mono_ns;
	int poll_timer;
	bool poll_busy;
	bool stopped_migrated;
	int end_timer;
	uint64_t suspended_ns; /* Suspended/Migrated seen; 0: not yet */
	struct mig_sync syncs[MIG_SYNC_RING];
	uint32_t seen_iteration; /* highest memory_iteration polled */
	bool have_prev;		 /* the last poll */
	uint64_t prev_remaining, prev_processed, prev_poll_ns;
	uint64_t last_pending_bytes; /* what the last sync left: the stop-and-copy's share */
};

struct mig_state {
	bool inited;
	uint64_t gen; /* a job of an older mig_init() is stale */
	struct vconn *vc;
	char *uri;
	char *state_dir;
	bool persist;	   /* false: the history file could not be set aside */
	int last_save_err; /* logged once per distinct failure */
	struct mig_history h;
	struct mig_active *act;
	struct {
		char uuid[VM_UUID_BYTES];
		char dest[MIG_HOST_BYTES];
	} expect[MIG_EXPECT_MAX];
	size_t n_expect;
};

extern struct mig_state mig_st;

/* What a migration tide starts runs under, known before libvirt's job. */
struct mig_known {
	const char *dest;
	uint64_t bandwidth_bytes_per_s; /* 0: none */
	uint32_t downtime_limit_ms;
	bool auto_converge;
	struct json_object *driven; /* the record's "driven" member; taken */
};

struct mig_active *mig_act_find(const char *uuid);
void mig_save(void);
struct mig_active *mig_act_begin(const char *uuid, const char *name, enum mig_dir dir,
				 uint64_t now_ns);
void mig_act_end(struct mig_active *a, enum mig_result result, const struct mig_stats *st,
		 const char *why);
/* A migration out that tide starts: its record at once, with k's figures. */
struct mig_active *mig_act_begin_known(const char *uuid, const char *name, uint64_t now_ns,
				       const struct mig_known *k);
/* mig_libvirt.c: k's figures into the record, and the prediction */
void mig_start_known(struct mig_active *a, const struct mig_known *k);
void mig_note_sync(struct mig_active *a, uint32_t iteration, uint64_t now_ns);
enum mig_result mig_result_of(int type);
void mig_on_end_wait(void *arg);
void mig_poll_result(struct mig_active *a, bool gone, const struct mig_stats *st,
		     const struct mig_stats *done, uint64_t now_ns);
void mig_start_params(struct mig_active *a);
void mig_poll_now(struct mig_active *a);
void mig_teardown_events(virConnectPtr conn, void *arg);
int mig_setup_events(virConnectPtr conn, void *arg);
void mig_on_conn_state(struct vconn *vc, bool up, void *arg);

/* mig_ctl.c */
int mig_ctl_register(void);
void mig_ctl_unregister(void);

/* mig_drive.c: the driver's side of a record tide started */
int mig_cmd_migrate(struct json_object *req, struct json_object *reply, void *arg);
/* a poll of the running job (escalation) */
void mig_drive_progress(struct mig_active *a, const struct mig_stats *st, uint64_t now_ns);
/* the record ends (before it is unlinked): why for it, or NULL */
const char *mig_drive_ending(struct mig_active *a);
void mig_drive_ended(struct mig_active *a);
void mig_drive_fini(void);

#endif /* TIDE_MIG_INT_H */
