#!/usr/bin/env bash
# b-bpf-cost: what tide's CPU collector (bpf/cpu.bpf.c) costs the host.
#
#  1. Per-event cost of each program, from the kernel's BPF stats
#     (run_time_ns / run_cnt; enabled through BPF_ENABLE_STATS by the
#     helper for its run only, so bpf_stats_enabled is back as it was even
#     if it dies), while a pipe ping-pong between two processes pinned on
#     one CPU switches: (a) untracked, (b) both processes tracked.  An
#     empty tp_btf program on sched_switch runs alongside as the baseline.
#     Every mode: the default and each fallback.
#  2. Slowdown of that ping-pong (round trips per second) with tide
#     attached vs nothing attached, interleaved, median of the rounds; the
#     empty program is measured the same way, as the floor of any BPF
#     program on sched_switch.
#
# Tables on stdout, progress on stderr, CSV in $BUILD/bench/bpf-cost.csv.
# Knobs: BPFCOST_SECONDS (per cost run, 2), BPFCOST_ROUNDS (9),
# BPFCOST_RUN_SECONDS (per slowdown run, 1), BPFCOST_CPU (last CPU).
set -uo pipefail
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
bin=$BUILD/tests/bench/bpfcost
out=$BUILD/bench
csv=$out/bpf-cost.csv
cost_s=${BPFCOST_SECONDS:-2}
rounds=${BPFCOST_ROUNDS:-9}
run_s=${BPFCOST_RUN_SECONDS:-1}
cpu_opt=()
[ -n "${BPFCOST_CPU:-}" ] && cpu_opt=(--cpu "$BPFCOST_CPU")

# goals, ns per event: absolute, and over the empty program (which the
# goals take as ~35 ns)
goal_untracked=50 goal_tracked=90 goal_empty=35 goal_slowdown_pct=5

if [ "$(id -u)" != 0 ]; then
	echo "b-bpf-cost: skipped: needs root (loads BPF programs)" >&2
	exit 0
fi
mkdir -p "$out"
if [ ! -x "$bin" ] || [ tests/bench/bpfcost.c -nt "$bin" ]; then
	make -s "$bin" || { echo "b-bpf-cost: cannot build $bin" >&2; exit 1; }
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo '?')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. per-event cost, every mode
modes=("default:" "tid_hash:--tid-hash" "raw_tp:--raw-tp" "timestamps:--timestamps")
n=0
for m in "${modes[@]}"; do
	n=$((n + 1))
	name=${m%%:*} opt=${m#*:}
	printf '  [%d/%d] cost, mode %s\n' "$n" "$((${#modes[@]} + 1))" "$name" >&2
	# shellcheck disable=SC2086
	"$bin" cost --seconds "$cost_s" "${cpu_opt[@]}" $opt >>"$tmp/cost.csv" ||
		{ echo "b-bpf-cost: bpfcost cost $opt failed" >&2; exit 1; }
done
stats_after=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo '?')

# 2. slowdown
printf '  [%d/%d] slowdown, %d rounds of 4 runs of %s s\n' "$((${#modes[@]} + 1))" \
	"$((${#modes[@]} + 1))" "$rounds" "$run_s" >&2
"$bin" slowdown --seconds "$run_s" --rounds "$rounds" "${cpu_opt[@]}" >"$tmp/slow.csv" ||
	{ echo "b-bpf-cost: bpfcost slowdown failed" >&2; exit 1; }

# ---- tables -----------------------------------------------------------------
# cost rows: cost,program,pingpong,attach,tag,source,events,ns,misses,rt,tracked_sw
awk -F, -v gu="$goal_untracked" -v gt="$goal_tracked" -v ge="$goal_empty" '
$1 != "cost" { next }
{
	cfg = $4 "+" $5 "+" $6
	key = cfg SUBSEP $3
	if ($2 == "empty_tp_btf") { empty[key] = $8; next }
	row[++n] = $0; rkey[n] = key
}
END {
	printf "\nPer-event cost (kernel BPF stats; ping-pong on one CPU; empty = empty tp_btf on sched_switch)\n"
	printf "%-16s %-10s %-32s %10s %9s %9s %11s %12s %5s\n", "program", "ping-pong",
	       "mode (attach+tag+source)", "events", "ns/event", "empty ns", "over empty",
	       "goal", "met?"
	for (i = 1; i <= n; i++) {
		split(row[i], f, ",")
		goal = f[3] == "tracked" ? gt : gu
		e = empty[rkey[i]]
		if (f[7] == 0) {	# e.g. sched_wakeup_new: nothing forked
			printf "%-16s %-10s %-32s %10d %9s %9.1f %11s %5s (+%2d) %5s\n", f[2], f[3],
			       f[4] "+" f[5] "+" f[6], 0, "-", e, "-", "<=" goal, goal - ge, "-"
			continue
		}
		over = f[8] - e
		# met: absolute goal, or the same margin over the empty program
		met = (f[8] <= goal || over <= goal - ge) ? "yes" : "NO"
		printf "%-16s %-10s %-32s %10d %9.1f %9.1f %+11.1f %5s (+%2d) %5s\n", f[2], f[3],
		       f[4] "+" f[5] "+" f[6], f[7], f[8], e, over, "<=" goal, goal - ge, met
	}
}' "$tmp/cost.csv"

awk -F, -v g="$goal_slowdown_pct" '
$1 == "round" { r[$2] = r[$2] sprintf(" %d", $4); next }
$1 == "slowdown" { c[++n] = $2; med[$2] = $3; pct[$2] = $4 }
END {
	printf "\nPipe ping-pong on one CPU, round trips/s (median of interleaved rounds;"
	printf " over empty: beyond what any program on sched_switch costs)\n"
	printf "%-14s %12s %10s %11s %7s %5s   %s\n", "attached", "median rt/s", "slowdown",
	       "over empty", "goal", "met?", "rounds"
	for (i = 1; i <= n; i++) {
		k = c[i]
		goal = (k == "off" || k == "empty_tp_btf") ? "-" : "<=" g "%"
		met = goal == "-" ? "-" : (pct[k] <= g ? "yes" : "NO")
		over = k == "off" || k == "empty_tp_btf" ? "-" : sprintf("%+.2f%%", pct[k] - pct["empty_tp_btf"])
		printf "%-14s %12d %9.2f%% %11s %7s %5s  %s\n", k, med[k], pct[k], over, goal, met, r[k]
	}
}' "$tmp/slow.csv"

{
	echo "kind,program_or_config,pingpong_or_round,attach,tag,source,events,ns_per_event,recursion_misses,rt_per_s,tracked_switches,slowdown_pct"
	awk -F, '$1 == "cost" { print $0 "," }' "$tmp/cost.csv"
	awk -F, '$1 == "round" { printf "round,%s,%s,,,,,,,%s,,\n", $2, $3, $4 }
		 $1 == "slowdown" { printf "slowdown,%s,median,,,,,,,%s,,%s\n", $2, $3, $4 }' "$tmp/slow.csv"
} >"$csv"

printf '\nbpf_stats_enabled: %s before, %s after the cost runs (restored by closing the stats fd)\n' \
	"$stats_before" "$stats_after"
echo "CSV: $csv"
