// SPDX-License-Identifier: GPL-2.0
/*
 * feat: run-time probe of the kernel and the process.  See feat.h.
 *
 * The BPF probes load the smallest valid program ("r0 = 0; exit") of each
 * type with bpf_prog_load() rather than libbpf_probe_bpf_prog_type(),
 * which cannot probe tracing programs and reports "not supported" for
 * "not permitted".  The two types that tide attaches to sched_switch are
 * attached too and detached at once, because a kernel can accept the load
 * and refuse the attach (the reason fentry is unusable on some kernels).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "feat.h"
#include "log.h"
#include "loop.h"

#define VMLINUX_BTF_PATH "/sys/kernel/btf/vmlinux"
#define BPFFS_PATH "/sys/fs/bpf"
#define BPF_STATS_PATH "/proc/sys/kernel/bpf_stats_enabled"
#define KVM_PATH "/dev/kvm"
/* the tracepoint every tide CPU collector needs */
#define PROBE_TRACEPOINT "sched_switch"

static const char *const names[FEAT__COUNT] = {
	[FEAT_TP_BTF] = "tp_btf",
	[FEAT_RAW_TP] = "raw_tp",
	[FEAT_TRACEPOINT] = "tracepoint",
	[FEAT_TC] = "tc",
	[FEAT_BTF] = "btf",
	[FEAT_BPFFS] = "bpffs",
	[FEAT_IO_URING] = "io_uring",
	[FEAT_BPF_STATS] = "bpf_stats",
	[FEAT_KVM] = "kvm",
};

static struct {
	bool probed;
	struct tide_features f;
} fs;

const char *feat_name(enum feat_id id)
{
	return id < FEAT__COUNT ? names[id] : "?";
}

static void set(struct feat_result *r, int err, const char *fmt, ...) __tide_printf(3, 4);

static void set(struct feat_result *r, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	r->ok = err == 0;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	if (err == -EPERM || err == -EACCES) {
		len = strlen(r->detail);
		snprintf(r->detail + len, sizeof(r->detail) - len, " (needs root)");
	}
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0; /* a failed probe is a result, not an error to print */
}

static const struct bpf_insn ret0[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

int feat_probe_tp_btf(const char *tp, char *why, size_t why_bytes)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int prog_fd, link_fd, id, err;

	/* the typedef btf_trace_<tp> is what a tp_btf program attaches to */
	id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	if (id < 0) {
		snprintf(why, why_bytes, "kernel BTF has no btf_trace_%s", tp);
		return id;
	}
	opts.attach_btf_id = (__u32)id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tide_probe", "GPL", ret0, ARRAY_SIZE(ret0),
				&opts);
	if (prog_fd < 0) {
		err = -errno;
		snprintf(why, why_bytes, "cannot load a tp_btf program: %s", strerror(-err));
		return err;
	}
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	if (link_fd < 0) {
		err = -errno;
		snprintf(why, why_bytes, "loads, but cannot attach to %s: %s", tp, strerror(-err));
	} else {
		err = 0;
		snprintf(why, why_bytes, "loads and attaches to %s", tp);
		close(link_fd);
	}
	close(prog_fd);
	return err;
}

static void probe_tp_btf(struct feat_result *r, bool have_btf)
{
	char why[FEAT_DETAIL_BYTES];
	int err;

	if (!have_btf) {
		set(r, -ENOENT, "needs kernel BTF (" VMLINUX_BTF_PATH ")");
		return;
	}
	err = feat_probe_tp_btf(PROBE_TRACEPOINT, why, sizeof(why));
	set(r, err, "%s", why);
}

static void probe_raw_tp(struct feat_result *r)
{
	int prog_fd, link_fd;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "tide_probe", "GPL", ret0,
				ARRAY_SIZE(ret0), NULL);
	if (prog_fd < 0) {
		set(r, -errno, "cannot load a raw_tp program: %s", strerror(errno));
		return;
	}
	link_fd = bpf_raw_tracepoint_open(PROBE_TRACEPOINT, prog_fd);
	if (link_fd < 0) {
		set(r, -errno, "loads, but cannot attach to " PROBE_TRACEPOINT ": %s",
		    strerror(errno));
	} else {
		set(r, 0, "loads and attaches to " PROBE_TRACEPOINT);
		close(link_fd);
	}
	close(prog_fd);
}

/* Load only: attaching these needs a target (a tracefs event, a tap) */
static void probe_prog_type(struct feat_result *r, enum bpf_prog_type type, const char *what)
{
	int fd = bpf_prog_load(type, "tide_probe", "GPL", ret0, ARRAY_SIZE(ret0), NULL);

	if (fd < 0) {
		set(r, -errno, "cannot load a %s program: %s", what, strerror(errno));
		return;
	}
	close(fd);
	set(r, 0, "%s programs load", what);
}

static void probe_path(struct feat_result *r, const char *path, int flags, const char *what)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		set(r, -errno, "cannot open %s for %s: %s", path, what, strerror(errno));
		return;
	}
	close(fd);
	set(r, 0, "%s opens for %s", path, what);
}

int feat_probe(struct tide_features *out)
{
	libbpf_print_fn_t old_print;
	struct statfs sfs;
	int err;

	memset(out, 0, sizeof(*out));
	old_print = libbpf_set_print(silent_print);

	if (access(VMLINUX_BTF_PATH, R_OK) == 0)
		set(&out->r[FEAT_BTF], 0, VMLINUX_BTF_PATH " is readable");
	else
		set(&out->r[FEAT_BTF], -errno, "cannot read " VMLINUX_BTF_PATH ": %s",
		    strerror(errno));
	probe_tp_btf(&out->r[FEAT_TP_BTF], out->r[FEAT_BTF].ok);
	probe_raw_tp(&out->r[FEAT_RAW_TP]);
	probe_prog_type(&out->r[FEAT_TRACEPOINT], BPF_PROG_TYPE_TRACEPOINT, "tracepoint");
	probe_prog_type(&out->r[FEAT_TC], BPF_PROG_TYPE_SCHED_CLS, "tc (sched_cls)");

	if (statfs(BPFFS_PATH, &sfs) < 0)
		set(&out->r[FEAT_BPFFS], -errno, "cannot stat " BPFFS_PATH ": %s", strerror(errno));
	else if ((unsigned long)sfs.f_type != BPF_FS_MAGIC)
		set(&out->r[FEAT_BPFFS], -ENOENT,
		    "no bpffs mounted on " BPFFS_PATH " (mount -t bpf bpf " BPFFS_PATH ")");
	else
		set(&out->r[FEAT_BPFFS], 0, "bpffs mounted on " BPFFS_PATH);

	err = loop_probe();
	if (err)
		set(&out->r[FEAT_IO_URING], err, "cannot create an io_uring: %s%s", strerror(-err),
		    err == -EPERM ? " (kernel.io_uring_disabled?)" : "");
	else
		set(&out->r[FEAT_IO_URING], 0, "io_uring_queue_init() works");

	probe_path(&out->r[FEAT_BPF_STATS], BPF_STATS_PATH, O_WRONLY, "writing");
	probe_path(&out->r[FEAT_KVM], KVM_PATH, O_RDWR, "reading and writing");

	libbpf_set_print(old_print);
	return 0;
}

const char *feat_bpf_attach(const struct tide_features *f)
{
	if (f->r[FEAT_TP_BTF].ok)
		return "tp_btf";
	if (f->r[FEAT_RAW_TP].ok)
		return "raw_tp";
	return "none";
}

bool feat_essentials_ok(const struct tide_features *f)
{
	/* the loop is io_uring; without it there is no daemon */
	return f->r[FEAT_IO_URING].ok;
}

void feat_print_plain(FILE *out, const struct tide_features *f)
{
	int missing = 0;

	fprintf(out, "%-12s %-4s %s\n", "FEATURE", "OK", "DETAIL");
	for (int i = 0; i < FEAT__COUNT; i++)
		fprintf(out, "%-12s %-4s %s\n", names[i], f->r[i].ok ? "yes" : "no", f->r[i].detail);
	fprintf(out, "\nbpf attach: %s\n", feat_bpf_attach(f));
	/* one line for scripts and the build (features.mk) */
	fprintf(out, "summary: bpf attach %s; missing:", feat_bpf_attach(f));
	for (int i = 0; i < FEAT__COUNT; i++) {
		if (!f->r[i].ok) {
			fprintf(out, " %s", names[i]);
			missing++;
		}
	}
	fprintf(out, "%s\n", missing ? "" : " none");
}

struct json_object *feat_to_json(const struct tide_features *f)
{
	struct json_object *root = json_object_new_object();
	struct json_object *all = json_object_new_object();
	struct json_object *missing = json_object_new_array();

	if (!root || !all || !missing)
		goto cleanup;
	for (int i = 0; i < FEAT__COUNT; i++) {
		struct json_object *one = json_object_new_object();

		if (!one)
			goto cleanup;
		json_object_object_add(one, "available", json_object_new_boolean(f->r[i].ok));
		json_object_object_add(one, "detail", json_object_new_string(f->r[i].detail));
		json_object_object_add(all, names[i], one);
		if (!f->r[i].ok)
			json_object_array_add(missing, json_object_new_string(names[i]));
	}
	json_object_object_add(root, "features", all);
	json_object_object_add(root, "bpf_attach", json_object_new_string(feat_bpf_attach(f)));
	json_object_object_add(root, "missing", missing);
	return root;
cleanup:
	json_object_put(root);
	json_object_put(all);
	json_object_put(missing);
	return NULL;
}

struct json_object *feat_to_json_short(const struct tide_features *f)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	for (int i = 0; i < FEAT__COUNT; i++)
		json_object_object_add(o, names[i], json_object_new_boolean(f->r[i].ok));
	return o;
}

int feat_init(void)
{
	const struct feat_result *r;

	feat_probe(&fs.f);
	fs.probed = true;
	r = fs.f.r;

	if (r[FEAT_TP_BTF].ok)
		log_info("BPF attach path: tp_btf%s",
			 r[FEAT_RAW_TP].ok ? " (raw_tp also available)" : "");
	else if (r[FEAT_RAW_TP].ok)
		log_notice("BPF attach path: raw_tp (tp_btf unavailable: %s)", r[FEAT_TP_BTF].detail);
	else
		log_warn("no BPF attach path: tp_btf: %s; raw_tp: %s; "
			 "CPU metrics are unavailable",
			 r[FEAT_TP_BTF].detail, r[FEAT_RAW_TP].detail);

	for (int i = 0; i < FEAT__COUNT; i++) {
		if (r[i].ok || i == FEAT_TP_BTF || i == FEAT_RAW_TP)
			continue;
		/* /dev/kvm and BPF stats are nice to have: not worth a warning
		 * on a host that does without them */
		if (i == FEAT_KVM || i == FEAT_BPF_STATS || i == FEAT_TRACEPOINT)
			log_info("feature %s missing: %s", names[i], r[i].detail);
		else
			log_warn("feature %s missing: %s", names[i], r[i].detail);
	}
	if (!feat_essentials_ok(&fs.f)) {
		log_err("io_uring is unusable (%s); tided cannot run on this host",
			r[FEAT_IO_URING].detail);
		return r[FEAT_IO_URING].err ? r[FEAT_IO_URING].err : -EOPNOTSUPP;
	}
	return 0;
}

void feat_fini(void)
{
	memset(&fs, 0, sizeof(fs));
}

const struct tide_features *feat_get(void)
{
	return fs.probed ? &fs.f : NULL;
}
