// SPDX-License-Identifier: GPL-2.0
/*
 * react: reaction hooks, the hooks directory and the events' queue.  See
 * react.h for the contract; the processes are react_run.c's.
 *
 * Scanning hooks_dir at each event costs a readdir and an lstat per file of
 * a local directory, and lets an operator add a hook without a reload.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "react_int.h"

#define HOOK_PATH_ENV "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define EVENT_NAME_MAX 64

struct react_state react_st;

static bool word_ok(const char *s, bool lower, const char *punct)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;

		/* ranges, not isalnum(): the C locale's letters whatever the locale */
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (lower && c >= 'a' && c <= 'z') || strchr(punct, c)))
			return false;
	}
	return true;
}

/* tided's own files may be its user's when it does not run as root */
static bool owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* NULL when out of memory (asprintf leaves its pointer undefined then) */
static char *str_printf(const char *fmt, ...) __tide_printf(1, 2);
static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- the hooks directory --------------------------------------------------- */

/*
 * Why the resolved hooks directory is unsafe, NULL when it is not; *bad
 * names the directory at fault.  It and every directory above it must be
 * ours and not writable by others; above it a sticky directory (/tmp) is
 * fine: nobody else can rename what we own in it.
 */
static const char *dir_unsafe(const char *real, char *bad, size_t bad_bytes)
{
	struct stat st;
	bool top = true;

	snprintf(bad, bad_bytes, "%s", real);
	for (;;) {
		char *slash;

		if (stat(bad, &st) < 0)
			return "cannot be examined";
		if (!owner_ok(st.st_uid))
			return "is not owned by root";
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (top || !(st.st_mode & S_ISVTX)))
			return "is writable by group or others";
		slash = strrchr(bad, '/');
		if (!slash || strcmp(bad, "/") == 0)
			return NULL;
		slash[slash == bad ? 1 : 0] = '\0';
		top = false;
	}
}

static struct react_warned *warned_find(const char *name)
{
	for (size_t i = 0; i < react_st.n_warned; i++)
		if (strcmp(react_st.warned[i].name, name) == 0)
			return &react_st.warned[i];
	return NULL;
}

static void warned_forget(const char *name)
{
	struct react_warned *w = warned_find(name);

	if (!w)
		return;
	free(w->name);
	*w = react_st.warned[--react_st.n_warned];
}

static void warned_clear(void)
{
	for (size_t i = 0; i < react_st.n_warned; i++)
		free(react_st.warned[i].name);
	free(react_st.warned);
	react_st.warned = NULL;
	react_st.n_warned = 0;
}

static struct react_warned *warned_add(const char *name)
{
	struct react_warned *grown = realloc(react_st.warned,
					     (react_st.n_warned + 1) * sizeof(*grown));
	char *copy;

	if (!grown)
		return NULL;
	react_st.warned = grown;
	copy = strdup(name);
	if (!copy)
		return NULL;
	grown[react_st.n_warned].name = copy;
	return &grown[react_st.n_warned++];
}

static void refuse(const char *dir, const char *name, const struct stat *st, const char *why)
{
	struct react_warned *w = warned_find(name);

	if (w && w->ino == st->st_ino && w->mode == st->st_mode && w->uid == st->st_uid)
		return;
	log_warn("hook '%s' in '%s' %s: not run", name, dir, why);
	if (!w)
		w = warned_add(name);
	if (!w)
		return; /* out of memory: warned about again next time */
	w->ino = st->st_ino;
	w->mode = st->st_mode;
	w->uid = st->st_uid;
}

static const char *file_unsafe(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "is a symbolic link (a hook must be a regular file)";
	if (!owner_ok(st->st_uid))
		return "is not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is writable by group or others";
	return NULL;
}

static int path_cmp(const void *a, const void *b)
{
	/* one directory: comparing the paths compares the names, bytewise */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hooks to run now, into e (none when there is no directory); counts
 * the unsafe ones as skipped when count. */
static int scan(struct react_ev *e, bool count)
{
	char real[PATH_MAX], bad[PATH_MAX];
	const char *why_dir;
	struct dirent *de;
	size_t cap = 0;
	DIR *d = NULL;
	int err = 0;

	if (!realpath(react_st.dir, real) || !(d = opendir(real))) {
		err = -errno;
		if (err == -ENOENT) {
			log_debug("no hooks directory '%s': no hook to run", react_st.dir);
			return 0;
		}
		if (!react_st.dir_warned)
			log_warn("cannot open the hooks directory '%s': %s", react_st.dir,
				 strerror(-err));
		react_st.dir_warned = true;
		return err;
	}
	why_dir = dir_unsafe(real, bad, sizeof(bad));
	if (why_dir && !react_st.dir_warned) {
		if (strcmp(bad, real) == 0)
			log_warn("hooks directory '%s' %s: none of its hooks runs", real, why_dir);
		else
			log_warn("hooks directory '%s': '%s' above it %s: none of its hooks runs",
				 real, bad, why_dir);
	}
	react_st.dir_warned = why_dir != NULL;
	while ((de = readdir(d))) {
		const char *why;
		struct stat st;

		if (!word_ok(de->d_name, true, "_-") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		if (S_ISREG(st.st_mode) && !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
			log_debug("hook '%s' in '%s' is not executable: not run", de->d_name, real);
			continue;
		}
		why = file_unsafe(&st);
		if (why)
			refuse(real, de->d_name, &st, why);
		else
			warned_forget(de->d_name);
		if (why || why_dir) {
			react_st.st.skipped += count;
			continue;
		}
		if (e->n_hooks + 1 >= cap) {
			size_t new_cap = cap ? cap * 2 : 8;
			char **grown = realloc(e->hooks, new_cap * sizeof(*grown));

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			e->hooks = grown;
			cap = new_cap;
		}
		e->hooks[e->n_hooks] = str_printf("%s/%s", strcmp(real, "/") ? real : "", de->d_name);
		if (!e->hooks[e->n_hooks]) {
			err = -ENOMEM;
			break;
		}
		e->hooks[++e->n_hooks] = NULL;
	}
	closedir(d);
	if (e->n_hooks)
		qsort(e->hooks, e->n_hooks, sizeof(*e->hooks), path_cmp);
	return err;
}

/* At start and reload: the operator sees what will run, and what will not. */
static void log_hooks(void)
{
	struct react_ev e = { 0 };
	char list[512];
	size_t len = 0;

	if (!react_st.dir) {
		log_info("reaction hooks disabled (hooks_dir is empty)");
		return;
	}
	if (scan(&e, false) == 0 && e.n_hooks) {
		for (size_t i = 0; i < e.n_hooks && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s'%s'",
						i ? ", " : "", strrchr(e.hooks[i], '/') + 1);
		if (len >= sizeof(list))
			memcpy(list + sizeof(list) - 4, "...", 4);
		log_info("reaction hooks in '%s', in order: %s", react_st.dir, list);
	}
	strv_free(e.hooks);
}

/* ---- events ---------------------------------------------------------------- */

static void ev_free(struct react_ev *e)
{
	if (!e)
		return;
	react_run_release(e);
	free(e->name);
	strv_free(e->envp);
	strv_free(e->hooks);
	free(e);
}

/* Start e's next hook that starts; false when e has none left. */
static bool ev_step(struct react_ev *e)
{
	for (; e->next_hook < e->n_hooks; e->next_hook++)
		if (react_run_start(e) == 0)
			return true;
	return false;
}

static void ev_start(struct react_ev *e)
{
	if (!ev_step(e)) {
		ev_free(e);
		return;
	}
	e->next = react_st.active;
	react_st.active = e;
	react_st.n_active++;
}

static void pump(void)
{
	while (react_st.q_head && react_st.n_active < react_st.max_running) {
		struct react_ev *e = react_st.q_head;

		react_st.q_head = e->next;
		if (!react_st.q_head)
			react_st.q_tail = NULL;
		react_st.n_queued--;
		e->next = NULL;
		ev_start(e);
	}
}

void react_run_over(struct react_ev *e)
{
	struct react_ev **pp;

	react_run_release(e);
	e->next_hook++;
	if (ev_step(e))
		return;
	for (pp = &react_st.active; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			react_st.n_active--;
			break;
		}
	}
	ev_free(e);
	pump();
}

static int vars_check(const char *event, const struct react_var *vars, size_t n)
{
	if (!event || strlen(event) > EVENT_NAME_MAX || !word_ok(event, true, "_.-")) {
		log_err("reaction event '%s' refused: its name must be 1 to %d of A-Z a-z 0-9 _ . -",
			event ? event : "(null)", EVENT_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = vars[i].name ? vars[i].name : "(null)";
		bool dup = false;

		for (size_t k = 0; k < i && !dup; k++)
			dup = vars[k].name && strcmp(vars[k].name, name) == 0;
		if (!word_ok(name, false, "_") || strcmp(name, "EVENT") == 0 || !vars[i].value ||
		    dup) {
			log_err("reaction event '%s' refused: variable '%s' is %s", event, name,
				dup ? "given twice" : "not A-Z 0-9 _ (nor EVENT) with a value");
			return -EINVAL;
		}
	}
	return 0;
}

static char **env_build(const char *event, const struct react_var *vars, size_t n)
{
	char **envp = calloc(n + 3, sizeof(*envp));

	if (!envp)
		return NULL;
	envp[0] = strdup(HOOK_PATH_ENV);
	envp[1] = envp[0] ? str_printf("TIDE_EVENT=%s", event) : NULL;
	for (size_t i = 0; i < n && envp[i + 1]; i++)
		envp[i + 2] = str_printf("TIDE_%s=%s", vars[i].name, vars[i].value);
	if (!envp[n + 1]) {
		strv_free(envp); /* the list ends at the first that failed */
		return NULL;
	}
	return envp;
}

int react_event(const char *event, const struct react_var *vars, size_t n_vars)
{
	struct react_ev *e = NULL;
	int err;

	if (!react_st.inited)
		return -ENODEV;
	err = vars_check(event, vars, n_vars);
	if (err || !react_st.dir)
		return err;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	react_run_reset(&e->run);
	e->name = strdup(event);
	err = e->name ? scan(e, true) : -ENOMEM;
	if (err || !e->n_hooks)
		goto cleanup;
	e->envp = env_build(event, vars, n_vars);
	if (!e->envp) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!react_st.q_head && react_st.n_active < react_st.max_running) {
		ev_start(e);
		return 0;
	}
	if (react_st.n_queued >= REACT_QUEUE_MAX) {
		react_st.st.queued_dropped++;
		log_warn("reaction event '%s' dropped: %u events already wait for one of the %u hook slots",
			 event, react_st.n_queued, react_st.max_running);
		err = -ENOBUFS;
		goto cleanup;
	}
	if (react_st.q_tail)
		react_st.q_tail->next = e;
	else
		react_st.q_head = e;
	react_st.q_tail = e;
	react_st.n_queued++;
	return 0;
cleanup:
	ev_free(e);
	return err;
}

/* ---- counters -------------------------------------------------------------- */

void react_stats(struct react_stats *out)
{
	*out = react_st.st;
	out->queued = react_st.n_queued;
}

void react_fill_prom(struct prom *p)
{
	static const char *const result[] = { "ok", "failed", "timed_out", "skipped" };
	const uint64_t n[] = { react_st.st.ok, react_st.st.failed, react_st.st.timed_out,
			       react_st.st.skipped };

	if (!react_st.inited)
		return;
	prom_family(p, "tide_hook_runs_total", "counter",
		    "Reaction hook runs that ended, by result (skipped: refused as unsafe).");
	for (size_t i = 0; i < ARRAY_SIZE(result); i++) {
		struct prom_label l[] = { { "result", result[i] } };

		prom_sample(p, "tide_hook_runs_total", l, 1, (double)n[i]);
	}
	prom_family(p, "tide_hook_events_dropped_total", "counter",
		    "Events whose hooks never ran: too many events were waiting.");
	prom_sample(p, "tide_hook_events_dropped_total", NULL, 0, (double)react_st.st.queued_dropped);
}

/* ---- life ------------------------------------------------------------------ */

static int opts_apply(const struct react_opts *o)
{
	const char *dir = o && o->hooks_dir ? o->hooks_dir : REACT_HOOKS_DIR_DEFAULT;
	char *copy = NULL;

	if (*dir && !(copy = strdup(dir)))
		return -ENOMEM;
	free(react_st.dir);
	react_st.dir = copy;
	react_st.timeout_ms = o && o->timeout_ms ? o->timeout_ms : REACT_TIMEOUT_MS_DEFAULT;
	react_st.max_running = o && o->max_running ? o->max_running : REACT_MAX_RUNNING_DEFAULT;
	/* say again what is refused: the reload may be the operator's fix */
	react_st.dir_warned = false;
	warned_clear();
	return 0;
}

int react_init(const struct react_opts *o)
{
	int err, fd;

	if (react_st.inited)
		return -EALREADY;
	memset(&react_st, 0, sizeof(react_st));
	err = opts_apply(o);
	if (err)
		return err;
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	react_st.pidfd_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	else
		log_info("pidfd_open() refused (%s): reaction hooks are reaped by polling every %d ms",
			 strerror(errno), REACT_SWEEP_MS);
	react_st.inited = true;
	log_hooks();
	return 0;
}

int react_reconfigure(const struct react_opts *o)
{
	int err;

	if (!react_st.inited)
		return -ENODEV;
	err = opts_apply(o);
	if (err)
		return err;
	log_hooks();
	pump();
	return 0;
}

void react_fini(void)
{
	struct react_ev *e;

	if (!react_st.inited)
		return;
	if (react_st.n_queued)
		log_notice("stopping: %u queued reaction event(s) dropped", react_st.n_queued);
	while ((e = react_st.q_head)) {
		react_st.q_head = e->next;
		ev_free(e);
	}
	react_run_stop_all();
	while ((e = react_st.active)) {
		react_st.active = e->next;
		ev_free(e);
	}
	if (react_st.sweep_timer)
		loop_remove_timer(react_st.sweep_timer);
	warned_clear();
	free(react_st.dir);
	memset(&react_st, 0, sizeof(react_st));
}
