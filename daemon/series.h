/* SPDX-License-Identifier: GPL-2.0 */
/*
 * series: the table of every figure the store keeps, one row a series:
 * its name, unit, kind, what carries it, and how show and the export name it.
 *
 * Adding a figure (the dirty rate, KVM exits by reason) is a value of enum
 * series and a row of series_table[] (series.c), then its reader in
 * collect.  Network series are the VM's side: rx is what the VM received
 * (the tap's host-side tx); collect turns the tap's counters once.
 */
#ifndef TIDE_SERIES_H
#define TIDE_SERIES_H

#include <stdbool.h>
#include <stdint.h>

enum series {
	/* per vCPU thread, summed per VM */
	SERIES_CPU_NS,
	SERIES_WAIT_NS,
	SERIES_SWITCHES,
	/* per tap, summed per VM; the VM's side */
	SERIES_RX_BYTES,
	SERIES_RX_PACKETS,
	SERIES_RX_DROPS,
	SERIES_TX_BYTES,
	SERIES_TX_PACKETS,
	SERIES_TX_DROPS,
	/* per VM (its QEMU process) */
	SERIES_KVM_EXITS,
	SERIES_DIRTY_RING_PUSHES,
	SERIES_VM_N, /* the VM series are those before */
	/* per host */
	SERIES_HOST_CPU_BUSY_TICKS = SERIES_VM_N,
	SERIES_HOST_CPU_TOTAL_TICKS,
	SERIES_HOST_ONLINE_CPUS,
	SERIES_HOST_MEMORY_BYTES,
	SERIES_HOST_MEMORY_AVAILABLE_BYTES,
	SERIES_HOST_VM_CPU_NS, /* sums over the tracked VMs */
	SERIES_HOST_VM_WAIT_NS,
	SERIES_HOST_VM_RX_BYTES, /* the VMs' side */
	SERIES_HOST_VM_TX_BYTES,
	SERIES_N,
};

#define SERIES_HOST_N (SERIES_N - SERIES_VM_N)

enum series_scope {
	SERIES_THREAD, /* a vCPU thread's, summed into its VM */
	SERIES_TAP,    /* a tap's, summed into its VM */
	SERIES_VM,     /* the VM's own */
	SERIES_HOST,
};

enum series_kind {
	SERIES_COUNTER, /* cumulative, never goes back: take rates */
	SERIES_GAUGE,	/* a level: take values */
};

struct series_info {
	const char *name; /* JSON key of the value ("cpu_ns"); rate: NAME_per_s */
	enum series_scope scope;
	enum series_kind kind;
	bool drops; /* only counted where the source counts drops */
	bool kvm;   /* only counted with the kvm collector */
	/* Prometheus family of a thread or tap series (NULL: not exported) */
	const char *prom_name;
	const char *prom_help;
	double prom_scale; /* value * scale: base units (ns to seconds) */
};

/* The row of s, or NULL for a value that is no series. */
const struct series_info *series_info(enum series s);
/* "cpu_ns", ...; "?" for a value that is no series. */
const char *series_name(enum series s);

#endif /* TIDE_SERIES_H */
