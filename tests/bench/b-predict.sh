#!/usr/bin/env bash
# b-predict: how well tide predicts real migrations before they start.
#
# One 256 MiB guest on h1, tided on h1 with h2 as its peer.  For each cell
# of a matrix (access pattern x dirty rate x working set x bandwidth cap):
# set the guest's workload, restart tided (a fresh curve, nothing carried
# over from the cell before), wait until its estimator has measured the
# curve (page-sampling windows of 1, 2, 4 and 8 s), ask `tidectl -j plan v1
# h2 bandwidth B` for the prediction (tide's model and the textbook round
# model, same input), then migrate for real (`tb migrate --bandwidth B`,
# peer to peer through both libvirtds) and read the completed job's
# figures; the guest's memory is verified after every arrival, and it is
# migrated back uncapped with its dirtier stopped.
#
# Before the matrix, two calibration migrations of the idle guest (one
# uncapped, one at 32 MiB/s) with tided running: they set the link speed
# that tided is told (link_bandwidth_mib_s, the uncapped throughput
# measured) and give tided's own per-destination calibration (throughput
# ratio, switch-over overhead) its first samples, as a host in service
# would have them.
#
# A migration that does not finish within PREDICT_TIMEOUT_S (default 40)
# is aborted (the guest keeps running on h1) and counted as "does not
# converge"; a prediction says "converges" when tide's model converges
# within that time.
#
# The curve comes from the QMP probe by default (PREDICT_QMP=false: from
# libvirt's own dirty-rate API, 1 to 8 s windows, 512 samples per GiB).
#
# Prints the table, the median errors (tide vs textbook) and writes
# $BUILD/bench/predict.csv and predict.png (predicted vs actual).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/rows.sh"
T_NAME=b-predict
out=$BUILD/bench
mkdir -p "$out"
timeout_s=${PREDICT_TIMEOUT_S:-40}
# the curve from the QMP probe (100 ms to 8 s windows, 4096 samples per
# GiB; it taints the domain, so tided's default is off), or libvirt's API
qmp=${PREDICT_QMP:-true}
[ "$qmp" = true ] && need_points=6 || need_points=4
conf=/var/tmp/tide-testbed/h1/etc-tide/tided.conf

# pattern rate_MiB/s wss_MiB cap_MiB/s (0: uncapped)
cells=${PREDICT_CELLS:-"
seq 0 0 32
seq 1 4 16
seq 10 16 32
seq 40 16 32
rand 40 16 32
seq 10 32 16
rand 10 32 16
seq 40 32 128
rand 40 32 128
seq 10 96 0
rand 50 96 0
seq 100 64 32
"}

tb_start
tb guest start v1 h1 --mem 256 >/dev/null 2>&1 || fail "guest v1 did not boot"
cp "$conf" "$RESULTS/$T_NAME.conf.orig"

# tided.conf of h1 for the next start: the testbed's own lines, then ours
write_conf() {
	cp "$RESULTS/$T_NAME.conf.orig" "$conf"
	cat >>"$conf" <<EOF
peers = ( { name = "h2"; uri = "$(tb uri h2)"; } );
dirty_probe_interval_ms = 1000;
link_bandwidth_mib_s = $1;
dirty_probe_qmp = $qmp;
EOF
}

restart_tided() {
	tb tided stop h1 >/dev/null 2>&1 || true
	tb tided start h1 >/dev/null || fail "tided did not start on h1"
}

# migrate v1 h1 -> h2 at cap $1 (0: none); prints "time_ms downtime_ms
# bytes rounds" or "timeout"
migrate_out() {
	local o bw=()
	[ "$1" != 0 ] && bw=(--bandwidth "$1")
	if o=$(tb migrate v1 h2 "${bw[@]}" --timeout "$timeout_s" 2>"$RESULTS/$T_NAME.mig.err"); then
		python3 -c '
import sys
kv = dict(l.split("=", 1) for l in sys.stdin.read().split() if "=" in l)
print(kv["time_ms"], kv["downtime_ms"], int(float(kv["memory_processed"]) * 1048576), kv["rounds"])' <<<"$o"
	else
		grep -q "did not finish within" "$RESULTS/$T_NAME.mig.err" || { cat "$RESULTS/$T_NAME.mig.err" >&2; fail "migration failed"; }
		echo timeout
	fi
}

back_home() {
	tb guest ctl v1 dirty 0 0 >/dev/null || fail "cannot stop the dirtier"
	# freeing the working set resets its generations: a new witness
	witness_forget v1
	witness_take v1
	if [ "$(tb guest host v1)" = h2 ]; then
		tb migrate v1 h1 --timeout 60 >/dev/null || fail "migration back to h1 failed"
		verify_guest v1 "back on h1" >/dev/null
	fi
}

# wait until plan's curve for v1 has at least $1 points; prints the plan JSON
wait_curve() {
	local need=$1 j n
	for _ in $(seq 1 60); do
		j=$(tb tidectl h1 -j plan v1 h2 bandwidth "${2:-1024}" 2>/dev/null) || true
		n=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["moves"][0]["curve"]["points"]))' <<<"$j" 2>/dev/null || echo 0)
		[ "$n" -ge "$need" ] && { echo "$j"; return 0; }
		sleep 1
	done
	return 1
}

log "the link: the idle guest migrated uncapped, tided stopped (it learns nothing from it)"
tb guest ctl v1 dirty 0 0 >/dev/null
read -r t d b r <<<"$(migrate_out 0)"
[ "$t" != timeout ] || fail "the idle guest did not migrate uncapped within $timeout_s s"
link=$(( b / 1048576 * 1000 / t ))
log "uncapped: $b bytes in $t ms ($link MiB/s), downtime $d ms: link_bandwidth_mib_s = $link"
back_home
log "calibration: tided on h1 learns from the idle guest, uncapped then at 32 MiB/s"
write_conf "$link"
rm -f /var/tmp/tide-testbed/h1/lib-tide/calib-*.json
restart_tided
for cap in 0 32; do
	read -r t d b r <<<"$(migrate_out "$cap")"
	log "cap $cap: $t ms, downtime $d ms"
	back_home
done
log "h2's calibration: $(tr -d '\n\t ' </var/tmp/tide-testbed/h1/lib-tide/calib-h2.json 2>/dev/null || echo none)"

csv=$out/predict.csv
echo "pattern,rate_mib_s,wss_mib,cap_mib_s,true_rate_mib_s,true_wss_mib,curve_rate_mib_s,curve_wss_mib,pred_converges,pred_time_ms,pred_downtime_ms,pred_bytes,pred_rounds,tb_converges,tb_time_ms,tb_downtime_ms,tb_bytes,tb_rounds,actual_converges,actual_time_ms,actual_downtime_ms,actual_bytes,actual_rounds" >"$csv"
printf '  %-4s %5s %4s %4s | %6s %5s | %-14s %-14s %-14s\n' pat MiB/s wss cap "true" "" "tide" "textbook" "actual"
while read -r pat rate wss cap; do
	[ -n "$pat" ] || continue
	cmd=dirty
	[ "$pat" = rand ] && cmd=dirtyrand
	if [ "$rate" = 0 ]; then
		tb guest ctl v1 dirty 0 0 >/dev/null
	else
		r=$(tb guest ctl v1 $cmd $((rate * 256)) "$wss") || fail "$cmd $rate MiB/s over $wss MiB: $r"
	fi
	restart_tided
	sleep 1
	j=$(wait_curve "$need_points" "$([ "$cap" = 0 ] && echo "$link" || echo "$cap")") || fail "the curve of $pat $rate/$wss was not measured within 60 s"
	truth=$(tb guest ctl v1 wt 100,1000,8000)
	witness_take v1
	act=$(migrate_out "$cap")
	[ "$act" = timeout ] || verify_guest v1 "on h2" >/dev/null
	line=$(PLAN_JSON=$j python3 - "$pat" "$rate" "$wss" "$cap" "$truth" "$act" "$timeout_s" <<'PY'
import json, os, sys
pat, rate, wss, cap, truth, act, to_s = sys.argv[1:8]
m = json.loads(os.environ["PLAN_JSON"])["moves"][0]
pb = m["curve"]["page_bytes"]
pts = m["curve"]["points"]
MiB = 1048576
crate = pts[0]["pages"] * pb / MiB / (pts[0]["t_ms"] / 1000) if pts else 0
cwss = max((p["pages"] for p in pts), default=0) * pb / MiB
import re
w = dict(x.split(":") for x in re.search(r"\bw=(\S+)", truth).group(1).split(","))
trate = int(w["100"]) * 4096 / MiB / 0.1
twss = int(w["8000"]) * 4096 / MiB
to_ms = int(to_s) * 1000
def verdict(r):
    return r["converges"] and r["total_time_ms"] <= to_ms
tide, tb = m, m["textbook"]
if act == "timeout":
    a = [False, "", "", "", ""]
else:
    t, d, b, r = act.split()
    a = [True, t, d, b, r]
row = [pat, rate, wss, cap, "%.1f" % trate, "%.1f" % twss, "%.1f" % crate, "%.1f" % cwss,
       verdict(tide), tide["total_time_ms"], tide["downtime_ms"], tide["bytes_sent"], tide["rounds"],
       verdict(tb), tb["total_time_ms"], tb["downtime_ms"], tb["bytes_sent"], tb["rounds"]] + a
print(",".join(str(x) for x in row))
PY
)
	echo "$line" >>"$csv"
	python3 - "$line" <<'PY'
import sys
f = sys.argv[1].split(",")
def c(conv, t, d):
    return ("%5.1fs %4sms" % (int(t) / 1000, d)) if conv == "True" else "no"
print("  %-4s %5s %4s %4s | %6s %5s | %-14s %-14s %-14s" % (f[0], f[1], f[2], f[3] if f[3] != "0" else "-", f[4], f[5],
      c(f[8], f[9], f[10]), c(f[13], f[14], f[15]), c(f[18], f[19], f[20])))
PY
	back_home
done <<<"$cells"

# Debian's python3 (python3-matplotlib), whatever python3 comes first in PATH
summary=$(/usr/bin/python3 - "$csv" "$out/predict.png" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def err(pred, act):
    return abs(pred - act) / act * 100 if act else (0 if pred == act else 100)
def med(kind, key):
    e = [err(float(r[kind + "_" + key]), float(r["actual_" + key])) for r in rows
         if r["actual_converges"] == "True" and r[kind + "_converges"] == "True"]
    return (statistics.median(e), len(e)) if e else (float("nan"), 0)
out = []
for kind in ("pred", "tb"):
    right = sum(r[kind + "_converges"] == r["actual_converges"] for r in rows)
    t, nt = med(kind, "time_ms"); d, _ = med(kind, "downtime_ms"); b, _ = med(kind, "bytes")
    out.append("%s|%d|%d|%.0f|%.0f|%.0f|%d" % (kind, right, len(rows), t, d, b, nt))
print(" ".join(out))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, key, unit, scale in ((axs[0], "time_ms", "s", 1e3), (axs[1], "downtime_ms", "ms", 1),
                                 (axs[2], "bytes", "MiB", 1048576)):
        for kind, mk, lab in (("pred", "o", "tide"), ("tb", "x", "textbook")):
            xs = [float(r["actual_" + key]) / scale for r in rows if r["actual_converges"] == "True" and r[kind + "_converges"] == "True"]
            ys = [float(r[kind + "_" + key]) / scale for r in rows if r["actual_converges"] == "True" and r[kind + "_converges"] == "True"]
            ax.scatter(xs, ys, marker=mk, label=lab)
        lim = max([1] + [float(r["actual_" + key]) / scale for r in rows if r["actual_converges"] == "True"]) * 1.2
        ax.plot([0, lim], [0, lim], "k:", lw=1)
        ax.set_xlim(0, lim); ax.set_ylim(0, lim)
        ax.set_xlabel("actual " + key.replace("_ms", "") + " (" + unit + ")")
        ax.set_ylabel("predicted (" + unit + ")")
        ax.legend(fontsize=8)
    fig.suptitle("tide's prediction vs the real migration (testbed, 256 MiB guest; b-predict)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)
except ImportError:
    pass
PY
)
echo
printf '  %-9s %9s %12s %14s %11s\n' model verdicts "time err" "downtime err" "bytes err"
for s in $summary; do
	IFS='|' read -r kind right n t d b nt <<<"$s"
	name=tide; [ "$kind" = tb ] && name=textbook
	printf '  %-9s %5s/%-3s %10s %% %12s %% %9s %%   (median over the %s migrations both it and QEMU finished)\n' "$name" "$right" "$n" "$t" "$d" "$b" "$nt"
	[ "$kind" = pred ] && { tr=$right tn=$n tt=$t td=$d tbb=$b; }
done
[ -e "$out/predict.png" ] && echo "  plot: $out/predict.png"
echo "  CSV: $csv"
probe=QMP; [ "$qmp" = true ] || probe="libvirt API"
bench_row "prediction before moving ($probe probe), $tn real migrations (256 MiB guest, patterns x rates x working sets x caps): verdicts right" "$tr of $tn" "all" "$([ "$tr" = "$tn" ] && echo yes || echo no)"
bench_row "the same: median error of the predicted total time" "$tt %" "<= 10 %" "$([ "${tt%.*}" -le 10 ] 2>/dev/null && echo yes || echo no)"
bench_row "the same: median error of the predicted downtime" "$td %" "<= 20 %" "$([ "${td%.*}" -le 20 ] 2>/dev/null && echo yes || echo no)"
bench_row "the same: median error of the predicted bytes" "$tbb %" "<= 10 %" "$([ "${tbb%.*}" -le 10 ] 2>/dev/null && echo yes || echo no)"
