#!/usr/bin/env bash
# make bench: run every tests/bench/b-*.sh in order.  Each prints its own
# table(s) as it goes and may leave plots (PNG) in $BUILD/bench.
set -uo pipefail
BUILD=${BUILD:-build}
export BUILD
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../testbed/lock.sh"
mkdir -p "$BUILD/bench"
rc=0
for b in "$here"/b-*.sh; do
	[ -e "$b" ] || continue
	printf '\n== bench %s ==\n' "$(basename "$b" .sh)"
	bash "$b" || { echo "bench $(basename "$b") failed" >&2; rc=1; }
done
exit $rc
