#!/usr/bin/env bash
# b-migrate: what a live migration of the testbed's guest costs, for the
# README: a 128 MiB guest dirtying 15 MiB/s over a 32 MiB working set,
# migrated back and forth MIGRATE_N times (default 6) under a 32 MiB/s cap,
# its memory verified (ballast and working set checksummed, the ledger and
# the host's witness) after every arrival and a TCP session kept open
# throughout.  Prints one line per migration and the median and range of
# time, downtime and rounds; CSV in $BUILD/bench/migrate.csv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# the integration tests' helpers: testbed up and down, verify, session
. "$here/../integration/lib.sh"
. "$here/rows.sh"
T_NAME=b-migrate
n_mig=${MIGRATE_N:-6}
out=$BUILD/bench
mkdir -p "$out"

tb_start
tb guest start g1 h1 --mem 128 >/dev/null 2>&1 || fail "guest g1 did not boot"
tb guest ctl g1 dirty 3840 32 >/dev/null || fail "cannot start the dirtier"
session_start g1 50
sleep 2
csv=$out/migrate.csv
echo "n,src,dst,time_ms,downtime_ms,rounds,memory_processed_mib" >"$csv"
printf '  %-3s %-8s %9s %12s %7s\n' "#" "move" "time_ms" "downtime_ms" "rounds"
src=h1 dst=h2
for i in $(seq "$n_mig"); do
	witness_take g1
	o=$(tb migrate g1 "$dst" --bandwidth 32 --timeout 120) || fail "migration $i failed"
	t=$(sed -n 's/^time_ms=//p' <<<"$o") d=$(sed -n 's/^downtime_ms=//p' <<<"$o")
	r=$(sed -n 's/^rounds=//p' <<<"$o") m=$(sed -n 's/^memory_processed=//p' <<<"$o")
	printf '  %-3s %-8s %9s %12s %7s\n' "$i" "$src->$dst" "$t" "$d" "$r"
	echo "$i,$src,$dst,$t,$d,$r,$m" >>"$csv"
	verify_guest g1 "after migration $i" >/dev/null
	tmp=$src; src=$dst; dst=$tmp
done
session_end >/dev/null
read -r summary < <(python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def col(k): return [float(r[k]) for r in rows]
def s(k, unit):
    v = col(k)
    return f"{statistics.median(v):.0f} {unit} (range {min(v):.0f}-{max(v):.0f})"
print(f"{len(rows)}|{s('time_ms', 'ms')}|{s('downtime_ms', 'ms')}|{s('rounds', 'rounds')}")
PY
)
IFS='|' read -r n tm dt rd <<<"$summary"
echo "  median over $n migrations: time $tm, downtime $dt, $rd"
bench_row "live migration of a 128 MiB guest dirtying 15 MiB/s over 32 MiB, 32 MiB/s cap: total time (median of $n)" "$tm" "" ""
bench_row "the same: downtime" "$dt" "" ""
bench_row "the same: pre-copy rounds" "$rd" "" ""
bench_row "the same: guest memory verified after every arrival, TCP session kept" "$n of $n intact, session unbroken" "all" "yes"
