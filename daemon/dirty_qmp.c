// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_qmp: the QMP commands of the opt-in monitor probe (dirty_probe_qmp)
 * and the reading of QEMU's replies.  Pure (no libvirt, no state): the
 * probe (dirty_probe.c) sends them through virDomainQemuMonitorCommand.
 *
 * QEMU 10 (qapi/migration.json, migration/dirtyrate.c):
 *   calc-dirty-rate {calc-time, calc-time-unit, sample-pages, mode}:
 *	calc-time-unit "millisecond" (since 8.2) makes calc-time ms, accepted
 *	in [MIN_CALC_TIME_MS, MAX_CALC_TIME_MS] = [50, 60000]; sample-pages
 *	(per GiB, page-sampling only) in [MIN_SAMPLE_PAGE_COUNT,
 *	MAX_SAMPLE_PAGE_COUNT] = [128, 4096]; "the dirty rate is already being
 *	measured." while one runs.  An older QEMU rejects an argument it does
 *	not know: that is how a QEMU without them is found out.
 *   query-dirty-rate {calc-time-unit}: status ("unstarted", "measuring",
 *	"measured"), start-time (s, host clock), calc-time (in the unit asked:
 *	the time QEMU actually slept, DirtyStat.calc_time_ms), sample-pages,
 *	mode, dirty-rate (MiB/s rounded down, once measured).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "dirty_int.h"

const char dirty_qmp_query_cmd[] =
	"{\"execute\":\"query-dirty-rate\",\"arguments\":{\"calc-time-unit\":\"millisecond\"}}";

int dirty_qmp_calc_cmd(char *buf, size_t len, uint32_t calc_ms, uint32_t sample_pages_per_gib)
{
	int n = snprintf(buf, len,
			 "{\"execute\":\"calc-dirty-rate\",\"arguments\":{\"calc-time\":%u,"
			 "\"calc-time-unit\":\"millisecond\",\"sample-pages\":%u,"
			 "\"mode\":\"page-sampling\"}}",
			 calc_ms, sample_pages_per_gib);

	return n > 0 && (size_t)n < len ? 0 : -ENOSPC;
}

/* reply's "return" object; or its error's desc in err and -EPROTO */
static int reply_return(const char *reply, struct json_object **root, struct json_object **ret,
			char *err, size_t err_len)
{
	struct json_object *e, *desc;

	*root = reply ? json_tokener_parse(reply) : NULL;
	if (!*root) {
		snprintf(err, err_len, "QEMU's reply is not JSON: '%.80s'", reply ? reply : "");
		return -EBADMSG;
	}
	if (json_object_object_get_ex(*root, "error", &e)) {
		snprintf(err, err_len, "QEMU refused it: %s",
			 json_object_object_get_ex(e, "desc", &desc) ? json_object_get_string(desc) :
								       "no reason given");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(*root, "return", ret)) {
		snprintf(err, err_len, "QEMU's reply has no \"return\": '%.80s'", reply);
		return -EBADMSG;
	}
	return 0;
}

int dirty_qmp_parse_calc(const char *reply, char *err, size_t err_len)
{
	struct json_object *root = NULL, *ret;
	int rc = reply_return(reply, &root, &ret, err, err_len);

	/* one calculation at a time, whoever started it: later */
	if (rc == -EPROTO && strstr(err, "already being measured"))
		rc = -EBUSY;
	json_object_put(root);
	return rc;
}

static bool get_int64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

int dirty_qmp_parse_query(const char *reply, struct dirty_qmp_rate *out, char *err, size_t err_len)
{
	struct json_object *root = NULL, *ret, *v;
	const char *status = "", *unit = "";
	int64_t x;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = reply_return(reply, &root, &ret, err, err_len);
	if (rc)
		goto cleanup;
	if (json_object_object_get_ex(ret, "status", &v))
		status = json_object_get_string(v);
	if (json_object_object_get_ex(ret, "calc-time-unit", &v))
		unit = json_object_get_string(v);
	if (json_object_object_get_ex(ret, "mode", &v))
		snprintf(out->mode, sizeof(out->mode), "%s", json_object_get_string(v));
	out->status = !strcmp(status, "measured")  ? DIRTY_QMP_MEASURED :
		      !strcmp(status, "measuring") ? DIRTY_QMP_MEASURING :
						     DIRTY_QMP_UNSTARTED;
	if (get_int64(ret, "start-time", &x))
		out->start_time_s = x;
	/* a QEMU without calc-time-unit would give seconds: not what we asked */
	if (strcmp(unit, "millisecond") != 0 || !get_int64(ret, "calc-time", &x) || x < 0 ||
	    x > UINT32_MAX) {
		snprintf(err, err_len, "QEMU's query-dirty-rate gives no calc-time in ms: '%.80s'",
			 reply);
		rc = -EOPNOTSUPP;
		goto cleanup;
	}
	out->calc_ms = (uint32_t)x;
	if (get_int64(ret, "sample-pages", &x) && x >= 0 && x <= UINT32_MAX)
		out->sample_pages_per_gib = (uint32_t)x;
	out->has_rate = get_int64(ret, "dirty-rate", &x);
	out->mib_per_s = out->has_rate ? (long long)x : 0;
cleanup:
	json_object_put(root);
	return rc;
}
