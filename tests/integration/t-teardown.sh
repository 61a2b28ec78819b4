#!/usr/bin/env bash
# Teardown leaves no namespace, process, mount or bridge behind: after a
# normal run, after a test that fails midway (its trap tears down), after
# a half-built testbed, and when called twice.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, libvirtd)"

check_clean() {
	local what=$1 left
	if ! left=$(tb leftovers); then
		tb down >/dev/null 2>&1
		fail "after $what, left behind: $left"
	fi
	log "after $what: nothing left"
}

# a test that fails midway, with a guest running and a libvirtd busy
bash -c '
	. "$1/lib.sh"
	tb_start
	tb guest start g1 h1 >/dev/null 2>&1 || exit 3
	tb guest ctl g1 cpu 50 >/dev/null
	exit 9   # "fails midway"
' failing-test "$(dirname "$0")"
rc=$?
[ $rc -eq 9 ] || fail "the failing sub-test should exit 9, got $rc"
check_clean "a test that failed midway with a guest running"

# a testbed killed while it was being built
# "$TB" itself, not the tb function: a function run with & is a subshell,
# and killing that would leave tb building hosts behind the test's back
"$TB" up -n 3 >/dev/null 2>&1 &
up=$!
sleep 1.5
kill "$up" 2>/dev/null; wait "$up" 2>/dev/null
tb down >/dev/null 2>&1
check_clean "an interrupted 'tb up'"

# normal cycle, and down twice
tb up >/dev/null 2>"$RESULTS/$T_NAME.up2" || { tail -5 "$RESULTS/$T_NAME.up2" >&2; fail "tb up failed"; }
tb down >/dev/null 2>&1 && tb down >/dev/null 2>&1 || fail "tb down twice failed"
check_clean "up, down, down"
