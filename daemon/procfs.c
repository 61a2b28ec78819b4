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
	unsigned long long on_cpu, wait, slices;
	char path[PROCFS_PATH_BYTES], buf[128];
	ssize_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", root, (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "%s/%d/schedstat", root, (int)tid);
	n = procfs_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (sscanf(buf, "%llu %llu %llu", &on_cpu, &wait, &slices) != 3)
		return -EINVAL;
	out->on_cpu_ns = on_cpu;
	out->wait_ns = wait;
	out->switches = slices;		/* times switched in: one per switch */
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
			have_total = sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu %llu",
					    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
					    &v[7]) >= 4;
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
		unsigned long long kib;

		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			h.memory_bytes = kib * 1024;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			h.memory_available_bytes = kib * 1024;
			have_avail = true;
		}
	}
	fclose(f);
	*out = h;
	return 0;
}
