// SPDX-License-Identifier: GPL-2.0
/*
 * react: reaction hooks as real processes, on a real loop.  Each test gets
 * a hooks directory (root's, 0755) and an output directory the hooks write
 * into, writes small #!/bin/sh hooks, and runs the loop until the hooks are
 * done, under a watchdog that fails the test rather than hang.
 *   - environment (exactly PATH and TIDE_*), argv, no signal blocked or
 *     ignored, C-locale order, one hook after another;
 *   - what is skipped: run-parts' names, not executable, not a regular
 *     file; what is refused with one warning: group/other-writable, not
 *     root's, a symbolic link, an unsafe directory or one above it;
 *   - failures (exit status, signal, exec error) logged, counted, never
 *     retried, never holding the next hook;
 *   - the timeout kills the whole process group, SIGKILL after the grace
 *     for what ignores SIGTERM;
 *   - max_running queues, a full queue drops;
 *   - no fd of tided in the hook; output logged, capped, sanitised;
 *   - react_event() returns before a slow hook ends, react_fini() kills it;
 *   - reaping without pidfds (the sweep), reload, counters, textfile.
 */
#include "unit.h"

#include <limits.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "log.h"
#include "loop.h"
#include "react_int.h"

#define WATCHDOG_MS 15000

static struct {
	char *hooks, *out;
	char log[1 << 16];
	size_t log_len;
	int watchdog;
} t;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

static void capture_log(enum log_level level, const char *msg, void *arg)
{
	int n = snprintf(t.log + t.log_len, sizeof(t.log) - t.log_len, "%s\n", msg);

	if (n > 0)
		t.log_len += (size_t)n;
	if (t.log_len >= sizeof(t.log))
		t.log_len = sizeof(t.log) - 1;
}

static int setup(void **state)
{
	memset(&t, 0, sizeof(t));
	log_set_level(LOG_LEVEL_INFO);
	log_set_hook(capture_log, NULL);
	t.hooks = unit_mkdtemp("react-hooks");
	t.out = unit_mkdtemp("react-out");
	if (!t.hooks || !t.out || chmod(t.hooks, 0755) < 0 || loop_init())
		return -1;
	return loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &t.watchdog);
}

static int teardown(void **state)
{
	react_fini();
	loop_fini();
	log_set_hook(NULL, NULL);
	unit_rmtree(t.hooks);
	unit_rmtree(t.out);
	return 0;
}

/* ---- helpers ----------------------------------------------------------------- */

static void start(const char *dir, uint32_t timeout_ms, uint32_t max_running)
{
	struct react_opts o = { dir ? dir : t.hooks, timeout_ms, max_running };

	assert_int_equal(react_init(&o), 0);
}

/* A hook: "#!/bin/sh" then body, "@OUT@" standing for the output dir. */
static void hook_in(const char *dir, const char *name, mode_t mode, const char *body)
{
	char text[4096], *path;
	size_t len = 0;

	len += (size_t)snprintf(text, sizeof(text), "#!/bin/sh\n");
	for (const char *s = body; *s && len < sizeof(text) - 256; s++) {
		if (strncmp(s, "@OUT@", 5) == 0) {
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", t.out);
			s += 4;
		} else {
			text[len++] = *s;
		}
	}
	text[len] = '\0';
	path = unit_write_file(dir, name, text);
	assert_non_null(path);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void hook(const char *name, mode_t mode, const char *body)
{
	hook_in(t.hooks, name, mode, body);
}

static char *out_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t.out, name);
	return path;
}

static bool out_exists(const char *name)
{
	return access(out_path(name), F_OK) == 0;
}

/* The output file's text (static, "" when absent). */
static const char *out_text(const char *name)
{
	static char buf[8192];
	size_t n = 0;
	FILE *f = fopen(out_path(name), "r");

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static pid_t out_pid(const char *name)
{
	return (pid_t)atoi(out_text(name));
}

static int log_count(const char *needle)
{
	int n = 0;

	for (const char *p = t.log; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static struct react_stats stats(void)
{
	struct react_stats s;

	react_stats(&s);
	return s;
}

static bool idle(void)
{
	struct react_stats s = stats();

	return s.running == 0 && s.queued == 0;
}

#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(50), 0); \
	} while (0)

/* running, or a zombie nobody reaped yet (an orphan of init's) */
static bool pid_alive(pid_t pid)
{
	char path[64], buf[512], *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static bool pid_dies(pid_t pid, int within_ms)
{
	for (int i = 0; i < within_ms / 10; i++) {
		if (!pid_alive(pid))
			return true;
		usleep(10000);
	}
	return !pid_alive(pid);
}

static const struct react_var moved[] = {
	{ "VM", "web1" },
	{ "UUID", "6f1c1f0e-2b43-4c36-9d0e-2d7c0f6d0a11" },
	{ "SOURCE", "h1" },
	{ "DESTINATION", "h2" },
	{ "DOWNTIME_MS", "18" },
	{ "TOTAL_TIME_MS", "4300" },
	/* no shell ever reads it: nothing in it runs */
	{ "NOTE", "a b; $(false) `x` \"q\" 'q'" },
};

/* ---- what runs, how and in which order --------------------------------------- */

static void test_environment_argv_and_order(void **state)
{
	/* "1" < "B" < "_c" < "a" in the C locale only; "1" sleeps, so a
	 * parallel run would show "B" first */
	static const char body[] = "n=${0##*/}\n"
				   "[ \"$n\" = 1 ] && sleep 0.2\n"
				   "tr '\\0' '\\n' < /proc/$$/environ > @OUT@/$n.env\n"
				   "echo \"$n $# $1 $0\" >> @OUT@/order\n";
	char expect[4 * PATH_MAX + 128], real[PATH_MAX];
	const char *env;

	hook("a", 0755, body);
	hook("_c", 0755, body);
	hook("B", 0755, body);
	hook("1", 0755, body);
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm-moved", moved, ARRAY_SIZE(moved)), 0);
	RUN_UNTIL(idle());
	assert_non_null(realpath(t.hooks, real));
	snprintf(expect, sizeof(expect),
		 "1 1 vm-moved %s/1\nB 1 vm-moved %s/B\n_c 1 vm-moved %s/_c\na 1 vm-moved %s/a\n",
		 real, real, real, real);
	assert_string_equal(out_text("order"), expect);

	/* exactly what tided gave, in its order: nothing inherited */
	env = out_text("_c.env");
	assert_string_equal(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
				 "TIDE_EVENT=vm-moved\n"
				 "TIDE_VM=web1\n"
				 "TIDE_UUID=6f1c1f0e-2b43-4c36-9d0e-2d7c0f6d0a11\n"
				 "TIDE_SOURCE=h1\n"
				 "TIDE_DESTINATION=h2\n"
				 "TIDE_DOWNTIME_MS=18\n"
				 "TIDE_TOTAL_TIME_MS=4300\n"
				 "TIDE_NOTE=a b; $(false) `x` \"q\" 'q'\n");
	assert_int_equal(stats().runs, 4);
	assert_int_equal(stats().ok, 4);
	assert_int_equal(log_count("hook 'a' for event 'vm-moved' succeeded in "), 1);
}

static void test_signals_not_inherited(void **state)
{
	unsigned long long blocked, ignored;
	const char *blk, *ign;
	char *path;

	/* no shell: dash would clear the mask itself and hide it */
	path = unit_write_file(t.hooks, "sigs",
			       "#!/usr/bin/env -S grep -hE ^Sig(Blk|Ign): /proc/self/status\n");
	assert_non_null(path);
	assert_int_equal(chmod(path, 0755), 0);
	free(path);
	/* as tided: signals blocked for signalfd, SIGPIPE ignored */
	assert_int_equal(loop_handle_signals(NULL, NULL), 0);
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm-moved", NULL, 0), 0);
	RUN_UNTIL(idle());
	blk = strstr(t.log, "hook 'sigs': SigBlk:");
	ign = strstr(t.log, "hook 'sigs': SigIgn:");
	assert_non_null(blk);
	assert_non_null(ign);
	assert_int_equal(sscanf(blk, "hook 'sigs': SigBlk: %llx", &blocked), 1);
	assert_int_equal(sscanf(ign, "hook 'sigs': SigIgn: %llx", &ignored), 1);
	assert_int_equal(blocked, 0);
	/* 32 and 33 are glibc's own, which its posix_spawn leaves ignored */
	assert_int_equal(ignored & 0x7fffffffull, 0);
}

static void test_skipped_and_refused(void **state)
{
	static const char body[] = "echo x >> @OUT@/${0##*/}\n";
	static const char *const not_run[] = { ".hidden", "x~", "old.dpkg-old", "noexec",
					       "gw",	  "ow", "notroot",	"link" };
	static const char *const refused[] = { "gw", "ow", "notroot", "link" };
	char path[PATH_MAX], target[PATH_MAX];

	hook("ok", 0755, body);
	hook(".hidden", 0755, body);
	hook("x~", 0755, body);
	hook("old.dpkg-old", 0755, body);
	hook("noexec", 0644, body);
	hook("gw", 0775, body);
	hook("ow", 0757, body);
	hook("notroot", 0755, body);
	snprintf(path, sizeof(path), "%s/notroot", t.hooks);
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/link", t.hooks);
	snprintf(target, sizeof(target), "%s/ok", t.hooks);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/sub", t.hooks);
	assert_int_equal(mkdir(path, 0755), 0);

	start(NULL, 0, 0);
	/* init lists them, and warns already */
	assert_int_equal(log_count("reaction hooks in '"), 1);
	assert_int_equal(log_count("in order: 'ok'\n"), 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(react_event("host-freed", NULL, 0), 0);
		RUN_UNTIL(idle());
	}
	assert_string_equal(out_text("ok"), "x\nx\n");
	for (size_t i = 0; i < ARRAY_SIZE(not_run); i++)
		assert_false(out_exists(not_run[i]));
	/* once per file, however many events */
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		char needle[128];

		snprintf(needle, sizeof(needle), "hook '%s' in '", refused[i]);
		assert_int_equal(log_count(needle), 1);
	}
	assert_int_equal(log_count("is writable by group or others: not run"), 2);
	assert_int_equal(log_count("is not owned by root: not run"), 1);
	assert_int_equal(log_count("is a symbolic link"), 1);
	assert_int_equal(stats().skipped, 2 * ARRAY_SIZE(refused));
	assert_int_equal(stats().runs, 2);

	/* fixed: it runs; broken again: said again */
	snprintf(path, sizeof(path), "%s/gw", t.hooks);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_string_equal(out_text("gw"), "x\n");
	assert_int_equal(chmod(path, 0775), 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_int_equal(log_count("hook 'gw' in '"), 2);
}

static void test_unsafe_directory(void **state)
{
	char parent[PATH_MAX], dir[PATH_MAX + 16];

	hook("ok", 0755, "touch @OUT@/ok\n");
	assert_int_equal(chmod(t.hooks, 0775), 0);
	start(NULL, 0, 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_false(out_exists("ok"));
	assert_int_equal(log_count("is writable by group or others: none of its hooks runs"), 1);
	assert_int_equal(stats().skipped, 2);
	assert_int_equal(stats().runs, 0);
	react_fini();

	/* a directory above that anyone may rename entries in */
	assert_int_equal(chmod(t.hooks, 0755), 0);
	snprintf(parent, sizeof(parent), "%s/parent", t.hooks);
	snprintf(dir, sizeof(dir), "%s/hooks", parent);
	assert_int_equal(mkdir(parent, 0755), 0);
	assert_int_equal(chmod(parent, 0777), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	hook_in(dir, "ok", 0755, "touch @OUT@/ok\n");
	start(dir, 0, 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_false(out_exists("ok"));
	assert_int_equal(log_count("/parent' above it is writable by group or others"), 1);

	/* sticky, like /tmp: fine */
	assert_int_equal(chmod(parent, 01777), 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_true(out_exists("ok"));
}

static void test_failures_logged_and_counted(void **state)
{
	char *path;

	hook("1-exit3", 0755, "exit 3\n");
	hook("2-signal", 0755, "kill -USR1 $$\nsleep 5\n");
	path = unit_write_file(t.hooks, "3-noshebang", "exit 0\n");
	assert_int_equal(chmod(path, 0755), 0);
	free(path);
	hook("4-ok", 0755, "touch @OUT@/4\n");
	start(NULL, 0, 0);
	assert_int_equal(react_event("host-freed", (struct react_var[]){ { "HOST", "h1" } }, 1), 0);
	RUN_UNTIL(idle());
	assert_int_equal(log_count("hook '1-exit3' for event 'host-freed' failed: exit status 3 "),
			 1);
	assert_int_equal(log_count("hook '2-signal' for event 'host-freed' failed: killed by "
				   "signal SIGUSR1 "),
			 1);
	assert_int_equal(log_count("cannot run hook '3-noshebang' for event 'host-freed': "
				   "cannot execute '"),
			 1);
	assert_int_equal(log_count("Exec format error (no '#!' line?)"), 1);
	/* the next hook ran all the same, and nothing twice */
	assert_true(out_exists("4"));
	assert_int_equal(stats().runs, 4);
	assert_int_equal(stats().failed, 3);
	assert_int_equal(stats().ok, 1);
}

/* ---- timeouts, slots, the end -------------------------------------------------- */

static void test_timeout_kills_the_group(void **state)
{
	uint64_t t0;

	/* the child ignores SIGTERM: only the SIGKILL after the grace ends it */
	hook("slow", 0755,
	     "sh -c 'trap \"\" TERM; echo $$ > @OUT@/child; exec sleep 30' &\n"
	     "echo $$ > @OUT@/leader\n"
	     "wait\n");
	start(NULL, 300, 0);
	t0 = loop_now_ms();

	assert_int_equal(react_event("vm-moved", moved, 2), 0);
	RUN_UNTIL(out_exists("child") && out_pid("child") > 0);
	RUN_UNTIL(idle());
	assert_true(loop_now_ms() - t0 >= 300 + REACT_KILL_GRACE_MS - 50);
	assert_true(loop_now_ms() - t0 < 300 + REACT_KILL_GRACE_MS + 1500);
	assert_int_equal(log_count("hook 'slow' for event 'vm-moved' did not finish within 300 ms: "
				   "killed"),
			 1);
	assert_true(pid_dies(out_pid("child"), 1000));
	assert_false(pid_alive(out_pid("leader")));
	assert_int_equal(stats().timed_out, 1);
	assert_int_equal(stats().failed, 0);
	assert_int_equal(stats().ok, 0);
}

static void test_max_running_queues_and_drops(void **state)
{
	uint32_t max_seen = 0;

	hook("h", 0755, "sleep 0.3\n");
	start(NULL, 0, 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(react_event("host-overloaded", NULL, 0), 0);
	assert_int_equal(stats().running, 2);
	assert_int_equal(stats().queued, 2);
	while (!idle()) {
		assert_int_equal(loop_run_once(20), 0);
		if (stats().running > max_seen)
			max_seen = stats().running;
	}
	assert_int_equal(max_seen, 2);
	assert_int_equal(stats().ok, 4);
	react_fini();

	/* one slot, a full queue: the rest is dropped, not waited for */
	start(NULL, 0, 1);
	for (int i = 0; i < 1 + REACT_QUEUE_MAX; i++)
		assert_int_equal(react_event("host-overloaded", NULL, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(react_event("host-overloaded", NULL, 0), -ENOBUFS);
	assert_int_equal(stats().queued, REACT_QUEUE_MAX);
	assert_int_equal(stats().queued_dropped, 3);
	assert_int_equal(log_count("reaction event 'host-overloaded' dropped: 64 events already "
				   "wait for one of the 1 hook slots"),
			 3);
	react_fini(); /* queued events go without running */
	assert_int_equal(log_count("64 queued reaction event(s) dropped"), 1);
}

static void test_no_fd_leaks_into_hooks(void **state)
{
	/* the control socket and a BPF map as tided holds them, and dups of
	 * both and a file without O_CLOEXEC, as a library might leave them */
	union bpf_attr map_attr = {
		.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1
	};
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* root's, as tided; -1 where BPF is refused, and the rest still holds */
	int map = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &map_attr, sizeof(map_attr));
	int fds[] = { sock, dup(sock), map, map >= 0 ? dup(map) : -1, open("/dev/null", O_RDONLY) };
	int n_fds = 0;
	char *line;

	assert_true(sock > 2 && fds[1] > 2 && fds[4] > 2);
	hook("fds", 0755, "exec ls -l /proc/self/fd\n");
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm-moved", NULL, 0), 0);
	assert_int_equal(react_event("vm-moved", NULL, 0), 0); /* two at once */
	RUN_UNTIL(idle());
	for (line = t.log; (line = strstr(line, "hook 'fds': l")); line++) {
		char *arrow = strstr(line, " -> "), *end = strchr(line, '\n'), *num;
		int fd;

		assert_non_null(arrow);
		for (num = arrow; num[-1] >= '0' && num[-1] <= '9'; num--)
			;
		fd = atoi(num);
		arrow += 4;
		*end = '\0';
		if (fd == 0)
			assert_string_equal(arrow, "/dev/null");
		else if (fd <= 2)
			assert_non_null(strstr(arrow, "pipe:["));
		else /* ls's own handle on the directory it lists */
			assert_non_null(strstr(arrow, "/fd"));
		*end = '\n';
		n_fds++;
	}
	assert_int_equal(n_fds, 2 * 4);
	assert_int_equal(stats().ok, 2);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_output_logged_capped_and_sanitised(void **state)
{
	hook("talk", 0755,
	     "echo hello\n"
	     "echo oops >&2\n"
	     "printf '\\033[31mred\\r\\n'\n"
	     "head -c 10000 /dev/zero | tr '\\0' x\n"
	     "echo\n");
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm-moved", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_int_equal(log_count("hook 'talk': hello\n"), 1);
	assert_int_equal(log_count("hook 'talk': oops\n"), 1);
	assert_int_equal(log_count("hook 'talk': ?[31mred\n"), 1);
	/* 6 + 5 + 10 + 10001 bytes, 4096 logged */
	assert_int_equal(log_count("hook 'talk' for event 'vm-moved': 5926 more bytes of output not "
				   "logged (over 4096)"),
			 1);
	/* the output comes before the verdict */
	assert_true(strstr(t.log, "more bytes of output") <
		    strstr(t.log, "hook 'talk' for event 'vm-moved' succeeded"));
}

static void test_event_returns_at_once_and_fini_kills(void **state)
{
	uint64_t t0;
	pid_t leader, child;

	hook("long", 0755,
	     "sleep 30 &\n"
	     "echo $! > @OUT@/child\n"
	     "echo $$ > @OUT@/leader\n"
	     "wait\n");
	start(NULL, 60000, 0);
	t0 = loop_now_ms();
	assert_int_equal(react_event("migration-failed", moved, 3), 0);
	assert_true(loop_now_ms() - t0 < 200);
	RUN_UNTIL(out_exists("leader") && out_pid("leader") > 0);
	leader = out_pid("leader");
	child = out_pid("child");
	assert_true(pid_alive(leader) && pid_alive(child));
	assert_int_equal(stats().running, 1);

	t0 = loop_now_ms();
	react_fini();
	assert_true(loop_now_ms() - t0 < REACT_KILL_GRACE_MS + 500);
	assert_int_equal(log_count("stopping: hook 'long' for event 'migration-failed' still runs: "
				   "killed"),
			 1);
	/* reaped by us, so gone; its child killed with its group */
	assert_int_equal(kill(leader, 0), -1);
	assert_true(pid_dies(child, 1000));
}

/* ---- the rest ------------------------------------------------------------------ */

static void test_bad_events_refused(void **state)
{
	static const struct react_var lower[] = { { "vm", "x" } };
	static const struct react_var event[] = { { "EVENT", "x" } };
	static const struct react_var twice[] = { { "VM", "x" }, { "VM", "y" } };
	static const struct react_var no_value[] = { { "VM", NULL } };

	assert_int_equal(react_event("vm-moved", NULL, 0), -ENODEV);
	hook("h", 0755, "touch @OUT@/ran\n");
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm moved", NULL, 0), -EINVAL);
	assert_int_equal(react_event("", NULL, 0), -EINVAL);
	assert_int_equal(react_event("vm-moved", lower, 1), -EINVAL);
	assert_int_equal(react_event("vm-moved", event, 1), -EINVAL);
	assert_int_equal(react_event("vm-moved", twice, 2), -EINVAL);
	assert_int_equal(react_event("vm-moved", no_value, 1), -EINVAL);
	assert_int_equal(log_count("variable 'VM' is given twice"), 1);
	assert_false(out_exists("ran"));
	assert_int_equal(stats().runs, 0);
}

static void test_no_directory_no_hooks(void **state)
{
	char missing[PATH_MAX];

	snprintf(missing, sizeof(missing), "%s/missing", t.hooks);
	start(missing, 0, 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	assert_true(idle());
	react_fini();
	start("", 0, 0);
	assert_int_equal(react_event("host-freed", NULL, 0), 0);
	assert_int_equal(log_count("reaction hooks disabled"), 1);
	assert_int_equal(stats().runs, 0);
	assert_int_equal(stats().skipped, 0);
}

static void test_reconfigure_and_sweep(void **state)
{
	char other[PATH_MAX];
	struct react_opts o = { other, 200, 1 };

	snprintf(other, sizeof(other), "%s/other", t.hooks);
	assert_int_equal(mkdir(other, 0755), 0);
	hook("a", 0755, "touch @OUT@/a\n");
	hook_in(other, "b", 0755, "touch @OUT@/b\nexec sleep 5\n");
	start(NULL, 0, 0);
	assert_int_equal(react_reconfigure(&o), 0);
	/* as where pidfd_open() is refused: the sweep reaps */
	react_st.pidfd_ok = false;
	assert_int_equal(react_event("vm-moved", NULL, 0), 0);
	assert_int_equal(react_st.active->run.pidfd, -1);
	assert_true(react_st.sweep_timer > 0);
	RUN_UNTIL(idle());
	assert_false(out_exists("a"));
	assert_true(out_exists("b"));
	assert_int_equal(stats().timed_out, 1);
	assert_int_equal(log_count("did not finish within 200 ms"), 1);
	RUN_UNTIL(react_st.sweep_timer == 0);
}

static void test_prom(void **state)
{
	struct prom p;

	hook("ok", 0755, "exit 0\n");
	hook("bad", 0755, "exit 1\n");
	start(NULL, 0, 0);
	assert_int_equal(react_event("vm-moved", NULL, 0), 0);
	RUN_UNTIL(idle());
	assert_int_equal(prom_begin(&p), 0);
	react_fill_prom(&p);
	assert_string_equal(prom_text(&p),
			    "# HELP tide_hook_runs_total Reaction hook runs that ended, by result "
			    "(skipped: refused as unsafe).\n"
			    "# TYPE tide_hook_runs_total counter\n"
			    "tide_hook_runs_total{result=\"ok\"} 1\n"
			    "tide_hook_runs_total{result=\"failed\"} 1\n"
			    "tide_hook_runs_total{result=\"timed_out\"} 0\n"
			    "tide_hook_runs_total{result=\"skipped\"} 0\n"
			    "# HELP tide_hook_events_dropped_total Events whose hooks never ran: too "
			    "many events were waiting.\n"
			    "# TYPE tide_hook_events_dropped_total counter\n"
			    "tide_hook_events_dropped_total 0\n");
	prom_abort(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_environment_argv_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signals_not_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_logged_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_the_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_running_queues_and_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fd_leaks_into_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_logged_capped_and_sanitised, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_returns_at_once_and_fini_kills, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_events_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_directory_no_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure_and_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prom, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
