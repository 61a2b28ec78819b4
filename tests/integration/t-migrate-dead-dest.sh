#!/usr/bin/env bash
# Migrations to a destination that is not there must fail cleanly and leave
# the guest running, intact, on the source:
#  1. the destination's libvirtd is stopped before the migration starts;
#  2. the destination's libvirtd dies while a slow migration is under way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tb_start
tb guest start g1 h1 --mem 128 >/dev/null 2>&1 || fail "guest g1 did not boot"
tb guest ctl g1 dirty 2560 32 >/dev/null
session_start g1 50

log "1: destination libvirtd stopped before the migration"
tb libvirtd stop h2
start=$(date +%s%N)
if tb migrate g1 h2 --bandwidth 32 --timeout 60 2>"$RESULTS/$T_NAME.err1"; then
	fail "migration to a stopped libvirtd succeeded?"
fi
ms=$(( ($(date +%s%N) - start) / 1000000 ))
log "refused after $ms ms: $(head -1 "$RESULTS/$T_NAME.err1")"
expect_on g1 h1 h2
verify_guest g1 "on the source after the refused migration"

log "2: destination libvirtd killed during a slow migration"
tb libvirtd start h2
witness_take g1
tb migrate g1 h2 --bandwidth 8 --timeout 60 >/dev/null 2>"$RESULTS/$T_NAME.err2" &
mig=$!
sleep 3
kill -9 "$(cat /var/tmp/tide-testbed/h2/libvirtd.pid)"
# and the destination QEMU that was receiving
for p in $(ip netns pids tide-h2); do
	case "$(cat /proc/$p/comm 2>/dev/null)" in qemu-system*) kill -9 "$p" ;; esac
done
if wait "$mig"; then fail "migration survived the death of its destination?"; fi
log "failed as it should: $(grep -m1 . "$RESULTS/$T_NAME.err2" || echo '(no message)')"
# the source job must be gone (within 10 s) and the guest running there
job_ended=0
for i in $(seq 50); do
	if tb virsh h1 domjobinfo g1 2>/dev/null | grep -q 'Job type: *None'; then job_ended=1; break; fi
	sleep 0.2
done
[ "$job_ended" = 1 ] || fail "the source's migration job still runs 10 s after its destination died: $(tb virsh h1 domjobinfo g1 2>&1 | tr '\n' ' ')"
expect_on g1 h1 h2
verify_guest g1 "on the source after the destination died"
session_alive "while the destination died"

log "3: the destination comes back and the migration then works"
tb libvirtd start h2
# the restarted libvirtd first reconnects to the domains its state says it
# had; the half-received g1 must be recognised as dead and forgotten
for i in $(seq 150); do
	tb virsh h2 list --all --name | grep -qx g1 || break
	sleep 0.2
done
tb virsh h2 list --all --name | grep -qx g1 && fail "h2 still lists the dead incoming g1 30 s after its restart"
# The first attempt right after the restart has been seen to fail with
# "client socket is closed" (the restarted libvirtd still settling); that
# is said, h2's libvirtd log kept, and one more attempt made: the point
# here is that the guest survives and a later migration can work.
if ! tb migrate g1 h2 --bandwidth 64 --timeout 60 >/dev/null 2>"$RESULTS/$T_NAME.err3"; then
	cp /var/tmp/tide-testbed/h2/log-libvirt/libvirtd.log "$RESULTS/$T_NAME.h2-libvirtd.log" 2>/dev/null || true
	log "RETRY: the first migration after h2's restart failed: $(head -1 "$RESULTS/$T_NAME.err3") (h2's log in $T_NAME.h2-libvirtd.log)"
	expect_on g1 h1
	verify_guest g1 "on the source after the failed first attempt"
	sleep 2
	tb migrate g1 h2 --bandwidth 64 --timeout 60 >/dev/null || fail "migration after recovery failed twice"
fi
expect_on g1 h2
verify_guest g1 "after the migration to the recovered destination"
session_end
