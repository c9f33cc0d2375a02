#!/bin/sh
# demo.sh - the main job: fetch a released RWKV-7 model from the Hugging Face
# Hub, run it, and score it on LAMBADA.  When the Hub cannot be reached, the
# same pipeline runs on a small random-weight checkpoint made here the way
# torch.save would make it (its text is gibberish, but every command works).
set -eu
ANSER=${1:-./anser}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dir=$ROOT/build/demo
mkdir -p "$dir"

step() { printf '\n== %s\n' "$*"; }

# Reachable?  One quick metadata request; no retries when the network is down.
if HF_HUB_ETAG_TIMEOUT=5 ANSER_HUB_WAIT_SCALE=0 "$ANSER" download -q --dry-run \
	rwkv7-world-0.1b >/dev/null 2>"$dir/hub.err"; then
	step "anser download rwkv7-world-0.1b   (checkpoint + World vocab, ~380 MB)"
	"$ANSER" download rwkv7-world-0.1b
	step "anser convert rwkv7-world-0.1b   (into the cache, beside the checkpoint)"
	native=$("$ANSER" convert rwkv7-world-0.1b | tee /dev/stderr |
		sed -n 's/^wrote \(.*\): rwkv7.*/\1/p')
	step "anser inspect"
	"$ANSER" inspect "$native"
	step "anser run -v rwkv7-world-0.1b 'The Eiffel Tower is in the city of'"
	"$ANSER" run -n 32 -v rwkv7-world-0.1b "The Eiffel Tower is in the city of"
	echo
	step "anser eval --limit 200 rwkv7-world-0.1b lambada_openai   (data from the Hub)"
	"$ANSER" eval --limit 200 -v rwkv7-world-0.1b lambada_openai
	printf '\nThe files are in the Hugging Face cache (anser download --dry-run\nrwkv7-world-0.1b shows where).\n'
	exit 0
fi
printf 'demo: the Hugging Face Hub cannot be reached (%s);\nusing a generated small model instead.\n' \
	"$(sed -n 's/^anser download: error: //p' "$dir/hub.err" | head -n 1)"

step "make a random-weight RWKV-7 checkpoint (4 layers, 256 wide, 65536 tokens, bf16)"
python3 "$ROOT/tools/mkpth.py" model "$dir/demo.pth" --layers 4 --embd 256 \
	--vocab 65536 --dtype bf16
ls -l "$dir/demo.pth"

# Embed the World vocab when one is at hand; the demo works without it.
data=${ANSER_DATA:-$ROOT/../shared/data}
vocab=${ANSER_VOCAB:-}
[ -z "$vocab" ] && [ -f "$data/rwkv_vocab_v20230424.txt" ] &&
	vocab=$data/rwkv_vocab_v20230424.txt
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

if [ -n "$vocab" ]; then
	step "anser run -n 24 -v demo.anser 'The goose'   (random weights: gibberish)"
	"$ANSER" run -n 24 --seed 1 -v "$dir/demo.anser" "The goose"
	echo
	step "anser run --score: log-probability of each token of a sentence"
	echo "The goose flies over the lake." | "$ANSER" run --score "$dir/demo.anser" -
	if [ -f "$data/lambada_test.jsonl" ]; then
		step "anser eval --limit 100 demo.anser lambada_openai"
		"$ANSER" eval --limit 100 -v --data-dir "$data" "$dir/demo.anser" lambada_openai
	else
		step "anser eval ppl: perplexity of a text file"
		printf 'The goose flies over the lake.\n' > "$dir/text.txt"
		"$ANSER" eval "$dir/demo.anser" ppl "$dir/text.txt"
	fi
else
	step "anser run --ids -n 8 -v demo.anser '1 2 3'   (no vocab: token ids)"
	"$ANSER" run --ids -n 8 --seed 1 -v "$dir/demo.anser" "1 2 3"
	step "anser run --ids --score demo.anser"
	echo "0 1 2 3" | "$ANSER" run --ids --score "$dir/demo.anser" -
fi

printf '\nThe demo files are in %s.\n' "$dir"
