// SPDX-License-Identifier: GPL-2.0
/*
 * inv: the VM inventory from libvirt.  See inv.h.
 *
 * Flow.  A lifecycle event only queues the domain's uuid; a zero-delay
 * timer then reconciles each queued domain with what libvirt says now
 * (active or not, its live XML, its state), which makes the order and
 * number of events irrelevant: a start followed by a stop before we look
 * is a domain that is not active, nothing more.  The same reconcile runs
 * for every domain after (re)connecting, and drops the tracked VMs that
 * libvirt no longer lists.
 *
 * libvirt calls (list, lookup, XML, state) run as vconn jobs on a worker,
 * in order on the one connection: a job reads what the domain is now and
 * parses it there (with the pid and vCPU threads from /proc), and its
 * completion applies that to the inventory on the loop.  vconn owns the
 * connection (reconnect with backoff, the close callback); inv registers
 * for events on each new connection (setup) and reads the whole list again
 * when it is up.  Events themselves arrive on the loop, through virt.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "inv.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

#define INV_RECONNECT_MAX_MS_DEFAULT 30000
/* a domain list that failed on a live connection is asked again after */
#define INV_RESYNC_MS 1000
/* an incomplete VM is scanned again after rescan_ms, doubling up to this */
#define INV_RESCAN_MAX_MS 10000
#define INV_CMDLINE_MAX_BYTES (256 * 1024)
#define INV_ERR_BYTES 256

struct inv_vm {
	char uuid[VM_UUID_BYTES];
	uint32_t slot;
	bool complete;			/* pid and every vCPU thread found */
	uint64_t rescan_at_ms;
	uint32_t rescan_delay_ms;
	bool seen;			/* mark for the full reconcile */
	struct vm_desc desc;		/* as given to collect */
};

static struct {
	bool inited;
	char *uri;
	char *run_dir;
	char *proc_root;
	uint32_t rescan_ms;
	uint32_t reconnect_max_ms;
	uint64_t gen;			/* a job of an older inv_init() is stale */
	struct vconn *vc;
	bool connected;			/* and the VM list read since */
	bool synced_once;
	int pending_timer;
	int resync_timer;
	int rescan_timer;
	uint64_t rescan_timer_at_ms;
	struct inv_vm *vms;
	size_t n_vms, cap_vms;
	char (*pending)[VM_UUID_BYTES];
	size_t n_pending, cap_pending;
} is;

/*
 * The event registrations of the connection: touched only by its jobs on
 * the worker (setup, teardown), never cleared by inv_fini(), whose close
 * job may run after it.
 */
static struct {
	int lifecycle_id;		/* -1: none */
	int device_ids[2];		/* device added, removed; -1: none */
} ev = { .lifecycle_id = -1, .device_ids = { -1, -1 } };

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

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n; n = n->next)
		if (is_elem(n, name))
			return n;
	return NULL;
}

/* text of a node, trimmed, into buf; false if it does not fit */
static bool text_of(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *s = t ? (const char *)t : "";
	size_t l;
	bool ok;

	while (isspace((unsigned char)*s))
		s++;
	l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		l--;
	ok = l < len;
	if (ok) {
		memcpy(buf, s, l);
		buf[l] = '\0';
	}
	xmlFree(t);
	return ok;
}

/* attribute into buf ("" if absent); false if it does not fit */
static bool attr_of(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	bool ok = true;

	buf[0] = '\0';
	if (v) {
		ok = strlen((const char *)v) < len;
		if (ok)
			strcpy(buf, (const char *)v);
		xmlFree(v);
	}
	return ok;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* libvirt's memory units (virScaleInteger): b, KB, k/KiB, MB, M/MiB, ... */
static int unit_scale(const char *unit, uint64_t *scale)
{
	static const struct { const char *name; uint64_t scale; } units[] = {
		{ "b", 1 }, { "bytes", 1 },
		{ "KB", 1000ull }, { "k", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "MB", 1000000ull }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "GB", 1000000000ull }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
		{ "PB", 1000000000000000ull }, { "P", 1ull << 50 }, { "PiB", 1ull << 50 },
		{ "EB", 1000000000000000000ull }, { "E", 1ull << 60 }, { "EiB", 1ull << 60 },
	};

	if (!*unit) {
		*scale = 1024;		/* libvirt's default: KiB */
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		/* libvirt takes the single letters in either case */
		if (strcmp(unit, units[i].name) == 0 ||
		    (strlen(units[i].name) == 1 && strcasecmp(unit, units[i].name) == 0)) {
			*scale = units[i].scale;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_memory(const xmlNode *n, const char *what, uint64_t *out, char *err, size_t len)
{
	char text[32], unit[16];
	uint64_t v, scale;

	if (!text_of(n, text, sizeof(text)) || parse_u64(text, &v))
		return xml_fail(err, len, "<%s> is not a number of bytes", what);
	if (!attr_of(n, "unit", unit, sizeof(unit)) || unit_scale(unit, &scale))
		return xml_fail(err, len, "<%s> has unit '%s', which libvirt does not have",
				what, unit);
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
		n += is_elem(i, "interface");
	if (!n)
		return 0;
	d->taps = calloc(n, sizeof(*d->taps));
	if (!d->taps)
		return -ENOMEM;
	for (const xmlNode *i = devices->children; i; i = i->next) {
		const xmlNode *target, *mac;
		struct vm_tap *t = &d->taps[d->n_taps];

		if (!is_elem(i, "interface"))
			continue;
		target = child(i, "target");
		/* hostdev, vhost-user, ...: no host-side device to count on */
		if (!target || !attr_of(target, "dev", t->ifname, sizeof(t->ifname)))
			continue;
		if (!t->ifname[0])
			continue;
		mac = child(i, "mac");
		if (mac && !attr_of(mac, "address", t->mac, sizeof(t->mac)))
			t->mac[0] = '\0';
		d->n_taps++;
	}
	return 0;
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
	if (!root || !is_elem(root, "domain")) {
		ret = xml_fail(err, len, "domain XML has root <%s>, not <domain>",
			       root ? (const char *)root->name : "");
		goto cleanup;
	}

	n = child(root, "uuid");
	if (!n || !text_of(n, out.uuid, sizeof(out.uuid)) || !uuid_ok(out.uuid)) {
		ret = xml_fail(err, len, "domain XML has no valid <uuid>");
		goto cleanup;
	}
	for (char *p = out.uuid; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = child(root, "name");
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

	n = child(root, "memory");
	if (n && (ret = parse_memory(n, "memory", &out.memory_bytes, err, len)))
		goto cleanup;
	n = child(root, "currentMemory");
	if (n && (ret = parse_memory(n, "currentMemory", &out.current_memory_bytes, err, len)))
		goto cleanup;
	if (!out.current_memory_bytes)
		out.current_memory_bytes = out.memory_bytes;

	n = child(root, "vcpu");
	out.vcpus = out.vcpus_max = 1;
	if (n) {
		if (!text_of(n, vcpu_text, sizeof(vcpu_text)) || parse_u64(vcpu_text, &v) ||
		    v == 0 || v > 16384) {
			ret = xml_fail(err, len, "<vcpu> is not a number of vCPUs");
			goto cleanup;
		}
		out.vcpus = out.vcpus_max = (uint32_t)v;
		if (!attr_of(n, "current", current, sizeof(current)))
			current[0] = 'x';
		if (current[0]) {
			if (parse_u64(current, &v) || v == 0 || v > out.vcpus_max) {
				ret = xml_fail(err, len, "<vcpu current='%s'> is not a number of "
					       "vCPUs up to %u", current, out.vcpus_max);
				goto cleanup;
			}
			out.vcpus = (uint32_t)v;
		}
	}

	n = child(root, "devices");
	if (n && (ret = parse_interfaces(n, &out, err, len)))
		goto cleanup;

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

/* Read a file whole (up to max bytes): malloc'd, NUL-terminated; length in *len. */
static char *read_file(const char *path, size_t max, size_t *len)
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
	buf = read_file(path, INV_CMDLINE_MAX_BYTES, &len);
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
	if (strchr(name, '/') || (size_t)snprintf(path, sizeof(path), "%s/qemu/%s.pid",
						  run_dir, name) >= sizeof(path))
		return 0;
	buf = read_file(path, 64, &len);
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

pid_t inv_find_qemu_pid(const char *run_dir, const char *proc_root, const char *name,
			const char *uuid)
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
	unsigned int n;
	int used = 0;

	if (strcmp(comm, "ALL CPUs/TCG") == 0)
		return VM_VCPU_ALL;
	/* "CPU n/ACCEL": KVM, TCG (and HVF, WHPX, ... elsewhere) */
	if (sscanf(comm, "CPU %u/%n", &n, &used) == 1 && used > 0 && comm[used] &&
	    strncmp(comm, "CPU ", 4) == 0 && isdigit((unsigned char)comm[4]))
		return n;
	return -1;
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
		buf = read_file(comm_path, 64, &len);
		if (!buf)
			continue;	/* the thread just exited */
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

/* ---- tracked VMs -------------------------------------------------------- */

static struct inv_vm *vm_by_uuid(const char *uuid)
{
	for (size_t i = 0; i < is.n_vms; i++)
		if (strcasecmp(is.vms[i].uuid, uuid) == 0)
			return &is.vms[i];
	return NULL;
}

static void vm_drop(struct inv_vm *v, const char *why)
{
	log_info("VM '%s' (%s) dropped: %s", v->desc.name ? v->desc.name : "?", v->uuid, why);
	collect_vm_remove(v->slot);
	vm_desc_clear(&v->desc);
	*v = is.vms[--is.n_vms];
}

static bool desc_complete(const struct vm_desc *d)
{
	if (d->pid <= 0)
		return false;
	if (d->n_threads == 1 && d->threads[0].vcpu == VM_VCPU_ALL)
		return true;
	return d->n_threads >= d->vcpus;
}

/* Fill the pid and vCPU threads of d from the run dir and /proc. */
static void find_process(struct vm_desc *d)
{
	free(d->threads);
	d->threads = NULL;
	d->n_threads = 0;
	d->pid = inv_find_qemu_pid(is.run_dir, is.proc_root, d->name, d->uuid);
	if (d->pid > 0 && inv_scan_vcpus(is.proc_root, d->pid, &d->threads, &d->n_threads))
		d->n_threads = 0;
}

static bool same_threads(const struct vm_desc *a, const struct vm_desc *b)
{
	if (a->pid != b->pid || a->n_threads != b->n_threads)
		return false;
	for (uint32_t i = 0; i < a->n_threads; i++)
		if (a->threads[i].tid != b->threads[i].tid || a->threads[i].vcpu != b->threads[i].vcpu)
			return false;
	return true;
}

static void arm_rescan(void);

static void schedule_rescan(struct inv_vm *v, bool first)
{
	if (v->complete)
		return;
	v->rescan_delay_ms = first ? is.rescan_ms : v->rescan_delay_ms * 2;
	if (v->rescan_delay_ms > INV_RESCAN_MAX_MS)
		v->rescan_delay_ms = INV_RESCAN_MAX_MS;
	if (!v->rescan_delay_ms)
		v->rescan_delay_ms = 1;
	v->rescan_at_ms = loop_now_ms() + v->rescan_delay_ms;
	arm_rescan();
}

/* Track d (new) or update the VM with its uuid; d is consumed. */
static void vm_apply(struct vm_desc *d)
{
	struct inv_vm *v = vm_by_uuid(d->uuid);
	uint32_t slot;
	int err;

	if (!v) {
		if (is.n_vms == is.cap_vms) {
			size_t cap = is.cap_vms ? is.cap_vms * 2 : 16;
			struct inv_vm *p = realloc(is.vms, cap * sizeof(*p));

			if (!p) {
				log_err("VM '%s': out of memory", d->name);
				vm_desc_clear(d);
				return;
			}
			is.vms = p;
			is.cap_vms = cap;
		}
		err = collect_vm_add(d, &slot);
		if (err) {
			log_warn("VM '%s' (%s) cannot be tracked: %s", d->name, d->uuid,
				 err == -ENOSPC ? "max_vms VMs are tracked already" : strerror(-err));
			vm_desc_clear(d);
			return;
		}
		v = &is.vms[is.n_vms++];
		memset(v, 0, sizeof(*v));
		snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
		v->slot = slot;
		v->desc = *d;
		v->complete = desc_complete(d);
		log_info("VM '%s' (%s) tracked: slot %u, %s, QEMU pid %d, %u of %u vCPU threads, "
			 "%u tap%s, %llu MiB", d->name, d->uuid, slot, d->state ? d->state : "running",
			 (int)d->pid, d->n_threads, d->vcpus, d->n_taps, d->n_taps == 1 ? "" : "s",
			 (unsigned long long)(d->memory_bytes >> 20));
		schedule_rescan(v, true);
		return;
	}
	if (d->pid != v->desc.pid || !same_threads(d, &v->desc) || d->n_taps != v->desc.n_taps)
		log_info("VM '%s' (%s): QEMU pid %d, %u of %u vCPU threads, %u tap%s", d->name,
			 d->uuid, (int)d->pid, d->n_threads, d->vcpus, d->n_taps,
			 d->n_taps == 1 ? "" : "s");
	err = collect_vm_update(v->slot, d);
	if (err) {
		log_warn("VM '%s': cannot update its tracking: %s", d->name, strerror(-err));
		vm_desc_clear(d);
		return;
	}
	vm_desc_clear(&v->desc);
	v->desc = *d;
	v->complete = desc_complete(d);
	schedule_rescan(v, true);
}

static const char *state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:	return "running";
	case VIR_DOMAIN_BLOCKED:	return "blocked";
	case VIR_DOMAIN_PAUSED:		return "paused";
	case VIR_DOMAIN_SHUTDOWN:	return "shutdown";
	case VIR_DOMAIN_SHUTOFF:	return "shutoff";
	case VIR_DOMAIN_CRASHED:	return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:	return "pmsuspended";
	default:			return "unknown";
	}
}

/* What is the domain now?  Track, update or drop it accordingly. */
/*
 * What a domain is now, read on a worker: track it (d), drop it (why), or
 * leave it as it is (err says why).
 */
enum fetch_kind {
	FETCH_TRACK,
	FETCH_DROP,
	FETCH_ERROR,
};

struct fetch {
	char uuid[VM_UUID_BYTES];
	enum fetch_kind kind;
	const char *why;		/* FETCH_DROP: a static string */
	char err[VCONN_ERR_BYTES];	/* FETCH_ERROR */
	struct vm_desc d;		/* FETCH_TRACK */
};

static void fetch_error(struct fetch *f, const char *msg)
{
	f->kind = FETCH_ERROR;
	snprintf(f->err, sizeof(f->err), "%s", msg);
}

/* Worker.  Reads only what inv_init() set up (run_dir, proc_root). */
static void fetch_dom(virDomainPtr dom, const char *uuid, struct fetch *f)
{
	struct vm_desc d = { 0 };
	char err[INV_ERR_BYTES];
	int active, state = 0, reason = 0, ret;
	char *xml = NULL;

	if (uuid != f->uuid)
		snprintf(f->uuid, sizeof(f->uuid), "%s", uuid);
	active = virt_domain_is_active(dom);
	if (active == -ENOENT) {
		active = 0;	/* a transient domain that stopped is gone */
	} else if (active < 0) {
		fetch_error(f, virt_last_error());
		return;
	}
	if (!active) {
		f->kind = FETCH_DROP;
		f->why = "not active";
		return;
	}
	ret = virt_domain_get_xml_desc(dom, 0, &xml);
	if (ret == -ENOENT) {
		f->kind = FETCH_DROP;
		f->why = "gone";
		return;
	}
	if (ret) {
		fetch_error(f, virt_last_error());
		return;
	}
	ret = inv_parse_domain_xml(xml, &d, err, sizeof(err));
	free(xml);
	if (ret) {
		f->kind = FETCH_ERROR;
		snprintf(f->err, sizeof(f->err), "domain '%s' (%s): %s; not tracked",
			 virt_domain_get_name(dom), uuid, err);
		return;
	}
	if (virt_domain_get_state(dom, &state, &reason) == 0) {
		const char *s = state_name(state);

		if (state == VIR_DOMAIN_PAUSED && (reason == VIR_DOMAIN_PAUSED_MIGRATION ||
						   reason == VIR_DOMAIN_PAUSED_POSTCOPY))
			s = "migrating";
		if (state == VIR_DOMAIN_SHUTOFF) {
			vm_desc_clear(&d);
			f->kind = FETCH_DROP;
			f->why = "shut off";
			return;
		}
		d.state = strdup(s);
	}
	find_process(&d);
	f->kind = FETCH_TRACK;
	f->d = d;
}

/* Loop: act on what a worker found. */
static void fetch_apply(struct fetch *f)
{
	struct inv_vm *v = vm_by_uuid(f->uuid);

	switch (f->kind) {
	case FETCH_DROP:
		if (v)
			vm_drop(v, f->why);
		break;
	case FETCH_ERROR:
		log_warn("%s", f->err);
		break;
	case FETCH_TRACK:
		vm_apply(&f->d);	/* consumes it */
		memset(&f->d, 0, sizeof(f->d));
		break;
	}
}

/* ---- jobs on the connection's worker ------------------------------------- */

/* one domain, after an event */
struct one_job {
	uint64_t gen;			/* inv's, when queued: stale after inv_fini */
	struct fetch f;
};

static int one_run(virConnectPtr conn, void *arg)
{
	struct one_job *j = arg;
	virDomainPtr dom = NULL;
	int err;

	err = virt_domain_lookup_by_uuid_string(conn, j->f.uuid, &dom);
	if (err == -ENOENT) {
		j->f.kind = FETCH_DROP;
		j->f.why = "stopped, and no longer defined (transient)";
		return 0;
	}
	if (err)
		return err;
	fetch_dom(dom, j->f.uuid, &j->f);
	virt_domain_free(dom);
	return 0;
}

static void one_done(int result, const char *err, void *arg)
{
	struct one_job *j = arg;

	if (!is.inited || j->gen != is.gen)
		return;
	if (result) {
		log_warn("%s", err);
		return;
	}
	fetch_apply(&j->f);
}

static void one_release(void *arg)
{
	struct one_job *j = arg;

	vm_desc_clear(&j->f.d);
	free(j);
}

static const struct vconn_call one_call = {
	.what = "virDomainLookupByUUIDString",
	.run = one_run,
	.done = one_done,
	.release = one_release,
};

static void reconcile_uuid(const char *uuid)
{
	struct one_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		log_err("out of memory reconciling domain %s", uuid);
		return;
	}
	j->gen = is.gen;
	snprintf(j->f.uuid, sizeof(j->f.uuid), "%s", uuid);
	err = vconn_call(is.vc, &one_call, j);
	if (err) {
		/* not connected: the full reconcile after reconnecting covers it */
		log_debug("domain %s not reconciled now: %s", uuid, strerror(-err));
		free(j);
	}
}

/* every domain, after (re)connecting */
struct sync_job {
	uint64_t gen;
	struct fetch *f;
	size_t n;
};

static int sync_run(virConnectPtr conn, void *arg)
{
	struct sync_job *j = arg;
	virDomainPtr *doms = NULL;
	int n = 0, err;

	err = virt_list_domains(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &doms, &n);
	if (err)
		return err;
	j->f = calloc(n ? (size_t)n : 1, sizeof(*j->f));
	if (!j->f) {
		virt_domains_free(doms, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];

		if (virt_domain_get_uuid_string(doms[i], uuid))
			continue;
		fetch_dom(doms[i], uuid, &j->f[j->n++]);
	}
	virt_domains_free(doms, n);
	return 0;
}

static void resync_later(void);

static void sync_done(int result, const char *err, void *arg)
{
	struct sync_job *j = arg;

	if (!is.inited || j->gen != is.gen)
		return;
	if (result) {
		log_warn("%s; the VM list is tried again in %u ms", err, INV_RESYNC_MS);
		resync_later();
		return;
	}
	for (size_t i = 0; i < is.n_vms; i++)
		is.vms[i].seen = false;
	for (size_t i = 0; i < j->n; i++) {
		struct inv_vm *v;

		fetch_apply(&j->f[i]);
		v = vm_by_uuid(j->f[i].uuid);
		if (v)
			v->seen = true;
	}
	for (size_t i = 0; i < is.n_vms;) {
		if (!is.vms[i].seen)
			vm_drop(&is.vms[i], "no longer active");	/* swaps in the last */
		else
			i++;
	}
	if (!is.synced_once)
		log_info("libvirt '%s': %zu active VMs tracked", is.uri, is.n_vms);
	else
		log_notice("libvirt connection to '%s' back; %zu VMs tracked", is.uri, is.n_vms);
	is.synced_once = true;
	is.connected = true;
}

static void sync_release(void *arg)
{
	struct sync_job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		vm_desc_clear(&j->f[i].d);
	free(j->f);
	free(j);
}

static const struct vconn_call sync_call = {
	.what = "virConnectListAllDomains",
	.run = sync_run,
	.done = sync_done,
	.release = sync_release,
};

static void sync_all(void)
{
	struct sync_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		log_err("out of memory listing the domains");
		return;
	}
	j->gen = is.gen;
	err = vconn_call(is.vc, &sync_call, j);
	if (err) {
		free(j);
		if (err != -ENOTCONN)
			resync_later();
	}
}

static void on_resync(void *arg)
{
	is.resync_timer = 0;
	sync_all();
}

static void resync_later(void)
{
	if (!is.resync_timer &&
	    loop_add_timer(INV_RESYNC_MS, 0, on_resync, NULL, &is.resync_timer))
		is.resync_timer = 0;
}
/* ---- rescans of incomplete VMs ------------------------------------------ */

static void on_rescan(void *arg)
{
	uint64_t now = loop_now_ms();

	is.rescan_timer = 0;
	for (size_t i = 0; i < is.n_vms; i++) {
		struct inv_vm *v = &is.vms[i];
		struct vm_desc d;

		if (v->complete || v->rescan_at_ms > now)
			continue;
		if (vm_desc_copy(&d, &v->desc))
			continue;
		find_process(&d);
		if (same_threads(&d, &v->desc)) {
			vm_desc_clear(&d);
			schedule_rescan(v, false);
			continue;
		}
		vm_apply(&d);	/* reschedules itself while incomplete */
		/* keep backing off if still incomplete */
		v = vm_by_uuid(v->uuid);
		if (v && !v->complete)
			schedule_rescan(v, false);
	}
	arm_rescan();
}

static void arm_rescan(void)
{
	uint64_t next = UINT64_MAX, now = loop_now_ms();

	for (size_t i = 0; i < is.n_vms; i++)
		if (!is.vms[i].complete && is.vms[i].rescan_at_ms < next)
			next = is.vms[i].rescan_at_ms;
	if (next == UINT64_MAX) {
		if (is.rescan_timer > 0)
			loop_remove_timer(is.rescan_timer);
		is.rescan_timer = 0;
		return;
	}
	if (is.rescan_timer > 0 && is.rescan_timer_at_ms <= next)
		return;
	if (is.rescan_timer > 0)
		loop_remove_timer(is.rescan_timer);
	is.rescan_timer = 0;
	is.rescan_timer_at_ms = next;
	if (loop_add_timer(next > now ? next - now : 0, 0, on_rescan, NULL, &is.rescan_timer))
		is.rescan_timer = 0;
}

/* ---- events -------------------------------------------------------------- */

static void on_pending(void *arg)
{
	is.pending_timer = 0;
	/* not up: the full reconcile after (re)connecting covers them */
	if (!vconn_connected(is.vc))
		is.n_pending = 0;
	/* a reconcile may queue more (it does not today): take the list */
	while (is.n_pending) {
		char uuid[VM_UUID_BYTES];

		memcpy(uuid, is.pending[0], sizeof(uuid));
		memmove(is.pending, is.pending + 1, (is.n_pending - 1) * sizeof(*is.pending));
		is.n_pending--;
		reconcile_uuid(uuid);
	}
}

static void queue_uuid(const char *uuid)
{
	for (size_t i = 0; i < is.n_pending; i++)
		if (!strcasecmp(is.pending[i], uuid))
			return;
	if (is.n_pending == is.cap_pending) {
		size_t cap = is.cap_pending ? is.cap_pending * 2 : 16;
		char (*p)[VM_UUID_BYTES] = realloc(is.pending, cap * sizeof(*p));

		if (!p) {
			log_err("out of memory queueing a libvirt event");
			return;
		}
		is.pending = p;
		is.cap_pending = cap;
	}
	snprintf(is.pending[is.n_pending++], VM_UUID_BYTES, "%s", uuid);
	if (!is.pending_timer && loop_add_timer(0, 0, on_pending, NULL, &is.pending_timer))
		is.pending_timer = 0;
}

static const char *event_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? "started (incoming migration)" :
		       detail == VIR_DOMAIN_EVENT_STARTED_RESTORED ? "started (restored)" : "started";
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED ? "stopped (migrated away)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? "stopped (crashed)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_FAILED ? "stopped (failed)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED ? "stopped (destroyed)" : "stopped";
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ? "suspended (migrating)" :
		       "suspended";
	case VIR_DOMAIN_EVENT_RESUMED:
		return detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED ? "resumed (migration done)" :
		       "resumed";
	case VIR_DOMAIN_EVENT_CRASHED:	return "crashed";
	case VIR_DOMAIN_EVENT_SHUTDOWN:	return "shutting down";
	case VIR_DOMAIN_EVENT_PMSUSPENDED: return "pm-suspended";
	case VIR_DOMAIN_EVENT_DEFINED:	return "defined";
	case VIR_DOMAIN_EVENT_UNDEFINED: return "undefined";
	default:			return "changed";
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virt_domain_get_uuid_string(dom, uuid))
		return 0;
	log_debug("libvirt event: domain '%s' (%s) %s", virt_domain_get_name(dom), uuid,
		  event_name(event, detail));
	/* a definition alone changes nothing that runs */
	if (event == VIR_DOMAIN_EVENT_DEFINED && !vm_by_uuid(uuid))
		return 0;
	queue_uuid(uuid);
	return 0;
}

/* a NIC plugged in or out: its tap comes or goes */
static void on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virt_domain_get_uuid_string(dom, uuid))
		return;
	log_debug("libvirt event: domain '%s' (%s) device '%s' %s", virt_domain_get_name(dom),
		  uuid, alias ? alias : "?", opaque ? "removed" : "added");
	if (vm_by_uuid(uuid))
		queue_uuid(uuid);
}

/* ---- connection (vconn) ----------------------------------------------------- */

static void unregister_events(virConnectPtr conn)
{
	if (ev.lifecycle_id >= 0)
		virt_domain_event_deregister(conn, ev.lifecycle_id);
	ev.lifecycle_id = -1;
	for (int i = 0; i < 2; i++) {
		if (ev.device_ids[i] >= 0)
			virt_domain_event_deregister(conn, ev.device_ids[i]);
		ev.device_ids[i] = -1;
	}
}

/* Worker, on each new connection (the ids are only touched on the
 * connection's queue: here and in teardown). */
static int setup_events(virConnectPtr conn, void *arg)
{
	int err;

	err = virt_domain_event_register(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL,
					 &ev.lifecycle_id);
	if (err) {
		log_err("%s; VMs would not be followed: dropping the connection", virt_last_error());
		ev.lifecycle_id = -1;
		return err;
	}
	/* not essential: a hot-plugged NIC is then seen at the next event */
	for (int i = 0; i < 2; i++) {
		static const int ids[] = { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
					   VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED };

		if (virt_domain_event_register(conn, NULL, ids[i],
					       VIR_DOMAIN_EVENT_CALLBACK(on_device),
					       i ? (void *)1 : NULL, NULL, &ev.device_ids[i])) {
			log_debug("%s", virt_last_error());
			ev.device_ids[i] = -1;
		}
	}
	return 0;
}

static void teardown_events(virConnectPtr conn, void *arg)
{
	unregister_events(conn);
}

static void on_conn_state(struct vconn *vc, bool up, void *arg)
{
	if (up) {
		sync_all();
		return;
	}
	is.connected = false;
	if (!is.synced_once)
		log_warn("cannot connect to libvirt at '%s' (%s); no VMs until it answers: "
			 "trying again with backoff up to %u ms", is.uri, vconn_last_error(vc),
			 is.reconnect_max_ms);
	else
		log_warn("libvirt connection to '%s' lost; keeping the %zu VMs tracked and "
			 "reconnecting", is.uri, is.n_vms);
}

bool inv_connected(void)
{
	return is.connected;
}

uint32_t inv_reconnects(void)
{
	return is.vc ? vconn_reconnects(is.vc) : 0;
}

static void clear_state(void)
{
	uint64_t gen = is.gen;

	memset(&is, 0, sizeof(is));
	is.gen = gen + 1;
}

int inv_init(const struct inv_opts *opts)
{
	struct vconn_opts vo = {
		.call_timeout_ms = opts->call_timeout_ms,
		.reconnect_max_ms = opts->reconnect_max_ms,
		.setup = setup_events,
		.teardown = teardown_events,
		.on_state = on_conn_state,
	};
	int err;

	if (is.inited)
		return -EALREADY;
	clear_state();
	is.uri = strdup(opts->uri ? opts->uri : TIDE_DEFAULT_LIBVIRT_URI);
	is.run_dir = strdup(opts->run_dir ? opts->run_dir : TIDE_DEFAULT_LIBVIRT_RUN_DIR);
	is.proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
	if (!is.uri || !is.run_dir || !is.proc_root) {
		err = -ENOMEM;
		goto fail;
	}
	is.rescan_ms = opts->rescan_ms ? opts->rescan_ms : 1000;
	is.reconnect_max_ms = opts->reconnect_max_ms ? opts->reconnect_max_ms :
			      INV_RECONNECT_MAX_MS_DEFAULT;
	vo.uri = is.uri;
	vo.reconnect_max_ms = is.reconnect_max_ms;
	is.inited = true;
	/* connects on a worker; the VMs come when the list does */
	err = vconn_open(&vo, &is.vc);
	if (err) {
		log_err("cannot set up the libvirt connection to '%s': %s", is.uri, strerror(-err));
		is.inited = false;
		goto fail;
	}
	return 0;
fail:
	free(is.uri);
	free(is.run_dir);
	free(is.proc_root);
	clear_state();
	return err;
}

void inv_fini(void)
{
	if (!is.inited)
		return;
	if (is.pending_timer)
		loop_remove_timer(is.pending_timer);
	if (is.resync_timer)
		loop_remove_timer(is.resync_timer);
	if (is.rescan_timer > 0)
		loop_remove_timer(is.rescan_timer);
	/* the jobs still queued complete later, and see a new generation */
	is.inited = false;
	vconn_close(is.vc);
	while (is.n_vms)
		vm_drop(&is.vms[0], "tided stopping");
	free(is.vms);
	free(is.pending);
	free(is.uri);
	free(is.run_dir);
	free(is.proc_root);
	clear_state();
}
