// SPDX-License-Identifier: GPL-2.0
/*
 * inv: what the inventory reads without libvirt's help: the live domain
 * XML (libxml2), the QEMU process and its vCPU threads (/proc).  See inv.h.
 *
 * Pure functions of their arguments and the files they read, so inv's
 * jobs call them on a worker thread.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xmlu.h"

#include "inv.h"
#include "procfs.h"
#include "util.h"

#define INV_CMDLINE_MAX_BYTES (256 * 1024)

/* ---- XML ---------------------------------------------------------------- */

static int xml_fail(char *err, size_t n, const char *fmt, ...) __tide_printf(3, 4);

static int xml_fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_memory(const xmlNode *n, const char *what, uint64_t *out, char *err, size_t len)
{
	char text[32], unit[16];
	uint64_t v, scale;

	if (!xmlu_text(n, text, sizeof(text)) || xmlu_parse_u64(text, &v))
		return xml_fail(err, len, "<%s> is not a number of bytes", what);
	if (!xmlu_attr(n, "unit", unit, sizeof(unit)) || xmlu_unit_scale(unit, &scale))
		return xml_fail(err, len, "<%s> has unit '%s', which libvirt does not have", what,
				unit);
	if (v > UINT64_MAX / scale)
		return xml_fail(err, len, "<%s> is too large", what);
	*out = v * scale;
	return 0;
}

static bool uuid_ok(const char *u)
{
	static const int dashes[] = { 8, 13, 18, 23 };

	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == dashes[0] || i == dashes[1] || i == dashes[2] || i == dashes[3];

		if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
			return false;
	}
	return true;
}

static int parse_interfaces(const xmlNode *devices, struct vm_desc *d, char *err, size_t len)
{
	uint32_t n = 0;

	for (const xmlNode *i = devices->children; i; i = i->next)
		n += xmlu_is_elem(i, "interface");
	if (!n)
		return 0;
	d->taps = calloc(n, sizeof(*d->taps));
	if (!d->taps)
		return -ENOMEM;
	for (const xmlNode *i = devices->children; i; i = i->next) {
		const xmlNode *target, *mac;
		struct vm_tap *t = &d->taps[d->n_taps];

		if (!xmlu_is_elem(i, "interface"))
			continue;
		target = xmlu_child(i, "target");
		/* hostdev, vhost-user, ...: no host-side device to count on */
		if (!target || !xmlu_attr(target, "dev", t->ifname, sizeof(t->ifname)))
			continue;
		if (!t->ifname[0])
			continue;
		mac = xmlu_child(i, "mac");
		if (mac && !xmlu_attr(mac, "address", t->mac, sizeof(t->mac)))
			t->mac[0] = '\0';
		d->n_taps++;
	}
	return 0;
}

/* An integer attribute within [min, max]; absent leaves *out alone. */
static bool policy_int(const xmlNode *n, const char *name, long long min, long long max,
		       long long *out, struct vm_policy *p)
{
	char buf[32], *end;
	long long v;

	if (!xmlu_attr(n, name, buf, sizeof(buf))) {
		snprintf(p->error, sizeof(p->error), "%s is too long", name);
		return false;
	}
	if (!buf[0])
		return true;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end || v < min || v > max) {
		snprintf(p->error, sizeof(p->error),
			 "%s='%.32s' is not an integer from %lld to %lld", name, buf, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* <metadata><tide:policy .../></metadata>: a bad one is ignored, with why. */
static void parse_policy(const xmlNode *root, struct vm_policy *p)
{
	const xmlNode *md = xmlu_child(root, "metadata");
	long long max_dt = 0, prio = 0;
	char pinned[16];

	memset(p, 0, sizeof(*p));
	if (!md)
		return;
	for (const xmlNode *n = md->children; n; n = n->next) {
		if (!xmlu_is_elem(n, "policy") || !n->ns || !n->ns->href ||
		    strcmp((const char *)n->ns->href, VM_POLICY_NS) != 0)
			continue;
		if (!xmlu_attr(n, "pinned", pinned, sizeof(pinned)))
			pinned[0] = '?';
		if (pinned[0] && strcmp(pinned, "yes") != 0 && strcmp(pinned, "no") != 0) {
			snprintf(p->error, sizeof(p->error),
				 "pinned='%.15s' is neither 'yes' nor 'no'", pinned);
			goto bad;
		}
		if (!policy_int(n, "max_downtime_ms", 1, 60000, &max_dt, p) ||
		    !policy_int(n, "priority", -1000000, 1000000, &prio, p))
			goto bad;
		p->pinned = !strcmp(pinned, "yes");
		p->max_downtime_ms = (uint32_t)max_dt;
		p->priority = (int32_t)prio;
		return;
	}
	return;
bad : {
	char why[sizeof(p->error)];

	snprintf(why, sizeof(why), "%s", p->error);
	memset(p, 0, sizeof(*p));
	snprintf(p->error, sizeof(p->error), "%s", why);
}
}

int inv_parse_domain_xml(const char *xml, struct vm_desc *d, char *err, size_t len)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root, *n;
	struct vm_desc out = { 0 };
	char vcpu_text[16], current[16];
	uint64_t v;
	xmlChar *name;
	int ret;

	if (!xml)
		return xml_fail(err, len, "no XML");
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	/* no network, no entities expanded, no messages on stderr */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)strnlen(xml, INT_MAX), "domain.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "not well-formed";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		ret = xml_fail(err, len, "domain XML is not XML: line %d: %s", e ? e->line : 0, msg);
		goto cleanup;
	}
	/* libvirt never writes a DTD; entities could expand without bound */
	if (doc->intSubset || doc->extSubset) {
		ret = xml_fail(err, len, "domain XML has a DTD, which libvirt never writes");
		goto cleanup;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !xmlu_is_elem(root, "domain")) {
		ret = xml_fail(err, len, "domain XML has root <%s>, not <domain>",
			       root ? (const char *)root->name : "");
		goto cleanup;
	}

	n = xmlu_child(root, "uuid");
	if (!n || !xmlu_text(n, out.uuid, sizeof(out.uuid)) || !uuid_ok(out.uuid)) {
		ret = xml_fail(err, len, "domain XML has no valid <uuid>");
		goto cleanup;
	}
	for (char *p = out.uuid; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = xmlu_child(root, "name");
	name = n ? xmlNodeGetContent(n) : NULL;
	if (!name || !*name) {
		xmlFree(name);
		ret = xml_fail(err, len, "domain XML has no <name>");
		goto cleanup;
	}
	out.name = strdup((const char *)name);
	xmlFree(name);
	if (!out.name) {
		ret = -ENOMEM;
		goto cleanup;
	}

	n = xmlu_child(root, "memory");
	if (n && (ret = parse_memory(n, "memory", &out.memory_bytes, err, len)))
		goto cleanup;
	n = xmlu_child(root, "currentMemory");
	if (n && (ret = parse_memory(n, "currentMemory", &out.current_memory_bytes, err, len)))
		goto cleanup;
	if (!out.current_memory_bytes)
		out.current_memory_bytes = out.memory_bytes;

	n = xmlu_child(root, "vcpu");
	out.vcpus = out.vcpus_max = 1;
	if (n) {
		if (!xmlu_text(n, vcpu_text, sizeof(vcpu_text)) || xmlu_parse_u64(vcpu_text, &v) ||
		    v == 0 || v > 16384) {
			ret = xml_fail(err, len, "<vcpu> is not a number of vCPUs");
			goto cleanup;
		}
		out.vcpus = out.vcpus_max = (uint32_t)v;
		if (!xmlu_attr(n, "current", current, sizeof(current)))
			current[0] = 'x';
		if (current[0]) {
			if (xmlu_parse_u64(current, &v) || v == 0 || v > out.vcpus_max) {
				ret = xml_fail(err, len,
					       "<vcpu current='%s'> is not a number of "
					       "vCPUs up to %u",
					       current, out.vcpus_max);
				goto cleanup;
			}
			out.vcpus = (uint32_t)v;
		}
	}

	n = xmlu_child(root, "devices");
	if (n && (ret = parse_interfaces(n, &out, err, len)))
		goto cleanup;
	parse_policy(root, &out.policy);

	/* pid and threads are not in the XML: keep the caller's */
	vm_desc_clear(d);
	out.pid = d->pid;
	*d = out;
	memset(&out, 0, sizeof(out));
	ret = 0;
cleanup:
	if (ret == -ENOMEM)
		snprintf(err, len, "out of memory");
	vm_desc_clear(&out);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ret;
}

/* ---- /proc -------------------------------------------------------------- */

/*
 * The uuid after "-uuid" in the NUL-separated cmdline of pid: 1 and uuid
 * copied, 0 if the cmdline has no -uuid, -errno if unreadable.
 */
static int cmdline_uuid(const char *proc_root, pid_t pid, char uuid[VM_UUID_BYTES])
{
	char path[PATH_MAX];
	size_t len = 0;
	char *buf;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, (int)pid);
	buf = procfs_read_file(path, INV_CMDLINE_MAX_BYTES, &len);
	if (!buf)
		return -errno ? -errno : -EIO;
	for (size_t i = 0; i < len && !found; i += strlen(buf + i) + 1) {
		if (strcmp(buf + i, "-uuid") == 0) {
			size_t next = i + strlen(buf + i) + 1;

			if (next < len) {
				snprintf(uuid, VM_UUID_BYTES, "%s", buf + next);
				found = 1;
			}
		}
	}
	free(buf);
	return found;
}

static bool pid_alive(const char *proc_root, pid_t pid)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static pid_t pid_from_file(const char *run_dir, const char *proc_root, const char *name,
			   const char *uuid)
{
	char path[PATH_MAX], other[VM_UUID_BYTES];
	size_t len = 0;
	char *buf;
	pid_t v;

	/* libvirt refuses '/' in names; a name that has one has no pid file */
	if (strchr(name, '/') ||
	    (size_t)snprintf(path, sizeof(path), "%s/qemu/%s.pid", run_dir, name) >= sizeof(path))
		return 0;
	buf = procfs_read_file(path, 64, &len);
	if (!buf)
		return 0;
	if (util_parse_pid(buf, &v))
		v = 0;
	free(buf);
	if (!v || !pid_alive(proc_root, v))
		return 0;
	/* a stale file whose pid now belongs to another QEMU */
	if (cmdline_uuid(proc_root, v, other) == 1 && strcasecmp(other, uuid) != 0)
		return 0;
	return v;
}

static pid_t pid_from_scan(const char *proc_root, const char *uuid)
{
	char other[VM_UUID_BYTES];
	struct dirent *de;
	pid_t found = 0;
	DIR *dir = opendir(proc_root);

	if (!dir)
		return 0;
	while (!found && (de = readdir(dir))) {
		long v;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    util_parse_long(de->d_name, 1, INT32_MAX, &v))
			continue;
		if (cmdline_uuid(proc_root, (pid_t)v, other) == 1 && strcasecmp(other, uuid) == 0)
			found = (pid_t)v;
	}
	closedir(dir);
	return found;
}

pid_t inv_find_qemu_pid(const char *run_dir, const char *proc_root, const char *name, const char *uuid)
{
	pid_t pid = pid_from_file(run_dir ? run_dir : TIDE_DEFAULT_LIBVIRT_RUN_DIR,
				  proc_root ? proc_root : "/proc", name, uuid);

	return pid ? pid : pid_from_scan(proc_root ? proc_root : "/proc", uuid);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct vm_thread *x = a, *y = b;

	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* vCPU index of a thread named comm, or -1 if it is no vCPU thread */
static int64_t vcpu_of_comm(const char *comm)
{
	unsigned long n;
	char *end;

	if (strcmp(comm, "ALL CPUs/TCG") == 0)
		return VM_VCPU_ALL;
	/* "CPU n/ACCEL": KVM, TCG (and HVF, WHPX, ... elsewhere) */
	if (strncmp(comm, "CPU ", 4) != 0 || !isdigit((unsigned char)comm[4]))
		return -1;
	errno = 0;
	n = strtoul(comm + 4, &end, 10);
	if (errno || n > INT32_MAX || end[0] != '/' || !end[1])
		return -1;
	return (int64_t)n;
}

int inv_scan_vcpus(const char *proc_root, pid_t pid, struct vm_thread **out, uint32_t *n_out)
{
	struct vm_thread *v = NULL;
	uint32_t n = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	*out = NULL;
	*n_out = 0;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "%s/%d/task", proc_root ? proc_root : "/proc", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char comm_path[PATH_MAX + 300], comm[64];
		size_t len = 0;
		int64_t vcpu;
		char *buf;
		long tid;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    util_parse_long(de->d_name, 1, INT32_MAX, &tid))
			continue;
		snprintf(comm_path, sizeof(comm_path), "%s/%s/comm", path, de->d_name);
		buf = procfs_read_file(comm_path, 64, &len);
		if (!buf)
			continue; /* the thread just exited */
		snprintf(comm, sizeof(comm), "%s", buf);
		free(buf);
		comm[strcspn(comm, "\n")] = '\0';
		vcpu = vcpu_of_comm(comm);
		if (vcpu < 0)
			continue;
		if (n == cap) {
			struct vm_thread *p;

			cap = cap ? cap * 2 : 8;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = p;
		}
		v[n].tid = (pid_t)tid;
		v[n].vcpu = (uint32_t)vcpu;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_thread);
	*out = v;
	*n_out = n;
	return 0;
}
