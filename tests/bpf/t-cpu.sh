#!/usr/bin/env bash
# t-cpu: the CPU collector (bpf/cpu.bpf.c, daemon/cpu.c) against the
# kernel's own accounting, /proc/PID/task/TID/schedstat and the context
# switch counts of /proc/.../status, in every mode the loader can pick:
#   default            tp_btf + task storage (pidfd) + sched_info counters
#   --tag-iter         task storage tagged through a task iterator (< 6.9)
#   --tid-hash         tid bitmap + hash (no task storage)
#   --raw-tp           raw_tp programs (no tp_btf), tid hash
#   --timestamps       BPF clocks + sched_wakeup programs (no sched_info)
#   --raw-tp --timestamps
# Each run: more CPU burners than CPUs (so they wait), a thread that
# sleeps and spins by turns, an untracked burner; on-CPU and run-queue
# wait deltas over the same interval within 2 %, the untracked thread
# leaves no trace.  Exit 0 pass, 77 skip (reason on stderr), else fail.
set -uo pipefail

BUILD=${BUILD:-build}
bin=$BUILD/tests/bpf/test_cpu
seconds=${TIDE_CPU_TEST_SECONDS:-2}

skip() { echo "t-cpu: skip: $*" >&2; exit 77; }

[ -x "$bin" ] || { echo "t-cpu: $bin is not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (loads BPF programs)"
[ -r "/proc/self/task/$$/schedstat" ] || skip "no /proc/PID/task/TID/schedstat to compare with (CONFIG_SCHED_INFO)"

# Every mode runs; a mode that skips is said loudly and never hides a mode
# that failed, before or after it.
failed=0 ran=0 skipped=""
for mode in "" "--tag-iter" "--tid-hash" "--raw-tp" "--timestamps" "--raw-tp --timestamps"; do
	echo "  -- test_cpu ${mode:-(default)}"
	# shellcheck disable=SC2086
	"$bin" --seconds "$seconds" $mode 2>&1 | grep -v '^  \.\.\. '
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 77 ]; then
		echo "t-cpu: SKIP: test_cpu ${mode:-(default)} (reason above)" >&2
		skipped="$skipped ${mode:-(default)}"
	elif [ "$rc" -ne 0 ]; then
		echo "t-cpu: FAIL: test_cpu ${mode:-(default)} (exit $rc)" >&2
		failed=1 ran=$((ran + 1))
	else
		ran=$((ran + 1))
	fi
done
[ "$failed" -ne 0 ] && exit 1
[ "$ran" -eq 0 ] && skip "every mode skipped:$skipped"
[ -n "$skipped" ] && echo "t-cpu: $ran modes passed; SKIPPED:$skipped" >&2
exit 0
