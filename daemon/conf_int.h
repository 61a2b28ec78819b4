/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conf_int: what conf's three files share: the key table (conf_keys.c),
 * read by the parser (conf.c) and by the reload (conf_state.c).
 */
#ifndef TIDE_CONF_INT_H
#define TIDE_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* a peer name is a label in tidectl tables and Prometheus: keep it simple */
#define PEER_NAME_MAX_BYTES 63

enum key_type {
	KEY_URI,	 /* non-empty string without blanks */
	KEY_ABS_PATH,	 /* absolute path */
	KEY_SOCKET_PATH, /* absolute path that fits in sun_path */
	KEY_OPT_PATH,	 /* absolute path, or "" for "disabled" */
	KEY_MS,		 /* integer milliseconds in [min, max] */
	KEY_UINT,	 /* integer in [min, max] (uint32_t) */
	KEY_BOOL,	 /* true or false */
	KEY_RATIO,	 /* a number (double) in [min, max] thousandths; def likewise */
	KEY_CHOICE,	 /* one string of choices[], stored as its index (an enum) */
	KEY_LOG_LEVEL,
	KEY_PEERS,
};

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	int64_t min, max;
	/* false: the daemon has already acted on it (socket bound, libvirt
	 * connected), so a reload keeps the old value and warns */
	bool reloadable;
	const char *const *choices; /* KEY_CHOICE: NULL-terminated */
	/* the default: of a string key, else of a number, bool or choice */
	const char *def_str;
	int64_t def;
};

#define FIELD(f) offsetof(struct tide_conf, f)

/* the one place of every default (conf_defaults() applies them) */
extern const struct key conf_keys[];
extern const size_t conf_n_keys;

/* The row of a key, NULL if there is none. */
const struct key *conf_find_key(const char *name);
/* The string member of c that k describes (a string key's). */
char **conf_str_field(struct tide_conf *c, const struct key *k);

#endif /* TIDE_CONF_INT_H */
