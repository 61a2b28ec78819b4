/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reply: one command sent to tided, and the one set of accessors through
 * which every tidectl printer reads the reply's members.
 *
 * A member that a printer needs and the reply lacks, or holds with another
 * type, is an error that names the member and the command, never a silent
 * 0 or "-": it means tided and tidectl disagree on the schema (two
 * versions), and a made-up figure would be believed.  The accessors return
 * a neutral value (0, false, "-", NULL) so the printer can run on; the
 * first miss is kept in the reply and reply_check() reports it through
 * p_err() (stderr, or {"error": ...} on stdout in JSON mode).  Printers
 * print into a cli_buf, shown only when reply_check() passes, so a wanting
 * reply prints its error and nothing else.
 *
 * Members that tided sends only in some cases (kvm_exits, history; see
 * tidectl(8)) are read with reply_opt().  A JSON null string reads as "-",
 * as before: tided sends null where it has no name to give.
 */
#ifndef TIDE_REPLY_H
#define TIDE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <json-c/json.h>

#define REPLY_CMD_BYTES 64
#define REPLY_MISS_BYTES 256

struct reply {
	struct json_object *obj;     /* tided's reply without "ok"; owned */
	char cmd[REPLY_CMD_BYTES];   /* the command it answers, for messages */
	char miss[REPLY_MISS_BYTES]; /* the first member found wanting; "" */
};

/* {"cmd": cmd}, to add arguments to; NULL when out of memory. */
struct json_object *reply_request(const char *cmd);
/*
 * Send req (consumed; NULL means out of memory) to tided at cli's socket.
 * 0 and r filled, or -errno after p_err(): transport failures and tided's
 * own {"error": ...} alike.
 */
int reply_call(struct reply *r, struct json_object *req);
/* "vm show" / "host show": rates over window_ms, of one VM (vm) or all (NULL). */
int reply_call_show(struct reply *r, const char *cmd, const char *vm, int window_ms);
/* Fill r with obj (a reference is taken over) answering cmd. */
void reply_adopt(struct reply *r, const char *cmd, struct json_object *obj);
void reply_free(struct reply *r);
/* 0, or -EPROTO after p_err() naming the first wanting member and the command. */
int reply_check(const struct reply *r);

/*
 * o's member key of type type (json_type_double takes integers too);
 * NULL when absent, null or of another type, which r records.
 */
struct json_object *reply_get(struct reply *r, struct json_object *o, const char *key,
			      enum json_type type);
/* o's member key, NULL when absent: for the members tided may leave out. */
struct json_object *reply_opt(struct json_object *o, const char *key);
struct json_object *reply_object(struct reply *r, struct json_object *o, const char *key);
struct json_object *reply_array(struct reply *r, struct json_object *o, const char *key);
double reply_num(struct reply *r, struct json_object *o, const char *key);
int64_t reply_int(struct reply *r, struct json_object *o, const char *key);
bool reply_bool(struct reply *r, struct json_object *o, const char *key);
/* the string made safe for the terminal (cli_safe); "-" when null */
const char *reply_str(struct reply *r, struct json_object *o, const char *key, char *buf,
		      size_t buf_bytes);
/* length of an array from reply_array() (0 for NULL) */
size_t reply_len(struct json_object *array);

/*
 * Print r: as it is in JSON mode, else through its plain printer, shown
 * only when r had every member the printer read.  0 or -errno.
 */
int reply_show(struct reply *r, void (*print)(FILE *out, struct reply *r));

#endif /* TIDE_REPLY_H */
