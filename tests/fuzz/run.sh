#!/bin/sh
# run.sh - runs the libFuzzer targets built by 'make fuzz-build', each for
# $FUZZ_SECONDS, and prints one summary per target: executions, coverage
# (libFuzzer's cov: edges), corpus size.  The committed seeds in
# tests/fuzz/corpus/<name>/ are only read; new inputs go to
# build/fuzz/corpus/<name>/, crashes to build/fuzz/crashes/<name>/.
# Exits 1 if any target found something (its log's end is shown).
#
#   FUZZ_SECONDS=N sh tests/fuzz/run.sh NAME...
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
out=build/fuzz
failed=0 passed=0
for t in "$@"; do
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	echo "fuzz: $t for $secs s"
	if ! "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=200000 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t/" \
		"$out/corpus/$t" "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
		failed=$((failed + 1))
		echo "fuzz: $t FAILED; input in $out/crashes/$t/, log $out/$t.log"
		tail -n 40 "$out/$t.log" | sed 's/^/  /'
		continue
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$out/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n 1)
	echo "  ${execs:-?} runs, ${cov:-cov: ?} edges, peak ${rss:-?} MB," \
		"corpus $(ls "$out/corpus/$t" | wc -l) new +" \
		"$(ls "tests/fuzz/corpus/$t" | wc -l) seeds"
	passed=$((passed + 1))
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
