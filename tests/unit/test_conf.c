// SPDX-License-Identifier: GPL-2.0
/*
 * conf: a file with every key, each kind of bad file, and reload keeping
 * the previous configuration when the new file is broken.
 */
#include "unit.h"

#include "conf.h"

struct fixture {
	char *dir;
	char last_log[1024];
	enum log_level last_level;
	int reloads_seen;
};

static void capture_log(enum log_level level, const char *msg, void *arg)
{
	struct fixture *f = arg;

	if (level <= LOG_LEVEL_WARNING) {
		f->last_level = level;
		snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->dir = unit_mkdtemp("conf");
	if (!f->dir) {
		free(f);
		return -1;
	}
	log_set_level(LOG_LEVEL_WARNING);
	log_set_hook(capture_log, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	conf_fini();
	log_set_hook(NULL, NULL);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static const char good_conf[] =
	"# tided.conf\n"
	"libvirt_uri = \"qemu+tcp://10.0.0.1/system\";\n"
	"control_socket = \"/run/tide-h1/tided.sock\";\n"
	"state_dir = \"/var/lib/tide-h1\";\n"
	"tick_ms = 500;                 # collection interval\n"
	"textfile_dir = \"/var/lib/node-exporter-h1\";\n"
	"textfile_interval_ms = 30000;\n"
	"textfile_enabled = false;\n"
	"libvirt_run_dir = \"/var/tmp/tide-testbed/h1/run-libvirt\";\n"
	"libvirt_reconnect_max_ms = 2000;\n"
	"libvirt_call_timeout_ms = 3000;\n"
	"libvirt_workers = 2;\n"
	"peer_poll_ms = 1000;\n"
	"ring_samples = 128;\n"
	"max_vms = 300;\n"
	"host_cpus = 2;\n"
	"cpu_source = \"raw_tp\";\n"
	"net_source = \"netlink\";\n"
	"kvm_stats = false;\n"
	"log_level = \"debug\";\n"
	"peers = ( { name = \"h2\"; uri = \"qemu+tcp://10.0.0.2/system\"; },\n"
	"          { name = \"h3\"; uri = \"qemu+tcp://10.0.0.3/system\"; cpus = 4;\n"
	"            memory_mib = 8192; } );\n";

static void test_good_file_with_every_key(void **state)
{
	struct fixture *f = *state;
	char err[CONF_ERR_BYTES] = "";
	struct tide_conf *c = NULL;
	char *path = unit_write_file(f->dir, "tided.conf", good_conf);

	assert_non_null(path);
	assert_int_equal(conf_load(path, true, &c, err, sizeof(err)), 0);
	assert_string_equal(c->path, path);
	assert_string_equal(c->libvirt_uri, "qemu+tcp://10.0.0.1/system");
	assert_string_equal(c->control_socket, "/run/tide-h1/tided.sock");
	assert_string_equal(c->state_dir, "/var/lib/tide-h1");
	assert_int_equal(c->tick_ms, 500);
	assert_string_equal(c->textfile_dir, "/var/lib/node-exporter-h1");
	assert_int_equal(c->textfile_interval_ms, 30000);
	assert_false(c->textfile_enabled);
	assert_string_equal(c->libvirt_run_dir, "/var/tmp/tide-testbed/h1/run-libvirt");
	assert_int_equal(c->libvirt_reconnect_max_ms, 2000);
	assert_int_equal(c->libvirt_call_timeout_ms, 3000);
	assert_int_equal(c->libvirt_workers, 2);
	assert_int_equal(c->peer_poll_ms, 1000);
	assert_int_equal(c->ring_samples, 128);
	assert_int_equal(c->max_vms, 300);
	assert_int_equal(c->host_cpus, 2);
	assert_int_equal(c->cpu_source, CONF_CPU_RAW_TP);
	assert_int_equal(c->net_source, CONF_NET_NETLINK);
	assert_false(c->kvm_stats);
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->n_peers, 2);
	assert_string_equal(c->peers[0].name, "h2");
	assert_string_equal(c->peers[0].uri, "qemu+tcp://10.0.0.2/system");
	assert_string_equal(c->peers[1].name, "h3");
	assert_int_equal(c->peers[0].cpus, 0);
	assert_int_equal(c->peers[1].cpus, 4);
	assert_int_equal(c->peers[1].memory_bytes, 8192ull << 20);
	conf_free(c);
	free(path);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	char err[CONF_ERR_BYTES] = "";
	struct tide_conf *c = NULL;
	char *missing;

	/* an empty file and a missing default file both mean "defaults" */
	assert_int_equal(conf_parse_string("", "empty.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(c->libvirt_uri, TIDE_DEFAULT_LIBVIRT_URI);
	assert_string_equal(c->control_socket, TIDE_DEFAULT_CONTROL_SOCKET);
	assert_string_equal(c->state_dir, TIDE_DEFAULT_STATE_DIR);
	assert_string_equal(c->textfile_dir, TIDE_DEFAULT_TEXTFILE_DIR);
	assert_int_equal(c->tick_ms, 1000);
	assert_int_equal(c->textfile_interval_ms, 15000);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->n_peers, 0);
	assert_true(c->textfile_enabled);
	assert_string_equal(c->libvirt_run_dir, TIDE_DEFAULT_LIBVIRT_RUN_DIR);
	assert_int_equal(c->libvirt_reconnect_max_ms, 30000);
	assert_int_equal(c->ring_samples, 64);
	assert_int_equal(c->max_vms, 256);
	assert_int_equal(c->host_cpus, 0); /* the online CPUs */
	assert_int_equal(c->cpu_source, CONF_CPU_AUTO);
	assert_int_equal(c->net_source, CONF_NET_AUTO);
	assert_true(c->kvm_stats);
	conf_free(c);

	assert_int_equal(asprintf(&missing, "%s/absent.conf", f->dir) > 0, 1);
	c = NULL;
	assert_int_equal(conf_load(missing, false, &c, err, sizeof(err)), 0);
	assert_null(c->path);
	assert_int_equal(c->tick_ms, 1000);
	conf_free(c);
	free(missing);
}

static void test_missing_file_given_with_c_is_an_error(void **state)
{
	struct fixture *f = *state;
	char err[CONF_ERR_BYTES] = "", *missing, *want;
	struct tide_conf *c = NULL;

	assert_int_equal(asprintf(&missing, "%s/absent.conf", f->dir) > 0, 1);
	assert_int_equal(conf_load(missing, true, &c, err, sizeof(err)), -ENOENT);
	assert_null(c);
	assert_int_equal(asprintf(&want, "cannot open '%s': No such file or directory", missing) > 0,
			 1);
	assert_string_equal(err, want);
	/* and through conf_init, as tided -c does */
	assert_int_equal(conf_init(missing), -ENOENT);
	assert_null(conf_get());
	assert_non_null(strstr(f->last_log, "absent.conf"));
	free(want);
	free(missing);
}

/* text must be refused with exactly want */
static void expect_error(const char *text, const char *want)
{
	char err[CONF_ERR_BYTES] = "";
	struct tide_conf *c = NULL;

	assert_int_equal(conf_parse_string(text, "tided.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_string_equal(err, want);
}

static void test_the_documented_example(void **state)
{
	expect_error("# tided.conf\n"
		     "libvirt_uri = \"qemu:///system\";\n"
		     "control_socket = \"/run/tide/tided.sock\";\n"
		     "state_dir = \"/var/lib/tide\";\n"
		     "\n"
		     "# faster please\n"
		     "tick_ms = \"fast\";\n",
		     "tided.conf:7: 'tick_ms' must be an integer between 10 and 60000, got \"fast\"");
}

static void test_syntax_error(void **state)
{
	expect_error("tick_ms = 100;\nstate_dir = ;\n", "tided.conf:2: syntax error");
	expect_error("tick_ms = 100;\npeers = ( { name = \"h2\"; uri = \"x\"; };\n",
		     "tided.conf:2: syntax error");
}

static void test_unknown_key(void **state)
{
	expect_error("tick_ms = 100;\n\ntik_ms = 100;\n",
		     "tided.conf:3: unknown setting 'tik_ms'; did you mean 'tick_ms'?");
	expect_error("flux_capacitor = true;\n", "tided.conf:1: unknown setting 'flux_capacitor'");
	expect_error("peers = ( { name = \"h2\"; uri = \"x\"; port = 5; } );\n",
		     "tided.conf:1: unknown setting 'port' in peer 1 (a peer has 'name', 'uri', "
		     "and optionally 'cpus' and 'memory_mib')");
	expect_error("peers = ( { name = \"h2\"; uri = \"x\"; cpus = 0; } );\n",
		     "tided.conf:1: peer 'cpus' must be an integer between 1 and 65536, got 0");
	expect_error("peers = ( { name = \"h2\"; uri = \"x\"; memory_mib = \"lots\"; } );\n",
		     "tided.conf:1: peer 'memory_mib' must be an integer between 1 and 2147483648, "
		     "got \"lots\"");
}

static void test_wrong_type(void **state)
{
	expect_error("\ntick_ms = 1.5;\n",
		     "tided.conf:2: 'tick_ms' must be an integer between 10 and 60000, got 1.5");
	expect_error("state_dir = 42;\n",
		     "tided.conf:1: 'state_dir' must be an absolute path, got 42");
	expect_error("log_level = true;\n",
		     "tided.conf:1: 'log_level' must be one of \"err\", \"warning\", \"notice\", "
		     "\"info\", \"debug\", got true");
	expect_error("peers = { name = \"h2\"; };\n",
		     "tided.conf:1: 'peers' must be a list of groups, ( { name = \"h2\"; "
		     "uri = \"qemu+tcp://10.0.0.2/system\"; } ), got a group { ... }");
	expect_error("peers = ( \"h2\" );\n",
		     "tided.conf:1: peer 1 must be a group { name = ...; uri = ...; }, got \"h2\"");
	expect_error("textfile_enabled = \"yes\";\n",
		     "tided.conf:1: 'textfile_enabled' must be true or false, got \"yes\"");
	expect_error("kvm_stats = 1;\n", "tided.conf:1: 'kvm_stats' must be true or false, got 1");
	expect_error("cpu_source = 2;\n",
		     "tided.conf:1: 'cpu_source' must be one of \"auto\", \"raw_tp\", \"proc\", got 2");
	expect_error("ring_samples = 1.5;\n",
		     "tided.conf:1: 'ring_samples' must be an integer between 2 and 4096, got 1.5");
}

static void test_out_of_range(void **state)
{
	expect_error("tick_ms = 5;\n",
		     "tided.conf:1: 'tick_ms' must be an integer between 10 and 60000, got 5");
	expect_error("textfile_interval_ms = 99999999999L;\n",
		     "tided.conf:1: 'textfile_interval_ms' must be an integer between 100 and "
		     "3600000, got 99999999999");
	expect_error("textfile_interval_ms = 50;\n",
		     "tided.conf:1: 'textfile_interval_ms' must be an integer between 100 and "
		     "3600000, got 50");
	expect_error("net_source = \"ebpf\";\n",
		     "tided.conf:1: 'net_source' must be one of \"auto\", \"tcx\", \"tc\", "
		     "\"netlink\", got \"ebpf\"");
	expect_error("ring_samples = 1;\n",
		     "tided.conf:1: 'ring_samples' must be an integer between 2 and 4096, got 1");
	expect_error("max_vms = 0;\n",
		     "tided.conf:1: 'max_vms' must be an integer between 1 and 4096, got 0");
	expect_error("host_cpus = -1;\n",
		     "tided.conf:1: 'host_cpus' must be an integer between 0 and 65536, got -1");
	expect_error("libvirt_run_dir = \"run/libvirt\";\n",
		     "tided.conf:1: 'libvirt_run_dir' must be an absolute path, got \"run/libvirt\"");
	expect_error("log_level = \"loud\";\n",
		     "tided.conf:1: 'log_level' must be one of \"err\", \"warning\", \"notice\", "
		     "\"info\", \"debug\", got \"loud\"");
	expect_error("state_dir = \"var/lib/tide\";\n",
		     "tided.conf:1: 'state_dir' must be an absolute path, got \"var/lib/tide\"");
	expect_error("control_socket = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/tided.sock\";\n",
		     "tided.conf:1: 'control_socket' must be an absolute path shorter than 108 "
		     "bytes (a unix socket), got \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" "
		     "(126 bytes)");
	expect_error("libvirt_uri = \"\";\n",
		     "tided.conf:1: 'libvirt_uri' must be a non-empty string (a libvirt URI), got \"\"");
	expect_error("libvirt_uri = \"qemu:///sys\\ntem\";\n",
		     "tided.conf:1: 'libvirt_uri' must be a non-empty string (a libvirt URI), "
		     "got \"qemu:///sys\\x0atem\"");
	expect_error("peers = ( { name = \"h 2\"; uri = \"x\"; } );\n",
		     "tided.conf:1: peer name must be 1 to 63 letters, digits, '-', '_' or '.', got \"h 2\"");
}

static void test_duplicate(void **state)
{
	expect_error("tick_ms = 100;\nstate_dir = \"/x\";\ntick_ms = 200;\n",
		     "tided.conf:3: duplicate setting name");
	expect_error("peers = (\n { name = \"h2\"; uri = \"a\"; },\n { name = \"h2\"; uri = \"b\"; }\n);\n",
		     "tided.conf:3: peer name 'h2' is used twice");
	expect_error("peers = ( { name = \"h2\"; } );\n",
		     "tided.conf:1: peer 1 needs both 'name' and 'uri'");
}

static void test_error_names_the_file_on_disk(void **state)
{
	struct fixture *f = *state;
	char err[CONF_ERR_BYTES] = "", *want;
	struct tide_conf *c = NULL;
	char *path = unit_write_file(f->dir, "bad.conf", "\n\ntick_ms = 0;\n");

	assert_int_equal(conf_load(path, true, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(asprintf(&want,
				  "%s:3: 'tick_ms' must be an integer between 10 and "
				  "60000, got 0",
				  path) > 0,
			 1);
	assert_string_equal(err, want);
	free(want);
	/* a directory is not a configuration file */
	assert_int_equal(conf_load(f->dir, true, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	free(path);
}

static void on_reload(const struct tide_conf *conf, void *arg)
{
	struct fixture *f = arg;

	f->reloads_seen++;
}

static void test_reload_failure_keeps_old_config(void **state)
{
	struct fixture *f = *state;
	const struct tide_conf *before;
	char *path = unit_write_file(f->dir, "tided.conf", good_conf);

	assert_int_equal(conf_init(path), 0);
	assert_int_equal(conf_subscribe(on_reload, f), 0);
	before = conf_get();
	assert_int_equal(before->tick_ms, 500);

	/* a broken edit: refused, nothing changes, the error names the line */
	free(unit_write_file(f->dir, "tided.conf", "tick_ms = 750;\nlog_level = 3;\n"));
	assert_int_equal(conf_reload(), -EINVAL);
	assert_ptr_equal(conf_get(), before);
	assert_int_equal(conf_get()->tick_ms, 500);
	assert_int_equal(conf_get()->n_peers, 2);
	assert_int_equal(f->reloads_seen, 0);
	assert_int_equal(f->last_level, LOG_LEVEL_ERR);
	assert_non_null(strstr(f->last_log, "tided.conf:2: 'log_level' must be one of"));
	assert_non_null(strstr(f->last_log, "keeping the previous one"));

	/* a good edit applies; a key that needs a restart keeps its value */
	free(unit_write_file(f->dir, "tided.conf",
			     "tick_ms = 750;\n"
			     "libvirt_uri = \"qemu+tcp://10.0.0.1/system\";\n"
			     "state_dir = \"/var/lib/tide-h1\";\n"
			     /* the other restart-only keys as they run */
			     "libvirt_run_dir = \"/var/tmp/tide-testbed/h1/run-libvirt\";\n"
			     "libvirt_reconnect_max_ms = 2000;\n"
			     "libvirt_call_timeout_ms = 3000;\nlibvirt_workers = 2;\n"
			     "peer_poll_ms = 1000;\n"
			     "ring_samples = 128;\nmax_vms = 300;\ncpu_source = \"raw_tp\";\n"
			     "net_source = \"netlink\";\nkvm_stats = false;\n"
			     "control_socket = \"/run/elsewhere.sock\";\n"));
	assert_int_equal(conf_reload(), 0);
	assert_int_equal(conf_get()->tick_ms, 750);
	assert_int_equal(conf_get()->n_peers, 0);
	assert_string_equal(conf_get()->control_socket, "/run/tide-h1/tided.sock");
	assert_int_equal(f->last_level, LOG_LEVEL_WARNING);
	assert_non_null(strstr(f->last_log, "'control_socket' needs a restart"));
	assert_int_equal(f->reloads_seen, 1);

	/* restart-only keys that are not strings keep their value too */
	free(unit_write_file(f->dir, "tided.conf",
			     "tick_ms = 100;\nring_samples = 8;\ncpu_source = \"proc\";\n"
			     "kvm_stats = false;\ntextfile_enabled = false;\n"));
	assert_int_equal(conf_reload(), 0);
	assert_int_equal(conf_get()->tick_ms, 100);
	/* as good_conf started them */
	assert_int_equal(conf_get()->ring_samples, 128);
	assert_int_equal(conf_get()->cpu_source, CONF_CPU_RAW_TP);
	assert_int_equal(conf_get()->net_source, CONF_NET_NETLINK);
	assert_false(conf_get()->kvm_stats);
	assert_false(conf_get()->textfile_enabled);
	assert_non_null(
		strstr(f->last_log, "'net_source' needs a restart of tided; keeping \"netlink\""));

	free(unit_write_file(f->dir, "tided.conf",
			     "ring_samples = 8;\ntextfile_enabled = true;\n"
			     "net_source = \"netlink\";\n"));
	assert_int_equal(conf_reload(), 0);
	assert_true(conf_get()->textfile_enabled);
	assert_non_null(strstr(f->last_log, "'kvm_stats' needs a restart of tided; keeping false"));
	free(path);
}

static void test_failed_init_leaves_no_state(void **state)
{
	struct fixture *f = *state;
	char *err_path;

	/* conf_init(NULL) reads TIDE_DEFAULT_CONFIG, which a test cannot
	 * control; conf_load with must_exist false is the same path */
	assert_int_equal(asprintf(&err_path, "%s/none.conf", f->dir) > 0, 1);
	assert_int_equal(conf_init(err_path), -ENOENT);
	free(err_path);
	assert_string_equal(conf_file(), TIDE_DEFAULT_CONFIG);
}

static void test_shipped_file_is_valid_and_matches_defaults(void **state)
{
	char err[CONF_ERR_BYTES] = "";
	struct tide_conf *c = NULL, *d = NULL;

	/* make runs the tests from the top of the tree */
	if (access("packaging/tided.conf", R_OK) != 0)
		skip();
	assert_int_equal(conf_load("packaging/tided.conf", true, &c, err, sizeof(err)), 0);
	assert_int_equal(conf_defaults(&d), 0);
	/* the file documents the defaults: they must not drift apart */
	assert_string_equal(c->libvirt_uri, d->libvirt_uri);
	assert_string_equal(c->control_socket, d->control_socket);
	assert_string_equal(c->state_dir, d->state_dir);
	assert_string_equal(c->textfile_dir, d->textfile_dir);
	assert_int_equal(c->tick_ms, d->tick_ms);
	assert_int_equal(c->textfile_interval_ms, d->textfile_interval_ms);
	assert_int_equal(c->textfile_enabled, d->textfile_enabled);
	assert_string_equal(c->libvirt_run_dir, d->libvirt_run_dir);
	assert_int_equal(c->libvirt_reconnect_max_ms, d->libvirt_reconnect_max_ms);
	assert_int_equal(c->ring_samples, d->ring_samples);
	assert_int_equal(c->max_vms, d->max_vms);
	assert_int_equal(c->host_cpus, d->host_cpus);
	assert_int_equal(c->cpu_source, d->cpu_source);
	assert_int_equal(c->net_source, d->net_source);
	assert_int_equal(c->kvm_stats, d->kvm_stats);
	assert_int_equal(c->log_level, d->log_level);
	assert_int_equal(c->n_peers, d->n_peers);
	conf_free(c);
	conf_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_file_with_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_given_with_c_is_an_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_the_documented_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_names_the_file_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_failure_keeps_old_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_init_leaves_no_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_file_is_valid_and_matches_defaults,
						setup, teardown),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
