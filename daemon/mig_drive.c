// SPDX-License-Identifier: GPL-2.0
/*
 * mig_drive: the migrations tide starts (mig.h, mig_start()), from the
 * order to the end of libvirt's job.
 *
 * Start.  Each migration gets its own vconn to the local libvirt: libvirt's
 * virDomainMigrateToURI3() with VIR_MIGRATE_PEER2PEER blocks its caller
 * until the migration has ended, so it must not sit in front of the polls
 * and the escalations on mig's own connection (a vconn's calls run in
 * order), and its deadline is the migration's (migration_timeout_ms plus a
 * margin), not a libvirt call's.  On that connection's worker, in order:
 *   1. the VM's expected CPUs into its live metadata (<move cpus=.../> in
 *      namespace urn:tide:1): the domain XML carries it to the
 *      destination, whose libvirt hook gives it to the admission there;
 *   2. virDomainMigrateSetMaxDowntime(): libvirt has no migration
 *      parameter for QEMU's downtime-limit, and sets it through
 *      migrate-set-parameters, which QEMU takes before a migration starts
 *      and keeps for it;
 *   3. virDomainMigrateToURI3(peer's URI, {bandwidth}, LIVE | PEER2PEER
 *      [| PERSIST_DEST | UNDEFINE_SOURCE for a persistent domain]
 *      [| AUTO_CONVERGE] [| POSTCOPY]).
 * The record exists from the order on (mig_act_begin_known), so that the
 * caller has its id and a refusal before any byte moved (the destination's
 * admission says no at prepare) is a record too, with 0 bytes.
 *
 * Escalation.  Every poll of the running job (MIG_POLL_MS) compares the
 * time elapsed with the prediction made at the start.  Once it is past
 * migration_escalate_pct % of the predicted total plus
 * migration_escalate_slack_ms (or that slack alone, doubled, for a
 * migration predicted not to converge that was forced), one step, then
 * another every migration_escalate_interval_ms while it stays behind:
 *   - the downtime limit doubled, up to the VM's allowed maximum
 *     (QEMU recomputes its switch-over threshold from it at once);
 *   - post-copy (virDomainMigrateStartPostCopy), only when both the order
 *     and migration_postcopy allow it: a VM that dirties faster than the
 *     link carries then finishes, at the price of running on pages
 *     fetched over the network, and of the VM if the link dies;
 *   - abort (virDomainAbortJob): QEMU stops sending and the VM keeps
 *     running on this host; the record says why.
 * Auto-converge is not a step: QEMU refuses to change capabilities while a
 * migration runs (migrate-set-capabilities: "There's a migration process in
 * progress"), so the planner sets it from the start when the model says it
 * is needed.  No step is taken during the bulk pass: raising the limit
 * cannot shorten it, and aborting it only wastes what was sent; a migration
 * that overruns migration_timeout_ms is aborted wherever it is.
 *
 * Loop thread only, but for the run functions of the calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "conf.h"
#include "log.h"
#include "loop.h"
#include "mig.h"
#include "mig_int.h"
#include "react.h"
#include "store.h"
#include "util.h"
#include "vconn.h"
#include "virt.h"

/* beyond migration_timeout_ms, the blocking call's own deadline */
#define DRIVE_CALL_MARGIN_MS 30000
#define DRIVE_METADATA_URI "urn:tide:1"

static struct mig_drive *drives;

static void drive_free_if_over(struct mig_drive *d);

/* ---- the order's blocking call (its own connection) --------------------------- */

struct migrate_job {
	struct mig_drive *d; /* loop side only; the run fn uses the copies */
	uint64_t gen;
	char uuid[VM_UUID_BYTES];
	char dest_uri[MIG_URI_BYTES];
	uint32_t bandwidth_mib_s, downtime_ms;
	bool auto_converge, postcopy;
	double cpus_expected;
	char source[64];	  /* this host's name, for the destination's log */
	char note[MIG_ERR_BYTES]; /* what did not work on the way, not fatal */
};

static int migrate_run(virConnectPtr conn, void *arg)
{
	struct migrate_job *j = arg;
	virTypedParameterPtr params = NULL;
	int n_params = 0, max_params = 0, err;
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER;
	virDomainPtr dom = NULL;
	bool persistent = false;

	err = virt_domain_lookup_by_uuid_string(conn, j->uuid, &dom);
	if (err)
		return err;
	if (j->cpus_expected >= 0) {
		char xml[160];

		snprintf(xml, sizeof(xml), "<move cpus='%.3f' source='%s'/>", j->cpus_expected,
			 j->source);
		if (virt_domain_set_metadata(dom, xml, "tide", DRIVE_METADATA_URI))
			snprintf(j->note, sizeof(j->note), "%s", virt_last_error());
	}
	if (j->downtime_ms) {
		err = virt_domain_migrate_set_max_downtime(dom, j->downtime_ms);
		if (err)
			goto cleanup;
	}
	if (virt_domain_is_persistent(dom, &persistent) == 0 && persistent)
		flags |= VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
	if (j->auto_converge)
		flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (j->postcopy)
		flags |= VIR_MIGRATE_POSTCOPY;
	if (j->bandwidth_mib_s &&
	    virTypedParamsAddULLong(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_BANDWIDTH,
				    j->bandwidth_mib_s) < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = virt_domain_migrate_to_uri3(dom, j->dest_uri, params, n_params, flags);
cleanup:
	virTypedParamsFree(params, n_params);
	virt_domain_free(dom);
	return err;
}

static void on_close_deferred(void *arg)
{
	struct mig_drive *d = arg;

	d->defer_pending = false;
	if (d->orphan) {
		free(d);
		return;
	}
	if (d->vc) {
		vconn_close(d->vc);
		d->vc = NULL;
	}
	drive_free_if_over(d);
}

/* Not from inside the connection's own callback (on_state, a call's done). */
static void close_later(struct mig_drive *d)
{
	if (d->defer_pending)
		return;
	d->defer_pending = true;
	loop_defer(&d->close_defer, on_close_deferred, d);
}

static void migrate_done(int result, const char *err, void *arg)
{
	struct migrate_job *j = arg;
	struct mig_drive *d = j->d;

	if (!mig_st.inited || j->gen != mig_st.gen)
		return;
	d->call_done = true;
	/* first: a pending close keeps d alive through the record's end */
	close_later(d);
	if (j->note[0])
		log_warn("migration %llu: %s; the destination admits it by its vCPUs",
			 (unsigned long long)d->id, j->note);
	if (result)
		snprintf(d->call_err, sizeof(d->call_err), "%s",
			 err && *err ? err : strerror(-result));
	if (d->act) {
		if (result && !d->act->job_seen)
			/* refused or failed before QEMU sent anything */
			mig_act_end(d->act, MIG_FAILED, NULL, d->call_err);
		else
			mig_poll_now(d->act);
	} else if (result) {
		struct mig_record *r = mig_history_find(&mig_st.h, d->id);

		if (r && !r->error[0]) {
			snprintf(r->error, sizeof(r->error), "%s", d->call_err);
			mig_save();
		}
	}
}

static void migrate_release(void *arg)
{
	free(arg);
}

static const struct vconn_call migrate_call = {
	.what = "virDomainMigrateToURI3",
	.run = migrate_run,
	.done = migrate_done,
	.release = migrate_release,
};

static void fail_before_call(struct mig_drive *d, const char *why)
{
	snprintf(d->call_err, sizeof(d->call_err), "%s", why);
	d->call_done = true;
	close_later(d); /* first: it keeps d alive through the record's end */
	if (d->act)
		mig_act_end(d->act, MIG_FAILED, NULL, why);
}

static void on_state(struct vconn *vc, bool up, void *arg)
{
	struct mig_drive *d = arg;
	struct migrate_job *j;
	char why[MIG_ERR_BYTES];

	if (d->submitted || d->call_done)
		return;
	if (!up) {
		snprintf(why, sizeof(why), "cannot start the migration: %s",
			 vconn_last_error(vc)[0] ? vconn_last_error(vc) : "libvirt is unreachable");
		fail_before_call(d, why);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		fail_before_call(d, "out of memory starting the migration");
		return;
	}
	j->d = d;
	j->gen = d->gen;
	snprintf(j->uuid, sizeof(j->uuid), "%s", d->uuid);
	snprintf(j->dest_uri, sizeof(j->dest_uri), "%s", d->dest_uri);
	j->bandwidth_mib_s = d->bandwidth_mib_s;
	j->downtime_ms = d->downtime_ms;
	j->auto_converge = d->auto_converge;
	j->postcopy = d->postcopy;
	j->cpus_expected = d->cpus_expected;
	if (gethostname(j->source, sizeof(j->source)) || !j->source[0])
		snprintf(j->source, sizeof(j->source), "unknown");
	j->source[sizeof(j->source) - 1] = '\0';
	/* a name the hook accepts: letters, digits, '-', '_', '.' */
	for (char *p = j->source; *p; p++)
		if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			*p = '_';
	if (vconn_call(vc, &migrate_call, j)) {
		free(j);
		fail_before_call(d, "cannot submit the migration to libvirt");
		return;
	}
	d->submitted = true;
}

/* ---- the end ------------------------------------------------------------------------ */

const char *mig_drive_ending(struct mig_active *a)
{
	struct mig_drive *d = a->drive;

	if (!d)
		return NULL;
	if (d->abort_why[0])
		return d->abort_why;
	return d->call_err[0] ? d->call_err : NULL;
}

/* The reaction hooks' event: vm-moved, or migration-failed with why. */
static void react_to(const struct mig_drive *d, const struct mig_record *r)
{
	char down[24], total[24];

	if (r->result == MIG_COMPLETED) {
		struct react_var v[] = { { "VM", r->domain },	  { "UUID", r->uuid },
					 { "SOURCE", "" },	  { "DESTINATION", d->dest },
					 { "DOWNTIME_MS", down }, { "TOTAL_TIME_MS", total } };
		char self[256];

		if (gethostname(self, sizeof(self)))
			snprintf(self, sizeof(self), "localhost");
		self[sizeof(self) - 1] = '\0';
		v[2].value = self;
		snprintf(down, sizeof(down), "%llu", (unsigned long long)r->act.downtime_ms);
		snprintf(total, sizeof(total), "%llu", (unsigned long long)r->act.time_elapsed_ms);
		if (react_event("vm-moved", v, ARRAY_SIZE(v)))
			log_warn("migration %llu: the vm-moved hooks could not be queued",
				 (unsigned long long)r->id);
		return;
	}
	{
		struct react_var v[] = { { "VM", r->domain },
					 { "UUID", r->uuid },
					 { "DESTINATION", d->dest },
					 { "REASON",
					   r->error[0] ? r->error : mig_result_name(r->result) } };

		if (react_event("migration-failed", v, ARRAY_SIZE(v)))
			log_warn("migration %llu: the migration-failed hooks could not be queued",
				 (unsigned long long)r->id);
	}
}

void mig_drive_ended(struct mig_active *a)
{
	struct mig_drive *d = a->drive;

	if (!d)
		return;
	react_to(d, a->rec);
	a->drive = NULL;
	d->act = NULL;
	if (d->done)
		d->done(a->rec, d->arg);
	d->done = NULL;
	drive_free_if_over(d);
}

static void drive_unlink(struct mig_drive *d)
{
	for (struct mig_drive **pp = &drives; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			return;
		}
	}
}

/* Over when both the record and the call have ended and the connection is closed. */
static void drive_free_if_over(struct mig_drive *d)
{
	if (d->act || !d->call_done || d->vc || d->defer_pending)
		return;
	drive_unlink(d);
	free(d);
}

void mig_drive_fini(void)
{
	while (drives) {
		struct mig_drive *d = drives;

		drives = d->next;
		if (d->act)
			d->act->drive = NULL;
		if (d->vc)
			vconn_close(d->vc);
		d->vc = NULL;
		if (d->defer_pending)
			d->orphan = true; /* freed by its deferred close */
		else
			free(d);
	}
}

/* ---- the order ---------------------------------------------------------------------- */

static struct json_object *driven_json(const struct mig_drive *d, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "origin", json_object_new_string("tide"));
	json_object_object_add(o, "reason", json_object_new_string(reason ? reason : "manual"));
	json_object_object_add(o, "bandwidth_mib_s", json_object_new_int64(d->bandwidth_mib_s));
	json_object_object_add(o, "downtime_limit_ms", json_object_new_int64(d->downtime_ms));
	json_object_object_add(o, "max_downtime_ms", json_object_new_int64(d->max_downtime_ms));
	json_object_object_add(o, "auto_converge", json_object_new_boolean(d->auto_converge));
	json_object_object_add(o, "postcopy", json_object_new_boolean(d->postcopy));
	json_object_object_add(o, "cpus_expected",
			       d->cpus_expected >= 0 ? json_object_new_double(d->cpus_expected) :
						       NULL);
	json_object_object_add(o, "escalations", json_object_new_array());
	return o;
}

static const struct conf_peer *find_peer(const struct tide_conf *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_peers; i++)
		if (!strcmp(c->peers[i].name, name))
			return &c->peers[i];
	return NULL;
}

int mig_start(const struct mig_order *o, mig_done_fn done, void *arg, uint64_t *id, char *err,
	      size_t err_bytes)
{
	const struct tide_conf *c = conf_get();
	const struct store_vm *vm;
	const struct vm_desc *desc;
	const struct conf_peer *peer;
	struct mig_drive *d = NULL;
	struct mig_active *a;
	struct vconn_opts vo = { 0 };
	struct mig_known k = { 0 };
	int ret;

	if (!mig_st.inited || !c) {
		snprintf(err, err_bytes, "migrations are not set up in this tided");
		return -ENOTCONN;
	}
	vm = o->vm ? store_vm_find(o->vm) : NULL;
	if (!vm) {
		snprintf(err, err_bytes, "no VM '%s' on this host", o->vm ? o->vm : "");
		return -ENOENT;
	}
	desc = store_vm_desc(vm);
	if (desc->state && strcmp(desc->state, "running") != 0) {
		snprintf(err, err_bytes, "VM '%s' is %s, not running: only a running VM moves live",
			 desc->name, desc->state);
		return -EINVAL;
	}
	peer = find_peer(c, o->dest);
	if (!peer) {
		snprintf(err, err_bytes, "'%s' is not one of this host's peers (key 'peers' of %s)",
			 o->dest ? o->dest : "", c->path ? c->path : "the configuration");
		return -EINVAL;
	}
	a = mig_act_find(desc->uuid);
	if (a) {
		snprintf(err, err_bytes, "a migration of VM '%s' already runs (record %llu)",
			 desc->name, (unsigned long long)a->rec->id);
		return -EBUSY;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->gen = mig_st.gen;
	snprintf(d->uuid, sizeof(d->uuid), "%s", desc->uuid);
	snprintf(d->name, sizeof(d->name), "%s", desc->name);
	snprintf(d->dest, sizeof(d->dest), "%s", peer->name);
	snprintf(d->dest_uri, sizeof(d->dest_uri), "%s", peer->uri);
	d->bandwidth_mib_s = o->bandwidth_mib_s ? o->bandwidth_mib_s : c->migration_bandwidth_mib_s;
	d->downtime_ms = o->downtime_limit_ms ? o->downtime_limit_ms : c->migration_downtime_limit_ms;
	d->max_downtime_ms = o->max_downtime_ms ? o->max_downtime_ms : c->migration_max_downtime_ms;
	if (d->max_downtime_ms < d->downtime_ms)
		d->max_downtime_ms = d->downtime_ms;
	d->auto_converge = o->auto_converge;
	d->postcopy = o->postcopy && c->migration_postcopy;
	d->cpus_expected = o->cpus_expected;
	d->done = done;
	d->arg = arg;
	vo.uri = mig_st.uri;
	vo.call_timeout_ms = c->migration_timeout_ms + DRIVE_CALL_MARGIN_MS;
	vo.reconnect_max_ms = c->libvirt_reconnect_max_ms;
	vo.on_state = on_state;
	vo.arg = d;
	ret = vconn_open(&vo, &d->vc);
	if (ret) {
		snprintf(err, err_bytes,
			 "cannot open a libvirt connection to '%s' for the migration: %s",
			 mig_st.uri, strerror(-ret));
		free(d);
		return ret;
	}
	k.dest = d->dest;
	k.bandwidth_bytes_per_s = (uint64_t)d->bandwidth_mib_s << 20;
	k.downtime_limit_ms = d->downtime_ms;
	k.auto_converge = d->auto_converge;
	a = mig_act_begin_known(d->uuid, d->name, util_monotonic_ns(), &k);
	if (!a) {
		snprintf(err, err_bytes, "out of memory recording the migration of VM '%s'", d->name);
		vconn_close(d->vc);
		free(d);
		return -ENOMEM;
	}
	a->rec->driven = driven_json(d, o->reason);
	a->drive = d;
	d->act = a;
	d->id = a->rec->id;
	d->next = drives;
	drives = d;
	mig_save();
	log_info("migration %llu: tide moves domain '%s' to '%s' (%s): %u MiB/s cap, %u ms "
		 "downtime limit (up to %u)%s%s",
		 (unsigned long long)d->id, d->name, d->dest, o->reason ? o->reason : "manual",
		 d->bandwidth_mib_s, d->downtime_ms, d->max_downtime_ms,
		 d->auto_converge ? ", auto-converge" : "", d->postcopy ? ", post-copy allowed" : "");
	if (id)
		*id = d->id;
	return 0;
}

uint32_t mig_driven(void)
{
	uint32_t n = 0;

	for (const struct mig_drive *d = drives; d; d = d->next)
		n += d->act != NULL;
	return n;
}

bool mig_running(const char *uuid)
{
	return uuid && mig_act_find(uuid) != NULL;
}

const struct mig_history *mig_records(void)
{
	return &mig_st.h;
}
