/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mig_record: the record of one migration (what was predicted, what
 * happened, pass by pass) and the history of them kept in state_dir.
 * Plain data and files only: no libvirt, no loop; mig.c fills records.
 *
 * The history is one file, state_dir/migrations.json, replaced whole
 * (util_write_file_atomic) when a migration starts and when it ends:
 *     {"format": "tide-migrations", "version": 1, "next_id": N,
 *      "totals": {"completed": N, ...}, "downtime_histogram": {...},
 *      "records": [ record, ... ]}          oldest first
 * A record's members are those of mig_record_to_json() (tidectl(8)).
 */
#ifndef TIDE_MIG_RECORD_H
#define TIDE_MIG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tide.h"
#include "vm.h"

#define MIG_FILE_NAME "migrations.json"
#define MIG_FILE_FORMAT "tide-migrations"
#define MIG_FILE_VERSION 1
#define MIG_NAME_BYTES 256
#define MIG_HOST_BYTES 128
#define MIG_ERR_BYTES 512
/* a migration that never converges syncs every ~100 ms: keep the first ones */
#define MIG_MAX_PASSES 1024
#define MIG_UNKNOWN_HOST "unknown"

enum mig_dir {
	MIG_DIR_OUT, /* this host is the source */
	MIG_DIR_IN,  /* this host is the destination */
};

enum mig_result {
	MIG_RUNNING,
	MIG_COMPLETED,
	MIG_FAILED,
	MIG_CANCELLED,
	MIG_LOST, /* its end was not seen (tided restarted while it ran) */
	MIG_RESULT_N,
};

/* "running", "completed", "failed", "cancelled", "lost" */
const char *mig_result_name(enum mig_result r);
/* -EINVAL for a name that is none of those */
int mig_result_parse(const char *s, enum mig_result *out) __tide_must_check;

/* One pre-copy pass, as the sync that ended it showed it. */
struct mig_pass {
	uint32_t pass;		  /* 1: the bulk pass; its sync is memory_iteration pass + 1 */
	uint64_t duration_ms;	  /* from the sync that began it to the one that ended it */
	uint64_t remaining_bytes; /* memory_remaining as first read after its end */
	uint64_t dirty_pages;	  /* W(duration_ms) derived from it (0 when not derived) */
	bool fed;		  /* given to the dirty estimator */
	uint64_t dirty_rate_pages_per_s; /* QEMU's dirty-pages-rate then */
	uint64_t bps;			 /* QEMU's mbps then, in bytes/s */
};

/* libvirt's figures of the finished job (virDomainGetJobStats). */
struct mig_actual {
	uint64_t time_elapsed_ms;
	uint64_t downtime_ms;
	uint64_t setup_time_ms;
	uint64_t data_total_bytes;
	uint64_t data_processed_bytes;
	uint64_t memory_total_bytes;
	uint64_t memory_processed_bytes;
	uint64_t memory_bps;
	uint32_t iterations; /* memory_iteration: syncs, setup and final included */
};

/* The model's answer at the start, as the list compares it. */
struct mig_predicted {
	bool converges;
	uint64_t total_time_ms;
	uint64_t downtime_ms;
	uint64_t bytes_sent;
	uint32_t rounds;
};

struct mig_record {
	uint64_t id;
	char uuid[VM_UUID_BYTES];
	char domain[MIG_NAME_BYTES];
	enum mig_dir dir;
	char peer[MIG_HOST_BYTES]; /* destination (out) or source (in); "unknown" */
	uint64_t start_realtime_ms;
	uint64_t end_realtime_ms;	/* 0 while it runs */
	uint64_t bandwidth_bytes_per_s; /* the cap it ran under; 0: none */
	char bandwidth_source[16];	/* "libvirt", "conf", "" (not read) */
	uint32_t downtime_limit_ms;
	char downtime_limit_source[16];
	bool has_prediction;
	struct mig_predicted pred;
	struct json_object *prediction; /* predict_fill_json()'s members; owned */
	char prediction_error[MIG_ERR_BYTES];
	/* a migration tide started: its order and escalations (mig_drive.c's
	 * members); NULL for one started by someone else; owned */
	struct json_object *driven;
	enum mig_result result;
	char error[MIG_ERR_BYTES]; /* libvirt's, for failed and cancelled */
	bool has_actual;
	struct mig_actual act;
	struct mig_pass *passes;
	uint32_t n_passes, cap_passes;
	uint32_t passes_dropped; /* beyond MIG_MAX_PASSES */
};

struct mig_record *mig_record_new(void);
void mig_record_free(struct mig_record *r);
/* Append a pass (copied); -ENOMEM, or 0 when counted as dropped. */
int mig_record_add_pass(struct mig_record *r, const struct mig_pass *p) __tide_must_check;

/* Everything, passes included (with_passes false: without them). */
struct json_object *mig_record_to_json(const struct mig_record *r, bool with_passes);
/* -EINVAL with a sentence in err for an object that is not a record. */
int mig_record_from_json(struct json_object *o, struct mig_record *r, char *err,
			 size_t err_bytes) __tide_must_check;

/* Prometheus's buckets of tide_migration_downtime_seconds */
#define MIG_DOWNTIME_BUCKETS 8
extern const double mig_downtime_bucket_s[MIG_DOWNTIME_BUCKETS];

struct mig_history {
	struct mig_record **recs; /* oldest first */
	size_t n, cap;
	uint64_t next_id;
	/* counters that outlive the records (Prometheus counters) */
	uint64_t totals[MIG_RESULT_N];
	uint64_t downtime_le[MIG_DOWNTIME_BUCKETS]; /* cumulative, as exposed */
	uint64_t downtime_count;
	double downtime_sum_s;
};

void mig_history_init(struct mig_history *h);
void mig_history_clear(struct mig_history *h);
/*
 * Take r (its id is given here) and drop the oldest finished records
 * beyond max.  -ENOMEM (r not taken).
 */
int mig_history_add(struct mig_history *h, struct mig_record *r, uint32_t max) __tide_must_check;
/* Drop the oldest finished records beyond max. */
void mig_history_trim(struct mig_history *h, uint32_t max);
/* Count a finished record in the totals and the downtime histogram. */
void mig_history_account(struct mig_history *h, const struct mig_record *r);
struct mig_record *mig_history_find(const struct mig_history *h, uint64_t id);

/* The whole history as the file holds it; NULL when out of memory. */
struct json_object *mig_history_to_json(const struct mig_history *h);
/*
 * dir/migrations.json, replaced atomically.  0, or -errno and a sentence
 * in err.
 */
int mig_history_save(const struct mig_history *h, const char *dir, char *err,
		     size_t err_bytes) __tide_must_check;
/*
 * Read dir/migrations.json into h (emptied first).  -ENOENT: no file yet.
 * A file that is not a history is set aside as migrations.json.corrupt-T
 * (T: seconds since the epoch), never overwritten: -EINVAL, h empty, and
 * err says what was wrong and where the file went.  Records still
 * "running" (tided stopped while they ran) become "lost".
 */
int mig_history_load(struct mig_history *h, const char *dir, char *err,
		     size_t err_bytes) __tide_must_check;

#endif /* TIDE_MIG_RECORD_H */
