// SPDX-License-Identifier: GPL-2.0
/*
 * log: stderr with monotonic timestamps in the foreground, syslog otherwise.
 * See log.h for the contract.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A longer message is cut, never split: one message, one line. */
#define LOG_LINE_BYTES 2048

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "err",   [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LEVEL_ERR] = LOG_ERR,	 [LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_NOTICE] = LOG_NOTICE, [LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

static struct {
	/* atomic: worker threads read it while SIGHUP may change it */
	_Atomic int level;
	enum log_target target;
	const char *ident;
	struct timespec start;
	bool syslog_open;
	log_hook_fn hook;
	void *hook_arg;
} lg = {
	.level = LOG_LEVEL_INFO,
	.target = LOG_TO_STDERR,
	.ident = "tide",
};

int log_init(const char *ident, enum log_target target, enum log_level level)
{
	if (level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		return -EINVAL;
	lg.ident = ident ? ident : "tide";
	lg.target = target;
	atomic_store(&lg.level, level);
	clock_gettime(CLOCK_MONOTONIC, &lg.start);
	if (target == LOG_TO_SYSLOG && !lg.syslog_open) {
		openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		lg.syslog_open = true;
	}
	return 0;
}

void log_fini(void)
{
	if (lg.syslog_open) {
		closelog();
		lg.syslog_open = false;
	}
	lg.target = LOG_TO_STDERR;
}

void log_set_level(enum log_level level)
{
	if (level >= LOG_LEVEL_ERR && level <= LOG_LEVEL_DEBUG)
		atomic_store(&lg.level, level);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&lg.level, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (name && strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	/* "warn" and "error" are what people type; accept them quietly */
	if (name && strcmp(name, "warn") == 0) {
		*level = LOG_LEVEL_WARNING;
		return 0;
	}
	if (name && strcmp(name, "error") == 0) {
		*level = LOG_LEVEL_ERR;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if (level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		return "?";
	return level_names[level];
}

void log_set_hook(log_hook_fn fn, void *arg)
{
	lg.hook = fn;
	lg.hook_arg = arg;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_BYTES];
	int saved_errno = errno; /* callers may log, then test errno */

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);

	if (lg.hook)
		lg.hook(level, msg, lg.hook_arg);

	if (lg.target == LOG_TO_SYSLOG) {
		syslog(syslog_prio[level], "%s", msg);
	} else {
		char line[LOG_LINE_BYTES + 64];
		struct timespec now;
		double since_start_s;
		int len;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (lg.start.tv_sec == 0 && lg.start.tv_nsec == 0)
			lg.start = now; /* first message before log_init() */
		since_start_s = (double)(now.tv_sec - lg.start.tv_sec) +
				(double)(now.tv_nsec - lg.start.tv_nsec) / 1e9;
		len = snprintf(line, sizeof(line), "[%10.6f] %s: %s: %s\n", since_start_s, lg.ident,
			       level_names[level], msg);
		if (len < 0)
			goto out;
		if ((size_t)len >= sizeof(line)) {
			len = sizeof(line) - 1;
			line[len - 1] = '\n';
		}
		write_all(STDERR_FILENO, line, (size_t)len);
	}
out:
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
