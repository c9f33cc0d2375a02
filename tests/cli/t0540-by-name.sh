#!/bin/sh
# t0540-by-name: the rest of the pipeline on the mock Hub: run and eval take
# a model name (fetched and converted once into the hub cache), and eval
# fetches its benchmark files from their Hugging Face datasets when no data
# folder is given; a second run works offline from the cache.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/hub/mock.sh"
mock_start
export ANSER_HUB_WAIT_SCALE=0.01
unset ANSER_DATA
H=$(cache)

run run --score rwkv7-world-0.1b "$T/none.txt"
check "run NAME: fetched and converted, then the file is opened as usual" \
	sh -c 'grep -q "cannot open .*none.txt" "$1" && ls "$2"/models--BlinkDL--rwkv-7-world/anser/*.anser >/dev/null' _ "$T/err" "$H"
printf 'the cat sat' > "$T/text.txt"
run run --score rwkv7-world-0.1b "$T/text.txt"
check "run --score NAME scores text with the model's vocab" \
	sh -c '[ '"$RC"' -eq 0 ] && [ $(wc -l < "$1") -eq 5 ] && grep -q "	 cat$" "$1" &&
	       grep -q "	 sat$" "$1"' _ "$T/out"
log_clear
run eval rwkv7-world-0.1b lambada_openai xstorycloze_ru
check "eval NAME TASKS without a data folder: the data comes from the datasets" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "^|lambada_openai|" "$1" && grep -q "^|xstorycloze_ru|" "$1"' _ "$T/out"
check "...from EleutherAI/lambada_openai and juletxara/xstory_cloze" \
	sh -c 'grep -q "path=/datasets/EleutherAI/lambada_openai/resolve/main/data/lambada_test_en.jsonl" "$1" &&
	       grep -q "path=/datasets/juletxara/xstory_cloze/resolve/main/spring2016.val.ru.tsv.split_20_80_eval.tsv" "$1"' _ "$T/mock.log"
check "...into the hub cache" \
	sh -c '[ -f "$1/datasets--EleutherAI--lambada_openai/snapshots/$2/data/lambada_test_en.jsonl" ]' _ "$H" "$C_LAMBADA"
cp "$T/out" "$T/first"
log_clear
HF_HUB_OFFLINE=1 run eval rwkv7-world-0.1b lambada_openai xstorycloze_ru
check "offline with a warm cache: the same table, no request" \
	sh -c '[ '"$RC"' -eq 0 ] && cmp -s "$1" "$2" && [ ! -s "$3" ]' _ "$T/out" "$T/first" "$T/mock.log"
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/cold refuse "offline with a cold cache: one line naming the task" \
	"no data for lambada_openai" eval "$T/none.anser" lambada_openai
refuse "a dataset file missing on the Hub: one line" "no data for lambada_openai_mt_de" \
	eval rwkv7-world-0.1b lambada_openai_mt_de
finish
