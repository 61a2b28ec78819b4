#!/bin/sh
# Example reaction hook for tided (tided(8), REACTION HOOKS).  Not
# installed; copy it to /etc/tide/hooks.d/50-example, mode 0755, owned by
# root, and adapt it.
#
# tided runs it without a shell around it, as "HOOK EVENT", with only PATH
# and the TIDE_* variables in its environment; what it prints goes to
# tided's log; it has hook_timeout_ms to finish, then its process group is
# killed.  Its exit status is logged, nothing more: it cannot veto anything.
set -eu

case "$1" in
vm-moved)
	# Web VMs are published through the host they run on: point the
	# load balancer (HAProxy's runtime API) at the VM's new host.
	case "$TIDE_VM" in
	web*)
		addr=$(getent hosts "$TIDE_DESTINATION" | cut -d' ' -f1)
		echo "set server web/$TIDE_VM addr $addr" |
			socat stdio /run/haproxy/admin.sock
		echo "$TIDE_VM moved $TIDE_SOURCE -> $TIDE_DESTINATION" \
			"(${TIDE_DOWNTIME_MS} ms down): balancer now uses $addr"
		;;
	esac
	;;
host-freed)
	# Consolidation left a host without VMs: power it off, a few minutes
	# later so that a change of mind can still be cancelled (shutdown -c).
	# Here only when the freed host is this one.
	if [ "$TIDE_HOST" = "$(hostname)" ]; then
		shutdown -P +5 "tide: no VM left on $TIDE_HOST"
		echo "powering $TIDE_HOST off in 5 minutes"
	fi
	;;
host-overloaded)
	logger -t tide-hook -p daemon.warning \
		"host $TIDE_HOST overloaded (load $TIDE_LOAD_RATIO)"
	;;
migration-failed)
	logger -t tide-hook -p daemon.warning \
		"migration of $TIDE_VM to $TIDE_DESTINATION failed: $TIDE_REASON"
	;;
*)
	# events added later: ignore them, and say nothing
	;;
esac
exit 0
