#!/bin/sh
# t0200-inspect: text and JSON descriptions of .pth and native files, checked
# against the golden manifest and PyTorch's own tensor list; --verify; damage.
. "$(dirname "$0")/lib.sh"

# Compares inspect --json output with manifest.json and golden-tensors.txt.
cat > "$T/cmp.py" <<'PY'
import json, sys
out, model, manifest, tensors, fmt = sys.argv[1:6]
j = json.load(open(out))
m = json.load(open(manifest))[model]
want = {}
for line in open(tensors):
    f = line.split()
    if f[0] == model:
        want[f[1]] = (f[2], [int(x) for x in f[3].split(",")] if f[3] != "-" else [])
got = {t["name"]: (t["dtype"], t["shape"]) for t in j["tensors"]}
errors = []
for key in ("n_layer", "n_embd", "head_size", "vocab_size"):
    if j.get(key) != m[key]:
        errors.append("%s: %r != %r" % (key, j.get(key), m[key]))
if j["format"] != fmt or j["architecture"] != "rwkv7" or j["kind"] != "model":
    errors.append("format/architecture/kind")
if j["n_head"] * j["head_size"] != j["n_embd"]:
    errors.append("n_head")
if j["n_params"] != sum(eval("*".join(map(str, s or [1]))) for _, s in got.values()):
    errors.append("n_params")
if fmt == "pth":
    if got != want:
        errors.append("tensors differ from PyTorch's list")
else:
    if {k: v[1] for k, v in got.items()} != {k: v[1] for k, v in want.items()}:
        errors.append("tensor shapes differ")
if len(j["tensors"]) != j["n_tensors"]:
    errors.append("n_tensors")
if errors:
    print("\n".join(errors))
sys.exit(1 if errors else 0)
PY

for model in micro tiny small world; do
	src=$STATIC/golden/$model.pth
	[ "$model" = world ] && src=$GOLDEN/world.pth
	if [ ! -f "$src" ]; then
		skip "$model.pth not found"
		continue
	fi
	run inspect --json "$src"
	check "$model.pth: --json matches the manifest and PyTorch's tensor list" \
		python3 "$T/cmp.py" "$T/out" "$model" "$STATIC/golden/manifest.json" \
		"$STATIC/golden-tensors.txt" pth
	run convert --no-vocab -q "$src" -o "$T/$model.anser"
	run inspect --json "$T/$model.anser"
	check "$model.anser: --json gives the same model" \
		python3 "$T/cmp.py" "$T/out" "$model" "$STATIC/golden/manifest.json" \
		"$STATIC/golden-tensors.txt" anser
done

run inspect "$T/tiny.anser"
check "text output names the format, shape and source" \
	sh -c 'grep -q "^format: *anser (version 1)" "$1" && grep -q "^layers: *2$" "$1" &&
	       grep -q "^embedding: *128$" "$1" && grep -q "^heads: *2 x 64$" "$1" &&
	       grep -q "^vocab: *1024$" "$1" && grep -q "^lora ranks: *decay" "$1" &&
	       grep -q "^source: *tiny.pth (bf16)" "$1" && grep -q "^source sha256: *[0-9a-f]\{64\}$" "$1"' _ "$T/out"
check "the source sha256 is the checkpoint's" \
	sh -c 'grep -q "$(sha256sum "$2" | cut -c1-64)" "$1"' _ "$T/out" "$STATIC/golden/tiny.pth"
run inspect --tensors "$STATIC/golden/tiny.pth"
check "--tensors lists all 69 tensors with type and shape" \
	sh -c '[ $(grep -c "^blocks\.\|^emb\.\|^head\.\|^ln_out\." "$1") -eq 69 ] &&
	       grep -q "^blocks.0.att.r_k  *bf16  *(2, 64)$" "$1"' _ "$T/out"
run inspect --verify "$T/tiny.anser"
check "--verify on a good file" sh -c '[ '"$RC"' -eq 0 ] && grep -q "^verified: *all checksums match" "$1"' _ "$T/out"
run inspect --verify "$STATIC/golden/tiny.pth"
check "--verify on a good .pth (zip CRCs)" sh -c '[ '"$RC"' -eq 0 ]'

# Damage to a native file.
size=$(stat -c %s "$T/tiny.anser")
flip() { # flip FILE OFFSET OUT
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[2])] ^= 0x10; open(sys.argv[3], "wb").write(b)' "$@"
}
flip "$T/tiny.anser" $((size - 100)) "$T/dflip.anser"
run inspect "$T/dflip.anser"
check "a bit flip in tensor data still opens without --verify" sh -c '[ '"$RC"' -eq 0 ]'
refuse "--verify finds a bit flip in tensor data" "tensor '.*' is corrupt (CRC mismatch)" \
	inspect --verify "$T/dflip.anser"
flip "$T/tiny.anser" 20 "$T/hflip.anser"
refuse "a bit flip in the header is caught at open" "header checksum" inspect "$T/hflip.anser"
flip "$T/tiny.anser" 200 "$T/mflip.anser"
refuse "a bit flip in the metadata is caught at open" "metadata checksum" inspect "$T/mflip.anser"
head -c $((size - 64)) "$T/tiny.anser" > "$T/short.anser"
refuse "a truncated native file is caught at open" "truncated" inspect "$T/short.anser"
head -c 100 "$T/tiny.anser" > "$T/tiny100.anser"
refuse "a 100-byte native file" "too small" inspect "$T/tiny100.anser"

# Other kinds of file.
run inspect --json "$STATIC/rwkv6-tiny.pth"
check "an RWKV-6 checkpoint is listed (exit 0), named rwkv6, with a note" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "\"architecture\": \"rwkv6\"" "$1" &&
	       grep -q "RWKV-6" "$2" && python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$1"' _ "$T/out" "$T/err"
run inspect --json "$STATIC/state-micro.pth"
check "a state-tuning file is kind state with its shape" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "\"architecture\": \"rwkv7-state\"" "$1" &&
	       grep -q "\"kind\": \"state\"" "$1" && grep -q "\"n_head\": 1" "$1" &&
	       grep -q "\"shape\": \[1, 64, 64\]" "$1"' _ "$T/out"
run inspect "$FIX/missing.pth"
check "a broken RWKV-7 file: listed, then an error, exit 1" \
	sh -c '[ '"$RC"' -eq 1 ] && grep -q "^architecture: *rwkv7" "$1" && grep -q "missing tensor" "$2"' _ "$T/out" "$T/err"
printf 'hello\n' > "$T/text.bin"
refuse "a text file" "neither a PyTorch .pth checkpoint nor an anser model" inspect "$T/text.bin"
refuse "the legacy PyTorch format" "legacy PyTorch format" inspect "$STATIC/legacy.pth"
printf 'GGUF\3\0\0\0' > "$T/x.gguf"
refuse "a GGUF file is named" "GGUF file" inspect "$T/x.gguf"
python3 -c 'import struct,sys; h=b"{\"a\":1}"; open(sys.argv[1],"wb").write(struct.pack("<Q",len(h))+h)' "$T/x.st"
refuse "a safetensors file is named" "safetensors" inspect "$T/x.st"
refuse "a forbidden pickle global" "global 'os system'" inspect "$FIX/forbidden-global.pth"
refuse "a missing file" "No such file" inspect "$T/none.anser"
for f in "$T/tiny.anser" "$STATIC/golden/micro.pth" "$STATIC/state-micro.pth" "$FIX/missing.pth"; do
	"$ANSER" inspect --json "$f" > "$T/j" 2>/dev/null
	check "--json output is valid JSON ($(basename "$f"))" \
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/j"
done
finish
