#!/usr/bin/env bash
# b-collect: what tide's collection costs, against the libvirt call that the
# libvirt Prometheus exporters make, and alone at scale.
#
#  1. 20 real testbed guests on one host: CPU of one collection of all of
#     them by tided (its own per-tick measurement, CLOCK_THREAD_CPUTIME_ID,
#     at a 100 ms tick), against one virConnectGetAllDomainStats() call for
#     the same guests (caller + libvirtd CPU), measured with tided stopped.
#     tided's cost is given twice: user space only, and with the kernel
#     time of its BPF programs (BPF stats run_time_ns of the programs its
#     process holds, over the same interval, per collection).  Goal:
#     tided >= 20x cheaper.
#  2. 25..200 simulated VMs (fakevms: processes whose threads are named like
#     vCPU threads, 2 each, one veth each), tracked by the real collect
#     module and BPF collectors, ticked at 10 Hz: CPU per tick and the share
#     of one core, user space only and with the BPF programs' kernel time.
#     Goal: <= 1 % of one core with 200 VMs.
#
# Tables on stdout, progress on stderr, CSV and a plot in $BUILD/bench/.
# Knobs: COLLECT_GUESTS (20), COLLECT_SECONDS (10), COLLECT_SIM ("25 50 100 200").
set -uo pipefail
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac
export BUILD
TB="$top/tests/testbed/tb"
. "$top/tests/testbed/lock.sh"
. "$here/rows.sh"
out=$BUILD/bench
guests=${COLLECT_GUESTS:-20}
secs=${COLLECT_SECONDS:-10}
sims=${COLLECT_SIM:-25 50 100 200}
goal_ratio=20 goal_core_pct=1
mkdir -p "$out"
progress() { printf '  ... %s\n' "$*" >&2; }
kv() { sed -n "s/^$1=//p" "$2"; }
us() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1000 }'; }

if [ "$(id -u)" != 0 ]; then
	echo "b-collect: skipped: needs root (testbed, BPF)" >&2
	exit 0
fi

stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	ip netns del tide-bench 2>/dev/null
	"$TB" down >/dev/null 2>&1
	echo "$stats_was" >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1: 20 real guests -------------------------------------------------------
progress "testbed: one host, $guests idle guests (about 3 s each to boot under TCG)"
TIDED_TICK_MS=100 "$TB" up -n 1 >/dev/null 2>&1 || { echo "b-collect: testbed did not come up" >&2; exit 1; }
for i in $(seq "$guests"); do
	"$TB" guest start "v$i" h1 --mem 128 --ballast 4 >/dev/null 2>&1 ||
		{ echo "b-collect: guest v$i did not boot" >&2; exit 1; }
	progress "guest v$i up"
done
"$TB" tided start h1 || exit 1
# kernel time so far of the BPF programs process $1 holds (the prog_id of
# its program and link fds, /proc/PID/fdinfo)
bpf_run_ns() {
	local ids
	ids=$(sed -n 's/^prog_id:[[:space:]]*//p' /proc/"$1"/fdinfo/* 2>/dev/null | sort -u | tr '\n' ' ')
	bpftool -j prog show | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin) if p["id"] in ids))' "$ids"
}
# the pid tided itself wrote (tb tided pid)
tided=$("$TB" tided pid h1) ||
	{ echo "b-collect: cannot find tided's process" >&2; exit 1; }
echo 1 >/proc/sys/kernel/bpf_stats_enabled
progress "tided (pid $tided) ticking at 100 ms over $guests guests for $secs s, BPF stats on"
sleep 2
"$TB" tidectl h1 -j host show >"$out/collect-host0.json"
bpf0=$(bpf_run_ns "$tided")
sleep "$secs"
"$TB" tidectl h1 -j host show >"$out/collect-host1.json"
bpf1=$(bpf_run_ns "$tided")
echo "$stats_was" >/proc/sys/kernel/bpf_stats_enabled
nvm=$("$TB" tidectl h1 -j vm show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["vms"]))')
tided_ns=$(python3 - "$out/collect-host0.json" "$out/collect-host1.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["collection"]
b = json.load(open(sys.argv[2]))["collection"]
ticks = b["ticks"] - a["ticks"]
# average over the window from the running totals (avg_ns * ticks)
tot = b["avg_ns"] * b["ticks"] - a["avg_ns"] * a["ticks"]
print(int(tot / ticks) if ticks > 0 else 0)
PY
)
tided_bpf_ns=$(python3 - "$out/collect-host0.json" "$out/collect-host1.json" "$bpf0" "$bpf1" <<'PY'
import json, sys
ticks = json.load(open(sys.argv[2]))["collection"]["ticks"] - json.load(open(sys.argv[1]))["collection"]["ticks"]
print(int((int(sys.argv[4]) - int(sys.argv[3])) / ticks) if ticks > 0 else 0)
PY
)
# libvirt's side alone: tided stopped (and its programs detached)
"$TB" tided stop h1 || { echo "b-collect: tided (pid $tided) did not stop" >&2; exit 1; }
progress "virConnectGetAllDomainStats x 50 over the same guests"
"$TB" exec h1 "$BUILD/tests/bench/libvirtstats" qemu:///system \
	"$(cat /var/tmp/tide-testbed/h1/libvirtd.pid)" 50 100 >"$out/collect-libvirt.txt" ||
	{ echo "b-collect: libvirtstats failed" >&2; exit 1; }
lv_client=$(kv client_cpu_ns_per_call "$out/collect-libvirt.txt")
lv_daemon=$(kv libvirtd_cpu_ns_per_call "$out/collect-libvirt.txt")
lv_wall=$(kv wall_ns_per_call "$out/collect-libvirt.txt")
lv_total=$((lv_client + lv_daemon))
"$TB" down >/dev/null 2>&1

echo
echo "One collection of all $guests guests (CPU per collection)"
printf '%-44s %10s %14s %14s\n' "collector" "VMs" "cpu_us" "wall_us"
tided_all_ns=$((tided_ns + tided_bpf_ns))
printf '%-44s %10s %14s %14s\n' "tided collect_tick, user space" "$nvm" "$(us "$tided_ns")" "-"
printf '%-44s %10s %14s %14s\n' "tided BPF programs (kernel), per collection" "$nvm" "$(us "$tided_bpf_ns")" "-"
printf '%-44s %10s %14s %14s\n' "tided, everything" "$nvm" "$(us "$tided_all_ns")" "-"
printf '%-44s %10s %14s %14s\n' "virConnectGetAllDomainStats (caller+libvirtd)" "$guests" \
	"$(us "$lv_total")" "$(us "$lv_wall")"
ratio=$(awk -v a="$lv_total" -v b="$tided_ns" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
ratio_all=$(awk -v a="$lv_total" -v b="$tided_all_ns" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
met=no; awk -v r="$ratio" -v g="$goal_ratio" 'BEGIN { exit !(r >= g) }' && met=yes
met_all=no; awk -v r="$ratio_all" -v g="$goal_ratio" 'BEGIN { exit !(r >= g) }' && met_all=yes
printf 'tided is %.1fx cheaper in user space, %.1fx with its BPF programs (goal >= %dx): %s, %s\n' \
	"$ratio" "$ratio_all" "$goal_ratio" "$met" "$met_all"
echo "(BPF programs: their kernel time over the window / collections; libvirt measured with tided stopped)"
echo "collector,vms,cpu_ns" >"$out/collect-vs-libvirt.csv"
echo "tided,$nvm,$tided_ns" >>"$out/collect-vs-libvirt.csv"
echo "tided_bpf,$nvm,$tided_bpf_ns" >>"$out/collect-vs-libvirt.csv"
echo "libvirt,$guests,$lv_total" >>"$out/collect-vs-libvirt.csv"
bench_row "one collection of $nvm real guests by tided, user space" "$(us "$tided_ns") us CPU" "" ""
bench_row "tided's BPF programs over the same guests, kernel time per collection" \
	"$(us "$tided_bpf_ns") us" "" ""
bench_row "one virConnectGetAllDomainStats of the same guests (caller + libvirtd, tided stopped)" \
	"$(us "$lv_total") us CPU, $(us "$lv_wall") us wall" "" ""
bench_row "libvirt call over tided, user space only" "${ratio}x" ">= ${goal_ratio}x" "$met"
bench_row "libvirt call over tided, everything (user space + BPF)" "${ratio_all}x" ">= ${goal_ratio}x" "$met_all"

# ---- 2: simulated VMs at scale -----------------------------------------------
max=0; for n in $sims; do [ "$n" -gt "$max" ] && max=$n; done
progress "simulated VMs: $max veth pairs in namespace tide-bench"
ip netns del tide-bench 2>/dev/null
ip netns add tide-bench
for i in $(seq 0 $((max - 1))); do
	n=$(printf %03d "$i")
	ip -n tide-bench link add "sv$n" type veth peer name "svp$n"
	ip -n tide-bench link set "sv$n" up
	ip -n tide-bench link set "svp$n" up
done
csv=$out/collect-scale.csv
echo "vms,threads,taps,avg_tick_cpu_ns,max_tick_cpu_ns,core_pct,bpf_run_ns,core_pct_all" >"$csv"
echo
echo "Collection at 10 Hz, simulated VMs (2 vCPU threads and one tap each); core_pct: user space,"
echo "all_pct: with the BPF programs' kernel time (BPF stats, the same interval)"
printf '%6s %8s %6s %12s %12s %10s %8s %6s\n' VMs threads taps avg_tick_us max_tick_us core_pct all_pct goal
for n in $sims; do
	progress "$n simulated VMs, $secs s at 10 Hz"
	ip netns exec tide-bench "$BUILD/tests/bench/collectbench" "$BUILD/tests/bench/fakevms" \
		"$n" 2 10 "$secs" sv >"$out/collect-$n.txt" 2>"$out/collect-$n.err" ||
		{ cat "$out/collect-$n.err" >&2; exit 1; }
	f=$out/collect-$n.txt
	pct=$(kv core_pct "$f") pct_all=$(kv core_pct_all "$f")
	goal=-; [ "$n" -eq 200 ] && { goal=no; awk -v p="$pct" -v g="$goal_core_pct" 'BEGIN { exit !(p <= g) }' && goal=yes; }
	printf '%6s %8s %6s %12s %12s %10s %8s %6s\n' "$(kv vms "$f")" "$(kv threads "$f")" "$(kv taps "$f")" \
		"$(us "$(kv avg_tick_cpu_ns "$f")")" "$(us "$(kv max_tick_cpu_ns "$f")")" "$pct" "$pct_all" "$goal"
	echo "$n,$(kv threads "$f"),$(kv taps "$f"),$(kv avg_tick_cpu_ns "$f"),$(kv max_tick_cpu_ns "$f"),$pct,$(kv bpf_run_ns "$f"),$pct_all" >>"$csv"
	if [ "$n" -eq "$max" ]; then
		met_all=-; [ "$n" -eq 200 ] && { met_all=no; awk -v p="$pct_all" -v g="$goal_core_pct" 'BEGIN { exit !(p <= g) }' && met_all=yes; }
		bench_row "tided collecting $n simulated VMs ($(kv threads "$f") vCPU threads, $n taps) at 10 Hz, user space" \
			"$(us "$(kv avg_tick_cpu_ns "$f")") us per tick, $pct % of one core" "<= $goal_core_pct %" "$goal"
		bench_row "the same, with the BPF programs' kernel time" "$pct_all % of one core" \
			"<= $goal_core_pct %" "$met_all"
	fi
done
echo "(modes: cpu $(kv cpu_mode "$out/collect-$max.txt"), net $(kv net_mode "$out/collect-$max.txt"); goal <= ${goal_core_pct} % of one core at 200 VMs)"

# Debian's python3 (python3-matplotlib), whatever python3 comes first in PATH
/usr/bin/python3 - "$csv" "$out/collect-scale.png" <<'PY' && echo "plot: $out/collect-scale.png"
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
n = [int(r["vms"]) for r in rows]
us = [int(r["avg_tick_cpu_ns"]) / 1000 for r in rows]
pct = [float(r["core_pct"]) for r in rows]
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(n, us, "o-", label="CPU per collection (us)")
ax.set_xlabel("VMs (2 vCPU threads, 1 tap each)")
ax.set_ylabel("CPU per collection, us")
ax2 = ax.twinx()
ax2.plot(n, pct, "s--", color="tab:red", label="share of one core at 10 Hz (%)")
ax2.axhline(1.0, color="tab:red", lw=0.8, ls=":")
ax2.set_ylabel("% of one core at 10 Hz")
ax.set_title("tide collection cost")
fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
PY
