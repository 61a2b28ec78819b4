/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Canned replies of tided for the tests of tidectl's printers and commands
 * (test_cli_show, test_top, test_tidectl): every member tided sends.
 */
#ifndef TIDE_TIDECTL_REPLIES_H
#define TIDE_TIDECTL_REPLIES_H

/* two VMs as "vm show" returns them (rates over one second) */
static const char vms_reply[] =
	"{\"window_ms\": 1000, \"tick_ms\": 1000, \"vms\": ["
	" {\"name\": \"web-1\", \"uuid\": \"11111111-2222-3333-4444-555555555555\", \"slot\": 1,"
	"  \"state\": \"running\", \"pid\": 4242, \"vcpus\": 2, \"vcpus_max\": 4,"
	"  \"memory_bytes\": 268435456, \"current_memory_bytes\": 134217728,"
	"  \"tracked_ns\": 125000000000, \"interval_ns\": 1000000000,"
	"  \"cpu_ns\": 61500000000, \"wait_ns\": 1500000, \"switches\": 1234,"
	"  \"cpu_ns_per_s\": 123000000.0, \"wait_ns_per_s\": 4000000.0, \"switches_per_s\": 250.0,"
	"  \"rx_bytes\": 1048576, \"rx_packets\": 100, \"rx_drops\": 1, \"tx_bytes\": 2048,"
	"  \"tx_packets\": 10, \"tx_drops\": 0, \"rx_bytes_per_s\": 1258291.2,"
	"  \"rx_packets_per_s\": 850.0, \"rx_drops_per_s\": 0.0, \"tx_bytes_per_s\": 3481.6,"
	"  \"tx_packets_per_s\": 12.0, \"tx_drops_per_s\": 0.0, \"cpu_source\": \"bpf\","
	"  \"vcpu_threads\": ["
	"   {\"vcpu\": 0, \"tid\": 4243, \"cpu_source\": \"bpf\", \"cpu_ns\": 30000000000,"
	"    \"wait_ns\": 1000000, \"switches\": 600, \"cpu_ns_per_s\": 100000000.0,"
	"    \"wait_ns_per_s\": 3000000.0, \"switches_per_s\": 125.0},"
	"   {\"vcpu\": 1, \"tid\": 4244, \"cpu_source\": \"bpf\", \"cpu_ns\": 31500000000,"
	"    \"wait_ns\": 500000, \"switches\": 634, \"cpu_ns_per_s\": 23000000.0,"
	"    \"wait_ns_per_s\": 1000000.0, \"switches_per_s\": 125.0}],"
	"  \"interfaces\": ["
	"   {\"target_device\": \"vnet0\", \"mac\": \"52:54:00:aa:bb:01\", \"net_source\": \"bpf\","
	"    \"drops_counted\": true, \"rx_bytes\": 1048576, \"rx_packets\": 100, \"rx_drops\": 1,"
	"    \"tx_bytes\": 2048, \"tx_packets\": 10, \"tx_drops\": 0, \"rx_bytes_per_s\": 1258291.2,"
	"    \"rx_packets_per_s\": 850.0, \"rx_drops_per_s\": 0.0, \"tx_bytes_per_s\": 3481.6,"
	"    \"tx_packets_per_s\": 12.0, \"tx_drops_per_s\": 0.0}]},"
	" {\"name\": \"db\\u001b[31m\", \"uuid\": \"11111111-2222-3333-4444-666666666666\","
	"  \"slot\": 2, \"state\": \"paused\", \"pid\": 0, \"vcpus\": 1, \"vcpus_max\": 1,"
	"  \"memory_bytes\": 1073741824, \"current_memory_bytes\": 1073741824,"
	"  \"tracked_ns\": 5000000000, \"interval_ns\": 1000000000, \"cpu_ns\": 0, \"wait_ns\": 0,"
	"  \"switches\": 0, \"cpu_ns_per_s\": 0.0, \"wait_ns_per_s\": 50000000.0,"
	"  \"switches_per_s\": 0.0, \"rx_bytes\": 0, \"rx_packets\": 0, \"rx_drops\": 0,"
	"  \"tx_bytes\": 0, \"tx_packets\": 0, \"tx_drops\": 0, \"rx_bytes_per_s\": 0.0,"
	"  \"rx_packets_per_s\": 0.0, \"rx_drops_per_s\": 0.0, \"tx_bytes_per_s\": 9000000.0,"
	"  \"tx_packets_per_s\": 0.0, \"tx_drops_per_s\": 0.0, \"cpu_source\": \"none\","
	"  \"vcpu_threads\": [], \"interfaces\": []}"
	"]}";

static const char host_reply[] =
	"{\"hostname\": \"h1\", \"cpus\": 2, \"cpu_busy_ratio\": 0.25,"
	" \"memory_bytes\": 25769803776, \"memory_available_bytes\": 24696061952,"
	" \"vms\": 2, \"vm_vcpus\": 3, \"vm_memory_bytes\": 1342177280,"
	" \"vm_cpu_ns_per_s\": 123000000.0, \"vm_wait_ns_per_s\": 54000000.0,"
	" \"vm_rx_bytes_per_s\": 1258291.2, \"vm_tx_bytes_per_s\": 9003481.6,"
	" \"load_ratio\": 0.0615, \"interval_ns\": 1000000000, \"window_ms\": 1000,"
	" \"tick_ms\": 100, \"ring_samples\": 64,"
	" \"collection\": {\"ticks\": 42, \"last_ns\": 181000, \"avg_ns\": 177200, \"max_ns\": 250000,"
	"   \"last_wall_ns\": 190000, \"last_unix_ns\": 1700000000000000000},"
	" \"sources\": {\"cpu\": \"proc\", \"cpu_note\": \"the BPF CPU collector cannot load: "
	"Operation not permitted\", \"net\": \"netlink\", \"net_note\": \"\", \"kvm\": \"off\","
	"   \"kvm_note\": \"\", \"kvm_active\": false},"
	" \"degraded\": true,"
	" \"libvirt\": {\"uri\": \"qemu:///system\", \"connected\": false, \"reconnects\": 2}}";

static const char status_reply[] =
	"{\"version\": \"1.2-3\", \"pid\": 4242, \"uptime_s\": 3725, \"config\": \"/etc/tide/tided.conf\","
	" \"config_loaded\": true, \"control_socket\": \"/run/tide/tided.sock\","
	" \"state_dir\": \"/var/lib/tide\", \"libvirt_uri\": \"qemu:///system\", \"tick_ms\": 1000,"
	" \"textfile_dir\": \"/var/lib/prometheus/node-exporter\", \"textfile_interval_ms\": 15000,"
	" \"log_level\": \"info\", \"peers\": [{\"name\": \"h2\", \"uri\": \"qemu+tcp://h2/system\","
	"   \"connected\": true, \"last_ok_age_ms\": 1200, \"cpus\": 8, \"cpu_mhz\": 2400,"
	"   \"memory_bytes\": 34359738368, \"free_memory_bytes\": 17179869184, \"polls_ok\": 12,"
	"   \"polls_failed\": 0, \"timeouts\": 0, \"last_error\": \"\"},"
	"  {\"name\": \"h3\", \"uri\": \"qemu+tcp://10.0.0.3/system\", \"connected\": false,"
	"   \"last_ok_age_ms\": null, \"cpus\": 0, \"cpu_mhz\": 0, \"memory_bytes\": 0,"
	"   \"free_memory_bytes\": 0, \"polls_ok\": 0, \"polls_failed\": 3, \"timeouts\": 3,"
	"   \"last_error\": \"cannot connect to libvirt at 'qemu+tcp://10.0.0.3/system': no answer within 1500 ms\"}],"
	" \"bpf_attach\": \"tp_btf\", \"features\": {\"tp_btf\": true, \"raw_tp\": true, \"kvm\": false},"
	" \"libvirt_run_dir\": \"/run/libvirt\", \"libvirt_connected\": true, \"ring_samples\": 64,"
	" \"max_vms\": 256, \"host_cpus\": 0, \"textfile_enabled\": true, \"vms\": 2,"
	" \"tick_late_max_ms\": 12, \"tick_late_last_ms\": 1, \"ticks_late\": 0, \"ticks_measured\": 3725,"
	" \"libvirt_workers\": {\"threads\": 4, \"busy\": 1, \"stuck\": 1, \"jobs_done\": 812,"
	"   \"jobs_timed_out\": 3},"
	" \"collectors\": {\"cpu\": \"bpf\", \"net\": \"bpf\", \"kvm\": \"off\"}, \"degraded\": false}";

#endif /* TIDE_TIDECTL_REPLIES_H */
