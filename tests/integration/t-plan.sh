#!/usr/bin/env bash
# tidectl plan on a real host: tided on h1 with h2 as its peer and a
# 256 MiB guest dirtying 10 MiB/s over 16 MiB:
#  - one move, v1 -> h2, with the VM's real memory and the configured
#    bandwidth, its curve measured by the estimator (page-sampling) once
#    a probe has run, a verdict and figures, the textbook model beside it;
#  - the request's bandwidth and downtime limit are the ones predicted for;
#  - an unknown VM or peer is a clear error (plain and JSON), exit non-zero;
#  - plan moves nothing: the guest still runs on h1, h2 has no domain, and
#    the guest's memory checks out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tb_start
cat >>/var/tmp/tide-testbed/h1/etc-tide/tided.conf <<EOF
peers = ( { name = "h2"; uri = "$(tb uri h2)"; } );
migration_bandwidth_mib_s = 32;
dirty_probe_interval_ms = 2000;
EOF
tb guest start v1 h1 --mem 256 >/dev/null 2>&1 || fail "guest v1 did not boot"
r=$(tb guest ctl v1 dirty 2560 16) || fail "dirty 2560 16: $r"
tb tided start h1 || fail "tided did not start on h1"

# the move's members, as key=value (python reads tided's JSON)
plan_kv() {
	python3 -c '
import json, sys
r = json.load(sys.stdin)
if "error" in r:
    print("error=" + r["error"].replace(" ", "_")); sys.exit(0)
m = r["moves"]
print("n=%d" % len(m))
for k in ("vm", "dest", "converges", "total_time_ms", "downtime_ms", "bytes_sent", "rounds"):
    print("%s=%s" % (k, m[0][k]))
i, c = m[0]["input"], m[0]["curve"]
print("memory=%d bw=%d downtime_limit=%d" % (i["memory_bytes"], i["bandwidth_bytes_per_s"], i["downtime_limit_ms"]))
print("measured=%s points=%d textbook=%s" % (c["measured"], len(c["points"]), m[0]["textbook"]["converges"]))
'
}

# the estimator's first point comes after a probe (1 s window, 2 s interval)
out=
for _ in $(seq 1 30); do
	out=$(tb tidectl h1 -j plan | plan_kv) || fail "tidectl -j plan failed: $out"
	grep -q '^measured=True' <<<"$out" && break
	sleep 1
done
log "plan: $(tr '\n' ' ' <<<"$out")"
grep -q '^n=1$' <<<"$out" || fail "plan does not have one move (v1 -> h2): $out"
grep -q '^vm=v1$' <<<"$out" || fail "the move is not v1's: $out"
grep -q '^dest=h2$' <<<"$out" || fail "the move is not to h2: $out"
grep -q "memory=$((256 << 20)) bw=$((32 << 20)) downtime_limit=300" <<<"$out" ||
	fail "the input is not the VM's memory, 32 MiB/s and 300 ms: $out"
grep -q '^measured=True' <<<"$out" || fail "the dirty curve was never measured within 30 s: $out"
grep -q '^converges=True' <<<"$out" || fail "10 MiB/s over 16 MiB at 32 MiB/s is predicted not to converge: $out"
t=$(kv "$(grep total_time_ms <<<"$out")" total_time_ms)
[ "$t" -gt 4000 ] && [ "$t" -lt 20000 ] || fail "256 MiB at 32 MiB/s predicted to take $t ms, not 8-10 s"

out=$(tb tidectl h1 -j plan v1 h2 bandwidth 128 downtime 50 | plan_kv)
grep -q "bw=$((128 << 20)) downtime_limit=50" <<<"$out" || fail "plan's bandwidth/downtime arguments not used: $out"
tb tidectl h1 plan v1 h2 >"$RESULTS/$T_NAME.detail" 2>&1 || fail "tidectl plan v1 h2 failed"
grep -q '^v1 -> h2$' "$RESULTS/$T_NAME.detail" || fail "plan v1 h2 does not show the move: $(cat "$RESULTS/$T_NAME.detail")"
grep -q '^  textbook: ' "$RESULTS/$T_NAME.detail" || fail "plan v1 h2 does not show the textbook model"
tb tidectl h1 plan >"$RESULTS/$T_NAME.table" 2>&1 || fail "tidectl plan failed"
log "tidectl plan:"
sed 's/^/      /' "$RESULTS/$T_NAME.table"

log "bad input: an unknown VM, an unknown peer, a bad bandwidth"
if err=$(tb tidectl h1 plan nope 2>&1); then fail "plan of an unknown VM succeeded: $err"; fi
grep -q "no VM 'nope'" <<<"$err" || fail "plan nope: $err"
out=$(tb tidectl h1 -j plan nope || true)
grep -q '"error": *"no VM' <<<"$out" || fail "plan -j nope does not give {\"error\": ...}: $out"
if err=$(tb tidectl h1 plan v1 h9 2>&1); then fail "plan to an unknown peer succeeded: $err"; fi
grep -q "no peer 'h9'" <<<"$err" || fail "plan v1 h9: $err"
if err=$(tb tidectl h1 plan v1 h2 bandwidth fast 2>&1); then fail "plan with bandwidth 'fast' succeeded"; fi
grep -q "'bandwidth' needs an integer" <<<"$err" || fail "plan bandwidth fast: $err"

log "plan moved nothing"
expect_on v1 h1
[ -z "$(tb virsh h2 list --name 2>/dev/null | tr -d '[:space:]')" ] || fail "h2 has a domain after plan"
verify_guest v1 h1
log "ok"
