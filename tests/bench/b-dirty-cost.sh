#!/usr/bin/env bash
# b-dirty-cost: what measuring the dirty curve costs.
#
# One idle 256 MiB guest on h1 (page-sampling hashes the sampled pages
# whatever the guest does; an idle guest keeps QEMU's own CPU steady enough
# to see it: a dirtying TCG guest's QEMU varies by more than a probe costs),
# tided on h1 with a
# probe every second (dirty_probe_interval_ms = 1000, far more often than
# the default 20 s), 30 s per mode, side by side in one run:
#   off      dirty_probe = false (the baseline: collection only)
#   libvirt  libvirt's dirty-rate API (virDomainStartDirtyRateCalc)
#   qmp      QEMU's calc-dirty-rate through libvirt (4096 samples per GiB)
# For each: CPU time of tided and of the guest's QEMU process (utime +
# stime from /proc/PID/stat) per second of wall time, the probes measured,
# and the CPU per probe above the baseline.
#
# How long a probe holds the domain's job: right after a 4 s calculation
# is started by hand (virsh domdirtyrate-calc, or the same QMP command
# through virsh qemu-monitor-command), `virsh suspend` (which needs the
# job) is timed, then the guest resumed; the same with no calculation
# running is the baseline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/rows.sh"
T_NAME=b-dirty-cost
run_s=${DIRTY_COST_RUN_S:-30}
conf=/var/tmp/tide-testbed/h1/etc-tide/tided.conf

tb_start
tb guest start v1 h1 --mem 256 >/dev/null 2>&1 || fail "guest v1 did not boot"
dom=$(tb guest domain v1)
qemu_pid=$(cat "/var/tmp/tide-testbed/h1/run-libvirt/qemu/$dom.pid")
cp "$conf" "$RESULTS/$T_NAME.conf.orig"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

printf '  %-8s %14s %14s %8s %16s\n' mode "tided ms/s" "QEMU ms/s" probes "CPU/probe (ms)"
base_t= base_q=
for mode in off libvirt qmp; do
	cp "$RESULTS/$T_NAME.conf.orig" "$conf"
	{
		echo "dirty_probe_interval_ms = 1000;"
		[ "$mode" = off ] && echo "dirty_probe = false;"
		[ "$mode" = qmp ] && echo "dirty_probe_qmp = true;"
	} >>"$conf"
	tb tided stop h1 >/dev/null 2>&1 || true
	tb tided start h1 >/dev/null || fail "tided did not start"
	sleep 3
	tpid=$(tb tided pid h1)
	p0=$(tb tidectl h1 -j vm show v1 | python3 -c 'import json,sys; d=json.load(sys.stdin)["vms"][0].get("dirty") or {}; print(d.get("probes_ok", 0))')
	t0=$(cpu_ticks "$tpid") q0=$(cpu_ticks "$qemu_pid") w0=$(date +%s%N)
	sleep "$run_s"
	t1=$(cpu_ticks "$tpid") q1=$(cpu_ticks "$qemu_pid") w1=$(date +%s%N)
	p1=$(tb tidectl h1 -j vm show v1 | python3 -c 'import json,sys; d=json.load(sys.stdin)["vms"][0].get("dirty") or {}; print(d.get("probes_ok", 0))')
	read -r tm qm per <<<"$(python3 -c "
t = ($t1 - $t0) * 1000 / $hz; q = ($q1 - $q0) * 1000 / $hz; s = ($w1 - $w0) / 1e9
n = $p1 - $p0
bt, bq = '${base_t}', '${base_q}'
per = '-' if not n or not bt else '%.1f' % (((t / s - float(bt)) + (q / s - float(bq))) * s / n)
print('%.2f %.2f %s' % (t / s, q / s, per))")"
	[ "$mode" = off ] && base_t=$tm base_q=$qm
	printf '  %-8s %14s %14s %8s %16s\n' "$mode" "$tm" "$qm" "$((p1 - p0))" "$per"
	eval "res_$mode=\"$tm $qm $((p1 - p0)) $per\""
done
tb tided stop h1 >/dev/null 2>&1 || true
# a calculation tided started (up to 8 s) may still run in QEMU
sleep 9

# the job: virsh suspend right after a 4 s calculation was started
suspend_ms() {
	local a b
	a=$(date +%s%N)
	tb virsh h1 suspend "$dom" >/dev/null || fail "virsh suspend failed"
	b=$(date +%s%N)
	tb virsh h1 resume "$dom" >/dev/null || fail "virsh resume failed"
	echo $(((b - a) / 1000000))
}
base_js=$(suspend_ms)
tb virsh h1 domdirtyrate-calc "$dom" --seconds 4 --mode page-sampling >/dev/null || fail "domdirtyrate-calc failed"
api_js=$(suspend_ms)
sleep 5
tb virsh h1 qemu-monitor-command "$dom" '{"execute":"calc-dirty-rate","arguments":{"calc-time":4000,"calc-time-unit":"millisecond","sample-pages":4096,"mode":"page-sampling"}}' >/dev/null || fail "QMP calc-dirty-rate failed"
qmp_js=$(suspend_ms)
sleep 5
echo
echo "  virsh suspend: ${base_js} ms alone, ${api_js} ms right after a 4 s libvirt calculation started, ${qmp_js} ms after a 4 s QMP one"

read -r lt lq ln lp <<<"$res_libvirt"
read -r qt qq qn qp <<<"$res_qmp"
bench_row "dirty-curve probes, one 256 MiB guest probed every second: tided + QEMU CPU per probe above no probing (libvirt API / QMP)" "$lp / $qp ms" "" ""
bench_row "the same: tided CPU, no probes / libvirt API / QMP" "$base_t / $lt / $qt ms/s" "" ""
bench_row "the same: the guest's QEMU CPU, no probes / libvirt API / QMP" "$base_q / $lq / $qq ms/s" "" ""
bench_row "how long a probe holds the domain's job: virsh suspend alone / after a 4 s libvirt calculation / after a 4 s QMP one" "$base_js / $api_js / $qmp_js ms" "" ""
