// SPDX-License-Identifier: GPL-2.0
/*
 * tide-qemu-hook: libvirt's qemu hook for tide, installed as
 * /etc/libvirt/hooks/qemu.d/50-tide (libvirt >= 6.5 runs every executable
 * there, in alphabetical order, after /etc/libvirt/hooks/qemu, which stays
 * the operator's).
 *
 *     50-tide DOMAIN OPERATION SUB-OPERATION EXTRA     (domain XML on stdin)
 *
 * migrate begin   On the destination of an incoming migration, before its
 *                 QEMU starts: ask the local tided ("admit", over the
 *                 control socket, within HOOK_ADMIT_TIMEOUT_MS) to reserve
 *                 the VM's memory and CPU.  Exit 0 admits; exit 1 refuses,
 *                 with tided's sentence on stderr, which libvirt puts into
 *                 the error the source sees; the migration then fails at
 *                 prepare, before any memory is sent, and the VM runs on
 *                 at its source.
 * release end     libvirt has torn a domain down and freed its resources:
 *                 if it held a reservation (an incoming migration that
 *                 failed), tided releases it ("admit release"; failures
 *                 ignored).
 * anything else   exit 0 at once: the hook runs for every operation of
 *                 every domain, and libvirtd waits for it, holding locks.
 *
 * Rules: never write to stdout (for "migrate", libvirt takes whatever the
 * hook prints as a replacement domain XML; stdout is /dev/null from the
 * first instruction); never call libvirt (libvirtd is waiting for us: a
 * deadlock); be quick (short timeouts, one request).
 *
 * When tided cannot answer (stopped, hung, too old to know "admit"), the
 * hook does what admission_when_unreachable in tided.conf says: "admit"
 * (the default: a stopped tided must not stop this host from receiving
 * VMs; but then nothing guards against overcommitment) or "refuse" (no
 * VM arrives without tided's reservation).  It reads only that key and
 * control_socket, from TIDE_DEFAULT_CONFIG, or from the file named by
 * $TIDE_HOOK_CONFIG (for tests: libvirt passes hooks no such variable).
 */
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl_client.h"
#include "qemu_hook_xml.h"
#include "tide.h"

#define HOOK_ADMIT_TIMEOUT_MS 2000
/* a release is a courtesy (the reservation times out anyway): never wait long */
#define HOOK_RELEASE_TIMEOUT_MS 500
#define HOOK_STDIN_MAX_BYTES (16 << 20)
#define HOOK_CONFIG_ENV "TIDE_HOOK_CONFIG"
#define HOOK_ERR_BYTES 1024

struct hook_conf {
	char path[1024];
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool refuse_unreachable;
	char note[HOOK_ERR_BYTES * 2]; /* what went wrong reading the file, "" */
};

static char host[65] = "this host";

/* What the hook needs of tided.conf; a file it cannot read gives the defaults. */
static void read_conf(struct hook_conf *c)
{
	const char *env = getenv(HOOK_CONFIG_ENV), *s;
	char dir[sizeof(c->path)];
	config_t cfg;

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", env && *env ? env : TIDE_DEFAULT_CONFIG);
	snprintf(c->socket, sizeof(c->socket), "%s", TIDE_DEFAULT_CONTROL_SOCKET);
	if (access(c->path, F_OK) && errno == ENOENT)
		return;
	config_init(&cfg);
	snprintf(dir, sizeof(dir), "%s", c->path);
	config_set_include_dir(&cfg, dirname(dir));
	if (config_read_file(&cfg, c->path) != CONFIG_TRUE) {
		snprintf(c->note, sizeof(c->note),
			 "cannot read '%s': line %d: %s; using the defaults", c->path,
			 config_error_line(&cfg),
			 config_error_text(&cfg) ? config_error_text(&cfg) : "unreadable");
		config_destroy(&cfg);
		return;
	}
	if (config_lookup_string(&cfg, "control_socket", &s) == CONFIG_TRUE &&
	    strlen(s) < sizeof(c->socket))
		snprintf(c->socket, sizeof(c->socket), "%s", s);
	if (config_lookup_string(&cfg, "admission_when_unreachable", &s) == CONFIG_TRUE) {
		if (!strcmp(s, "refuse"))
			c->refuse_unreachable = true;
		else if (strcmp(s, "admit") != 0)
			snprintf(c->note, sizeof(c->note),
				 "'%s': admission_when_unreachable is \"%.64s\", neither \"admit\" "
				 "nor \"refuse\"; admitting",
				 c->path, s);
	}
	config_destroy(&cfg);
}

/* All of stdin (at most HOOK_STDIN_MAX_BYTES), NUL-terminated. */
static int read_stdin(char **out, size_t *len_out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *p;

			if (cap >= HOOK_STDIN_MAX_BYTES) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = read(STDIN_FILENO, buf + len, cap - len - 1);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		free(buf);
		return -errno;
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return 0;
}

static int parse_stdin(struct hook_domain *d, char *err, size_t err_bytes)
{
	char *xml = NULL;
	size_t len = 0;
	int ret = read_stdin(&xml, &len);

	if (ret) {
		snprintf(err, err_bytes, "cannot read the domain XML on stdin: %s", strerror(-ret));
		return ret;
	}
	ret = hook_parse_domain(xml, len, d, err, err_bytes);
	free(xml);
	return ret;
}

/* Say it where the operator looks: stderr (into libvirt's error) and syslog. */
static void say(int prio, const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	syslog(prio, "%s", msg);
}

/*
 * tided could not decide (why): what admission_when_unreachable says.
 * Returns the exit status.
 */
static int unreachable(const struct hook_conf *c, const char *name, const char *why)
{
	static const char tidectl_hint[] = " -s chooses another socket";
	char msg[HOOK_ERR_BYTES * 3], text[HOOK_ERR_BYTES], *hint;

	/* ctl_client speaks to tidectl's users: its -s means nothing here */
	snprintf(text, sizeof(text), "%s", why);
	hint = strstr(text, tidectl_hint);
	if (hint)
		memmove(hint, hint + strlen(tidectl_hint), strlen(hint + strlen(tidectl_hint)) + 1);
	why = text;

	snprintf(msg, sizeof(msg),
		 "tide on %s %s VM '%s' unchecked: %s (admission_when_unreachable = \"%s\")", host,
		 c->refuse_unreachable ? "refused" : "admitted", name, why,
		 c->refuse_unreachable ? "refuse" : "admit");
	say(LOG_WARNING, msg);
	return c->refuse_unreachable ? 1 : 0;
}

static int do_admit(const struct hook_conf *c, const char *arg_name)
{
	struct json_object *req = NULL, *reply = NULL, *v;
	struct hook_domain d = { .cpus_expected = -1 };
	char err[HOOK_ERR_BYTES];
	int ret;

	if (parse_stdin(&d, err, sizeof(err))) {
		ret = unreachable(c, arg_name, err);
		goto cleanup;
	}
	req = json_object_new_object();
	if (!req) {
		ret = unreachable(c, d.name, "out of memory");
		goto cleanup;
	}
	json_object_object_add(req, "cmd", json_object_new_string("admit"));
	json_object_object_add(req, "name", json_object_new_string(d.name));
	json_object_object_add(req, "uuid", json_object_new_string(d.uuid));
	json_object_object_add(req, "memory_bytes", json_object_new_int64((int64_t)d.memory_bytes));
	json_object_object_add(req, "vcpus", json_object_new_int64(d.vcpus));
	if (d.cpus_expected >= 0)
		json_object_object_add(req, "cpus_expected", json_object_new_double(d.cpus_expected));
	if (d.source[0])
		json_object_object_add(req, "source", json_object_new_string(d.source));
	ret = ctl_client_call(c->socket, req, HOOK_ADMIT_TIMEOUT_MS, &reply, err, sizeof(err));
	if (ret) {
		ret = unreachable(c, d.name, err);
		goto cleanup;
	}
	if (json_object_object_get_ex(reply, "error", &v)) {
		snprintf(err, sizeof(err), "tided said: %s", json_object_get_string(v));
		ret = unreachable(c, d.name, err);
		goto cleanup;
	}
	if (!json_object_object_get_ex(reply, "admit", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		ret = unreachable(c, d.name, "tided's reply has no 'admit' verdict");
		goto cleanup;
	}
	if (json_object_get_boolean(v)) {
		ret = 0;
		goto cleanup;
	}
	if (json_object_object_get_ex(reply, "reason", &v) && json_object_get_string(v))
		snprintf(err, sizeof(err), "%s", json_object_get_string(v));
	else
		snprintf(err, sizeof(err), "tide on %s refused VM '%s' without a reason", host,
			 d.name);
	say(LOG_NOTICE, err);
	ret = 1;
cleanup:
	json_object_put(req);
	json_object_put(reply);
	hook_domain_clear(&d);
	return ret;
}

/* A domain gone: release its reservation if it had one.  Always 0. */
static int do_release(const struct hook_conf *c, const char *arg_name, const char *extra)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	struct hook_domain d = { .cpus_expected = -1 };
	char err[HOOK_ERR_BYTES], why[128];

	if (!req)
		return 0;
	json_object_object_add(req, "cmd", json_object_new_string("admit release"));
	/* by uuid when the XML says it, else by the name libvirt passed */
	if (!parse_stdin(&d, err, sizeof(err)))
		json_object_object_add(req, "uuid", json_object_new_string(d.uuid));
	json_object_object_add(req, "name", json_object_new_string(d.name ? d.name : arg_name));
	snprintf(why, sizeof(why), "libvirt released the domain (shutoff reason '%.64s')", extra);
	json_object_object_add(req, "why", json_object_new_string(why));
	if (ctl_client_call(c->socket, req, HOOK_RELEASE_TIMEOUT_MS, &reply, err, sizeof(err)) == 0)
		json_object_put(reply);
	json_object_put(req);
	hook_domain_clear(&d);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tide-qemu-hook DOMAIN OPERATION SUB-OPERATION EXTRA < DOMAIN-XML\n"
		"\n"
		"libvirt's qemu hook for tide, installed as /etc/libvirt/hooks/qemu.d/50-tide.\n"
		"On 'migrate begin' it asks the local tided to admit the incoming VM (exit 0)\n"
		"or refuse it (exit 1, the reason on stderr); on 'release end' it releases the\n"
		"VM's reservation; every other operation exits 0 at once.  See\n"
		"tide-qemu-hook(8).\n");
}

int main(int argc, char **argv)
{
	struct hook_conf c;
	int null_fd, ret;

	/* for "migrate", libvirt takes anything on stdout as a new domain XML */
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stderr);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		fprintf(stderr, "tide-qemu-hook %s\n", TIDE_VERSION);
		return 0;
	}
	if (argc < 4)
		return 0; /* not libvirt's call: nothing to refuse */
	if (!(strcmp(argv[2], "migrate") == 0 && strcmp(argv[3], "begin") == 0) &&
	    strcmp(argv[2], "release") != 0)
		return 0;
	if (gethostname(host, sizeof(host) - 1) || !host[0])
		snprintf(host, sizeof(host), "this host");
	openlog("tide-qemu-hook", LOG_PID, LOG_DAEMON);
	read_conf(&c);
	if (c.note[0])
		say(LOG_WARNING, c.note);
	if (!strcmp(argv[2], "release"))
		ret = do_release(&c, argv[1], argc > 4 ? argv[4] : "-");
	else
		ret = do_admit(&c, argv[1]);
	closelog();
	return ret;
}
