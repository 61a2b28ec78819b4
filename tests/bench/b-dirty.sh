#!/usr/bin/env bash
# b-dirty: how well tided's dirty-page curve estimates a guest's dirty rate
# and working set, against the guest's own truth (tide-guestload wt), and
# against libvirt's single 1 s page-sampling figure.
#
# One 256 MiB guest; each cell measured twice, by the default libvirt probe
# and by the QMP probe (dirty_probe_qmp = true appended to h1's tided.conf,
# tided restarted), so the matrix is trimmed to fit a 2-core machine in
# about 8 minutes: sequential (dirty) at 1, 10, 40 MiB/s x 4, 32 MiB,
# random (dirtyrand) at 10, 40 MiB/s x 4, 32 MiB (no 96 MiB set, no rate 0
# cells, no random 1 MiB/s).  Per cell a fresh tided on h1 (so no reading
# of the previous cell is averaged in) probes until it has every window
# (libvirt: 1, 2, 4, 8 s; QMP: 0.1 .. 8 s); then virsh
# domdirtyrate-calc --seconds 1 and domstats --dirtyrate; then the truth:
# the true rate is W(50 ms) / 50 ms, the true working set the set's size.
# Errors in %, the median error per column at the end; CSV in
# $BUILD/bench/dirty.csv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/rows.sh"
T_NAME=b-dirty
TB_ROOT=${TB_ROOT:-/var/tmp/tide-testbed}
out=$BUILD/bench
mkdir -p "$out"
csv=$out/dirty.csv
export TIDED_TICK_MS=500

tb_start
echo "dirty_probe_interval_ms = 1000;" >>"$TB_ROOT/h1/etc-tide/tided.conf"
tb guest start v1 h1 --mem 256 >/dev/null 2>&1 || fail "guest v1 did not boot"
dom=$(tb guest domain v1)

cells=()
for rate in 1 10 40; do for wss in 4 32; do cells+=("dirty $rate $wss"); done; done
for rate in 10 40; do for wss in 4 32; do cells+=("dirtyrand $rate $wss"); done; done
conf=$TB_ROOT/h1/etc-tide/tided.conf
cp "$conf" "$out/dirty.tided.conf.libvirt"
cp "$conf" "$out/dirty.tided.conf.qmp"
echo "dirty_probe_qmp = true;" >>"$out/dirty.tided.conf.qmp"

# the dirty object of v1 once it has the windows $2 (60 s at most), from a
# tided started afresh with the configuration $1
tide_curve() {
	local t0 j=""
	cp "$1" "$conf"
	tb tided start h1 >/dev/null 2>&1 || fail "tided did not start on h1"
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt 60 ]; do
		j=$(tb tidectl h1 -j vm show v1 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["vms"][0]["dirty"]
# a point carries the window QEMU measured (1001 ms for 1000 asked)
have = [p["t_ms"] for p in d["points"]]
if not all(any(abs(h - t) <= t * 0.05 for h in have) for t in map(int, sys.argv[1].split(","))):
    sys.exit(1)
print(json.dumps(d))' "$2" 2>/dev/null) && break
		j=""
		sleep 1
	done
	tb tided stop h1 >/dev/null 2>&1 || fail "tided did not stop on h1"
	[ -n "$j" ] && echo "$j"
}

echo "mode,rate_mib_s,wss_mib,true_rate_mib_s,true_wss_mib,true_w8_mib,tide_rate_mib_s,tide_rate_lower_bound,tide_wss_mib,tide_wss_lower_bound,libvirt_1s_mib_s,tide_rate_err_pct,tide_wss_err_pct,libvirt_rate_err_pct,libvirt_as_wss_err_pct,w1_mib,w2_mib,w4_mib,w8_mib,qmp_rate_mib_s,qmp_rate_lower_bound,qmp_wss_mib,qmp_wss_lower_bound,qmp_shape,qmp_rate_err_pct,qmp_wss_err_pct,w100_mib,w250_mib,w500_mib" >"$csv"
printf '  %-9s %5s %4s | %7s %7s | %-27s | %-27s | %s\n' mode rate wss true_r true_ws "libvirt probe: r, ws, err%" "QMP probe: r, ws, err%" "virsh 1 s, err%"
for c in "${cells[@]}"; do
	read -r mode rate wss <<<"$c"
	pages=$((rate * 256))
	cmd=$mode; [ "$rate" = 0 ] && cmd=dirty
	r=$(tb guest ctl v1 "$cmd" "$pages" "$wss") && [[ $r == ok* ]] || fail "v1 refused '$cmd $pages $wss': $r"
	sleep 1
	j=$(tide_curve "$out/dirty.tided.conf.libvirt" 1000,2000,4000,8000) ||
		fail "no full libvirt-probe curve for '$c' within 60 s"
	jq=$(tide_curve "$out/dirty.tided.conf.qmp" 100,250,500,1000,2000,4000,8000) ||
		fail "no full QMP-probe curve for '$c' within 60 s"
	# tided's last probe may still be measuring: QEMU takes one at a time
	for i in $(seq 12); do
		tb virsh h1 domdirtyrate-calc "$dom" --seconds 1 >/dev/null 2>&1 && break
		[ "$i" -lt 12 ] || fail "virsh domdirtyrate-calc failed 12 times"
		sleep 1
	done
	lv=""
	for i in $(seq 20); do
		sleep 0.5
		st=$(tb virsh h1 domstats "$dom" --dirtyrate)
		lv=$(sed -n 's/.*dirtyrate.megabytes_per_second=//p' <<<"$st")
		[ -n "$lv" ] && grep -q 'calc_status=2' <<<"$st" && break
	done
	[ -n "$lv" ] || fail "libvirt gave no dirty rate for '$c': $st"
	truth=$(tb guest ctl v1 wt 50,1000,8000)
	python3 - "$c" "$j" "$lv" "$truth" "$jq" >>"$csv" <<'EOF'
import json, re, sys
mode, rate, wss = sys.argv[1].split(); d = json.loads(sys.argv[2]); lv = float(sys.argv[3]); q = json.loads(sys.argv[5])
w = dict((int(t), int(p)) for t, p in re.findall(r"(\d+):(\d+)", sys.argv[4].split("w=")[1]))
mib = 4096 / 2**20
true_rate = w[50] * 20 * mib
true_wss = int(re.search(r"wss_pages=(\d+)", sys.argv[4]).group(1)) * mib
tide_rate = d["rate_bytes_per_s"] / 2**20; tide_wss = d["working_set_bytes"] / 2**20
def err(est, true): return "" if true == 0 else "%.0f" % (100 * (est - true) / true)
def near(points, t):
    # the point measured over about t ms (QEMU says what it measured)
    for p in points:
        if abs(p["t_ms"] - t) <= t * 0.05:
            return p["pages"] * mib
    return -1
pts = {t: near(d["points"], t) for t in (1000, 2000, 4000, 8000)}
print(",".join(str(x) for x in [mode, rate, wss, "%.2f" % true_rate, "%.1f" % true_wss, "%.1f" % (w[8000] * mib),
      "%.2f" % tide_rate, int(d["rate_is_lower_bound"]), "%.1f" % tide_wss, int(d["working_set_is_lower_bound"]),
      "%.0f" % lv, err(tide_rate, true_rate), err(tide_wss, true_wss), err(lv, true_rate), err(lv, true_wss)] +
      ["%.1f" % pts.get(t, -1) for t in (1000, 2000, 4000, 8000)] +
      ["%.2f" % (q["rate_bytes_per_s"] / 2**20), int(q["rate_is_lower_bound"]), "%.1f" % (q["working_set_bytes"] / 2**20),
       int(q["working_set_is_lower_bound"]), q.get("shape", "?"), err(q["rate_bytes_per_s"] / 2**20, true_rate),
       err(q["working_set_bytes"] / 2**20, true_wss)] +
      ["%.1f" % near(q["points"], t) for t in (100, 250, 500)]))
EOF
	tail -1 "$csv" | awk -F, '{printf "  %-9s %5s %4s | %7s %7s | %6s%s %6s%s %5s %5s | %6s%s %6s%s %5s %5s | %4s %5s\n", $1, $2, $3, $4, $5, $7, ($8 ? ">" : " "), $9, ($10 ? ">" : " "), $12, $13, $20, ($21 ? ">" : " "), $22, ($23 ? ">" : " "), $25, $26, $11, $14}'
done
tb guest ctl v1 dirty 0 0 >/dev/null || true
summary=$(python3 - "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def med(k):
    v = [abs(float(r[k])) for r in rows if r[k] != ""]
    return "%.0f %%" % statistics.median(v) if v else "-"
print("%s|%s|%s|%s|%s|%s" % (med("tide_rate_err_pct"), med("tide_wss_err_pct"), med("libvirt_rate_err_pct"), med("libvirt_as_wss_err_pct"), med("qmp_rate_err_pct"), med("qmp_wss_err_pct")))
EOF
)
IFS='|' read -r er ew el elw eqr eqw <<<"$summary"
echo "  median |error|: libvirt probe: rate $er, working set $ew; QMP probe: rate $eqr, working set $eqw; libvirt 1 s as a rate $el, as a working set $elw"
echo "  (>: tide flags the figure a lower bound; the errors count it as given)"
echo "  CSV: $csv"
met() { python3 -c 'import sys; print("yes" if float(sys.argv[1].split()[0]) <= 10 else "no")' "$1" 2>/dev/null || echo "-"; }
what="dirty-rate estimate of a 256 MiB guest, 1-40 MiB/s over 4-32 MiB (seq+random)"
bench_row "$what: median |error| of tide's rate, libvirt probe (fit of W(1..8 s))" "$er" "≤ 10 %" "$(met "$er")"
bench_row "the same: tide's working set, libvirt probe" "$ew" "≤ 10 %" "$(met "$ew")"
bench_row "the same: tide's rate, QMP probe (dirty_probe_qmp: W(0.1..8 s), 4096 samples/GiB)" "$eqr" "≤ 10 %" "$(met "$eqr")"
bench_row "the same: tide's working set, QMP probe" "$eqw" "≤ 10 %" "$(met "$eqw")"
bench_row "the same: libvirt's single 1 s page-sampling figure as the rate" "$el" "≤ 10 %" "$(met "$el")"
