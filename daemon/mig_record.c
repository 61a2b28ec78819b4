// SPDX-License-Identifier: GPL-2.0
/*
 * mig_record: migration records and their file.  See mig_record.h.
 *
 * Why one file replaced whole rather than a log appended to: a history is
 * at most migration_history records of a few KiB, written twice per
 * migration (start, end), which is rare; replacing it atomically
 * (util_write_file_atomic: .new, fsync, rename, fsync of the directory,
 * libvirt's virFileRewrite) means a reader or a crash sees the old history
 * or the new one, never a torn last line to repair, and the cap (oldest
 * dropped) and a record's update at its end need no compaction pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mig_record.h"
#include "procfs.h"
#include "util.h"

/* a history of 1e6 records would be far larger; this is a sanity bound */
#define MIG_FILE_MAX_BYTES (256u << 20)
#define MIG_PATH_BYTES 4096

#define ADD(obj, key, val) json_object_object_add(obj, key, val)
#define ADD_U64(obj, key, v) ADD(obj, key, json_object_new_int64((int64_t)(v)))
#define ADD_STR(obj, key, s) ADD(obj, key, json_object_new_string(s))

const double mig_downtime_bucket_s[MIG_DOWNTIME_BUCKETS] = { .01, .025, .05, .1, .25, .5, 1, 2.5 };

static const char *const result_names[MIG_RESULT_N] = {
	[MIG_RUNNING] = "running",     [MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
	[MIG_CANCELLED] = "cancelled", [MIG_LOST] = "lost",
};

const char *mig_result_name(enum mig_result r)
{
	return r < MIG_RESULT_N ? result_names[r] : "?";
}

int mig_result_parse(const char *s, enum mig_result *out)
{
	for (int i = 0; i < MIG_RESULT_N; i++) {
		if (s && strcmp(s, result_names[i]) == 0) {
			*out = (enum mig_result)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- records ------------------------------------------------------------ */

struct mig_record *mig_record_new(void)
{
	struct mig_record *r = calloc(1, sizeof(*r));

	if (r)
		snprintf(r->peer, sizeof(r->peer), "%s", MIG_UNKNOWN_HOST);
	return r;
}

void mig_record_free(struct mig_record *r)
{
	if (!r)
		return;
	json_object_put(r->prediction);
	json_object_put(r->driven);
	free(r->passes);
	free(r);
}

int mig_record_add_pass(struct mig_record *r, const struct mig_pass *p)
{
	if (r->n_passes >= MIG_MAX_PASSES) {
		r->passes_dropped++;
		return 0;
	}
	if (r->n_passes == r->cap_passes) {
		uint32_t cap = r->cap_passes ? r->cap_passes * 2 : 16;
		struct mig_pass *n = realloc(r->passes, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->passes = n;
		r->cap_passes = cap;
	}
	r->passes[r->n_passes++] = *p;
	return 0;
}

static struct json_object *pass_json(const struct mig_pass *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	ADD_U64(o, "pass", p->pass);
	ADD_U64(o, "duration_ms", p->duration_ms);
	ADD_U64(o, "remaining_bytes", p->remaining_bytes);
	ADD_U64(o, "dirty_pages", p->dirty_pages);
	ADD(o, "fed", json_object_new_boolean(p->fed));
	ADD_U64(o, "dirty_rate_pages_per_s", p->dirty_rate_pages_per_s);
	ADD_U64(o, "bps", p->bps);
	return o;
}

struct json_object *mig_record_to_json(const struct mig_record *r, bool with_passes)
{
	struct json_object *o = json_object_new_object(), *p, *a;

	if (!o)
		return NULL;
	ADD_U64(o, "id", r->id);
	ADD_STR(o, "uuid", r->uuid);
	ADD_STR(o, "domain", r->domain);
	ADD_STR(o, "direction", r->dir == MIG_DIR_IN ? "in" : "out");
	ADD_STR(o, "peer", r->peer);
	ADD_U64(o, "start_realtime_ms", r->start_realtime_ms);
	ADD_U64(o, "end_realtime_ms", r->end_realtime_ms);
	ADD_U64(o, "bandwidth_bytes_per_s", r->bandwidth_bytes_per_s);
	ADD_STR(o, "bandwidth_source", r->bandwidth_source);
	ADD_U64(o, "downtime_limit_ms", r->downtime_limit_ms);
	ADD_STR(o, "downtime_limit_source", r->downtime_limit_source);
	ADD_STR(o, "result", mig_result_name(r->result));
	ADD_STR(o, "error", r->error);
	if (r->has_prediction) {
		p = json_object_new_object();
		if (p) {
			ADD(p, "converges", json_object_new_boolean(r->pred.converges));
			ADD_U64(p, "total_time_ms", r->pred.total_time_ms);
			ADD_U64(p, "downtime_ms", r->pred.downtime_ms);
			ADD_U64(p, "bytes_sent", r->pred.bytes_sent);
			ADD_U64(p, "rounds", r->pred.rounds);
		}
		ADD(o, "predicted", p);
	} else {
		ADD(o, "predicted", NULL);
	}
	ADD(o, "prediction", r->prediction ? json_object_get(r->prediction) : NULL);
	ADD_STR(o, "prediction_error", r->prediction_error);
	ADD(o, "driven", r->driven ? json_object_get(r->driven) : NULL);
	if (r->has_actual) {
		a = json_object_new_object();
		if (a) {
			ADD_U64(a, "time_elapsed_ms", r->act.time_elapsed_ms);
			ADD_U64(a, "downtime_ms", r->act.downtime_ms);
			ADD_U64(a, "setup_time_ms", r->act.setup_time_ms);
			ADD_U64(a, "data_total_bytes", r->act.data_total_bytes);
			ADD_U64(a, "data_processed_bytes", r->act.data_processed_bytes);
			ADD_U64(a, "memory_total_bytes", r->act.memory_total_bytes);
			ADD_U64(a, "memory_processed_bytes", r->act.memory_processed_bytes);
			ADD_U64(a, "memory_bps", r->act.memory_bps);
			ADD_U64(a, "iterations", r->act.iterations);
		}
		ADD(o, "actual", a);
	} else {
		ADD(o, "actual", NULL);
	}
	ADD_U64(o, "n_passes", r->n_passes);
	ADD_U64(o, "passes_dropped", r->passes_dropped);
	if (with_passes) {
		struct json_object *arr = json_object_new_array();

		for (uint32_t i = 0; arr && i < r->n_passes; i++)
			json_object_array_add(arr, pass_json(&r->passes[i]));
		ADD(o, "passes", arr);
	}
	return o;
}

/* ---- reading back ------------------------------------------------------- */

struct reader {
	char *err;
	size_t err_bytes;
	int failed; /* first failure only */
};

static struct json_object *member(struct reader *rd, struct json_object *o, const char *key,
				  enum json_type type, bool nullable)
{
	struct json_object *v = NULL;

	if (rd->failed)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		snprintf(rd->err, rd->err_bytes, "member '%s' is missing", key);
		rd->failed = -EINVAL;
		return NULL;
	}
	if (!v && nullable)
		return NULL;
	if (!json_object_is_type(v, type)) {
		snprintf(rd->err, rd->err_bytes, "member '%s' is not a %s", key,
			 json_type_to_name(type));
		rd->failed = -EINVAL;
		return NULL;
	}
	return v;
}

static uint64_t get_u64(struct reader *rd, struct json_object *o, const char *key)
{
	struct json_object *v = member(rd, o, key, json_type_int, false);
	int64_t n = v ? json_object_get_int64(v) : 0;

	if (v && n < 0) {
		snprintf(rd->err, rd->err_bytes, "member '%s' is negative", key);
		rd->failed = -EINVAL;
		return 0;
	}
	return (uint64_t)n;
}

static uint32_t get_u32(struct reader *rd, struct json_object *o, const char *key)
{
	uint64_t v = get_u64(rd, o, key);

	if (v > UINT32_MAX && !rd->failed) {
		snprintf(rd->err, rd->err_bytes, "member '%s' is out of range", key);
		rd->failed = -EINVAL;
	}
	return (uint32_t)v;
}

static bool get_bool(struct reader *rd, struct json_object *o, const char *key)
{
	struct json_object *v = member(rd, o, key, json_type_boolean, false);

	return v && json_object_get_boolean(v);
}

static void get_str(struct reader *rd, struct json_object *o, const char *key, char *buf,
		    size_t buf_bytes)
{
	struct json_object *v = member(rd, o, key, json_type_string, false);

	snprintf(buf, buf_bytes, "%s", v ? json_object_get_string(v) : "");
}

static void read_pass(struct reader *rd, struct json_object *o, struct mig_pass *p)
{
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(rd->err, rd->err_bytes, "a pass is not an object");
		rd->failed = -EINVAL;
		return;
	}
	p->pass = get_u32(rd, o, "pass");
	p->duration_ms = get_u64(rd, o, "duration_ms");
	p->remaining_bytes = get_u64(rd, o, "remaining_bytes");
	p->dirty_pages = get_u64(rd, o, "dirty_pages");
	p->fed = get_bool(rd, o, "fed");
	p->dirty_rate_pages_per_s = get_u64(rd, o, "dirty_rate_pages_per_s");
	p->bps = get_u64(rd, o, "bps");
}

static void read_record(struct reader *rd, struct json_object *o, struct mig_record *r)
{
	struct json_object *p, *a, *passes;
	char dir[8], result[16];

	r->id = get_u64(rd, o, "id");
	get_str(rd, o, "uuid", r->uuid, sizeof(r->uuid));
	get_str(rd, o, "domain", r->domain, sizeof(r->domain));
	get_str(rd, o, "direction", dir, sizeof(dir));
	get_str(rd, o, "peer", r->peer, sizeof(r->peer));
	r->start_realtime_ms = get_u64(rd, o, "start_realtime_ms");
	r->end_realtime_ms = get_u64(rd, o, "end_realtime_ms");
	r->bandwidth_bytes_per_s = get_u64(rd, o, "bandwidth_bytes_per_s");
	get_str(rd, o, "bandwidth_source", r->bandwidth_source, sizeof(r->bandwidth_source));
	r->downtime_limit_ms = get_u32(rd, o, "downtime_limit_ms");
	get_str(rd, o, "downtime_limit_source", r->downtime_limit_source,
		sizeof(r->downtime_limit_source));
	get_str(rd, o, "result", result, sizeof(result));
	get_str(rd, o, "error", r->error, sizeof(r->error));
	get_str(rd, o, "prediction_error", r->prediction_error, sizeof(r->prediction_error));
	if (rd->failed)
		return;
	if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
		snprintf(rd->err, rd->err_bytes, "direction '%s' is neither 'in' nor 'out'", dir);
		rd->failed = -EINVAL;
		return;
	}
	r->dir = strcmp(dir, "in") == 0 ? MIG_DIR_IN : MIG_DIR_OUT;
	if (mig_result_parse(result, &r->result)) {
		snprintf(rd->err, rd->err_bytes, "result '%s' is not one tide knows", result);
		rd->failed = -EINVAL;
		return;
	}
	p = member(rd, o, "predicted", json_type_object, true);
	if (p) {
		r->has_prediction = true;
		r->pred.converges = get_bool(rd, p, "converges");
		r->pred.total_time_ms = get_u64(rd, p, "total_time_ms");
		r->pred.downtime_ms = get_u64(rd, p, "downtime_ms");
		r->pred.bytes_sent = get_u64(rd, p, "bytes_sent");
		r->pred.rounds = get_u32(rd, p, "rounds");
	}
	p = member(rd, o, "prediction", json_type_object, true);
	if (p)
		r->prediction = json_object_get(p);
	p = member(rd, o, "driven", json_type_object, true);
	if (p)
		r->driven = json_object_get(p);
	a = member(rd, o, "actual", json_type_object, true);
	if (a) {
		r->has_actual = true;
		r->act.time_elapsed_ms = get_u64(rd, a, "time_elapsed_ms");
		r->act.downtime_ms = get_u64(rd, a, "downtime_ms");
		r->act.setup_time_ms = get_u64(rd, a, "setup_time_ms");
		r->act.data_total_bytes = get_u64(rd, a, "data_total_bytes");
		r->act.data_processed_bytes = get_u64(rd, a, "data_processed_bytes");
		r->act.memory_total_bytes = get_u64(rd, a, "memory_total_bytes");
		r->act.memory_processed_bytes = get_u64(rd, a, "memory_processed_bytes");
		r->act.memory_bps = get_u64(rd, a, "memory_bps");
		r->act.iterations = get_u32(rd, a, "iterations");
	}
	r->passes_dropped = get_u32(rd, o, "passes_dropped");
	passes = member(rd, o, "passes", json_type_array, false);
	for (size_t i = 0; passes && !rd->failed && i < json_object_array_length(passes); i++) {
		struct mig_pass ps = { 0 };

		read_pass(rd, json_object_array_get_idx(passes, i), &ps);
		if (!rd->failed && mig_record_add_pass(r, &ps))
			rd->failed = -ENOMEM;
	}
}

int mig_record_from_json(struct json_object *o, struct mig_record *r, char *err, size_t err_bytes)
{
	char buf[MIG_ERR_BYTES] = "";
	struct reader rd = { buf, sizeof(buf), 0 };

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, err_bytes, "a record is not a JSON object");
		return -EINVAL;
	}
	read_record(&rd, o, r);
	if (rd.failed)
		snprintf(err, err_bytes, "record: %s", buf);
	return rd.failed;
}

/* ---- the history ---------------------------------------------------------- */

void mig_history_init(struct mig_history *h)
{
	memset(h, 0, sizeof(*h));
	h->next_id = 1;
}

void mig_history_clear(struct mig_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		mig_record_free(h->recs[i]);
	free(h->recs);
	mig_history_init(h);
}

void mig_history_trim(struct mig_history *h, uint32_t max)
{
	size_t i = 0;

	/* the oldest finished ones go first; a running one is never dropped */
	while (h->n > max && i < h->n) {
		if (h->recs[i]->result == MIG_RUNNING) {
			i++;
			continue;
		}
		mig_record_free(h->recs[i]);
		memmove(&h->recs[i], &h->recs[i + 1], (h->n - i - 1) * sizeof(struct mig_record *));
		h->n--;
	}
}

/* Append r at the newest end; -ENOMEM (r not taken). */
static int push(struct mig_history *h, struct mig_record *r)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct mig_record **n = realloc(h->recs, cap * sizeof(struct mig_record *));

		if (!n)
			return -ENOMEM;
		h->recs = n;
		h->cap = cap;
	}
	h->recs[h->n++] = r;
	return 0;
}

int mig_history_add(struct mig_history *h, struct mig_record *r, uint32_t max)
{
	if (push(h, r))
		return -ENOMEM;
	r->id = h->next_id++;
	mig_history_trim(h, max);
	return 0;
}

void mig_history_account(struct mig_history *h, const struct mig_record *r)
{
	double s;

	if (r->result >= MIG_RESULT_N)
		return;
	h->totals[r->result]++;
	if (r->result != MIG_COMPLETED || !r->has_actual)
		return;
	s = (double)r->act.downtime_ms / 1000.0;
	for (int i = 0; i < MIG_DOWNTIME_BUCKETS; i++)
		if (s <= mig_downtime_bucket_s[i])
			h->downtime_le[i]++;
	h->downtime_count++;
	h->downtime_sum_s += s;
}

struct mig_record *mig_history_find(const struct mig_history *h, uint64_t id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->recs[i]->id == id)
			return h->recs[i];
	return NULL;
}

struct json_object *mig_history_to_json(const struct mig_history *h)
{
	struct json_object *o = json_object_new_object(), *t, *hist, *le, *counts, *recs;

	if (!o)
		return NULL;
	ADD_STR(o, "format", MIG_FILE_FORMAT);
	ADD_U64(o, "version", MIG_FILE_VERSION);
	ADD_U64(o, "next_id", h->next_id);
	t = json_object_new_object();
	for (int i = 0; t && i < MIG_RESULT_N; i++)
		ADD_U64(t, result_names[i], h->totals[i]);
	ADD(o, "totals", t);
	hist = json_object_new_object();
	le = json_object_new_array();
	counts = json_object_new_array();
	for (int i = 0; le && counts && i < MIG_DOWNTIME_BUCKETS; i++) {
		json_object_array_add(le, json_object_new_double(mig_downtime_bucket_s[i]));
		json_object_array_add(counts, json_object_new_int64((int64_t)h->downtime_le[i]));
	}
	if (hist) {
		ADD(hist, "le", le);
		ADD(hist, "counts", counts);
		ADD_U64(hist, "count", h->downtime_count);
		ADD(hist, "sum_seconds", json_object_new_double(h->downtime_sum_s));
	} else {
		json_object_put(le);
		json_object_put(counts);
	}
	ADD(o, "downtime_histogram", hist);
	recs = json_object_new_array();
	for (size_t i = 0; recs && i < h->n; i++)
		json_object_array_add(recs, mig_record_to_json(h->recs[i], true));
	ADD(o, "records", recs);
	return o;
}

int mig_history_save(const struct mig_history *h, const char *dir, char *err, size_t err_bytes)
{
	struct json_object *o = mig_history_to_json(h);
	char *text = NULL;
	int ret;

	if (!o ||
	    asprintf(&text, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
		text = NULL;
		ret = -ENOMEM;
		snprintf(err, err_bytes, "cannot write '%s/%s': out of memory", dir, MIG_FILE_NAME);
		goto cleanup;
	}
	ret = util_write_file_atomic(dir, MIG_FILE_NAME, text, strlen(text));
	if (ret)
		snprintf(err, err_bytes, "cannot write '%s/%s': %s", dir, MIG_FILE_NAME,
			 strerror(-ret));
cleanup:
	free(text);
	json_object_put(o);
	return ret;
}

static void read_counters(struct reader *rd, struct json_object *o, struct mig_history *h)
{
	struct json_object *t, *hist, *counts, *sum;

	t = member(rd, o, "totals", json_type_object, false);
	for (int i = 0; t && !rd->failed && i < MIG_RESULT_N; i++)
		h->totals[i] = get_u64(rd, t, result_names[i]);
	hist = member(rd, o, "downtime_histogram", json_type_object, false);
	if (!hist)
		return;
	counts = member(rd, hist, "counts", json_type_array, false);
	/* buckets of another version would not add up: start them again */
	if (counts && json_object_array_length(counts) == MIG_DOWNTIME_BUCKETS) {
		for (int i = 0; i < MIG_DOWNTIME_BUCKETS; i++) {
			struct json_object *c = json_object_array_get_idx(counts, i);

			h->downtime_le[i] = (uint64_t)json_object_get_int64(c);
		}
		h->downtime_count = get_u64(rd, hist, "count");
		sum = member(rd, hist, "sum_seconds", json_type_double, false);

		h->downtime_sum_s = sum ? json_object_get_double(sum) : 0;
	}
}

static int parse_history(const char *text, size_t len, struct mig_history *h, char *err,
			 size_t err_bytes)
{
	char buf[MIG_ERR_BYTES] = "";
	struct reader rd = { buf, sizeof(buf), 0 };
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL, *fmt, *recs;
	int ret = -EINVAL;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, err_bytes, "not JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto cleanup;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, err_bytes, "not a JSON object");
		goto cleanup;
	}
	fmt = member(&rd, o, "format", json_type_string, false);
	if (fmt && strcmp(json_object_get_string(fmt), MIG_FILE_FORMAT) != 0) {
		snprintf(err, err_bytes, "format is '%s', not '%s'", json_object_get_string(fmt),
			 MIG_FILE_FORMAT);
		goto cleanup;
	}
	if (get_u64(&rd, o, "version") != MIG_FILE_VERSION && !rd.failed) {
		snprintf(err, err_bytes, "version is not %d", MIG_FILE_VERSION);
		goto cleanup;
	}
	h->next_id = get_u64(&rd, o, "next_id");
	read_counters(&rd, o, h);
	recs = member(&rd, o, "records", json_type_array, false);
	for (size_t i = 0; recs && !rd.failed && i < json_object_array_length(recs); i++) {
		struct mig_record *r = mig_record_new();

		if (!r || push(h, r)) {
			mig_record_free(r);
			ret = -ENOMEM;
			snprintf(err, err_bytes, "out of memory");
			goto cleanup;
		}
		if (mig_record_from_json(json_object_array_get_idx(recs, i), r, buf, sizeof(buf))) {
			rd.failed = -EINVAL;
			break;
		}
		if (r->result == MIG_RUNNING) {
			r->result = MIG_LOST;
			snprintf(r->error, sizeof(r->error),
				 "tided stopped while the migration ran: its end was not seen");
		}
		if (r->id >= h->next_id)
			h->next_id = r->id + 1;
	}
	if (rd.failed) {
		snprintf(err, err_bytes, "%s", buf);
		goto cleanup;
	}
	ret = 0;
cleanup:
	json_object_put(o);
	json_tokener_free(tok);
	return ret;
}

int mig_history_load(struct mig_history *h, const char *dir, char *err, size_t err_bytes)
{
	char path[MIG_PATH_BYTES], aside[MIG_PATH_BYTES + 32], why[MIG_ERR_BYTES] = "";
	size_t len = 0;
	char *text;
	int ret;

	mig_history_clear(h);
	snprintf(path, sizeof(path), "%s/%s", dir, MIG_FILE_NAME);
	text = procfs_read_file(path, MIG_FILE_MAX_BYTES, &len);
	if (!text) {
		ret = -errno;
		if (ret != -ENOENT)
			snprintf(err, err_bytes, "cannot read '%s': %s", path, strerror(errno));
		return ret;
	}
	ret = parse_history(text, len, h, why, sizeof(why));
	free(text);
	if (!ret || ret == -ENOMEM) {
		if (ret)
			snprintf(err, err_bytes, "cannot read '%s': %s", path, why);
		return ret;
	}
	mig_history_clear(h);
	/* keep it for whoever wants to look: a new history must not replace it */
	snprintf(aside, sizeof(aside), "%s.corrupt-%llu", path,
		 (unsigned long long)(util_clock_ns(CLOCK_REALTIME) / 1000000000ull));
	if (rename(path, aside) < 0) {
		snprintf(err, err_bytes,
			 "'%s' is not a migration history (%s), and cannot be set aside as '%s': %s",
			 path, why, aside, strerror(errno));
		return -EIO;
	}
	snprintf(err, err_bytes, "'%s' is not a migration history (%s); set aside as '%s'", path,
		 why, aside);
	return -EINVAL;
}
