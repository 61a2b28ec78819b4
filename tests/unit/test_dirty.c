// SPDX-License-Identifier: GPL-2.0
/*
 * dirty: the dirty-page curve.
 *   - point math: W = MiB/s x calc_period (the period QEMU measured, not the
 *     seconds asked), the binomial confidence, the jump that restarts an
 *     average;
 *   - derived figures: rate, working set, lower bounds; the model curve;
 *     dirty_add_point();
 *   - the probe schedule through tide's loop and vconn (libvirt's test
 *     driver): the budget and the interval respected, windows cycling 1, 2,
 *     4, 8 s, no probe while a VM migrates, a VM with a job (or whose start
 *     is refused for the job lock) retried later and not counted a failure,
 *     dirty_probe = false.
 *
 * dirty.c and dirty_probe.c are included (their statics).  Linked with
 * --wrap for the store's VM list and the virt adapters the probes call
 * (TEST_LDFLAGS_test_dirty): the VMs are the test's, "libvirt" answers as
 * the test says, from vconn's worker thread (hence the mutex).  Delays run
 * time_scale times faster.
 */
#include "unit.h"

#include <pthread.h>

#include "../../daemon/dirty.c"
#include "../../daemon/dirty_probe.c"
#include "virt.h"
#include "work.h"

#define WATCHDOG_MS 20000
#define SCALE 50
#define MAX_VMS 4
#define MAX_STARTS 256

static int watchdog_id;
static char *tmpdir;

/* ---- the store's VMs --------------------------------------------------------- */

static struct vm_desc fake_vms[MAX_VMS];
static uint32_t n_fake_vms;

static void add_vm(const char *uuid, const char *name, uint64_t memory_bytes)
{
	struct vm_desc *d = &fake_vms[n_fake_vms++];

	memset(d, 0, sizeof(*d));
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->name = (char *)name;
	d->memory_bytes = memory_bytes;
}

/* a store_vm is the test's vm_desc */
const struct store_vm *__wrap_store_vm_next(const struct store_vm *prev);
const struct store_vm *__wrap_store_vm_next(const struct store_vm *prev)
{
	uint32_t i = prev ? (uint32_t)((const struct vm_desc *)prev - fake_vms) + 1 : 0;

	return i < n_fake_vms ? (const struct store_vm *)&fake_vms[i] : NULL;
}

const struct vm_desc *__wrap_store_vm_desc(const struct store_vm *vm);
const struct vm_desc *__wrap_store_vm_desc(const struct store_vm *vm)
{
	return (const struct vm_desc *)vm;
}

const struct store_vm *__wrap_store_vm_find(const char *name_or_uuid);
const struct store_vm *__wrap_store_vm_find(const char *name_or_uuid)
{
	for (uint32_t i = 0; i < n_fake_vms; i++)
		if (!strcasecmp(fake_vms[i].uuid, name_or_uuid))
			return (const struct store_vm *)&fake_vms[i];
	return NULL;
}

/* ---- libvirt, as the test says (worker thread) ----------------------------------- */

static struct {
	pthread_mutex_t lock;
	int job_type_times;   /* get_job_stats says "a job runs" this many times */
	int start_busy_times; /* start fails with -EBUSY this many times */
	long long mib_per_s;
	int period_extra_s; /* QEMU measured this much longer than asked */
	int n_starts;
	char start_uuid[MAX_STARTS][VM_UUID_BYTES];
	int start_seconds[MAX_STARTS];
	uint64_t start_ms[MAX_STARTS];
	char last_uuid[VM_UUID_BYTES]; /* of the last lookup */
} lv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread char looked_up[VM_UUID_BYTES];

int __wrap_virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid, virDomainPtr *dom);
int __wrap_virt_domain_lookup_by_uuid_string(virConnectPtr conn, const char *uuid, virDomainPtr *dom)
{
	snprintf(looked_up, sizeof(looked_up), "%s", uuid);
	/* the test driver's one domain stands for every VM */
	return virt_domain_lookup_by_name(conn, "test", dom);
}

int __wrap_virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				     int *n_params, unsigned int flags);
int __wrap_virt_domain_get_job_stats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				     int *n_params, unsigned int flags)
{
	pthread_mutex_lock(&lv.lock);
	*type = VIR_DOMAIN_JOB_NONE;
	if (lv.job_type_times > 0) {
		lv.job_type_times--;
		*type = VIR_DOMAIN_JOB_UNBOUNDED;
	}
	pthread_mutex_unlock(&lv.lock);
	*params = NULL;
	*n_params = 0;
	return 0;
}

int __wrap_virt_domain_start_dirty_rate_calc(virDomainPtr dom, int seconds, unsigned int flags);
int __wrap_virt_domain_start_dirty_rate_calc(virDomainPtr dom, int seconds, unsigned int flags)
{
	int err = 0;

	assert_int_equal(flags, VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING);
	pthread_mutex_lock(&lv.lock);
	if (lv.start_busy_times > 0) {
		lv.start_busy_times--;
		err = -EBUSY;
	} else if (lv.n_starts < MAX_STARTS) {
		snprintf(lv.start_uuid[lv.n_starts], VM_UUID_BYTES, "%s", looked_up);
		lv.start_seconds[lv.n_starts] = seconds;
		lv.start_ms[lv.n_starts] = util_monotonic_ns() / 1000000;
		lv.n_starts++;
	}
	pthread_mutex_unlock(&lv.lock);
	return err;
}

int __wrap_virt_domain_get_dirty_rate(virDomainPtr dom, struct virt_dirty_rate *out);
int __wrap_virt_domain_get_dirty_rate(virDomainPtr dom, struct virt_dirty_rate *out)
{
	int seconds = 0;

	pthread_mutex_lock(&lv.lock);
	/* the seconds asked of this VM's last start */
	for (int i = lv.n_starts - 1; i >= 0 && !seconds; i--)
		if (!strcmp(lv.start_uuid[i], looked_up))
			seconds = lv.start_seconds[i];
	memset(out, 0, sizeof(*out));
	out->calc_status = VIR_DOMAIN_DIRTYRATE_MEASURED;
	out->calc_start_time_s = realtime_s();
	out->calc_period_s = seconds + lv.period_extra_s;
	out->has_rate = true;
	out->mib_per_s = lv.mib_per_s;
	snprintf(out->calc_mode, sizeof(out->calc_mode), "page-sampling");
	pthread_mutex_unlock(&lv.lock);
	return 0;
}

/* ---- set-up ------------------------------------------------------------------------- */

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup(void **state)
{
	log_set_level(LOG_LEVEL_ERR);
	n_fake_vms = 0;
	pthread_mutex_lock(&lv.lock);
	lv.job_type_times = lv.start_busy_times = lv.n_starts = lv.period_extra_s = 0;
	lv.mib_per_s = 10;
	pthread_mutex_unlock(&lv.lock);
	tmpdir = unit_mkdtemp("dirty");
	if (!tmpdir || loop_init() ||
	    loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	if (virt_init() || work_init(NULL) || vconn_init())
		return -1;
	return 0;
}

static int teardown(void **state)
{
	dirty_fini();
	vconn_fini();
	work_fini();
	virt_fini();
	loop_fini();
	conf_fini();
	unit_rmtree(tmpdir);
	return 0;
}

/* conf (libvirt's test driver) plus extra, then dirty, SCALE times faster */
static void start(const char *extra)
{
	char text[512], *path;

	snprintf(text, sizeof(text), "libvirt_uri = \"test:///default\";\n%s", extra);
	path = unit_write_file(tmpdir, "tided.conf", text);
	assert_non_null(path);
	assert_int_equal(conf_init(path), 0);
	free(path);
	assert_int_equal(dirty_init(), 0);
	ds.time_scale = SCALE;
}

static uint32_t max_probing;

static void run_ms(uint64_t ms)
{
	uint64_t t0 = loop_now_ms();

	while (loop_now_ms() - t0 < ms) {
		assert_int_equal(loop_run_once(5), 0);
		if (ds.probing > max_probing)
			max_probing = ds.probing;
		assert_true(ds.probing <= ds.budget);
	}
}

#define RUN_UNTIL(cond)            \
	do {                       \
		while (!(cond))    \
			run_ms(5); \
	} while (0)

#define UUID_A "aaaaaaaa-0000-0000-0000-000000000001"
#define UUID_B "aaaaaaaa-0000-0000-0000-000000000002"
#define UUID_C "aaaaaaaa-0000-0000-0000-000000000003"
#define MIB (1ull << 20)

static int starts_of(const char *uuid)
{
	int n = 0;

	pthread_mutex_lock(&lv.lock);
	for (int i = 0; i < lv.n_starts; i++)
		n += !strcmp(lv.start_uuid[i], uuid);
	pthread_mutex_unlock(&lv.lock);
	return n;
}

/* ---- point math and figures ----------------------------------------------------- */

static void test_point_math(void **state)
{
	/* 10 MiB/s over 2 s: 20 MiB = 5120 pages */
	assert_int_equal(dirty_pages_of(10, 2), 5120);
	assert_int_equal(dirty_pages_of(0, 4), 0);
	assert_int_equal(dirty_pages_of(-1, 4), 0);
	/* QEMU's floor undone: 128 samples of 256 MiB; at 1 s one sample is
	 * 2 MiB/s, so 10 MiB/s is exactly 5 samples (10 MiB); at 5 s one is
	 * 0.4 MiB/s: 25..27 samples, 26 taken (13 MiB, not 10 x 5 = 50 MiB / 5) */
	assert_int_equal(dirty_unround_pages(10, 1000, 512, 256 * MIB), 2560);
	assert_int_equal(dirty_unround_pages(10, 5000, 512, 256 * MIB), 26 * 512);
	assert_int_equal(dirty_unround_pages(0, 5000, 512, 256 * MIB), 0);
	/* 4096 per GiB, 100 ms: one sample (64 pages) is 2.5 MiB/s: exact */
	assert_int_equal(dirty_unround_pages(25, 100, 4096, 256 * MIB), 10 * 64);
	/* 512 samples per GiB; blocks under 128 MiB are not sampled */
	assert_int_equal(dirty_sample_pages(256 * MIB), 128);
	assert_int_equal(dirty_sample_pages(64 * MIB), 0);
	assert_true(dirty_sampling_confidence(4096, 64 * MIB, 1) == 0);
	/* 16 MiB of 256 MiB, 128 samples: relative error 34 % */
	assert_true(fabs(dirty_sampling_confidence(4096, 256 * MIB, 1) - 1 / 1.342) < 0.01);
	/* four readings: half the error */
	assert_true(fabs(dirty_sampling_confidence(4096, 256 * MIB, 4) - 1 / 1.171) < 0.01);
	/* more pages dirty, more samples hit: a smaller relative error */
	assert_true(dirty_sampling_confidence(8192, 256 * MIB, 1) >
		    dirty_sampling_confidence(4096, 256 * MIB, 1));
	/* nothing seen is not "exactly nothing" */
	assert_true(dirty_sampling_confidence(0, 256 * MIB, 1) < 0.6);
	assert_true(dirty_aged(0.8, 0, 1000) == 0.8);
	assert_true(fabs(dirty_aged(0.8, 500, 1000) - 0.4) < 1e-9);
	assert_true(dirty_aged(0.8, 1000, 1000) == 0);
	/* 16 MiB then 17 MiB is noise; 32 MiB then 0 is a guest that stopped */
	assert_false(dirty_is_jump(256 * MIB, 4096, 4352, 1000));
	assert_true(dirty_is_jump(256 * MIB, 8192, 0, 1000));
}

static void set_points(struct dirty_info *d, uint32_t n, const uint32_t *t_ms, const uint64_t *pages)
{
	memset(d, 0, sizeof(*d));
	d->nr_points = n;
	for (uint32_t i = 0; i < n; i++) {
		d->points[i].t_ms = t_ms[i];
		d->points[i].pages = pages[i];
		d->points[i].confidence = 0.9;
	}
	/* 256 MiB, one sample standing for 64 pages */
	dirty_derive(d, 64, 65536);
}

static void test_derived(void **state)
{
	static const uint32_t t[] = { 1000, 2000, 4000, 8000 };
	struct dirty_info d;

	/* 10 MiB/s over 16 MiB, sequential */
	set_points(&d, 4, t, (const uint64_t[]){ 2560, 4096, 4096, 4096 });
	assert_true(fabs(d.rate_bytes_per_s - 10.0 * MIB) < 0.001 * 10 * MIB);
	assert_true(labs((long)d.working_set_bytes - (long)(16 * MIB)) < 0.001 * 16 * MIB);
	assert_int_equal(d.shape, DIRTY_SHAPE_SEQUENTIAL);
	assert_false(d.rate_is_lower_bound);
	assert_false(d.working_set_is_lower_bound);
	/* 40 MiB/s over 4 MiB: the shortest window is already full */
	set_points(&d, 4, t, (const uint64_t[]){ 1024, 1024, 1024, 1024 });
	assert_true(d.rate_is_lower_bound);
	assert_true(labs((long)d.working_set_bytes - (long)(4 * MIB)) < 0.001 * 4 * MIB);
	/* and the rate is what the shortest window proves: W(1 s) / 1 s */
	assert_true(fabs(d.rate_bytes_per_s - 4.0 * MIB) < 0.01 * 4 * MIB);
	/* 1 MiB/s over 96 MiB: still rising at 8 s */
	set_points(&d, 4, t, (const uint64_t[]){ 256, 512, 1024, 2048 });
	assert_true(d.working_set_is_lower_bound);
	assert_false(d.rate_is_lower_bound);
	assert_true(labs((long)d.working_set_bytes - (long)(8 * MIB)) < 0.01 * 8 * MIB);
	/* noise: the plateau between the two longest */
	set_points(&d, 3, t, (const uint64_t[]){ 2560, 4300, 4000 });
	assert_true(d.working_set_bytes >= 4000ull * 4096 && d.working_set_bytes <= 4300ull * 4096);
	/* an idle guest: no lower bound to claim */
	set_points(&d, 2, t, (const uint64_t[]){ 0, 0 });
	assert_false(d.rate_is_lower_bound);
	assert_true(d.rate_bytes_per_s == 0);
}

/* ---- the fit (dirty_fit.c) --------------------------------------------------- */

/* a deterministic N(0, 1): Box-Muller over an LCG */
static double gauss(uint64_t *seed)
{
	double u1, u2;

	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	u1 = ((*seed >> 11) + 1.0) / 9007199254740993.0;
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	u2 = (*seed >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* the QMP probe's windows; W of shape (r, s), relative noise rel */
static uint32_t fit_points(struct dirty_fit_point *p, enum dirty_shape shape, double r, double s,
			   double rel, uint64_t *seed)
{
	static const double t_s[] = { 0.1, 0.25, 0.5, 1, 2, 4, 8 };
	uint32_t n = sizeof(t_s) / sizeof(t_s[0]);

	for (uint32_t i = 0; i < n; i++) {
		double w = dirty_shape_pages(shape, r, s, t_s[i]);

		p[i].t_s = t_s[i];
		p[i].sigma_pages = (rel > 0 ? rel : 0.02) * (w > 64 ? w : 64);
		p[i].pages = w + (rel > 0 ? gauss(seed) * p[i].sigma_pages : 0);
		if (p[i].pages < 0)
			p[i].pages = 0;
	}
	return n;
}

static void test_fit(void **state)
{
	struct dirty_fit_point p[DIRTY_MAX_POINTS];
	struct dirty_fit f;
	uint64_t seed = 42;
	uint32_t n;

	/* exact points: both shapes found, r and S back */
	n = fit_points(p, DIRTY_SHAPE_SEQUENTIAL, 2560, 4096, 0, &seed);
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_int_equal(f.shape, DIRTY_SHAPE_SEQUENTIAL);
	assert_true(fabs(f.rate_pages_per_s / 2560 - 1) < 0.01);
	assert_true(fabs(f.set_pages / 4096 - 1) < 0.01);
	assert_false(f.rate_is_lower_bound);
	assert_false(f.set_is_lower_bound);
	n = fit_points(p, DIRTY_SHAPE_RANDOM, 2560, 4096, 0, &seed);
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_int_equal(f.shape, DIRTY_SHAPE_RANDOM);
	assert_true(fabs(f.rate_pages_per_s / 2560 - 1) < 0.01);
	assert_true(fabs(f.set_pages / 4096 - 1) < 0.01);
	assert_false(f.set_is_lower_bound);
	/* the same over 32 MiB: 92 % full at 8 s but still growing by 29 %
	 * since 4 s: the set is only known to be at least W(8 s) */
	n = fit_points(p, DIRTY_SHAPE_RANDOM, 2560, 8192, 0, &seed);
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_true(f.set_is_lower_bound);
	assert_true(fabs(f.set_pages / (8192 * -expm1(-2.5)) - 1) < 0.01);
	/* 40 MiB/s over 1 MiB fills in 25 ms: full at 0.1 s, the rate a bound */
	n = fit_points(p, DIRTY_SHAPE_SEQUENTIAL, 10240, 256, 0, &seed);
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_true(f.rate_is_lower_bound);
	assert_true(f.rate_pages_per_s <= 10240 && f.rate_pages_per_s >= 0.99 * 2560);
	/* 1 MiB/s over 96 MiB: still rising at 8 s, the set a bound (W(8 s)) */
	n = fit_points(p, DIRTY_SHAPE_SEQUENTIAL, 256, 24576, 0, &seed);
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_true(f.set_is_lower_bound);
	assert_true(fabs(f.set_pages / 2048 - 1) < 0.01);
	assert_true(fabs(f.rate_pages_per_s / 256 - 1) < 0.01);
	/* 10 % noise per point, 20 draws of either shape: the rate within
	 * 30 %, the set within 25 %: a noisy sequential curve may fit the
	 * random shape best, whose slope at 0 is steeper and whose plateau
	 * lies beyond the points (seen: r 1.25 x, S 1.19 x the truth) */
	for (int k = 0; k < 20; k++) {
		enum dirty_shape sh = k % 2 ? DIRTY_SHAPE_RANDOM : DIRTY_SHAPE_SEQUENTIAL;

		n = fit_points(p, sh, 2560, 4096, 0.1, &seed);
		assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
		assert_true(fabs(f.rate_pages_per_s / 2560 - 1) < 0.3);
		assert_true(fabs(f.set_pages / 4096 - 1) < 0.25);
	}
	/* nothing written; bad input */
	for (uint32_t i = 0; i < n; i++)
		p[i].pages = 0;
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), 0);
	assert_int_equal(f.shape, DIRTY_SHAPE_NONE);
	assert_true(f.rate_pages_per_s == 0 && f.set_pages == 0);
	assert_int_equal(dirty_fit_curve(p, 0, 65536, &f), -ENODATA);
	p[0].sigma_pages = 0;
	assert_int_equal(dirty_fit_curve(p, n, 65536, &f), -EINVAL);
}

/* ---- the QMP replies (dirty_qmp.c) -------------------------------------------- */

static void test_qmp_replies(void **state)
{
	struct dirty_qmp_rate r;
	char cmd[256], err[256];

	assert_int_equal(dirty_qmp_calc_cmd(cmd, sizeof(cmd), 250, 4096), 0);
	assert_non_null(strstr(cmd, "\"calc-time\":250,\"calc-time-unit\":\"millisecond\""));
	assert_non_null(strstr(cmd, "\"sample-pages\":4096"));
	assert_int_equal(dirty_qmp_calc_cmd(cmd, 10, 250, 4096), -ENOSPC);
	assert_int_equal(dirty_qmp_parse_calc("{\"return\":{},\"id\":\"libvirt-1\"}", err,
					      sizeof(err)),
			 0);
	assert_int_equal(
		dirty_qmp_parse_calc("{\"id\":\"libvirt-2\",\"error\":{\"class\":\"GenericError\","
				     "\"desc\":\"the dirty rate is already being measured.\"}}",
				     err, sizeof(err)),
		-EBUSY);
	/* a QEMU that does not know sample-pages */
	assert_int_equal(dirty_qmp_parse_calc("{\"error\":{\"class\":\"GenericError\",\"desc\":"
					      "\"Parameter 'sample-pages' is unexpected\"}}",
					      err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "sample-pages"));
	assert_int_equal(dirty_qmp_parse_calc("not json", err, sizeof(err)), -EBADMSG);
	assert_int_equal(dirty_qmp_parse_query("{\"return\":{\"status\":\"measured\",\"sample-pages\":4096,"
					       "\"dirty-rate\":25,\"mode\":\"page-sampling\","
					       "\"start-time\":1700000000,\"calc-time-unit\":"
					       "\"millisecond\",\"calc-time\":103}}",
					       &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.status, DIRTY_QMP_MEASURED);
	assert_int_equal(r.calc_ms, 103);
	assert_int_equal(r.sample_pages_per_gib, 4096);
	assert_true(r.has_rate && r.mib_per_s == 25);
	assert_string_equal(r.mode, "page-sampling");
	assert_int_equal(dirty_qmp_parse_query("{\"return\":{\"status\":\"measuring\",\"calc-time-unit\":"
					       "\"millisecond\",\"calc-time\":250}}",
					       &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.status, DIRTY_QMP_MEASURING);
	assert_false(r.has_rate);
	/* seconds: a QEMU before calc-time-unit */
	assert_int_equal(dirty_qmp_parse_query("{\"return\":{\"status\":\"measured\",\"calc-time\":1}}",
					       &r, err, sizeof(err)),
			 -EOPNOTSUPP);
}

static void test_add_point_and_curve(void **state)
{
	struct model_curve c;
	struct dirty_info d;

	add_vm(UUID_A, "a", 256 * MIB);
	add_vm(UUID_B, "b", 256 * MIB);
	start("dirty_probe = false;\n");
	assert_int_equal(dirty_get(UUID_A, &d), -ENODATA);
	assert_int_equal(dirty_get("nope", &d), -ENOENT);
	assert_int_equal(dirty_curve(UUID_A, &c), -ENODATA);
	assert_int_equal(dirty_add_point("nope", DIRTY_SRC_MIGRATION, 300, 10, 0), -ENOENT);
	assert_int_equal(dirty_add_point(UUID_A, DIRTY_SRC_MIGRATION, 0, 10, 0), -EINVAL);
	/* rounds of a migration, not in order, one repeated (the newest stays) */
	assert_int_equal(dirty_add_point(UUID_A, DIRTY_SRC_MIGRATION, 800, 3000, 0), 0);
	assert_int_equal(dirty_add_point(UUID_A, DIRTY_SRC_MIGRATION, 300, 700, 0), 0);
	assert_int_equal(dirty_add_point(UUID_A, DIRTY_SRC_MIGRATION, 300, 768, 0), 0);
	assert_int_equal(dirty_get(UUID_A, &d), 0);
	assert_int_equal(d.nr_points, 2);
	assert_int_equal(d.points[0].t_ms, 300);
	assert_int_equal(d.points[0].pages, 768);
	assert_int_equal(d.points[0].src, DIRTY_SRC_MIGRATION);
	assert_true(d.points[0].confidence > 0.9);
	/* W(0.8 s) / W(0.3 s) is more than 0.8 / 0.3: no concave curve goes
	 * through both; the fit lies between, and the set still rises */
	assert_true(d.rate_bytes_per_s >= 768.0 * 4096 / 0.3 * 0.95 &&
		    d.rate_bytes_per_s <= 3000.0 * 4096 / 0.8 * 1.05);
	assert_true(d.working_set_is_lower_bound);
	assert_true(d.working_set_bytes >= 2000ull * 4096 && d.working_set_bytes <= 3000ull * 4096);
	assert_int_equal(dirty_curve(UUID_A, &c), 0);
	assert_int_equal(c.page_bytes, 4096);
	assert_int_equal(c.nr_points, 2);
	assert_int_equal(c.points[1].t_ms, 800);
	assert_int_equal(model_curve_wss_pages(&c), 3000);
	assert_int_equal(dirty_get(UUID_B, &d), -ENODATA);
	assert_true(ds.sources_mask & (1u << DIRTY_SRC_MIGRATION));
	/* stale points go: run past the stale age (scaled) */
	run_ms(dirty_stale_ns() / 1000000 + 50);
	assert_int_equal(dirty_get(UUID_A, &d), -ENODATA);
	/* no probe ever ran */
	assert_int_equal(lv.n_starts, 0);
}

/* ---- the schedule ----------------------------------------------------------------- */

static void test_budget_interval_windows_period(void **state)
{
	const char *uuids[] = { UUID_A, UUID_B, UUID_C };
	struct dirty_info d;

	add_vm(UUID_A, "a", 256 * MIB);
	add_vm(UUID_B, "b", 256 * MIB);
	add_vm(UUID_C, "c", 256 * MIB);
	lv.period_extra_s = 1; /* QEMU says it measured 1 s longer than asked */
	max_probing = 0;
	start("dirty_probe_budget = 1;\ndirty_probe_interval_ms = 2000;\n");
	RUN_UNTIL(starts_of(UUID_A) >= 4 && starts_of(UUID_B) >= 4 && starts_of(UUID_C) >= 4 &&
		  !ds.probing);
	assert_int_equal(max_probing, 1);
	assert_int_equal(ds.probes_failed, 0);
	for (int k = 0; k < 3; k++) {
		uint64_t last_ms = 0;
		int n = 0;

		pthread_mutex_lock(&lv.lock);
		for (int i = 0; i < lv.n_starts; i++) {
			if (strcmp(lv.start_uuid[i], uuids[k]))
				continue;
			/* windows 1, 2, 4, 8 s, one per probe */
			assert_int_equal(lv.start_seconds[i],
					 (int)dirty_windows_libvirt_ms[n % 4] / 1000);
			/* at most once per interval (scaled) */
			if (n)
				assert_true(lv.start_ms[i] - last_ms >= 2000 / SCALE);
			last_ms = lv.start_ms[i];
			n++;
		}
		pthread_mutex_unlock(&lv.lock);
	}
	/* the schedule took longer than the scaled stale age: read at the real one */
	ds.time_scale = 1;
	assert_int_equal(dirty_get(UUID_A, &d), 0);
	/* t is the period QEMU measured: 2, 3, 5, 9 s; W = 10 MiB/s x that */
	assert_true(d.nr_points >= 3);
	for (uint32_t i = 0; i < d.nr_points; i++) {
		assert_true(d.points[i].t_ms == 2000 || d.points[i].t_ms == 3000 ||
			    d.points[i].t_ms == 5000 || d.points[i].t_ms == 9000);
		assert_int_equal(d.points[i].pages,
				 dirty_unround_pages(10, d.points[i].t_ms, 512, 256 * MIB));
		assert_int_equal(d.points[i].src, DIRTY_SRC_SAMPLING);
	}
	assert_true(ds.sampling_worked);
}

static void test_no_probe_while_migrating(void **state)
{
	add_vm(UUID_A, "a", 256 * MIB);
	start("");
	dirty_migration_begin(UUID_A);
	run_ms(600);
	assert_int_equal(starts_of(UUID_A), 0);
	dirty_migration_end(UUID_A);
	RUN_UNTIL(starts_of(UUID_A) >= 1);
}

static void test_busy_is_retried(void **state)
{
	struct dirty_stats st;

	add_vm(UUID_A, "a", 256 * MIB);
	lv.job_type_times = 1;	 /* a migration someone else runs */
	lv.start_busy_times = 1; /* then the job lock held */
	start("");
	RUN_UNTIL(ds.probes_ok >= 1);
	dirty_stats(&st);
	assert_int_equal(st.probes_busy, 2);
	assert_int_equal(st.probes_failed, 0);
	assert_string_equal(st.sampling_state, "works");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_point_math),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_qmp_replies),
		cmocka_unit_test_setup_teardown(test_add_point_and_curve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_interval_windows_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_probe_while_migrating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_is_retried, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("dirty", tests, NULL, NULL);
}
