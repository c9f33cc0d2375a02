#!/bin/sh
# bench-rwkvcpp.sh - anser against rwkv.cpp on the same random-weight RWKV-7
# checkpoints, run one after the other in this script: decode and prefill
# tokens/s per weight type, and their ratio anser / rwkv.cpp.
#
#   RWKV_CPP=/path/to/rwkv.cpp sh tools/bench-rwkvcpp.sh [ANSER [BUILD [SHAPE...]]]
#
# RWKV_CPP is a checkout of rwkv.cpp (with its ggml submodule) built with
# its own CMake defaults in RWKV_CPP/build; README.md says how.  Its half
# needs Python with PyTorch for rwkv.cpp's converter (python3, else
# /usr/bin/python3, else $RWKV_CPP_PYTHON).  SHAPE is 0.1b (L12 C768) or
# 1.5b (L24 C2048), V 65536 both.
#
# Per shape, one .pth (bf16, from tools/mkpth.py) feeds both tools: rwkv.cpp's
# python/convert_pytorch_to_ggml.py makes its FP32 and FP16 files and its
# rwkv_quantize makes Q8_0, Q4_0 and Q5_1 from the FP16 file (as its README
# does: emb and head stay FP16, like its LoRAs); 'anser convert --type' makes
# ours, and a type it refuses is skipped with a note.  The checkpoint has no
# blocks.0.att.v0/v1/v2: rwkv.cpp cannot load a file that carries them.
#
# Timing: tools/rwkvcpp-bench.c (compiled here against RWKV_CPP's rwkv.h and
# librwkv) and 'bench_infer --model' run the same protocol: prompt ids, a
# warm-up prefill and 8 tokens not timed, then the best of BENCH_REPS
# (default 3) prefills of 512 tokens from a fresh state (one
# rwkv_eval_sequence call, one anser_eval call) and the best of BENCH_REPS
# blocks of 64 single tokens with their logits.  BENCH_THREADS (default 2).
# anser runs twice: with the model mapped (the default) and read into
# memory (--no-mmap).  Each run measures its bandwidth bound in the same
# process, between its blocks of tokens.
# Files are kept in build/bench/sbs/ and remade only when missing.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANSER=${1:-$ROOT/anser}
BUILD=${2:-$ROOT/build}
[ $# -ge 2 ] && shift 2
SHAPES=${*:-0.1b 1.5b}
THREADS=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-3}
TYPES=${RWKV_CPP_TYPES:-f32 f16 q8_0 q4_0 q5_1}
me=bench-rwkvcpp

die() { echo "$me: error: $*" >&2; exit 1; }

if [ -z "${RWKV_CPP:-}" ]; then
	echo "$me: set RWKV_CPP to a built rwkv.cpp tree (README.md, 'make bench-rwkvcpp')" >&2
	exit 2
fi
RC=$(cd "$RWKV_CPP" && pwd) || die "cannot enter RWKV_CPP '$RWKV_CPP'"
[ -f "$RC/rwkv.h" ] || die "no rwkv.h in '$RC'"
lib=
for d in "$RC/build" "$RC/build/bin" "$RC"; do
	[ -f "$d/librwkv.so" ] && { lib=$d; break; }
done
[ -n "$lib" ] || die "no librwkv.so under '$RC/build': build rwkv.cpp first (README.md)"
quantize=
for q in "$RC/build/bin/rwkv_quantize" "$RC/build/extras/rwkv_quantize"; do
	[ -x "$q" ] && { quantize=$q; break; }
done
convert=$RC/python/convert_pytorch_to_ggml.py
[ -f "$convert" ] || die "no '$convert'"
py=
for p in ${RWKV_CPP_PYTHON:-} python3 /usr/bin/python3; do
	if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || die "rwkv.cpp's converter needs PyTorch: apt-get install python3-torch (or set RWKV_CPP_PYTHON)"
infer=$BUILD/bench/bench_infer
[ -x "$infer" ] || die "no '$infer': run 'make $infer' first"

# newer A B: file A was modified after file B.
newer() { [ -n "$(find "$1" -prune -newer "$2")" ]; }

# Our driver for rwkv.cpp, rebuilt when its source or the library changes.
driver=$BUILD/bench/rwkvcpp-bench
if [ ! -x "$driver" ] || newer "$ROOT/tools/rwkvcpp-bench.c" "$driver" ||
   newer "$lib/librwkv.so" "$driver"; then
	mkdir -p "$BUILD/bench"
	${CC:-cc} -O2 -std=c11 -Wall -Wextra -I"$RC" -o "$driver" \
		"$ROOT/tools/rwkvcpp-bench.c" -L"$lib" -lrwkv -lm \
		-Wl,-rpath,"$lib" || die "cannot build $driver"
fi

dir=$ROOT/build/bench/sbs
mkdir -p "$dir"
log=$dir/convert.log

# fresh OUT IN: OUT exists and is not older than IN.
fresh() { [ -s "$1" ] && ! newer "$2" "$1"; }

rcname() {
	case $1 in
	f32) echo FP32 ;;
	f16) echo FP16 ;;
	*) echo "$1" | tr '[:lower:]' '[:upper:]' ;;
	esac
}

# value KEY: the KEY=value line of $out.
value() { printf '%s\n' "$out" | sed -n "s/^$1=//p" | head -n 1; }

ratio() {
	if [ -n "$1" ] && [ -n "$2" ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
	else
		echo -
	fi
}

# pct X: 0.873 as 87%.
pct() {
	if [ -n "$1" ]; then awk -v x="$1" 'BEGIN { printf "%.0f%%", 100 * x }'; else echo -; fi
}

mb() {
	if [ -f "$1" ]; then
		awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.0f", b / 1048576 }'
	else
		echo -
	fi
}

printf '== anser against rwkv.cpp (%s, %s threads, best of %s)\n' "$RC" "$THREADS" "$REPS"
printf 'load average before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
bw=$("$infer" --bandwidth "$THREADS" | sed -n 's/^read_gb_s=//p')
printf 'memory read bandwidth, %s threads: %s GB/s at the start (each anser run measures its own)\n' "$THREADS" "${bw:-?}"
if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
	printf 'note: the machine is busy; figures will be low, rwkv.cpp'"'"'s (OpenMP threads spin) most\n'
fi
for shape in $SHAPES; do
	case $shape in
	0.1b) geo="--layers 12 --embd 768 --lora-decay 64 --lora-iclr 64 --lora-value 32 --lora-gate 128" ;;
	1.5b) geo="--layers 24 --embd 2048 --lora-decay 96 --lora-iclr 96 --lora-value 64 --lora-gate 256" ;;
	*) die "unknown shape '$shape' (0.1b or 1.5b)" ;;
	esac
	pth=$dir/rwkv7-$shape.pth
	if [ ! -s "$pth" ]; then
		echo "$me: writing $pth (once)" >&2
		# Python's zipfile writes zip64 records past 2 GiB, which the
		# zip reader of PyTorch 1.13 (Debian 12) refuses; torch itself
		# writes them only past 4 GiB, so mkpth.py runs with that limit.
		# shellcheck disable=SC2086
		python3 -c 'import runpy, sys, zipfile
zipfile.ZIP64_LIMIT = (1 << 32) - 1
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' \
			"$ROOT/tools/mkpth.py" model "$pth" $geo --vocab 65536 \
			--dtype bf16 --no-layer0-v
	fi

	# Convert for both tools; note what cannot be made.
	notes=
	for t in $TYPES; do
		R=$(rcname "$t")
		rf=$dir/rwkv7-$shape-$R.bin
		case $t in
		f32|f16)
			if ! fresh "$rf" "$pth"; then
				echo "$me: rwkv.cpp: converting to $R" >&2
				"$py" "$convert" "$pth" "$rf" "$R" >"$log" 2>&1 ||
					{ rm -f "$rf"; notes="$notes
  rwkv.cpp $R: conversion failed: $(tail -n 1 "$log")"; }
			fi ;;
		*)
			f16=$dir/rwkv7-$shape-FP16.bin
			if [ -z "$quantize" ]; then
				notes="$notes
  rwkv.cpp $R: no rwkv_quantize under '$RC/build'"
			elif ! fresh "$rf" "$f16"; then
				echo "$me: rwkv.cpp: quantizing to $R" >&2
				"$quantize" "$f16" "$rf" "$R" >"$log" 2>&1 ||
					{ rm -f "$rf"; notes="$notes
  rwkv.cpp $R: rwkv_quantize failed: $(tail -n 1 "$log")"; }
			fi ;;
		esac
		af=$dir/rwkv7-$shape-$t.anser
		if ! fresh "$af" "$pth" || ! fresh "$af" "$ANSER"; then
			echo "$me: anser: converting to $t" >&2
			if ! "$ANSER" convert -q --no-vocab -t "$t" "$pth" -o "$af" 2>"$log"; then
				rm -f "$af"
				notes="$notes
  anser $t: skipped, anser convert refused it: $(head -n 1 "$log")"
			fi
		fi
	done

	printf '\n%s shape (V 65536), tok/s; prefill: one 512-token prompt; decode: single tokens\n' "$shape"
	printf '%-5s %8s %8s %8s %6s %6s %5s %5s  %8s %8s %6s  %7s %7s  %s\n' type \
		anser no-mmap rwkv.cpp ratio ratio bound bound anser rwkv.cpp ratio \
		anserMB rcppMB top
	printf '%-5s %8s %8s %8s %6s %6s %5s %5s  %8s %8s %6s\n' "" decode \
		decode decode "" no-mmap "" no-mmap prefill prefill ""
	for t in $TYPES; do
		R=$(rcname "$t")
		rf=$dir/rwkv7-$shape-$R.bin
		af=$dir/rwkv7-$shape-$t.anser
		ad='' ap='' at='' rd='' rp='' rt='' bs='' ld='' ls=''
		if [ -f "$af" ]; then
			if out=$("$infer" --model "$af" --threads "$THREADS" --reps "$REPS" 2>"$log"); then
				ad=$(value decode_tok_s) ap=$(value prefill_tok_s)
				at=$(value prompt_argmax) bs=$(value bw_share)
			else
				notes="$notes
  anser $t: run failed: $(tail -n 1 "$log")"
			fi
			# The same with the file read into memory (2 MB pages).
			if out=$("$infer" --model "$af" --no-mmap --threads "$THREADS" \
			    --reps "$REPS" --prompt 16 2>"$log"); then
				ld=$(value decode_tok_s) ls=$(value bw_share)
			fi
		fi
		if [ -f "$rf" ]; then
			if out=$("$driver" --model "$rf" --threads "$THREADS" --reps "$REPS" 2>"$log"); then
				rd=$(value decode_tok_s) rp=$(value prefill_tok_s)
				rt=$(value prompt_argmax)
				sysinfo=$(value system_info)
			else
				notes="$notes
  rwkv.cpp $R: run failed: $(tail -n 1 "$log")"
			fi
		fi
		top=-
		if [ -n "$at" ] && [ -n "$rt" ]; then
			if [ "$at" = "$rt" ]; then top=same; else top="$at/$rt"; fi
		fi
		printf '%-5s %8s %8s %8s %6s %6s %5s %5s  %8s %8s %6s  %7s %7s  %s\n' \
			"$t" "${ad:--}" "${ld:--}" "${rd:--}" "$(ratio "$ad" "$rd")" \
			"$(ratio "$ld" "$rd")" "$(pct "$bs")" "$(pct "$ls")" \
			"${ap:--}" "${rp:--}" "$(ratio "$ap" "$rp")" \
			"$(mb "$af")" "$(mb "$rf")" "$top"
	done
	if [ -n "$notes" ]; then printf 'notes:%s\n' "$notes"; fi
done
printf '\nrwkv.cpp: %s\n' "${sysinfo:-?}"
printf 'no-mmap: anser with the model read into memory in 2 MB pages (anser run --no-mmap).\n'
printf 'ratio: anser / rwkv.cpp.  bound: anser'"'"'s decode as a share of the bandwidth bound, the\n'
printf 'bytes decode reads per token (every matrix but the embedding) at the read rate measured in\n'
printf 'the same process between its blocks of tokens (a 1 GiB buffer in 2 MB pages).\n'
printf 'top: whether both tools pick the same next token after the prompt (a check that they run\n'
printf 'the same model).\n'
printf 'load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
