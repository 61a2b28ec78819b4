// SPDX-License-Identifier: GPL-2.0
/*
 * mig: the migration record's state machine, driven as libvirt drives it
 * (events, then polls of the job stats), the pass -> W(t) point math,
 * persistence (round trip, history cap, a corrupt file set aside) and the
 * JSON of a record.
 *
 * Includes daemon/mig.c to reach its statics.  dirty.h and predict.h are
 * defined here (strong, so mig_stubs.o is not pulled), recording what mig
 * gave them.  The worker side of a poll runs against wrapped virt adapters
 * (TEST_LDFLAGS_test_mig: -Wl,--wrap=virt_domain_get_job_stats, ...): the
 * job stats libvirt would return are queued with mock_job_stats().
 */
#include "unit.h"

#include <dirent.h>
#include <sys/stat.h>

#include "../../daemon/mig.c"
#include "../../daemon/mig_libvirt.c"
#include "../../daemon/mig_ctl.c"
#include "../../daemon/mig_drive.c"
#include "../../daemon/mig_escalate.c"

#define UUID "11111111-2222-3333-4444-555555555555"
#define MIB (1ull << 20)
#define MS (1000000ull)

/* ---- dirty and predict, as mig sees them ---------------------------------- */

static struct {
	int begins, ends;
	int n_points;
	uint32_t t_ms[16];
	uint64_t pages[16];
	uint64_t taken_ns[16];
} dirty_seen;

const char *dirty_source_name(enum dirty_source s)
{
	return "migration";
}

int dirty_add_point(const char *uuid, enum dirty_source src, uint32_t t_ms, uint64_t pages,
		    uint64_t taken_ns)
{
	assert_string_equal(uuid, UUID);
	assert_int_equal(src, DIRTY_SRC_MIGRATION);
	if (dirty_seen.n_points < 16) {
		dirty_seen.t_ms[dirty_seen.n_points] = t_ms;
		dirty_seen.pages[dirty_seen.n_points] = pages;
		dirty_seen.taken_ns[dirty_seen.n_points] = taken_ns;
	}
	dirty_seen.n_points++;
	return 0;
}

void dirty_migration_begin(const char *uuid)
{
	dirty_seen.begins++;
}

void dirty_migration_end(const char *uuid)
{
	dirty_seen.ends++;
}

static struct predict_req last_req;

int predict_vm(const struct predict_req *req, struct predict_out *out, char *err, size_t err_bytes)
{
	last_req = *req;
	memset(out, 0, sizeof(*out));
	out->res.converges = true;
	out->res.total_time_ms = 4200;
	out->res.downtime_ms = 25;
	out->res.bytes_sent = 140 * MIB;
	out->res.rounds = 5;
	return 0;
}

void predict_fill_json(const struct predict_out *p, struct json_object *obj)
{
	json_object_object_add(obj, "total_time_ms", json_object_new_int64(p->res.total_time_ms));
}

/* ---- wrapped virt adapters (the worker side of a poll) --------------------- */

/* what the next virt_domain_get_job_stats calls return, in order */
static struct {
	int type[4];
	uint64_t remaining[4];
	const char *errmsg[4];
	int n, next;
} job_mock;

static void mock_job_stats(int type, uint64_t remaining, const char *errmsg)
{
	job_mock.type[job_mock.n] = type;
	job_mock.remaining[job_mock.n] = remaining;
	job_mock.errmsg[job_mock.n] = errmsg;
	job_mock.n++;
}

int __wrap_virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid, virDomainPtr *dom);
int __wrap_virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid, virDomainPtr *dom)
{
	*dom = (virDomainPtr)&job_mock; /* never dereferenced: every use is wrapped */
	return 0;
}

void __wrap_virt_domain_free(virDomainPtr dom);
void __wrap_virt_domain_free(virDomainPtr dom)
{
}

int __wrap_virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				     int *n_params, unsigned int flags);
int __wrap_virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				     int *n_params, unsigned int flags)
{
	int i = job_mock.next++, max = 0;

	assert_true(i < job_mock.n);
	/* the second call of a poll asks for the job that just ended */
	assert_int_equal(!!(flags & VIR_DOMAIN_JOB_STATS_COMPLETED), i > 0);
	*type = job_mock.type[i];
	*params = NULL;
	*n_params = 0;
	virTypedParamsAddULLong(params, n_params, &max, VIR_DOMAIN_JOB_MEMORY_REMAINING,
				job_mock.remaining[i]);
	virTypedParamsAddULLong(params, n_params, &max, VIR_DOMAIN_JOB_TIME_ELAPSED, 1234);
	if (job_mock.errmsg[i])
		virTypedParamsAddString(params, n_params, &max, VIR_DOMAIN_JOB_ERRMSG,
					job_mock.errmsg[i]);
	return 0;
}

/* ---- fixture ------------------------------------------------------------------- */

static char *dir;

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	memset(&dirty_seen, 0, sizeof(dirty_seen));
	memset(&job_mock, 0, sizeof(job_mock));
	/* libvirt's typed-parameter helpers need its error machinery */
	if (loop_init() || virInitialize() < 0)
		return -1;
	dir = unit_mkdtemp("mig");
	if (!dir)
		return -1;
	clear_state();
	mig_st.state_dir = strdup(dir);
	mig_st.persist = true;
	mig_st.inited = true;
	return 0;
}

static int teardown(void **state)
{
	while (mig_st.act)
		act_unlink(mig_st.act);
	mig_history_clear(&mig_st.h);
	free(mig_st.state_dir);
	clear_state();
	loop_fini();
	unit_rmtree(dir);
	return 0;
}

static struct mig_stats running(uint32_t iteration, uint64_t remaining_bytes, uint64_t processed,
				uint64_t bps)
{
	struct mig_stats st = {
		.type = VIR_DOMAIN_JOB_UNBOUNDED,
		.operation = VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
		.memory_iteration = iteration,
		.memory_remaining = remaining_bytes,
		.memory_processed = processed,
		.memory_bps = bps,
		.memory_page_size = 4096,
		.memory_total = 128 * MIB,
	};

	return st;
}

static struct mig_record *only_record(void)
{
	assert_int_equal(mig_st.h.n, 1);
	return mig_st.h.recs[0];
}

/* ---- the state machine ------------------------------------------------------------ */

static void test_start_passes_completed(void **state)
{
	const uint64_t t0 = 1000 * MS, bps = 32 * MIB;
	struct mig_stats st, done = { 0 };
	struct mig_active *a;
	struct mig_record *r;
	uint64_t at_sync, leftover;

	assert_int_equal(mig_expect(UUID, "h2"), 0);
	handle_iteration(UUID, "v1", 1, t0);
	a = mig_act_find(UUID);
	assert_non_null(a);
	r = only_record();
	assert_int_equal(dirty_seen.begins, 1);
	assert_int_equal(r->result, MIG_RUNNING);
	assert_string_equal(r->peer, "h2");
	/* no connection here: the configured defaults stand, and the
	 * prediction was made with them */
	assert_true(r->has_prediction);
	assert_string_equal(last_req.dest, "h2");
	assert_int_equal(r->pred.total_time_ms, 4200);

	/* the bulk pass */
	st = running(1, 100 * MIB, 28 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 200 * MS);
	assert_int_equal(r->n_passes, 0);
	st = running(1, 2 * MIB, 126 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 3000 * MS);
	/* sync 2 ends pass 1: recorded, not fed (every page began dirty) */
	handle_iteration(UUID, "v1", 2, t0 + 3040 * MS);
	st = running(2, 10 * MIB, 127 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 3050 * MS);
	assert_int_equal(r->n_passes, 1);
	assert_int_equal(r->passes[0].pass, 1);
	assert_int_equal(r->passes[0].duration_ms, 3040);
	assert_false(r->passes[0].fed);
	assert_int_equal(dirty_seen.n_points, 0);

	/* pass 2: 500 ms, fed with the leftover taken off and the drain added */
	st = running(2, 3 * MIB, 134 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 3450 * MS);
	handle_iteration(UUID, "v1", 3, t0 + 3540 * MS);
	st = running(3, 5 * MIB, 138 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 3600 * MS);
	assert_int_equal(r->n_passes, 2);
	assert_int_equal(r->passes[1].pass, 2);
	assert_int_equal(r->passes[1].duration_ms, 500);
	assert_true(r->passes[1].fed);
	at_sync = 5 * MIB + (uint64_t)(32.0 * MIB * 0.060);
	leftover = 3 * MIB - (uint64_t)(32.0 * MIB * 0.090);
	assert_int_equal(dirty_seen.n_points, 1);
	assert_int_equal(dirty_seen.t_ms[0], 500);
	assert_int_equal(dirty_seen.pages[0], (at_sync - leftover) / 4096);
	assert_int_equal(dirty_seen.taken_ns[0], t0 + 3540 * MS);
	assert_int_equal(r->passes[1].dirty_pages, dirty_seen.pages[0]);

	/* switch-over, the final sync (not fed: the guest was stopped), the end */
	handle_lifecycle(UUID, "v1", VIR_DOMAIN_EVENT_SUSPENDED,
			 VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, t0 + 3700 * MS);
	handle_iteration(UUID, "v1", 4, t0 + 3710 * MS);
	st = running(4, 1 * MIB, 139 * MIB, bps);
	mig_poll_result(a, false, &st, NULL, t0 + 3720 * MS);
	assert_int_equal(r->n_passes, 3);
	assert_false(r->passes[2].fed);
	assert_int_equal(dirty_seen.n_points, 1);
	handle_lifecycle(UUID, "v1", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
			 t0 + 3800 * MS);
	done = running(4, 0, 140 * MIB, bps);
	done.type = VIR_DOMAIN_JOB_COMPLETED;
	done.time_elapsed_ms = 3790;
	done.downtime_ms = 21;
	done.data_processed = 141 * MIB;
	handle_completed(UUID, "v1", &done, t0 + 3810 * MS);

	assert_null(mig_act_find(UUID));
	assert_int_equal(dirty_seen.ends, 1);
	assert_int_equal(r->result, MIG_COMPLETED);
	assert_true(r->has_actual);
	assert_int_equal(r->act.time_elapsed_ms, 3790);
	assert_int_equal(r->act.downtime_ms, 21);
	assert_int_equal(r->act.data_processed_bytes, 141 * MIB);
	assert_int_equal(r->act.iterations, 4);
	assert_int_equal(mig_st.h.totals[MIG_COMPLETED], 1);
	assert_int_equal(mig_st.h.downtime_le[0], 0); /* 21 ms > 10 ms */
	assert_int_equal(mig_st.h.downtime_le[1], 1); /* <= 25 ms */
}

static void test_calibrates_known_dest(void **state)
{
	struct mig_stats done = running(5, 0, 140 * MIB, 32 * MIB);
	struct model_calib cal;
	char err[256];

	assert_int_equal(mig_expect(UUID, "h2"), 0);
	handle_iteration(UUID, "v1", 1, 1000 * MS);
	/* what libvirt said the migration runs under */
	only_record()->bandwidth_bytes_per_s = 32 * MIB;
	done.type = VIR_DOMAIN_JOB_COMPLETED;
	done.time_elapsed_ms = 4500;
	done.downtime_ms = 30;
	done.data_processed = 140 * MIB;
	handle_completed(UUID, "v1", &done, 5500 * MS);
	assert_int_equal(model_calib_load(dir, "h2", &cal, err, sizeof(err)), 0);
	assert_int_equal(cal.samples, 1);
}

static void test_failed(void **state)
{
	struct mig_stats st = running(2, 50 * MIB, 80 * MIB, 32 * MIB), over = { 0 }, done = { 0 };
	struct mig_active *a;
	struct mig_record *r;

	handle_iteration(UUID, "v1", 1, 1000 * MS);
	a = mig_act_find(UUID);
	mig_poll_result(a, false, &st, NULL, 1200 * MS);
	over.type = VIR_DOMAIN_JOB_NONE;
	done.type = VIR_DOMAIN_JOB_FAILED;
	snprintf(done.errmsg, sizeof(done.errmsg), "operation failed: migration out job: canceled");
	mig_poll_result(a, false, &over, &done, 1400 * MS);
	r = only_record();
	assert_int_equal(r->result, MIG_FAILED);
	assert_string_equal(r->error, "operation failed: migration out job: canceled");
	assert_int_equal(dirty_seen.ends, 1);
	assert_int_equal(mig_st.h.totals[MIG_FAILED], 1);
	assert_int_equal(mig_st.h.downtime_count, 0);

	/* cancelled is told apart */
	handle_iteration(UUID, "v1", 1, 2000 * MS);
	done.type = VIR_DOMAIN_JOB_CANCELLED;
	mig_poll_result(mig_act_find(UUID), false, &over, &done, 2200 * MS);
	assert_int_equal(mig_st.h.recs[1]->result, MIG_CANCELLED);
}

/* The destination's libvirtd dies mid-migration: libvirt fails the job with
 * the connection's error, the guest stays here, no calibration is learnt. */
static void test_dest_disappears(void **state)
{
	struct mig_stats st = running(2, 50 * MIB, 80 * MIB, 32 * MIB), over = { 0 }, done = { 0 };
	struct model_calib cal;
	char err[256];
	struct mig_record *r;

	assert_int_equal(mig_expect(UUID, "h2"), 0);
	handle_iteration(UUID, "v1", 1, 1000 * MS);
	mig_poll_result(mig_act_find(UUID), false, &st, NULL, 1200 * MS);
	over.type = VIR_DOMAIN_JOB_NONE;
	done.type = VIR_DOMAIN_JOB_FAILED;
	snprintf(done.errmsg, sizeof(done.errmsg),
		 "internal error: client socket is closed: Connection reset by peer");
	mig_poll_result(mig_act_find(UUID), false, &over, &done, 1400 * MS);
	r = only_record();
	assert_int_equal(r->result, MIG_FAILED);
	assert_non_null(strstr(r->error, "Connection reset by peer"));
	assert_int_equal(model_calib_load(dir, "h2", &cal, err, sizeof(err)), -ENOENT);

	/* the domain itself vanishes (no migrated stop seen): failed, said so */
	handle_iteration(UUID, "v1", 1, 2000 * MS);
	mig_poll_result(mig_act_find(UUID), true, &over, NULL, 2200 * MS);
	assert_int_equal(mig_st.h.recs[1]->result, MIG_FAILED);
	assert_non_null(strstr(mig_st.h.recs[1]->error, "went away"));
}

/* An incoming one begins at Started/Migrated; a stop before Resumed fails it. */
static void test_incoming(void **state)
{
	struct mig_record *r;

	handle_lifecycle(UUID, "v1", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED,
			 1000 * MS);
	r = only_record();
	assert_int_equal(r->dir, MIG_DIR_IN);
	assert_false(r->has_prediction);
	handle_lifecycle(UUID, "v1", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED,
			 2000 * MS);
	assert_int_equal(r->result, MIG_FAILED);
	assert_null(mig_act_find(UUID));
}

/* The worker side of a poll: the job over, the completed job read next. */
static void test_poll_run_wrapped(void **state)
{
	struct poll_job j = { 0 };

	snprintf(j.uuid, sizeof(j.uuid), "%s", UUID);
	mock_job_stats(VIR_DOMAIN_JOB_NONE, 0, NULL);
	mock_job_stats(VIR_DOMAIN_JOB_FAILED, 7 * MIB, "migration failed: dest gone");
	assert_int_equal(poll_run(NULL, &j), 0);
	assert_int_equal(job_mock.next, 2);
	assert_int_equal(j.st.type, VIR_DOMAIN_JOB_NONE);
	assert_int_equal(j.done.type, VIR_DOMAIN_JOB_FAILED);
	assert_int_equal(j.done.memory_remaining, 7 * MIB);
	assert_int_equal(j.done.time_elapsed_ms, 1234);
	assert_string_equal(j.done.errmsg, "migration failed: dest gone");

	/* a running job: one call */
	memset(&job_mock, 0, sizeof(job_mock));
	memset(&j, 0, sizeof(j));
	snprintf(j.uuid, sizeof(j.uuid), "%s", UUID);
	mock_job_stats(VIR_DOMAIN_JOB_UNBOUNDED, 9 * MIB, NULL);
	assert_int_equal(poll_run(NULL, &j), 0);
	assert_int_equal(job_mock.next, 1);
	assert_int_equal(j.st.memory_remaining, 9 * MIB);
}

/* ---- persistence ----------------------------------------------------------------- */

static struct mig_record *sample_record(const char *domain, enum mig_result res)
{
	struct mig_record *r = mig_record_new();
	struct mig_pass p = { .pass = 2,
			      .duration_ms = 500,
			      .remaining_bytes = 5 * MIB,
			      .dirty_pages = 1280,
			      .fed = true,
			      .bps = 32 * MIB };

	assert_non_null(r);
	snprintf(r->uuid, sizeof(r->uuid), "%s", UUID);
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	snprintf(r->peer, sizeof(r->peer), "h2");
	r->result = res;
	r->start_realtime_ms = 1700000000000ull;
	r->has_prediction = true;
	r->pred.converges = true;
	r->pred.downtime_ms = 25;
	r->prediction = json_object_new_object();
	json_object_object_add(r->prediction, "why", json_object_new_string("none"));
	r->has_actual = res == MIG_COMPLETED;
	r->act.downtime_ms = 84;
	r->act.data_processed_bytes = 142223401;
	assert_int_equal(mig_record_add_pass(r, &p), 0);
	return r;
}

static void test_save_load_round_trip(void **state)
{
	struct mig_history h;
	char err[512], *a, *b;
	struct json_object *ja, *jb;

	mig_history_init(&h);
	assert_int_equal(mig_history_add(&mig_st.h, sample_record("web \"1\"\n", MIG_COMPLETED), 10),
			 0);
	assert_int_equal(mig_history_add(&mig_st.h, sample_record("db", MIG_RUNNING), 10), 0);
	mig_history_account(&mig_st.h, mig_st.h.recs[0]);
	assert_int_equal(mig_history_save(&mig_st.h, dir, err, sizeof(err)), 0);
	assert_int_equal(mig_history_load(&h, dir, err, sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.next_id, 3);
	/* one that ran when tided stopped comes back lost, said so */
	assert_int_equal(h.recs[1]->result, MIG_LOST);
	assert_non_null(strstr(h.recs[1]->error, "tided stopped"));
	h.recs[1]->result = MIG_RUNNING;
	h.recs[1]->error[0] = '\0';
	ja = mig_history_to_json(&mig_st.h);
	jb = mig_history_to_json(&h);
	a = strdup(json_object_to_json_string(ja));
	b = strdup(json_object_to_json_string(jb));
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_object_put(ja);
	json_object_put(jb);
	mig_history_clear(&h);
}

static void test_history_cap(void **state)
{
	for (int i = 0; i < 5; i++)
		assert_int_equal(mig_history_add(&mig_st.h, sample_record("v", MIG_COMPLETED), 3), 0);
	assert_int_equal(mig_st.h.n, 3);
	assert_int_equal(mig_st.h.recs[0]->id, 3); /* the oldest went */
	assert_int_equal(mig_st.h.recs[2]->id, 5);
	/* a running one is never dropped, however old */
	mig_history_clear(&mig_st.h);
	assert_int_equal(mig_history_add(&mig_st.h, sample_record("old", MIG_RUNNING), 2), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mig_history_add(&mig_st.h, sample_record("v", MIG_COMPLETED), 2), 0);
	assert_int_equal(mig_st.h.n, 2);
	assert_string_equal(mig_st.h.recs[0]->domain, "old");
}

static void test_corrupt_set_aside(void **state)
{
	struct mig_history h;
	char err[1024], *path;
	struct stat st;
	DIR *d;
	struct dirent *e;
	int aside = 0;

	mig_history_init(&h);
	path = unit_write_file(dir, MIG_FILE_NAME, "{\"format\": \"tide-migrations\", \"vers");
	assert_non_null(path);
	assert_int_equal(mig_history_load(&h, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "set aside"));
	assert_int_equal(h.n, 0);
	assert_int_equal(stat(path, &st), -1);
	d = opendir(dir);
	while ((e = readdir(d)))
		aside += strncmp(e->d_name, "migrations.json.corrupt-", 24) == 0;
	closedir(d);
	assert_int_equal(aside, 1);
	/* a record that is not one is refused too, naming the member */
	free(path);
	path = unit_write_file(dir, MIG_FILE_NAME,
			       "{\"format\": \"tide-migrations\", \"version\": 1, \"next_id\": 2, "
			       "\"totals\": {}, \"downtime_histogram\": {}, \"records\": [{}]}");
	assert_int_equal(mig_history_load(&h, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is missing"));
	free(path);
	mig_history_clear(&h);
	/* no file: -ENOENT, nothing said */
	assert_int_equal(mig_history_load(&h, dir, err, sizeof(err)), -ENOENT);
}

static void test_record_json(void **state)
{
	struct mig_record *r = sample_record("v1", MIG_COMPLETED);
	struct json_object *o = mig_record_to_json(r, true), *v, *p;

	assert_true(json_object_object_get_ex(o, "domain", &v));
	assert_string_equal(json_object_get_string(v), "v1");
	assert_true(json_object_object_get_ex(o, "result", &v));
	assert_string_equal(json_object_get_string(v), "completed");
	assert_true(json_object_object_get_ex(o, "predicted", &p));
	assert_true(json_object_object_get_ex(p, "downtime_ms", &v));
	assert_int_equal(json_object_get_int64(v), 25);
	assert_true(json_object_object_get_ex(o, "actual", &p));
	assert_true(json_object_object_get_ex(p, "data_processed_bytes", &v));
	assert_int_equal(json_object_get_int64(v), 142223401);
	assert_true(json_object_object_get_ex(o, "prediction", &p));
	assert_true(json_object_object_get_ex(p, "why", &v));
	assert_true(json_object_object_get_ex(o, "passes", &p));
	assert_int_equal(json_object_array_length(p), 1);
	v = json_object_array_get_idx(p, 0);
	assert_true(json_object_object_get_ex(v, "dirty_pages", &v));
	assert_int_equal(json_object_get_int64(v), 1280);
	json_object_put(o);
	/* without passes; an unknown prediction is null */
	r->has_prediction = false;
	o = mig_record_to_json(r, false);
	assert_false(json_object_object_get_ex(o, "passes", &v));
	assert_true(json_object_object_get_ex(o, "predicted", &v));
	assert_null(v);
	json_object_put(o);
	mig_record_free(r);
}

static void test_ctl_and_prom(void **state)
{
	struct json_object *req = json_object_new_object(), *reply = json_object_new_object(), *v;
	struct prom p;

	assert_int_equal(mig_history_add(&mig_st.h, sample_record("v1", MIG_COMPLETED), 10), 0);
	mig_history_account(&mig_st.h, mig_st.h.recs[0]);
	assert_int_equal(cmd_list(req, reply, NULL), 0);
	assert_true(json_object_object_get_ex(reply, "migrations", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_object_add(req, "id", json_object_new_int64(7));
	assert_int_equal(cmd_show(req, reply, NULL), -ENOENT);
	json_object_put(req);
	json_object_put(reply);

	assert_int_equal(prom_begin(&p), 0);
	mig_fill_prom(&p);
	assert_non_null(strstr(prom_text(&p), "tide_migrations_total{result=\"completed\"} 1\n"));
	assert_non_null(
		strstr(prom_text(&p), "tide_migration_downtime_seconds_bucket{le=\"0.1\"} 1\n"));
	assert_non_null(
		strstr(prom_text(&p), "tide_migration_downtime_seconds_bucket{le=\"0.05\"} 0\n"));
	assert_non_null(
		strstr(prom_text(&p), "tide_migration_predicted_downtime_seconds{domain=\"v1\""));
	prom_abort(&p);
}

/* ---- the driver ------------------------------------------------------------------ */

static struct mig_drive *driven_record(uint32_t downtime_ms, uint32_t max_downtime_ms)
{
	struct mig_known k = { .dest = "h2",
			       .bandwidth_bytes_per_s = 32 * MIB,
			       .downtime_limit_ms = downtime_ms };
	struct mig_drive *d = calloc(1, sizeof(*d));
	struct mig_active *a;

	assert_non_null(d);
	a = mig_act_begin_known(UUID, "v1", 1000 * MS, &k);
	assert_non_null(a);
	a->rec->driven = json_object_new_object();
	d->gen = mig_st.gen;
	d->id = a->rec->id;
	snprintf(d->uuid, sizeof(d->uuid), "%s", UUID);
	snprintf(d->name, sizeof(d->name), "v1");
	d->downtime_ms = downtime_ms;
	d->max_downtime_ms = max_downtime_ms;
	d->submitted = true;
	d->act = a;
	a->drive = d;
	d->next = drives;
	drives = d;
	return d;
}

static size_t escalations(const struct mig_record *r, const char **last_action)
{
	struct json_object *arr, *e, *v;
	size_t n;

	if (!json_object_object_get_ex(r->driven, "escalations", &arr))
		return 0;
	n = json_object_array_length(arr);
	e = json_object_array_get_idx(arr, n - 1);
	if (last_action && json_object_object_get_ex(e, "action", &v))
		*last_action = json_object_get_string(v);
	return n;
}

/* Behind the prediction (4200 ms: 150 % + 3 s = 9300 ms): the downtime limit
 * doubles up to the maximum, one step per interval, then abort; never in the
 * bulk pass; the record ends cancelled, saying tide aborted it. */
static void test_drive_escalates_then_aborts(void **state)
{
	struct mig_drive *d = driven_record(300, 1000);
	struct mig_active *a = d->act;
	struct mig_stats bulk = running(1, 64 * MIB, 64 * MIB, 32 * MIB);
	struct mig_stats iter = running(3, 40 * MIB, 200 * MIB, 32 * MIB);
	const char *act = NULL;

	assert_true(a->rec->has_prediction);
	mig_poll_result(a, false, &bulk, NULL, 1000 * MS + 12000 * MS);
	assert_int_equal(d->steps, 0); /* the bulk pass: no step however late */
	d->next_check_ms = 0;
	mig_drive_progress(a, &iter, 1000 * MS + 9000 * MS);
	assert_int_equal(d->steps, 0); /* not behind yet */
	mig_drive_progress(a, &iter, 1000 * MS + 9400 * MS);
	assert_int_equal(d->steps, 1);
	assert_int_equal(d->downtime_ms, 600);
	mig_drive_progress(a, &iter, 1000 * MS + 10000 * MS);
	assert_int_equal(d->steps, 1); /* one step per interval */
	mig_drive_progress(a, &iter, 1000 * MS + 11500 * MS);
	assert_int_equal(d->downtime_ms, 1000); /* doubled, capped at the maximum */
	assert_false(d->aborting);
	mig_drive_progress(a, &iter, 1000 * MS + 13600 * MS);
	assert_true(d->aborting);
	assert_int_equal(escalations(a->rec, &act), 3);
	assert_string_equal(act, "abort");
	mig_act_end(a, MIG_FAILED, NULL, "operation aborted: migration out job: canceled by client");
	assert_int_equal(only_record()->result, MIG_CANCELLED);
	assert_non_null(strstr(only_record()->error, "tide aborted it"));
	assert_null(d->act);
	d->call_done = true;
	drive_free_if_over(d);
}

/* Past migration_timeout_ms it is aborted wherever it is, even in the bulk pass. */
static void test_drive_timeout(void **state)
{
	struct mig_drive *d = driven_record(300, 300);
	struct mig_stats bulk = running(1, 64 * MIB, 64 * MIB, 32 * MIB);
	const char *act = NULL;

	mig_drive_progress(d->act, &bulk, 1000 * MS + 121000 * MS);
	assert_true(d->aborting);
	assert_non_null(strstr(d->abort_why, "migration_timeout_ms"));
	assert_int_equal(escalations(d->act->rec, &act), 1);
	assert_string_equal(act, "abort");
	mig_act_end(d->act, MIG_FAILED, NULL, NULL);
	d->call_done = true;
	drive_free_if_over(d);
}

/* The destination refuses it at prepare: the call fails before libvirt's
 * job ever showed: a failed record with the refusal, no figures, and the
 * polls before it changed nothing. */
static void test_drive_refused_before_start(void **state)
{
	struct mig_drive *d = driven_record(300, 1000);
	struct mig_stats none = { .type = VIR_DOMAIN_JOB_NONE };
	struct migrate_job *j = calloc(1, sizeof(*j));

	mig_poll_result(d->act, false, &none, &none, 1000 * MS + 200 * MS);
	assert_int_equal(only_record()->result, MIG_RUNNING);
	j->d = d;
	j->gen = d->gen;
	migrate_done(-EPERM, "hook script execution failed: tide on h3 refused VM 'v1'", j);
	free(j);
	assert_int_equal(only_record()->result, MIG_FAILED);
	assert_non_null(strstr(only_record()->error, "refused VM 'v1'"));
	assert_false(only_record()->has_actual);
	loop_run_once(0); /* the deferred close frees the drive */
	assert_null(drives);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_passes_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calibrates_known_dest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dest_disappears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incoming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_run_wrapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_and_prom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_escalates_then_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_refused_before_start, setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
