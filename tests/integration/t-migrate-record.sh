#!/usr/bin/env bash
# tided on h1 records a migration it did not start (tb migrate: virsh
# migrate --live --p2p, a real QEMU migration through libvirtd): one
# completed record, with a prediction, whose actual figures are libvirt's
# own (virsh domjobinfo --completed on the destination), with at least two
# pre-copy passes; its destination, which virsh does not tell tided, is
# found by asking the configured peers (h2), and the migration becomes
# the first sample of h2's calibration in state_dir; the record survives a
# restart of tided; the guest's memory is intact after arrival.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BANDWIDTH_MIBS=${BANDWIDTH_MIBS:-32}
export TIDED_TICK_MS=200 TIDED_TEXTFILE_MS=300

jq_py() { python3 -c "$1" "${@:2}"; }

tb_start
echo "peers = ( { name = \"h2\"; uri = \"$(tb uri h2)\"; } );" >>/var/tmp/tide-testbed/h1/etc-tide/tided.conf
tb tided start h1 || fail "tided did not start on h1"
tb guest start v1 h1 --mem 128 >/dev/null 2>&1 || fail "guest v1 did not boot"
verify_guest v1 "after boot"
tb guest ctl v1 dirty 2560 16 >/dev/null || fail "cannot start the dirtier"
sleep 1

out=$(migrate_once_more v1 h2 --bandwidth "$BANDWIDTH_MIBS" --timeout 90) || fail "migration h1->h2 failed"
grep -qx 'job=Completed' <<<"$out" || fail "libvirt reported no completed job: $out"
expect_on v1 h2
verify_guest v1 "after migration to h2"
vt=$(sed -n 's/^time_ms=//p' <<<"$out"); vd=$(sed -n 's/^downtime_ms=//p' <<<"$out")
vr=$(sed -n 's/^rounds=//p' <<<"$out"); vm=$(sed -n 's/^memory_processed=//p' <<<"$out")
log "virsh domjobinfo --completed: ${vt} ms, downtime ${vd} ms, ${vm} MiB processed, ${vr} iterations"

# the record is closed within a moment of the job's end
list=""
for i in $(seq 50); do
	list=$(tb tidectl h1 -j migration list) || fail "tidectl migration list failed: $list"
	jq_py 'import json,sys; m=json.loads(sys.argv[1])["migrations"]; sys.exit(0 if m and m[-1]["result"] != "running" else 1)' "$list" && break
	sleep 0.1
done
echo "$list" >"$RESULTS/$T_NAME.list.json"
check='
import json, sys
m = json.loads(sys.argv[1])["migrations"]
vt, vd, vr, vm = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
def bad(msg): print(msg); sys.exit(1)
if len(m) != 1: bad("%d records, not 1" % len(m))
r = m[0]
if r["domain"] != "v1" or r["direction"] != "out": bad("not v1 out: %s %s" % (r["domain"], r["direction"]))
if r["result"] != "completed": bad("result %s: %s" % (r["result"], r["error"]))
if not r["predicted"] or not r["prediction"]: bad("no prediction: %s" % r["prediction_error"])
a = r["actual"]
if not a: bad("no actual figures")
# tb reads the figures of the destination, tided those of the source: one job,
# timed by two libvirtds (tens of ms apart); sizes and counts agree exactly
if abs(a["time_elapsed_ms"] - vt) > 100: bad("time %d ms, virsh says %d" % (a["time_elapsed_ms"], vt))
if a["downtime_ms"] != vd: bad("downtime %d ms, virsh says %d" % (a["downtime_ms"], vd))
if a["iterations"] != vr: bad("iterations %d, virsh says %d" % (a["iterations"], vr))
# virsh prints MiB with 3 decimals
if abs(a["memory_processed_bytes"] / 1048576.0 - vm) > 0.01: bad("memory processed %.3f MiB, virsh says %.3f" % (a["memory_processed_bytes"] / 1048576.0, vm))
if len(r["passes"]) < 2: bad("%d passes recorded, fewer than 2" % len(r["passes"]))
if r["bandwidth_source"] == "libvirt" and r["bandwidth_bytes_per_s"] not in (0, %d << 20): bad("bandwidth %d" % r["bandwidth_bytes_per_s"])
print("record %d: %d ms, downtime %d ms, %d bytes, %d iterations, %d passes (%d fed); predicted %d ms, downtime %d ms, %d rounds, converges %s; bandwidth %d B/s (%s)" % (
    r["id"], a["time_elapsed_ms"], a["downtime_ms"], a["data_processed_bytes"], a["iterations"], len(r["passes"]),
    sum(1 for p in r["passes"] if p["fed"]), r["predicted"]["total_time_ms"], r["predicted"]["downtime_ms"],
    r["predicted"]["rounds"], r["predicted"]["converges"], r["bandwidth_bytes_per_s"], r["bandwidth_source"]))
'
check=${check//%d << 20/$BANDWIDTH_MIBS << 20}
msg=$(jq_py "$check" "$list" "$vt" "$vd" "$vr" "$vm") || fail "$msg (list in $RESULTS/$T_NAME.list.json)"
log "$msg"
# negative control: the same comparison must catch a record 1 ms off libvirt's
# downtime, and one iteration short
for tamper in 'a["downtime_ms"] += 1' 'a["iterations"] -= 1'; do
	bad=$(jq_py 'import json,sys; l=json.loads(sys.argv[1]); a=l["migrations"][0]["actual"]; exec(sys.argv[2]); print(json.dumps(l))' "$list" "$tamper")
	if out=$(jq_py "$check" "$bad" "$vt" "$vd" "$vr" "$vm"); then
		fail "the record check passed a tampered record ($tamper): $out"
	fi
	log "negative control: a tampered record ($tamper) is caught: $out"
done
tb tidectl h1 migration list >"$RESULTS/$T_NAME.list.txt" || fail "plain migration list failed"
cat "$RESULTS/$T_NAME.list.txt" | sed 's/^/    /'
tb tidectl h1 migration show 1 >"$RESULTS/$T_NAME.show.txt" || fail "migration show 1 failed"

# the destination, from the peers, and its calibration
peer=
for i in $(seq 30); do
	list=$(tb tidectl h1 -j migration list)
	peer=$(jq_py 'import json,sys; print(json.loads(sys.argv[1])["migrations"][0]["peer"])' "$list")
	[ "$peer" = h2 ] && break
	sleep 0.1
done
[ "$peer" = h2 ] || fail "the record's destination is '$peer', not h2 (the peer that runs v1 now)"
calib=/var/tmp/tide-testbed/h1/lib-tide/calib-h2.json
[ -s "$calib" ] || fail "no calibration of h2 in state_dir after a completed migration to it"
log "destination found among the peers: h2; calibration: $(tr -d '\n\t ' <"$calib")"

# metrics
sleep 0.7
prom=/var/tmp/tide-testbed/h1/lib-tide/textfile/tide.prom
promtool check metrics <"$prom" >"$RESULTS/$T_NAME.promtool" 2>&1 ||
	{ cat "$RESULTS/$T_NAME.promtool"; fail "promtool rejects tided's textfile"; }
grep -q '^tide_migrations_total{result="completed"} 1$' "$prom" || fail "tide_migrations_total does not count the migration: $(grep tide_migrations_total "$prom")"
grep -q '^tide_migration_downtime_seconds_count 1$' "$prom" || fail "the downtime histogram does not count it"
grep -q '^tide_migration_predicted_downtime_seconds{domain="v1",' "$prom" || fail "no predicted downtime of v1"
log "textfile: promtool accepts it; migrations counted, downtime histogram, predicted downtime"

# a restart keeps the record
tb tided stop h1 || fail "tided on h1 did not stop"
tb tided start h1 || fail "tided did not start again on h1"
list2=$(tb tidectl h1 -j migration list) || fail "migration list after the restart failed"
jq_py 'import json,sys; a=json.loads(sys.argv[1])["migrations"]; b=json.loads(sys.argv[2])["migrations"]; sys.exit(0 if a == b else 1)' "$list" "$list2" ||
	fail "the records differ after a restart: $list2"
log "after a restart of tided the record is the same"
