#!/usr/bin/env bash
# Run every integration test tests/integration/t-*.sh on the real testbed.
# Exit 0 pass, 77 skip (the reason is printed), anything else fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../testbed/lock.sh"
pass=0 fail=0 skip=0 failed=""
for t in "$here"/t-*.sh; do
	name=$(basename "$t" .sh)
	printf '  %-8s %s\n' RUN "$name"
	start=$(date +%s)
	bash "$t"; rc=$?
	dur=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); printf '  %-8s %s (%d s)\n' PASS "$name" "$dur" ;;
	77) skip=$((skip + 1)); printf '  %-8s %s\n' SKIP "$name" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; printf '  %-8s %s (exit %d, %d s)\n' FAIL "$name" "$rc" "$dur" ;;
	esac
done
# whatever happened, the machine must be as before
if ! "$here/../testbed/tb" leftovers; then
	echo "  FAIL     the testbed left things behind (above)"
	fail=$((fail + 1))
fi
[ -n "$failed" ] && echo "failed:$failed"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
