#!/usr/bin/env bash
# A guest migrates A->B->A... five times, each migration throttled so that
# pre-copy needs several rounds, while a client keeps a TCP session open to
# it.  Every arrival must have intact memory (the guest checksums its
# ballast and working set, and the host's witness of its write counter must
# not go backwards), the session's counter must go on without a reset and
# with no reply later than the gap allowed, and libvirt must report each
# migration completed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIGRATIONS=${MIGRATIONS:-5}
BANDWIDTH_MIBS=${BANDWIDTH_MIBS:-32}     # migration bandwidth cap
DIRTY_PAGES_S=${DIRTY_PAGES_S:-3840}     # 15 MiB/s of 4 KiB pages
DIRTY_WSS_MIB=${DIRTY_WSS_MIB:-32}       # spread over a 32 MiB working set
MIN_ROUNDS=${MIN_ROUNDS:-5}

tb_start
tb guest start g1 h1 --mem 128 >/dev/null 2>&1 || fail "guest g1 did not boot"
verify_guest g1 "after boot"
tb guest ctl g1 dirty "$DIRTY_PAGES_S" "$DIRTY_WSS_MIB" >/dev/null || fail "cannot start the dirtier"

# one long session, one request every 50 ms, for the whole test
session_start g1 50
sleep 2

csv=$RESULTS/$T_NAME.csv
echo "n,src,dst,time_ms,downtime_ms,rounds,memory_processed" >"$csv"
printf '  %-3s %-8s %9s %12s %7s\n' "#" "move" "time_ms" "downtime_ms" "rounds"
src=h1 dst=h2
for n in $(seq "$MIGRATIONS"); do
	witness_take g1
	witness_watch g1
	out=$(migrate_once_more g1 "$dst" --bandwidth "$BANDWIDTH_MIBS" --timeout 120) ||
		fail "migration $n $src->$dst failed"
	witness_watch_end g1
	t=$(sed -n 's/^time_ms=//p' <<<"$out"); d=$(sed -n 's/^downtime_ms=//p' <<<"$out")
	r=$(sed -n 's/^rounds=//p' <<<"$out"); m=$(sed -n 's/^memory_processed=//p' <<<"$out")
	printf '  %-3s %-8s %9s %12s %7s\n' "$n" "$src->$dst" "$t" "$d" "$r"
	echo "$n,$src,$dst,$t,$d,$r,$m" >>"$csv"
	grep -qx 'job=Completed' <<<"$out" && [ -n "$t" ] && [ -n "$r" ] ||
		fail "migration $n: libvirt reported no completed job: $out"
	[ "$r" -ge "$MIN_ROUNDS" ] || fail "migration $n took $r rounds, fewer than $MIN_ROUNDS: the test would not exercise multi-round pre-copy"
	expect_on g1 "$dst"
	verify_guest g1 "after migration $n to $dst"
	session_alive "during migration $n"
	tmp=$src; src=$dst; dst=$tmp
done

# the session must have kept counting through every switch-over
session_end
status=$(tb guest ctl g1 status)
log "guest status: $status"
log "figures in $csv"
