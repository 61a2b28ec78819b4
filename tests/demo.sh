#!/usr/bin/env bash
# make demo: the local two-host testbed, a guest that dirties memory and
# serves a TCP session, migrated back and forth by live pre-copy migration
# under a bandwidth cap, its memory verified after every arrival.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
export BUILD
TB="$TOP/tests/testbed/tb"
. "$TOP/tests/testbed/lock.sh"
ROUNDS=${DEMO_MIGRATIONS:-4}
tb() { "$TB" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() { kill "${session:-}" 2>/dev/null || true; step "tearing the testbed down"; tb down; }
trap cleanup EXIT
trap 'exit 130' INT TERM

step "building two hypervisor hosts (network, mount and UTS namespaces, one libvirtd each)"
tb up
tb tided start h1
tb tided start h2
tb status
echo "tided runs on both hosts, each beside its own libvirtd"

step "booting guest g1 on h1 (QEMU/TCG, 128 MiB, diskless)"
tb guest start g1 h1 --mem 128 --ballast 16
ip=$(tb guest ip g1)
tb guest ctl g1 dirty 2560 32      # 10 MiB/s over a 32 MiB working set
echo "g1 at $ip dirties 10 MiB/s over 32 MiB; the client opens a TCP session to it"
"$TB" client "$BUILD/guest/tide-guestload" session -t 60 "$ip" 100000000 100 >"$BUILD/demo-session.log" 2>&1 &
session=$!
sleep 2

step "live-migrating g1 back and forth, 32 MiB/s cap"
printf '%-4s %-9s %9s %12s %7s %-28s %s\n' "#" "move" "time_ms" "downtime_ms" "rounds" "guest memory" "session counter"
src=h1 dst=h2
for n in $(seq "$ROUNDS"); do
	out=$(tb migrate g1 "$dst" --bandwidth 32)
	v=$(tb guest ctl g1 verify)
	c=$(grep -Eo '[0-9]+' <<<"$(tail -1 "$BUILD/demo-session.log")" | head -1 || true)
	printf '%-4s %-9s %9s %12s %7s %-28s %s\n' "$n" "$src->$dst" \
		"$(sed -n 's/^time_ms=//p' <<<"$out")" "$(sed -n 's/^downtime_ms=//p' <<<"$out")" \
		"$(sed -n 's/^rounds=//p' <<<"$out")" \
		"$(sed -n 's/.*\(mismatches=[0-9]*\).*/intact, \1/p' <<<"$v")" "${c:-?}"
	sleep 1.5
	echo "     $dst's tided now tracks: $(tb tidectl "$dst" vm show | sed -n '2,$p' | tr -s ' ' | tr '\n' ';')"
	tmp=$src; src=$dst; dst=$tmp
done
step "what tided on $src sees"
tb tidectl "$src" vm show
tb tidectl "$src" host show
tb status
kill -TERM "$session" 2>/dev/null || true; wait "$session" 2>/dev/null || true
step "the TCP session across all migrations"
tail -1 "$BUILD/demo-session.log"
