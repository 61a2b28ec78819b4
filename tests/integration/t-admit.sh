#!/usr/bin/env bash
# Admission race: h1 and h2 each push a guest to h3 at the same moment; h3's
# tided has room for exactly one (host_memory_mib: one 128 MiB guest and
# 64 MiB, nothing kept back).  libvirt runs tide's qemu hook on h3 for each
# incoming migration, and tided answers one request at a time.
#  - exactly one migration completes: that guest runs on h3, memory intact;
#  - the other fails with tide's sentence in libvirt's error, before any
#    memory is sent (no QEMU of it ever ran on h3, its source's job sent
#    nothing), and its guest still runs on its source, memory intact;
#  - h3's tided released the winner's reservation once it ran there, and
#    counts one admission and one refusal;
#  - negative control: with h3's tided stopped the hook admits (the
#    default): the refused guest now migrates to h3, although h3 has no room
#    by tide's count, so the refusal above was tide's doing; and with
#    admission_when_unreachable = "refuse" it is refused, unchecked.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BANDWIDTH_MIBS=${BANDWIDTH_MIBS:-32}
GUEST_MIB=128
export TIDED_TICK_MS=200 TIDED_ADMIT=true

jq_py() { python3 -c "$1" "${@:2}"; }
# a member of h3's "admit list", by a Python expression over d
admissions() {
	local l
	l=$(tb tidectl h3 -j host admissions) || fail "tidectl host admissions on h3 failed: $l"
	jq_py 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$l" "$1"
}

# Start a P2P migration of NAME to h3 in the background once $GO exists;
# its exit status, stdout and stderr land in $RESULTS/$T_NAME.mig.NAME.*
GO=$RESULTS/$T_NAME.go
migrate_bg() {
	local name=$1 src dom out=$RESULTS/$T_NAME.mig.$1
	src=$(tb guest host "$name"); dom=$(tb guest domain "$name")
	rm -f "$out".rc
	(
		while [ ! -e "$GO" ]; do sleep 0.01; done
		rc=0
		timeout 120 "$TB" exec "$src" virsh -q -c qemu:///system migrate --live --p2p \
			--bandwidth "$BANDWIDTH_MIBS" "$dom" "$(tb uri h3)" >"$out.out" 2>"$out.err" || rc=$?
		echo "$rc" >"$out.rc"
	) &
	T_BG_PIDS="${T_BG_PIDS:-} $!"
}

# The completed job on NAME's host H must have sent nothing: libvirt keeps
# no completed job for a migration refused at prepare, or one of 0 bytes.
expect_nothing_sent() {
	local name=$1 h=$2 info mem
	info=$(tb virsh "$h" domjobinfo --completed "$(tb guest domain "$name")" 2>&1) || true
	echo "$info" >"$RESULTS/$T_NAME.jobinfo.$name"
	mem=$(sed -n 's/^Memory processed: *\([0-9.]*\).*/\1/p' <<<"$info")
	if grep -q '^Job type: *None' <<<"$info" || [ -z "$mem" ] ||
		python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) == 0 else 1)' "$mem"; then
		log "$name's source $h: $(grep '^Job type:' <<<"$info" || echo 'no job'), memory processed ${mem:-none}: nothing was sent"
		return 0
	fi
	fail "$name's refused migration sent memory ($mem MiB processed): $info"
}

tb_start -n 3
h3conf=/var/tmp/tide-testbed/h3/etc-tide/tided.conf
cat >>"$h3conf" <<EOF
# t-admit: room for one ${GUEST_MIB} MiB guest, not two
host_memory_mib = $((GUEST_MIB + 64));
admit_reserve_memory_mib = 0;
EOF
tb tided start h3 || fail "tided did not start on h3"
tb guest start g1 h1 --mem "$GUEST_MIB" >/dev/null 2>&1 || fail "guest g1 did not boot"
tb guest start g2 h2 --mem "$GUEST_MIB" >/dev/null 2>&1 || fail "guest g2 did not boot"
for g in g1 g2; do
	src=$(tb guest host "$g")
	# what the source's tided writes before it migrates a VM: the CPU it
	# expects the VM to need here (an idle guest; h3 has one CPU, and a
	# guest's vCPU would not fit under 80% of it)
	tb virsh "$src" metadata "$(tb guest domain "$g")" --uri urn:tide:1 --key tide \
		--set "<move cpus='0.1' source='$src'/>" --live >/dev/null ||
		fail "cannot write tide's metadata into $g on $src"
	# pages rewritten while it moves: the check after arrival means something
	tb guest ctl "$g" dirty 1280 8 >/dev/null || fail "cannot start $g's dirtier"
	verify_guest "$g" "on $src after boot"
	witness_take "$g"
done
# h3's tided admits only with fresh figures: two ticks at least
for i in $(seq 50); do
	[ "$(admissions 'd["capacity"] is not None')" = True ] && break
	sleep 0.1
done
[ "$(admissions 'd["capacity"] is not None')" = True ] ||
	fail "h3's tided has no figures to admit by: $(admissions 'd["capacity_error"]')"
log "h3 before: $(admissions '"%d MiB free, %.2f CPU free" % (d["capacity"]["memory_free_bytes"] >> 20, d["capacity"]["cpu_free"])')"

log "1: g1 (h1) and g2 (h2) pushed to h3 at the same moment"
rm -f "$GO"
migrate_bg g1
migrate_bg g2
sleep 0.2
touch "$GO"
for i in $(seq 1200); do
	[ -e "$RESULTS/$T_NAME.mig.g1.rc" ] && [ -e "$RESULTS/$T_NAME.mig.g2.rc" ] && break
	sleep 0.1
done
rc1=$(cat "$RESULTS/$T_NAME.mig.g1.rc" 2>/dev/null || echo none)
rc2=$(cat "$RESULTS/$T_NAME.mig.g2.rc" 2>/dev/null || echo none)
log "g1's migration: exit $rc1; g2's: exit $rc2"
if [ "$rc1" = 0 ] && [ "$rc2" != 0 ]; then
	won=g1 lost=g2 lost_src=h2
elif [ "$rc2" = 0 ] && [ "$rc1" != 0 ]; then
	won=g2 lost=g1 lost_src=h1
else
	fail "not exactly one migration succeeded (g1: $rc1, g2: $rc2): $(cat "$RESULTS/$T_NAME".mig.g?.err)"
fi
err=$(tr '\n' ' ' <"$RESULTS/$T_NAME.mig.$lost.err")
log "$lost refused: $err"
grep -q "tide on h3 refused VM '$lost': needs $GUEST_MIB MiB, 64 MiB free" <<<"$err" ||
	fail "$lost's migration failed, but not with tide's refusal: $err"
# "(1 reservation)": refused while $won was still on its way (the race
# proper); "(0 reservations)": $won had arrived already, counted as a VM
log "refused $(grep -o '([0-9]* reservations\?)' <<<"$err" | tail -1): $([ "$(grep -o '([0-9]* reservations\?)' <<<"$err" | tail -1)" = "(1 reservation)" ] && echo "while $won's reservation stood" || echo "after $won arrived")"
grep -q "admission: VM '$won' .* admitted: reservation" /var/tmp/tide-testbed/h3/tided.log ||
	fail "h3's tided did not log the admission of $won"
grep -q "admission: tide on h3 refused VM '$lost'" /var/tmp/tide-testbed/h3/tided.log ||
	fail "h3's tided did not log the refusal of $lost"

expect_on "$won" h3
verify_guest "$won" "after its migration to h3"
expect_on "$lost" "$lost_src"
verify_guest "$lost" "on $lost_src after its refused migration"
qemu_in_host h3 "$(tb guest domain "$lost")" && fail "a QEMU of $lost runs on h3"
[ -e "/var/tmp/tide-testbed/h3/log-libvirt/qemu/$(tb guest domain "$lost").log" ] &&
	fail "h3's libvirt started a QEMU for $lost (its log exists)"
expect_nothing_sent "$lost" "$lost_src"

# the winner's reservation is released once it runs on h3
for i in $(seq 50); do
	[ "$(admissions 'sum(1 for r in d["reservations"] if r["state"] == "reserved")')" = 0 ] && break
	sleep 0.1
done
counts=$(admissions '"%d %d %d %d" % (d["admitted"], d["refused"], d["released"]["running"], sum(1 for r in d["reservations"] if r["state"] == "reserved"))')
[ "$counts" = "1 1 1 0" ] ||
	fail "h3's tided counts admitted, refused, released (running), still reserved = $counts, not 1 1 1 0"
# released on arrival, not when the incoming QEMU started: after the
# migration record closed (Resumed/Migrated), in h3's log
tlog=$RESULTS/$T_NAME.h3-tided.log
cp /var/tmp/tide-testbed/h3/tided.log "$tlog"
done_at=$(grep -n "migration [0-9]*: domain '$won' from .* completed" "$tlog" | head -1 | cut -d: -f1)
rel_at=$(grep -n "admission: VM '$won' .* runs here: reservation .* released" "$tlog" | head -1 | cut -d: -f1)
[ -n "$done_at" ] && [ -n "$rel_at" ] && [ "$rel_at" -gt "$done_at" ] ||
	fail "h3's tided released $won's reservation at line ${rel_at:-none} of its log, not after the migration completed (line ${done_at:-none}); see $tlog"
log "h3's tided: 1 admitted, 1 refused, the reservation released when $won ran there (after its migration completed)"
tb tidectl h3 host admissions | sed 's/^/    /'

log "2: negative control: h3's tided stopped, the hook admits (admission_when_unreachable default)"
tb tided stop h3 || fail "tided on h3 did not stop"
witness_take "$lost"
out=$(migrate_once_more "$lost" h3 --bandwidth "$BANDWIDTH_MIBS" --timeout 120) ||
	fail "with tided stopped, $lost's migration to h3 failed: $(cat "$RESULTS/$T_NAME.migrate.err" 2>/dev/null)"
expect_on "$lost" h3
verify_guest "$lost" "on h3, admitted with tided stopped"
log "$lost admitted to h3 unchecked: the first refusal was tide's, not chance (h3 now holds two guests beyond its room)"

log "3: with admission_when_unreachable = \"refuse\", the hook refuses unchecked"
migrate_once_more "$lost" "$lost_src" --bandwidth "$BANDWIDTH_MIBS" --timeout 120 >/dev/null ||
	fail "$lost's migration back to $lost_src failed"
expect_on "$lost" "$lost_src"
echo 'admission_when_unreachable = "refuse";' >>"$h3conf"
witness_take "$lost"
if tb migrate "$lost" h3 --bandwidth "$BANDWIDTH_MIBS" --timeout 60 >/dev/null 2>"$RESULTS/$T_NAME.refuse.err"; then
	fail "with tided stopped and admission_when_unreachable = \"refuse\", $lost migrated to h3"
fi
err=$(tr '\n' ' ' <"$RESULTS/$T_NAME.refuse.err")
grep -q "tide on h3 refused VM '$lost' unchecked: cannot connect to tided" <<<"$err" ||
	fail "the migration failed, but not with the hook's refusal: $err"
log "refused: $(grep -o "tide on h3 refused VM '$lost' unchecked: [^(]*" <<<"$err")"
expect_on "$lost" "$lost_src"
verify_guest "$lost" "on $lost_src after the unchecked refusal"
