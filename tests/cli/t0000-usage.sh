#!/bin/sh
# t0000-usage: global options, dispatch, exit statuses, help, output errors.
. "$(dirname "$0")/lib.sh"

run -h
check "anser -h exits 0 and lists the commands" \
	sh -c '[ '"$RC"' -eq 0 ] && grep -q "convert" "$1" && grep -q "inspect" "$1"' _ "$T/out"
run --version
check "anser --version prints the version" grep -q '^anser [0-9]*\.[0-9]*\.[0-9]*$' "$T/out"
run -V
check "anser -V is --version" grep -q '^anser ' "$T/out"
run
check "no command: usage on stderr, exit 2" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "^usage: anser" "$1" && [ ! -s "$2" ]' _ "$T/err" "$T/out"
run frobnicate
check "an unknown command exits 2 naming it" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "anser: error: unknown command .frobnicate." "$1"' _ "$T/err"
run --bogus
check "an unknown global option exits 2 naming it" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "unknown option .--bogus." "$1"' _ "$T/err"
for cmd in convert inspect download run eval; do
	run "$cmd" -h
	cp "$T/out" "$T/h1"
	check "anser $cmd -h exits 0 with a usage line" \
		sh -c '[ '"$RC"' -eq 0 ] && grep -q "^usage: anser '"$cmd"'" "$1"' _ "$T/h1"
	run help "$cmd"
	check "anser help $cmd prints the same text" cmp -s "$T/out" "$T/h1"
done
run convert --bogus x.pth
check "an unknown option of a command exits 2 with usage and a hint" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "^anser convert: error: unknown option .--bogus." "$1" &&
	       grep -q "^usage: anser convert" "$1" && grep -q "anser convert -h" "$1"' _ "$T/err"
run convert -o
check "a missing option value exits 2 and says so" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "needs a value" "$1"' _ "$T/err"
run inspect
check "a missing operand exits 2" sh -c '[ '"$RC"' -eq 2 ]'
run convert --type q5 x.pth
check "an unknown --type exits 2 naming it" \
	sh -c '[ '"$RC"' -eq 2 ] && grep -q "unknown type .q5." "$1" && grep -q "q8_0 or q4_0" "$1"' _ "$T/err"
run help nope
check "anser help of an unknown command exits 2" sh -c '[ '"$RC"' -eq 2 ]'
if [ -w /dev/full ]; then
	"$ANSER" -h >/dev/full 2>"$T/err"
	RC=$?
	check "a write failure on stdout is an error, exit 1" \
		sh -c '[ '"$RC"' -eq 1 ] && grep -q "write failure on standard output" "$1"' _ "$T/err"
	"$ANSER" inspect "$STATIC/golden/micro.pth" >/dev/full 2>"$T/err"
	RC=$?
	check "inspect to a full disk fails" sh -c '[ '"$RC"' -eq 1 ]'
else
	skip "no /dev/full"
fi
finish
