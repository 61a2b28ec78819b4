// SPDX-License-Identifier: GPL-2.0
/*
 * feat and status: the probe's two printers, the choice of BPF attach path,
 * and the "status" reply built from the configuration and the probe.
 */
#include "unit.h"

#include "conf.h"
#include "feat.h"
#include "status.h"

static struct tide_features all_but(int n, const enum feat_id *missing)
{
	struct tide_features f;

	memset(&f, 0, sizeof(f));
	for (int i = 0; i < FEAT__COUNT; i++) {
		f.r[i].ok = true;
		snprintf(f.r[i].detail, sizeof(f.r[i].detail), "%s works", feat_name(i));
	}
	for (int i = 0; i < n; i++) {
		f.r[missing[i]].ok = false;
		f.r[missing[i]].err = -EPERM;
		snprintf(f.r[missing[i]].detail, sizeof(f.r[0].detail), "refused");
	}
	return f;
}

static void test_attach_path_prefers_tp_btf(void **state)
{
	static const enum feat_id no_tp_btf[] = { FEAT_TP_BTF };
	static const enum feat_id no_bpf[] = { FEAT_TP_BTF, FEAT_RAW_TP };
	struct tide_features f = all_but(0, NULL);

	assert_string_equal(feat_bpf_attach(&f), "tp_btf");
	f = all_but(1, no_tp_btf);
	assert_string_equal(feat_bpf_attach(&f), "raw_tp");
	f = all_but(2, no_bpf);
	assert_string_equal(feat_bpf_attach(&f), "none");
	assert_true(feat_essentials_ok(&f));
}

static void test_plain_table_and_summary(void **state)
{
	static const enum feat_id missing[] = { FEAT_TP_BTF, FEAT_KVM };
	struct tide_features f = all_but(2, missing);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	feat_print_plain(out, &f);
	fclose(out);
	assert_non_null(strstr(text, "FEATURE      OK   DETAIL\n"));
	assert_non_null(strstr(text, "\ntp_btf       no   refused\n"));
	assert_non_null(strstr(text, "\nraw_tp       yes  raw_tp works\n"));
	/* the last line is what features.mk prints */
	assert_non_null(strstr(text, "\nsummary: bpf attach raw_tp; missing: tp_btf kvm\n"));
	free(text);
}

static void test_json_shape(void **state)
{
	static const enum feat_id missing[] = { FEAT_IO_URING };
	struct tide_features f = all_but(1, missing);
	struct json_object *o = feat_to_json(&f), *all, *one, *v;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "features", &all));
	assert_int_equal(json_object_object_length(all), FEAT__COUNT);
	assert_true(json_object_object_get_ex(all, "io_uring", &one));
	assert_true(json_object_object_get_ex(one, "available", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(one, "detail", &v));
	assert_string_equal(json_object_get_string(v), "refused");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "bpf_attach")),
			    "tp_btf");
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(o, "missing"),
							   JSON_C_TO_STRING_PLAIN),
			    "[\"io_uring\"]");
	assert_false(feat_essentials_ok(&f));
	json_object_put(o);
}

static void test_real_probe_is_consistent(void **state)
{
	struct tide_features f;

	/* whatever this machine has, each result must explain itself */
	assert_int_equal(feat_probe(&f), 0);
	for (int i = 0; i < FEAT__COUNT; i++) {
		assert_true(f.r[i].detail[0] != '\0');
		assert_int_equal(f.r[i].ok, f.r[i].err == 0);
	}
}

static void test_status_reply(void **state)
{
	static const char text[] =
		"tick_ms = 250;\n"
		"host_cpus = 6;\n"
		"peers = ( { name = \"h2\"; uri = \"qemu+tcp://10.0.0.2/system\"; } );\n";
	char *dir = unit_mkdtemp("status");
	char *path = unit_write_file(dir, "tided.conf", text);
	struct json_object *reply = json_object_new_object(), *v;

	log_set_level(LOG_LEVEL_ERR);
	assert_int_equal(conf_init(path), 0);
	assert_int_equal(status_init(), 0);
	assert_int_equal(status_fill(reply), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(reply, "version")),
			    TIDE_VERSION);
	assert_int_equal(json_object_get_int(json_object_object_get(reply, "pid")), getpid());
	assert_int_equal(json_object_get_int(json_object_object_get(reply, "uptime_s")), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(reply, "config")), path);
	assert_true(json_object_get_boolean(json_object_object_get(reply, "config_loaded")));
	assert_int_equal(json_object_get_int(json_object_object_get(reply, "tick_ms")), 250);
	assert_int_equal(json_object_get_int(json_object_object_get(reply, "host_cpus")), 6);
	assert_string_equal(json_object_get_string(json_object_object_get(reply, "libvirt_uri")),
			    TIDE_DEFAULT_LIBVIRT_URI);
	assert_true(json_object_object_get_ex(reply, "peers", &v));
	assert_int_equal(json_object_array_length(v), 1);
	/* no probe ran in this process */
	assert_string_equal(json_object_get_string(json_object_object_get(reply, "bpf_attach")),
			    "unknown");
	json_object_put(reply);
	status_fini();
	conf_fini();
	free(path);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_path_prefers_tp_btf),
		cmocka_unit_test(test_plain_table_and_summary),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_real_probe_is_consistent),
		cmocka_unit_test(test_status_reply),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("feat", tests, NULL, NULL);
}
