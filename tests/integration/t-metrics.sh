#!/usr/bin/env bash
# tided's eyes on the real testbed: the inventory follows guests as they
# start, migrate and stop (libvirt events, within a tick); tap counters from
# BPF equal the kernel's link stats exactly for client<->guest traffic; the
# Prometheus textfile passes promtool, with a domain named with quotes, a
# backslash, spaces and non-ASCII characters; the KVM collector loads but is
# inactive here (TCG guests).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export TIDED_TICK_MS=100 TIDED_TEXTFILE_MS=300
ODD_NAME='web "front" \ 1 — ünï'
tb_start
tb tided start h1 || fail "tided did not start on h1"
tb tided start h2 || fail "tided did not start on h2"

# VM NAME's JSON object from HOST's tided, or nothing
vm_json() { tb tidectl "$1" -j vm show 2>/dev/null | python3 -c '
import json, sys
for vm in json.load(sys.stdin)["vms"]:
    if vm["name"] == sys.argv[1]:
        print(json.dumps(vm))' "$2"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d = d[int(k)] if k.isdigit() else d[k]
print(d)' "$1" "$2"; }
# wait until HOST's tided does (1) or does not (0) track NAME; prints ms
wait_tracked() {
	local h=$1 name=$2 want=$3 t0 i j
	t0=$(date +%s%N)
	for i in $(seq 100); do
		j=$(vm_json "$h" "$name")
		if { [ "$want" = 1 ] && [ -n "$j" ]; } || { [ "$want" = 0 ] && [ -z "$j" ]; }; then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

log "1: inventory follows a guest through start, migration and stop"
tb guest start g1 h1 --ballast 16 >/dev/null 2>&1 || fail "guest g1 did not boot"
ms=$(wait_tracked h1 g1 1) || fail "h1's tided does not track g1 5 s after it started"
j=$(vm_json h1 g1)
qpid=$(cat /var/tmp/tide-testbed/h1/run-libvirt/qemu/g1.pid)
[ "$(jget "$j" pid)" = "$qpid" ] || fail "tided says g1's QEMU is pid $(jget "$j" pid), libvirt says $qpid"
tid=$(jget "$j" vcpu_threads.0.tid)
comm=$(cat "/proc/$qpid/task/$tid/comm")
[ "$comm" = "CPU 0/TCG" ] || fail "tided's vCPU thread $tid of g1 is '$comm', not 'CPU 0/TCG'"
[ "$(jget "$j" interfaces.0.target_device)" = tap-g1 ] || fail "g1's tap is not tap-g1: $j"
[ "$(jget "$j" memory_bytes)" = $((128 << 20)) ] || fail "g1's memory is not 128 MiB"
[ "$(jget "$j" cpu_source)" = bpf ] && [ "$(jget "$j" interfaces.0.net_source)" = bpf ] ||
	fail "g1 is not measured through BPF: $j"
log "g1 tracked (seen ${ms} ms after tb's boot check); vCPU thread $tid ('$comm'), tap-g1, 128 MiB, BPF sources"

tb guest ctl g1 dirty 2560 16 >/dev/null
migrate_once_more g1 h2 --bandwidth 64 >/dev/null || fail "migration h1->h2 failed"
verify_guest g1 "after migration to h2"
ms2=$(wait_tracked h2 g1 1) || fail "h2's tided does not track g1 after it arrived"
ms1=$(wait_tracked h1 g1 0) || fail "h1's tided still tracks g1 after it left"
log "after migration: tracked on h2 within ${ms2} ms, dropped on h1 within ${ms1} ms"
migrate_once_more g1 h1 --bandwidth 64 >/dev/null || fail "migration h2->h1 failed"
verify_guest g1 "back on h1"
wait_tracked h1 g1 1 >/dev/null || fail "h1's tided does not track g1 after it came back"
wait_tracked h2 g1 0 >/dev/null || fail "h2's tided still tracks g1 after it left"

log "2: BPF tap counters equal the link stats for client<->guest traffic"
# one consistent pair: the link stats did not move across tided's tick
snapshot() {
	local a b j i
	for i in $(seq 20); do
		a=$(tb exec h1 ip -s -j link show tap-g1)
		sleep 0.25	# > one tick
		j=$(vm_json h1 g1)
		b=$(tb exec h1 ip -s -j link show tap-g1)
		[ "$a" = "$b" ] && { python3 -c 'import json,sys
l = json.loads(sys.argv[1])[0]["stats64"]; v = json.loads(sys.argv[2])["interfaces"][0]
# the tap as the host sees it: its rx is what the VM sent
print(l["rx"]["bytes"], l["rx"]["packets"], l["tx"]["bytes"], l["tx"]["packets"],
      v["tx_bytes"], v["tx_packets"], v["rx_bytes"], v["rx_packets"])' "$a" "$j"; return 0; }
	done
	return 1
}
# both readings must come from BPF: after the round trip a fallback to the
# link stats would compare the link stats with themselves
net_src_is_bpf() {
	local src
	src=$(jget "$(vm_json h1 g1)" interfaces.0.net_source)
	[ "$src" = bpf ] || fail "g1's tap is measured through '$src' $1, not BPF: the comparison would prove nothing"
}
net_src_is_bpf "before the traffic"
s0=$(snapshot) || fail "no quiet moment to read the counters"
"$TB" client "$BUILD/guest/tide-guestload" session -t 10 "$(tb guest ip g1)" 3000 0 >"$RESULTS/$T_NAME.traffic" 2>&1 ||
	fail "traffic to g1 failed: $(tail -1 "$RESULTS/$T_NAME.traffic")"
s1=$(snapshot) || fail "no quiet moment to read the counters"
net_src_is_bpf "after the traffic"
read -r lrb lrp ltb ltp vtb vtp vrb vrp <<<"$(paste -d' ' <(tr ' ' '\n' <<<"$s1") <(tr ' ' '\n' <<<"$s0") | awk '{printf "%d ", $1 - $2}')"
printf '    %-22s %12s %10s %12s %10s\n' "" "vm_tx_bytes" "packets" "vm_rx_bytes" "packets"
printf '    %-22s %12s %10s %12s %10s\n' "tided (BPF on tap)" "$vtb" "$vtp" "$vrb" "$vrp"
printf '    %-22s %12s %10s %12s %10s\n' "link stats (tap rx/tx)" "$lrb" "$lrp" "$ltb" "$ltp"
[ "$vtp" -ge 3000 ] && [ "$vrp" -ge 3000 ] || fail "fewer packets than requests: the traffic did not go through the tap"
[ "$vtb" = "$lrb" ] && [ "$vtp" = "$lrp" ] && [ "$vrb" = "$ltb" ] && [ "$vrp" = "$ltp" ] ||
	fail "BPF counters differ from the link stats"

log "3: Prometheus textfile with an awkward domain name"
tb guest start w1 h1 --ballast 4 --domain-name "$ODD_NAME" >/dev/null 2>&1 || fail "guest w1 did not boot"
wait_tracked h1 "$ODD_NAME" 1 >/dev/null || fail "h1's tided does not track '$ODD_NAME'"
sleep 0.8	# a textfile interval
prom=/var/tmp/tide-testbed/h1/lib-tide/textfile/tide.prom
[ -s "$prom" ] || fail "no textfile at $prom"
promtool check metrics <"$prom" >"$RESULTS/$T_NAME.promtool" 2>&1 ||
	{ cat "$RESULTS/$T_NAME.promtool"; fail "promtool rejects tided's textfile"; }
grep -qF 'domain="web \"front\" \\ 1 — ünï"' "$prom" || fail "the awkward name is not escaped as expected in $prom"
for fam in tide_vm_cpu_seconds_total tide_vm_cpu_wait_seconds_total tide_vm_network_receive_bytes_total \
	tide_vm_network_transmit_bytes_total tide_host_load_ratio tide_build_info tide_last_collection_timestamp_seconds; do
	[ "$(grep -c "^# TYPE $fam " "$prom")" = 1 ] || fail "family $fam missing or declared twice"
	grep -q "^$fam[{ ]" "$prom" || fail "family $fam has no sample"
done
cp "$prom" "$RESULTS/$T_NAME.prom"
log "promtool accepts $(grep -vc '^#' "$prom") samples, awkward name escaped"

log "4: tidectl: unknown VM, top, KVM collector inactive under TCG"
if out=$(tb tidectl h1 -j vm show no-such-vm); then fail "vm show of an unknown VM succeeded"; fi
jget "$out" error | grep -q 'no-such-vm' || fail "unknown VM error does not name it: $out"
tb tidectl h1 top --once >"$RESULTS/$T_NAME.top" 2>&1 || fail "tidectl top --once failed"
grep -q 'g1' "$RESULTS/$T_NAME.top" || fail "tidectl top does not list g1"
h=$(tb tidectl h1 -j host show)
[ "$(jget "$(vm_json h1 g1)" kvm_exits)" = 0 ] || fail "KVM exits counted for a TCG guest?"
if [ "$(jget "$h" sources.kvm)" = off ]; then
	log "SKIPPED (this part only): the KVM collector did not load: $(jget "$h" sources.kvm_note)"
else
	[ "$(jget "$h" sources.kvm_active)" = False ] || fail "tided reports the KVM collector active for TCG guests"
	log "kvm collector: $(jget "$h" sources.kvm) loaded and attached, reported inactive (TCG guests make no KVM exits)"
fi

log "5: guests stop: dropped within a tick"
tb virsh h1 destroy g1 >/dev/null
ms=$(wait_tracked h1 g1 0) || fail "h1's tided still tracks g1 after it was destroyed"
log "g1 dropped ${ms} ms after destroy"
grep -qiE 'error|assert|sanitizer' /var/tmp/tide-testbed/h1/tided.log &&
	{ grep -iE 'error|assert|sanitizer' /var/tmp/tide-testbed/h1/tided.log | head -5; fail "tided on h1 logged errors"; }
exit 0
