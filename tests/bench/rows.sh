# Sourced by the b-*.sh benches: bench_row WHAT FIGURE GOAL MET adds one
# row to the results table that run.sh writes (build/bench/results.md).
# Without BENCH_ROWS (a bench run alone) rows are only printed.
bench_row() {
	printf 'row: %s | %s | %s | %s\n' "$1" "$2" "$3" "$4" >&2
	[ -n "${BENCH_ROWS:-}" ] && printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_ROWS"
	return 0
}
