# Sourced: take the machine's testbed lock for the rest of this process.
# The testbed is one per machine (namespaces tide-*, /var/tmp/tide-testbed),
# so two test runs at once (two work trees, a test and a bench) would tear
# down each other's hosts.  Children inherit the lock (fd 9, and
# TIDE_TB_LOCKED tells them not to take it again, which would deadlock);
# tb starts its daemons (holders, libvirtd, tided) with fd 9 closed, so that
# a testbed left up cannot hold the lock once its test has exited.
tb_lock() {
	[ -n "${TIDE_TB_LOCKED:-}" ] && return 0
	local f=${TIDE_TB_LOCK:-/run/lock/tide-testbed.lock}
	mkdir -p "$(dirname "$f")"
	exec 9>"$f"
	if ! flock -n 9; then
		printf 'testbed: another run holds %s; waiting for it\n' "$f" >&2
		flock -w "${TIDE_TB_LOCK_WAIT_S:-3600}" 9 ||
			{ printf 'testbed: %s still held after %s s\n' "$f" "${TIDE_TB_LOCK_WAIT_S:-3600}" >&2; exit 1; }
	fi
	export TIDE_TB_LOCKED=1
}
tb_lock
