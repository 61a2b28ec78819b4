#!/usr/bin/env bash
# Run cmocka unit-test binaries: one PASS/FAIL line each, the full output of
# a failing one, a summary, and a non-zero exit when anything failed.
#   tests/unit/run.sh BUILD_DIR BIN...
set -uo pipefail
build=${1:?usage: run.sh BUILD_DIR BIN...}
shift
here=$(cd "$(dirname "$0")" && pwd)

# Sanitizer settings matter only for build-san binaries; harmless elsewhere.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
export CMOCKA_MESSAGE_OUTPUT=stdout
# each binary also arms its own alarm(); this is the outer bound
per_test_timeout_s=${UNIT_TIMEOUT_S:-300}

bins=0 failed_bins=0 tests=0 failed_tests=0 skipped_tests=0
for bin in "$@"; do
	name=$(basename "$bin")
	log="$bin.log"
	bins=$((bins + 1))
	timeout --signal=KILL "$per_test_timeout_s" "$bin" >"$log" 2>&1
	rc=$?
	passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	nfailed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	# cmocka counts a skipped test among the passed ones and lists it
	# under "[  SKIPPED ] N test(s)": report it as a skip, never as a pass
	nskipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	passed=${passed:-0} nfailed=${nfailed:-0} nskipped=${nskipped:-0}
	passed=$((passed - nskipped))
	tests=$((tests + passed + nfailed))
	skipped_tests=$((skipped_tests + nskipped))
	if [ "$rc" -eq 0 ]; then
		printf '  %-8s %s (%d tests)\n' PASS "$name" "$passed"
		if [ "$nskipped" -gt 0 ]; then
			# the names, and the reason the test printed before skip()
			printf '  %-8s %s: %d test(s): %s\n' SKIP "$name" "$nskipped" \
				"$(sed -n 's/^\[  SKIPPED \] \([a-z_0-9]*\)$/\1/p' "$log" | sort -u | tr '\n' ' ')"
			grep -i 'skip' "$log" | grep -v '^\[' | sed 's/^/    | /'
		fi
	else
		failed_bins=$((failed_bins + 1))
		failed_tests=$((failed_tests + nfailed))
		[ "$rc" -eq 137 ] && why="killed after ${per_test_timeout_s}s" || why="exit $rc"
		printf '  %-8s %s (%d passed, %d failed, %s)\n' FAIL "$name" "$passed" "$nfailed" "$why"
		sed 's/^/    | /' "$log"
	fi
done
# a binary that crashed counts as one failure even if cmocka said nothing
[ "$failed_bins" -gt "$failed_tests" ] && failed_tests=$failed_bins
echo "unit tests in $build: $bins binaries"
echo "unit: $((tests - failed_tests)) passed, $failed_tests failed, $skipped_tests skipped"
[ "$failed_bins" -eq 0 ]
