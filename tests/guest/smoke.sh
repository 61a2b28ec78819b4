#!/usr/bin/env bash
# Quick self-test of tide's test guest: boots it under TCG with user-mode
# networking (ports forwarded on 127.0.0.1), drives tide-guestload through its
# client mode, and stops QEMU.  Usage: smoke.sh OUTDIR (as given to build.sh,
# which runs first and is quick when the guest is up to date).
# About 30 s on 2 cores; prints one line per check and PASS or FAIL.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/build.sh" "$1" >/dev/null || { echo "smoke: FAIL: build.sh $1 failed" >&2; exit 1; }
out=$(cd "$1" && pwd)
gl=$out/tide-guestload
command -v qemu-system-x86_64 >/dev/null || { echo "smoke: FAIL: qemu-system-x86_64 not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tide-smoke.XXXXXX")
console=$work/console.log
qpid=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	if [ "$failed" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
		echo "smoke: console log kept in $console"
	else
		rm -rf "$work"
	fi
}
failed=0
checks=0
trap cleanup EXIT

ok() { checks=$((checks + 1)); echo "smoke: ok   $*"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "smoke: FAIL $*"; }
# check DESCRIPTION COMMAND...: the command's success is the check
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
# field LINE KEY: value of KEY=value in a reply line
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ctl() { "$gl" ctl -t 10 "127.0.0.1:$p_ctl" "$@"; }
# expect KEY=VALUE... in the reply of "ctl CMD": expect_reply "CMD ARGS" k=v...
expect_reply() {
	local cmd=$1 reply kv words
	shift
	read -ra words <<<"$cmd"
	if ! reply=$(ctl "${words[@]}"); then
		fail "'$cmd': $reply"
		return
	fi
	for kv in "$@"; do
		if [ "$(field "$reply" "${kv%%=*}")" != "${kv#*=}" ]; then
			fail "'$cmd': wanted $kv in: $reply"
			return
		fi
	done
	ok "'$cmd' $*"
}
expect_err() {
	local reply
	if reply=$(ctl "$@" 2>&1); then
		fail "'$*' was accepted: $reply"
	else
		case "$reply" in
		err\ *) ok "'$*' refused: $reply" ;;
		*) fail "'$*' gave no err reply: $reply" ;;
		esac
	fi
}
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
qemu_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$qpid/stat"; }

# --- boot ---------------------------------------------------------------------
start_qemu() {
	: >"$console"
	qemu-system-x86_64 -name tide-smoke -accel tcg -m 128 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$console" \
		-kernel "$out/vmlinuz" -initrd "$out/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet tide.ip=10.0.2.15/24 tide.name=smoke" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$p_ctl-:7000,hostfwd=tcp:127.0.0.1:$p_ses-:7001" \
		-device virtio-net-pci,netdev=n0 \
		2>"$work/qemu.err" &
	qpid=$!
}
port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
for _ in 1 2 3; do
	p_ctl=$((20000 + RANDOM % 20000 * 2))
	p_ses=$((p_ctl + 1))
	if ! port_free "$p_ctl" || ! port_free "$p_ses"; then
		continue
	fi
	t0=$(date +%s%N)
	start_qemu
	sleep 0.3
	kill -0 "$qpid" 2>/dev/null && break
	# lost a race for the ports: try others
	wait "$qpid" 2>/dev/null || true
	qpid=
done
[ -n "$qpid" ] || { fail "QEMU does not start: $(cat "$work/qemu.err")"; exit 1; }

ready_ms=
for _ in $(seq 600); do
	if grep -q 'TIDE-GUEST READY' "$console"; then
		ready_ms=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$ready_ms" ]; then
	fail "guest not ready within 30 s; console:"
	tail -n 20 "$console" | sed 's/^/  /'
	exit 1
fi
ok "READY after $ready_ms ms: $(grep -m1 'TIDE-GUEST READY' "$console" | tr -d '\r')"
check "READY line names 10.0.2.15" grep -q 'TIDE-GUEST READY ip=10.0.2.15$' <(tr -d '\r' <"$console")

# --- control protocol ------------------------------------------------------------
expect_reply status starts=1 cpu_pct=0 dirty_mode=off wss_mib=0 ballast_mib=32 total_mismatches=0

# cpu: the guest's own cpu_ms over 2 s of 50 %
expect_reply "cpu 50" cpu_pct=50
s1=$(ctl status)
sleep 2
s2=$(ctl status)
pct=$(( ($(field "$s2" cpu_ms) - $(field "$s1" cpu_ms)) * 100 /
	($(field "$s2" uptime_ms) - $(field "$s1" uptime_ms)) ))
check "cpu 50 burns ${pct} % of the vCPU" in_range "$pct" 35 75
expect_reply "cpu 0" cpu_pct=0

# paced dirtier: 2560 pages/s = 10 MiB/s over 16 MiB
expect_reply "dirty 2560 16" dirty_mode=paced dirty_rate=2560 wss_mib=16
sleep 2.5
s=$(ctl status)
rate=$(field "$s" dirty_rate_meas)
check "dirty 2560 16 measures $rate pages/s" in_range "$rate" 2200 2900
expect_reply verify pages=12288 mismatches=0 total_mismatches=0

# CPU-bound dirtier, verified while it runs
expect_reply "dirtyfast 8" dirty_mode=fast wss_mib=8
sleep 1
expect_reply verify pages=10240 mismatches=0 total_mismatches=0
s=$(ctl status)
ok "dirtyfast 8 writes $(field "$s" dirty_rate_meas) pages/s under TCG"
expect_reply "ballast 16" ballast_mib=16
expect_reply verify pages=6144 mismatches=0 total_mismatches=0

# bad commands change nothing
expect_err bogus
expect_err cpu 101
expect_err cpu 5x
expect_err dirty abc 1
expect_err dirty 5 0
expect_err dirty 1
expect_err ballast -1
expect_err ballast 100000
expect_reply status dirty_mode=fast wss_mib=8 ballast_mib=16 cpu_pct=0

# --- sessions -------------------------------------------------------------------
if "$gl" session -t 10 "127.0.0.1:$p_ses" 20 50 >"$work/s0.out"; then
	ok "session 20 x 50 ms: $(tail -n 1 "$work/s0.out")"
else
	fail "session 20 x 50 ms: $(tail -n 1 "$work/s0.out")"
fi
pids=()
for i in 1 2 3 4; do
	"$gl" session -t 10 "127.0.0.1:$p_ses" 10 100 >"$work/s$i.out" &
	pids+=($!)
done
n_ok=0
for p in "${pids[@]}"; do
	wait "$p" && n_ok=$((n_ok + 1))
done
check "4 concurrent sessions ($n_ok ok)" [ "$n_ok" -eq 4 ]

# --- idle cost, memory ---------------------------------------------------------------
expect_reply "dirty 0 0" dirty_mode=off wss_mib=0
hz=$(getconf CLK_TCK)
c1=$(qemu_cpu_ticks)
sleep 3
c2=$(qemu_cpu_ticks)
idle_pct=$(((c2 - c1) * 100 / (3 * hz)))
ok "idle guest costs ${idle_pct} % of a host core (QEMU, 3 s)"
rss_mib=$(($(awk '/^VmRSS:/ { print $2 }' "/proc/$qpid/status") / 1024))
ok "QEMU RSS ${rss_mib} MiB (128 MiB guest)"

# --- the detector fires -------------------------------------------------------------
expect_reply "corrupt ballast 3" corrupted=ballast:3
expect_reply verify mismatches=1 total_mismatches=1
sleep 0.3
check "console shows the mismatch" grep -q 'TIDE-GUEST MISMATCH page=ballast:3 ' "$console"
# a corrupted working-set page is caught by the dirtier before it rewrites
# it (the ballast page above stays bad: mismatches=1)
expect_reply "dirty 1000 1" dirty_mode=paced wss_mib=1
expect_reply "corrupt wss 7" corrupted=wss:7
sleep 1
expect_reply verify mismatches=1 total_mismatches=2
check "console shows the dirtier's find" grep -q 'TIDE-GUEST MISMATCH page=wss:7 .*by=dirtier' "$console"
no_respawn() { ! grep -q 'TIDE-GUEST RESPAWN' "$console"; }
check "no respawn of tide-guestload" no_respawn
check "quit closes the connection" ctl quit >/dev/null

if [ "$failed" -eq 0 ]; then
	echo "smoke: PASS ($checks checks; READY after $ready_ms ms; QEMU RSS $rss_mib MiB)"
else
	echo "smoke: FAIL ($failed of $checks checks failed)"
	exit 1
fi
