// SPDX-License-Identifier: GPL-2.0
/*
 * procfs: readers of /proc files.  See procfs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

#define PROCFS_PATH_BYTES 320
#define PROCFS_LINE_BYTES 512

/*
 * Up to max decimal numbers separated by blanks from s (sscanf would take
 * an overflowing one silently): the count read, or -ERANGE.  *end, when
 * given, points past the last number read.
 */
static int parse_ulls(const char *s, unsigned long long *v, int max, const char **end)
{
	int n = 0;

	while (n < max) {
		char *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s < '0' || *s > '9')
			break;
		errno = 0;
		v[n] = strtoull(s, &e, 10);
		if (errno == ERANGE)
			return -ERANGE;
		s = e;
		n++;
	}
	if (end)
		*end = s;
	return n;
}

/* "NAME: N kB" into bytes; false when line is not NAME's */
static bool meminfo_bytes(const char *line, const char *name, unsigned long long *bytes)
{
	size_t len = strlen(name);
	unsigned long long kib;
	const char *end;

	if (strncmp(line, name, len) != 0 || line[len] != ':' ||
	    parse_ulls(line + len + 1, &kib, 1, &end) != 1 || strncmp(end, " kB", 3) != 0)
		return false;
	*bytes = kib * 1024;
	return true;
}

ssize_t procfs_read_small(const char *path, char *buf, size_t buf_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	int err = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < buf_bytes) {
		ssize_t n = read(fd, buf + got, buf_bytes - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (err)
		return err;
	if (buf_bytes)
		buf[got] = '\0';
	return (ssize_t)got;
}

char *procfs_read_file(const char *path, size_t max, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *p;

			if (cap >= max)
				break;
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = p;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	*len = used;
	return buf;
}

int procfs_schedstat(const char *root, pid_t pid, pid_t tid, struct procfs_schedstat *out)
{
	unsigned long long v[3];
	char path[PROCFS_PATH_BYTES], buf[128];
	ssize_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", root, (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "%s/%d/schedstat", root, (int)tid);
	n = procfs_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (parse_ulls(buf, v, 3, NULL) != 3)
		return -EINVAL;
	out->on_cpu_ns = v[0];
	out->wait_ns = v[1];
	out->switches = v[2]; /* times switched in: one per switch */
	return 0;
}

int procfs_host(const char *root, struct procfs_host *out)
{
	unsigned long long v[10] = { 0 };
	char path[PROCFS_PATH_BYTES], line[PROCFS_LINE_BYTES];
	struct procfs_host h = { 0 };
	bool have_total = false, have_avail = false;
	uint32_t cpus = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stat", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* the cpu lines come first; the rest (intr: long) is not needed */
	while (fgets(line, sizeof(line), f) && strncmp(line, "cpu", 3) == 0) {
		if (line[3] == ' ') {
			have_total = parse_ulls(line + 3, v, 8, NULL) >= 4;
		} else if (line[3] >= '0' && line[3] <= '9') {
			cpus++;
		}
	}
	fclose(f);
	if (!have_total)
		return -EINVAL;
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	h.cpu_busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	h.cpu_total_ticks = h.cpu_busy_ticks + v[3] + v[4];
	h.online_cpus = cpus ? cpus : 1;

	snprintf(path, sizeof(path), "%s/meminfo", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* MemTotal is the first line, MemAvailable the third: stop there */
	while (!have_avail && fgets(line, sizeof(line), f)) {
		unsigned long long bytes;

		if (meminfo_bytes(line, "MemTotal", &bytes)) {
			h.memory_bytes = bytes;
		} else if (meminfo_bytes(line, "MemAvailable", &bytes)) {
			h.memory_available_bytes = bytes;
			have_avail = true;
		}
	}
	fclose(f);
	*out = h;
	return 0;
}
