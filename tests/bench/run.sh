#!/usr/bin/env bash
# make bench: run every tests/bench/b-*.sh in order.  Each prints its own
# table(s) as it goes and may leave CSVs and plots in $BUILD/bench; each
# also adds its headline rows (bench_row, rows.sh) to one Markdown table,
# $BUILD/bench/results.md, headed by the date, kernel and machine, from
# which the README's "Measured" table is taken.
set -uo pipefail
BUILD=${BUILD:-build}
export BUILD
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../testbed/lock.sh"
mkdir -p "$BUILD/bench"
BENCH_ROWS=$BUILD/bench/results.rows
export BENCH_ROWS
: >"$BENCH_ROWS"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
rc=0 failed=
for b in "$here"/b-*.sh; do
	[ -e "$b" ] || continue
	printf '\n== bench %s ==\n' "$(basename "$b" .sh)"
	bash "$b" || { echo "bench $(basename "$b") failed" >&2; rc=1; failed="$failed $(basename "$b" .sh)"; }
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
hyp=$(grep -qw hypervisor /proc/cpuinfo && echo ", virtual machine" || true)
{
	echo "# tide benchmark results"
	echo
	echo "\`make bench\` started $started on $(uname -n): ${cpu:-unknown CPU}, $(nproc) CPUs$hyp,"
	echo "$mem_gib GiB, kernel $(uname -r) ($(uname -m))."
	[ -n "$failed" ] && echo && echo "Benches that failed (their rows are missing or partial):$failed."
	echo
	echo "| what | figure | goal | met |"
	echo "| --- | --- | --- | --- |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3 == "" ? "" : $3, $4 }' "$BENCH_ROWS"
} >"$BUILD/bench/results.md"
printf '\nresults table: %s\n' "$BUILD/bench/results.md"
exit $rc
