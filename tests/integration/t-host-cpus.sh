#!/usr/bin/env bash
# Simulated hosts are really separate: each owns its own CPUs (a cpuset per
# host holding its libvirtd, its QEMUs and its tided), so a host that runs
# hot slows only itself, and moving a VM away relieves it.
#  - every QEMU thread of a host's guests may run only on that host's CPUs,
#    incoming migrations included;
#  - two busy guests on h1 (one CPU) share it: together at most one CPU, and
#    tided on h1 sees run-queue wait, while tided on h2 sees none for an
#    idle guest;
#  - moving one busy guest to h2 removes the wait on h1;
#  - negative control: without cpusets the bound on h1's CPU time fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs to give each host its own (this machine has $(nproc --all))"
TIDED_TICK_MS=500 tb_start -n 2
read -r c1 n1 <<<"$(tb cpus h1)"; read -r c2 n2 <<<"$(tb cpus h2)"
log "h1 owns CPU $c1, h2 owns CPU $c2"
[ "$n1" = 1 ] && [ "$n2" = 1 ] && [ "$c1" != "$c2" ] || fail "hosts do not own one CPU each: h1 '$c1', h2 '$c2'"
tb tided start h1
tb tided start h2
for h in h1 h2; do
	c=$(tb tidectl "$h" -j host show | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpus"])')
	[ "$c" = 1 ] || fail "tided on $h counts $c CPUs of capacity, not the 1 its host owns"
done

# every thread of guest NAME's QEMU may run only on CPUS
expect_affinity() {
	local name=$1 cpus=$2 pid t a
	pid=$(pgrep -f "qemu-system-x86_64 .*-name guest=$(tb guest domain "$name")," | head -1)
	[ -n "$pid" ] || fail "no QEMU process for $name"
	for t in /proc/"$pid"/task/*; do
		a=$(sed -n 's/^Cpus_allowed_list:\t*//p' "$t/status")
		[ "$a" = "$cpus" ] || fail "$name's QEMU thread ${t##*/} may run on CPUs '$a', not only its host's '$cpus'"
	done
}

# host H's figures over the last 3 s, from its tided: "on_cpu wait" in ms/s
host_load() {
	tb tidectl "$1" -w 3000 -j host show | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(round(d["vm_cpu_ns_per_s"] / 1e6), round(d["vm_wait_ns_per_s"] / 1e6))'
}

for g in b1 b2; do
	tb guest start "$g" h1 --mem 128 --ballast 4 >/dev/null 2>&1 || fail "guest $g did not boot"
done
tb guest start i1 h2 --mem 128 --ballast 4 >/dev/null 2>&1 || fail "guest i1 did not boot"
expect_affinity b1 "$c1"; expect_affinity b2 "$c1"; expect_affinity i1 "$c2"
tb guest ctl b1 cpu 100 >/dev/null
tb guest ctl b2 cpu 100 >/dev/null
sleep 5
read -r cpu1 wait1 <<<"$(host_load h1)"; read -r cpu2 wait2 <<<"$(host_load h2)"
printf '    %-34s %14s %14s\n' "" "on-CPU ms/s" "wait ms/s"
printf '    %-34s %14s %14s\n' "h1: b1 + b2 busy" "$cpu1" "$wait1" "h2: i1 idle" "$cpu2" "$wait2"
[ "$cpu1" -le 1100 ] || fail "two guests on h1's one CPU ran $cpu1 ms/s: h1 does not own just one CPU"
[ "$wait1" -ge 300 ] || fail "two busy guests on one CPU should wait, tided on h1 sees $wait1 ms/s"
# an idle TCG guest still wakes ~100 times a second; what it waits must be
# nothing beside h1's (and anything else this machine runs shares h2's CPU)
[ "$wait2" -le $(( wait1 / 20 > 20 ? wait1 / 20 : 20 )) ] ||
	fail "an idle guest on h2 waits $wait2 ms/s against h1's $wait1: h2 is not separate from h1 (machine load average $(cut -d' ' -f1-3 /proc/loadavg))"

migrate_once_more b2 h2 >/dev/null || fail "migration of b2 to h2 failed"
expect_on b2 h2
expect_affinity b2 "$c2"
verify_guest b2 "after its move to h2"
sleep 5
read -r cpu1b wait1b <<<"$(host_load h1)"; read -r cpu2b wait2b <<<"$(host_load h2)"
printf '    %-34s %14s %14s\n' "h1: b1 busy (b2 moved away)" "$cpu1b" "$wait1b" "h2: i1 idle + b2 busy" "$cpu2b" "$wait2b"
# Processes outside the testbed (anything else this machine runs) share the
# hosts' CPUs: on a busy machine b1 waits for them too, so say the load.
[ "$wait1b" -le $((wait1 / 3)) ] ||
	fail "moving b2 away did not relieve h1: wait $wait1 -> $wait1b ms/s (machine load average $(cut -d' ' -f1-3 /proc/loadavg): other processes compete for h1's CPU)"
[ "$cpu1b" -ge 700 ] ||
	fail "b1 alone on h1 should have its CPU, runs $cpu1b ms/s (machine load average $(cut -d' ' -f1-3 /proc/loadavg))"
log "moving one of two busy guests relieved h1: wait $wait1 -> $wait1b ms/s, b1 on-CPU $cpu1 (shared) -> $cpu1b ms/s"

# Negative control: without cpusets (--cpus none) the same two busy guests
# on h1 take both of the machine's CPUs, so the first check above fails.
tb down >/dev/null 2>&1
TIDED_TICK_MS=500 tb up -n 1 --cpus none >/dev/null 2>&1 || fail "testbed without cpusets did not come up"
tb tided start h1
for g in b1 b2; do
	tb guest start "$g" h1 --mem 128 --ballast 4 >/dev/null 2>&1 || fail "guest $g did not boot"
	tb guest ctl "$g" cpu 100 >/dev/null
done
sleep 5
read -r cpu0 wait0 <<<"$(host_load h1)"
[ "$cpu0" -gt 1100 ] ||
	fail "without cpusets two busy guests ran only $cpu0 ms/s: the check of h1's one CPU could not have failed"
log "negative control: without cpusets the two busy guests take $cpu0 ms/s (wait $wait0): the 1100 ms/s bound catches a host not confined to its CPU"
