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
tb guest start g1 h1 --mem 128
ip=$(tb guest ip g1)
tb guest ctl g1 dirty 2560 32      # 10 MiB/s over a 32 MiB working set
echo "g1 at $ip dirties 10 MiB/s over 32 MiB; the client opens a TCP session to it"
"$TB" client "$BUILD/guest/tide-guestload" session -t 3 -g 1500 "$ip" 100000000 100 >"$BUILD/demo-session.log" 2>&1 &
session=$!
sleep 2

step "live-migrating g1 back and forth, 32 MiB/s cap"
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
bad() { printf '\n\033[1;31mdemo FAILED: %s\033[0m\n' "$*" >&2; exit 1; }
printf '%-4s %-9s %9s %12s %7s %-34s %s\n' "#" "move" "time_ms" "downtime_ms" "rounds" "guest memory (verify)" "session counter"
src=h1 dst=h2
for n in $(seq "$ROUNDS"); do
	out=$(tb migrate g1 "$dst" --bandwidth 32) || bad "migration $n $src->$dst failed"
	v=$(tb guest ctl g1 verify) || bad "g1 does not answer verify after migration $n: $v"
	# intact: no page bad now, none ever, the ledger adds up, nothing missing
	if [ "$(kv "$v" mismatches)" = 0 ] && [ "$(kv "$v" total_mismatches)" = 0 ] &&
	   [ "$(kv "$v" ledger_ok)" = 1 ] && [ "$(kv "$v" pages)" = "$(kv "$v" expected_pages)" ]; then
		mem="intact: $(kv "$v" covered_mib) MiB checksummed"
	else
		bad "g1's memory is not intact after migration $n: $v"
	fi
	c=$(sed -n 's/^session progress i=\([0-9]*\).*/\1/p' "$BUILD/demo-session.log" | tail -1)
	kill -0 "$session" 2>/dev/null || bad "the TCP session ended: $(tail -1 "$BUILD/demo-session.log")"
	printf '%-4s %-9s %9s %12s %7s %-34s %s\n' "$n" "$src->$dst" \
		"$(sed -n 's/^time_ms=//p' <<<"$out")" "$(sed -n 's/^downtime_ms=//p' <<<"$out")" \
		"$(sed -n 's/^rounds=//p' <<<"$out")" "$mem" "${c:-?}"
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
sed -n 's/^session gaps /reply times: /p' "$BUILD/demo-session.log" | tail -1
last=$(tail -1 "$BUILD/demo-session.log")
echo "$last"
case $last in
"session ok "*) echo "the session kept counting across every switch-over, no reply later than 1.5 s" ;;
*) bad "the TCP session broke: $last" ;;
esac
