#!/bin/sh
# t0100-convert: anser convert on good checkpoints (outputs, names, types,
# vocab lookup) and on bad ones (one clear error line, exit 1, nothing left).
. "$(dirname "$0")/lib.sh"

# --- good input ------------------------------------------------------------
mkdir "$T/g"
cp "$STATIC/golden/micro.pth" "$STATIC/golden/tiny.pth" "$STATIC/golden/small.pth" "$T/g/"
run convert --no-vocab "$T/g/micro.pth"
check "micro converts; default output is the input with .anser" \
	sh -c '[ '"$RC"' -eq 0 ] && [ -s "$1/micro.anser" ]' _ "$T/g"
check "the summary is one line naming the output, shape, params and type" \
	sh -c '[ "$(wc -l <"$1")" -eq 1 ] && grep -q "^wrote .*micro.anser: rwkv7 L1 C64 V512, 0.1M params, f32, no vocab" "$1"' _ "$T/out"
run convert --no-vocab -q "$T/g/tiny.pth" -o "$T/g/out.bin"
check "-q prints nothing; -o names the output" \
	sh -c '[ '"$RC"' -eq 0 ] && [ ! -s "$1" ] && [ -s "$2" ]' _ "$T/out" "$T/g/out.bin"
run inspect --json "$T/g/out.bin"
check "the default type is the checkpoint's own (bf16)" grep -q '"dtype": "bf16"' "$T/out"
for ty in f32 f16 bf16; do
	run convert --no-vocab -q --type "$ty" "$T/g/small.pth" -o "$T/g/small-$ty.anser"
	run inspect --json --verify "$T/g/small-$ty.anser"
	check "--type $ty writes $ty tensors that verify" \
		sh -c '[ '"$RC"' -eq 0 ] && grep -q "\"dtype\": \"'"$ty"'\"" "$1" && grep -q "\"verified\": true" "$1"' _ "$T/out"
done
check "f32 output is twice the size of f16 output" \
	sh -c '[ $(stat -c %s "$1") -gt $(( $(stat -c %s "$2") * 19 / 10 )) ]' _ "$T/g/small-f32.anser" "$T/g/small-f16.anser"
run convert --no-vocab -q "$FIX/good.pth" -o "$T/g/a.anser"
run convert --no-vocab -q "$FIX/good-shuffled.pth" -o "$T/g/b.anser"
check "shuffled key order gives the same tensors in the same order" \
	sh -c '"$0" inspect --json "$1" | grep "\"name\"" > "$3.a" &&
	       "$0" inspect --json "$2" | grep "\"name\"" > "$3.b" && cmp -s "$3.a" "$3.b" &&
	       [ $(stat -c %s "$1") -eq $(stat -c %s "$2") ]' "$ANSER" "$T/g/a.anser" "$T/g/b.anser" "$T/g/names"
run convert --no-vocab -q "$FIX/module.pth" -o "$T/g/m.anser"
check "a Module.state_dict() with a custom top folder converts" sh -c '[ '"$RC"' -eq 0 ]'
run convert --no-vocab -q "$FIX/good-f16.pth" -o "$T/g/f16.anser"
check "an f16 checkpoint converts" sh -c '[ '"$RC"' -eq 0 ]'
run convert --no-vocab -q "$FIX/no-layer0-v.pth" -o "$T/g/nv.anser"
check "a checkpoint without layer-0 v0/v1/v2 converts" sh -c '[ '"$RC"' -eq 0 ]'
run convert --no-vocab -q "$T/g/micro.pth"
check "converting again replaces the output" sh -c '[ '"$RC"' -eq 0 ] && [ -s "$1/micro.anser" ]' _ "$T/g"
check "no temporary files are left after success" \
	sh -c '! ls -a "$1" | grep -q "\.tmp\."' _ "$T/g"

# --- quantized types -------------------------------------------------------
# small.pth: C256, f16.  Matrices get the type, the head q8_0, the rest f16.
for ty in q8_0 q4_0; do
	run convert --no-vocab --type "$ty" "$T/g/small.pth" -o "$T/g/small-$ty.anser"
	check "--type $ty: the summary names each group's type" \
		grep -q "V1024, .*M params, $ty (head q8_0, embedding f16, rest f16), no vocab" "$T/out"
	run inspect --tensors --verify "$T/g/small-$ty.anser"
	check "--type $ty: inspect lists each tensor's type, and it verifies" \
		sh -c '[ '"$RC"' -eq 0 ] && grep -q "blocks.2.ffn.key.weight *'"$ty"'" "$1" &&
		       grep -q "head.weight *q8_0" "$1" && grep -q "blocks.0.att.w1 *f16" "$1" &&
		       grep -q "emb.weight *f16" "$1"' _ "$T/out"
done
check "q4_0 output is smaller than q8_0 output, which is smaller than f16's" \
	sh -c '[ $(stat -c %s "$1") -lt $(stat -c %s "$2") ] && [ $(stat -c %s "$2") -lt $(stat -c %s "$3") ]' \
	_ "$T/g/small-q4_0.anser" "$T/g/small-q8_0.anser" "$T/g/small-f16.anser"
run convert -q --type q4_0 --head-type f32 --emb-type q8_0 "$T/g/small-f32.anser"
run inspect --tensors "$T/g/small-f32.q4_0.anser"
check "an anser input requantizes to IN.TYPE.anser; --head-type and --emb-type apply" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "blocks.0.att.key.weight *q4_0" "$1" &&
	       grep -q "head.weight *f32" "$1" && grep -q "emb.weight *q8_0" "$1" &&
	       grep -q "ln_out.weight *f32" "$1"' _ "$T/out"
run convert --type q8_0 --head-type q3 "$T/g/small.pth" -o "$T/g/x.anser"
check "an unknown --head-type exits 2 naming it" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "unknown head type .q3." "$1" && [ ! -e "$2" ]' _ "$T/err" "$T/g/x.anser"

# --- the vocab -----------------------------------------------------------
mkdir "$T/v"
cp "$FIX/world-shape.pth" "$T/v/w.pth"
refuse "without a vocab, convert says how to get one" "no-vocab" convert "$T/v/w.pth"
check "...and writes nothing" sh -c '[ "$(ls "$1")" = "w.pth" ]' _ "$T/v"
if [ -f "$DATA/rwkv_vocab_v20230424.txt" ]; then
	cp "$DATA/rwkv_vocab_v20230424.txt" "$T/v/"
	run convert -q "$T/v/w.pth"
	run inspect "$T/v/w.anser"
	check "the vocab beside the checkpoint is embedded" grep -q "tokenizer: *rwkv-world" "$T/out"
	mv "$T/v/rwkv_vocab_v20230424.txt" "$T/v/voc.txt"
	ANSER_VOCAB=$T/v/voc.txt "$ANSER" convert -q "$T/v/w.pth" -o "$T/v/e.anser" 2>"$T/err"
	check "\$ANSER_VOCAB names the vocab" sh -c '[ -s "$1" ]' _ "$T/v/e.anser"
	run convert -q --vocab "$T/v/voc.txt" "$T/v/w.pth" -o "$T/v/f.anser"
	check "--vocab names the vocab" sh -c '[ '"$RC"' -eq 0 ] && [ -s "$1" ]' _ "$T/v/f.anser"
	refuse "a World vocab on a 1024-row model is refused" "65529 tokens but" \
		convert --vocab "$T/v/voc.txt" "$T/g/tiny.pth" -o "$T/v/x.anser"
else
	skip "World vocab not found (set ANSER_DATA)"
fi
printf '1 b"\\x00" 1\n2 "bad 3\n' > "$T/v/bad.txt"
refuse "a malformed vocab is refused naming the line" "line 2" \
	convert --vocab "$T/v/bad.txt" "$T/v/w.pth" -o "$T/v/y.anser"
run convert --vocab "$T/v/bad.txt" --no-vocab "$T/v/w.pth"
check "--vocab with --no-vocab is a usage error" sh -c '[ '"$RC"' -eq 2 ]'
refuse "a missing --vocab file is named" "cannot open vocab" \
	convert --vocab "$T/v/none.txt" "$T/v/w.pth" -o "$T/v/z.anser"

# --- bad input: one line, exit 1, nothing left behind ---------------------
mkdir "$T/bad"
bad() {
	what=$1 pattern=$2 in=$3
	refuse "$what" "$pattern" convert --no-vocab "$in" -o "$T/bad/out.anser"
	if [ "$(count_files "$T/bad")" -ne 0 ]; then
		not_ok "$what: left files behind"
		rm -rf "$T/bad"/* "$T/bad"/.[!.]*
	fi
}
printf 'hello, world\n' > "$T/text.pth"
bad "not a zip" "not a zip file" "$T/text.pth"
head -c 300000 "$STATIC/golden/micro.pth" > "$T/trunc.pth"
bad "a truncated zip" "trunc.pth. is a truncated or damaged zip" "$T/trunc.pth"
bad "a missing input" "No such file" "$T/nonexistent.pth"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[300000] ^= 0x40; open(sys.argv[2], "wb").write(b)' \
	"$STATIC/golden/micro.pth" "$T/flip.pth"
bad "a bit flip in a storage (zip CRC)" "CRC error" "$T/flip.pth"
bad "a zip without data.pkl" "without <folder>/data.pkl" "$FIX/no-pkl.pth"
bad "a pickle with GLOBAL os system" "global 'os system'.*not allowed" "$FIX/forbidden-global.pth"
bad "a byte that is no pickle opcode" "not a pickle opcode" "$FIX/bad-opcode.pth"
bad "a storage shorter than it declares" "holds .* bytes but declares" "$FIX/short-storage.pth"
bad "a view past the end of its storage" "reaches past the end" "$FIX/view-overflow.pth"
bad "a shape whose product overflows" "invalid shape" "$FIX/huge-shape.pth"
bad "a negative dimension" "invalid shape" "$FIX/negative-shape.pth"
bad "a tensor of the wrong shape" "tensor 'blocks.1.att.key.weight' has shape (128, 64), expected (128, 128)" "$FIX/wrong-shape.pth"
bad "a missing tensor" "missing tensor 'blocks.1.att.k_k'" "$FIX/missing.pth"
bad "an unknown extra tensor" "unexpected tensor 'blocks.0.att.lora_A'" "$FIX/extra.pth"
bad "an RWKV-6 checkpoint (mkpth)" "RWKV-6 checkpoint" "$FIX/rwkv6.pth"
bad "an RWKV-6 checkpoint (saved by PyTorch)" "RWKV-6 checkpoint (found 'blocks.0.att.time_maa_x')" "$STATIC/rwkv6-tiny.pth"
bad "an RWKV-5 checkpoint" "RWKV-5 checkpoint" "$STATIC/rwkv5-tiny.pth"
bad "an RWKV-4 checkpoint" "RWKV-4 checkpoint" "$STATIC/rwkv4-tiny.pth"
bad "a non-RWKV state dict" "not an RWKV model" "$STATIC/mini-module.pth"
bad "a state-tuning file" "state file" "$STATIC/state-micro.pth"
bad "the legacy (pre-1.6) PyTorch format" "legacy PyTorch format" "$STATIC/legacy.pth"
bad "a big-endian checkpoint" "big-endian" "$FIX/big-endian.pth"
run convert --no-vocab -q "$STATIC/golden/micro.pth" -o "$T/m.anser"
run convert "$T/m.anser"
check "an anser input without --type or -o is a usage error" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "anser file already: give --type or -o" "$1"' _ "$T/err"
head -c 100000 "$T/m.anser" > "$T/trunc.anser"
bad "a truncated anser file as input" "truncated" "$T/trunc.anser"
refuse "an output folder that does not exist" "cannot create a file beside" \
	convert --no-vocab "$STATIC/golden/micro.pth" -o "$T/nodir/x.anser"
mkdir "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
	refuse "an unwritable output folder" "Permission denied" \
		convert --no-vocab "$STATIC/golden/micro.pth" -o "$T/ro/x.anser"
else
	# root writes anywhere; an output path that is a folder still fails.
	refuse "an output path that is a folder" "cannot rename" \
		convert --no-vocab "$STATIC/golden/micro.pth" -o "$T/ro"
fi
check "...and leaves nothing in it" sh -c '[ "$(ls -A "$1")" = "" ]' _ "$T/ro"
cp "$STATIC/golden/micro.pth" "$T/same.pth"
refuse "the output may not be the input" "is the input file" \
	convert --no-vocab "$T/same.pth" -o "$T/same.pth"
check "...which is left intact" cmp -s "$T/same.pth" "$STATIC/golden/micro.pth"
finish
