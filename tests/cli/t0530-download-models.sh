#!/bin/sh
# t0530-download-models: models by name against the mock Hub: --list,
# 'anser download rwkv7-world-0.1b' (checkpoint and World vocab), 'anser
# convert NAME' into the cache, convert reading straight from the cache,
# offline use of a warm cache, and the library's anser_model_resolve
# (tests/unit/test_hub_models.c, online part).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/hub/mock.sh"
mock_start
export ANSER_HUB_WAIT_SCALE=0.01
H=$(cache)
W=$H/models--BlinkDL--rwkv-7-world
V=$H/models--RWKV--RWKV7-Goose-World2.8-0.1B-HF
CK=RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth
lines() { wc -l <"$1" | tr -d ' '; }

run download --list
check "--list: the released models with repo, file and size" \
	eval '[ $RC -eq 0 ] && grep -q "^rwkv7-world-0.1b .*382.2 MB .*BlinkDL/rwkv-7-world/$CK$" "$T/out" &&
	      grep -q "^rwkv7-g1-2.9b .*BlinkDL/rwkv7-g1/rwkv7-g1-2.9b-20250519-ctx4096.pth$" "$T/out" &&
	      grep -q "rwkv_vocab_v20230424.txt) comes from RWKV/RWKV7-Goose-World2.8-0.1B-HF" "$T/out"'

run download rwkv7-world-0.1b
check "a name: the checkpoint and the vocab, one path per line" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 2 ] &&
	      [ "$(sed -n 1p "$T/out")" = "$W/snapshots/$C_WORLD/$CK" ] &&
	      [ "$(sed -n 2p "$T/out")" = "$V/snapshots/$C_VOCAB/rwkv_vocab_v20230424.txt" ]'
check "...from the right repos and files" \
	eval 'grep -q "method=HEAD path=/BlinkDL/rwkv-7-world/resolve/main/$CK " "$T/mock.log" &&
	      grep -q "method=HEAD path=/RWKV/RWKV7-Goose-World2.8-0.1B-HF/resolve/main/rwkv_vocab_v20230424.txt " "$T/mock.log"'
check "...the checkpoint's blob is its sha256" eval '[ "$(readlink "$W/snapshots/$C_WORLD/$CK")" = "../../blobs/$SHA_WORLD" ]'
run download --dry-run rwkv7-world-0.1b
check "--dry-run of a name: both files, cached" \
	eval '[ $RC -eq 0 ] && grep -q "^cached .*$CK$" "$T/out" && grep -q "^cached .*rwkv_vocab_v20230424.txt$" "$T/out"'
log_clear
HF_HUB_OFFLINE=1 run download -q rwkv7-world-0.1b
check "offline, warm cache: the same two paths, no request" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 2 ] && [ ! -s "$T/mock.log" ]'
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/cold refuse "offline, cold cache: one line" "HF_HUB_OFFLINE" download rwkv7-world-0.1b
run download --revision v1 rwkv7-world-0.1b
check "a name takes no --revision (exit 2)" eval '[ $RC -eq 2 ] && grep -q "is a model name" "$T/err"'
run download rwkv7-world-0.1b x.pth
check "...nor files (exit 2)" eval '[ $RC -eq 2 ]'
refuse "an unknown name is taken for a repo id" "repository 'rwkv7-world-9b' not found" download rwkv7-world-9b

scenario '[{"kind": "status", "code": 404, "error_code": "EntryNotFound", "where": "resolve", "path": "RWKV7-Goose", "count": -1}]'
HF_HUB_CACHE=$T/fb run download rwkv7-world-0.1b
check "a vocab repo without the vocab: the next one is used" \
	eval '[ $RC -eq 0 ] && [ ! -s "$T/err" ] && [ "$(sed -n 2p "$T/out")" = "$T/fb/models--RWKV--v5-Eagle-7B-HF/snapshots/$C_EAGLE/rwkv_vocab_v20230424.txt" ]'
HF_HUB_CACHE=$T/fb2 run convert -q -o "$T/fb.anser" rwkv7-world-0.1b
check "...by convert too" eval '[ $RC -eq 0 ] && [ -d "$T/fb2/models--RWKV--v5-Eagle-7B-HF" ]'
scenario '[]'

# --- convert by name -------------------------------------------------------------
run convert rwkv7-world-0.1b
N=$W/anser/$SHA_WORLD.anser
check "convert NAME: converted into the cache, keyed by the checkpoint's sha256" \
	eval '[ $RC -eq 0 ] && grep -q "^wrote $N: rwkv7 .*World vocab" "$T/out" && [ -s "$N" ]'
run inspect --json "$N"
check "...with the World vocab and the source's sha256 recorded" \
	eval 'grep -q "\"tokenizer\": \"rwkv-world\"" "$T/out" && grep -q "\"sha256\": \"$SHA_WORLD\"" "$T/out"'
log_clear
HF_HUB_OFFLINE=1 run convert -q rwkv7-world-0.1b -o "$T/m.anser"
check "convert NAME -o, offline from the warm cache: no request" \
	eval '[ $RC -eq 0 ] && [ -s "$T/m.anser" ] && [ ! -s "$T/mock.log" ]'
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/cold refuse "convert NAME, offline and cold: one line" "not in the cache" \
	convert rwkv7-world-0.1b
ck=$("$ANSER" download -q BlinkDL/rwkv-7-world "$CK")
voc=$("$ANSER" download -q RWKV/RWKV7-Goose-World2.8-0.1B-HF rwkv_vocab_v20230424.txt)
run convert -q --vocab "$voc" -o "$T/direct.anser" "$ck"
check "convert \"\$(anser download ...)\": reads straight from the cache (through the symlink)" \
	eval '[ $RC -eq 0 ] && "$ANSER" inspect --json "$T/direct.anser" | grep -q "\"sha256\": \"$SHA_WORLD\""'
run download -q --local-dir "$T/ld" rwkv7-world-0.1b
run convert -q "$T/ld/$CK"
check "a name into --local-dir puts the vocab beside the checkpoint, where convert looks" \
	eval '[ $RC -eq 0 ] && [ -f "$T/ld/rwkv_vocab_v20230424.txt" ] && [ -s "$T/ld/${CK%.pth}.anser" ]'

# --- the library's resolution, online --------------------------------------------------
if [ -x "${ANSER_BUILD:-$ROOT/build}/tests/test_hub_models" ]; then
	(cd "$ROOT" && ANSER_TEST_HUB=1 SHA_WORLD=$SHA_WORLD \
		"${ANSER_BUILD:-$ROOT/build}/tests/test_hub_models") >"$T/unit" 2>&1
	RC=$?
	check "anser_model_resolve against the mock (test_hub_models, online part)" \
		eval '[ $RC -eq 0 ] && grep -q "^ok .* - online: resolve a name from an empty cache" "$T/unit" && ! grep -q "^not ok" "$T/unit"'
	grep "^not ok" "$T/unit" | sed 's/^/#   /'
else
	skip "build/tests/test_hub_models is not built"
fi
finish
