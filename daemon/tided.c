// SPDX-License-Identifier: GPL-2.0
/*
 * tided: the tide daemon.
 *
 * Reads its configuration, then starts the modules in dependency order and
 * runs the event loop until SIGTERM or SIGINT; stops them in reverse.  All
 * the work happens in loop callbacks; main() only sequences.
 *
 * Start-up errors (broken configuration, control socket held by a live
 * tided, no io_uring) end the program with a non-zero status and a message
 * on stderr, also when it daemonizes: the parent waits until the child is
 * ready or has failed, and exits accordingly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "collect.h"
#include "sources.h"
#include "conf.h"
#include "cpu.h"
#include "ctl.h"
#include "ctrl.h"
#include "dirty.h"
#include "feat.h"
#include "inv.h"
#include "kvm.h"
#include "lag.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "net.h"
#include "peer.h"
#include "predict.h"
#include "react.h"
#include "show.h"
#include "status.h"
#include "textfile.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"
#include "work.h"

static struct {
	const char *config_path; /* NULL: TIDE_DEFAULT_CONFIG, may be absent */
	bool foreground;
	bool debug;
	bool probe;
	bool json;
	bool check_config;
	int ready_fd; /* daemonizing: tells the parent we are up */
	struct util_pidfile pidfile;
	int net_watch_id; /* net_fd() in the loop */
	int last_net_err; /* net events: logged once per distinct error */
} env = {
	.ready_fd = -1,
	.pidfile = { .fd = -1 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tided [OPTIONS]\n"
		"\n"
		"tide's node-local daemon: collects per-VM metrics with eBPF and netlink,\n"
		"and live-migrates VMs through libvirt.  tidectl(8) talks to it.\n"
		"\n"
		"Options:\n"
		"  -c, --config PATH   configuration file (default %s);\n"
		"                      without -c a missing file means built-in defaults,\n"
		"                      a file given with -c must exist\n"
		"  -f, --foreground    stay in the foreground and log to stderr (as under\n"
		"                      systemd); otherwise detach and log to syslog\n"
		"  -d, --debug         log debug messages, whatever log_level says\n"
		"  -t, --check-config  check the configuration file, print the verdict, exit\n"
		"      --probe         print what this kernel and process support (BPF\n"
		"                      program types, BTF, bpffs, io_uring, /dev/kvm) and exit\n"
		"  -j, --json          with --probe: print JSON\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          print this help and exit\n"
		"\n"
		"Configuration file (libconfig syntax, tided.conf(5)); every key is optional:\n"
		"  libvirt_uri = \"qemu:///system\";          libvirt to manage\n"
		"  control_socket = \"/run/tide/tided.sock\"; tidectl talks here (root only)\n"
		"  state_dir = \"/var/lib/tide\";             persistent state\n"
		"  libvirt_run_dir = \"/run/libvirt\";        where libvirtd keeps qemu/NAME.pid\n"
		"  libvirt_call_timeout_ms = 10000;         a libvirt call that takes longer fails\n"
		"  libvirt_workers = 4;                     threads making the libvirt calls\n"
		"  peer_poll_ms = 5000;                     how often each peer is read\n"
		"  tick_ms = 1000;                          collection interval\n"
		"  ring_samples = 64;                       samples kept per VM\n"
		"  cpu_source = \"auto\";                     auto raw_tp proc\n"
		"  net_source = \"auto\";                     auto tcx tc netlink\n"
		"  textfile_enabled = true;                 Prometheus textfile export\n"
		"  textfile_dir = \"/var/lib/prometheus/node-exporter\";\n"
		"  textfile_interval_ms = 15000;            Prometheus export interval\n"
		"  dirty_probe = true;                      page-sampling dirty-rate probes\n"
		"  dirty_probe_interval_ms = 20000;         a VM is probed at most this often\n"
		"  dirty_probe_budget = 2;                  VMs probed at once\n"
		"  dirty_probe_qmp = false;                 probe through QEMU's monitor (taints)\n"
		"  dirty_probe_sample_pages = 4096;         per GiB, the QMP probe's (128-4096)\n"
		"  migration_bandwidth_mib_s = 0;           pre-copy cap (0: the link)\n"
		"  link_bandwidth_mib_s = 1024;             what the migration link carries\n"
		"  migration_downtime_limit_ms = 300;       QEMU's downtime limit\n"
		"  migration_history = 1000;                migration records kept\n"
		"  log_level = \"info\";                      err warning notice info debug\n"
		"  peers = ( { name = \"h2\"; uri = \"qemu+tcp://10.0.0.2/system\"; } );\n"
		"\n"
		"Signals: SIGTERM, SIGINT stop cleanly; SIGHUP re-reads the configuration\n"
		"(a file with any error is refused whole, and the running one kept).\n",
		TIDE_DEFAULT_CONFIG);
}

static int parse_args(int argc, char **argv)
{
	enum { OPT_PROBE = 0x100 };
	static const struct option options[] = { { "config", required_argument, NULL, 'c' },
						 { "foreground", no_argument, NULL, 'f' },
						 { "debug", no_argument, NULL, 'd' },
						 { "check-config", no_argument, NULL, 't' },
						 { "probe", no_argument, NULL, OPT_PROBE },
						 { "json", no_argument, NULL, 'j' },
						 { "version", no_argument, NULL, 'V' },
						 { "help", no_argument, NULL, 'h' },
						 { 0 } };
	int opt;

	while ((opt = getopt_long(argc, argv, "c:fdtjVh", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			env.config_path = optarg;
			break;
		case 'f':
			env.foreground = true;
			break;
		case 'd':
			env.debug = true;
			break;
		case 't':
			env.check_config = true;
			break;
		case OPT_PROBE:
			env.probe = true;
			break;
		case 'j':
			env.json = true;
			break;
		case 'V':
			printf("tided %s\n", TIDE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			/* getopt said what was wrong */
			fprintf(stderr, "Try 'tided --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tided: unexpected argument '%s'\nTry 'tided --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	if (env.json && !env.probe) {
		fprintf(stderr, "tided: -j only applies to --probe\n");
		return -EINVAL;
	}
	return 0;
}

static int run_probe(void)
{
	struct tide_features f;

	feat_probe(&f);
	if (env.json) {
		struct json_object *o = feat_to_json(&f);

		if (!o)
			return 1;
		printf("%s\n",
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		feat_print_plain(stdout, &f);
	}
	return feat_essentials_ok(&f) ? 0 : 1;
}

/* ---- daemonizing ------------------------------------------------------- */

/*
 * Fork; the parent waits for the child's verdict on a pipe and exits with
 * it, so `tided && echo up` means up.  The child keeps stderr until it is
 * ready, so start-up errors still reach the terminal.
 */
static int daemonize(void)
{
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_err("cannot create a pipe to daemonize: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		log_err("cannot fork to daemonize: %s", strerror(errno));
		return -errno;
	}
	if (pid > 0) {
		char ok = 1;

		close(pipefd[1]);
		/* EOF without a byte: the child failed and said why */
		while (read(pipefd[0], &ok, 1) < 0 && errno == EINTR)
			;
		_exit(ok == 0 ? 0 : 1);
	}
	close(pipefd[0]);
	env.ready_fd = pipefd[1];
	if (setsid() < 0)
		log_warn("cannot start a new session: %s", strerror(errno));
	if (chdir("/") < 0)
		log_warn("cannot chdir to '/': %s", strerror(errno));
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void tell_ready(void)
{
	char ok = 0;

	util_sd_notify("READY=1");
	if (env.ready_fd < 0)
		return;
	/* from here on, messages go to syslog only */
	log_init("tided", LOG_TO_SYSLOG, log_get_level());
	detach_stdio();
	(void)!write(env.ready_fd, &ok, 1);
	close(env.ready_fd);
	env.ready_fd = -1;
}

/* ---- modules ----------------------------------------------------------- */

static void apply_log_level(const struct tide_conf *c, void *arg)
{
	log_set_level(env.debug ? LOG_LEVEL_DEBUG : c->log_level);
}

static void react_opts_of(const struct tide_conf *c, struct react_opts *o)
{
	o->hooks_dir = c->hooks_dir;
	o->timeout_ms = c->hook_timeout_ms;
	o->max_running = c->hook_max_running;
}

/* reloadable keys the running modules follow */
static void apply_reload(const struct tide_conf *c, void *arg)
{
	if (collect_tick_ms() && collect_tick_ms() != c->tick_ms) {
		if (collect_set_tick_ms(c->tick_ms))
			log_err("cannot re-arm the collection tick at %u ms", c->tick_ms);
		else
			log_notice("collection tick now %u ms", c->tick_ms);
	}
	collect_set_host_cpus(c->host_cpus);
	textfile_reconfigure();
	if (lag_set_interval(c->tick_ms) && c->tick_ms)
		log_debug("lag: tick not followed");
	peer_reconfigure(c->peers, c->n_peers);
	ctrl_reconfigure();
	{
		struct react_opts o;

		react_opts_of(c, &o);
		if (react_reconfigure(&o))
			log_err("cannot follow the new hooks_dir '%s'", c->hooks_dir);
	}
}

static void on_reload(void *arg)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(util_monotonic_ns() / 1000));
	util_sd_notify(msg);
	conf_reload(); /* logs both outcomes */
	util_sd_notify("READY=1");
}

static int start_loop(void)
{
	int err = loop_init();

	if (err)
		return err;
	err = loop_handle_signals(on_reload, NULL);
	if (err) {
		log_err("cannot set up signal handling: %s", strerror(-err));
		loop_fini();
	}
	return err;
}

/* State directory, and the pid file beside the control socket (per
 * instance on a testbed, /run/tide on a real host). */
static int start_state(void)
{
	const struct tide_conf *c = conf_get();
	char dir[4096], failed[4096] = "", path[4096 + 16];
	pid_t holder;
	int err;

	err = util_mkdir_p(c->state_dir, 0755, failed, sizeof(failed));
	if (err) {
		log_err("cannot create state directory '%s': %s", failed, strerror(-err));
		return err;
	}
	err = util_dirname(c->control_socket, dir, sizeof(dir));
	if (!err)
		err = util_mkdir_p(dir, 0755, failed, sizeof(failed));
	if (err) {
		log_err("cannot create directory '%s': %s", failed[0] ? failed : dir, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/tided.pid", dir);
	err = util_pidfile_acquire(&env.pidfile, path, &holder);
	if (err == -EEXIST) {
		log_err("another tided (pid %d) holds '%s'; stop it first, or give this "
			"one its own control_socket",
			(int)holder, path);
		return err;
	}
	if (err) {
		log_err("cannot create pid file '%s': %s", path, strerror(-err));
		return err;
	}
	return 0;
}

static void stop_state(void)
{
	util_pidfile_release(&env.pidfile);
}

static int start_ctl(void)
{
	return ctl_init(conf_get()->control_socket);
}

/* ---- collectors: each falls back, none stops tided ------------------------ */

static struct sources_opts sources_opts(void)
{
	const struct tide_conf *c = conf_get();

	return (struct sources_opts){
		.cpu_source = c->cpu_source,
		.net_source = c->net_source,
		.kvm_stats = c->kvm_stats,
		.max_vms = c->max_vms,
	};
}

static int start_cpu(void)
{
	struct sources_opts o = sources_opts();

	return sources_open_cpu(&o);
}

static void on_net_events(int fd, unsigned int revents, void *arg)
{
	int err = net_process_events(sources_get()->net);

	/* an attach that failed on a tap: its link stats are read instead */
	if (err && err != env.last_net_err)
		log_warn("network collector: %s (taps concerned fall back to link stats)",
			 strerror(-err));
	env.last_net_err = err;
}

static int start_net(void)
{
	struct sources_opts o = sources_opts();
	int err;

	sources_open_net(&o);
	if (!sources_get()->net)
		return 0;
	err = loop_add_fd(net_fd(sources_get()->net), LOOP_IN, on_net_events, NULL,
			  &env.net_watch_id);
	if (err)
		log_err("cannot watch the rtnetlink socket: %s", strerror(-err));
	return err;
}

static void stop_net(void)
{
	if (env.net_watch_id > 0)
		loop_remove_fd(env.net_watch_id);
	env.net_watch_id = 0;
	sources_close_net();
}

static int start_kvm(void)
{
	struct sources_opts o = sources_opts();

	return sources_open_kvm(&o);
}

static int start_collect(void)
{
	const struct tide_conf *c = conf_get();
	const struct sources *src = sources_get();
	struct collect_opts o = {
		/* the sources chosen above: BPF, /proc or netlink, each as it could */
		.readers = sources_readers(), .ring_samples = c->ring_samples,
		.max_vms = c->max_vms,	      .tick_ms = c->tick_ms,
		.host_cpus = c->host_cpus,
	};
	int err;

	if (src->degraded)
		log_err("DEGRADED mode: cpu from %s, net from %s (see above why); `tidectl status` "
			"says so too",
			src->cpu_mode, src->net_mode);
	err = collect_init(&o);
	if (err)
		log_err("cannot start the collection: %s", strerror(-err));
	return err;
}

static int start_inv(void)
{
	const struct tide_conf *c = conf_get();
	struct inv_opts o = {
		.uri = c->libvirt_uri,
		.run_dir = c->libvirt_run_dir,
		.rescan_ms = c->tick_ms,
		.reconnect_max_ms = c->libvirt_reconnect_max_ms,
		.call_timeout_ms = c->libvirt_call_timeout_ms,
	};

	return inv_init(&o);
}

static int start_work(void)
{
	struct work_opts o = { .threads = conf_get()->libvirt_workers };

	return work_init(&o);
}

static int start_peer(void)
{
	const struct tide_conf *c = conf_get();
	struct peer_opts o = {
		.peers = c->peers,
		.n_peers = c->n_peers,
		.poll_ms = c->peer_poll_ms,
		.call_timeout_ms = c->libvirt_call_timeout_ms,
		.reconnect_max_ms = c->libvirt_reconnect_max_ms,
	};

	return peer_init(&o);
}

static int start_react(void)
{
	struct react_opts o;

	react_opts_of(conf_get(), &o);
	return react_init(&o);
}

static int start_lag(void)
{
	return lag_init(conf_get()->tick_ms);
}

struct module {
	const char *name;
	int (*init)(void);
	void (*fini)(void);
};

/* dependency order; stopped in reverse */
static const struct module modules[] = {
	{ "loop", start_loop, loop_fini },
	{ "feat", feat_init, feat_fini },
	{ "state", start_state, stop_state },
	{ "virt", virt_init, virt_fini },
	/* every blocking libvirt call runs on work's threads, through vconn */
	{ "work", start_work, work_fini },
	{ "vconn", vconn_init, vconn_fini },
	{ "cpu", start_cpu, sources_close_cpu },
	{ "net", start_net, stop_net },
	{ "kvm", start_kvm, sources_close_kvm },
	/* collect before inv: inv feeds it the VMs it finds */
	{ "collect", start_collect, collect_fini },
	{ "inv", start_inv, inv_fini },
	/* after inv: it probes the VMs the store holds, on its own connection */
	{ "dirty", dirty_init, dirty_fini },
	{ "peer", start_peer, peer_fini },
	/* before mig and the planner, whose events run the hooks */
	{ "react", start_react, react_fini },
	{ "prom", textfile_init, textfile_fini },
	{ "ctl", start_ctl, ctl_fini },
	/* after ctl (its commands), collect and inv (the figures it admits by) */
	{ "admit", admit_host_init, admit_host_fini },
	{ "status", status_init, status_fini },
	{ "show", show_init, show_fini },
	{ "predict", predict_init, predict_fini },
	/* after ctl (its commands) and store (its predictions) */
	{ "mig", mig_init, mig_fini },
	/* the control loop: after everything it reads and drives */
	{ "ctrl", ctrl_init, ctrl_fini },
	/* last: it measures the running loop, not the start-up */
	{ "lag", start_lag, lag_fini },
};

static void stop_modules(size_t n_started)
{
	while (n_started-- > 0) {
		log_debug("stopping module %s", modules[n_started].name);
		modules[n_started].fini();
	}
}

static int start_modules(size_t *n_started)
{
	for (*n_started = 0; *n_started < ARRAY_SIZE(modules); (*n_started)++) {
		const struct module *m = &modules[*n_started];
		int err;

		log_debug("starting module %s", m->name);
		err = m->init();
		if (err) {
			/* the module said what failed; this says where we are */
			log_err("cannot start module %s: %s", m->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t n_started = 0;
	int err, quit_signo;

	if (parse_args(argc, argv))
		return 2;
	if (env.probe)
		return run_probe();

	log_init("tided", LOG_TO_STDERR, env.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (conf_init(env.config_path))
		return 1; /* the error names the file and line */
	if (env.check_config) {
		printf("configuration %s'%s' is valid\n", conf_get()->path ? "" : "(absent) ",
		       conf_file());
		conf_fini();
		return 0;
	}
	apply_log_level(conf_get(), NULL);
	err = conf_subscribe(apply_log_level, NULL);
	if (!err)
		err = conf_subscribe(apply_reload, NULL);
	/* before any thread or io_uring exists */
	if (!err && !env.foreground)
		err = daemonize();
	if (!err)
		err = start_modules(&n_started);
	if (err)
		goto cleanup;
	tell_ready();
	log_notice("tided %s started (pid %d); control socket '%s'", TIDE_VERSION, (int)getpid(),
		   conf_get()->control_socket);

	err = loop_run();
	quit_signo = loop_quit_signal();
	util_sd_notify("STOPPING=1");
	if (err)
		log_err("event loop failed: %s; stopping", strerror(-err));
	else
		log_notice("tided stopping (%s%s)", quit_signo ? "SIG" : "asked to quit",
			   quit_signo ? sigabbrev_np(quit_signo) ?: "?" : "");
cleanup:
	stop_modules(n_started);
	if (n_started == ARRAY_SIZE(modules))
		log_notice("tided stopped");
	conf_fini();
	log_fini();
	return err ? 1 : 0;
}
