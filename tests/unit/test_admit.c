// SPDX-License-Identifier: GPL-2.0
/*
 * admit: the admission of incoming VMs, through its control commands, over
 * capacity figures the test sets (the capacity callback); and the hook's
 * domain XML reader; and the hook itself, run against this test's tided
 * (ctl on a socket in a temporary directory, served by the test's loop).
 *   - a VM that fits is admitted, its reservation listed;
 *   - memory, then CPU, refuse with a sentence that says what is needed and
 *     what is free; tide's metadata replaces the vCPUs as the CPU expected;
 *   - two requests back to back where one fits: the first is admitted, the
 *     second refused because of the first's reservation (the race);
 *   - a release by request, by the VM running here, by timeout frees the
 *     room (a VM still on its way keeps its reservation past the timeout);
 *   - draining, stale or unreadable figures refuse; admit_enabled false
 *     admits unchecked; a VM asking again replaces its reservation;
 *   - bad requests are errors, a refusal is an answer;
 *   - metrics and status members;
 *   - the XML: units, vcpus, metadata (any prefix, bad values ignored), no
 *     DTD, no network, errors;
 *   - the hook: exit 0 with nothing on stdout when admitted, exit 1 with
 *     tided's sentence on stderr when refused, a release, the policy when
 *     tided is unreachable (admit by default, refuse when configured).
 */
#include "unit.h"

#include <limits.h>
#include <libgen.h>
#include <sys/wait.h>

#include "../../hooks/qemu_hook_xml.c"
#include "admit.h"
#include "admit_int.h"
#include "cli_admit.h"
#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "loop.h"
#include "prom.h"
#include "reply.h"

#define WATCHDOG_MS 20000
#define MIB (1ull << 20)

#define UUID_A "aaaaaaaa-0000-4000-8000-000000000001"
#define UUID_B "bbbbbbbb-0000-4000-8000-000000000002"
#define UUID_C "cccccccc-0000-4000-8000-000000000003"

static int watchdog_id;

/* what the "host" has: the test's to set */
static struct {
	struct admit_capacity c;
	int err;
	const char *why;
	int calls;
} fake;

static int fake_capacity(struct admit_capacity *out, char *why, size_t why_bytes, void *arg)
{
	fake.calls++;
	if (fake.err) {
		snprintf(why, why_bytes, "%s", fake.why ? fake.why : "");
		return fake.err;
	}
	*out = fake.c;
	return 0;
}

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static struct admit_opts opts(void)
{
	return (struct admit_opts){
		.capacity = fake_capacity,
		.enabled = true,
		.timeout_ms = 60000,
		.max_age_ms = 5000,
		.host_name = "h3",
	};
}

static int setup_with(const struct admit_opts *o)
{
	log_set_level(LOG_LEVEL_ERR);
	memset(&fake, 0, sizeof(fake));
	fake.c = (struct admit_capacity){
		.memory_bytes = 4096 * MIB,
		.cpus = 2,
		.cpu_high_ratio = 0.8,
		.age_ms = 100,
	};
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	return admit_init(o);
}

static int setup(void **state)
{
	struct admit_opts o = opts();

	return setup_with(&o);
}

static int teardown(void **state)
{
	admit_fini();
	loop_fini();
	return 0;
}

#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(10), 0); \
	} while (0)

static void run_for_ms(uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;

	RUN_UNTIL(loop_now_ms() >= end);
}

/* ---- requests ---------------------------------------------------------------- */

static struct json_object *request(const char *json)
{
	struct json_object *req = json_tokener_parse(json), *reply;

	assert_non_null(req);
	reply = ctl_dispatch(req);
	json_object_put(req);
	assert_non_null(reply);
	return reply;
}

/* "admit" for a VM; cpus < 0: no cpus_expected */
static struct json_object *ask(const char *name, const char *uuid, uint64_t mib, int vcpus,
			       double cpus)
{
	char json[512], extra[64] = "";

	if (cpus >= 0)
		snprintf(extra, sizeof(extra), ", \"cpus_expected\": %g", cpus);
	snprintf(json, sizeof(json),
		 "{\"cmd\": \"admit\", \"name\": \"%s\", \"uuid\": \"%s\", \"memory_bytes\": "
		 "%llu, \"vcpus\": %d%s}",
		 name, uuid, (unsigned long long)(mib * MIB), vcpus, extra);
	return request(json);
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member '%s' in %s", key, json_object_to_json_string(o));
	return v;
}

static bool admitted(struct json_object *reply)
{
	struct json_object *v = member(reply, "admit");

	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static const char *reason(struct json_object *reply)
{
	return json_object_get_string(member(reply, "reason"));
}

/* ask, and assert the verdict; the reply is freed */
static void expect_admit(const char *name, const char *uuid, uint64_t mib, int vcpus, double cpus)
{
	struct json_object *r = ask(name, uuid, mib, vcpus, cpus);

	if (!admitted(r))
		fail_msg("VM '%s' refused: %s", name, reason(r));
	json_object_put(r);
}

static void expect_refusal(const char *name, const char *uuid, uint64_t mib, int vcpus, double cpus,
			   const char *sentence)
{
	struct json_object *r = ask(name, uuid, mib, vcpus, cpus);

	assert_true(json_object_get_boolean(member(r, "ok")));
	if (admitted(r))
		fail_msg("VM '%s' admitted, should be refused (%s)", name, sentence);
	if (!strstr(reason(r), sentence))
		fail_msg("refusal of '%s' says '%s', not '%s'", name, reason(r), sentence);
	json_object_put(r);
}

static struct json_object *list(void)
{
	return request("{\"cmd\": \"admit list\"}");
}

static size_t n_reservations(void)
{
	struct json_object *l = list();
	size_t n = json_object_array_length(member(l, "reservations"));

	json_object_put(l);
	return n;
}

/* ---- the decision --------------------------------------------------------------- */

static void test_admit_within_room(void **state)
{
	struct json_object *r = ask("web-1", UUID_A, 512, 1, -1), *l, *res, *cap;

	assert_true(admitted(r));
	assert_int_equal(json_object_get_int64(member(r, "reservation")), 1);
	assert_string_equal(json_object_get_string(member(r, "host")), "h3");
	json_object_put(r);
	l = list();
	assert_int_equal(json_object_array_length(member(l, "reservations")), 1);
	res = json_object_array_get_idx(member(l, "reservations"), 0);
	assert_string_equal(json_object_get_string(member(res, "uuid")), UUID_A);
	assert_string_equal(json_object_get_string(member(res, "name")), "web-1");
	assert_string_equal(json_object_get_string(member(res, "state")), "reserved");
	assert_int_equal(json_object_get_int64(member(res, "memory_bytes")), 512 * MIB);
	assert_string_equal(json_object_get_string(member(res, "cpus_from")), "vcpus");
	assert_true(json_object_get_double(member(res, "cpus_expected")) == 1.0);
	assert_null(member(res, "source"));
	cap = member(l, "capacity");
	assert_int_equal(json_object_get_int64(member(cap, "memory_free_bytes")), 3584 * MIB);
	assert_int_equal(json_object_get_int64(member(cap, "memory_reserved_bytes")), 512 * MIB);
	assert_int_equal(json_object_get_int64(member(l, "admitted")), 1);
	json_object_put(l);
}

static void test_refuse_over_memory(void **state)
{
	/* the issue's own sentence: 300 MiB left beside two reservations */
	fake.c.memory_bytes = 1324 * MIB;
	expect_admit("a", UUID_A, 512, 1, 0.1);
	expect_admit("b", UUID_B, 512, 1, 0.1);
	expect_refusal("c", UUID_C, 512, 1, 0.1,
		       "tide on h3 refused VM 'c': needs 512 MiB, 300 MiB free (2 reservations)");
	/* the VMs running here count, and the reserve is never given */
	teardown(state);
	{
		struct admit_opts o = opts();

		o.reserve_memory_bytes = 1024 * MIB;
		assert_int_equal(setup_with(&o), 0);
	}
	fake.c.memory_bytes = 2048 * MIB;
	fake.c.memory_used_bytes = 700 * MIB;
	expect_refusal("d", UUID_A, 400, 1, 0.1, "needs 400 MiB, 324 MiB free (0 reservations)");
	expect_admit("e", UUID_A, 324, 1, 0.1);
}

static void test_refuse_over_cpu_and_metadata(void **state)
{
	/* 0.8 x 2 CPUs, 1.0 used: 0.6 left */
	fake.c.cpu_used = 1.0;
	expect_refusal("busy", UUID_A, 128, 1, -1,
		       "tide on h3 refused VM 'busy': needs 1.00 CPU (its vCPUs), 0.60 free under "
		       "80% of 2 CPUs (0 reservations)");
	/* what the source's tided expects it to need, from its metadata */
	expect_admit("busy", UUID_A, 128, 1, 0.5);
	expect_refusal("more", UUID_B, 128, 4, 0.2, "needs 0.20 CPU, 0.10 free");
	/* a VM never needs more than its vCPUs, whatever the metadata says */
	teardown(state);
	assert_int_equal(setup(state), 0);
	expect_admit("small", UUID_C, 128, 1, 3.5);
	{
		struct json_object *l = list();
		struct json_object *res = json_object_array_get_idx(member(l, "reservations"), 0);

		assert_true(json_object_get_double(member(res, "cpus_expected")) == 1.0);
		assert_string_equal(json_object_get_string(member(res, "cpus_from")), "metadata");
		json_object_put(l);
	}
}

static void test_race_only_one_fits(void **state)
{
	/* room for one 512 MiB VM; two sources ask within the same loop iteration */
	struct json_object *r1, *r2;

	fake.c.memory_bytes = 1000 * MIB;
	r1 = ask("from-h1", UUID_A, 512, 1, 0.1);
	r2 = ask("from-h2", UUID_B, 512, 1, 0.1);
	assert_true(admitted(r1));
	assert_false(admitted(r2));
	assert_string_equal(reason(r2), "tide on h3 refused VM 'from-h2': needs 512 MiB, 488 MiB free "
					"(1 reservation)");
	json_object_put(r1);
	json_object_put(r2);
	assert_int_equal(n_reservations(), 1);
	assert_int_equal(admit_st.admitted, 1);
	assert_int_equal(admit_st.refused, 1);
	assert_string_equal(admit_st.last_refusal,
			    "tide on h3 refused VM 'from-h2': needs 512 MiB, 488 MiB free "
			    "(1 reservation)");
}

static void test_release_by_request(void **state)
{
	struct json_object *r;

	fake.c.memory_bytes = 1000 * MIB;
	expect_admit("a", UUID_A, 512, 1, 0.1);
	expect_refusal("b", UUID_B, 512, 1, 0.1, "488 MiB free");
	r = request("{\"cmd\": \"admit release\", \"uuid\": \"" UUID_A "\", \"why\": \"failed\"}");
	assert_true(json_object_get_boolean(member(r, "released")));
	assert_int_equal(json_object_get_int64(member(r, "reservation")), 1);
	json_object_put(r);
	assert_int_equal(n_reservations(), 0);
	expect_admit("b", UUID_B, 512, 1, 0.1);
	/* by name, when the hook has no uuid; twice is no error */
	r = request("{\"cmd\": \"admit release\", \"name\": \"b\"}");
	assert_true(json_object_get_boolean(member(r, "released")));
	json_object_put(r);
	r = request("{\"cmd\": \"admit release\", \"name\": \"b\"}");
	assert_false(json_object_get_boolean(member(r, "released")));
	assert_null(member(r, "reservation"));
	json_object_put(r);
	assert_int_equal(admit_st.released[WHY_REQUEST], 2);
}

static void test_release_by_running_keeps_cpu_until_settled(void **state)
{
	struct admit_opts o = opts();

	teardown(state);
	o.settle_ms = 150;
	assert_int_equal(setup_with(&o), 0);
	fake.c.memory_bytes = 1000 * MIB;
	expect_admit("a", UUID_A, 512, 1, 1.0);
	assert_true(admit_counts_memory(UUID_A));
	/* on its way (the inventory sees it paused, incoming): still held */
	admit_domain_present(UUID_A);
	assert_true(admit_counts_memory(UUID_A));
	admit_domain_running(UUID_A);
	/* its memory is the store's to count now */
	assert_false(admit_counts_memory(UUID_A));
	fake.c.memory_used_bytes = 512 * MIB;
	assert_int_equal(admit_st.released[WHY_RUNNING], 1);
	/* the load figures do not show it yet: its CPU stays counted */
	expect_refusal("b", UUID_B, 128, 1, 0.8, "needs 0.80 CPU, 0.60 free");
	run_for_ms(250);
	assert_int_equal(n_reservations(), 0);
	fake.c.cpu_used = 0.2; /* now they do */
	expect_refusal("b", UUID_B, 128, 2, 1.5, "needs 1.50 CPU, 1.40 free");
	expect_admit("b", UUID_B, 128, 1, 0.8);
	/* a release for a VM that runs here already is nothing */
	admit_domain_running(UUID_C);
}

static void test_release_by_timeout(void **state)
{
	struct admit_opts o = opts();
	uint64_t t0;

	teardown(state);
	o.timeout_ms = 200;
	assert_int_equal(setup_with(&o), 0);
	fake.c.memory_bytes = 1000 * MIB;
	t0 = loop_now_ms();
	expect_admit("lost", UUID_A, 512, 1, 0.1);
	expect_admit("slow", UUID_B, 256, 1, 0.1);
	expect_refusal("c", UUID_C, 512, 1, 0.1, "232 MiB free (2 reservations)");
	/* slow is seen on its way (a long migration): its deadline moves on */
	run_for_ms(120);
	admit_domain_present(UUID_B);
	RUN_UNTIL(n_reservations() < 2);
	assert_true(loop_now_ms() - t0 >= 190);
	assert_null(admit_res_find(UUID_A));
	assert_non_null(admit_res_find(UUID_B));
	assert_int_equal(admit_st.released[WHY_TIMEOUT], 1);
	expect_admit("c", UUID_C, 512, 1, 0.1);
	RUN_UNTIL(admit_res_find(UUID_B) == NULL);
	assert_true(loop_now_ms() - t0 >= 310);
}

static void test_draining_refuses(void **state)
{
	admit_set_draining(true);
	expect_refusal("a", UUID_A, 128, 1, 0.1, "tide on h3 refused VM 'a': this host is draining");
	admit_set_draining(false);
	expect_admit("a", UUID_A, 128, 1, 0.1);
}

static void test_stale_or_missing_figures_refuse(void **state)
{
	struct json_object *l;

	fake.c.age_ms = 5001;
	expect_refusal("a", UUID_A, 128, 1, 0.1,
		       "tide on h3 refused VM 'a': its load figures are 5001 ms old (at most "
		       "5000 ms)");
	fake.c.age_ms = 10;
	fake.err = -ENODATA;
	fake.why = "no load figures yet (tided started 1 ticks ago)";
	expect_refusal("a", UUID_A, 128, 1, 0.1,
		       "tide on h3 refused VM 'a': cannot read this host's figures: no load "
		       "figures yet");
	l = list();
	assert_null(member(l, "capacity"));
	assert_non_null(strstr(json_object_get_string(member(l, "capacity_error")), "no load"));
	json_object_put(l);
	fake.err = 0;
	expect_admit("a", UUID_A, 128, 1, 0.1);
}

static void test_disabled_admits_unchecked(void **state)
{
	struct admit_opts o = opts();
	struct json_object *r;

	teardown(state);
	o.enabled = false;
	assert_int_equal(setup_with(&o), 0);
	fake.c.memory_bytes = 64 * MIB;
	r = ask("big", UUID_A, 4096, 8, -1);
	assert_true(admitted(r));
	assert_null(member(r, "reservation"));
	json_object_put(r);
	/* the figures were not even read */
	assert_int_equal(fake.calls, 0);
	assert_int_equal(n_reservations(), 0);
}

static void test_asking_again_replaces(void **state)
{
	fake.c.memory_bytes = 1000 * MIB;
	expect_admit("a", UUID_A, 512, 1, 0.1);
	/* the first attempt failed without a word; the source tries again */
	expect_admit("a", UUID_A, 600, 1, 0.1);
	assert_int_equal(n_reservations(), 1);
	assert_int_equal(admit_res_find(UUID_A)->memory_bytes, 600 * MIB);
	assert_int_equal(admit_st.released[WHY_REPLACED], 1);
}

static void test_bad_requests_are_errors(void **state)
{
	static const char *const bad[] = {
		"{\"cmd\": \"admit\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": 1, \"vcpus\": 1}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"nope\", \"memory_bytes\": 1, "
		"\"vcpus\": 1}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"vcpus\": 1}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": "
		"\"lots\", \"vcpus\": 1}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": 1, "
		"\"vcpus\": 0}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": 1, "
		"\"vcpus\": 1, \"cpus_expected\": \"half\"}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": 1, "
		"\"vcpus\": 1, \"cpus_expected\": -1}",
		"{\"cmd\": \"admit\", \"name\": \"x\", \"uuid\": \"" UUID_A "\", \"memory_bytes\": 1, "
		"\"vcpus\": 1, \"source\": \"h 1\"}",
		"{\"cmd\": \"admit release\"}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct json_object *r = request(bad[i]), *e;

		if (!json_object_object_get_ex(r, "error", &e))
			fail_msg("request %zu accepted: %s", i, json_object_to_json_string(r));
		json_object_put(r);
	}
	assert_int_equal(n_reservations(), 0);
	assert_int_equal(admit_st.refused, 0);
}

static void test_metrics_and_status(void **state)
{
	struct json_object *st = json_object_new_object(), *a;
	struct prom p;
	const char *t;

	fake.c.memory_bytes = 1000 * MIB;
	expect_admit("a", UUID_A, 512, 1, 0.1);
	expect_refusal("b", UUID_B, 512, 1, 0.1, "free");
	assert_int_equal(prom_begin(&p), 0);
	admit_fill_prom(&p);
	t = prom_text(&p);
	assert_non_null(strstr(t, "# TYPE tide_admissions_total counter\n"));
	assert_non_null(strstr(t, "tide_admissions_total{result=\"admitted\"} 1\n"));
	assert_non_null(strstr(t, "tide_admissions_total{result=\"refused\"} 1\n"));
	assert_non_null(strstr(t, "tide_admission_releases_total{why=\"timeout\"} 0\n"));
	assert_non_null(strstr(t, "tide_admission_reservations 1\n"));
	assert_non_null(strstr(t, "tide_admission_reserved_memory_bytes 536870912\n"));
	prom_abort(&p);
	admit_fill_json(st);
	a = member(st, "admissions");
	assert_int_equal(json_object_get_int64(member(a, "reservations")), 1);
	assert_int_equal(json_object_get_int64(member(a, "refused")), 1);
	assert_non_null(strstr(json_object_get_string(member(a, "last_refusal")), "VM 'b'"));
	json_object_put(st);
}

static void test_tidectl_prints_the_list(void **state)
{
	struct json_object *l;
	struct reply r;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	fake.c.memory_bytes = 1000 * MIB;
	expect_admit("web-1", UUID_A, 512, 1, 0.25);
	expect_refusal("web-2", UUID_B, 512, 1, 0.1, "488 MiB free");
	l = list();
	reply_adopt(&r, "admit list", l);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	cli_show_admissions(out, &r);
	fclose(out);
	/* every member the printer reads is in the reply */
	assert_int_equal(reply_check(&r), 0);
	print_message("%s", text);
	assert_non_null(strstr(text, "admission on h3: checked;"));
	assert_non_null(strstr(text, "memory:    488 MiB free of 1000 MiB"));
	assert_non_null(strstr(text, "admitted 1, refused 1;"));
	assert_non_null(strstr(text, "last refusal: tide on h3 refused VM 'web-2'"));
	assert_non_null(strstr(text, "web-1 reserved  512 MiB    0.25 (metadata)"));
	reply_free(&r);
	free(text);
}

/* ---- the configuration keys ------------------------------------------------------ */

static void test_conf_keys(void **state)
{
	char err[CONF_ERR_BYTES] = "";
	struct tide_conf *c = NULL;

	assert_int_equal(conf_defaults(&c), 0);
	assert_true(c->admit_enabled);
	assert_int_equal(c->host_memory_mib, 0);
	assert_int_equal(c->admit_reserve_memory_mib, 1024);
	assert_int_equal(c->admit_timeout_ms, 120000);
	assert_int_equal(c->admission_when_unreachable, CONF_UNREACHABLE_ADMIT);
	conf_free(c);
	c = NULL;
	assert_int_equal(conf_parse_string("host_memory_mib = 24576;\n"
					   "admit_reserve_memory_mib = 0;\n"
					   "admission_when_unreachable = \"refuse\";\n"
					   "admit_enabled = false;\n"
					   "admit_timeout_ms = 5000;\n",
					   "t.conf", &c, err, sizeof(err)),
			 0);
	assert_int_equal(c->host_memory_mib, 24576);
	assert_int_equal(c->admit_reserve_memory_mib, 0);
	assert_int_equal(c->admission_when_unreachable, CONF_UNREACHABLE_REFUSE);
	assert_false(c->admit_enabled);
	assert_int_equal(c->admit_timeout_ms, 5000);
	conf_free(c);
	c = NULL;
	assert_int_equal(conf_parse_string("host_memory_mib = -1;", "t.conf", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'host_memory_mib' must be an integer between 0 and"));
	assert_int_equal(conf_parse_string("admission_when_unreachable = \"maybe\";", "t.conf", &c,
					   err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "one of \"admit\", \"refuse\""));
}

/* ---- the hook's XML reader -------------------------------------------------------- */

static const char libvirt_xml[] = "<domain type='qemu'>\n"
				  "  <name>web \"front\" 1</name>\n"
				  "  <uuid>4B2A1B2C-1111-2222-3333-444455556666</uuid>\n"
				  "  <metadata>\n"
				  "    <other:thing xmlns:other='urn:else'><move cpus='9'/></other:thing>\n"
				  "    <t:move xmlns:t='urn:tide:1' cpus='0.85' source='h1'/>\n"
				  "  </metadata>\n"
				  "  <memory unit='KiB'>131072</memory>\n"
				  "  <currentMemory unit='KiB'>65536</currentMemory>\n"
				  "  <vcpu placement='static' current='2'>4</vcpu>\n"
				  "  <devices/>\n"
				  "</domain>\n";

static int parse(const char *xml, struct hook_domain *d, char *err, size_t n)
{
	return hook_parse_domain(xml, strlen(xml), d, err, n);
}

static void test_xml_libvirts_form(void **state)
{
	struct hook_domain d = { 0 };
	char err[256] = "";

	assert_int_equal(parse(libvirt_xml, &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "web \"front\" 1");
	assert_string_equal(d.uuid, "4b2a1b2c-1111-2222-3333-444455556666");
	assert_int_equal(d.memory_bytes, 128 * MIB);
	assert_int_equal(d.vcpus, 2);
	assert_true(d.cpus_expected == 0.85);
	assert_string_equal(d.source, "h1");
	hook_domain_clear(&d);
}

static void test_xml_units_and_defaults(void **state)
{
	static const struct {
		const char *memory;
		uint64_t bytes;
	} cases[] = {
		{ "<memory unit='MiB'>128</memory>", 128 * MIB },
		{ "<memory unit='G'>2</memory>", 2048 * MIB },
		{ "<memory unit='bytes'>1000</memory>", 1000 },
		{ "<memory unit='MB'>1</memory>", 1000000 },
		{ "<memory>1024</memory>", 1 * MIB },
		{ "<currentMemory unit='M'>64</currentMemory>", 64 * MIB },
	};
	struct hook_domain d = { 0 };
	char xml[512], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(xml, sizeof(xml),
			 "<domain><name>v</name><uuid>" UUID_A "</uuid>%s</domain>", cases[i].memory);
		assert_int_equal(parse(xml, &d, err, sizeof(err)), 0);
		assert_int_equal(d.memory_bytes, cases[i].bytes);
		/* no <vcpu>: libvirt's one; no metadata: none */
		assert_int_equal(d.vcpus, 1);
		assert_true(d.cpus_expected < 0);
		assert_string_equal(d.source, "");
	}
	hook_domain_clear(&d);
}

static void test_xml_bad_metadata_is_ignored(void **state)
{
	static const char *const metas[] = {
		"<t:move xmlns:t='urn:tide:1' cpus='lots'/>",
		"<t:move xmlns:t='urn:tide:1' cpus='-1'/>",
		"<t:move xmlns:t='urn:tide:1' cpus='nan'/>",
		"<t:move xmlns:t='urn:tide:2' cpus='0.5'/>",
		"<move cpus='0.5'/>",
	};
	struct hook_domain d = { 0 };
	char xml[512], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(metas); i++) {
		snprintf(xml, sizeof(xml),
			 "<domain><name>v</name><uuid>" UUID_A "</uuid><memory>1024</memory>"
			 "<vcpu>2</vcpu><metadata>%s</metadata></domain>",
			 metas[i]);
		assert_int_equal(parse(xml, &d, err, sizeof(err)), 0);
		if (d.cpus_expected >= 0)
			fail_msg("metadata %zu gave %g CPUs: %s", i, d.cpus_expected, metas[i]);
		assert_int_equal(d.vcpus, 2);
	}
	hook_domain_clear(&d);
}

static void test_xml_errors(void **state)
{
	static const struct {
		const char *xml, *err;
	} cases[] = {
		{ "", "no domain XML" },
		{ "<domain><name>v</name>", "is not XML" },
		{ "<network/>", "root <network>" },
		{ "<domain><name>v</name><memory>1</memory></domain>", "no valid <uuid>" },
		{ "<domain><uuid>" UUID_A "</uuid><memory>1</memory></domain>", "no <name>" },
		{ "<domain><name>v</name><uuid>" UUID_A "</uuid></domain>", "no <memory>" },
		{ "<domain><name>v</name><uuid>" UUID_A "</uuid><memory unit='lb'>1</memory>"
		  "</domain>",
		  "unit 'lb'" },
		{ "<domain><name>v</name><uuid>" UUID_A "</uuid><memory>-1</memory></domain>",
		  "<memory> is not a number" },
		{ "<domain><name>v</name><uuid>" UUID_A "</uuid><memory>1</memory>"
		  "<vcpu current='3'>2</vcpu></domain>",
		  "current='3'" },
		/* entities: never expanded, and a DTD is refused whole */
		{ "<!DOCTYPE domain [<!ENTITY big 'xxxxxxxx'>]><domain><name>&big;</name>"
		  "<uuid>" UUID_A "</uuid><memory>1</memory></domain>",
		  "has a DTD" },
		{ "<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/x.dtd'><domain><name>v</name>"
		  "<uuid>" UUID_A "</uuid><memory>1</memory></domain>",
		  "has a DTD" },
	};
	struct hook_domain d = { 0 };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		if (parse(cases[i].xml, &d, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu parsed: %s", i, cases[i].xml);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu says '%s', not '%s'", i, err, cases[i].err);
	}
	hook_domain_clear(&d);
}

/* ---- the hook, run against this test's tided ------------------------------------- */

struct hook_run {
	int status;
	char out[4096], err[4096];
};

static char *hook_path(void)
{
	char self[PATH_MAX], *path;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	/* BUILD/tests/test_admit -> BUILD/tide-qemu-hook */
	if (asprintf(&path, "%s/../tide-qemu-hook", dirname(self)) < 0)
		return NULL;
	if (access(path, X_OK)) {
		free(path);
		return NULL;
	}
	return path;
}

static void slurp(int fd, char *buf, size_t n)
{
	size_t len = 0;
	ssize_t r;

	while (len + 1 < n && (r = read(fd, buf + len, n - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
}

/* Run the hook with xml on stdin while the loop serves tided's socket. */
static void run_hook(const char *hook, const char *conf, const char *op, const char *sub,
		     const char *xml, struct hook_run *res)
{
	int in[2], out[2], err[2], status = 0;
	pid_t pid, done = 0;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* the write end of stdin too, or the hook never sees its end */
		for (int i = 0; i < 2; i++) {
			close(in[i]);
			close(out[i]);
			close(err[i]);
		}
		setenv("TIDE_HOOK_CONFIG", conf, 1);
		execl(hook, "50-tide", "web-1", op, sub, "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	/* small: fits the pipe, and the hook may not read it at all */
	(void)!write(in[1], xml, strlen(xml));
	close(in[1]);
	while (done == 0) {
		assert_int_equal(loop_run_once(10), 0);
		done = waitpid(pid, &status, WNOHANG);
	}
	assert_int_equal(done, pid);
	slurp(out[0], res->out, sizeof(res->out));
	slurp(err[0], res->err, sizeof(res->err));
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_hook_against_tided(void **state)
{
	char *hook = hook_path(), *dir, *sock, *conf, *conf_refuse, *conf_gone, *text;
	struct hook_run r;
	struct admit_res *res;
	char xml[1024];

	if (!hook) {
		print_message(
			"  no tide-qemu-hook beside this test binary: make builds it; skipped\n");
		skip();
	}
	dir = unit_mkdtemp("admit");
	assert_non_null(dir);
	assert_true(asprintf(&sock, "%s/tided.sock", dir) > 0);
	assert_int_equal(ctl_init(sock), 0);
	assert_true(asprintf(&text, "control_socket = \"%s\";\nlog_level = \"info\";\n", sock) > 0);
	conf = unit_write_file(dir, "tided.conf", text);
	free(text);
	conf_refuse = unit_write_file(dir, "refuse.conf",
				      "control_socket = \"/nonexistent/tided.sock\";\n"
				      "admission_when_unreachable = \"refuse\";\n");
	conf_gone = unit_write_file(dir, "gone.conf", "control_socket = \"/nonexistent/x.sock\";\n");
	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'><name>web-1</name><uuid>%s</uuid>"
		 "<memory unit='KiB'>524288</memory><vcpu placement='static'>2</vcpu>"
		 "<metadata><tide:move xmlns:tide='urn:tide:1' cpus='0.25' source='h1'/>"
		 "</metadata></domain>",
		 UUID_A);
	fake.c.memory_bytes = 1000 * MIB;

	/* admitted: exit 0, and never a byte on stdout (libvirt's new XML) */
	run_hook(hook, conf, "migrate", "begin", xml, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	res = admit_res_find(UUID_A);
	assert_non_null(res);
	assert_int_equal(res->memory_bytes, 512 * MIB);
	assert_true(res->cpus == 0.25);
	assert_string_equal(res->source, "h1");

	/* refused: exit 1, tided's sentence on stderr */
	snprintf(xml, sizeof(xml),
		 "<domain><name>web-2</name><uuid>%s</uuid><memory unit='MiB'>512</memory>"
		 "</domain>",
		 UUID_B);
	run_hook(hook, conf, "migrate", "begin", xml, &r);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "tide on h3 refused VM 'web-2': needs 512 MiB, 488 MiB free "
				   "(1 reservation)\n");

	/* any other operation: 0 at once, tided not asked */
	run_hook(hook, conf, "start", "begin", xml, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(admit_st.refused, 1);

	/* the failed incoming domain torn down: its reservation goes */
	snprintf(xml, sizeof(xml),
		 "<domain><name>web-1</name><uuid>%s</uuid>"
		 "<memory>1</memory></domain>",
		 UUID_A);
	run_hook(hook, conf, "release", "end", xml, &r);
	assert_int_equal(r.status, 0);
	assert_null(admit_res_find(UUID_A));
	assert_int_equal(admit_st.released[WHY_REQUEST], 1);

	/* tided unreachable: admitted by default, refused when so configured */
	run_hook(hook, conf_gone, "migrate", "begin", xml, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "admitted VM 'web-1' unchecked: cannot connect"));
	run_hook(hook, conf_refuse, "migrate", "begin", xml, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "refused VM 'web-1' unchecked: cannot connect to tided at "
				      "'/nonexistent/tided.sock'"));
	assert_non_null(strstr(r.err, "(admission_when_unreachable = \"refuse\")"));
	assert_string_equal(r.out, "");

	ctl_fini();
	free(conf);
	free(conf_refuse);
	free(conf_gone);
	free(sock);
	unit_rmtree(dir);
	free(hook);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admit_within_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_over_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_over_cpu_and_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race_only_one_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_by_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_by_running_keeps_cpu_until_settled,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_by_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_draining_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_or_missing_figures_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_admits_unchecked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asking_again_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tidectl_prints_the_list, setup, teardown),
		cmocka_unit_test(test_conf_keys),
		cmocka_unit_test(test_xml_libvirts_form),
		cmocka_unit_test(test_xml_units_and_defaults),
		cmocka_unit_test(test_xml_bad_metadata_is_ignored),
		cmocka_unit_test(test_xml_errors),
		cmocka_unit_test_setup_teardown(test_hook_against_tided, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("admit", tests, NULL, NULL);
}
