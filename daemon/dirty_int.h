/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dirty_int: what dirty.c (the table, the figures) and dirty_probe.c (the
 * libvirt probes) share.  Not for other modules: they use dirty.h.
 */
#ifndef TIDE_DIRTY_INT_H
#define TIDE_DIRTY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "dirty.h"
#include "vm.h"

#define DIRTY_PAGE_BYTES 4096
/* QEMU's DIRTYRATE_DEFAULT_SAMPLE_PAGES (migration/dirtyrate.h) */
#define DIRTY_SAMPLE_PAGES_PER_GIB 512
/* QEMU samples only RAM blocks of at least MIN_RAMBLOCK_SIZE (128 MiB) */
#define DIRTY_MIN_RAMBLOCK_BYTES (128ull << 20)
#define DIRTY_N_WINDOWS 4
/* the last readings of one window that are averaged into its point */
#define DIRTY_READINGS 4
#define DIRTY_MIG_POINTS (DIRTY_MAX_POINTS - DIRTY_N_WINDOWS)
#define DIRTY_ERR_BYTES 256

struct dirty_reading {
	uint64_t pages;
	uint64_t taken_ns;
};

/* One probe window (1, 2, 4, 8 s) and its last readings. */
struct dirty_win {
	uint32_t t_ms; /* as QEMU measured it (calc_period), 0: none yet */
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
	uint32_t probe_window_s;    /* of the running probe */
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
	uint64_t probes_started, probes_ok, probes_failed, probes_busy, points_added;
};

extern struct dirty_state ds;
extern const uint32_t dirty_windows_s[DIRTY_N_WINDOWS];

struct dirty_vm *dirty_vm_find(const char *uuid);
/* Create it if the store knows the VM; NULL otherwise (or no memory). */
struct dirty_vm *dirty_vm_get(const char *uuid);
void dirty_vm_sync(void); /* with the store's VMs */
/* A probe's reading of window idx. */
void dirty_vm_reading(struct dirty_vm *v, uint32_t idx, uint32_t t_ms, uint64_t pages,
		      uint64_t taken_ns);

/* Pure figures (dirty.c), unit-tested. */
uint64_t dirty_pages_of(long long mib_per_s, int period_s);
uint64_t dirty_sample_pages(uint64_t memory_bytes);
double dirty_sampling_confidence(uint64_t pages, uint64_t memory_bytes, uint32_t readings);
/* A point's confidence after age_ns, 0 once stale; stale_ns from dirty_stale_ns(). */
double dirty_aged(double confidence, uint64_t age_ns, uint64_t stale_ns);
uint64_t dirty_stale_ns(void);
/* pages is too far from the mean of the earlier readings to be noise */
bool dirty_is_jump(uint64_t memory_bytes, uint64_t mean_pages, uint64_t pages, uint32_t t_ms);
/* rate, working set and their flags from out->points[0 .. nr_points) */
void dirty_derive(struct dirty_info *out);

/* dirty_probe.c */
int dirty_probe_init(const char *uri);
void dirty_probe_fini(void);
/* a VM leaves the table: its probe's timer goes */
void dirty_probe_forget(struct dirty_vm *v);

#endif /* TIDE_DIRTY_INT_H */
