#!/usr/bin/env bash
# t-net: the network collector against rtnetlink link stats, in two network
# namespaces of our own joined by a veth pair (and a tap and a second veth
# created inside the first).  Traffic only between those namespaces.
# For each attach mode (tcx, tc):
#   count    N UDP datagrams each way: BPF == link stats == expected, exactly
#   foreign  a clsact qdisc with u32 filters of "someone else" exists first:
#            they still see every packet while we count, and survive our fini
#   late     watch, then the link appears (attached), then goes (detached)
#   tap      a tap nobody reads: drops agree with the tap's own counters
# Exit 0 pass, 77 skip (reason on stderr), else fail.
set -uo pipefail

BUILD=${BUILD:-build}
bin=$BUILD/tests/bpf/test_net
N=${TIDE_NET_TEST_DATAGRAMS:-2000}

skip() { echo "t-net: skip: $*" >&2; exit 77; }
fail() { echo "t-net: FAIL: $*" >&2; failed=1; }

[ -x "$bin" ] || { echo "t-net: $bin is not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, BPF)"
command -v ip >/dev/null && command -v tc >/dev/null || skip "needs iproute2 (ip, tc)"

nsa=tide-nettest-$$-a
nsb=tide-nettest-$$-b
cleanup() {
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$nsa" 2>/dev/null || skip "cannot create a network namespace"
ip netns add "$nsb" || exit 1
A() { ip netns exec "$nsa" "$@"; }
B() { ip netns exec "$nsb" "$@"; }

# No spontaneous traffic: no IPv6 (DAD, RS, MLD), static neighbours (no ARP).
for ns in "$nsa" "$nsb"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || exit 1
done
ip -n "$nsa" link add vA address 02:00:00:00:0a:01 type veth peer name vB address 02:00:00:00:0b:01 netns "$nsb" || exit 1
ip -n "$nsa" addr add 192.0.2.1/24 dev vA && ip -n "$nsa" link set vA up || exit 1
ip -n "$nsb" addr add 192.0.2.2/24 dev vB && ip -n "$nsb" link set vB up || exit 1
ip -n "$nsa" neigh add 192.0.2.2 lladdr 02:00:00:00:0b:01 dev vA nud permanent || exit 1
ip -n "$nsb" neigh add 192.0.2.1 lladdr 02:00:00:00:0a:01 dev vB nud permanent || exit 1
# the foreign filters mirror into this pair (its far end drops what it gets)
ip -n "$nsa" link add tnmir0 type veth peer name tnmir1 || exit 1
ip -n "$nsa" link set tnmir0 up && ip -n "$nsa" link set tnmir1 up || exit 1
ip -n "$nsa" link set lo up || exit 1

failed=0
skipped=0
has_clsact() { tc -n "$nsa" qdisc show dev vA | grep -q clsact; }
# packets the foreign filter of $1 (ingress|egress) saw: its mirred action's counter
foreign_pkts() {
	tc -n "$nsa" -s filter show dev vA "$1" | awk '/Sent [0-9]+ bytes [0-9]+ pkt/ { for (i = 1; i <= NF; i++) if ($i == "pkt") p = $(i - 1) } END { print p + 0 }'
}
result() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2" | tail -1; }

for mode in tcx tc; do
	echo "== mode $mode"

	# count: nothing of anybody's on vA before
	out=$(A "$bin" -m "$mode" count vA 192.0.2.1 192.0.2.2 "$nsb" "$N"); rc=$?
	echo "$out"
	if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); continue; fi
	[ $rc -eq 0 ] || fail "$mode count (exit $rc)"
	has_clsact && fail "$mode: a clsact qdisc is left on vA after fini (we created it)"

	# foreign: someone else's clsact and filters exist first
	tc -n "$nsa" qdisc add dev vA clsact || exit 1
	for dir in ingress egress; do
		tc -n "$nsa" filter add dev vA "$dir" prio 100 protocol all u32 match u32 0 0 \
			action mirred egress mirror dev tnmir0 || exit 1
	done
	out=$(A "$bin" -m "$mode" count vA 192.0.2.1 192.0.2.2 "$nsb" "$N"); rc=$?
	echo "$out"
	[ $rc -eq 0 ] || fail "$mode foreign: count (exit $rc)"
	has_clsact || fail "$mode foreign: the pre-existing clsact qdisc is gone"
	for dir in ingress egress; do
		n=$(tc -n "$nsa" filter show dev vA "$dir" | grep -c 'u32 .*fh 800::800')
		[ "$n" -ge 1 ] || fail "$mode foreign: the foreign $dir filter is gone"
		tc -n "$nsa" filter show dev vA "$dir" | grep -q 'bpf\|net_' &&
			fail "$mode foreign: a filter of ours is left on $dir"
	done
	seen_in=$(foreign_pkts ingress) seen_out=$(foreign_pkts egress)
	rx=$(result rx_packets "$out") tx=$(result tx_packets "$out")
	echo "foreign filter saw rx $seen_in tx $seen_out; we counted rx $rx tx $tx"
	[ "$seen_in" = "$rx" ] && [ "$seen_out" = "$tx" ] ||
		fail "$mode foreign: the foreign filters did not see every packet (ours must pass them on)"
	tc -n "$nsa" qdisc del dev vA clsact

	out=$(A "$bin" -m "$mode" late); rc=$?
	echo "$out"
	[ $rc -eq 0 ] || fail "$mode late (exit $rc)"

	out=$(A "$bin" -m "$mode" tap); rc=$?
	echo "$out"
	[ $rc -eq 77 ] && { skipped=$((skipped + 1)); continue; }
	[ $rc -eq 0 ] || fail "$mode tap (exit $rc)"
done

[ $failed -eq 0 ] || exit 1
[ $skipped -lt 2 ] || skip "no attach mode could run"
exit 0
