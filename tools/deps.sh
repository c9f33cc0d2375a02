#!/bin/sh
# deps.sh - make sure the Debian packages anser builds and tests with are here.
#
#   tools/deps.sh           install what is missing when run as root,
#                           else print the exact apt-get line and fail
#   tools/deps.sh --check   only check the build's libraries; print the
#                           apt-get line and fail
#   tools/deps.sh --have-fuzzer [CC]
#                           succeed if CC (default clang) links libFuzzer
#
# Libraries are found through pkg-config, as the Makefile finds them.  The
# test tools are installed too when run as root: python3, which the suite
# needs, and mandoc (make lint), clang with its libFuzzer runtime (make
# fuzz) and valgrind (make valgrind), without which only those skip: as
# another user a missing one is named, and the tests that need it skip.
set -u

# Whether $1 compiles and links a libFuzzer target (clang needs its
# runtime, libclang-rt-dev, which it only recommends).
have_fuzzer() {
	command -v "$1" >/dev/null 2>&1 || return 1
	d=$(mktemp -d /tmp/anser-deps-XXXXXX) || return 1
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
		'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$d/f.c"
	"$1" -fsanitize=fuzzer -o "$d/f" "$d/f.c" >/dev/null 2>&1
	rc=$?
	rm -rf "$d"
	return $rc
}

check_only=0
case "${1:-}" in
--check) check_only=1 ;;
--have-fuzzer) have_fuzzer "${2:-clang}"; exit ;;
esac

# pkg-config module -> Debian package
libs="zlib:zlib1g-dev libzip:libzip-dev libcjson:libcjson-dev
libcurl:libcurl4-openssl-dev openblas:libopenblas-dev"

missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
if command -v pkg-config >/dev/null 2>&1; then
	for pair in $libs; do
		pkg-config --exists "${pair%%:*}" 2>/dev/null ||
			missing="$missing ${pair#*:}"
	done
else
	missing="$missing pkg-config"
	for pair in $libs; do missing="$missing ${pair#*:}"; done
fi
# The test suite drives the binary with sh and python3 (standard library
# only; its fixtures are written by it, so it is required), lints the man
# pages with mandoc; 'make fuzz' needs clang and libFuzzer, 'make valgrind'
# valgrind.
tools=""
if [ "$check_only" = 0 ]; then
	command -v python3 >/dev/null 2>&1 || missing="$missing python3"
	command -v mandoc >/dev/null 2>&1 || tools="$tools mandoc"
	command -v valgrind >/dev/null 2>&1 || tools="$tools valgrind"
	have_fuzzer clang || tools="$tools clang libclang-rt-dev"
fi

[ -z "$missing$tools" ] && exit 0

line="apt-get install -y --no-install-recommends$missing$tools"
if [ "$check_only" = 0 ] && [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing$tools" >&2
	export DEBIAN_FRONTEND=noninteractive
	# An old package index is the usual reason an install fails on a fresh
	# machine, so refresh it first.
	apt-get update -qq >&2 && $line >&2 && exit 0
	if [ -z "$missing" ]; then
		echo "deps: warning: installing the test tools failed; the tests" \
			"that need them will skip; run: $line" >&2
		exit 0
	fi
	echo "deps: error: installing packages failed; run: $line" >&2
	exit 1
fi
if [ -z "$missing" ]; then
	# Only test tools: the tests that need one skip, saying so.
	echo "deps: note: not installed:$tools (the tests that need them" \
		"skip); run: sudo apt-get install -y --no-install-recommends$tools" >&2
	exit 0
fi
echo "deps: error: missing Debian packages; run: sudo $line" >&2
exit 1
