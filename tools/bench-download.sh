#!/bin/sh
# bench-download.sh - throughput of 'anser download' on loopback: one LFS
# file (1 GB by default) from the mock Hub (tests/hub/mockhub.py), against
# 'curl -o' of the same CDN URL, and 'curl -o' followed by 'sha256sum' (the
# same work anser does: fetch and verify).  Prints MB/s (decimal) and the CPU
# seconds of the client; the best of 3 runs of each.
#
#   sh tools/bench-download.sh [ANSER] [MB]
#
# Needs python3 and curl.  Uses a temporary folder on /tmp (2 x MB of space)
# and removes it, and the mock, when done.
set -eu
ANSER=${1:-./anser}
MB=${2:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $ANSER in /*) ;; *) ANSER=$(pwd)/$ANSER ;; esac
command -v curl >/dev/null || { echo "bench-download: needs curl" >&2; exit 1; }
dir=$(mktemp -d /tmp/anser-bench-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-download: writing a $MB MB file" >&2
mkdir -p "$dir/hub/bench"
head -c "$((MB * 1000000))" /dev/urandom >"$dir/hub/bench/big.bin"
c=0123456789abcdef0123456789abcdef01234567
cat >"$dir/hub/repos.json" <<EOF
{"tokens": {}, "repos": {"model/acme/bench": {"refs": {"main": "$c"},
 "commits": {"$c": "bench"}, "lfs": ["*.bin"]}}}
EOF
python3 "$ROOT/tests/hub/mockhub.py" --root "$dir/hub" --state "$dir/state" \
	--log /dev/null --parent $$ --lifetime 3600 >"$dir/mock.out" 2>&1 &
pid=$!
while [ ! -s "$dir/state" ]; do
	kill -0 "$pid" 2>/dev/null || { cat "$dir/mock.out" >&2; exit 1; }
	sleep 0.2
done
. "$dir/state"
ep=http://127.0.0.1:$HUB_PORT
url=$(curl -sI "$ep/acme/bench/resolve/main/big.bin" |
	sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')

# measure LABEL CMD...: best wall time of 3, with the CPU time of that run.
measure() {
	python3 - "$MB" "$@" <<'PY'
import os, subprocess, sys, time
mb, label, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3]
best = None
for _ in range(3):
    before = os.times()
    t = time.time()
    subprocess.run(["sh", "-c", cmd], check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - t
    after = os.times()
    cpu = (after.children_user - before.children_user,
           after.children_system - before.children_system)
    if best is None or wall < best[0]:
        best = (wall, cpu)
wall, (user, sys_) = best
print("%-34s %7.0f MB/s  %6.2f s  cpu %5.2f s (user %.2f, sys %.2f)"
      % (label, mb / wall, wall, user + sys_, user, sys_))
PY
}

export HF_ENDPOINT="$ep"
echo "file: $MB MB over loopback (best of 3; CPU = client user+sys)"
measure "curl -o" "rm -f '$dir/c.bin'; curl -s -o '$dir/c.bin' '$url'"
measure "curl -o + sha256sum" "rm -f '$dir/c.bin'; curl -s -o '$dir/c.bin' '$url' && sha256sum '$dir/c.bin'"
measure "anser download (fetch+sha256+fsync)" "rm -rf '$dir/hf'; HF_HOME='$dir/hf' '$ANSER' download -q acme/bench big.bin"
measure "anser download -j1 --local-dir" "rm -rf '$dir/ld'; '$ANSER' download -q -j 1 --local-dir '$dir/ld' acme/bench big.bin"
cmp -s "$dir/c.bin" "$dir/hub/bench/big.bin" && echo "curl's copy matches"
HF_HOME=$dir/hf "$ANSER" download -q acme/bench big.bin | xargs cmp -s "$dir/hub/bench/big.bin" &&
	echo "anser's copy matches"
