#!/usr/bin/env bash
# Negative controls: each verifier the migration tests rely on is shown to
# fail when the thing it guards is broken on purpose.  A check that cannot
# fail proves nothing.
#  1. memory checksum, guest side: the guest's own 'corrupt' hook flips a
#     byte behind its checksum; verify must report it.
#  2. memory checksum, host side: after a migration, one byte of a
#     checksummed page is flipped through the destination QEMU's
#     /proc/PID/mem (guestmem.py finds the page by its header); verify must
#     report it.
#  3. session continuity: the guest is paused (virsh suspend) for longer
#     than the gap allowed; the session must fail on the gap.  And a session
#     stopped while a request is unanswered must fail, not pass.
#  5. the working set's ledger and the page count: the guest's hooks count
#     a page written that was not, and lose ballast pages without saying so;
#     verify must report each.
#  4. the host's witness: the guest is rolled back to an older state of
#     itself (virsh save, run on, restore the old image); its memory is
#     self-consistent, so verify passes, and the witness of pages written
#     must catch it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# expect_caught WHAT REASON CMD...: CMD (a check) must fail, and for the
# reason named (a pattern of its FAIL message): another check failing
# first would prove nothing about this one.
expect_caught() {
	local what=$1 reason=$2 out
	shift 2
	out=$RESULTS/$T_NAME.caught
	if ( "$@" ) >"$out" 2>&1; then
		cat "$out" >&2
		fail "$what: the check passed, it should have failed"
	fi
	grep -q "FAIL: .*$reason" "$out" ||
		fail "$what: failed, but not for '$reason': $(grep -m1 -o 'FAIL: .*' "$out")"
	log "$what: caught: $(grep -m1 -o 'FAIL: .*' "$out" | cut -c7-200)"
}

qemu_pid_of() {
	local dom=$1
	pgrep -f "qemu-system-x86_64 .*-name guest=$dom," | head -1
}

tb_start
tb guest start g1 h1 --mem 128 >/dev/null 2>&1 || fail "guest g1 did not boot"
tb guest start g2 h1 --mem 128 >/dev/null 2>&1 || fail "guest g2 did not boot"
verify_guest g1 "after boot"
verify_guest g2 "after boot"

log "1: the guest's corrupt hook"
tb guest ctl g1 corrupt ballast 7 >/dev/null || fail "corrupt hook refused"
expect_caught "one byte flipped by the guest's own hook" "memory corrupted" verify_guest g1 "after its corrupt hook"

log "2: one byte flipped from the host, through the destination QEMU's memory"
tb guest ctl g2 dirty 1280 8 >/dev/null || fail "cannot start g2's dirtier"
witness_take g2
migrate_once_more g2 h2 --bandwidth 128 >/dev/null || fail "migration of g2 failed"
expect_on g2 h2
verify_guest g2 "after migration to h2, before the flip"
pid=$(qemu_pid_of g2)
[ -n "$pid" ] || fail "no QEMU process for g2"
r=$(python3 "$(dirname "$0")/guestmem.py" flip "$pid" ballast 11) || fail "guestmem.py found no ballast page 11 in QEMU $pid: $r"
log "$r"
expect_caught "one byte flipped in the destination QEMU" "memory corrupted" verify_guest g2 "after the host-side flip"

log "3: a guest paused for longer than the gap allowed"
tb guest start g3 h2 --mem 128 >/dev/null 2>&1 || fail "guest g3 did not boot"
SESSION_TAG=.gap session_start g3 50 1000
sleep 2
session_alive "before the pause"
tb virsh h2 suspend g3 >/dev/null
sleep 1.8
tb virsh h2 resume g3 >/dev/null
sleep 1
expect_caught "a 1.8 s pause against a 1000 ms gap" "reason=\(gap\|timeout\)" session_end
SESSION_TAG=.unanswered session_start g3 50 1000
sleep 2
tb virsh h2 suspend g3 >/dev/null
sleep 1
session_stop
tb virsh h2 resume g3 >/dev/null
grep -q 'session FAIL reason=unanswered' "$SESSION_LOG" ||
	fail "a session stopped with a request unanswered did not fail: $(tail -1 "$SESSION_LOG")"
log "a session stopped while a request was unanswered: caught: $(tail -1 "$SESSION_LOG" | cut -c1-120)"
SESSION_TAG=.after session_start g3 50 1000
sleep 2
session_end

log "4: the guest rolled back to an older state of itself"
save=/var/lib/libvirt/qemu/g3.save
tb guest ctl g3 dirty 1280 8 >/dev/null || fail "cannot start g3's dirtier"
sleep 1
tb virsh h2 save g3 "$save" >/dev/null || fail "virsh save g3 failed"
tb virsh h2 restore "$save" >/dev/null || fail "virsh restore g3 failed"
sleep 2
verify_guest g3 "after save and restore"
witness_take g3
tb virsh h2 destroy g3 >/dev/null
tb virsh h2 restore "$save" >/dev/null || fail "second virsh restore g3 failed"
sleep 1
r=$(tb guest ctl g3 verify)
[ "$(kv "$r" mismatches)" = 0 ] && [ "$(kv "$r" ledger_ok)" = 1 ] ||
	fail "the rolled-back guest should be self-consistent, is not: $r"
log "the rolled-back guest is self-consistent (the page check alone would pass): $r"
expect_caught "a guest rolled back to an older image" "went back" verify_guest g3 "after the rollback"
tb exec h2 rm -f "$save"

log "5: the ledger and the page count"
tb guest start g4 h1 --mem 128 --ballast 8 >/dev/null 2>&1 || fail "guest g4 did not boot"
tb guest ctl g4 dirty 1280 4 >/dev/null || fail "cannot start g4's dirtier"
sleep 1
verify_guest g4 "before its ledger is broken"
tb guest ctl g4 corrupt ledger 1 >/dev/null || fail "ledger hook refused"
expect_caught "a page counted that was never written" "disagree" verify_guest g4 "with a broken ledger"
tb guest ctl g4 corrupt ledger -1 >/dev/null || fail "ledger hook refused"
verify_guest g4 "with its ledger mended"
tb guest ctl g4 corrupt drop 16 >/dev/null || fail "drop hook refused"
expect_caught "16 ballast pages lost without a word" "not the .* it was asked to hold" verify_guest g4 "with pages missing"
