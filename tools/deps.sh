#!/bin/sh
# deps.sh - make sure the Debian packages anser builds and tests with are here.
#
#   tools/deps.sh           install what is missing when run as root,
#                           else print the exact apt-get line and fail
#   tools/deps.sh --check   only check; print the apt-get line and fail
#
# Libraries are found through pkg-config, as the Makefile finds them.
set -u

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

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
# only) and lints the man pages with mandoc.
if [ "$check_only" = 0 ]; then
	command -v python3 >/dev/null 2>&1 || missing="$missing python3"
	command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
fi

[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$check_only" = 0 ] && [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# An old package index is the usual reason an install fails on a fresh
	# machine, so refresh it first.
	apt-get update -qq >&2 && $line >&2 && exit 0
	echo "deps: error: installing packages failed; run: $line" >&2
	exit 1
fi
echo "deps: error: missing Debian packages; run: sudo $line" >&2
exit 1
