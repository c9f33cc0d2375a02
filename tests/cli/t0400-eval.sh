#!/bin/sh
# t0400-eval: anser eval - LAMBADA and xStoryCloze scored as the harness
# does, checked against the golden reference and against `run --score`;
# ties, multi-byte text, bad rows; --samples resume; the JSON layout.
. "$(dirname "$0")/lib.sh"

# A model with a tokenizer that needs no outside data: the tiny golden
# model with a small vocab (every byte, plus a few words).
python3 - "$T/vocab.txt" <<'PY'
import sys
words = ["the", " the", " cat", " sat", " on", " mat", "ing", " and"]
with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write("%d b'\\x%02x' 1\n" % (b + 1, b))
    for i, w in enumerate(words):
        f.write("%d '%s' %d\n" % (257 + i, w, len(w.encode())))
PY
"$ANSER" convert -q --vocab "$T/vocab.txt" "$STATIC/golden/tiny.pth" -o "$T/tiny.anser"
M=$T/tiny.anser
mkdir -p "$T/data/xstorycloze" "$T/data/lambada"

# --- LAMBADA on a small file, against run --score ---------------------------
cat > "$T/data/lambada/lambada_test.jsonl" <<'EOF'
{"text": "the cat sat on the mat and the cat"}
{"text": "on and on the cat sat"}
{"text": "the mat sat on the cat mat"}
{"text": "Caf\u00e9 cr\u00e8me and the \u00fcber cat"}
EOF
run eval --data-dir "$T/data" --samples "$T/s.jsonl" --json "$T/r.json" "$M" lambada_openai
check "lambada: exit 0 and a harness-style table" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "^|    Tasks     |Version|Filter|n-shot|  Metric  |" "$1" &&
	       grep -q "^|lambada_openai|      1|none  |     0|acc       |↑  |" "$1"' _ "$T/out"
# Each document: log p(" " + last word | context) = the sum of the last
# lines of run --score on the whole text (scoring feeds token 0 first too).
cat > "$T/byscore.py" <<'PY'
import json, subprocess, sys
anser, model, data, samples = sys.argv[1:5]
docs = [json.loads(l)["text"] for l in open(data, encoding="utf-8")]
got = [json.loads(l) for l in open(samples)]
def score(text):
    out = subprocess.run([anser, "run", "--score", model, "-"], input=text.encode(),
                         capture_output=True, check=True).stdout.decode()
    return [float(l.split("\t")[1]) for l in out.splitlines()]
worst = 0
for d, g in zip(docs, got):
    ctx, word = d.rsplit(" ", 1)
    n_ctx = len(score(ctx))
    lp = score(ctx + " " + word)
    want = sum(lp[n_ctx:])
    assert len(lp) - n_ctx == len(g["continuations"][0]["ids"]), "token split"
    worst = max(worst, abs(want - g["continuations"][0]["logprob"]))
print("worst %.2g" % worst, file=sys.stderr)
sys.exit(0 if worst < 1e-4 and len(got) == len(docs) else 1)
PY
check "lambada: each document's log-likelihood equals run --score on its text" \
	python3 "$T/byscore.py" "$ANSER" "$M" "$T/data/lambada/lambada_test.jsonl" "$T/s.jsonl"
check "lambada: acc and perplexity in the JSON agree with the samples" \
	python3 -c '
import json, math, sys
r = json.load(open(sys.argv[1]))["results"]["lambada_openai"]
s = [json.loads(l) for l in open(sys.argv[2])]
ll = [x["continuations"][0]["logprob"] for x in s]
acc = sum(x["correct"] for x in s) / len(s)
ok = abs(r["perplexity,none"] - math.exp(-sum(ll) / len(ll))) < 1e-9 * r["perplexity,none"]
ok = ok and r["acc,none"] == acc and "acc_stderr,none" in r and "perplexity_stderr,none" in r
ok = ok and r["alias"] == "lambada_openai"
sys.exit(0 if ok else 1)' "$T/r.json" "$T/s.jsonl"
check "the JSON records the model file's sha256, the tool and the command" \
	python3 -c '
import hashlib, json, sys
j = json.load(open(sys.argv[1]))
ok = j["model_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
ok = ok and j["anser_version"] and "lambada_openai" in j["command_line"]
ok = ok and j["versions"]["lambada_openai"] == 1 and j["n-shot"]["lambada_openai"] == 0
ok = ok and j["n-samples"]["lambada_openai"] == {"original": 4, "effective": 4}
sys.exit(0 if ok else 1)' "$T/r.json" "$M"

run eval --data-dir "$T/data" "$M" lambada_openai lambada_openai
check "a task named twice runs once" \
	sh -c '[ '"$RC"' -eq 0 ] && [ $(grep -c "^|lambada_openai|" "$1") -eq 1 ]' _ "$T/out"

# --- resume -----------------------------------------------------------------
run eval --data-dir "$T/data" --limit 2 --samples "$T/part.jsonl" "$M" lambada_openai
check "--limit 2 scores two documents" sh -c '[ $(wc -l < "$1") -eq 2 ]' _ "$T/part.jsonl"
printf '{"task": "lambada_openai", "doc_id": 2, "mod' >> "$T/part.jsonl"
run eval --data-dir "$T/data" --samples "$T/part.jsonl" --json "$T/r2.json" "$M" lambada_openai
check "a rerun resumes (a line cut off is dropped) and gives the same numbers" \
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["results"]["lambada_openai"]
b = json.load(open(sys.argv[2]))["results"]["lambada_openai"]
lines = open(sys.argv[3]).read().splitlines()
ok = all(a[k] == b[k] for k in ("acc,none", "perplexity,none", "acc_stderr,none"))
ok = ok and len(lines) == 4 and [json.loads(l)["doc_id"] for l in lines] == [0, 1, 2, 3]
sys.exit(0 if ok else 1)' "$T/r.json" "$T/r2.json" "$T/part.jsonl"
"$ANSER" convert -q --vocab "$T/vocab.txt" "$STATIC/golden/micro.pth" -o "$T/micro.anser" 2>/dev/null
refuse "samples of another model are refused" "another model" \
	eval --data-dir "$T/data" --samples "$T/part.jsonl" "$T/micro.anser" lambada_openai

# --- xStoryCloze: choices, ties, multi-byte text ----------------------------
tab=$(printf '\t')
{
	printf 'InputStoryid\tInputSentence1\tInputSentence2\tInputSentence3\tInputSentence4\tRandomFifthSentenceQuiz1\tRandomFifthSentenceQuiz2\tAnswerRightEnding\n'
	printf 'a1\tthe cat sat.\ton the mat.\tthe cat sat on the mat.\tand the cat sat.\tthe mat sat.\tthe cat sat on the mat.\t2\n'
	printf 'a2\tthe cat sat.\ton the mat.\tthe cat sat.\ton the mat.\tthe same ending.\tthe same ending.\t2\n'
	printf 'a3\tthe cat sat.\ton the mat.\tthe cat sat.\ton the mat.\tthe same ending.\tthe same ending.\t1\n'
	printf 'a4\t猫が座った。\tマットの上に。\t猫がマットに座った。\tそして猫が座った。\t猫は寝た。\t猫はマットに座った。\t1\n'
	printf 'a5\tthe cat sat. \ton the mat. \tthe cat. \tsat on \tthe mat.\tthe cat and the mat.\t1'
	printf '\n'
} > "$T/data/xstorycloze/spring2016.val.ru.tsv.split_20_80_eval.tsv"
run eval --data-dir "$T/data" --samples "$T/x.jsonl" --json "$T/x.json" "$M" xstorycloze_ru
check "xstorycloze: exit 0, acc and acc_norm in the table" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "xstorycloze_ru" "$1" && grep -q "acc_norm" "$1"' _ "$T/out"
cat > "$T/xscore.py" <<'PY'
import csv, json, subprocess, sys
anser, model, tsv, samples = sys.argv[1:5]
rows = list(csv.reader(open(tsv, encoding="utf-8"), delimiter="\t", quotechar='"',
                       skipinitialspace=True))[1:]
got = [json.loads(l) for l in open(samples)]
def score(text):
    out = subprocess.run([anser, "run", "--score", model, "-"], input=text.encode(),
                         capture_output=True, check=True).stdout.decode()
    return [float(l.split("\t")[1]) for l in out.splitlines()]
worst, ok = 0, len(got) == len(rows)
for r, g in zip(rows, got):
    ctx = " ".join(r[1:5])
    stripped = ctx.rstrip()                  # trailing whitespace moves
    n_ctx = len(score(stripped))
    lls = []
    for j, ending in enumerate(r[5:7]):
        lp = score(ctx + " " + ending)
        lls.append(sum(lp[n_ctx:]))
        worst = max(worst, abs(lls[-1] - g["continuations"][j]["logprob"]))
    pred = 0 if lls[0] >= lls[1] else 1      # ties: the first
    ok = ok and g["pred"] == pred and g["gold"] == int(r[7]) - 1
    ok = ok and g["correct"] == (pred == int(r[7]) - 1)
print("worst %.2g" % worst, file=sys.stderr)
sys.exit(0 if ok and worst < 1e-4 else 1)
PY
check "xstorycloze: each ending scored as run --score on context + ending; ties pick the first" \
	python3 "$T/xscore.py" "$ANSER" "$M" "$T/data/xstorycloze/spring2016.val.ru.tsv.split_20_80_eval.tsv" "$T/x.jsonl"
check "xstorycloze: the tie rows are judged as the harness does (first choice wins)" \
	python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
a2, a3 = s[1], s[2]
ok = a2["continuations"][0]["logprob"] == a2["continuations"][1]["logprob"]
ok = ok and a2["pred"] == 0 and not a2["correct"] and a3["pred"] == 0 and a3["correct"]
sys.exit(0 if ok else 1)' "$T/x.jsonl"
run eval --data-dir "$T/data" "$M" xstorycloze
check "the xstorycloze group needs all eleven languages (here: ru only)" \
	sh -c '[ '"$RC"' -eq 1 ] && grep -q "no data for xstorycloze_" "$1"' _ "$T/err"
printf 'a6\tonly\tfour\tfields\n' >> "$T/data/xstorycloze/spring2016.val.ru.tsv.split_20_80_eval.tsv"
refuse "a malformed row is an error naming the file and row" "row 6 (line 7)" \
	eval --data-dir "$T/data" "$M" xstorycloze_ru

# --- perplexity of a file ---------------------------------------------------
printf 'the cat sat on the mat and the cat sat on the mat\n' > "$T/text.txt"
run eval "$M" ppl "$T/text.txt"
cp "$T/out" "$T/ppl.out"
"$ANSER" run --score "$M" "$T/text.txt" >/dev/null 2>"$T/score.err"
check "ppl FILE: token perplexity equals run --score's" \
	python3 -c '
import re, sys
t = open(sys.argv[1]).read()
want = float(re.search(r"perplexity ([0-9.]+)", open(sys.argv[2]).read()).group(1))
got = float(re.search(r"\|token_perplexity\|[^|]*\|\s*([0-9.]+)", t).group(1))
sys.exit(0 if abs(got - want) <= 1e-4 * want else 1)' "$T/ppl.out" "$T/score.err"
run eval --kl-base "$M" "$M" ppl "$T/text.txt"
cp "$T/out" "$T/kl-mapped.out"
run eval --no-mmap --kl-base "$M" "$M" ppl "$T/text.txt"
check "--no-mmap: the model and the KL base read into memory give the same report" \
	sh -c '[ '"$RC"' -eq 0 ] && [ -s "$1" ] && cmp -s "$1" "$2"' _ "$T/kl-mapped.out" "$T/out"

# --- the golden reference (needs ../shared) --------------------------------
if [ -f "$GOLDEN/world.pth" ] && [ -f "$DATA/lambada_test.jsonl" ] && [ -f "$DATA/rwkv_vocab_v20230424.txt" ]; then
	"$ANSER" convert -q --vocab "$DATA/rwkv_vocab_v20230424.txt" "$GOLDEN/world.pth" -o "$T/world.anser"
	run eval --data-dir "$DATA" --limit 40 --samples "$T/w40.jsonl" --json "$T/w40.json" "$T/world.anser" lambada_openai
	check "world + 40 LAMBADA documents: log-likelihoods (1e-3), argmax and greedy as the golden file" \
		python3 -c '
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
s = [json.loads(l) for l in open(sys.argv[2])]
ok = len(g) == len(s) == 40
for a, b in zip(g, s):
    c = b["continuations"][0]
    ok = ok and abs(a["logprob"] - c["logprob"]) < 1e-3 and a["argmax"] == c["argmax"]
    ok = ok and a["greedy"] == c["greedy"] and a["target_tokens"] == c["ids"]
    ok = ok and a["context_tokens"] == b["ctx_tokens"]
sys.exit(0 if ok else 1)' "$GOLDEN/world.lambada40.jsonl" "$T/w40.jsonl"
	check "world + 40 LAMBADA documents: perplexity within 1e-4 of the manifest, acc equal" \
		python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["world"]["lambada40"]
r = json.load(open(sys.argv[2]))["results"]["lambada_openai"]
sys.exit(0 if abs(r["perplexity,none"] / m["ppl"] - 1) < 1e-4 and r["acc,none"] == m["acc"] else 1)' \
		"$GOLDEN/manifest.json" "$T/w40.json"
	# The golden xStoryCloze rows, cut out of the real files into a small
	# data folder of their own (row numbers are 1-based after the header).
	python3 - "$GOLDEN/world.xstorycloze.jsonl" "$DATA/xstorycloze" "$T/xg" <<'PY'
import json, os, sys
gold, src, out = sys.argv[1:4]
os.makedirs(out + "/xstorycloze", exist_ok=True)
rows = {}
for l in open(gold):
    g = json.loads(l)
    rows.setdefault(g["lang"], []).append(g["row"])
for lang, nums in rows.items():
    name = "spring2016.val.%s.tsv.split_20_80_eval.tsv" % lang
    lines = open(os.path.join(src, name), encoding="utf-8", newline="").read().split("\n")
    with open(os.path.join(out, "xstorycloze", name), "w", encoding="utf-8", newline="") as f:
        f.write(lines[0] + "\n" + "\n".join(lines[n] for n in nums) + "\n")
PY
	ok=1
	for lang in ru zh hi eu sw my; do
		"$ANSER" eval --data-dir "$T/xg" --samples "$T/xg-$lang.jsonl" "$T/world.anser" "xstorycloze_$lang" >/dev/null 2>&1 || ok=0
	done
	check "world: the golden xStoryCloze stories (csv quirks, moved whitespace) score as the reference" \
		python3 -c '
import json, sys
gold, base = sys.argv[1], sys.argv[2]
order = {}
for l in open(gold):
    g = json.loads(l)
    order.setdefault(g["lang"], []).append(g)
ok = sys.argv[3] == "1"
for lang, gs in order.items():
    s = [json.loads(l) for l in open(base + "-" + lang + ".jsonl")]
    ok = ok and len(s) == len(gs)
    for g, x in zip(gs, s):
        for j in range(2):
            c = x["continuations"][j]
            ok = ok and c["ids"] == g["continuation_ids"][j]
            ok = ok and abs(c["logprob"] - g["loglik"][j]) < 1e-3
        ok = ok and x["pred"] == g["pred"] and x["correct"] == g["correct"]
sys.exit(0 if ok else 1)' "$GOLDEN/world.xstorycloze.jsonl" "$T/xg" "$ok"
	"$ANSER" convert -q --vocab "$DATA/rwkv_vocab_v20230424.txt" "$GOLDEN/world.pth" \
		-o "$T/RWKV-x070-World-1.5B-v3-test.anser"
	cp "$GOLDEN/world.pth" "$T/RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth"
	"$ANSER" convert -q --vocab "$DATA/rwkv_vocab_v20230424.txt" \
		"$T/RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth" -o "$T/named.anser"
	run eval --data-dir "$DATA" --limit 5 --compare "$T/named.anser" lambada_openai
	check "--compare prints the published numbers of a known release, with the source" \
		sh -c 'grep -q "published 0.6932 (authors. lm-eval 0.4.8 run" "$1" &&
		       grep -q "perplexity: ours [0-9.]*, published 4.1370" "$1"' _ "$T/out"
else
	skip "world.pth, lambada_test.jsonl or the World vocab not found (set ANSER_GOLDEN, ANSER_DATA)"
fi

# --- bad input ----------------------------------------------------------------
refuse "missing data names the file and where to put it" "put lambada_test_de.jsonl in the folder given by --data-dir" \
	eval --data-dir "$T/data" "$M" lambada_openai_mt_de
printf '{"text": "fine text here"}\nnot json\n' > "$T/data/lambada/lambada_test_en.jsonl"
mkdir -p "$T/bad/lambada"
printf '{"text": "fine text here"}\nnot json\n' > "$T/bad/lambada/lambada_test.jsonl"
refuse "a malformed JSON line is an error naming the file and line" "line 2" \
	eval --data-dir "$T/bad" "$M" lambada_openai
"$ANSER" convert -q --no-vocab "$STATIC/golden/tiny.pth" -o "$T/novocab.anser"
refuse "a model without a tokenizer is refused" "has no tokenizer" \
	eval --data-dir "$T/data" "$T/novocab.anser" lambada_openai
for bad in "nosuchtask" "--limit x lambada_openai" "--prefix 7 lambada_openai" "ppl"; do
	# shellcheck disable=SC2086
	run eval "$M" $bad
	check "usage error for '$bad'" sh -c '[ '"$RC"' -eq 2 ]'
done
run eval "$M"
check "no task is a usage error" sh -c '[ '"$RC"' -eq 2 ]'
finish
