// SPDX-License-Identifier: GPL-2.0
/*
 * conf_state: the configuration in use, its file, and SIGHUP's reload:
 * the new file is read whole and checked before anything changes; keys
 * that cannot change without a restart keep their running value.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"

#define MAX_SUBSCRIBERS 16

static struct {
	struct tide_conf *cur;
	char *file;
	bool must_exist;
	struct {
		conf_reload_cb cb;
		void *arg;
	} subs[MAX_SUBSCRIBERS];
	size_t n_subs;
} cs;

/* ---- the configuration in use ------------------------------------------ */

int conf_init(const char *path)
{
	char err[CONF_ERR_BYTES];
	struct tide_conf *c = NULL;
	int ret;

	cs.must_exist = path != NULL;
	path = path ? path : TIDE_DEFAULT_CONFIG;
	/* absolute: a daemon works from "/", and SIGHUP re-reads this path */
	if (path[0] == '/') {
		cs.file = strdup(path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd))) {
			log_err("cannot resolve '%s': cannot get the working directory: %s", path,
				strerror(errno));
			return -errno;
		}
		if (asprintf(&cs.file, "%s/%s", cwd, path) < 0)
			cs.file = NULL;
	}
	if (!cs.file)
		return -ENOMEM;
	ret = conf_load(cs.file, cs.must_exist, &c, err, sizeof(err));
	if (!ret && !c)
		ret = -EIO; /* cannot happen: conf_load sets *out when it returns 0 */
	if (ret) {
		log_err("%s", err);
		free(cs.file);
		cs.file = NULL;
		return ret;
	}
	if (!c->path)
		log_notice("no configuration file '%s'; using the defaults", cs.file);
	else
		log_info("configuration read from '%s'", c->path);
	cs.cur = c;
	return 0;
}

void conf_fini(void)
{
	conf_free(cs.cur);
	free(cs.file);
	memset(&cs, 0, sizeof(cs));
}

const struct tide_conf *conf_get(void)
{
	return cs.cur;
}

const char *conf_file(void)
{
	return cs.file ? cs.file : TIDE_DEFAULT_CONFIG;
}

int conf_subscribe(conf_reload_cb cb, void *arg)
{
	if (!cb)
		return -EINVAL;
	if (cs.n_subs >= MAX_SUBSCRIBERS)
		return -ENOSPC;
	cs.subs[cs.n_subs].cb = cb;
	cs.subs[cs.n_subs].arg = arg;
	cs.n_subs++;
	return 0;
}

/* A key that needs a restart: next gets cur's value back, with a warning. */
static void keep_running_value(const struct key *k, struct tide_conf *cur, struct tide_conf *next)
{
	void *was = (char *)cur + k->offset, *now = (char *)next + k->offset;
	char shown[64];

	switch (k->type) {
	case KEY_MS:
	case KEY_UINT:
		if (*(uint32_t *)was == *(uint32_t *)now)
			return;
		snprintf(shown, sizeof(shown), "%u", *(uint32_t *)was);
		*(uint32_t *)now = *(uint32_t *)was;
		break;
	case KEY_BOOL:
		if (*(bool *)was == *(bool *)now)
			return;
		snprintf(shown, sizeof(shown), "%s", *(bool *)was ? "true" : "false");
		*(bool *)now = *(bool *)was;
		break;
	case KEY_CHOICE:
		if (*(int *)was == *(int *)now)
			return;
		snprintf(shown, sizeof(shown), "\"%s\"", k->choices[*(int *)was]);
		*(int *)now = *(int *)was;
		break;
	case KEY_RATIO:
		if (*(double *)was == *(double *)now)
			return;
		snprintf(shown, sizeof(shown), "%g", *(double *)was);
		*(double *)now = *(double *)was;
		break;
	case KEY_LOG_LEVEL:
	case KEY_PEERS:
		return; /* always reloadable */
	default: {
		char **ws = conf_str_field(cur, k), **ns = conf_str_field(next, k), *swap;

		if (strcmp(*ws, *ns) == 0)
			return;
		log_warn("%s: changing '%s' needs a restart of tided; keeping \"%s\"", cs.file,
			 k->name, *ws);
		swap = *ws;
		*ws = *ns;
		*ns = swap;
		return;
	}
	}
	log_warn("%s: changing '%s' needs a restart of tided; keeping %s", cs.file, k->name, shown);
}

int conf_reload(void)
{
	char err[CONF_ERR_BYTES];
	struct tide_conf *next = NULL, *old;
	int ret;

	if (!cs.cur)
		return -ENODEV;
	ret = conf_load(cs.file, cs.must_exist, &next, err, sizeof(err));
	if (!ret && !next)
		ret = -EIO; /* cannot happen: conf_load sets *out when it returns 0 */
	if (ret) {
		log_err("cannot reload the configuration: %s; keeping the previous one", err);
		return ret;
	}
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct key *k = &conf_keys[i];

		if (!k->reloadable)
			keep_running_value(k, cs.cur, next);
	}
	old = cs.cur;
	cs.cur = next;
	conf_free(old);
	if (cs.cur->path)
		log_notice("configuration reloaded from '%s'", cs.cur->path);
	else
		log_notice("configuration file '%s' is gone; using the defaults", cs.file);
	for (size_t i = 0; i < cs.n_subs; i++)
		cs.subs[i].cb(cs.cur, cs.subs[i].arg);
	return 0;
}
