#!/bin/sh
# t0300-run: anser run - scoring against the golden reference, generation
# (seeds, greedy, stop strings, state save/load), prompt sources, chat, and
# bad input.
. "$(dirname "$0")/lib.sh"

"$ANSER" convert -q --no-vocab "$STATIC/golden/micro.pth" -o "$T/micro.anser"
"$ANSER" convert -q --no-vocab "$STATIC/golden/tiny.pth" -o "$T/tiny.anser"
M=$STATIC/golden/manifest.json

# ids MODEL [first] [last]: the golden token ids, space-separated.
ids() {
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))[sys.argv[2]]["tokens"]; print(" ".join(map(str, t[int(sys.argv[3]):int(sys.argv[4])])))' \
		"$M" "$1" "${2:-0}" "${3:-999}"
}

# --- scoring -------------------------------------------------------------
# The golden logits give log p(tokens[i+1] | tokens[..i]); --score feeds
# token 0 first, as the golden tokens do, so score tokens[1:].
cat > "$T/checkscore.py" <<'PY'
import json, math, struct, sys
out, manifest, model, logits = sys.argv[1:5]
m = json.load(open(manifest))[model]
V, toks = m["vocab_size"], m["tokens"]
raw = open(logits, "rb").read()
rows = [struct.unpack_from("<%df" % V, raw, 4 * V * i) for i in range(len(toks))]
lines = [l.split("\t") for l in open(out).read().splitlines()]
assert len(lines) == len(toks) - 1, "%d lines for %d tokens" % (len(lines), len(toks) - 1)
worst = 0
for i, f in enumerate(lines):
    row = rows[i]
    mx = max(row)
    want = row[toks[i + 1]] - mx - math.log(sum(math.exp(x - mx) for x in row))
    assert int(f[0]) == toks[i + 1], "token %d" % i
    worst = max(worst, abs(float(f[1]) - want))
print("max diff %.2g" % worst, file=sys.stderr)
sys.exit(0 if worst < 1e-4 else 1)
PY
for model in micro tiny; do
	ids "$model" 1 > "$T/in.ids"
	run run --ids --score "$T/$model.anser" "$T/in.ids"
	check "--score on $model matches log-softmax of the golden logits (1e-4)" \
		python3 "$T/checkscore.py" "$T/out" "$M" "$model" "$STATIC/golden/$model.logits.f32"
	cp "$T/out" "$T/score-$model"
done
check "--score ends with a summary on stderr" \
	grep -q '^anser run: 47 tokens, log-probability -[0-9.]*, perplexity [0-9.]*$' "$T/err"
ids micro 1 | "$ANSER" run --ids --score "$T/micro.anser" - >"$T/out2" 2>/dev/null
check "--score reads standard input as '-'" cmp -s "$T/score-micro" "$T/out2"
ids tiny 1 > "$T/in.ids"
run run --no-mmap --ids --score "$T/tiny.anser" "$T/in.ids"
check "--no-mmap: the same scores as the mapped model" \
	sh -c '[ -s "$1" ] && cmp -s "$1" "$2"' _ "$T/score-tiny" "$T/out"
run run --no-mmap --ids -n 5 --temperature 0 "$T/tiny.anser" "1 2 3"
cp "$T/out" "$T/gen-loaded"
run run --ids -n 5 --temperature 0 "$T/tiny.anser" "1 2 3"
check "--no-mmap: the same greedy tokens" \
	sh -c '[ -s "$1" ] && cmp -s "$1" "$2"' _ "$T/gen-loaded" "$T/out"

if [ -f "$GOLDEN/world.pth" ] && [ -f "$DATA/rwkv_vocab_v20230424.txt" ]; then
	"$ANSER" convert -q --vocab "$DATA/rwkv_vocab_v20230424.txt" "$GOLDEN/world.pth" -o "$T/world.anser"
	python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["world"]["text"])' \
		"$GOLDEN/manifest.json" > "$T/world.txt"
	run run --score "$T/world.anser" "$T/world.txt"
	check "world: --score gives the golden tokens and log-probabilities (1e-4)" \
		python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["world"]
lines = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()]
ok = [int(f[0]) for f in lines] == w["tokens"][1:]
ok = ok and all(abs(float(f[1]) - g) < 1e-4 for f, g in zip(lines, w["token_logprobs"]))
ok = ok and lines[0][2] == "The" and lines[1][2] == " quick"
sys.exit(0 if ok else 1)' "$GOLDEN/manifest.json" "$T/out"
	printf 'x\ty\n\377\n' > "$T/odd.txt"
	run run --score "$T/world.anser" "$T/odd.txt"
	check "--score escapes tabs, newlines and invalid UTF-8 in the token column" \
		sh -c '[ '"$RC"' -eq 0 ] && grep -q "\\\\t" "$1" && grep -q "\\\\n" "$1" && grep -q "\\\\xff" "$1"' _ "$T/out"
	printf '\377\376 caf\303' > "$T/bad-utf8.txt"
	run run -n 3 --seed 1 "$T/world.anser" "$(cat "$T/bad-utf8.txt")"
	check "a prompt with invalid UTF-8 still encodes and runs" sh -c '[ '"$RC"' -eq 0 ]'
	run run -n 12 --temperature 0 "$T/world.anser" "The quick brown fox"
	cp "$T/out" "$T/greedy"
	run run -n 12 --top-k 1 --seed 7 "$T/world.anser" "The quick brown fox"
	check "text: top-k 1 equals greedy" cmp -s "$T/out" "$T/greedy"
	# A stop string taken from the middle of the greedy text.
	stop=$(python3 -c 'import sys; t=open(sys.argv[1], encoding="utf-8", errors="replace").read(); print(t[len(t)//2:len(t)//2+3])' "$T/greedy")
	run run -n 12 --temperature 0 --stop "$stop" "$T/world.anser" "The quick brown fox"
	check "--stop ends the output before the stop string" \
		python3 -c 'import sys; g=open(sys.argv[1],"rb").read(); o=open(sys.argv[2],"rb").read(); s=sys.argv[3].encode(); sys.exit(0 if g.startswith(o) and o == g[:g.find(s)] else 1)' \
		"$T/greedy" "$T/out" "$stop"
	printf 'The quick brown fox' > "$T/prompt.txt"
	run run -n 12 --temperature 0 -f "$T/prompt.txt" "$T/world.anser"
	check "-f FILE gives the same as the argument" cmp -s "$T/out" "$T/greedy"
	"$ANSER" run -n 12 --temperature 0 "$T/world.anser" < "$T/prompt.txt" > "$T/out" 2>/dev/null
	check "a prompt on standard input gives the same" cmp -s "$T/out" "$T/greedy"
	printf 'Hello\nHow are you?\n' | "$ANSER" run --chat -n 8 --seed 3 "$T/world.anser" > "$T/out" 2>"$T/err"
	check "--chat answers each line as an Assistant turn" \
		sh -c '[ $(grep -c "^Assistant:" "$1") -eq 2 ]' _ "$T/out"
	run run -n 4 -v --seed 1 "$T/world.anser" "Hi"
	check "-v ends with the speed line benchmarks parse" \
		grep -q '^anser: prefill 1 tokens in [0-9.]* s ([0-9.]* tok/s), decode 4 tokens in [0-9.]* s ([0-9.]* tok/s)$' "$T/err"
else
	skip "world.pth or the World vocab not found (set ANSER_GOLDEN, ANSER_DATA)"
fi

# --- generation on token ids --------------------------------------------
p=$(ids tiny 0 20)
run run --ids -n 16 --seed 42 "$T/tiny.anser" "$p"
cp "$T/out" "$T/s42"
run run --ids -n 16 --seed 42 "$T/tiny.anser" "$p"
check "the same seed gives the same tokens" sh -c '[ -s "$1" ] && cmp -s "$1" "$2"' _ "$T/out" "$T/s42"
run run --ids -n 16 --seed 43 "$T/tiny.anser" "$p"
check "another seed gives other tokens" sh -c '! cmp -s "$1" "$2"' _ "$T/out" "$T/s42"
run run --ids -n 1 --temperature 0 "$T/micro.anser" "$(ids micro)"
check "greedy picks the argmax of the golden logits" \
	python3 -c '
import json, struct, sys
m = json.load(open(sys.argv[1]))["micro"]
V, n = m["vocab_size"], len(m["tokens"])
row = struct.unpack_from("<%df" % V, open(sys.argv[2], "rb").read(), 4 * V * (n - 1))
sys.exit(0 if int(open(sys.argv[3]).read()) == row.index(max(row)) else 1)' "$M" "$STATIC/golden/micro.logits.f32" "$T/out"
# State: prefill A and save; load and continue with B == A+B at once.
a=$(ids tiny 0 30) b=$(ids tiny 30 48)
run run --ids -n 0 --state-out "$T/a.state" "$T/tiny.anser" "$a"
check "-n 0 with --state-out saves the state and prints nothing" \
	sh -c '[ '"$RC"' -eq 0 ] && [ -s "$1" ] && [ ! -s "$2" ]' _ "$T/a.state" "$T/out"
run run --ids -n 8 --temperature 0 --state-in "$T/a.state" "$T/tiny.anser" "$b"
cp "$T/out" "$T/split"
run run --ids -n 8 --temperature 0 "$T/tiny.anser" "$a $b"
check "--state-in continues exactly where --state-out stopped" cmp -s "$T/out" "$T/split"
run run --ids -n 0 --state-in "$STATIC/state-micro.pth" --state-out "$T/m.state" "$T/micro.anser" "1 2 3"
check "a state-tuning .pth loads as the initial state" sh -c '[ '"$RC"' -eq 0 ]'
refuse "a state of another model is refused" "not this one" \
	run --ids -n 1 --state-in "$T/a.state" "$T/micro.anser" "1"
run run --ids -n 2 "$STATIC/golden/micro.pth" "1 2"
check "a .pth is converted on the fly, with a note" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "note: converting" "$1"' _ "$T/err"

# A vocab smaller than the model (256 byte tokens, 512 rows): a sampled id
# past the vocab prints nothing (textout_push got NULL, 0: undefined memcpy
# under make asan).
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write("%d b\x27\\x%02x\x27 1\n" % (b + 1, b))' "$T/bytes.txt"
"$ANSER" convert -q --vocab "$T/bytes.txt" "$STATIC/golden/micro.pth" -o "$T/small-vocab.anser"
run run -n 300 --seed 7 "$T/small-vocab.anser" "hello"
check "sampling ids past a small vocab: they print nothing, exit 0" \
	eval '[ $RC -eq 0 ] && [ ! -s "$T/err" ]'

# --- bad input ------------------------------------------------------------
refuse "a missing model" "No such file" run "$T/none.anser" "hi"
printf 'just text\n' > "$T/text.bin"
refuse "a file that is no model" "not an anser model file or a .pth" run "$T/text.bin" "hi"
refuse "text on a model without a tokenizer" "has no tokenizer" run "$T/micro.anser" "hi"
refuse "an id outside the vocab" "not a token id" run --ids "$T/micro.anser" "1 99999"
refuse "a state file that is no state" "not an anser state file" \
	run --ids --state-in "$T/text.bin" "$T/micro.anser" "1"
for bad in "-n -1" "-n x" "--temperature -1" "--top-p 2" "--threads 0" "--top-k x" "--seed -5"; do
	# shellcheck disable=SC2086
	run run $bad "$T/micro.anser" "1"
	check "usage error for '$bad'" sh -c '[ '"$RC"' -eq 2 ]'
done
run run --chat --score "$T/micro.anser"
check "--chat with --score is a usage error" sh -c '[ '"$RC"' -eq 2 ]'
run run
check "no model is a usage error" sh -c '[ '"$RC"' -eq 2 ]'
finish
