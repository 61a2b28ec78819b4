// SPDX-License-Identifier: GPL-2.0
/*
 * mig_escalate: what tide does to a migration it drives that falls behind
 * its prediction: the downtime limit stepped up, post-copy, abort.  The
 * rules, and why auto-converge is not a step, are in mig_drive.c's note.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "mig.h"
#include "mig_int.h"
#include "vconn.h"
#include "virt.h"

/* ---- escalation (mig's connection) ---------------------------------------------- */

enum drive_op { OP_DOWNTIME, OP_POSTCOPY, OP_ABORT };

struct op_job {
	uint64_t gen, id;
	char uuid[VM_UUID_BYTES];
	enum drive_op op;
	uint32_t value_ms;
};

static int op_run(virConnectPtr conn, void *arg)
{
	struct op_job *j = arg;
	virDomainPtr dom = NULL;
	int err;

	err = virt_domain_lookup_by_uuid_string(conn, j->uuid, &dom);
	if (err)
		return err;
	switch (j->op) {
	case OP_DOWNTIME:
		err = virt_domain_migrate_set_max_downtime(dom, j->value_ms);
		break;
	case OP_POSTCOPY:
		err = virt_domain_migrate_start_post_copy(dom);
		break;
	default:
		err = virt_domain_abort_job(dom);
		break;
	}
	virt_domain_free(dom);
	return err;
}

static void op_done(int result, const char *err, void *arg)
{
	struct op_job *j = arg;

	if (!mig_st.inited || j->gen != mig_st.gen || !result)
		return;
	log_warn("migration %llu: escalation failed: %s", (unsigned long long)j->id, err);
}

static const struct vconn_call op_call = {
	.what = "migration escalation",
	.run = op_run,
	.done = op_done,
	.release = free,
};

static void submit_op(struct mig_drive *d, enum drive_op op, uint32_t value_ms)
{
	struct op_job *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->gen = d->gen;
	j->id = d->id;
	snprintf(j->uuid, sizeof(j->uuid), "%s", d->uuid);
	j->op = op;
	j->value_ms = value_ms;
	if (!mig_st.vc || vconn_call(mig_st.vc, &op_call, j)) {
		log_warn("migration %llu: cannot reach libvirt to escalate",
			 (unsigned long long)d->id);
		free(j);
	}
}

/* One escalation into the record's "driven" member. */
static void note_step(struct mig_drive *d, uint64_t elapsed_ms, const char *action,
		      uint32_t value_ms, const char *why)
{
	struct json_object *driven = d->act ? d->act->rec->driven : NULL, *arr, *e;

	if (!driven)
		return;
	if (!json_object_object_get_ex(driven, "escalations", &arr)) {
		arr = json_object_new_array();
		if (!arr)
			return;
		json_object_object_add(driven, "escalations", arr);
	}
	e = json_object_new_object();
	if (!e)
		return;
	json_object_object_add(e, "at_ms", json_object_new_int64((int64_t)elapsed_ms));
	json_object_object_add(e, "action", json_object_new_string(action));
	if (value_ms)
		json_object_object_add(e, "downtime_limit_ms", json_object_new_int64(value_ms));
	json_object_object_add(e, "why", json_object_new_string(why));
	json_object_array_add(arr, e);
	mig_save();
}

static void escalate(struct mig_drive *d, const struct mig_stats *st, uint64_t elapsed_ms,
		     uint64_t predicted_ms)
{
	char why[MIG_ERR_BYTES / 2];

	char pred[64] = "predicted not to converge";

	if (predicted_ms)
		snprintf(pred, sizeof(pred), "%llu ms predicted", (unsigned long long)predicted_ms);
	snprintf(why, sizeof(why), "%llu ms in, %s, %llu MiB still to send after %llu passes",
		 (unsigned long long)elapsed_ms, pred,
		 (unsigned long long)(st->memory_remaining >> 20),
		 (unsigned long long)st->memory_iteration);
	d->steps++;
	if (d->downtime_ms < d->max_downtime_ms) {
		uint32_t next = d->downtime_ms * 2 > d->downtime_ms + 50 ? d->downtime_ms * 2 :
									   d->downtime_ms + 50;

		if (next > d->max_downtime_ms)
			next = d->max_downtime_ms;
		log_notice("migration %llu: domain '%s' behind its prediction (%s): downtime "
			   "limit %u -> %u ms",
			   (unsigned long long)d->id, d->name, why, d->downtime_ms, next);
		d->downtime_ms = next;
		submit_op(d, OP_DOWNTIME, next);
		note_step(d, elapsed_ms, "downtime_limit", next, why);
		return;
	}
	if (d->postcopy && !d->postcopy_started) {
		log_notice("migration %llu: domain '%s' still behind at its %u ms downtime "
			   "limit (%s): switching to post-copy",
			   (unsigned long long)d->id, d->name, d->downtime_ms, why);
		d->postcopy_started = true;
		submit_op(d, OP_POSTCOPY, 0);
		note_step(d, elapsed_ms, "postcopy", 0, why);
		return;
	}
	d->aborting = true;
	snprintf(d->abort_why, sizeof(d->abort_why),
		 "tide aborted it: still behind its prediction at the %u ms downtime limit "
		 "allowed (%s); the VM keeps running on this host",
		 d->downtime_ms, why);
	log_warn("migration %llu: domain '%s': %s", (unsigned long long)d->id, d->name, d->abort_why);
	submit_op(d, OP_ABORT, 0);
	note_step(d, elapsed_ms, "abort", 0, why);
}

void mig_drive_progress(struct mig_active *a, const struct mig_stats *st, uint64_t now_ns)
{
	const struct tide_conf *c = conf_get();
	struct mig_drive *d = a->drive;
	const struct mig_record *r = a->rec;
	uint64_t elapsed_ms = (now_ns - a->start_mono_ns) / 1000000, predicted_ms = 0;
	uint32_t timeout_ms = c ? c->migration_timeout_ms : 120000;
	uint32_t interval_ms = c ? c->migration_escalate_interval_ms : 2000;

	if (!d || d->aborting)
		return;
	if (r->has_prediction && r->pred.converges)
		predicted_ms = r->pred.total_time_ms;
	if (!d->next_check_ms) {
		uint32_t pct = c ? c->migration_escalate_pct : 150;
		uint32_t slack_ms = c ? c->migration_escalate_slack_ms : 3000;

		d->next_check_ms = predicted_ms ? predicted_ms * pct / 100 + slack_ms :
						  2ull * slack_ms;
		if (!d->next_check_ms)
			d->next_check_ms = 1;
	}
	if (elapsed_ms > timeout_ms) {
		char why[MIG_ERR_BYTES];

		d->aborting = true;
		snprintf(d->abort_why, sizeof(d->abort_why),
			 "tide aborted it: not finished within migration_timeout_ms (%u ms); the "
			 "VM keeps running on this host",
			 timeout_ms);
		snprintf(why, sizeof(why), "%u ms timeout", timeout_ms);
		log_warn("migration %llu: domain '%s': %s", (unsigned long long)d->id, d->name,
			 d->abort_why);
		submit_op(d, OP_ABORT, 0);
		note_step(d, elapsed_ms, "abort", 0, why);
		return;
	}
	/* the bulk pass: a longer limit cannot shorten it */
	if (elapsed_ms < d->next_check_ms || st->memory_iteration < 2 || d->postcopy_started)
		return;
	escalate(d, st, elapsed_ms, predicted_ms);
	d->next_check_ms = elapsed_ms + interval_ms;
}
