#!/bin/sh
# test-arm64.sh - the ARM64 build and its NEON kernels, on an x86-64 Debian
# machine: cross-compiles with aarch64-linux-gnu-gcc into build/arm64 and
# runs under qemu-user (a) test_kernels, every NEON kernel against its
# plain-C twin, and (b) --score and greedy generation on the golden models
# in f16 and q8_0, against this machine's own ./anser.
#
#   sh tools/test-arm64.sh        (needs root once, for the packages below)
#
# Packages: gcc-aarch64-linux-gnu qemu-user, and with 'dpkg
# --add-architecture arm64' the arm64 -dev packages of our dependencies.
# Threads: qemu-user 7.2 on this machine's kernel hangs in pthread_create,
# so everything runs on one thread (ANSER_TEST_THREADS=1, --threads 1,
# OPENBLAS_NUM_THREADS=1); the pool is tested natively by make test.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
me=test-arm64
die() { echo "$me: error: $*" >&2; exit 1; }

pkgs="gcc-aarch64-linux-gnu qemu-user libopenblas-dev:arm64 libzip-dev:arm64
libcjson-dev:arm64 libcurl4-openssl-dev:arm64 zlib1g-dev:arm64"
missing=
for p in $pkgs; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing:$missing; as root: dpkg --add-architecture arm64 && apt-get update && apt-get install$missing"
	dpkg --add-architecture arm64
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

make -s all >/dev/null
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
make -s O=build/arm64 CC=aarch64-linux-gnu-gcc build/arm64/anser \
	build/arm64/tests/test_kernels >/dev/null
export OPENBLAS_NUM_THREADS=1 ANSER_TEST_THREADS=1
q() { timeout 600 qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }

fail=0
out=$(q build/arm64/tests/test_kernels) || fail=1
printf '%s\n' "$out" | grep -E '^(not ok|1\.\.)' || true
n=$(printf '%s\n' "$out" | grep -c '^ok') || true
bad=$(printf '%s\n' "$out" | grep -c '^not ok') || true
printf 'test_kernels under qemu: %s ok, %s failed\n' "$n" "$bad"
[ "$bad" = 0 ] || fail=1
printf '%s\n' "$out" | grep -q '(neon)' || { echo "$me: the NEON kernels were not picked" >&2; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in tiny small; do
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))[sys.argv[2]]["tokens"]; print(" ".join(map(str, t[1:])))' \
		tests/fixtures/golden/manifest.json "$m" >"$tmp/$m.ids"
	for t in f16 q8_0; do
		f=$tmp/$m-$t.anser
		./anser convert -q --no-vocab -t "$t" "tests/fixtures/golden/$m.pth" -o "$f"
		./anser run --ids --score --threads 1 "$f" "$tmp/$m.ids" >"$tmp/x86" 2>/dev/null
		q build/arm64/anser run --ids --score --threads 1 "$f" "$tmp/$m.ids" \
			>"$tmp/arm" 2>/dev/null || fail=1
		if python3 - "$tmp/x86" "$tmp/arm" "$m $t" <<'PY'
import sys
a = [l.split("\t") for l in open(sys.argv[1])]
b = [l.split("\t") for l in open(sys.argv[2])]
ok = len(a) == len(b) > 0 and all(x[0] == y[0] for x, y in zip(a, b))
d = max((abs(float(x[1]) - float(y[1])) for x, y in zip(a, b)), default=1)
print("%s: --score, %d tokens, largest difference from x86-64 %.1g" % (sys.argv[3], len(b), d))
sys.exit(0 if ok and d < 1e-4 else 1)
PY
		then :; else fail=1; fi
	done
	# Greedy tokens: f16 only (q8_0's near-ties on random weights round
	# differently once the integer sums are scaled in another order).
	f=$tmp/$m-f16.anser
	a=$(./anser run --ids --threads 1 -n 30 --temperature 0 "$f" "1 2 3")
	b=$(q build/arm64/anser run --ids --threads 1 -n 30 --temperature 0 "$f" "1 2 3") || fail=1
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		echo "$m f16: 30 greedy tokens the same as on x86-64"
	else
		echo "$m f16: greedy tokens differ from x86-64"; fail=1
	fi
done
[ "$fail" = 0 ] && echo "$me: ok" || { echo "$me: FAILED" >&2; exit 1; }
