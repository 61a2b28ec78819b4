#!/usr/bin/env bash
# Run each fuzz target for SECONDS from its seed corpus; fail on any finding
# (crash, sanitizer report, leak, timeout), naming the input that made it.
# Usage: run.sh BUILD SECONDS NAME...
set -uo pipefail
build=$1 secs=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
fail=0
for name in "$@"; do
	bin=$build/fuzz/fuzz_$name
	corpus=$build/fuzz/$name-corpus findings=$build/fuzz/$name-findings
	mkdir -p "$corpus" "$findings"
	log=$build/fuzz/$name.log
	LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$findings/" -print_final_stats=1 \
		"$corpus" "$here/corpus/$name" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -ne 0 ]; then
		fail=1
		printf '  %-8s fuzz_%s: a finding after %s executions (%s):\n' FAIL "$name" "${execs:-?}" "$log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
	else
		printf '  %-8s fuzz_%s: %s executions in %s s, no finding\n' PASS "$name" "${execs:-?}" "$secs"
	fi
done
exit $fail
