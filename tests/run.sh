#!/bin/sh
# run.sh - the test suite: C unit tests (build/tests/test_*) and command-line
# tests (tests/cli/t*.sh), each printing TAP.  Prints one line per test file
# and the failing checks; exits 1 if anything failed.
#
#   sh tests/run.sh [PATTERN]    run only the files whose name contains PATTERN
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${ANSER_BIN:=$ROOT/anser}"
: "${ANSER_BUILD:=$ROOT/build}"
ANSER_FIXTURES=$ANSER_BUILD/fixtures
ANSER_ROOT=$ROOT
export ANSER_BIN ANSER_BUILD ANSER_FIXTURES ANSER_ROOT
pattern=${1:-}

sh "$ROOT/tests/gen-fixtures.sh" || exit 1
logs=$ANSER_BUILD/test-logs
mkdir -p "$logs"

failed=0 files=0 checks=0
for t in "$ANSER_BUILD"/tests/test_* "$ROOT"/tests/cli/t*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	case "$name" in *.d) continue ;; esac
	files=$((files + 1))
	log=$logs/$name.log
	case "$t" in
	*.sh) (cd "$ROOT" && sh "$t") >"$log" 2>&1 ;;
	*) (cd "$ROOT" && "$t") >"$log" 2>&1 ;;
	esac
	rc=$?
	n=$(grep -c '^ok ' "$log")
	bad=$(grep -c '^not ok' "$log")
	skips=$(grep -c '^ok .*# SKIP' "$log")
	checks=$((checks + n + bad))
	if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ] || ! grep -q '^1\.\.' "$log"; then
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc, $bad of $((n + bad)) failed)"
		grep -A3 '^not ok' "$log" | sed 's/^/    /'
		# Sanitizer reports and crashes are not TAP; show the end.
		[ "$bad" -eq 0 ] && tail -n 15 "$log" | sed 's/^/    /'
	else
		if [ "$skips" -gt 0 ]; then echo "ok   $name ($n checks, $skips skipped)"; else echo "ok   $name ($n checks)"; fi
	fi
done
echo "$files files, $checks checks, $failed failed"
[ "$files" -gt 0 ] && [ "$failed" -eq 0 ]
