#!/bin/sh
# demo.sh - the main job, as far as anser does it today: make a small
# random-weight RWKV-7 checkpoint the way torch.save would, convert it to an
# anser model file, look inside, generate and score text.  (Its weights are
# random, so the text is gibberish; eval and download join the demo when
# their issues land.)
set -eu
ANSER=${1:-./anser}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dir=$ROOT/build/demo
mkdir -p "$dir"

step() { printf '\n== %s\n' "$*"; }

step "make a random-weight RWKV-7 checkpoint (4 layers, 256 wide, 65536 tokens, bf16)"
python3 "$ROOT/tools/mkpth.py" model "$dir/demo.pth" --layers 4 --embd 256 \
	--vocab 65536 --dtype bf16
ls -l "$dir/demo.pth"

# Embed the World vocab when one is at hand; the demo works without it.
vocab=${ANSER_VOCAB:-}
[ -z "$vocab" ] && [ -f "$ROOT/../shared/data/rwkv_vocab_v20230424.txt" ] &&
	vocab=$ROOT/../shared/data/rwkv_vocab_v20230424.txt
if [ -n "$vocab" ]; then
	step "anser convert demo.pth --vocab $(basename "$vocab")"
	"$ANSER" convert "$dir/demo.pth" --vocab "$vocab"
else
	step "anser convert demo.pth --no-vocab   (no World vocab here)"
	"$ANSER" convert "$dir/demo.pth" --no-vocab
fi

step "anser inspect demo.pth"
"$ANSER" inspect "$dir/demo.pth"

step "anser inspect --verify demo.anser"
"$ANSER" inspect --verify "$dir/demo.anser"

step "anser inspect --tensors demo.anser   (first lines)"
"$ANSER" inspect --tensors "$dir/demo.anser" | sed -n '/^name/,$p' | head -n 8

step "anser inspect --json demo.anser   (first lines)"
"$ANSER" inspect --json "$dir/demo.anser" | head -n 12

if [ -n "$vocab" ]; then
	step "anser run -n 24 -v demo.anser 'The goose'   (random weights: gibberish)"
	"$ANSER" run -n 24 --seed 1 -v "$dir/demo.anser" "The goose"
	echo
	step "anser run --score: log-probability of each token of a sentence"
	echo "The goose flies over the lake." | "$ANSER" run --score "$dir/demo.anser" -
else
	step "anser run --ids -n 8 -v demo.anser '1 2 3'   (no vocab: token ids)"
	"$ANSER" run --ids -n 8 --seed 1 -v "$dir/demo.anser" "1 2 3"
	step "anser run --ids --score demo.anser"
	echo "0 1 2 3" | "$ANSER" run --ids --score "$dir/demo.anser" -
fi

printf '\nThe demo files are in %s.\n' "$dir"
