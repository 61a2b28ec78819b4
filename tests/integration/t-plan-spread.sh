#!/usr/bin/env bash
# The control loop on the testbed (the reaction scenario, short): h1 (one
# CPU) runs v1 and v2; a load step inside them (50 % + 45 % of a CPU) takes
# h1 over plan_high.  First in dry run: tidectl plan shows the move it
# would make and why, and nothing moves (the negative control: what moves
# below is tide's doing).  Then for real: the planner migrates exactly one
# of them to h2 (the one whose move relieves h1 enough at the least cost;
# the other would overload h2: no bounce), the migration completes and the
# guest verifies on h2, h1 is back to normal, and nothing moves back within
# the cooldown.  Prints the reaction time: the load step to the start of
# the migration, at a 1 s tick.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export TIDED_TICK_MS=1000 TIDED_TEXTFILE_MS=1000
TB_ROOT=${TB_ROOT:-/var/tmp/tide-testbed}
jq_py() { python3 -c "$1" "${@:2}"; }

tb_start
conf=$TB_ROOT/h1/etc-tide/tided.conf
cat >>"$conf" <<CONF
peers = ( { name = "h2"; uri = "$(tb uri h2)"; cpus = 1; memory_mib = 4096; } );
host_memory_mib = 4096;
peer_poll_ms = 1000;
plan_hold_up_ms = 1000;
plan_ewma_ms = 500;
plan_cooldown_ms = 60000;
plan_dry_run = true;
CONF
tb guest start v1 h1 --mem 128 >/dev/null 2>&1 || fail "guest v1 did not boot"
tb guest start v2 h1 --mem 128 >/dev/null 2>&1 || fail "guest v2 did not boot"
verify_guest v1 "after boot"
verify_guest v2 "after boot"
tb tided start h1 || fail "tided did not start on h1"

decision() { tb tidectl h1 -j plan | jq_py 'import json,sys; d=json.load(sys.stdin)["decision"]; print(json.dumps(d))'; }
dstate() { jq_py 'import json,sys; print(json.loads(sys.argv[1]).get("state", "none"))' "$1"; }
n_records() { tb tidectl h1 -j migration list | jq_py 'import json,sys; print(len(json.load(sys.stdin)["migrations"]))'; }
wait_state() { # STATE TIMEOUT_S
	local t0 d
	t0=$(date +%s)
	while :; do
		d=$(decision)
		[ "$(dstate "$d")" = "$1" ] && { echo "$d"; return 0; }
		[ $(($(date +%s) - t0)) -lt "$2" ] || { echo "$d"; return 1; }
		sleep 0.5
	done
}
load() { # CPU_PCT_V1 CPU_PCT_V2
	local r
	r=$(tb guest ctl v1 cpu "$1") && [[ $r == ok* ]] || fail "v1 refused 'cpu $1': $r"
	r=$(tb guest ctl v2 cpu "$2") && [[ $r == ok* ]] || fail "v2 refused 'cpu $2': $r"
}

d=$(wait_state normal 20) || fail "h1 not normal while idle: $d"
log "idle: $(jq_py 'import json,sys; d=json.loads(sys.argv[1]); print("state %s, load %.2f" % (d["state"], d["load_ratio"]))' "$d")"

log "1: dry run: the overload is seen and the move explained, nothing moves"
load 50 45
d=$(wait_state overloaded 20) || fail "h1 never overloaded under 95 % of its CPU: $d"
for i in $(seq 20); do
	d=$(decision)
	jq_py 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["moves"] else 1)' "$d" && break
	sleep 0.5
done
msg=$(jq_py '
import json, sys
d = json.loads(sys.argv[1])
if not d["dry_run"]: print("not a dry run"); sys.exit(1)
if not d["moves"]: print("no move decided: %s" % d["summary"]); sys.exit(1)
m = d["moves"][0]
print("would move %s to %s (%s); load %.2f; rejected: %s" % (m["vm"], m["destination"], d["summary"], d["load_ratio"],
      ", ".join("%s->%s %s" % (r["vm"], r["destination"], r["why"]) for r in d["rejected"]) or "none"))' "$d") || fail "$msg"
log "$msg"
sleep 3
[ "$(n_records)" = 0 ] || fail "a dry run moved something"
expect_on v1 h1
expect_on v2 h1
tb tidectl h1 plan >"$RESULTS/$T_NAME.plan-dry.txt" || fail "tidectl plan failed"
grep -q 'dry run' "$RESULTS/$T_NAME.plan-dry.txt" || fail "tidectl plan does not say it is a dry run"
grep -q 'would migrate' "$TB_ROOT/h1/tided.log" || fail "the dry run did not log what it would do"

log "2: for real: one VM leaves, at the first chance"
load 0 0
d=$(wait_state normal 30) || fail "h1 did not calm down: $d"
sed -i 's/^plan_dry_run = true;/plan_dry_run = false;/' "$conf"
kill -HUP "$(cat "$TB_ROOT/h1/run-tide/tided.pid")"
sleep 2
t0=$(date +%s%3N)
load 50 45
t_start=
for i in $(seq 100); do
	t_start=$(tb tidectl h1 -j migration list | jq_py 'import json,sys; m=json.load(sys.stdin)["migrations"]; print(m[0]["start_realtime_ms"] if m else "")')
	[ -n "$t_start" ] && break
	sleep 0.2
done
[ -n "$t_start" ] || fail "no migration started within 20 s of the load step"
log "reaction: the first migration started $((t_start - t0)) ms after the load step (tick 1 s, hold 1 s, EWMA 0.5 s)"
for i in $(seq 150); do
	res=$(tb tidectl h1 -j migration list | jq_py 'import json,sys; print(json.load(sys.stdin)["migrations"][0]["result"])')
	[ "$res" != running ] && break
	sleep 0.2
done
list=$(tb tidectl h1 -j migration list)
msg=$(jq_py '
import json, sys
m = json.loads(sys.argv[1])["migrations"]
def bad(s): print(s); sys.exit(1)
if len(m) != 1: bad("%d migrations, not 1" % len(m))
r = m[0]
if r["result"] != "completed": bad("%s: %s" % (r["result"], r["error"]))
if not r["driven"] or r["driven"]["reason"] != "overload": bad("not the planner'"'"'s: %s" % r["driven"])
print("%s moved to %s: %d ms, downtime %d ms (predicted %d ms, %d ms)" % (r["domain"], r["peer"], r["actual"]["time_elapsed_ms"], r["actual"]["downtime_ms"], r["predicted"]["total_time_ms"], r["predicted"]["downtime_ms"]))
' "$list") || fail "$msg"
log "$msg"
moved=$(jq_py 'import json,sys; print(json.loads(sys.argv[1])["migrations"][0]["domain"])' "$list")
stayed=v1; [ "$moved" = v1 ] && stayed=v2
expect_on "$moved" h2
expect_on "$stayed" h1
verify_guest "$moved" "after the planner moved it to h2"
verify_guest "$stayed" "on h1"
d=$(wait_state normal 20) || fail "h1 not back to normal after the move: $d"
sleep 5
[ "$(n_records)" = 1 ] || fail "more moves followed: $(n_records) records"
prom=$TB_ROOT/h1/lib-tide/textfile/tide.prom
promtool check metrics <"$prom" >"$RESULTS/$T_NAME.promtool" 2>&1 || { cat "$RESULTS/$T_NAME.promtool"; fail "promtool rejects the textfile"; }
grep -q '^tide_planner_decisions_total{action="migrate"} 1$' "$prom" || fail "decisions not counted: $(grep decisions "$prom")"
grep -q '^tide_host_state{state="normal"} 1$' "$prom" || fail "tide_host_state: $(grep tide_host_state "$prom")"
log "h1 normal again, one move, counted in the textfile; nothing moved back"
