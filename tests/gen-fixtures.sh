#!/bin/sh
# gen-fixtures.sh - checkpoints the tests need, good and deliberately broken,
# written by tools/mkpth.py (python3 standard library only) into
# $ANSER_FIXTURES.  Regenerated when mkpth.py or this script changes.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=${ANSER_FIXTURES:?}
stamp=$out/.stamp
if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/tools/mkpth.py" ] &&
   [ "$stamp" -nt "$0" ]; then
	exit 0
fi
command -v python3 >/dev/null 2>&1 || {
	echo "gen-fixtures: error: python3 is needed by the tests; run: sudo apt-get install -y python3" >&2
	exit 1
}
rm -rf "$out"
mkdir -p "$out"
mk() { python3 "$ROOT/tools/mkpth.py" "$@"; }
base="--layers 2 --embd 128 --vocab 1024"
mk model "$out/good.pth" $base --dtype bf16
mk model "$out/good-shuffled.pth" $base --dtype bf16 --shuffle --seed 1
mk model "$out/good-f16.pth" $base --dtype f16 --seed 2
mk model "$out/good-f32.pth" $base --dtype f32 --seed 3
mk model "$out/module.pth" $base --module-state-dict --root my_model_v1
mk model "$out/no-layer0-v.pth" $base --no-layer0-v
mk model "$out/world-shape.pth" --layers 1 --embd 64 --vocab 65536 --lora-decay 32 --lora-iclr 32 --lora-gate 32
mk model "$out/missing.pth" $base --drop blocks.1.att.k_k
mk model "$out/wrong-shape.pth" $base --reshape blocks.1.att.key.weight=128,64
mk model "$out/extra.pth" $base --add blocks.0.att.lora_A=4,4
mk model "$out/rwkv6.pth" --rwkv6
mk model "$out/state.pth" --state $base
mk model "$out/short-storage.pth" $base --short-storage emb.weight
mk model "$out/view-overflow.pth" $base --view-overflow blocks.0.ln1.weight
mk model "$out/huge-shape.pth" $base --huge-shape blocks.0.att.x_r
mk model "$out/negative-shape.pth" $base --negative-shape blocks.0.att.x_r
mk model "$out/forbidden-global.pth" $base --forbidden-global
mk model "$out/bad-opcode.pth" $base --bad-opcode
mk model "$out/no-pkl.pth" $base --no-pkl
mk model "$out/big-endian.pth" $base --big-endian
mk views "$out/views.pth" "$out/views.json"
touch "$stamp"
