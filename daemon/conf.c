// SPDX-License-Identifier: GPL-2.0
/*
 * conf: the configuration file's parser.  See conf.h for the contract.
 *
 * The file is parsed by libconfig into a tree, then every top-level setting
 * is looked up in the table of known keys (conf_keys.c) and checked (type,
 * range, form) into a fresh struct tide_conf that starts from the
 * defaults.  Nothing is applied until the whole file has passed; the
 * configuration in use and its reload are conf_state.c's.
 */
#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf_int.h"

/* how much of a bad value an error message quotes */
#define QUOTE_MAX_BYTES 48

struct ctx {
	const char *name; /* file name for messages */
	char *err;
	size_t err_bytes;
};

static int fail_at(const struct ctx *x, const config_setting_t *s, const char *fmt, ...)
	__tide_printf(3, 4);

static int fail_at(const struct ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	size_t used;
	va_list ap;
	int n;

	n = snprintf(x->err, x->err_bytes, "%s:%u: ", file ? file : x->name,
		     s ? config_setting_source_line(s) : 0);
	used = n > 0 && (size_t)n < x->err_bytes ? (size_t)n : 0;
	va_start(ap, fmt);
	vsnprintf(x->err + used, x->err_bytes - used, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The value as the user wrote it, for "got ..." in messages. */
static void describe(const config_setting_t *s, char *buf, size_t n)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, n, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, n, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, n, "%s", config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING: {
		const char *v = config_setting_get_string(s);
		size_t len = strlen(v);
		size_t o = 0;

		/* quoted, cut, and with control characters made visible */
		buf[o++] = '"';
		for (size_t i = 0; i < len && i < QUOTE_MAX_BYTES && o + 6 < n; i++) {
			unsigned char ch = (unsigned char)v[i];

			if (ch < 0x20 || ch == 0x7f)
				o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
			else
				buf[o++] = (char)ch;
		}
		if (len > QUOTE_MAX_BYTES && o + 5 < n) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
		buf[o++] = '"';
		buf[o] = '\0';
		break;
	}
	case CONFIG_TYPE_GROUP:
		snprintf(buf, n, "a group { ... }");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(buf, n, "an array [ ... ]");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(buf, n, "a list ( ... )");
		break;
	default:
		snprintf(buf, n, "nothing");
	}
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (lb >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *suggest_key(const char *name)
{
	const char *best = NULL;
	size_t best_d = 3; /* only close misspellings */

	for (size_t i = 0; i < conf_n_keys; i++) {
		size_t d = edit_distance(name, conf_keys[i].name);

		if (d < best_d) {
			best_d = d;
			best = conf_keys[i].name;
		}
	}
	return best;
}

static bool has_control_or_blank(const char *s, bool blanks_too)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || (blanks_too && ch == ' '))
			return true;
	}
	return false;
}

/* ---- checkers ---------------------------------------------------------- */

static int get_string(const struct ctx *x, const config_setting_t *s, const char *what,
		      const char **out)
{
	char got[QUOTE_MAX_BYTES + 16];

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		describe(s, got, sizeof(got));
		/* -EINVAL spelt out: the analyzer does not follow a variadic call */
		fail_at(x, s, "'%s' must be %s, got %s", config_setting_name(s), what, got);
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

static int check_string_key(const struct ctx *x, const struct key *k, const config_setting_t *s,
			    struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];
	const char *what, *v = NULL;
	char **field = conf_str_field(c, k);
	bool disabled;
	char *copy;
	int err;

	switch (k->type) {
	case KEY_URI:
		what = "a non-empty string (a libvirt URI)";
		break;
	case KEY_SOCKET_PATH:
		what = "an absolute path shorter than 108 bytes (a unix socket)";
		break;
	case KEY_OPT_PATH:
		what = "an absolute path, or \"\" to disable";
		break;
	default:
		what = "an absolute path";
	}
	err = get_string(x, s, what, &v);
	if (err)
		return err;
	describe(s, got, sizeof(got));
	disabled = k->type == KEY_OPT_PATH && *v == '\0';
	if (!disabled && (*v == '\0' || has_control_or_blank(v, k->type == KEY_URI)))
		return fail_at(x, s, "'%s' must be %s, got %s", k->name, what, got);
	if (!disabled && k->type != KEY_URI) {
		/* tided runs from "/": a relative path would be a surprise */
		if (v[0] != '/' || strlen(v) >= PATH_MAX)
			return fail_at(x, s, "'%s' must be %s, got %s", k->name, what, got);
		if (k->type == KEY_SOCKET_PATH &&
		    strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return fail_at(x, s, "'%s' must be %s, got %s (%zu bytes)", k->name, what,
				       got, strlen(v));
	}
	copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int check_ms(const struct ctx *x, const struct key *k, const config_setting_t *s,
		    struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];
	int type = config_setting_type(s);
	long long v;

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
		if (v >= k->min && v <= k->max) {
			*(uint32_t *)((char *)c + k->offset) = (uint32_t)v;
			return 0;
		}
	}
	describe(s, got, sizeof(got));
	return fail_at(x, s, "'%s' must be an integer between %lld and %lld, got %s", k->name,
		       (long long)k->min, (long long)k->max, got);
}

/* A number (0.8, or 1 for 1.0) within the key's bounds, in thousandths. */
static int check_ratio(const struct ctx *x, const struct key *k, const config_setting_t *s,
		       struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];
	int type = config_setting_type(s);
	double v = -1;

	if (type == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	if (v >= (double)k->min / 1000.0 && v <= (double)k->max / 1000.0) {
		*(double *)(void *)((char *)c + k->offset) = v;
		return 0;
	}
	describe(s, got, sizeof(got));
	return fail_at(x, s, "'%s' must be a number between %g and %g, got %s", k->name,
		       (double)k->min / 1000.0, (double)k->max / 1000.0, got);
}

static int check_uint(const struct ctx *x, const struct key *k, const config_setting_t *s,
		      struct tide_conf *c)
{
	/* same rule and message as milliseconds */
	return check_ms(x, k, s, c);
}

static int check_bool(const struct ctx *x, const struct key *k, const config_setting_t *s,
		      struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];

	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		*(bool *)((char *)c + k->offset) = config_setting_get_bool(s);
		return 0;
	}
	describe(s, got, sizeof(got));
	return fail_at(x, s, "'%s' must be true or false, got %s", k->name, got);
}

static int check_choice(const struct ctx *x, const struct key *k, const config_setting_t *s,
			struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16], what[256];
	const char *v = NULL;
	size_t used = 0;
	int err;

	used += (size_t)snprintf(what, sizeof(what), "one of ");
	for (int i = 0; k->choices[i] && used < sizeof(what); i++)
		used += (size_t)snprintf(what + used, sizeof(what) - used, "%s\"%s\"",
					 i ? ", " : "", k->choices[i]);
	err = get_string(x, s, what, &v);
	if (err)
		return err;
	for (int i = 0; k->choices[i]; i++) {
		if (strcmp(v, k->choices[i]) == 0) {
			*(int *)((char *)c + k->offset) = i;
			return 0;
		}
	}
	describe(s, got, sizeof(got));
	return fail_at(x, s, "'%s' must be %s, got %s", k->name, what, got);
}

static int check_log_level(const struct ctx *x, const struct key *k, const config_setting_t *s,
			   struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];
	static const char what[] = "one of \"err\", \"warning\", \"notice\", \"info\", \"debug\"";
	const char *v = NULL;
	int err;

	err = get_string(x, s, what, &v);
	if (err)
		return err;
	if (log_level_parse(v, &c->log_level) == 0)
		return 0;
	describe(s, got, sizeof(got));
	return fail_at(x, s, "'%s' must be %s, got %s", k->name, what, got);
}

static bool peer_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PEER_NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* A peer's capacity, when its node figures would be wrong (a testbed's
 * hosts share one machine): cpus 1..65536, memory_mib 1..2^31. */
static int peer_capacity(const struct ctx *x, const config_setting_t *f, struct conf_peer *peer,
			 const char *name)
{
	char got[QUOTE_MAX_BYTES + 16];
	int type = config_setting_type(f);
	bool cpus = strcmp(name, "cpus") == 0;
	long long max = cpus ? 65536 : 1LL << 31, v = 0;

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(f);
	if (v < 1 || v > max) {
		describe(f, got, sizeof(got));
		return fail_at(x, f, "peer '%s' must be an integer between 1 and %lld, got %s",
			       name, max, got);
	}
	if (cpus)
		peer->cpus = (uint32_t)v;
	else
		peer->memory_bytes = (uint64_t)v << 20;
	return 0;
}

static int check_peers(const struct ctx *x, const struct key *k, const config_setting_t *s,
		       struct tide_conf *c)
{
	char got[QUOTE_MAX_BYTES + 16];
	int type = config_setting_type(s);
	int n;

	if (type != CONFIG_TYPE_LIST &&
	    !(type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
		describe(s, got, sizeof(got));
		return fail_at(x, s,
			       "'peers' must be a list of groups, "
			       "( { name = \"h2\"; uri = \"qemu+tcp://10.0.0.2/system\"; } ), got %s",
			       got);
	}
	n = config_setting_length(s);
	if (n == 0)
		return 0;
	c->peers = calloc((size_t)n, sizeof(*c->peers));
	if (!c->peers)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *p = config_setting_get_elem(s, (unsigned int)i);
		struct conf_peer *peer = &c->peers[c->n_peers];

		if (config_setting_type(p) != CONFIG_TYPE_GROUP) {
			describe(p, got, sizeof(got));
			return fail_at(x, p,
				       "peer %d must be a group { name = ...; uri = ...; }, got %s",
				       i + 1, got);
		}
		c->n_peers++;
		for (int j = 0; j < config_setting_length(p); j++) {
			const config_setting_t *f = config_setting_get_elem(p, (unsigned int)j);
			const char *name = config_setting_name(f), *v = NULL;
			char **dst;
			int err;

			if (strcmp(name, "cpus") == 0 || strcmp(name, "memory_mib") == 0) {
				err = peer_capacity(x, f, peer, name);
				if (err)
					return err;
				continue;
			}
			if (strcmp(name, "name") == 0) {
				dst = &peer->name;
			} else if (strcmp(name, "uri") == 0) {
				dst = &peer->uri;
			} else {
				return fail_at(x, f,
					       "unknown setting '%s' in peer %d "
					       "(a peer has 'name', 'uri', and optionally 'cpus' and "
					       "'memory_mib')",
					       name, i + 1);
			}
			err = get_string(x, f, "a non-empty string", &v);
			if (err)
				return err;
			describe(f, got, sizeof(got));
			if (dst == &peer->name && !peer_name_ok(v))
				return fail_at(x, f,
					       "peer name must be 1 to %d letters, digits, "
					       "'-', '_' or '.', got %s",
					       PEER_NAME_MAX_BYTES, got);
			if (dst == &peer->uri && (*v == '\0' || has_control_or_blank(v, true)))
				return fail_at(x, f, "peer uri must be a libvirt URI, got %s", got);
			*dst = strdup(v);
			if (!*dst)
				return -ENOMEM;
		}
		if (!peer->name || !peer->uri)
			return fail_at(x, p, "peer %d needs both 'name' and 'uri'", i + 1);
		for (size_t j = 0; j + 1 < c->n_peers; j++)
			if (strcmp(c->peers[j].name, peer->name) == 0)
				return fail_at(x, p, "peer name '%s' is used twice", peer->name);
	}
	return 0;
}

static int parse_tree(const struct ctx *x, config_t *cfg, struct tide_conf *c)
{
	const config_setting_t *root = config_root_setting(cfg);

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned int)i);
		const char *name = config_setting_name(s);
		const struct key *k = conf_find_key(name);
		int err;

		if (!k) {
			const char *hint = suggest_key(name);

			if (hint)
				return fail_at(x, s, "unknown setting '%s'; did you mean '%s'?",
					       name, hint);
			return fail_at(x, s, "unknown setting '%s'", name);
		}
		switch (k->type) {
		case KEY_MS:
			err = check_ms(x, k, s, c);
			break;
		case KEY_UINT:
			err = check_uint(x, k, s, c);
			break;
		case KEY_BOOL:
			err = check_bool(x, k, s, c);
			break;
		case KEY_RATIO:
			err = check_ratio(x, k, s, c);
			break;
		case KEY_CHOICE:
			err = check_choice(x, k, s, c);
			break;
		case KEY_LOG_LEVEL:
			err = check_log_level(x, k, s, c);
			break;
		case KEY_PEERS:
			err = check_peers(x, k, s, c);
			break;
		default:
			err = check_string_key(x, k, s, c);
		}
		if (err == -ENOMEM)
			snprintf(x->err, x->err_bytes, "%s: out of memory", x->name);
		if (err)
			return err;
	}
	return 0;
}

/* Parse what cfg holds (already read) into *out. */
static int finish(const struct ctx *x, config_t *cfg, bool ok, const char *path,
		  struct tide_conf **out)
{
	struct tide_conf *c = NULL;
	int err;

	if (!ok) {
		const char *file = config_error_file(cfg);

		snprintf(x->err, x->err_bytes, "%s:%d: %s", file ? file : x->name,
			 config_error_line(cfg), config_error_text(cfg));
		return -EINVAL;
	}
	err = conf_defaults(&c);
	if (err) {
		snprintf(x->err, x->err_bytes, "%s: out of memory", x->name);
		return err;
	}
	err = parse_tree(x, cfg, c);
	if (err)
		goto cleanup;
	if (path) {
		c->path = strdup(path);
		if (!c->path) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	*out = c;
	c = NULL;
cleanup:
	conf_free(c);
	return err;
}

int conf_load(const char *path, bool must_exist, struct tide_conf **out, char *err, size_t err_bytes)
{
	struct ctx x = { .name = path, .err = err, .err_bytes = err_bytes };
	char *dir_copy = NULL;
	struct stat st;
	config_t cfg;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		/* never 0: the caller takes 0 for a configuration in *out */
		int e = errno;

		ret = e > 0 && e < 4096 ? -e : -EIO;
		if (ret == -ENOENT && !must_exist) {
			ret = conf_defaults(out);
			if (ret)
				snprintf(err, err_bytes, "%s: out of memory", path);
			return ret;
		}
		snprintf(err, err_bytes, "cannot open '%s': %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, err_bytes, "cannot read '%s': not a regular file", path);
		fclose(f);
		return -EINVAL;
	}
	config_init(&cfg);
	/* @include "x" is relative to the including file's directory */
	dir_copy = strdup(path);
	if (dir_copy)
		config_set_include_dir(&cfg, dirname(dir_copy));
	ret = finish(&x, &cfg, config_read(&cfg, f) == CONFIG_TRUE, path, out);
	config_destroy(&cfg);
	free(dir_copy);
	fclose(f);
	return ret;
}

int conf_parse_string(const char *text, const char *name, struct tide_conf **out, char *err,
		      size_t err_bytes)
{
	struct ctx x = { .name = name, .err = err, .err_bytes = err_bytes };
	config_t cfg;
	int ret;

	config_init(&cfg);
	ret = finish(&x, &cfg, config_read_string(&cfg, text) == CONFIG_TRUE, NULL, out);
	config_destroy(&cfg);
	return ret;
}
