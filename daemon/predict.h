/* SPDX-License-Identifier: GPL-2.0 */
/*
 * predict: what moving one VM to one destination would cost now: the
 * model's input made from what tided knows (the VM's memory, its dirty
 * curve, the configured or given bandwidth and downtime limit, the
 * destination's calibration), and the model's answer.
 *
 * Loop thread only; no libvirt call (the caller gives what it knows).
 */
#ifndef TIDE_PREDICT_H
#define TIDE_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tide.h"

struct json_object;

struct predict_req {
	const char *vm;			/* name or uuid */
	const char *dest;		/* peer name (its calibration); NULL: none known */
	uint64_t bandwidth_bytes_per_s; /* 0: migration_bandwidth_mib_s, else the link */
	uint32_t downtime_limit_ms;	/* 0: migration_downtime_limit_ms */
	bool auto_converge;
	/* dest's calibration already read (predict_load_calib), so that a
	 * plan of many VMs reads each file once; NULL: read it here */
	const struct model_calib *calib;
};

/*
 * dest's calibration from state_dir: 0, or -ENOENT when none was learnt
 * yet (out is then model_calib_init()'s); another error is logged and out
 * left at model_calib_init()'s too, so a prediction goes on without it.
 */
int predict_load_calib(const char *dest, struct model_calib *out);

/* Registers the "plan" control command.  Needs conf, ctl, store, dirty. */
int predict_init(void) __tide_must_check;
void predict_fini(void);

/* out->in.curve points at out->curve: do not copy a predict_out by value. */
struct predict_out {
	char uuid[37];
	struct model_curve curve;
	bool curve_measured;   /* false: no point yet, an empty curve assumed */
	uint64_t curve_age_ms; /* of the newest point */
	struct model_input in;
	struct model_result res;      /* tide's model */
	struct model_result textbook; /* the textbook round model, beside it */
};

/* 0, or -errno with a sentence in err (-ENOENT: no such VM). */
int predict_vm(const struct predict_req *req, struct predict_out *out, char *err,
	       size_t err_bytes) __tide_must_check;

/* The prediction as JSON members of obj (tidectl plan -j, records). */
void predict_fill_json(const struct predict_out *p, struct json_object *obj);

#endif /* TIDE_PREDICT_H */
