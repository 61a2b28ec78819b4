// SPDX-License-Identifier: GPL-2.0
/*
 * model_calib: what finished migrations to one destination taught the
 * model (throughput reached against the cap, the downtime beyond the last
 * pages, device-state time), kept as an EWMA and saved in state_dir so
 * that a restart does not forget it.  The model's only I/O: model.c and
 * model_curve.c stay pure.
 *
 * File: DIR/calib-DEST.json, one JSON object:
 *   {"version": 1, "dest": "...", "throughput_ratio": 0.93,
 *    "switchover_overhead_ms": 12.5, "device_state_ms": 4.0, "samples": 7}
 * written as DIR/calib-DEST.json.new, fsync'd, renamed over the old one,
 * then the directory fsync'd: a crash leaves the old file or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "model.h"
#include "procfs.h"
#include "util.h"

#define CALIB_VERSION 1
#define CALIB_MAX_FILE_BYTES 4096
#define CALIB_MAX_DEST_BYTES 128

static void set_err(char *err, size_t err_bytes, const char *fmt, ...) __tide_printf(3, 4);

static void set_err(char *err, size_t err_bytes, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_bytes)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_bytes, fmt, ap);
	va_end(ap);
}

void model_calib_init(struct model_calib *c)
{
	memset(c, 0, sizeof(*c));
	c->throughput_ratio = 1;
}

static double ewma(double old, double sample, uint32_t samples)
{
	if (!samples)
		return sample;
	return old + MODEL_CALIB_ALPHA * (sample - old);
}

int model_calib_update(struct model_calib *c, const struct model_calib_sample *s)
{
	double cap, link, reached, ratio, overhead_ms;

	if (!c || !s || !s->bandwidth_bytes_per_s || !s->precopy_ms || !s->precopy_bytes)
		return -EINVAL;
	cap = (double)s->bandwidth_bytes_per_s;
	link = s->link_bytes_per_s ? (double)s->link_bytes_per_s : cap;
	/* a rate divided by the time measured, not the time asked for */
	reached = (double)s->precopy_bytes * 1000.0 / (double)s->precopy_ms;
	ratio = reached / fmin(cap, link);
	/* beyond 1.5 the sample is of another migration than we think */
	if (ratio > 1.5)
		ratio = 1.5;
	/* what the downtime took beyond sending its bytes at link speed */
	overhead_ms = (double)s->downtime_ms - (double)s->downtime_bytes * 1000.0 / link;
	if (overhead_ms < 0)
		overhead_ms = 0;
	c->throughput_ratio = ewma(c->throughput_ratio, ratio, c->samples);
	/*
	 * Only a capped migration teaches the overhead: its last pages are
	 * few and their size is known to within a poll.  Uncapped, QEMU
	 * switches over with up to link x downtime limit still to send, a
	 * figure tided only estimates from the last sync, and the error went
	 * into the overhead (an idle 256 MiB guest's 290 ms downtime read as
	 * 220 ms of overhead on the testbed, where capped runs show 25-45).
	 * The first capped sample is taken as is (overhead still 0).
	 */
	if (cap < link)
		c->switchover_overhead_ms = ewma(c->switchover_overhead_ms, overhead_ms,
						 c->switchover_overhead_ms > 0 ? c->samples : 0);
	if (s->device_state_ms)
		c->device_state_ms = ewma(c->device_state_ms, (double)s->device_state_ms,
					  c->device_state_ms > 0 ? c->samples : 0);
	c->samples++;
	return 0;
}

void model_calib_apply(const struct model_calib *c, struct model_input *in)
{
	if (!c || !in || !c->samples)
		return;
	in->throughput_ratio = c->throughput_ratio;
	in->switchover_overhead_ms = (uint32_t)lround(c->switchover_overhead_ms);
}

/* Host names and addresses only: the name becomes part of a file name. */
static bool dest_ok(const char *dest)
{
	size_t n;

	if (!dest || !*dest || *dest == '.')
		return false;
	n = strlen(dest);
	if (n >= CALIB_MAX_DEST_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = dest[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ':'))
			return false;
	}
	return true;
}

static int calib_path(char *buf, size_t buf_bytes, const char *dir, const char *dest,
		      const char *suffix)
{
	int n = snprintf(buf, buf_bytes, "%s/calib-%s.json%s", dir, dest, suffix);

	return n < 0 || (size_t)n >= buf_bytes ? -ENAMETOOLONG : 0;
}

int model_calib_save(const char *dir, const char *dest, const struct model_calib *c, char *err,
		     size_t err_bytes)
{
	char path[4096], name[CALIB_MAX_DEST_BYTES + 16];
	struct json_object *o;
	char *text = NULL;
	int ret;

	if (!dir || !c || !dest_ok(dest)) {
		set_err(err, err_bytes, "cannot save calibration: bad destination name '%s'",
			dest ? dest : "(null)");
		return -EINVAL;
	}
	if (calib_path(path, sizeof(path), dir, dest, "")) {
		set_err(err, err_bytes, "cannot save calibration: path in '%s' too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(name, sizeof(name), "calib-%s.json", dest);
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "version", json_object_new_int(CALIB_VERSION));
	json_object_object_add(o, "dest", json_object_new_string(dest));
	json_object_object_add(o, "throughput_ratio", json_object_new_double(c->throughput_ratio));
	json_object_object_add(o, "switchover_overhead_ms",
			       json_object_new_double(c->switchover_overhead_ms));
	json_object_object_add(o, "device_state_ms", json_object_new_double(c->device_state_ms));
	json_object_object_add(o, "samples", json_object_new_int64(c->samples));
	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
		text = NULL;
	json_object_put(o);
	if (!text)
		return -ENOMEM;
	ret = util_write_file_atomic(dir, name, text, strlen(text));
	free(text);
	if (ret) {
		set_err(err, err_bytes, "cannot write '%s': %s", path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* A number field, finite and within [min, max]. */
static bool get_number(struct json_object *o, const char *key, double min, double max, double *out)
{
	struct json_object *v;
	double d;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return false;
	d = json_object_get_double(v);
	if (!isfinite(d) || d < min || d > max)
		return false;
	*out = d;
	return true;
}

int model_calib_load(const char *dir, const char *dest, struct model_calib *c, char *err,
		     size_t err_bytes)
{
	char path[4096], buf[CALIB_MAX_FILE_BYTES + 1];
	enum json_tokener_error jerr = json_tokener_success;
	struct json_tokener *tok;
	struct json_object *o, *v;
	double version, ratio, overhead, device, samples;
	const char *bad = NULL;
	size_t len = 0, end;
	ssize_t got;
	int ret;

	if (!c)
		return -EINVAL;
	model_calib_init(c);
	if (!dir || !dest_ok(dest)) {
		set_err(err, err_bytes, "cannot load calibration: bad destination name '%s'",
			dest ? dest : "(null)");
		return -EINVAL;
	}
	if (calib_path(path, sizeof(path), dir, dest, "")) {
		set_err(err, err_bytes, "cannot load calibration: path in '%s' too long", dir);
		return -ENAMETOOLONG;
	}
	/* one byte more than a file may have: a full buffer is a file too large */
	got = procfs_read_small(path, buf, sizeof(buf));
	ret = got < 0 ? (int)got : got == CALIB_MAX_FILE_BYTES ? -EFBIG : 0;
	len = got < 0 ? 0 : (size_t)got;
	if (ret == -EFBIG) {
		set_err(err, err_bytes, "'%s' is not a calibration file: larger than %d bytes",
			path, CALIB_MAX_FILE_BYTES - 1);
		return -EINVAL;
	}
	if (ret) {
		set_err(err, err_bytes, "cannot read '%s': %s", path, strerror(-ret));
		return ret;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = o ? json_tokener_get_parse_end(tok) : len;
	json_tokener_free(tok);
	while (end < len && buf[end] && strchr(" \t\r\n", buf[end]))
		end++;
	if (!o || jerr != json_tokener_success || end < len) {
		set_err(err, err_bytes, "'%s' is not a calibration file: %s", path,
			o			      ? "data after the JSON object" :
			jerr == json_tokener_continue ? "truncated JSON" :
							json_tokener_error_desc(jerr));
		json_object_put(o);
		return -EINVAL;
	}
	if (!json_object_is_type(o, json_type_object))
		bad = "not a JSON object";
	else if (!get_number(o, "version", CALIB_VERSION, CALIB_VERSION, &version))
		bad = "no \"version\": 1";
	else if (!json_object_object_get_ex(o, "dest", &v) ||
		 !json_object_is_type(v, json_type_string) ||
		 strcmp(json_object_get_string(v), dest) != 0)
		bad = "\"dest\" is not this destination";
	else if (!get_number(o, "throughput_ratio", 0.001, 1.5, &ratio))
		bad = "\"throughput_ratio\" missing or outside 0.001..1.5";
	else if (!get_number(o, "switchover_overhead_ms", 0, 3600e3, &overhead))
		bad = "\"switchover_overhead_ms\" missing or outside 0..3600000";
	else if (!get_number(o, "device_state_ms", 0, 3600e3, &device))
		bad = "\"device_state_ms\" missing or outside 0..3600000";
	else if (!get_number(o, "samples", 0, UINT32_MAX, &samples) || samples != floor(samples))
		bad = "\"samples\" missing or not a count";
	json_object_put(o);
	if (bad) {
		set_err(err, err_bytes, "'%s' is not a calibration file: %s", path, bad);
		return -EINVAL;
	}
	c->throughput_ratio = ratio;
	c->switchover_overhead_ms = overhead;
	c->device_state_ms = device;
	c->samples = (uint32_t)samples;
	return 0;
}
