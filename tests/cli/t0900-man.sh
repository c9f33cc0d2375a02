#!/bin/sh
# t0900-man: the man pages lint cleanly, and each command's -h text and its
# man page agree: the same synopsis and the same options, both ways.
. "$(dirname "$0")/lib.sh"
MAN=$ROOT/man

if command -v mandoc >/dev/null 2>&1; then
	for page in "$MAN"/*.1 "$MAN"/*.5; do
		mandoc -Tlint -Wwarning "$page" >"$T/lint" 2>&1
		check "$(basename "$page") is mandoc -Tlint clean" sh -c '[ ! -s "$1" ]' _ "$T/lint"
		[ -s "$T/lint" ] && sed 's/^/#   /' "$T/lint"
	done
else
	skip "mandoc not installed (apt-get install mandoc)"
fi

for page in "$MAN"/anser-*.1; do
	cmd=$(basename "$page" .1)
	cmd=${cmd#anser-}
	run "$cmd" -h
	cp "$T/out" "$T/help"
	# Options in -h: "  -o, --output FILE" and "      --json".
	grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u >"$T/help-long"
	grep -o '^  -[a-zA-Z],' "$T/help" | cut -c4 | sort -u >"$T/help-short"
	# Options in the page: ".Fl -json", ".Fl o , Fl -output", "Op Fl q".
	grep -o 'Fl -[a-z][a-z0-9-]*' "$page" | sed 's/^Fl /-/' | sort -u >"$T/man-long"
	grep -o 'Fl [a-zA-Z]\b' "$page" | sed 's/^Fl //' | sort -u >"$T/man-short"
	check "anser $cmd: the long options of -h and the man page are the same" \
		cmp -s "$T/help-long" "$T/man-long"
	cmp -s "$T/help-long" "$T/man-long" || diff "$T/help-long" "$T/man-long" | sed 's/^/#   /'
	check "anser $cmd: the short options of -h and the man page are the same" \
		cmp -s "$T/help-short" "$T/man-short"
	cmp -s "$T/help-short" "$T/man-short" || diff "$T/help-short" "$T/man-short" | sed 's/^/#   /'
	if command -v mandoc >/dev/null 2>&1; then
		# The usage runs to the first blank line; whitespace collapses.
		sed -n '1,/^$/p' "$T/help" | sed 's/^usage: //' | tr -s ' \n' '  ' |
			sed 's/^ *//; s/ *$//' >"$T/usage"
		echo >>"$T/usage"
		mandoc -Tascii "$page" | col -bx 2>/dev/null |
			sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
			tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//' >"$T/synopsis"
		echo >>"$T/synopsis"
		check "anser $cmd: the usage line is the man page's SYNOPSIS" \
			cmp -s "$T/usage" "$T/synopsis"
		cmp -s "$T/usage" "$T/synopsis" || { sed 's/^/#   help: /' "$T/usage"; sed 's/^/#   man:  /' "$T/synopsis"; }
	fi
done
check "every command with a man page is in anser.1" \
	sh -c 'for p in "$1"/anser-*.1; do c=$(basename "$p" .1); grep -q "Xr $c 1" "$1/anser.1" || exit 1; done' _ "$MAN"
finish
