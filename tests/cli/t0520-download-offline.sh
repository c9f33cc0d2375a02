#!/bin/sh
# t0520-download-offline: HF_HUB_OFFLINE with a warm cache and a cold one,
# falling back on the cache when the Hub cannot be reached, and which files
# --include, --exclude and file arguments select (Python's fnmatchcase, as
# huggingface_hub: '*' matches '/', a trailing '/' means a folder).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/hub/mock.sh"
mock_start
export ANSER_HUB_WAIT_SCALE=0.01
H=$(cache)
TINY=$H/models--acme--tiny
S=$TINY/snapshots/$C_TINY
lines() { wc -l <"$1" | tr -d ' '; }

# --- offline, warm cache ----------------------------------------------------------
run download acme/tiny config.json
cp "$T/out" "$T/online"
log_clear
HF_HUB_OFFLINE=1 run download acme/tiny config.json
check "HF_HUB_OFFLINE=1, cached file: the same path, no request" \
	eval '[ $RC -eq 0 ] && cmp -s "$T/out" "$T/online" && [ ! -s "$T/mock.log" ]'
for v in ON yes True; do
	HF_HUB_OFFLINE=$v run download acme/tiny config.json
	check "HF_HUB_OFFLINE=$v counts as true" eval '[ $RC -eq 0 ] && [ ! -s "$T/mock.log" ]'
done
TRANSFORMERS_OFFLINE=1 run download acme/tiny config.json
check "TRANSFORMERS_OFFLINE=1 too" eval '[ $RC -eq 0 ] && [ ! -s "$T/mock.log" ]'
HF_HUB_OFFLINE=0 run download acme/tiny config.json
check "HF_HUB_OFFLINE=0 is online" eval '[ $RC -eq 0 ] && [ -s "$T/mock.log" ]'
run download --include '*.json' acme/tiny
cp "$T/out" "$T/online"
log_clear
HF_HUB_OFFLINE=1 run download --include '*.json' acme/tiny
check "offline, a cached snapshot with --include: the same paths, no request" \
	eval '[ $RC -eq 0 ] && cmp -s "$T/out" "$T/online" && [ ! -s "$T/mock.log" ]'
HF_HUB_OFFLINE=1 run download acme/tiny
check "offline, no filter: the files of the cached snapshot" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 2 ] && grep -qx "$S/sub/dir/nested.json" "$T/out"'
HF_HUB_OFFLINE=1 run download --revision "$C_TINY" acme/tiny config.json
check "offline with a commit as revision" eval '[ $RC -eq 0 ] && grep -qx "$S/config.json" "$T/out"'

# --- offline, cold cache ------------------------------------------------------------
log_clear
HF_HUB_OFFLINE=1 refuse "offline, file not cached: one line saying so" \
	"'weights.bin' of 'acme/tiny' is not in the cache, and HF_HUB_OFFLINE is set: unset it to download" \
	download acme/tiny weights.bin
HF_HUB_OFFLINE=1 refuse "offline, repo not cached" \
	"revision 'main' of 'acme/big' is not in the cache, and HF_HUB_OFFLINE is set" download acme/big big.bin
HF_HUB_OFFLINE=1 refuse "offline, revision not cached" \
	"revision 'v1' of 'acme/tiny' is not in the cache" download --revision v1 acme/tiny README.md
HF_HUB_OFFLINE=1 refuse "offline, a pattern with nothing cached" \
	"no file of 'acme/tiny' matches --include/--exclude in the cache" download --include '*.gguf' acme/tiny
check "...and no request at all" eval '[ ! -s "$T/mock.log" ]'
run download acme/tiny nope.txt
HF_HUB_OFFLINE=1 refuse "offline, a file the Hub said is missing: remembered (.no_exist)" \
	"'nope.txt' does not exist in 'acme/tiny' at revision 'main' (remembered in the cache)" download acme/tiny nope.txt
run download --local-dir "$T/ld" acme/tiny README.md
HF_HUB_OFFLINE=1 run download --local-dir "$T/ld" acme/tiny README.md
check "offline --local-dir: the file already there" eval '[ $RC -eq 0 ] && grep -qx "$T/ld/README.md" "$T/out"'
HF_HUB_OFFLINE=1 refuse "offline --local-dir, file not there" "not in the cache" \
	download --local-dir "$T/ld" acme/tiny config.json

# --- the Hub out of reach: the cache answers ------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HF_ENDPOINT=http://127.0.0.1:$port run download acme/tiny config.json
check "Hub unreachable, file cached: served from the cache" eval '[ $RC -eq 0 ] && grep -qx "$S/config.json" "$T/out"'
HF_ENDPOINT=http://127.0.0.1:$port run download --include '*.json' acme/tiny
check "Hub unreachable, snapshot cached: served from the cache" eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 2 ]'
HF_ENDPOINT=http://127.0.0.1:$port refuse "Hub unreachable, nothing cached: the network error" \
	"cannot reach 127.0.0.1:$port" download acme/big big.bin
HF_ENDPOINT=http://127.0.0.1:$port refuse "...also with --force (the cache is not trusted then)" \
	"cannot reach" download --force acme/tiny config.json

# --- what --include, --exclude and file arguments select ----------------------------------
# The selection is checked on --dry-run's list (its last column).
picked() {
	run download --dry-run "$@"
	[ "$RC" -eq 0 ] || { echo "rc $RC"; cat "$T/err"; return; }
	sed 1d "$T/out" | awk '{print $NF}' | tr '\n' ' ' | sed 's/ $//'
}
sel() {
	what=$1 want=$2; shift 2
	got=$(picked "$@")
	check "$what" eval '[ "$got" = "$want" ]'
	[ "$got" = "$want" ] || echo "#   got: $got"
}
sel "--include '*.json': '*' matches '/' too" "config.json sub/dir/nested.json" --include '*.json' acme/tiny
sel "--include 'gguf/': a trailing '/' is the whole folder" "gguf/q4.gguf gguf/q8.gguf" --include 'gguf/' acme/tiny
sel "--include and --exclude" "gguf/q8.gguf" --include 'gguf/*' --exclude '*q4*' acme/tiny
sel "--exclude twice" ".gitattributes README.md config.json data/a.txt data/b.txt sub/dir/nested.json" \
	--exclude '*.bin' --exclude '*.gguf' acme/tiny
sel "a folder argument 'data/'" "data/a.txt data/b.txt" acme/tiny data/
sel "a glob argument and a name" "README.md data/a.txt data/b.txt" acme/tiny 'data/*.txt' README.md
sel "a bracket class" "config.json data/a.txt data/b.txt" --include '[cd]*' acme/tiny
sel "'?' is one character" "README.md" --include '?EADME.md' acme/tiny
sel "a negated class" "data/b.txt" --include 'data/[!a]*' acme/tiny
sel "'\\' is read as '/'" "sub/dir/nested.json" --include 'sub\dir\*' acme/tiny
refuse "globs are case-sensitive" "no file of 'acme/tiny' matches" download --include '*.JSON' acme/tiny
run download --include '*.gguf' acme/tiny README.md
check "named files win over --include, with a warning" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 1 ] && grep -q "warning: --include and --exclude are ignored" "$T/err"'
run download -q --include '*.gguf' acme/tiny README.md
check "...which -q silences" eval '[ $RC -eq 0 ] && [ ! -s "$T/err" ]'
finish
