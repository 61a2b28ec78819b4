#!/usr/bin/env bash
# t-kvm: the KVM collector (bpf/kvm.bpf.c, daemon/kvm.c) loads and attaches
# to kvm:kvm_exit and kvm:kvm_dirty_ring_push, tracks, reads and untracks a
# process, and reports whether KVM exits happen on this host.  Where guests
# run under TCG only (the test machine: /dev/kvm is a PVM host that stock
# guest kernels do not boot on) it must report the feature INACTIVE; this
# proves loading and attaching, not counting.  Skips (77) when the kernel
# has no kvm tracepoints.  Exit 0 pass, 77 skip (reason on stderr), else fail.
set -uo pipefail

BUILD=${BUILD:-build}
bin=$BUILD/tests/bpf/test_kvm

[ -x "$bin" ] || { echo "t-kvm: $bin is not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "t-kvm: skip: needs root (loads BPF programs)" >&2; exit 77; }
"$bin" --seconds "${TIDE_KVM_TEST_SECONDS:-2}" 2>&1 | grep -v '^  watching'
exit "${PIPESTATUS[0]}"
