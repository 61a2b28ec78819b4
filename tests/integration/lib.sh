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

# The guest's own memory check, and what the host knows of it.  Fails the
# test when
#  - a page changed behind the program's back (mismatches, total_mismatches);
#  - the working set's ledger does not add up: the pages the dirtier counted
#    are not the sum of the page generations (ledger_ok);
#  - the guest checks fewer pages than it was asked to hold (a ballast that
#    could not be had at boot is an "err" reply);
#  - the witness kept outside the guest went backwards: the pages written
#    and the highest generation seen before (witness_take, witness_watch)
#    must not be more than the guest now says.  A migration that lost a
#    window of dirty pages together with the guest's own records of them
#    would pass the page check; it cannot undo what the host already saw.
declare -A WITNESS_WRITTEN WITNESS_GEN
verify_guest() {
	local name=$1 where=$2 r w gen
	r=$(tb guest ctl "$name" verify) || fail "$name $where: guest does not answer verify ($r)"
	[ "$(kv "$r" mismatches)" = 0 ] && [ "$(kv "$r" total_mismatches)" = 0 ] ||
		fail "$name $where: guest memory corrupted: $r"
	[ "$(kv "$r" ledger_ok)" = 1 ] ||
		fail "$name $where: pages written and page generations disagree: $r"
	[ -n "$(kv "$r" pages)" ] && [ "$(kv "$r" pages)" = "$(kv "$r" expected_pages)" ] ||
		fail "$name $where: the guest checks $(kv "$r" pages) pages, not the $(kv "$r" expected_pages) it was asked to hold: $r"
	w=$(kv "$r" written) gen=$(kv "$r" gen)
	witness_check "$name" "$where" "$w" "$gen"
	log "$name $where: memory intact ($(kv "$r" covered_mib) MiB checksummed of the $(kv "$r" memtotal_mib) MiB its kernel manages, $(kv "$r" pages) pages; $w pages written, witness ok)"
}

# witness_check NAME WHERE WRITTEN GEN: fail if either went backwards, then
# remember the new values.
witness_check() {
	local name=$1 where=$2 w=$3 gen=$4
	if [ -n "${WITNESS_WRITTEN[$name]:-}" ]; then
		[ "$w" -ge "${WITNESS_WRITTEN[$name]}" ] ||
			fail "$name $where: pages_written went back from ${WITNESS_WRITTEN[$name]} (seen by the host) to $w: the guest lost state"
		[ "$gen" -ge "${WITNESS_GEN[$name]}" ] ||
			fail "$name $where: the highest page generation went back from ${WITNESS_GEN[$name]} to $gen: the guest lost state"
	fi
	WITNESS_WRITTEN[$name]=$w WITNESS_GEN[$name]=$gen
}

# tb migrate NAME DST ARGS..., made once more when the testbed's libvirt
# dropped the connection ("client socket is closed": seen on this loaded
# 2-core machine, a keepalive timeout between two libvirtds, in tests that
# do not run tided), said loudly, and only after checking that the guest
# still runs, intact, on the source.  Any other failure is the test's.
migrate_once_more() {
	local name=$1 dst=$2 src out err
	shift 2
	src=$(tb guest host "$name")
	err=$RESULTS/$T_NAME.migrate.err
	if out=$(tb migrate "$name" "$dst" "$@" 2>"$err"); then
		printf '%s\n' "$out"
		return 0
	fi
	grep -q "client socket is closed" "$err" || { cat "$err" >&2; return 1; }
	log "RETRY: the migration of $name to $dst failed: $(head -1 "$err"); it must still run on $src" >&2
	expect_on "$name" "$src"
	verify_guest "$name" "on $src after the dropped migration" >&2
	sleep 2
	tb migrate "$name" "$dst" "$@"
}

# Forget the witness of NAME: the test itself just reset what it counts
# ("dirty 0 0" frees the working set and its page generations).
witness_forget() {
	unset "WITNESS_WRITTEN[$1]" "WITNESS_GEN[$1]"
}

# Record what the guest says now (before a migration).
witness_take() {
	local name=$1 r
	r=$(tb guest ctl "$name" status) || fail "$name: no status for the witness ($r)"
	witness_check "$name" "before a migration" "$(kv "$r" pages_written)" "$(kv "$r" gen)"
}

# Poll the guest's status every 200 ms in the background until
# witness_watch_end, so that the witness holds the last figures the guest
# gave before it was stopped for the switch-over.
witness_watch() {
	local name=$1 ip
	ip=$(tb guest ip "$name")
	WITNESS_FILE=$RESULTS/$T_NAME.witness.$name
	: >"$WITNESS_FILE"
	"$TB" client bash -c 'while :; do "$1" ctl -t 1 "$2" status 2>/dev/null; sleep 0.2; done' \
		witness "$BUILD/guest/tide-guestload" "$ip" >>"$WITNESS_FILE" &
	WITNESS_PID=$!
	T_BG_PIDS="${T_BG_PIDS:-} $WITNESS_PID"
}

witness_watch_end() {
	local name=$1 line w=0 gen=0 lw lg
	kill "$WITNESS_PID" 2>/dev/null; wait "$WITNESS_PID" 2>/dev/null || true
	while read -r line; do
		lw=$(kv "$line" pages_written) lg=$(kv "$line" gen)
		[ -n "$lw" ] && [ "$lw" -gt "$w" ] && w=$lw
		[ -n "$lg" ] && [ "$lg" -gt "$gen" ] && gen=$lg
	done <"$WITNESS_FILE"
	[ "$w" -gt 0 ] && witness_check "$name" "while it migrated" "$w" "$gen"
	return 0
}

# The state of domain DOM on host H: "running", "paused", ..., "" when H's
# libvirtd says it has no such domain.  A libvirtd that cannot be asked
# fails the test: an unreachable host is not a host without the guest.
dom_state() {
	local h=$1 dom=$2 st err
	err=$RESULTS/$T_NAME.domstate.err
	if st=$(tb virsh "$h" domstate "$dom" 2>"$err"); then
		echo "$st"
		return 0
	fi
	grep -qiE 'domain not found|failed to get domain' "$err" ||
		fail "cannot ask $h's libvirtd about '$dom': $(tr '\n' ' ' <"$err")"
	echo ""
}

# The guest must run on exactly HOST and nowhere else.  A host whose
# libvirtd the test stopped on purpose is named after HOST (expect_on g1 h1
# h2): it is not asked, its namespace must hold no QEMU of the guest.
expect_on() {
	local name=$1 host=$2 h st dom down
	shift 2
	down=" $* "
	dom=$(tb guest domain "$name")
	for h in $(cat /var/tmp/tide-testbed/hosts); do
		if [ "$h" != "$host" ] && [[ "$down" == *" $h "* ]]; then
			qemu_in_host "$h" "$dom" && fail "$name should not be on $h, a QEMU of it runs there (its libvirtd is down)"
			continue
		fi
		st=$(dom_state "$h" "$dom") || exit 1
		if [ "$h" = "$host" ]; then
			[ "$st" = running ] || fail "$name should run on $h, is '${st:-absent}'"
		else
			[ -z "$st" ] || [ "$st" = "shut off" ] || fail "$name should not be on $h, is '$st' there"
		fi
	done
}

# True if a QEMU of domain DOM runs in host H's namespace.
qemu_in_host() {
	local h=$1 dom=$2 p
	for p in $(ip netns pids "tide-$h" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "^qemu-system[^ ]* .*-name guest=$dom," && return 0
	done
	return 1
}

# A long TCP session from the client to guest NAME: one request every
# INTERVAL_MS, each answered with the next value of the connection's counter.
# A reply later than SESSION_TIMEOUT_S fails it at once; one later than
# MAX_GAP_MS fails it at the end (session_end).  Both are meant to sit just
# above the worst pause the test allows (a migration's downtime, plus the
# jitter of TCG guests on a loaded 2-core machine), so that a guest that
# stalls is caught, not waited for.
# "$TB" directly (not the tb function) so that $! is the client itself.
SESSION_TIMEOUT_S=${SESSION_TIMEOUT_S:-3}
SESSION_MAX_GAP_MS=${SESSION_MAX_GAP_MS:-1500}
session_start() {
	local name=$1 interval_ms=${2:-50} max_gap_ms=${3:-$SESSION_MAX_GAP_MS}
	SESSION_LOG=$RESULTS/$T_NAME.session${SESSION_TAG:-}
	"$TB" client "$BUILD/guest/tide-guestload" session -t "$SESSION_TIMEOUT_S" -g "$max_gap_ms" \
		"$(tb guest ip "$name")" 100000000 "$interval_ms" >"$SESSION_LOG" 2>&1 &
	SESSION_PID=$!
	T_BG_PIDS="${T_BG_PIDS:-} $SESSION_PID"
}

# The session runs and has answered lately: it prints a progress line every
# second, so a log untouched for more than SESSION_TIMEOUT_S + 1 s means a
# session that is stuck, whether or not its process still exists.
session_alive() {
	local age_s
	if kill -0 "$SESSION_PID" 2>/dev/null; then
		age_s=$(( $(date +%s) - $(stat -c %Y "$SESSION_LOG") ))
		[ "$age_s" -le $((SESSION_TIMEOUT_S + 1)) ] && return 0
		fail "the TCP session has not answered for $age_s s $1: $(tail -1 "$SESSION_LOG")"
	fi
	cat "$SESSION_LOG" >&2
	fail "the TCP session died $1"
}

# Ends the session (SIGTERM: it stops and judges what it got) and fails
# unless every reply came, in order, on the one connection, none later than
# the gap allowed, and none was still awaited when it was stopped.
# Prints the distribution of reply times.
session_end() {
	local last
	session_stop
	last=$(tail -1 "$SESSION_LOG")
	log "reply times: $(sed -n 's/^session gaps //p' "$SESSION_LOG" | tail -1)"
	case $last in
	"session ok "*) log "TCP session kept across everything: $last" ;;
	*) fail "the TCP session broke: $(grep -m1 FAIL "$SESSION_LOG" || echo "$last")" ;;
	esac
}

# Stops the session and waits for its verdict (the last line of its log).
# Polls rather than only waits: a subshell cannot wait for its parent's
# children.
session_stop() {
	local i
	kill -TERM "$SESSION_PID" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$SESSION_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$SESSION_PID" 2>/dev/null || true
}
