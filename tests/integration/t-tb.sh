#!/usr/bin/env bash
# The testbed tool itself, as a user meets it:
#  1. the README's "testbed by hand" commands work as written (every line of
#     that block but 'make guest', which make check has done);
#  2. 'tb tided stop' stops tided itself (not a wrapper) and waits for it,
#     'tb tided start' then starts a new one, and 'tb tided start' fails
#     when tided cannot come up (a broken configuration).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log "1: the README's by-hand example, line by line"
trap tb_cleanup EXIT
block=$(python3 - "$TOP/README.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("## The testbed by hand", 1)[1]
code = re.search(r"```sh\n(.*?)```", sec, re.S).group(1)
for line in code.splitlines():
    cmd = line.split("#", 1)[0].strip()
    if cmd and cmd != "make guest":
        print(cmd)
PY
)
[ -n "$block" ] || fail "no sh block under 'The testbed by hand' in README.md"
n=0
while read -r cmd; do
	n=$((n + 1))
	# run from the top of the tree, as the README means
	if ! out=$(cd "$TOP" && bash -c "$cmd" 2>&1 </dev/null); then
		printf '%s\n' "$out" | tail -5 >&2
		fail "README line '$cmd' failed"
	fi
	case $cmd in
	*"guest ctl g1 verify"*)
		[ "$(kv "$out" mismatches)" = 0 ] && [ "$(kv "$out" ledger_ok)" = 1 ] ||
			fail "README's verify does not say intact: $out" ;;
	*"tidectl h2 vm show"*)
		grep -q g1 <<<"$out" || fail "README's 'tidectl h2 vm show' does not list g1: $out" ;;
	esac
done <<<"$block"
log "$n README commands ran as written"
tb leftovers >/dev/null || fail "the README's 'tb down' left things behind: $(tb leftovers)"

log "2: tb tided start / stop"
tb_start -n 1
tb tided start h1
p1=$(tb tided pid h1) || fail "tb tided pid finds no tided after a start"
[ "$p1" = "$(cat /var/tmp/tide-testbed/h1/run-tide/tided.pid)" ] && [ "$(cat "/proc/$p1/comm")" = tided ] ||
	fail "tb tided pid ($p1) is not the tided whose pid tided wrote"
tb tided stop h1 || fail "tb tided stop failed"
[ -d "/proc/$p1" ] && fail "tided $p1 still runs after 'tb tided stop'"
for p in $(ip netns pids tide-h1); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = tided ] && fail "a tided (pid $p) still runs in h1 after 'tb tided stop'"
done
tb tided pid h1 >/dev/null 2>&1 && fail "tb tided pid still names a tided after stop"
log "stop: tided $p1 exited"
tb tided start h1 || fail "tb tided start after a stop failed"
p2=$(tb tided pid h1) || fail "tb tided pid finds no tided after stop and start"
[ "$p2" != "$p1" ] && [ "$(cat "/proc/$p2/comm")" = tided ] || fail "no new tided after stop and start ($p1 -> $p2)"
tb tidectl h1 status >/dev/null || fail "the restarted tided does not answer"
log "start after stop: tided $p2 answers"
tb tided stop h1
conf=/var/tmp/tide-testbed/h1/etc-tide/tided.conf
cp "$conf" "$conf.good"
echo 'tick_ms = "not a number";' >>"$conf"
if tb tided start h1 2>"$RESULTS/$T_NAME.broken"; then
	fail "tb tided start succeeded with a broken configuration"
fi
log "start with a broken configuration fails: $(grep -m1 'tb:' "$RESULTS/$T_NAME.broken")"
mv "$conf.good" "$conf"
tb tided start h1 || fail "tb tided start failed after the configuration was repaired"
tb tided stop h1
