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
#  3. Per-packet cost of the net collector's tc programs (bpf/net.bpf.c)
#     from BPF stats, while a packet socket blasts frames through a veth
#     pair in a private namespace (tide-bench-net-PID, removed on any
#     exit), an empty tc program on the same tcx hooks as the baseline
#     (tests/bench/netcost.c).  Each run twice: tide first on the hook (as
#     deployed) and tide last; the first program of a chain pays for
#     cache lines and TLB entries the next finds warm, and the mean of
#     the two orders' differences cancels that share.
#
# Tables on stdout, progress on stderr, CSV in $BUILD/bench/bpf-cost.csv.
# Knobs: BPFCOST_SECONDS (per cost run, 2), BPFCOST_ROUNDS (9),
# BPFCOST_RUN_SECONDS (per slowdown run, 1), BPFCOST_CPU (last CPU),
# BPFCOST_NET_SECONDS (per net run, 2), BPFCOST_NET_RUNS (3).
# Headline rows go to the results table of run.sh (rows.sh).
set -uo pipefail
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
bin=$BUILD/tests/bench/bpfcost
netbin=$BUILD/tests/bench/netcost
out=$BUILD/bench
csv=$out/bpf-cost.csv
cost_s=${BPFCOST_SECONDS:-2}
rounds=${BPFCOST_ROUNDS:-9}
run_s=${BPFCOST_RUN_SECONDS:-1}
net_s=${BPFCOST_NET_SECONDS:-2}
net_runs=${BPFCOST_NET_RUNS:-3}
cpu_opt=()
[ -n "${BPFCOST_CPU:-}" ] && cpu_opt=(--cpu "$BPFCOST_CPU")

# goals, ns per event: absolute, and over the empty program (which the
# goals take as ~35 ns); net: ns per packet over the empty tc program
goal_untracked=50 goal_tracked=75 goal_empty=35 goal_slowdown_pct=5 goal_net_over=30
. "$here/rows.sh"
# the testbed's `tb down` removes every tide-* namespace: hold its lock
. "$here/../testbed/lock.sh"

if [ "$(id -u)" != 0 ]; then
	echo "b-bpf-cost: skipped: needs root (loads BPF programs)" >&2
	exit 0
fi
mkdir -p "$out"
if [ ! -x "$bin" ] || [ ! -x "$netbin" ] || [ tests/bench/bpfcost.c -nt "$bin" ] ||
   [ tests/bench/netcost.c -nt "$netbin" ]; then
	make -s "$bin" "$netbin" || { echo "b-bpf-cost: cannot build $bin, $netbin" >&2; exit 1; }
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo '?')
tmp=$(mktemp -d)
netns=tide-bench-net-$$
trap 'ip netns del "$netns" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# 1. per-event cost, every mode
# the default mode twice: tide last on the tracepoint, then first (see 3.)
modes=("default:" "default:--empty-last" "tid_hash:--tid-hash" "raw_tp:--raw-tp"
       "timestamps:--timestamps")
n=0
for m in "${modes[@]}"; do
	n=$((n + 1))
	name=${m%%:*} opt=${m#*:}
	printf '  [%d/%d] cost, mode %s\n' "$n" "$((${#modes[@]} + 2))" "$name" >&2
	# shellcheck disable=SC2086
	order=tide_last; [ "$opt" = --empty-last ] && order=tide_first
	"$bin" cost --seconds "$cost_s" "${cpu_opt[@]}" $opt >"$tmp/cost1.csv" ||
		{ echo "b-bpf-cost: bpfcost cost $opt failed" >&2; exit 1; }
	sed "s/\$/,$order/" "$tmp/cost1.csv" >>"$tmp/cost.csv"
done
stats_after=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo '?')

# 2. slowdown
printf '  [%d/%d] slowdown, %d rounds of 4 runs of %s s\n' "$((${#modes[@]} + 1))" \
	"$((${#modes[@]} + 2))" "$rounds" "$run_s" >&2
"$bin" slowdown --seconds "$run_s" --rounds "$rounds" "${cpu_opt[@]}" >"$tmp/slow.csv" ||
	{ echo "b-bpf-cost: bpfcost slowdown failed" >&2; exit 1; }

# 3. net programs, per packet
printf '  [%d/%d] net cost, %d runs of %s s through a veth pair in %s\n' "$((${#modes[@]} + 2))" \
	"$((${#modes[@]} + 2))" "$net_runs" "$net_s" "$netns" >&2
ip netns add "$netns" && ip -n "$netns" link add nb0 type veth peer name nb1 &&
	ip -n "$netns" link set nb0 up && ip -n "$netns" link set nb1 up ||
	{ echo "b-bpf-cost: cannot make namespace $netns with a veth pair" >&2; exit 1; }
net_rc=0
for r in $(seq "$net_runs"); do
	for order in tide_first tide_last; do
		opt=(); [ "$order" = tide_last ] && opt=(--empty-first)
		ip netns exec "$netns" "$netbin" --seconds "$net_s" "${opt[@]}" nb0 nb1 |
			sed "s/^/$r,$order,/" >>"$tmp/net.csv"
		rc=${PIPESTATUS[0]}
		[ "$rc" = 0 ] && continue
		net_rc=$rc
		break 2
	done
done
ip netns del "$netns" 2>/dev/null
[ "$net_rc" = 77 ] && echo "b-bpf-cost: net cost skipped (no tcx)" >&2
[ "$net_rc" != 0 ] && [ "$net_rc" != 77 ] && { echo "b-bpf-cost: netcost failed" >&2; exit 1; }

# ---- tables -----------------------------------------------------------------
# cost rows: cost,program,pingpong,attach,tag,source,events,ns,misses,rt,tracked_sw,order
awk -F, -v gu="$goal_untracked" -v gt="$goal_tracked" -v ge="$goal_empty" -v rows="${BENCH_ROWS:-}" '
$1 != "cost" { next }
{
	cfg = $4 "+" $5 "+" $6
	key = cfg SUBSEP $3 SUBSEP $12
	if ($2 == "empty_tp_btf") { empty[key] = $8; next }
	row[++n] = $0; rkey[n] = key
}
END {
	printf "\nPer-event cost (kernel BPF stats; ping-pong on one CPU; empty = empty tp_btf on sched_switch;"
	printf " tide last/first: attached after/before it)\n"
	printf "%-16s %-10s %-32s %-10s %10s %9s %9s %11s %12s %5s\n", "program", "ping-pong",
	       "mode (attach+tag+source)", "tide", "events", "ns/event", "empty ns", "over empty",
	       "goal", "met?"
	for (i = 1; i <= n; i++) {
		split(row[i], f, ",")
		goal = f[3] == "tracked" ? gt : gu
		e = empty[rkey[i]]
		ord = f[12] == "tide_first" ? "first" : "last"
		if (f[7] == 0) {	# e.g. sched_wakeup_new: nothing forked
			printf "%-16s %-10s %-32s %-10s %10d %9s %9.1f %11s %5s (+%2d) %5s\n", f[2], f[3],
			       f[4] "+" f[5] "+" f[6], ord, 0, "-", e, "-", "<=" goal, goal - ge, "-"
			continue
		}
		over = f[8] - e
		if (f[2] == "cpu_switch_btf") { both[f[3], f[12]] = over; abs[f[3], f[12]] = f[8]; cfgof = f[4] "+" f[5] "+" f[6] }
		# met: absolute goal, or the same margin over the empty program
		met = (f[8] <= goal || over <= goal - ge) ? "yes" : "NO"
		printf "%-16s %-10s %-32s %-10s %10d %9.1f %9.1f %+11.1f %5s (+%2d) %5s\n", f[2], f[3],
		       f[4] "+" f[5] "+" f[6], ord, f[7], f[8], e, over, "<=" goal, goal - ge, met
	}
	for (k = 0; k < 2; k++) {
		pp = k ? "tracked" : "untracked"
		if (!((pp, "tide_first") in both) || !((pp, "tide_last") in both))
			continue
		goal = k ? gt : gu
		mean = (both[pp, "tide_first"] + both[pp, "tide_last"]) / 2
		met = mean <= goal - ge ? "yes" : "NO"
		printf "cpu_switch_btf %s: over empty %+.1f ns, mean of both orders (tide first %+.1f, last %+.1f; goal +%d): %s\n",
		       pp, mean, both[pp, "tide_first"], both[pp, "tide_last"], goal - ge, met
		if (rows != "")
			printf "sched_switch program, %s (%s), over an empty program\t%+.1f ns (mean of both orders; tide first %+.1f, last %+.1f)\tempty + %d ns\t%s\n",
			       k ? "vCPU thread tracked" : "thread not tracked", cfgof, mean,
			       both[pp, "tide_first"], both[pp, "tide_last"], goal - ge, met >> rows
	}
}' "$tmp/cost.csv"

awk -F, -v g="$goal_slowdown_pct" -v rows="${BENCH_ROWS:-}" '
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
		if (rows != "" && (k == "empty_tp_btf" || k == "tide_tracked"))
			printf "pipe ping-pong slowdown, %s\t%.2f %%%s\t%s\t%s\n",
			       k == "empty_tp_btf" ? "empty program on sched_switch" : "tide, ping-pong tracked",
			       pct[k], over == "-" ? "" : " (" over " over the empty program)",
			       goal == "-" ? "" : goal " in all", met >> rows
	}
}' "$tmp/slow.csv"

# net rows: RUN,ORDER,net,HOOK,PROGRAM,RUNS,NS  and  RUN,ORDER,sent,FRAMES,EGRESS_COUNTED,INGRESS_COUNTED
if [ -s "$tmp/net.csv" ]; then
	awk -F, -v g="$goal_net_over" -v runs="$net_runs" -v rows="${BENCH_ROWS:-}" '
	function range(a, b) { return a == b ? sprintf("%+.1f", a) : sprintf("%+.1f..%+.1f", a, b) }
	$3 == "sent" { sent += $4; eg += $5; ig += $6; next }
	$3 != "net" || $6 < 1000 { next }	# hooks the traffic does not pass
	{
		split($4, h, " "); dir = h[2]
		if ($5 == "empty_tc") { empty[$1, $2, dir] = $7; next }
		ns[$1, $2, $5] = $7; dirof[$5] = dir; hook[$5] = $4; pk[$5] += $6
	}
	END {
		printf "\nNet programs per packet (kernel BPF stats; frames through a veth pair; %d runs of each order;", runs
		printf " over empty: minus an empty tc program on the same tcx hook)\n"
		printf "%-12s %-12s %12s %18s %18s %14s %7s %5s\n", "program", "hook", "packets",
		       "tide first", "tide last", "mean of both", "goal", "met?"
		for (p in dirof) {
			lo1 = lo2 = 1e9; hi1 = hi2 = -1e9; s1 = s2 = 0
			for (r = 1; r <= runs; r++) {
				d1 = ns[r, "tide_first", p] - empty[r, "tide_first", dirof[p]]
				d2 = ns[r, "tide_last", p] - empty[r, "tide_last", dirof[p]]
				s1 += d1; s2 += d2
				if (d1 < lo1) lo1 = d1; if (d1 > hi1) hi1 = d1
				if (d2 < lo2) lo2 = d2; if (d2 > hi2) hi2 = d2
			}
			mean = (s1 + s2) / (2 * runs)
			met = mean <= g ? "yes" : "NO"
			printf "%-12s %-12s %12d %18s %18s %+14.1f %7s %5s\n", p, hook[p], pk[p],
			       range(lo1, hi1), range(lo2, hi2), mean, "<=+" g, met
			if (rows != "")
				printf "tc program %s, per packet (%s), over an empty tc program\t%+.1f ns (mean of both orders; tide first %s, last %s; %d runs)\tempty + %d ns\t%s\n",
				       p, dirof[p], mean, range(lo1, hi1), range(lo2, hi2), runs, g, met >> rows
		}
		ok = eg >= sent && ig >= sent ? "yes" : "NO"
		printf "frames sent %d, counted by tide at egress %d, at ingress %d (the kernel adds a few of its own): %s\n",
		       sent, eg, ig, ok
		if (rows != "")
			printf "tc programs count every frame of the blaster\t%d sent, %d / %d counted\tall\t%s\n",
			       sent, eg, ig, ok >> rows
	}' "$tmp/net.csv"
	cp "$tmp/net.csv" "$out/net-cost.csv"
fi

{
	echo "kind,program_or_config,pingpong_or_round,attach,tag,source,events,ns_per_event,recursion_misses,rt_per_s,tracked_switches,order_or_slowdown_pct"
	awk -F, '$1 == "cost" { print $0 }' "$tmp/cost.csv"
	awk -F, '$1 == "round" { printf "round,%s,%s,,,,,,,%s,,\n", $2, $3, $4 }
		 $1 == "slowdown" { printf "slowdown,%s,median,,,,,,,%s,,%s\n", $2, $3, $4 }' "$tmp/slow.csv"
} >"$csv"

printf '\nbpf_stats_enabled: %s before, %s after the cost runs (restored by closing the stats fd)\n' \
	"$stats_before" "$stats_after"
echo "CSV: $csv"
