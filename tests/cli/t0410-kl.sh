#!/bin/sh
# t0410-kl: anser eval MODEL ppl FILE --kl-base BASE - KL(base || model),
# top-1 agreement and both perplexities over a text.  The golden micro
# model (f32 weights) converted to each type must stay under that type's
# bound against its own f32 conversion; the model against itself gives 0;
# the output, the JSON and -v; bases that do not fit are refused.
. "$(dirname "$0")/lib.sh"

# Each type's bounds on the golden micro model (1 layer, C64, V512, f32
# weights) over the text below: the mean KL(f32 || type) must be above 0
# and at most MAX_KL nats, and top-1 agreement at least MIN_TOP1.  The
# measured values, and the margins, are in anser-eval(1), "Quality
# accounting".  A new `convert --type` is one more line here.
bounds() {
	#    type  MAX_KL  MIN_TOP1
	echo "f16   1e-5    0.99"
	echo "bf16  5e-4    0.95"
	echo "q8_0  1e-3    0.95"
	echo "q4_0  0.2     0.6"
}

# A vocab that needs no outside data (every byte, plus a few words), as in
# t0400, and a second one that differs in one word.
python3 - "$T/vocab.txt" "$T/vocab2.txt" <<'PY'
import sys
for path, last in ((sys.argv[1], " and"), (sys.argv[2], " or")):
    words = ["the", " the", " cat", " sat", " on", " mat", "ing", last]
    with open(path, "w") as f:
        for b in range(256):
            f.write("%d b'\\x%02x' 1\n" % (b + 1, b))
        for i, w in enumerate(words):
            f.write("%d '%s' %d\n" % (257 + i, w, len(w.encode())))
PY
# About 2300 tokens: many chunks of 64, the last one short.
python3 - "$T/text.txt" <<'PY'
import random, sys
r = random.Random(1)
ws = ("the cat sat on a mat and then it ran off into the quiet town "
      "where people sing").split()
open(sys.argv[1], "w").write(" ".join(r.choice(ws) for _ in range(800)) + "\n")
PY
MICRO=$STATIC/golden/micro.pth
conv() { "$ANSER" convert -q --vocab "$T/vocab.txt" "$@"; }
conv -t f32 "$MICRO" -o "$T/f32.anser"
B=$T/f32.anser

# jv FILE KEY: a value of a results file, a number printed as a Python
# float (cJSON writes 0 for 0.0): results.ppl[KEY] for a metric, else the
# top-level path KEY.
cat >"$T/jv.py" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
k = sys.argv[2]
if "," in k or k == "kl_positions":
    v = j["results"]["ppl"][k]
else:
    v = j
    for p in k.split("."):
        v = v[p]
num = isinstance(v, (int, float)) and not isinstance(v, bool)
print(repr(float(v)) if num else v)
PY
JV="python3 $T/jv.py"
jv() { $JV "$@"; }

# --- the model against itself ----------------------------------------------
run eval -v --json "$T/self.json" --kl-base "$B" "$B" ppl "$T/text.txt"
cp "$T/out" "$T/self.out"
cp "$T/err" "$T/self.err"
check "f32 against itself: exit 0" sh -c '[ '"$RC"' -eq 0 ]'
check "f32 against itself: KL exactly 0 (mean, p99, max), top-1 agreement 1.0" \
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]["ppl"]
ok = r["kl_mean,none"] == 0.0 and r["kl_p99,none"] == 0.0 and r["kl_max,none"] == 0.0
ok = ok and r["top1_agree,none"] == 1.0
ok = ok and r["base_token_perplexity,none"] == r["token_perplexity,none"]
sys.exit(0 if ok else 1)' "$T/self.json"
check "the text block: a header naming the file, base and positions, then the numbers" \
	sh -c 'grep -q "^KL(base || model) on .*text.txt., [0-9]* positions, base .*f32.anser.:$" "$1" &&
	       grep -q "^  kl_mean                0 ± 0 nats$" "$1" &&
	       grep -q "^  kl_p99                 0 nats$" "$1" &&
	       grep -q "^  kl_max                 0 nats$" "$1" &&
	       grep -q "^  top1_agree             1.000000 ([0-9]* of [0-9]*)$" "$1" &&
	       grep -q "^  token_perplexity       [0-9.]*$" "$1" &&
	       grep -q "^  base_token_perplexity  [0-9.]*$" "$1"' _ "$T/self.out"
check "the harness table still comes first" \
	sh -c 'head -1 "$1" | grep -q "^|Tasks|Version|" && grep -q "^|ppl  |" "$1"' _ "$T/self.out"
check "positions: every token of the text, as n-samples and the text block count them" \
	python3 -c '
import json, re, sys
j = json.load(open(sys.argv[1]))
n = j["results"]["ppl"]["kl_positions"]
t = open(sys.argv[2]).read()
m = re.search(r"(\d+) positions", t)
a = re.search(r"top1_agree +1.000000 \((\d+) of (\d+)\)", t)
ok = n == j["n-samples"]["ppl"]["effective"] and n > 2000 and int(m.group(1)) == n
ok = ok and int(a.group(1)) == n and int(a.group(2)) == n
sys.exit(0 if ok else 1)' "$T/self.json" "$T/self.out"
check "-v: the usual timing line, then model, base and kl seconds" \
	sh -c 'grep -q "^anser: ppl: [0-9]* documents in [0-9.]* s (" "$1" &&
	       grep -q "^anser: ppl: model [0-9.]* s, base [0-9.]* s, kl [0-9.]* s$" "$1"' _ "$T/self.err"
check "the JSON: the base's file, sha256 and source; the new metrics' directions" \
	python3 -c '
import hashlib, json, sys
j = json.load(open(sys.argv[1]))
kb = j["kl_base"]
ok = kb["model_name"] == sys.argv[2]
ok = ok and kb["model_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
ok = ok and kb["model_source"] == "micro.pth" and len(kb["model_source_sha256"]) == 64
h = j["higher_is_better"]["ppl"]
ok = ok and h["top1_agree"] is True and h["kl_mean"] is False and h["kl_max"] is False
ok = ok and h["kl_p99"] is False and h["base_token_perplexity"] is False
r = j["results"]["ppl"]
ok = ok and r["kl_p99_stderr,none"] == "N/A" and r["kl_mean_stderr,none"] == 0.0
sys.exit(0 if ok else 1)' "$T/self.json" "$B"

# The model's perplexity is the one plain ppl gives (the same tokens; only
# the grouping of rows into matrix products differs).
run eval --json "$T/plain.json" "$B" ppl "$T/text.txt"
check "the model's perplexity with --kl-base is plain ppl's (1e-6)" \
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["results"]["ppl"]
b = json.load(open(sys.argv[2]))["results"]["ppl"]
ok = "kl_mean,none" not in b
for k in ("token_perplexity,none", "byte_perplexity,none", "bits_per_byte,none"):
    ok = ok and abs(a[k] / b[k] - 1) < 1e-6
sys.exit(0 if ok else 1)' "$T/self.json" "$T/plain.json"
run eval --json "$T/nokl.json" "$B" ppl "$T/text.txt"
check "without --kl-base the JSON has no kl_base and the output no KL block" \
	sh -c '! grep -q kl_ "$1" && ! grep -q "KL(" "$2"' _ "$T/nokl.json" "$T/out"

# --- each type against f32 ----------------------------------------------------
bounds >"$T/bounds"
exec 3<"$T/bounds"
while read -r type max_kl min_top1 <&3; do
	conv -t "$type" "$MICRO" -o "$T/$type.anser"
	run eval --json "$T/$type.json" --kl-base "$B" "$T/$type.anser" ppl "$T/text.txt"
	check "$type against f32: 0 < mean KL <= $max_kl nats, top-1 >= $min_top1" \
		python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]["ppl"]
kl, top1 = r["kl_mean,none"], r["top1_agree,none"]
print("# %s: kl_mean %.4g, kl_p99 %.4g, kl_max %.4g, top1 %.6f, ppl %.4f (base %.4f)" % (
    sys.argv[2], kl, r["kl_p99,none"], r["kl_max,none"], top1,
    r["token_perplexity,none"], r["base_token_perplexity,none"]))
ok = 0 < kl <= float(sys.argv[3]) and top1 >= float(sys.argv[4])
ok = ok and kl <= r["kl_p99,none"] <= r["kl_max,none"]
sys.exit(0 if ok else 1)' "$T/$type.json" "$type" "$max_kl" "$min_top1"
	jv "$T/$type.json" "kl_mean,none" >"$T/kl-$type"
done
exec 3<&-
check "ordering on random weights: KL of f32 (0) < f16 < bf16" \
	python3 -c '
import sys
f16, bf16 = (float(open(p).read()) for p in sys.argv[1:3])
sys.exit(0 if 0 < f16 < bf16 else 1)' "$T/kl-f16" "$T/kl-bf16"
check "the base's perplexity is that of the f32 model alone" \
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["results"]["ppl"]["base_token_perplexity,none"]
b = json.load(open(sys.argv[2]))["results"]["ppl"]["token_perplexity,none"]
sys.exit(0 if abs(a / b - 1) < 1e-6 else 1)' "$T/bf16.json" "$T/plain.json"
run eval --threads 1 --json "$T/t1.json" --kl-base "$B" "$T/f16.anser" ppl "$T/text.txt"
check "--threads 1 gives the same numbers as the default" \
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["results"]["ppl"]
b = json.load(open(sys.argv[2]))["results"]["ppl"]
ok = abs(a["kl_mean,none"] / b["kl_mean,none"] - 1) < 1e-3
ok = ok and abs(a["top1_agree,none"] - b["top1_agree,none"]) <= 2 / a["kl_positions"]
sys.exit(0 if ok else 1)' "$T/t1.json" "$T/f16.json"

# A type that holds the checkpoint's values exactly compares as 0: the
# golden small model is stored in f16.
"$ANSER" convert -q --vocab "$T/vocab.txt" -t f32 "$STATIC/golden/small.pth" -o "$T/small32.anser"
"$ANSER" convert -q --vocab "$T/vocab.txt" -t f16 "$STATIC/golden/small.pth" -o "$T/small16.anser"
run eval --json "$T/small.json" --kl-base "$T/small32.anser" "$T/small16.anser" ppl "$T/text.txt"
check "an f16 checkpoint in f16 against f32: KL exactly 0" \
	sh -c '[ "$($2 "$1" "kl_max,none")" = 0.0 ] && [ "$($2 "$1" "top1_agree,none")" = 1.0 ]' _ "$T/small.json" "$JV"

# Two texts: one block each, in order.
printf 'the cat sat on the mat\n' >"$T/short.txt"
run eval --kl-base "$B" "$T/f16.anser" ppl "$T/text.txt" ppl "$T/short.txt"
check "two ppl texts: a KL block for each, in order" \
	sh -c '[ '"$RC"' -eq 0 ] && [ $(grep -c "^KL(base || model)" "$1") -eq 2 ] &&
	       grep "^KL(base" "$1" | head -1 | grep -q "text.txt" &&
	       grep "^KL(base" "$1" | tail -1 | grep -q "short.txt"' _ "$T/out"
: >"$T/empty.txt"
run eval --json "$T/empty.json" --kl-base "$B" "$T/f16.anser" ppl "$T/empty.txt"
check "an empty text: 0 positions, no crash, null values in the JSON" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q ", 0 positions," "$1" &&
	       grep -q "\"kl_mean,none\":	null" "$2"' _ "$T/out" "$T/empty.json"
# The base as a checkpoint: converted for the run, as MODEL would be.
ANSER_VOCAB=$T/vocab.txt run eval --json "$T/pth.json" --kl-base "$MICRO" "$B" ppl "$T/text.txt"
check "--kl-base a .pth: converted for the run, then the same as its f32 file" \
	sh -c '[ '"$RC"' -eq 0 ] && [ "$($3 "$1" "kl_max,none")" = 0.0 ] &&
	       grep -q "converting .*micro.pth. for this run" "$2"' _ "$T/pth.json" "$T/err" "$JV"

# --- bases that do not fit ----------------------------------------------------
"$ANSER" convert -q --vocab "$T/vocab.txt" "$STATIC/golden/tiny.pth" -o "$T/tiny.anser"
refuse "another vocab size: exit 1, one line naming both sizes" \
	"base '.*tiny.anser' does not match '.*f16.anser': vocab size 1024, the model's 512" \
	eval --kl-base "$T/tiny.anser" "$T/f16.anser" ppl "$T/text.txt"
python3 "$ROOT/tools/mkpth.py" model "$T/deep.pth" --layers 2 --embd 64 --vocab 512 --dtype f32 >/dev/null
conv "$T/deep.pth" -o "$T/deep.anser"
refuse "the same vocab but another shape: exit 1, one line" \
	"does not match .*: layers 2, the model's 1" \
	eval --kl-base "$T/deep.anser" "$T/f16.anser" ppl "$T/text.txt"
"$ANSER" convert -q --no-vocab -t f32 "$MICRO" -o "$T/novocab.anser"
refuse "a base without the model's tokenizer: exit 1, one line" \
	"does not match .*: tokenizer none, the model's rwkv-world" \
	eval --kl-base "$T/novocab.anser" "$T/f16.anser" ppl "$T/text.txt"
"$ANSER" convert -q --vocab "$T/vocab2.txt" -t f32 "$MICRO" -o "$T/vocab2.anser"
refuse "a base with another vocab of the same size: exit 1, one line" \
	"does not match .*: another vocab (sha256 " \
	eval --kl-base "$T/vocab2.anser" "$T/f16.anser" ppl "$T/text.txt"
refuse "a base that does not exist: exit 1, one line" "nosuch.anser" \
	eval --kl-base "$T/nosuch.anser" "$T/f16.anser" ppl "$T/text.txt"

# --- usage ----------------------------------------------------------------------
mkdir -p "$T/data/lambada"
echo '{"text": "the cat sat"}' >"$T/data/lambada/lambada_test.jsonl"
for bad in "lambada_openai" "ppl $T/text.txt lambada_openai"; do
	# shellcheck disable=SC2086
	run eval --data-dir "$T/data" --kl-base "$B" "$B" $bad
	check "--kl-base with a task other than ppl ('$bad') is a usage error" \
		sh -c '[ '"$RC"' -eq 2 ] && grep -q "^anser eval: error: --kl-base applies to ppl only, not lambada_openai$" "$1" &&
		       grep -q "^usage: anser eval" "$1"' _ "$T/err"
done
run eval "$B" ppl "$T/text.txt" --kl-base
check "--kl-base without its value is a usage error" sh -c '[ '"$RC"' -eq 2 ]'
run eval -h
check "-h describes --kl-base" sh -c 'grep -q -- "--kl-base BASE " "$1" && grep -q "\[--kl-base base\]" "$1"' _ "$T/out"

# --- a model name as the base (the mock Hub serves micro as rwkv7-world-0.1b) --
. "$ROOT/tests/hub/mock.sh"
mock_start
export ANSER_HUB_WAIT_SCALE=0.01
run eval --json "$T/name.json" --kl-base rwkv7-world-0.1b rwkv7-world-0.1b ppl "$T/text.txt"
check "--kl-base NAME: fetched and converted like MODEL; against itself, 0" \
	sh -c '[ '"$RC"' -eq 0 ] && [ "$($2 "$1" "kl_max,none")" = 0.0 ] &&
	       [ "$($2 "$1" kl_base.model_name)" = rwkv7-world-0.1b ]' _ "$T/name.json" "$JV"
finish
