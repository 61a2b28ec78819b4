/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dirty_int: what dirty.c (the table, the figures) and dirty_probe.c (the
 * libvirt probes) share.  Not for other modules: they use dirty.h.
 */
#ifndef TIDE_DIRTY_INT_H
#define TIDE_DIRTY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dirty.h"
#include "vm.h"

#define DIRTY_PAGE_BYTES 4096
/* QEMU's DIRTYRATE_DEFAULT_SAMPLE_PAGES (migration/dirtyrate.h) */
#define DIRTY_SAMPLE_PAGES_PER_GIB 512
/* QEMU samples only RAM blocks of at least MIN_RAMBLOCK_SIZE (128 MiB) */
#define DIRTY_MIN_RAMBLOCK_BYTES (128ull << 20)
/* QEMU's MIN_SAMPLE_PAGE_COUNT, MAX_SAMPLE_PAGE_COUNT (migration/dirtyrate.h) */
#define DIRTY_QMP_SAMPLE_PAGES_MIN 128
#define DIRTY_QMP_SAMPLE_PAGES_MAX 4096
/* windows of the libvirt probe (whole seconds) and of the QMP probe */
#define DIRTY_N_WINDOWS_LIBVIRT 4
#define DIRTY_N_WINDOWS 7
/* the last readings of one window that are averaged into its point */
#define DIRTY_READINGS 4
#define DIRTY_MIG_POINTS (DIRTY_MAX_POINTS - DIRTY_N_WINDOWS)
#define DIRTY_ERR_BYTES 256

struct dirty_reading {
	uint64_t pages;
	uint64_t taken_ns;
};

/* One probe window and its last readings. */
struct dirty_win {
	uint32_t t_ms;		       /* as QEMU measured it (calc_period), 0: none yet */
	uint32_t sample_pages_per_gib; /* of its readings */
	struct dirty_reading r[DIRTY_READINGS];
	uint32_t n, next; /* readings kept, slot of the next one */
};

struct dirty_vm {
	char uuid[VM_UUID_BYTES];
	char name[64];
	uint64_t memory_bytes;
	bool seen; /* in the store at the last sync */
	bool migrating;
	bool probing;
	int timer_id;		    /* the wait of a running probe; 0: none */
	uint32_t win_idx;	    /* the window the next probe takes */
	uint32_t probe_window_ms;   /* of the running probe */
	bool probe_qmp;		    /* the running probe goes through the monitor */
	bool win_qmp;		    /* win[] holds the QMP probe's windows */
	uint64_t probe_start_ms;    /* loop clock */
	int64_t probe_start_real_s; /* CLOCK_REALTIME: QEMU's calc_start_time is */
	uint32_t stat_tries;
	uint64_t next_probe_ms; /* not before (loop clock) */
	struct dirty_win win[DIRTY_N_WINDOWS];
	struct dirty_point mig[DIRTY_MIG_POINTS]; /* dirty_add_point()'s */
	uint32_t n_mig;
	uint64_t probes_ok, probes_failed, probes_busy;
	char last_error[DIRTY_ERR_BYTES];
};

struct dirty_state {
	bool inited;
	uint64_t gen; /* a job of an older dirty_init() is stale */
	struct dirty_vm **vms;
	uint32_t n_vms, cap_vms;
	struct vconn *vc;
	int sched_timer;
	bool enabled;
	uint32_t interval_ms, budget;
	/* every delay (interval, window waits) is divided by it: tests run
	 * the real schedule faster; 1 otherwise */
	uint32_t time_scale;
	uint32_t probing;
	uint32_t sources_mask;
	bool sampling_worked, sampling_failing;
	bool qmp_wanted;	      /* dirty_probe_qmp */
	uint32_t qmp_sample_pages;    /* dirty_probe_sample_pages (per GiB) */
	bool qmp_worked, qmp_refused; /* refused: libvirt's API from then on */
	uint64_t probes_started, probes_ok, probes_failed, probes_busy, points_added;
};

extern struct dirty_state ds;
extern const uint32_t dirty_windows_libvirt_ms[DIRTY_N_WINDOWS_LIBVIRT];
extern const uint32_t dirty_windows_qmp_ms[DIRTY_N_WINDOWS];
/* the windows a VM's next probe cycles through */
bool dirty_use_qmp(void);
uint32_t dirty_n_windows(bool qmp);
uint32_t dirty_window_ms(bool qmp, uint32_t idx);

struct dirty_vm *dirty_vm_find(const char *uuid);
/* Create it if the store knows the VM; NULL otherwise (or no memory). */
struct dirty_vm *dirty_vm_get(const char *uuid);
void dirty_vm_sync(void); /* with the store's VMs */
/* A probe's reading of window idx. */
void dirty_vm_reading(struct dirty_vm *v, uint32_t idx, uint32_t t_ms, uint64_t pages,
		      uint32_t sample_pages_per_gib, uint64_t taken_ns);

/* Pure figures (dirty.c), unit-tested. */
uint64_t dirty_pages_of(long long mib_per_s, int period_s);
uint64_t dirty_sample_pages(uint64_t memory_bytes);
/* QEMU's samples of a guest at sample_pages_per_gib (0: the default 512) */
uint64_t dirty_samples_at(uint64_t memory_bytes, uint32_t sample_pages_per_gib);
/* W(calc_ms) from QEMU's MiB/s rounded down: the midpoint of the sample
 * counts that give that figure (exactly the count when one sample is worth
 * more than 1 MiB/s) */
uint64_t dirty_unround_pages(long long mib_per_s, uint32_t calc_ms, uint32_t sample_pages_per_gib,
			     uint64_t memory_bytes);
double dirty_sampling_confidence(uint64_t pages, uint64_t memory_bytes, uint32_t readings);
double dirty_sampling_confidence_at(uint64_t pages, uint64_t memory_bytes, uint32_t readings,
				    uint32_t sample_pages_per_gib);
/* A point's confidence after age_ns, 0 once stale; stale_ns from dirty_stale_ns(). */
double dirty_aged(double confidence, uint64_t age_ns, uint64_t stale_ns);
uint64_t dirty_stale_ns(void);
/* pages is too far from the mean of the earlier readings to be noise */
bool dirty_is_jump(uint64_t memory_bytes, uint64_t mean_pages, uint64_t pages, uint32_t t_ms);
bool dirty_is_jump_at(uint64_t memory_bytes, uint32_t sample_pages_per_gib, uint64_t mean_pages,
		      uint64_t pages, uint32_t t_ms);
/* rate, working set and their flags from out->points[0 .. nr_points),
 * fitted (dirty_fit.c); floor_pages: one sample's worth, the least error a
 * sampled point can have; max_pages: the guest's pages (0: unknown) */
void dirty_derive(struct dirty_info *out, double floor_pages, double max_pages);

/* dirty_fit.c */
struct dirty_fit_point {
	double t_s;
	double pages;
	double sigma_pages; /* its standard error, > 0 */
};

struct dirty_fit {
	enum dirty_shape shape;
	double rate_pages_per_s; /* a lower bound when rate_is_lower_bound */
	double set_pages;	 /* a lower bound when set_is_lower_bound */
	double chi2;
	bool rate_is_lower_bound, set_is_lower_bound;
};

double dirty_shape_pages(enum dirty_shape shape, double rate_pages_per_s, double set_pages,
			 double t_s);
/* -EINVAL: a point with t_s or sigma_pages <= 0; -ENODATA: no point */
int dirty_fit_curve(const struct dirty_fit_point *p, uint32_t n, double max_pages,
		    struct dirty_fit *out) __tide_must_check;

/* dirty_qmp.c: the monitor probe's commands and replies */
enum dirty_qmp_status {
	DIRTY_QMP_UNSTARTED,
	DIRTY_QMP_MEASURING,
	DIRTY_QMP_MEASURED,
};

struct dirty_qmp_rate {
	enum dirty_qmp_status status;
	long long start_time_s;	       /* host clock, whole seconds */
	uint32_t calc_ms;	       /* the period QEMU measured */
	uint32_t sample_pages_per_gib; /* as QEMU used them */
	bool has_rate;
	long long mib_per_s; /* rounded down */
	char mode[24];
};

extern const char dirty_qmp_query_cmd[];
/* -ENOSPC: buf too small */
int dirty_qmp_calc_cmd(char *buf, size_t len, uint32_t calc_ms,
		       uint32_t sample_pages_per_gib) __tide_must_check;
/* 0: started; -EBUSY: a calculation runs; -EPROTO: QEMU refused it (err
 * says why); -EBADMSG: not a QMP reply */
int dirty_qmp_parse_calc(const char *reply, char *err, size_t err_len) __tide_must_check;
/* as above; -EOPNOTSUPP: no calc-time in ms (a QEMU before 8.2) */
int dirty_qmp_parse_query(const char *reply, struct dirty_qmp_rate *out, char *err,
			  size_t err_len) __tide_must_check;

/* dirty_probe.c */
int dirty_probe_init(const char *uri);
void dirty_probe_fini(void);
/* a VM leaves the table: its probe's timer goes */
void dirty_probe_forget(struct dirty_vm *v);

#endif /* TIDE_DIRTY_INT_H */
