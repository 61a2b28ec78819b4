#!/usr/bin/env bash
# tide's CPU collector against the kernel's own schedstat for the vCPU
# threads of real QEMU guests: two guests burn a whole vCPU each while a host
# process competes for the two cores, so the vCPUs both run and wait.
# On-CPU and run-queue wait must agree within 2 %, on the tp_btf path and on
# the raw_tp fallback.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TEST_CPU=$BUILD/tests/bpf/test_cpu
[ -x "$TEST_CPU" ] || fail "no $TEST_CPU (make)"
tb_start -n 1
for g in g1 g2; do
	tb guest start "$g" h1 >/dev/null 2>&1 || fail "guest $g did not boot"
	tb guest ctl "$g" cpu 100 >/dev/null
done
# competition from the host itself, bounded in time
timeout 40 sh -c 'while :; do :; done' &
T_BG_PIDS="$!"

for mode in "" --raw-tp; do
	for g in g1 g2; do
		pid=$(cat /var/tmp/tide-testbed/h1/run-libvirt/qemu/$g.pid)
		log "$g (QEMU pid $pid) ${mode:-tp_btf}"
		"$TEST_CPU" --pid "$pid" --comm "CPU " --seconds 4 --tolerance 2 $mode \
			>"$RESULTS/$T_NAME.$g$mode.out" 2>&1 ||
			{ cat "$RESULTS/$T_NAME.$g$mode.out"; fail "$g: BPF and schedstat disagree (${mode:-tp_btf})"; }
		grep -E '^ +[0-9]+ +CPU' "$RESULTS/$T_NAME.$g$mode.out" | sed 's/^/    /'
		w=$(awk '/^ +[0-9]+ +CPU/ {print $7}' "$RESULTS/$T_NAME.$g$mode.out")
		# a test of wait accounting with no waiting would prove nothing
		awk -v w="$w" 'BEGIN { exit !(w > 100) }' || fail "$g: only ${w} ms of run-queue wait: no contention to measure"
	done
done
