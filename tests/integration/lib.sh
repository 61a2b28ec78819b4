# Shared by the integration tests (sourced).  Every test brings up its own
# testbed and tears it down on any exit, so a failing test leaves nothing.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
export BUILD
TB="$TOP/tests/testbed/tb"
. "$TOP/tests/testbed/lock.sh"
RESULTS=$BUILD/test-results
mkdir -p "$RESULTS"
T_NAME=$(basename "$0" .sh)

tb() { "$TB" "$@"; }
log() { printf '  [%s] %s\n' "$T_NAME" "$*"; }
fail() { printf '  [%s] FAIL: %s\n' "$T_NAME" "$*" >&2; exit 1; }
skip() { printf '  [%s] SKIP: %s\n' "$T_NAME" "$*" >&2; exit 77; }

tb_cleanup() {
	local rc=$?
	# whatever fails here must not cut the teardown short
	set +e
	[ -n "${T_BG_PIDS:-}" ] && kill $T_BG_PIDS 2>/dev/null
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -d /var/tmp/tide-testbed/consoles ]; then
		for c in /var/tmp/tide-testbed/consoles/*.log; do
			[ -e "$c" ] || continue
			echo "  --- last lines of $(basename "$c") ---" >&2
			tail -5 "$c" >&2
		done
	fi
	tb down >/dev/null 2>&1
	exit $rc
}

tb_start() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, libvirtd)"
	[ -r "$BUILD/guest/vmlinuz" ] || fail "no guest image in $BUILD/guest (make guest)"
	trap tb_cleanup EXIT
	trap 'exit 130' INT TERM
	tb up "$@" >/dev/null 2>"$RESULTS/$T_NAME.up.log" || { cat "$RESULTS/$T_NAME.up.log" >&2; fail "testbed did not come up"; }
}

# key=value from "ok k=v k=v" reply lines
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }

# The guest's own memory check: fails the test on any page that changed
# behind the program's back.
verify_guest() {
	local name=$1 where=$2 r
	r=$(tb guest ctl "$name" verify) || fail "$name $where: guest does not answer verify ($r)"
	[ "$(kv "$r" mismatches)" = 0 ] && [ "$(kv "$r" total_mismatches)" = 0 ] ||
		fail "$name $where: guest memory corrupted: $r"
	log "$name $where: memory intact ($(kv "$r" pages) pages checksummed)"
}

# The guest must run on exactly HOST and nowhere else.
expect_on() {
	local name=$1 host=$2 h st dom
	dom=$(tb guest domain "$name")
	for h in $(cat /var/tmp/tide-testbed/hosts); do
		st=$(tb virsh "$h" domstate "$dom" 2>/dev/null || true)
		if [ "$h" = "$host" ]; then
			[ "$st" = running ] || fail "$name should run on $h, is '${st:-absent}'"
		else
			[ -z "$st" ] || [ "$st" = "shut off" ] || fail "$name should not be on $h, is '$st' there"
		fi
	done
}

# A long TCP session from the client to guest NAME: one request every
# INTERVAL_MS, each answered with the next value of the connection's counter.
# "$TB" directly (not the tb function) so that $! is the client itself.
session_start() {
	local name=$1 interval_ms=${2:-50}
	"$TB" client "$BUILD/guest/tide-guestload" session -t 60 "$(tb guest ip "$name")" \
		100000000 "$interval_ms" >"$RESULTS/$T_NAME.session" 2>&1 &
	SESSION_PID=$!
	T_BG_PIDS="${T_BG_PIDS:-} $SESSION_PID"
}

session_alive() {
	kill -0 "$SESSION_PID" 2>/dev/null && return 0
	cat "$RESULTS/$T_NAME.session" >&2
	fail "the TCP session died $1"
}

# Ends the session (SIGTERM: it stops cleanly and judges what it got) and
# fails unless every reply came, in order, on the one connection.
session_end() {
	local last
	kill -TERM "$SESSION_PID" 2>/dev/null || true
	wait "$SESSION_PID" 2>/dev/null || true
	last=$(tail -1 "$RESULTS/$T_NAME.session")
	case $last in
	"session ok "*) log "TCP session kept across everything: $last" ;;
	*) fail "the TCP session broke: $(grep -m1 FAIL "$RESULTS/$T_NAME.session" || echo "$last")" ;;
	esac
}
