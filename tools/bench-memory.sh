#!/bin/sh
# bench-memory.sh - resident memory of the big shapes: a 2.9B-shape model in
# q8_0 and a 13.3B-shape one (L61, C4096) in q4_0, random weights written
# once to BUILD/bench/ (about 3 and 7.5 GB), each opened, fed a 16-token
# prompt and 16 single tokens at 2 threads.  Peak RSS is the child's
# ru_maxrss: every weight page it touched (all matrices are read each token,
# the embedding only a row per token) plus state and scratch.
#
#   sh tools/bench-memory.sh [BUILD]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
infer=$BUILD/bench/bench_infer
[ -x "$infer" ] || { echo "bench-memory: error: no '$infer': run 'make $infer'" >&2; exit 1; }
dir=$BUILD/bench

printf '== resident memory (random weights; prompt 16 tokens, then 16 single tokens, 2 threads)\n'
printf '%-6s %-5s %9s %12s %10s %10s %9s\n' shape type "file GB" "peak RSS GB" goal \
	"decode" "prefill"
for job in "2.9b q8_0 4" "13.3b q4_0 12"; do
	set -- $job
	f=$dir/rwkv7-$1-$2.anser
	if ! out=$("$infer" --model "$f" --make "$1" "$2" --threads 2 \
		--reps 1 --prompt 16 --decode 16 2>"$dir/memory.log"); then
		printf '%-6s %-5s failed: %s\n' "$1" "$2" "$(tail -n 1 "$dir/memory.log")"
		continue
	fi
	v() { printf '%s\n' "$out" | sed -n "s/^$1=//p"; }
	printf '%-6s %-5s %9.2f %12.2f %7s GB %6s t/s %5s t/s\n' "$1" "$2" \
		"$(awk -v b="$(stat -c %s "$f")" 'BEGIN { print b / 1e9 }')" \
		"$(awk -v m="$(v peak_rss_mb)" 'BEGIN { print m * 1048576 / 1e9 }')" \
		"< $3" "$(v decode_tok_s)" "$(v prefill_tok_s)"
done
