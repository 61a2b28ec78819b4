#!/usr/bin/env bash
# Run every BPF test script tests/bpf/t-*.sh against the running kernel.
# Each script exits 0 (pass), 77 (skip: says why on stderr) or other (fail).
set -uo pipefail
BUILD=${1:-build}
export BUILD
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0 skip=0
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
for t in "$here"/t-*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	printf '  %-8s %s\n' RUN "$name"
	bash "$t"; rc=$?
	case $rc in
	0) pass=$((pass + 1)); printf '  %-8s %s\n' PASS "$name" ;;
	77) skip=$((skip + 1)); printf '  %-8s %s\n' SKIP "$name" ;;
	*) fail=$((fail + 1)); printf '  %-8s %s (exit %d)\n' FAIL "$name" "$rc" ;;
	esac
done
echo "bpf: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
