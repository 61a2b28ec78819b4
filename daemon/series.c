// SPDX-License-Identifier: GPL-2.0
/*
 * series: the table of series.  See series.h.
 */
#include <stddef.h>

#include "series.h"
#include "tide.h"

/* a table, one row a series (a row may take two lines) */
/* clang-format off */
static const struct series_info series_table[SERIES_N] = {
	[SERIES_CPU_NS] = { "cpu_ns", SERIES_THREAD, SERIES_COUNTER, false, false,
		"tide_vm_cpu_seconds_total", "Time the vCPU thread ran on a CPU.", 1e-9 },
	[SERIES_WAIT_NS] = { "wait_ns", SERIES_THREAD, SERIES_COUNTER, false, false,
		"tide_vm_cpu_wait_seconds_total",
		"Time the vCPU thread was runnable but waited for a CPU (run-queue wait).", 1e-9 },
	[SERIES_SWITCHES] = { "switches", SERIES_THREAD, SERIES_COUNTER, false, false,
		"tide_vm_cpu_switches_total", "Context switches of the vCPU thread.", 1 },
	[SERIES_RX_BYTES] = { "rx_bytes", SERIES_TAP, SERIES_COUNTER, false, false,
		"tide_vm_network_receive_bytes_total", "Bytes the VM received.", 1 },
	[SERIES_RX_PACKETS] = { "rx_packets", SERIES_TAP, SERIES_COUNTER, false, false,
		"tide_vm_network_receive_packets_total", "Packets the VM received.", 1 },
	[SERIES_RX_DROPS] = { "rx_drops", SERIES_TAP, SERIES_COUNTER, true, false,
		"tide_vm_network_receive_drops_total",
		"Packets for the VM dropped on the host side of its interface.", 1 },
	[SERIES_TX_BYTES] = { "tx_bytes", SERIES_TAP, SERIES_COUNTER, false, false,
		"tide_vm_network_transmit_bytes_total", "Bytes the VM sent.", 1 },
	[SERIES_TX_PACKETS] = { "tx_packets", SERIES_TAP, SERIES_COUNTER, false, false,
		"tide_vm_network_transmit_packets_total", "Packets the VM sent.", 1 },
	[SERIES_TX_DROPS] = { "tx_drops", SERIES_TAP, SERIES_COUNTER, true, false,
		"tide_vm_network_transmit_drops_total",
		"Packets the VM sent that the host dropped.", 1 },
	[SERIES_KVM_EXITS] = { "kvm_exits", SERIES_VM, SERIES_COUNTER, false, true },
	[SERIES_DIRTY_RING_PUSHES] = { "kvm_dirty_ring_pushes", SERIES_VM, SERIES_COUNTER,
		false, true },
	[SERIES_HOST_CPU_BUSY_TICKS] = { "cpu_busy_ticks", SERIES_HOST, SERIES_COUNTER },
	[SERIES_HOST_CPU_TOTAL_TICKS] = { "cpu_total_ticks", SERIES_HOST, SERIES_COUNTER },
	[SERIES_HOST_ONLINE_CPUS] = { "online_cpus", SERIES_HOST, SERIES_GAUGE },
	[SERIES_HOST_MEMORY_BYTES] = { "memory_bytes", SERIES_HOST, SERIES_GAUGE },
	[SERIES_HOST_MEMORY_AVAILABLE_BYTES] = { "memory_available_bytes", SERIES_HOST,
		SERIES_GAUGE },
	[SERIES_HOST_VM_CPU_NS] = { "vm_cpu_ns", SERIES_HOST, SERIES_COUNTER },
	[SERIES_HOST_VM_WAIT_NS] = { "vm_wait_ns", SERIES_HOST, SERIES_COUNTER },
	[SERIES_HOST_VM_RX_BYTES] = { "vm_rx_bytes", SERIES_HOST, SERIES_COUNTER },
	[SERIES_HOST_VM_TX_BYTES] = { "vm_tx_bytes", SERIES_HOST, SERIES_COUNTER },
};
/* clang-format on */

const struct series_info *series_info(enum series s)
{
	if ((unsigned int)s >= ARRAY_SIZE(series_table) || !series_table[s].name)
		return NULL;
	return &series_table[s];
}

const char *series_name(enum series s)
{
	const struct series_info *i = series_info(s);

	return i ? i->name : "?";
}
