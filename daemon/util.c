// SPDX-License-Identifier: GPL-2.0
/*
 * util: small file-system helpers.  See util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int util_mkdir_p(const char *path, mode_t mode, char *failed, size_t failed_bytes)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	/* strip trailing slashes, then make each prefix in turn */
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (char *p = buf + 1;; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			goto cleanup;
		/* EEXIST may be a file in the way */
		if (stat(buf, &st) < 0)
			goto cleanup;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto cleanup;
		}
		if (end)
			break;
		*p = '/';
	}
	return 0;
cleanup:
	if (failed)
		snprintf(failed, failed_bytes, "%s", buf);
	return -errno;
}

int util_dirname(const char *path, char *buf, size_t buf_bytes)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (!slash) {
		len = 1;
		path = ".";
	} else {
		len = slash == path ? 1 : (size_t)(slash - path);
	}
	if (len >= buf_bytes)
		return -ENAMETOOLONG;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return 0;
}

static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	pid_t pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return util_parse_pid(buf, &pid) ? 0 : pid;
}

int util_pidfile_acquire(struct util_pidfile *pf, const char *path, pid_t *holder)
{
	char line[32];
	int fd, len, err;

	pf->fd = -1;
	pf->path = NULL;
	*holder = 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EEXIST : -errno;
		*holder = read_pid(fd);
		close(fd);
		return err;
	}
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len) {
		err = -errno;
		close(fd);
		return err;
	}
	pf->path = strdup(path);
	if (!pf->path) {
		close(fd);
		return -ENOMEM;
	}
	pf->fd = fd;
	return 0;
}

void util_pidfile_release(struct util_pidfile *pf)
{
	if (pf->fd < 0)
		return;
	/* unlink while still holding the lock: a successor that opened the
	 * old file just before would otherwise think it holds the pid file */
	unlink(pf->path);
	close(pf->fd);
	free(pf->path);
	pf->fd = -1;
	pf->path = NULL;
}

int util_sd_notify(const char *state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t addr_len;
	size_t len;
	int fd, err = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path))
		return -EINVAL;
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace */
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) < 0)
		err = -errno;
	close(fd);
	return err;
}

uint64_t util_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t util_monotonic_ns(void)
{
	return util_clock_ns(CLOCK_MONOTONIC);
}

uint64_t util_monotonic_ms(void)
{
	return util_monotonic_ns() / 1000000u;
}

int util_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_pid(const char *text, pid_t *out)
{
	char buf[24];
	size_t len = strlen(text);
	long v;

	/* one trailing newline, as pid files end */
	if (len && text[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (util_parse_long(buf, 1, INT32_MAX, &v))
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int util_write_file_atomic(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, dfd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.new", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* the rename itself must survive a crash */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
