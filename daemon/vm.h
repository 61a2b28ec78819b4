/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm: the VM descriptor (uuid, name, state, QEMU pid, vCPU threads, taps,
 * memory), owned by the inventory (inv) and read by everyone else.
 *
 * Libvirt-free: inv fills it from libvirt and /proc, a benchmark or a test
 * makes one by hand, and collect tracks what it describes.  The struct is
 * the caller's; vm_desc_copy() and vm_desc_clear() manage its members.
 */
#ifndef TIDE_VM_H
#define TIDE_VM_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tide.h"

#define VM_UUID_BYTES 37 /* VIR_UUID_STRING_BUFLEN */
#define VM_MAC_BYTES 18
/* vcpu index of QEMU's single-threaded TCG thread ("ALL CPUs/TCG") */
#define VM_VCPU_ALL UINT32_MAX

struct vm_thread {
	pid_t tid;
	uint32_t vcpu; /* index, or VM_VCPU_ALL */
};

struct vm_tap {
	char ifname[IFNAMSIZ];	/* host side: <target dev='...'/> */
	char mac[VM_MAC_BYTES]; /* "" if unknown */
};

/*
 * The operator's wishes for a VM, from its domain XML:
 *   <metadata>
 *     <tide:policy xmlns:tide="urn:tide:policy:1" pinned="yes"
 *                  max_downtime_ms="500" priority="10"/>
 *   </metadata>
 * (its own namespace: tided writes <move/> under urn:tide:1 before a
 * migration, and libvirt keeps one element per namespace).
 */
#define VM_POLICY_NS "urn:tide:policy:1"
struct vm_policy {
	bool pinned;		  /* never moved by the planner */
	uint32_t max_downtime_ms; /* 0: migration_max_downtime_ms */
	int32_t priority;	  /* higher: moved later */
	char error[128];	  /* "" or why the element was ignored */
};

struct vm_desc {
	char uuid[VM_UUID_BYTES]; /* lower case, with dashes */
	char *name;
	char *state;		       /* "running", "paused", ...; NULL: "running" */
	pid_t pid;		       /* QEMU; 0 while unknown */
	uint64_t memory_bytes;	       /* <memory>: what a migration sends */
	uint64_t current_memory_bytes; /* <currentMemory> (balloon target) */
	uint32_t vcpus;		       /* current vCPUs */
	uint32_t vcpus_max;
	struct vm_thread *threads; /* vCPU threads found so far */
	uint32_t n_threads;
	struct vm_tap *taps;
	uint32_t n_taps;
	struct vm_policy policy;
};

/* Deep copy / release of a vm_desc's members (the struct is the caller's). */
int vm_desc_copy(struct vm_desc *dst, const struct vm_desc *src) __tide_must_check;
void vm_desc_clear(struct vm_desc *d);

#endif /* TIDE_VM_H */
