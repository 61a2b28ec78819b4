/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log: the one place tide writes diagnostics.
 *
 * Foreground: stderr, one line per message, prefixed with seconds since
 * log_init() on CLOCK_MONOTONIC (a clock step must not reorder the log) and
 * the level.  Background: syslog(3), facility daemon.
 *
 * Safe to call before log_init() (goes to stderr at level info) and from any
 * thread: each message is formatted into one buffer and written with a
 * single write(2), so lines of different threads never interleave.
 */
#ifndef TIDE_LOG_H
#define TIDE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "tide.h"

/* Same order as syslog's priorities; names avoid <syslog.h>'s LOG_*. */
enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

/* ident: program name for syslog and the stderr prefix. */
int log_init(const char *ident, enum log_target target, enum log_level level);
void log_fini(void);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "err", "warning", "notice", "info", "debug"; -EINVAL for anything else. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

static inline bool log_enabled(enum log_level level)
{
	return level <= log_get_level();
}

void log_msg(enum log_level level, const char *fmt, ...) __tide_printf(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) __tide_printf(2, 0);

/*
 * Test hook: when set, every message at or above the current level goes to
 * fn as well (before the usual target).  NULL removes it.
 */
typedef void (*log_hook_fn)(enum log_level level, const char *msg, void *arg);
void log_set_hook(log_hook_fn fn, void *arg);

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
/* the level test comes first so a debug call costs nothing when off */
#define log_debug(...)                                         \
	do {                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))              \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif /* TIDE_LOG_H */
