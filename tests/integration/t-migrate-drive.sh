#!/usr/bin/env bash
# tided drives migrations (tidectl migrate): a real P2P live migration of
# v1 (10 MiB/s over 16 MiB) from h1 to h2 that completes, with the order's
# bandwidth cap and downtime limit in its record and the guest intact on
# arrival; bad orders (an unknown VM, a host that is not a peer) get a
# clear error and change nothing; v2, dirtying 100 MiB/s over 64 MiB at a
# 32 MiB/s cap, is refused before anything moves because the model
# predicts it never converges (the error says what it would need), and
# when forced, tided escalates (downtime limit stepped up to the allowed
# maximum) and then aborts it: the record says so, and v2 keeps running
# on h1 with its memory intact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export TIDED_TICK_MS=500 TIDED_TEXTFILE_MS=1000
TB_ROOT=${TB_ROOT:-/var/tmp/tide-testbed}
jq_py() { python3 -c "$1" "${@:2}"; }

tb_start
cat >>"$TB_ROOT/h1/etc-tide/tided.conf" <<CONF
peers = ( { name = "h2"; uri = "$(tb uri h2)"; } );
migration_bandwidth_mib_s = 32;
dirty_probe_qmp = true;
dirty_probe_interval_ms = 2000;
migration_max_downtime_ms = 600;
migration_escalate_slack_ms = 2000;
migration_escalate_interval_ms = 1500;
migration_timeout_ms = 40000;
CONF
tb tided start h1 || fail "tided did not start on h1"
tb guest start v1 h1 --mem 128 >/dev/null 2>&1 || fail "guest v1 did not boot"
verify_guest v1 "after boot"
r=$(tb guest ctl v1 dirty 2560 16) && [[ $r == ok* ]] || fail "v1 refused 'dirty 2560 16': $r"

log "1: bad orders are refused with a reason, and nothing moves"
out=$(tb tidectl h1 migrate nosuchvm h2 2>&1) && fail "migrate of an unknown VM succeeded: $out"
grep -q "no VM 'nosuchvm'" <<<"$out" || fail "unclear error for an unknown VM: $out"
out=$(tb tidectl h1 migrate v1 h9 2>&1) && fail "migrate to a host that is no peer succeeded: $out"
grep -q "'h9' is not one of this host's peers" <<<"$out" || fail "unclear error for a non-peer: $out"
out=$(tb tidectl h1 -j migrate v1 h2 predict) || fail "migrate ... predict failed: $out"
jq_py 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["started"] is False and r["prediction"]["vm"] == "v1" else 1)' "$out" ||
	fail "predict started something or gave no prediction: $out"
n=$(tb tidectl h1 -j migration list | jq_py 'import json,sys; print(len(json.load(sys.stdin)["migrations"]))')
[ "$n" = 0 ] || fail "$n migration records after orders that moved nothing"
expect_on v1 h1

log "2: tidectl migrate v1 h2 wait: a real migration, driven by tided"
sleep 3 # a few dirty points first
out=$(timeout 90 "$TB" tidectl h1 migrate v1 h2 downtime 250 wait 2>&1) || fail "tidectl migrate v1 h2 wait failed: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_on v1 h2
verify_guest v1 "after tide's migration to h2"
list=$(tb tidectl h1 -j migration list)
msg=$(jq_py '
import json, sys
m = json.loads(sys.argv[1])["migrations"]
def bad(s): print(s); sys.exit(1)
if len(m) != 1: bad("%d records, not 1" % len(m))
r = m[0]
if r["result"] != "completed": bad("result %s: %s" % (r["result"], r["error"]))
d = r["driven"]
if not d or d["origin"] != "tide" or d["reason"] != "manual": bad("not recorded as driven by tide: %s" % d)
if r["peer"] != "h2": bad("destination %s" % r["peer"])
if r["bandwidth_bytes_per_s"] != 32 << 20 or r["bandwidth_source"] != "tide": bad("bandwidth %s (%s)" % (r["bandwidth_bytes_per_s"], r["bandwidth_source"]))
if r["downtime_limit_ms"] != 250: bad("downtime limit %s" % r["downtime_limit_ms"])
a = r["actual"]
print("record %d: %d ms, downtime %d ms, %d bytes; predicted %d ms, %d ms down; escalations %d" % (r["id"], a["time_elapsed_ms"], a["downtime_ms"], a["data_processed_bytes"], r["predicted"]["total_time_ms"], r["predicted"]["downtime_ms"], len(d["escalations"])))
' "$list") || fail "$msg"
log "$msg"

log "3: v2 (100 MiB/s over 64 MiB at 32 MiB/s) is refused before anything moves"
tb guest start v2 h1 --mem 256 >/dev/null 2>&1 || fail "guest v2 did not boot"
verify_guest v2 "after boot"
r=$(tb guest ctl v2 dirty 25600 64) && [[ $r == ok* ]] || fail "v2 refused 'dirty 25600 64': $r"
t0=$(date +%s)
while :; do
	rate=$(tb tidectl h1 -j vm show v2 2>/dev/null | jq_py 'import json,sys; d=json.load(sys.stdin)["vms"][0]["dirty"]; print(int(d["rate_bytes_per_s"] / 2**20) if d["points"] else 0)' || echo 0)
	[ "$rate" -ge 40 ] && break
	[ $(($(date +%s) - t0)) -lt 40 ] || fail "v2's dirty rate still reads $rate MiB/s after 40 s"
	sleep 1
done
log "v2's curve: rate $rate MiB/s after $(($(date +%s) - t0)) s"
out=$(tb tidectl h1 migrate v2 h2 2>&1) && fail "a migration predicted not to converge was started: $out"
grep -q "predicted not to converge" <<<"$out" || fail "the refusal does not say why: $out"
log "refused: $out"
expect_on v2 h1
n=$(tb tidectl h1 -j migration list | jq_py 'import json,sys; print(len(json.load(sys.stdin)["migrations"]))')
[ "$n" = 1 ] || fail "the refused order left a record ($n records)"

log "4: forced, it falls behind: escalated, then aborted; v2 keeps running on h1"
out=$(timeout 90 "$TB" tidectl h1 migrate v2 h2 force max-downtime 600 wait 2>&1) && fail "the forced migration of v2 completed: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_on v2 h1
verify_guest v2 "after the aborted migration"
list=$(tb tidectl h1 -j migration list)
msg=$(jq_py '
import json, sys
r = json.loads(sys.argv[1])["migrations"][-1]
def bad(s): print(s); sys.exit(1)
if r["domain"] != "v2": bad("last record is %s" % r["domain"])
if r["result"] != "cancelled": bad("result %s: %s" % (r["result"], r["error"]))
if "tide aborted it" not in r["error"]: bad("error does not say tide aborted it: %s" % r["error"])
e = r["driven"]["escalations"]
acts = [x["action"] for x in e]
if "downtime_limit" not in acts or acts[-1] != "abort": bad("escalations %s" % acts)
lims = [x["downtime_limit_ms"] for x in e if x["action"] == "downtime_limit"]
if max(lims) != 600: bad("downtime limit stepped to %s, not up to 600" % lims)
print("record %d: %s after %s" % (r["id"], r["result"], ", ".join("%s%s at %d ms" % (x["action"], " %d" % x["downtime_limit_ms"] if "downtime_limit_ms" in x else "", x["at_ms"]) for x in e)))
' "$list") || fail "$msg"
log "$msg"
tb tidectl h1 migration show 2 >"$RESULTS/$T_NAME.show2.txt" || fail "migration show 2 failed"
grep -q '^escalation:' "$RESULTS/$T_NAME.show2.txt" || fail "migration show does not list the escalations"
