# lib.sh - helpers for the command-line tests, sourced by tests/cli/t*.sh.
# Each test prints TAP and exits non-zero when a check failed.
#
#   run ARGS...            runs anser; sets RC, stdout in $T/out, stderr in $T/err
#   check "what" CMD...    one check: CMD must succeed
#   refuse "what" PATTERN ARGS...
#                          anser ARGS must exit 1 with exactly one stderr line,
#                          "anser CMD: error: ..." containing PATTERN
#   finish                 prints the plan; the script's exit status
set -u
ROOT=${ANSER_ROOT:-$(pwd)}
ANSER=${ANSER_BIN:-$ROOT/anser}
FIX=${ANSER_FIXTURES:-$ROOT/build/fixtures}
STATIC=$ROOT/tests/fixtures
GOLDEN=${ANSER_GOLDEN:-$ROOT/../shared/golden}
DATA=${ANSER_DATA:-$ROOT/../shared/data}
T=$(mktemp -d /tmp/anser-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset ANSER_VOCAB
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -s "$T/err" ] && sed 's/^/#   stderr: /' "$T/err" | head -5
	return 0
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() {
	what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
run() {
	"$ANSER" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
# True when stderr is one line, "anser SUB: error: ...", matching $1.
one_error_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] &&
		grep -q "^anser [a-z]*: error: " "$T/err" &&
		grep -q -- "$1" "$T/err"
}
refuse() {
	what=$1 pattern=$2; shift 2
	run "$@"
	if [ "$RC" -eq 1 ] && one_error_line "$pattern"; then
		ok "$what"
	else
		not_ok "$what (exit $RC)"
	fi
}
# Files in a folder, hidden ones included (temporary files start with '.').
count_files() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
