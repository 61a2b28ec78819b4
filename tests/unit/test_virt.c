// SPDX-License-Identifier: GPL-2.0
/*
 * virt: libvirt's events run through tide's loop, with libvirt's in-process
 * test driver ("test:///default": one running domain named "test").
 *
 * The test driver queues domain events and flushes the queue from a
 * libvirt timeout, so a lifecycle callback can only run if libvirt's timers
 * fire through our adapter: that is what the first test proves.
 *
 * Linked with -Wl,--wrap=virDomainGetJobStats (TEST_LDFLAGS_test_virt in
 * unit.mk) to show how a module's libvirt calls are stubbed: the adapter in
 * virt.o calls __wrap_virDomainGetJobStats below, which serves canned
 * statistics queued with mock_job_stats().
 */
#include "unit.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "loop.h"
#include "virt.h"

#define WATCHDOG_MS 10000

struct fixture {
	virConnectPtr conn;
	virDomainPtr dom;
};

static int watchdog_id;
/* set while loop_run_once() runs: callbacks must come from inside it */
static bool in_loop;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	log_set_level(LOG_LEVEL_ERR);
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	/* before any connection: libvirt binds event handling at open */
	if (virt_init())
		return -1;
	if (virt_open("test:///default", &f->conn))
		return -1;
	if (virt_domain_lookup_by_name(f->conn, "test", &f->dom))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virt_domain_free(f->dom);
	virt_close(f->conn);
	virt_fini();
	loop_fini();
	free(f);
	return 0;
}

static void iterate(void)
{
	in_loop = true;
	assert_int_equal(loop_run_once(10), 0);
	in_loop = false;
}

/* ---- lifecycle events through the loop --------------------------------- */

struct lifecycle {
	int events[8];
	int n;
	bool outside_loop; /* a callback ran outside loop_run_once() */
	int freed;
};

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lifecycle *lc = opaque;

	if (!in_loop)
		lc->outside_loop = true;
	if (lc->n < (int)ARRAY_SIZE(lc->events))
		lc->events[lc->n++] = event;
	return 0;
}

static void lifecycle_freed(void *opaque)
{
	((struct lifecycle *)opaque)->freed++;
}

static void test_lifecycle_event_through_loop(void **state)
{
	struct fixture *f = *state;
	struct lifecycle lc = { 0 };
	int cb_id, st, reason;

	assert_int_equal(virt_domain_event_register(f->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &lc,
						    lifecycle_freed, &cb_id),
			 0);

	assert_int_equal(virt_domain_suspend(f->dom), 0);
	/* queued, not delivered: delivery is the loop's job */
	assert_int_equal(lc.n, 0);
	while (lc.n < 1)
		iterate();
	assert_int_equal(lc.events[0], VIR_DOMAIN_EVENT_SUSPENDED);
	assert_int_equal(virt_domain_get_state(f->dom, &st, &reason), 0);
	assert_int_equal(st, VIR_DOMAIN_PAUSED);

	assert_int_equal(virt_domain_resume(f->dom), 0);
	while (lc.n < 2)
		iterate();
	assert_int_equal(lc.events[1], VIR_DOMAIN_EVENT_RESUMED);
	assert_false(lc.outside_loop);

	assert_int_equal(virt_domain_event_deregister(f->conn, cb_id), 0);
	for (int i = 0; i < 5 && !lc.freed; i++)
		iterate();
	assert_int_equal(lc.freed, 1);
}

static void test_errors_name_operation_object_and_reason(void **state)
{
	struct fixture *f = *state;
	virConnectPtr bad = NULL;
	virDomainPtr none = NULL;

	assert_int_equal(virt_domain_lookup_by_name(f->conn, "no-such-vm", &none), -ENOENT);
	assert_null(none);
	assert_string_equal(virt_last_error(), "cannot find domain 'no-such-vm': Domain not found");

	/* running, so resume is refused (the test driver calls that an
	 * internal error); the name survives libvirt's error reset */
	assert_int_equal(virt_domain_resume(f->dom), -EIO);
	assert_string_equal(virt_last_error(),
			    "cannot resume domain 'test': internal error: domain 'test' not paused");

	assert_true(virt_open("test:///nonexistent/tide-unit.xml", &bad) < 0);
	assert_null(bad);
	assert_true(strncmp(virt_last_error(),
			    "cannot connect to libvirt at 'test:///nonexistent/tide-unit.xml': ",
			    66) == 0);
}

static void test_list_domains(void **state)
{
	struct fixture *f = *state;
	virDomainPtr *doms = NULL;
	int n = 0;

	assert_int_equal(virt_list_domains(f->conn, 0, &doms, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(virDomainGetName(doms[0]), "test");
	virt_domains_free(doms, n);
}

/* ---- the event implementation, through libvirt's public virEvent* ------ */

struct vtimer {
	int fired;
	int freed;
};

static void vtimer_cb(int timer, void *opaque)
{
	((struct vtimer *)opaque)->fired++;
}

static void vtimer_free(void *opaque)
{
	((struct vtimer *)opaque)->freed++;
}

static void test_libvirt_timeout_semantics(void **state)
{
	struct vtimer t = { 0 };
	int id;

	/* -1: registered but off */
	id = virEventAddTimeout(-1, vtimer_cb, &t, vtimer_free);
	assert_true(id > 0);
	for (int i = 0; i < 3; i++)
		iterate();
	assert_int_equal(t.fired, 0);

	/* 0: once per iteration */
	virEventUpdateTimeout(id, 0);
	for (int i = 1; i <= 3; i++) {
		iterate();
		assert_int_equal(t.fired, i);
	}

	/* off again, then periodic */
	virEventUpdateTimeout(id, -1);
	iterate();
	assert_int_equal(t.fired, 3);
	virEventUpdateTimeout(id, 5);
	while (t.fired < 6)
		iterate();

	/* remove: the free callback runs later, from the loop, never inside */
	assert_int_equal(virEventRemoveTimeout(id), 0);
	assert_int_equal(t.freed, 0);
	iterate();
	assert_int_equal(t.freed, 1);
	assert_int_equal(virEventRemoveTimeout(id), -1);
}

struct vhandle {
	int calls;
	int last_events;
	int fd;
	int freed;
};

static void vhandle_cb(int watch, int fd, int events, void *opaque)
{
	struct vhandle *h = opaque;
	char c;

	h->calls++;
	h->last_events = events;
	h->fd = fd;
	if (events & VIR_EVENT_HANDLE_READABLE)
		(void)!read(fd, &c, 1);
}

static void vhandle_free(void *opaque)
{
	((struct vhandle *)opaque)->freed++;
}

static void test_libvirt_handle_semantics(void **state)
{
	struct vhandle h = { 0 };
	int p[2], watch;

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	watch = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, vhandle_cb, &h, vhandle_free);
	assert_true(watch > 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	/* level-triggered, like poll(): one byte per call, two calls */
	while (h.calls < 2)
		iterate();
	assert_int_equal(h.last_events, VIR_EVENT_HANDLE_READABLE);
	assert_int_equal(h.fd, p[0]);

	/* events 0: silent */
	virEventUpdateHandle(watch, 0);
	assert_int_equal(write(p[1], "c", 1), 1);
	for (int i = 0; i < 3; i++)
		iterate();
	assert_int_equal(h.calls, 2);

	/* hang-up is reported as such */
	virEventUpdateHandle(watch, VIR_EVENT_HANDLE_READABLE);
	close(p[1]);
	while (!(h.last_events & VIR_EVENT_HANDLE_HANGUP))
		iterate();

	assert_int_equal(virEventRemoveHandle(watch), 0);
	assert_int_equal(h.freed, 0);
	iterate();
	assert_int_equal(h.freed, 1);
	close(p[0]);
}

/* ---- stubbing libvirt at link time ------------------------------------- */

int __wrap_virDomainGetJobStats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				int *nparams, unsigned int flags);

int __wrap_virDomainGetJobStats(virDomainPtr dom, int *type, virTypedParameterPtr *params,
				int *nparams, unsigned int flags)
{
	int ret = mock_type(int);
	int max = 0;

	if (ret < 0)
		return ret;
	*params = NULL;
	*nparams = 0;
	*type = VIR_DOMAIN_JOB_UNBOUNDED;
	virTypedParamsAddULLong(params, nparams, &max, VIR_DOMAIN_JOB_MEMORY_REMAINING,
				mock_type(unsigned long long));
	virTypedParamsAddULLong(params, nparams, &max, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE,
				mock_type(unsigned long long));
	return 0;
}

/* intent-named: a migration job with this much left and this dirty rate */
static void mock_job_stats(unsigned long long remaining_bytes, unsigned long long dirty_pages_per_s)
{
	will_return(__wrap_virDomainGetJobStats, 0);
	will_return(__wrap_virDomainGetJobStats, remaining_bytes);
	will_return(__wrap_virDomainGetJobStats, dirty_pages_per_s);
}

static void mock_job_stats_failure(void)
{
	will_return(__wrap_virDomainGetJobStats, -1);
}

static void test_job_stats_adapter_with_wrapped_libvirt(void **state)
{
	struct fixture *f = *state;
	virTypedParameterPtr params = NULL;
	unsigned long long remaining_bytes = 0, rate = 0;
	int type = 0, n = 0;

	mock_job_stats(64ull << 20, 2500);
	assert_int_equal(virt_domain_get_job_stats(f->dom, &type, &params, &n, 0), 0);
	assert_int_equal(type, VIR_DOMAIN_JOB_UNBOUNDED);
	assert_int_equal(virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_REMAINING,
						 &remaining_bytes),
			 1);
	assert_int_equal(virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &rate),
			 1);
	assert_int_equal(remaining_bytes, 64ull << 20);
	assert_int_equal(rate, 2500);
	virTypedParamsFree(params, n);

	/* a failure without a libvirt error still gives a sentence */
	mock_job_stats_failure();
	virResetLastError();
	assert_int_equal(virt_domain_get_job_stats(f->dom, &type, &params, &n, 0), -EIO);
	assert_string_equal(virt_last_error(),
			    "cannot get the job statistics of domain 'test': unknown libvirt error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle_event_through_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_name_operation_object_and_reason, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libvirt_timeout_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libvirt_handle_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_stats_adapter_with_wrapped_libvirt, setup,
						teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("virt", tests, NULL, NULL);
}
