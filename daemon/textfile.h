/* SPDX-License-Identifier: GPL-2.0 */
/*
 * textfile: tide's metrics for node_exporter's textfile collector, read
 * from the store and written every textfile_interval_ms to tide.prom.
 *
 * The file is textfile_dir/tide.prom, replaced atomically through
 * daemon/prom.c; the per-vCPU and per-tap families are the rows of
 * series.h's table that name one.
 *
 * Families (base units, HELP and TYPE once each, label names those of the
 * libvirt exporters: domain, uuid, target_device):
 *   tide_build_info{version}                                 gauge 1
 *   tide_last_collection_timestamp_seconds                   gauge
 *   tide_collection_duration_seconds                         summary (CPU time per tick)
 *   tide_collection_last_duration_seconds, ..._max_...       gauge
 *   tide_degraded                                            gauge 0/1
 *   tide_collector_info{collector,mode}                      gauge 1
 *   tide_host_cpus, tide_host_cpu_busy_ratio, tide_host_load_ratio,
 *   tide_host_memory_bytes, tide_host_memory_available_bytes, tide_host_vms
 *   tide_vm_cpu_seconds_total{domain,uuid,vcpu}              counter
 *   tide_vm_cpu_wait_seconds_total{domain,uuid,vcpu}         counter
 *   tide_vm_cpu_switches_total{domain,uuid,vcpu}             counter
 *   tide_vm_network_{receive,transmit}_{bytes,packets,drops}_total
 *                               {domain,uuid,target_device}  counter
 *   tide_vm_memory_bytes{domain,uuid}, tide_vm_vcpus{domain,uuid}  gauge
 *   tide_migrations_total{result}                            counter (mig.h)
 *   tide_migration_downtime_seconds                          histogram
 *   tide_migration_predicted_downtime_seconds{domain,uuid}   gauge
 * Network directions are the VM's (receive: what the VM received), as in
 * the libvirt exporters.  Counters count from when tided began tracking
 * the thread or tap (Prometheus's rate() copes with the restart).
 */
#ifndef TIDE_TEXTFILE_H
#define TIDE_TEXTFILE_H

#include "prom.h"
#include "tide.h"

/* Start writing as the configuration says (nothing if disabled). */
int textfile_init(void) __tide_must_check;
void textfile_fini(void);
/* Follow a reloaded configuration (interval, directory, enabled). */
int textfile_reconfigure(void);

/* The whole exposition into p (begun); 0 or -errno. */
int textfile_build(struct prom *p) __tide_must_check;
/* Build and write dir/tide.prom now. */
int textfile_write(const char *dir) __tide_must_check;

#endif /* TIDE_TEXTFILE_H */
