// SPDX-License-Identifier: GPL-2.0
/*
 * reply: asking tided, and reading its reply's members.  See reply.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctl_client.h"
#include "reply.h"

#define REPLY_ERR_BYTES 512

struct json_object *reply_request(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	if (req)
		json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

void reply_adopt(struct reply *r, const char *cmd, struct json_object *obj)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd);
	r->obj = obj;
}

void reply_free(struct reply *r)
{
	json_object_put(r->obj);
	r->obj = NULL;
}

int reply_call(struct reply *r, struct json_object *req)
{
	struct json_object *obj = NULL, *e;
	char err[REPLY_ERR_BYTES];
	const char *cmd;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!req) {
		p_err("out of memory");
		return -ENOMEM;
	}
	cmd = json_object_get_string(json_object_object_get(req, "cmd"));
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd ? cmd : "?");
	ret = ctl_client_call(cli.socket_path, req, cli.timeout_ms, &obj, err, sizeof(err));
	json_object_put(req);
	if (ret) {
		p_err("%s", err);
		return ret;
	}
	if (json_object_object_get_ex(obj, "error", &e)) {
		p_err("%s", json_object_get_string(e));
		json_object_put(obj);
		return -EPROTO;
	}
	/* "ok" is transport, not data */
	json_object_object_del(obj, "ok");
	r->obj = obj;
	return 0;
}

int reply_call_show(struct reply *r, const char *cmd, const char *vm, int window_ms)
{
	struct json_object *req = reply_request(cmd);

	if (req && vm)
		json_object_object_add(req, "vm", json_object_new_string(vm));
	if (req)
		json_object_object_add(req, "window_ms", json_object_new_int(window_ms));
	return reply_call(r, req);
}

int reply_check(const struct reply *r)
{
	if (!r->miss[0])
		return 0;
	p_err("%s", r->miss);
	return -EPROTO;
}

static const char *type_name(enum json_type type)
{
	switch (type) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "?";
}

struct json_object *reply_opt(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

struct json_object *reply_get(struct reply *r, struct json_object *o, const char *key,
			      enum json_type type)
{
	struct json_object *v;
	enum json_type got;

	/* no parent: its own miss is recorded already */
	if (!o)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (!r->miss[0])
			snprintf(r->miss, sizeof(r->miss),
				 "tided's reply to '%s' has no '%s' "
				 "(tided and tidectl of different versions? see "
				 "'tidectl version')",
				 r->cmd, key);
		return NULL;
	}
	got = json_object_get_type(v);
	if (got == type || (type == json_type_double && got == json_type_int))
		return v;
	if (!r->miss[0])
		snprintf(r->miss, sizeof(r->miss),
			 "tided's reply to '%s' has '%s' as %s, "
			 "not %s",
			 r->cmd, key, type_name(got), type_name(type));
	return NULL;
}

struct json_object *reply_object(struct reply *r, struct json_object *o, const char *key)
{
	return reply_get(r, o, key, json_type_object);
}

struct json_object *reply_array(struct reply *r, struct json_object *o, const char *key)
{
	return reply_get(r, o, key, json_type_array);
}

double reply_num(struct reply *r, struct json_object *o, const char *key)
{
	struct json_object *v = reply_get(r, o, key, json_type_double);

	return v ? json_object_get_double(v) : 0.0;
}

int64_t reply_int(struct reply *r, struct json_object *o, const char *key)
{
	struct json_object *v = reply_get(r, o, key, json_type_double);

	return v ? json_object_get_int64(v) : 0;
}

bool reply_bool(struct reply *r, struct json_object *o, const char *key)
{
	struct json_object *v = reply_get(r, o, key, json_type_boolean);

	return v ? json_object_get_boolean(v) : false;
}

const char *reply_str(struct reply *r, struct json_object *o, const char *key, char *buf,
		      size_t buf_bytes)
{
	struct json_object *v;

	/* json-c holds a null member as a NULL object */
	if (o && json_object_object_get_ex(o, key, &v) && !v)
		return "-";
	v = reply_get(r, o, key, json_type_string);
	if (!v)
		return "-";
	return cli_safe(json_object_get_string(v), buf, buf_bytes);
}

size_t reply_len(struct json_object *array)
{
	return array ? json_object_array_length(array) : 0;
}

/*
 * Print r: as it is in JSON mode, else through its plain printer, shown
 * only when r had every member the printer read.
 */
int reply_show(struct reply *r, void (*print)(FILE *out, struct reply *r))
{
	struct cli_buf buf;
	FILE *out;
	int err;

	if (cli.json) {
		cli_print_json(r->obj);
		return 0;
	}
	out = cli_buf_open(&buf);
	if (!out)
		return -ENOMEM;
	print(out, r);
	err = reply_check(r);
	cli_buf_close(&buf, !err);
	return err;
}
