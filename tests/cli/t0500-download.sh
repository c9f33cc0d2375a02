#!/bin/sh
# t0500-download: anser download against the mock Hub (tests/hub/): the
# protocol (HEAD, redirects, the token kept off the CDN, pagination,
# revisions, URLs), the cache laid out as huggingface_hub lays it out,
# --local-dir, --dry-run, --force, the output, and one-line errors.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/hub/mock.sh"
mock_start --page-size 2
export ANSER_HUB_WAIT_SCALE=0.01
H=$(cache)
TINY=$H/models--acme--tiny
S=$TINY/snapshots/$C_TINY
fix=$T/hub/tiny-main
sha256() { sha256sum "$1" | cut -d' ' -f1; }
gitsha1() {
	python3 -c 'import hashlib, sys; d = open(sys.argv[1], "rb").read()
print(hashlib.sha1(b"blob %d\0" % len(d) + d).hexdigest())' "$1"
}
lines() { wc -l <"$1" | tr -d ' '; }

# --- one LFS file ------------------------------------------------------
run download acme/tiny weights.bin
W=$(sha256 "$fix/weights.bin")
check "one file: exit 0, its path the one line on stdout, stderr empty" \
	eval '[ $RC -eq 0 ] && [ "$(cat "$T/out")" = "$S/weights.bin" ] && [ ! -s "$T/err" ]'
check "...holding the file's bytes" cmp -s "$S/weights.bin" "$fix/weights.bin"
check "an LFS blob is named by its sha256" test -f "$TINY/blobs/$W"
check "the pointer is the relative symlink ../../blobs/<sha256>" \
	eval '[ "$(readlink "$S/weights.bin")" = "../../blobs/$W" ]'
check "refs/main holds the commit, without a newline" \
	eval 'printf %s "$C_TINY" | cmp -s - "$TINY/refs/main"'
check "CACHEDIR.TAG is huggingface_hub's" \
	eval 'head -n 1 "$H/CACHEDIR.TAG" | grep -qx "Signature: 8a477f597d28d172789f06886806bc55"'
check "the lock is .locks/models--acme--tiny/<etag>.lock, mode 664" \
	eval '[ "$(stat -c %a "$H/.locks/models--acme--tiny/$W.lock")" = 664 ]'
check "no partial file is left" eval '! ls -a "$TINY/blobs" | grep -q incomplete'
check "HEAD on the Hub's /resolve/main/, then GET on the CDN" \
	eval 'grep -q "srv=hub method=HEAD path=/acme/tiny/resolve/main/weights.bin .*status=302" "$T/mock.log" &&
	      grep -q "srv=cdn method=GET path=/cdn/$W?Expires=.*status=200" "$T/mock.log"'
check "HEADs and file GETs ask for identity encoding" \
	eval '! grep "method=HEAD\|srv=cdn" "$T/mock.log" | grep -qv "ae=identity"'
check "the User-Agent names anser" grep -q "ua=anser/0" "$T/mock.log"

# --- plain (non-LFS) and nested files ------------------------------------
log_clear
run download acme/tiny config.json
G=$(gitsha1 "$fix/config.json")
check "a plain file's blob is named by its git blob sha1" \
	eval '[ $RC -eq 0 ] && [ "$(readlink "$S/config.json")" = "../../blobs/$G" ] && cmp -s "$S/config.json" "$fix/config.json"'
check "...and is fetched from the Hub at the resolved commit" \
	grep -q "srv=hub method=GET path=/acme/tiny/resolve/$C_TINY/config.json .*status=200" "$T/mock.log"
run download acme/tiny sub/dir/nested.json
check "a nested file links with one more ../ per folder" \
	eval '[ "$(readlink "$S/sub/dir/nested.json")" = "../../../../blobs/$(gitsha1 "$fix/sub/dir/nested.json")" ]'

# --- the token, and where it goes ---------------------------------------
log_clear
HF_TOKEN=hf_good run download acme/tiny gguf/q8.gguf
check "with HF_TOKEN the Hub gets Authorization" \
	grep -q "srv=hub method=HEAD path=/acme/tiny/resolve/main/gguf/q8.gguf .*auth=1" "$T/mock.log"
check "the CDN never does" eval 'grep -q "srv=cdn" "$T/mock.log" && ! grep -q "srv=cdn.*auth=1" "$T/mock.log" && ! grep -q AUTH-LEAK "$T/mock.log"'
log_clear
mkdir -p "$HF_HOME" && printf 'hf_good\n' >"$HF_HOME/token"
run download acme/private README.md
check "the token file \$HF_HOME/token is read (a private repo opens)" \
	eval '[ $RC -eq 0 ] && grep -q "path=/acme/private/.*auth=1" "$T/mock.log"'
HF_TOKEN_PATH=$T/nowhere run download acme/private model.bin
check "HF_TOKEN_PATH names another token file" eval '[ $RC -eq 1 ]'
rm -f "$HF_HOME/token"
HF_TOKEN=hf_good HF_HUB_DISABLE_IMPLICIT_TOKEN=1 run download acme/private model.bin
check "HF_HUB_DISABLE_IMPLICIT_TOKEN keeps HF_TOKEN unsent" eval '[ $RC -eq 1 ]'
HF_TOKEN=hf_good HF_HUB_DISABLE_IMPLICIT_TOKEN=1 run download --token hf_good acme/private model.bin
check "...but --token is sent" eval '[ $RC -eq 0 ]'
HF_TOKEN=hf_good run download --token hf_bad acme/tiny README.md
check "--token wins over HF_TOKEN" eval '[ $RC -eq 1 ] && grep -q "refused the token" "$T/err"'

# --- a whole repo: pagination, the Python layout --------------------------
log_clear
run download --cache-dir "$T/c2" acme/tiny
check "a whole repo: one path per file, 11 files" eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 11 ]'
check "the tree listing was followed through its Link pages" \
	eval '[ "$(logged "srv=hub method=GET path=/api/models/acme/tiny/tree/$C_TINY?recursive=true.*cursor=")" -ge 5 ]'
check "the revision was resolved once, every file asked at the commit" \
	eval '[ "$(logged "/revision/main")" = 1 ] && ! grep -q "resolve/main/" "$T/mock.log"'
python3 "$ROOT/tests/hub/layout.py" expected "$T/hub" model/acme/tiny main "$C_TINY" >"$T/want"
python3 "$ROOT/tests/hub/layout.py" actual "$T/c2/models--acme--tiny" >"$T/got"
check "the cache tree is huggingface_hub's, entry for entry" cmp -s "$T/want" "$T/got"
cmp -s "$T/want" "$T/got" || diff "$T/want" "$T/got" | head -10 | sed 's/^/#   /'
check "two files with the same bytes share one blob" \
	eval '[ "$(readlink "$T/c2/models--acme--tiny/snapshots/$C_TINY/same/copy1.bin")" = "$(readlink "$T/c2/models--acme--tiny/snapshots/$C_TINY/same/copy2.bin")" ]'
log_clear
run download --cache-dir "$T/c2" acme/tiny
check "again: nothing is fetched, the same paths are printed" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 11 ] && ! grep -q "method=GET path=/cdn\|/resolve/" "$T/mock.log"'
rm -rf "$T/c3"
run download -j 1 --cache-dir "$T/c3" acme/tiny
python3 "$ROOT/tests/hub/layout.py" actual "$T/c3/models--acme--tiny" >"$T/got1"
check "-j 1 gives the same tree" cmp -s "$T/want" "$T/got1"
# huggingface_hub itself, when there is one: ANSER_TEST_HF_PYTHON may name
# an interpreter that has it (e.g. "env PYTHONPATH=... /usr/bin/python3").
HF_PY=${ANSER_TEST_HF_PYTHON:-python3}
if $HF_PY -c 'import huggingface_hub' 2>/dev/null; then
	HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/c2 $HF_PY -c '
from huggingface_hub import hf_hub_download, snapshot_download
print(hf_hub_download("acme/tiny", "sub/dir/nested.json"))
print(snapshot_download("acme/tiny"))' >"$T/hf.out" 2>"$T/hf.err"
	check "huggingface_hub, offline, finds our download" \
		eval 'grep -qx "$T/c2/models--acme--tiny/snapshots/$C_TINY/sub/dir/nested.json" "$T/hf.out"'
	log_clear
	HF_HUB_CACHE=$T/hfc HF_HUB_DISABLE_PROGRESS_BARS=1 $HF_PY -c '
from huggingface_hub import snapshot_download
snapshot_download("acme/tiny")' >"$T/hf.out" 2>"$T/hf.err"
	check "huggingface_hub online sends what we send: revision, tree pages, HEADs at the commit" \
		eval 'grep -q "method=GET path=/api/models/acme/tiny/revision/main" "$T/mock.log" &&
		      grep -q "method=GET path=/api/models/acme/tiny/tree/$C_TINY?recursive=true&expand=false" "$T/mock.log" &&
		      grep -q "method=HEAD path=/acme/tiny/resolve/$C_TINY/weights.bin" "$T/mock.log"'
	python3 "$ROOT/tests/hub/layout.py" actual "$T/hfc/models--acme--tiny" | grep -v "^trees/" >"$T/got-hf"
	check "...and writes the same cache tree as ours (its trees/ listing aside)" cmp -s "$T/want" "$T/got-hf"
	HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/hfc run download acme/tiny
	check "we, offline, find huggingface_hub's download" eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 11 ]'
else
	skip "huggingface_hub is not installed: cannot ask it to read our cache"
fi

# --- revisions ------------------------------------------------------------
log_clear
run download --revision v1 acme/tiny README.md
check "--revision v1: that revision's bytes, under its commit" \
	eval '[ $RC -eq 0 ] && cmp -s "$TINY/snapshots/$C_TINY_V1/README.md" "$T/hub/tiny-v1/README.md"'
check "...and refs/v1 points at it" eval 'printf %s "$C_TINY_V1" | cmp -s - "$TINY/refs/v1"'
run download --revision refs/pr/1 acme/tiny extra.txt
check "refs/pr/1 is sent as refs%2Fpr%2F1 and cached as refs/refs/pr/1" \
	eval '[ $RC -eq 0 ] && grep -q "resolve/refs%2Fpr%2F1/extra.txt" "$T/mock.log" && printf %s "$C_TINY_PR" | cmp -s - "$TINY/refs/refs/pr/1"'
log_clear
run download --revision "$C_TINY_V1" acme/tiny README.md
check "a commit as revision: no request when the file is cached" \
	eval '[ $RC -eq 0 ] && [ ! -s "$T/mock.log" ] && [ ! -e "$TINY/refs/$C_TINY_V1" ]'
log_clear
run download --revision v1 --cache-dir "$T/c4" acme/tiny
check "a snapshot at v1: the tree and the files at v1's commit" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 2 ] && grep -q "tree/$C_TINY_V1?" "$T/mock.log" && ! grep -q "resolve/v1/" "$T/mock.log"'

# --- datasets, URLs, legacy ids ---------------------------------------------
log_clear
run download --repo-type dataset acme/ds train.jsonl
check "--repo-type dataset: /datasets/ URLs, datasets--acme--ds" \
	eval '[ $RC -eq 0 ] && grep -q "path=/datasets/acme/ds/resolve/main/train.jsonl" "$T/mock.log" && [ -f "$H/datasets--acme--ds/snapshots/$C_DS/train.jsonl" ]'
run download hf://datasets/acme/ds/data/part-0.parquet
check "hf://datasets/org/name/path" \
	eval '[ $RC -eq 0 ] && cmp -s "$(cat "$T/out")" "$T/hub/ds/data/part-0.parquet"'
run download hf://acme/tiny@v1/README.md
check "hf://org/name@rev/path" eval '[ $RC -eq 0 ] && cmp -s "$(cat "$T/out")" "$T/hub/tiny-v1/README.md"'
run download https://huggingface.co/acme/tiny/blob/main/data/a.txt
check "a pasted huggingface.co /blob/ URL (fetched from HF_ENDPOINT)" \
	eval '[ $RC -eq 0 ] && cmp -s "$(cat "$T/out")" "$fix/data/a.txt"'
run download "$HF_ENDPOINT/acme/tiny/resolve/v1/config.json?download=true"
check "a /resolve/ URL on the endpoint, with ?download=true" \
	eval '[ $RC -eq 0 ] && cmp -s "$(cat "$T/out")" "$T/hub/tiny-v1/config.json"'
run download gpt9 vocab.txt
check "a legacy id without an org: models--gpt9" \
	eval '[ $RC -eq 0 ] && [ -f "$H/models--gpt9/snapshots/$(cat "$H/models--gpt9/refs/main")/vocab.txt" ]'

# --- where the cache is, symlinks, the User-Agent -------------------------------
(unset HF_HOME; XDG_CACHE_HOME=$T/xdg "$ANSER" download -q acme/tiny README.md) >"$T/out" 2>"$T/err"
check "without HF_HOME: \$XDG_CACHE_HOME/huggingface/hub" \
	eval 'grep -qx "$T/xdg/huggingface/hub/models--acme--tiny/snapshots/$C_TINY/README.md" "$T/out"'
HF_HUB_CACHE=$T/hc run download -q acme/tiny README.md
check "HF_HUB_CACHE names the cache" eval 'grep -qx "$T/hc/models--acme--tiny/snapshots/$C_TINY/README.md" "$T/out"'
HF_HUB_CACHE=$T/hc run download -q --cache-dir "$T/cd" acme/tiny README.md
check "--cache-dir wins over HF_HUB_CACHE" eval 'grep -qx "$T/cd/models--acme--tiny/snapshots/$C_TINY/README.md" "$T/out"'
HF_HUB_DISABLE_SYMLINKS=1 run download --cache-dir "$T/nolink" acme/tiny weights.bin
check "HF_HUB_DISABLE_SYMLINKS: the snapshot holds the file itself, as hf does" \
	eval '[ $RC -eq 0 ] && [ -f "$T/nolink/models--acme--tiny/snapshots/$C_TINY/weights.bin" ] &&
	      [ ! -L "$T/nolink/models--acme--tiny/snapshots/$C_TINY/weights.bin" ] &&
	      cmp -s "$T/nolink/models--acme--tiny/snapshots/$C_TINY/weights.bin" "$fix/weights.bin"'
log_clear
HF_HUB_USER_AGENT_ORIGIN=ci-test run download --cache-dir "$T/ua" acme/tiny README.md
check "HF_HUB_USER_AGENT_ORIGIN is appended to the User-Agent" grep -q "ua=anser/.*; origin/ci-test" "$T/mock.log"

# --- --local-dir ------------------------------------------------------------
log_clear
HF_HOME=$T/empty run download --local-dir "$T/ld1" acme/tiny gguf/
check "--local-dir: real files at DIR/path" \
	eval '[ $RC -eq 0 ] && [ -f "$T/ld1/gguf/q8.gguf" ] && [ ! -L "$T/ld1/gguf/q8.gguf" ] && cmp -s "$T/ld1/gguf/q4.gguf" "$fix/gguf/q4.gguf"'
check "...printed as DIR/path" eval 'grep -qx "$T/ld1/gguf/q8.gguf" "$T/out"'
md=$T/ld1/.cache/huggingface/download/gguf/q8.gguf.metadata
check "...with hf's metadata: commit, etag, time (three lines)" \
	eval '[ "$(lines "$md")" = 3 ] && [ "$(sed -n 1p "$md")" = "$C_TINY" ] && [ "$(sed -n 2p "$md")" = "$(sha256 "$fix/gguf/q8.gguf")" ] && sed -n 3p "$md" | grep -qE "^[0-9]+\.[0-9]+$"'
check "...a .gitignore of '*' and a CACHEDIR.TAG in .cache/huggingface" \
	eval '[ "$(cat "$T/ld1/.cache/huggingface/.gitignore")" = "*" ] && [ -f "$T/ld1/.cache/huggingface/CACHEDIR.TAG" ]'
check "...no partial or lock left outside .cache, no partial inside" \
	eval '[ "$(ls -A "$T/ld1")" = "$(printf ".cache\ngguf")" ] && ! find "$T/ld1" -name "*.incomplete" | grep -q .'
check "...and the hub cache untouched" eval '[ ! -e "$T/empty/hub/models--acme--tiny" ]'
n_cdn=$(logged "srv=cdn method=GET")
HF_HOME=$T/empty run download --local-dir "$T/ld1" acme/tiny gguf/
check "again: nothing fetched" eval '[ $RC -eq 0 ] && [ "$(logged "srv=cdn method=GET")" = "$n_cdn" ]'
sleep 1.1
printf 'edited' >"$T/ld1/gguf/q4.gguf"
HF_HOME=$T/empty run download --local-dir "$T/ld1" acme/tiny gguf/
check "a file edited after its metadata is fetched again" \
	eval '[ "$(logged "srv=cdn method=GET")" = "$((n_cdn + 1))" ] && cmp -s "$T/ld1/gguf/q4.gguf" "$fix/gguf/q4.gguf"'
mkdir -p "$T/ld3"
cp "$fix/weights.bin" "$T/ld3/weights.bin"
log_clear
HF_HOME=$T/empty run download --local-dir "$T/ld3" acme/tiny weights.bin
check "an LFS file already there with the right sha256 is adopted, not fetched" \
	eval '[ $RC -eq 0 ] && ! grep -q "srv=cdn" "$T/mock.log" && [ -f "$T/ld3/.cache/huggingface/download/weights.bin.metadata" ]'
log_clear
HF_HUB_CACHE=$T/c2 run download --local-dir "$T/ld2" acme/tiny
check "--local-dir with the repo in the hub cache: copied, no CDN request" \
	eval '[ $RC -eq 0 ] && [ "$(lines "$T/out")" = 11 ] && ! grep -q "srv=cdn" "$T/mock.log" && cmp -s "$T/ld2/weights.bin" "$fix/weights.bin"'

# --- --dry-run, --force, -q, the progress bar --------------------------------
run download --dry-run --cache-dir "$T/dry" acme/tiny
check "--dry-run: the plan on stdout" \
	eval '[ $RC -eq 0 ] && head -n 1 "$T/out" | grep -q "^will download 11 of 11 files" && grep -q "^download .* weights.bin$" "$T/out"'
check "...and nothing written" eval '[ ! -e "$T/dry" ]'
run download --dry-run --cache-dir "$T/c2" acme/tiny
check "--dry-run of a cached repo: nothing to download" \
	eval 'head -n 1 "$T/out" | grep -q "^will download 0 of 11 files" && grep -q "^cached .* weights.bin$" "$T/out"'
log_clear
run download --force acme/tiny config.json
check "--force fetches a cached file again" \
	eval '[ $RC -eq 0 ] && grep -q "method=GET path=/acme/tiny/resolve/$C_TINY/config.json" "$T/mock.log" && cmp -s "$S/config.json" "$fix/config.json"'
run download -q --include '*.txt' acme/tiny
check "-q: only the paths" eval '[ $RC -eq 0 ] && [ ! -s "$T/err" ] && [ "$(lines "$T/out")" = 2 ]'
python3 - "$ANSER" "$T/pty.out" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "download", "--force", "acme/big", "big.bin"])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
open(sys.argv[2], "wb").write(out)
PY
check "on a terminal: a progress bar (files, bytes, percent), then cleared" \
	eval 'grep -q "1/1 file  4.2 MB / 4.2 MB  100% \[#*\]" "$T/pty.out" && grep -q "$(printf "\r\033\\[K")/.*/big.bin" "$T/pty.out"'
run download --force acme/big big.bin
check "not on a terminal: no progress bar" eval '[ $RC -eq 0 ] && [ ! -s "$T/err" ]'

# --- usage errors (exit 2) and bad input (exit 1, one line) -------------------
usage_error() {
	what=$1; shift
	run "$@"
	check "$what: exit 2 with the usage" eval '[ $RC -eq 2 ] && grep -q "^usage: anser download" "$T/err"'
}
usage_error "no repo" download
usage_error "--local-dir with --cache-dir" download --local-dir a --cache-dir b acme/tiny
usage_error "--jobs 0" download -j 0 acme/tiny
usage_error "an unknown --repo-type" download --repo-type kernel acme/tiny
usage_error "--revision with an hf:// revision" download --revision v1 hf://acme/tiny@v1/README.md
usage_error "a folder argument with --include" download --include '*.json' acme/tiny sub/
usage_error "--list with a repo" download --list acme/tiny
refuse "an id with two slashes" "not a repository id" download a/b/c
refuse "a path that climbs out" "not a valid path" download acme/tiny ../etc/passwd
refuse "a URL on another host" "not a Hugging Face URL" download https://example.com/a/b/resolve/main/x
HF_ENDPOINT=ftp://x refuse "an HF_ENDPOINT that is not http" "HF_ENDPOINT" download acme/tiny README.md
refuse "an unknown repo" "set HF_TOKEN or check the name" download acme/nope README.md
HF_TOKEN=hf_good refuse "an unknown repo with a token (404 RepoNotFound)" \
	"repository 'acme/nope' not found, or the token has no access to it: check the name and the token" \
	download acme/nope README.md
refuse "a private repo without a token" "set HF_TOKEN or check the name" download acme/private README.md
refuse "a gated repo without a token: the URL to accept its terms" \
	"gated: accept its terms at $HF_ENDPOINT/acme/gated, then set HF_TOKEN" download acme/gated model.bin
HF_TOKEN=hf_nogate refuse "a gated repo whose terms the token's account has not accepted" \
	"with the account of your token" download acme/gated model.bin
HF_TOKEN=hf_bad refuse "a token the Hub refuses" "refused the token" download acme/tiny README.md
refuse "a missing file" "'nope.txt' not found in 'acme/tiny' at revision 'main'" download acme/tiny nope.txt
refuse "a missing revision" "revision 'v9' not found in 'acme/tiny': check --revision" \
	download --revision v9 acme/tiny README.md
refuse "one of two named files missing" "'nope.txt' not found" download acme/tiny README.md nope.txt
refuse "patterns that match nothing" "no file of 'acme/tiny' matches" download --include '*.xyz' acme/tiny
refuse "a folder that does not exist" "'nodir/' not found" download acme/tiny nodir/
check "a 404 with X-Repo-Commit is remembered in .no_exist/<commit>/" test -f "$TINY/.no_exist/$C_TINY/nope.txt"

# --- redirects and mirrors ---------------------------------------------------
scenario '[{"kind": "relative_redirect", "path": "README.md", "count": -1}]'
log_clear
HF_TOKEN=hf_good run download --cache-dir "$T/c5" acme/tiny README.md
check "a relative 307 (/api/resolve-cache/) is followed, token and all" \
	eval '[ $RC -eq 0 ] && grep -q "method=HEAD path=/acme/tiny/resolve/main/README.md .*status=307" "$T/mock.log" &&
	      grep -q "method=HEAD path=/api/resolve-cache/models/acme/tiny/$C_TINY/README.md?.*auth=1 .*status=200" "$T/mock.log" &&
	      cmp -s "$T/c5/models--acme--tiny/snapshots/$C_TINY/README.md" "$fix/README.md"'
scenario '[{"kind": "no_commit", "count": -1}]'
log_clear
run download --cache-dir "$T/c6" acme/tiny weights.bin
check "a mirror without X-Repo-Commit: the commit comes from the API" \
	eval '[ $RC -eq 0 ] && grep -q "/api/models/acme/tiny/revision/main" "$T/mock.log" && [ -L "$T/c6/models--acme--tiny/snapshots/$C_TINY/weights.bin" ]'
scenario '[]'
finish
