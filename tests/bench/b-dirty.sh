#!/usr/bin/env bash
# b-dirty: how well tided's dirty-page curve estimates a guest's dirty rate
# and working set, against the guest's own truth (tide-guestload wt), and
# against libvirt's single 1 s page-sampling figure.
#
# One 256 MiB guest; a reduced matrix that fits a 2-core machine in about
# 10 minutes: rates 1, 10, 40 MiB/s x working sets 4, 32, 96 MiB x
# sequential (dirty) and random (dirtyrand), plus rate 0 once per mode.  Per
# cell a fresh tided on h1 (so no reading of the previous cell is averaged
# in) probes until it has the 1, 2, 4 and 8 s windows; then virsh
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
for mode in dirty dirtyrand; do
	cells+=("$mode 0 0")
	for rate in 1 10 40; do
		for wss in 4 32 96; do cells+=("$mode $rate $wss"); done
	done
done

# the dirty object of v1 once it has all four windows (60 s at most)
tide_curve() {
	local t0 j
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt 60 ]; do
		j=$(tb tidectl h1 -j vm show v1 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["vms"][0]["dirty"]
if not {1000, 2000, 4000, 8000} <= {p["t_ms"] for p in d["points"]}:
    sys.exit(1)
print(json.dumps(d))' 2>/dev/null) && { echo "$j"; return 0; }
		sleep 1
	done
	return 1
}

echo "mode,rate_mib_s,wss_mib,true_rate_mib_s,true_wss_mib,true_w8_mib,tide_rate_mib_s,tide_rate_lower_bound,tide_wss_mib,tide_wss_lower_bound,libvirt_1s_mib_s,tide_rate_err_pct,tide_wss_err_pct,libvirt_rate_err_pct,libvirt_as_wss_err_pct,w1_mib,w2_mib,w4_mib,w8_mib" >"$csv"
printf '  %-9s %5s %4s | %8s %7s | %9s %8s | %8s | %8s %8s %8s\n' mode rate wss true_r true_ws tide_r tide_ws virsh_1s err_r% err_ws% virsh%
for c in "${cells[@]}"; do
	read -r mode rate wss <<<"$c"
	pages=$((rate * 256))
	cmd=$mode; [ "$rate" = 0 ] && cmd=dirty
	r=$(tb guest ctl v1 "$cmd" "$pages" "$wss") && [[ $r == ok* ]] || fail "v1 refused '$cmd $pages $wss': $r"
	sleep 1
	tb tided start h1 >/dev/null 2>&1 || fail "tided did not start on h1"
	j=$(tide_curve) || fail "no full curve for '$c' within 60 s"
	tb tided stop h1 >/dev/null 2>&1 || fail "tided did not stop on h1"
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
	python3 - "$c" "$j" "$lv" "$truth" >>"$csv" <<'EOF'
import json, re, sys
mode, rate, wss = sys.argv[1].split(); d = json.loads(sys.argv[2]); lv = float(sys.argv[3])
w = dict((int(t), int(p)) for t, p in re.findall(r"(\d+):(\d+)", sys.argv[4].split("w=")[1]))
mib = 4096 / 2**20
true_rate = w[50] * 20 * mib
true_wss = int(re.search(r"wss_pages=(\d+)", sys.argv[4]).group(1)) * mib
tide_rate = d["rate_bytes_per_s"] / 2**20; tide_wss = d["working_set_bytes"] / 2**20
def err(est, true): return "" if true == 0 else "%.0f" % (100 * (est - true) / true)
pts = {p["t_ms"]: p["pages"] * mib for p in d["points"]}
print(",".join(str(x) for x in [mode, rate, wss, "%.2f" % true_rate, "%.1f" % true_wss, "%.1f" % (w[8000] * mib),
      "%.2f" % tide_rate, int(d["rate_is_lower_bound"]), "%.1f" % tide_wss, int(d["working_set_is_lower_bound"]),
      "%.0f" % lv, err(tide_rate, true_rate), err(tide_wss, true_wss), err(lv, true_rate), err(lv, true_wss)] +
      ["%.1f" % pts.get(t, -1) for t in (1000, 2000, 4000, 8000)]))
EOF
	tail -1 "$csv" | awk -F, '{printf "  %-9s %5s %4s | %8s %7s | %8s%s %7s%s | %8s | %8s %8s %8s\n", $1, $2, $3, $4, $5, $7, ($8 ? ">" : " "), $9, ($10 ? ">" : " "), $11, $12, $13, $14}'
done
tb guest ctl v1 dirty 0 0 >/dev/null || true
summary=$(python3 - "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def med(k):
    v = [abs(float(r[k])) for r in rows if r[k] != ""]
    return "%.0f %%" % statistics.median(v) if v else "-"
print("%s|%s|%s|%s" % (med("tide_rate_err_pct"), med("tide_wss_err_pct"), med("libvirt_rate_err_pct"), med("libvirt_as_wss_err_pct")))
EOF
)
IFS='|' read -r er ew el elw <<<"$summary"
echo "  median |error|: tide rate $er, tide working set $ew, libvirt 1 s as a rate $el, libvirt 1 s as a working set $elw"
echo "  CSV: $csv"
bench_row "dirty-rate estimate of a 256 MiB guest, 1-40 MiB/s over 4-96 MiB (seq+random): median |error| of tide's rate" "$er" "" ""
bench_row "the same: tide's working set (plateau of W(1..8 s))" "$ew" "" ""
bench_row "the same: libvirt's single 1 s page-sampling figure as the rate" "$el" "" ""
