#!/bin/sh
# run.sh - 'make valgrind': convert, inspect and run on the golden models
# under valgrind (memcheck: invalid reads and writes, uses of uninitialised
# values, leaks).  Prints TAP; exits 1 when valgrind reported anything.
# Skips, saying so, when valgrind is not installed.
#
#   ANSER_BIN=./anser sh tests/valgrind/run.sh
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ANSER=${ANSER_BIN:-$ROOT/anser}
G=$ROOT/tests/fixtures/golden
if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind is not installed (run: sudo apt-get install -y valgrind)"
	exit 0
fi
T=$(mktemp -d /tmp/anser-valgrind-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset ANSER_VOCAB
n=0 failed=0

# vg WHAT ARGS: anser ARGS under valgrind must exit $WANT (default 0) with
# no report.
vg() {
	what=$1; shift
	n=$((n + 1))
	valgrind -q --error-exitcode=99 --leak-check=full --track-origins=yes \
		--log-file="$T/vg.log" "$ANSER" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -eq "${WANT:-0}" ] && [ ! -s "$T/vg.log" ]; then
		echo "ok $n - $what"
	else
		failed=$((failed + 1))
		echo "not ok $n - $what (exit $rc)"
		sed 's/^/#   /' "$T/err" "$T/vg.log" | head -n 60
	fi
}

# A vocab of every byte plus a few words, so that run has a tokenizer.
python3 - "$T/vocab.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write("%d b'\\x%02x' 1\n" % (b + 1, b))
    for i, w in enumerate(["the", " the", " cat", " sat"]):
        f.write("%d '%s' %d\n" % (257 + i, w, len(w)))
PY
printf 'the cat sat on the mat\n' >"$T/text.txt"

vg "convert micro.pth (f32, with a vocab)" convert -q --vocab "$T/vocab.txt" \
	-o "$T/micro.anser" "$G/micro.pth"
vg "convert tiny.pth to f16" convert -q -t f16 --vocab "$T/vocab.txt" \
	-o "$T/tiny.anser" "$G/tiny.pth"
vg "convert small.pth to bf16 (no vocab)" convert -q -t bf16 --no-vocab \
	-o "$T/small.anser" "$G/small.pth"
vg "inspect --verify --tensors micro.anser" inspect --verify --tensors \
	"$T/micro.anser"
vg "inspect --json small.pth" inspect --json "$G/small.pth"
vg "inspect --json tiny.anser" inspect --json "$T/tiny.anser"
vg "run: 8 tokens from micro.anser" run -n 8 --seed 1 --threads 2 \
	"$T/micro.anser" "the cat"
vg "run: 8 greedy tokens from tiny.anser, saving the state" run -n 8 \
	--temperature 0 --state-out "$T/tiny.state" "$T/tiny.anser" "the cat"
vg "run: from the saved state" run -n 4 --seed 2 --state-in "$T/tiny.state" \
	"$T/tiny.anser" " sat"
vg "run --ids on small.anser" run --ids -n 4 --temperature 0 \
	"$T/small.anser" "1 2 3"
vg "run --score on tiny.anser" run --score "$T/tiny.anser" "$T/text.txt"
vg "run --ids on micro.pth (converted for the run)" run --ids -n 4 --seed 1 \
	"$G/micro.pth" "1 2"
head -c 1000 "$T/tiny.anser" >"$T/cut.anser"
WANT=1 vg "a truncated model is refused cleanly" run "$T/cut.anser" "x"
WANT=1 vg "a file of another kind is refused cleanly" inspect "$T/text.txt"

echo "1..$n"
echo "valgrind: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
