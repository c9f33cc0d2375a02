#!/bin/sh
# bench.sh - figures for 'make bench': conversion and inspection of a
# 0.1B-shape RWKV-7 checkpoint (L12, C768, V65536, 191M parameters, bf16, the
# shape of RWKV-x070-World-0.1B) with random weights, against plain file
# copies and hashing of the same bytes run in the same script as baselines.
set -eu
ANSER=${1:-./anser}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${2:-$ROOT/build}
[ $# -ge 2 ] && shift 2
SHAPES=${*:-0.1b 1.5b}
dir=$ROOT/build/bench
mkdir -p "$dir"
pth=$dir/rwkv7-0.1b-shape.pth
if [ ! -f "$pth" ]; then
	echo "bench: writing $pth (once)" >&2
	python3 "$ROOT/tools/mkpth.py" model "$pth" --layers 12 --embd 768 \
		--vocab 65536 --lora-decay 64 --lora-iclr 64 --lora-value 32 \
		--lora-gate 128 --dtype bf16
fi

# measure LABEL CMD...: wall seconds and peak RSS of CMD (best of 3).
measure() {
	label=$1; shift
	python3 - "$label" "$@" <<'PY'
import os, resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
best = None
for _ in range(3):
    t = time.time()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execvp(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    dt = time.time() - t
    if status:
        sys.exit("bench: %s failed" % label)
    if best is None or dt < best[0]:
        best = (dt, ru.ru_maxrss / 1024)
print("%-40s %8.3f s %8.0f MB" % (label, best[0], best[1]))
PY
}

size=$(stat -c %s "$pth")
printf '%s: %d bytes\n\n' "$(basename "$pth")" "$size"
printf '%-40s %10s %11s\n' "what" "time" "peak RSS"
# Baselines: the bytes read and written, without anser's work.
measure "baseline: cp (read + write)" cp "$pth" "$dir/copy.bin"
measure "baseline: sha256sum (coreutils)" sha256sum "$pth"
rm -f "$dir/copy.bin"
measure "anser convert (bf16 -> bf16)" "$ANSER" convert -q --no-vocab "$pth" -o "$dir/bf16.anser"
measure "anser convert --type f16" "$ANSER" convert -q --no-vocab -t f16 "$pth" -o "$dir/f16.anser"
measure "anser convert --type f32" "$ANSER" convert -q --no-vocab -t f32 "$pth" -o "$dir/f32.anser"
measure "anser inspect model.pth" "$ANSER" inspect "$pth"
measure "anser inspect model.anser" "$ANSER" inspect "$dir/bf16.anser"
measure "anser inspect --verify model.anser" "$ANSER" inspect --verify "$dir/bf16.anser"
measure "anser inspect --verify model.pth" "$ANSER" inspect --verify "$pth"
rm -f "$dir"/bf16.anser "$dir"/f16.anser "$dir"/f32.anser

# Tokenizer: the World vocab over every LAMBADA text, when the data is here.
data=${ANSER_DATA:-$ROOT/../shared/data}
if [ -x "$BUILD/bench/bench_tokenizer" ] && [ -f "$data/rwkv_vocab_v20230424.txt" ] &&
   [ -f "$data/lambada_test.jsonl" ]; then
	printf '\n== tokenizer\n'
	python3 -c 'import json,sys; sys.stdout.write("\n".join(json.loads(l)["text"] for l in open(sys.argv[1])))' \
		"$data/lambada_test.jsonl" > "$dir/lambada.txt"
	"$BUILD/bench/bench_tokenizer" "$data/rwkv_vocab_v20230424.txt" "$dir/lambada.txt"
else
	printf '\n== tokenizer: skipped (needs the World vocab and lambada_test.jsonl in $ANSER_DATA)\n'
fi

# LAMBADA scoring as anser eval does it, against the naive way (one token at
# a time, full logits), on the 0.1B-shape model written by bench_infer.
if [ -x "$BUILD/bench/bench_eval" ] && [ -f "$data/rwkv_vocab_v20230424.txt" ] &&
   [ -f "$data/lambada_test.jsonl" ]; then
	[ -f "$dir/rwkv7-0.1b-bf16.anser" ] || "$BUILD/bench/bench_infer" "$dir" 0.1b >/dev/null
	printf '\n== LAMBADA (500 documents) on the 0.1B shape, bf16, all cores\n'
	"$BUILD/bench/bench_eval" "$dir/rwkv7-0.1b-bf16.anser" \
		"$data/rwkv_vocab_v20230424.txt" "$data/lambada_test.jsonl" 500 40
else
	printf '\n== LAMBADA: skipped (needs the World vocab and lambada_test.jsonl in $ANSER_DATA)\n'
fi

# Inference: random-weight models of the released shapes, written once.
printf '\n== inference (prefill: 512-token prompt; decode: one token at a time)\n'
"$BUILD/bench/bench_infer" "$dir" $SHAPES

# Side by side with rwkv.cpp on the same checkpoints, when a built tree is
# named (README.md, "Make targets").
if [ -n "${RWKV_CPP:-}" ]; then
	printf '\n'
	sh "$ROOT/tools/bench-rwkvcpp.sh" "$ANSER" "$BUILD" $SHAPES ||
		printf 'bench: the rwkv.cpp side-by-side failed\n'
else
	printf '\n== rwkv.cpp side by side: skipped (set RWKV_CPP to a built rwkv.cpp tree; see README.md)\n'
fi
