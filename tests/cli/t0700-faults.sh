#!/bin/sh
# t0700-faults: what the machine does to a command.  Output to a full disk
# (a full tmpfs, and a file size limit) fails with one error line and no
# partial file; a model file truncated after conversion is refused at load;
# ^C during convert or download leaves nothing half-written in place (a
# download keeps only its resumable .incomplete); a reader that closes
# standard output early ends the command quietly, killed by SIGPIPE.
. "$(dirname "$0")/lib.sh"

# A model with a tokenizer (every byte) for run and eval.
python3 - "$T/vocab.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write("%d b'\\x%02x' 1\n" % (b + 1, b))
PY
"$ANSER" convert -q --vocab "$T/vocab.txt" "$STATIC/golden/tiny.pth" -o "$T/tiny.anser"
M=$T/tiny.anser
mkdir -p "$T/data/lambada"
printf '{"text": "the cat sat on the mat"}\n{"text": "on and on it went"}\n' \
	>"$T/data/lambada/lambada_test.jsonl"

# refuse_in WHAT DIR ARGS: runs anser ARGS through $LIMIT (a command
# prefix); it must exit 1 with one error line naming the cause, and DIR
# must hold nothing new, temporary files included.
refuse_in() {
	what=$1 dir=$2; shift 2
	before=$(count_files "$dir")
	$LIMIT "$ANSER" "$@" >/dev/null 2>"$T/err"
	RC=$?
	if [ "$RC" -eq 1 ] && one_error_line "$CAUSE" &&
		[ "$(count_files "$dir")" -eq "$before" ]; then
		ok "$what, one error line, no partial file"
	else
		not_ok "$what (exit $RC, $(count_files "$dir") files, $before before)"
		ls -la "$dir" | sed 's/^/#   /'
	fi
}

# --- a file size limit (ulimit -f): EFBIG, not death by SIGXFSZ --------------
# The limit counts blocks of 512 bytes in sh (1024 in bash): 64 blocks are
# 32 or 64 kB, below the state's 66 kB; 1 block is below the JSON's 1 kB.
mkdir -p "$T/lim"
limited() { (ulimit -f "$BLOCKS" && exec "$@"); }
LIMIT=limited CAUSE="File too large"
if (ulimit -f 64) 2>/dev/null; then
	BLOCKS=64
	refuse_in "file size limit: convert fails" "$T/lim" convert --no-vocab \
		-q -o "$T/lim/small.anser" "$STATIC/golden/small.pth"
	refuse_in "file size limit: run --state-out fails" "$T/lim" run --ids \
		-n 1 --temperature 0 --state-out "$T/lim/tiny.state" "$M" "1 2 3"
	BLOCKS=1
	refuse_in "file size limit: eval --json fails" "$T/lim" eval \
		--data-dir "$T/data" --json "$T/lim/r.json" "$M" lambada_openai
else
	skip "ulimit -f does not work in this shell"
	skip "ulimit -f does not work in this shell"
	skip "ulimit -f does not work in this shell"
fi

# --- a full file system: a small tmpfs, filled up ---------------------------
# Mounted in a mount namespace of its own (root only), so it goes away with
# the command whatever happens.
fullfs() {
	unshare -m sh -c '
		dir=$1
		shift
		mount -t tmpfs -o size=256k tmpfs "$dir" || exit 99
		cat /dev/zero >"$dir/.fill" 2>/dev/null
		"$@"
		rc=$?
		find "$dir" -mindepth 1 ! -name .fill >"$dir/../full.ls"
		exit $rc' sh "$T/full" "$@"
}
mkdir -p "$T/full"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' _ "$T/full" \
		2>/dev/null; then
	# Inside the namespace the folder is the tmpfs: check it there.
	full_refuse() {
		what=$1; shift
		fullfs "$ANSER" "$@" >/dev/null 2>"$T/err"
		RC=$?
		if [ "$RC" -eq 1 ] && one_error_line "No space left on device" &&
			[ ! -s "$T/full.ls" ]; then
			ok "$what, one error line, no partial file"
		else
			not_ok "$what (exit $RC)"
			sed 's/^/#   left: /' "$T/full.ls"
		fi
	}
	full_refuse "full disk: convert fails" convert --no-vocab -q \
		-o "$T/full/small.anser" "$STATIC/golden/small.pth"
	full_refuse "full disk: run --state-out fails" run --ids -n 1 \
		--temperature 0 --state-out "$T/full/tiny.state" "$M" "1 2 3"
	full_refuse "full disk: eval --json fails" eval --data-dir "$T/data" \
		--json "$T/full/r.json" "$M" lambada_openai
else
	for w in convert "run --state-out" "eval --json"; do
		skip "full disk: $w (mounting a tmpfs needs root and unshare -m)"
	done
fi

# --- a model file truncated after conversion --------------------------------
size=$(stat -c %s "$M")
for cut in 0 64 4096 $((size / 2)) $((size - 1)); do
	head -c "$cut" "$M" >"$T/cut.anser"
	refuse "truncated to $cut of $size bytes: run refuses it at load" \
		"too small\|truncated\|is empty\|not an anser\|neither" run --ids -n 1 "$T/cut.anser" "1 2"
	refuse "truncated to $cut of $size bytes: inspect refuses it" \
		"too small\|truncated\|is empty\|not an anser\|neither" inspect "$T/cut.anser"
done

# --- ^C during convert -----------------------------------------------------
# A model that takes a moment to convert (480 MB, about 3 s here): either it
# finished before the signal, or it died of SIGINT leaving nothing.
mkdir -p "$T/big"
if python3 "$ROOT/tools/mkpth.py" model --layers 8 --embd 1024 --vocab 65536 \
	"$T/big.pth" >/dev/null 2>&1; then
	"$ANSER" convert --no-vocab -q -o "$T/big/big.anser" "$T/big.pth" \
		2>"$T/err" &
	pid=$!
	sleep 0.5
	kill -INT "$pid"
	wait "$pid"
	RC=$?
	check "^C during convert: finished, or died of SIGINT leaving no file" \
		eval '{ [ $RC -eq 0 ] && [ -s "$T/big/big.anser" ] &&
		        [ "$(count_files "$T/big")" -eq 1 ]; } ||
		      { [ $RC -eq 130 ] && [ "$(count_files "$T/big")" -eq 0 ]; }'
	echo "# convert after ^C: exit $RC"
	rm -f "$T/big.pth" "$T/big/big.anser"
else
	skip "^C during convert (tools/mkpth.py failed)"
fi

# --- standard output closed early ------------------------------------------
# The command is killed by SIGPIPE (status 141 in the shell), with nothing on
# standard error; a short output that fits in the pipe may still end with 0.
# "trap '' PIPE" makes the command start with SIGPIPE ignored, as some
# parents leave it: anser restores the default, so the same happens.
yes 'the cat sat on the mat' | head -c 200000 >"$T/text.txt"
quiet_pipe() {
	what=$1 bytes=$2; shift 2
	{ "$ANSER" "$@" 2>"$T/err"; echo $? >"$T/rc"; } | head -c "$bytes" >/dev/null
	RC=$(cat "$T/rc")
	if { [ "$RC" -eq 141 ] || [ "$RC" -eq 0 ]; } && [ ! -s "$T/err" ]; then
		ok "$what: quiet end (exit $RC)"
	else
		not_ok "$what (exit $RC)"
	fi
}
quiet_pipe "run | head -c 10" 10 run -n 5000 --seed 1 "$M" "the"
check "...killed by SIGPIPE" eval '[ $RC -eq 141 ]'
quiet_pipe "run --score | head -c 10" 10 run --score "$M" "$T/text.txt"
check "...killed by SIGPIPE" eval '[ $RC -eq 141 ]'
quiet_pipe "inspect --tensors | head -1" 1 inspect --tensors "$STATIC/golden/small.pth"
quiet_pipe "download --list | head -1" 1 download --list
(
	trap '' PIPE
	{ "$ANSER" run -n 5000 --seed 1 "$M" "the" 2>"$T/err"; echo $? >"$T/rc"; } |
		head -c 10 >/dev/null
)
RC=$(cat "$T/rc")
check "run | head with SIGPIPE ignored by the parent: killed by SIGPIPE, quietly" \
	eval '[ $RC -eq 141 ] && [ ! -s "$T/err" ]'

# --- ^C during a download -------------------------------------------------
. "$ROOT/tests/hub/mock.sh"
mock_start
H=$(cache)
BIG=$H/models--acme--big
B=$(sha256sum "$T/hub/big/big.bin" | cut -d' ' -f1)
scenario '[{"kind": "stall", "where": "cdn", "bytes": 1234567, "seconds": 30}]'
mkdir -p "$T/dl"
"$ANSER" download --local-dir "$T/dl" acme/big big.bin >"$T/out" 2>"$T/err" &
pid=$!
i=0
until [ "$(find "$T/dl" -name '*.incomplete' -size +1205k | wc -l)" -gt 0 ] ||
	[ "$i" -gt 250 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
RC=$?
check "^C during download --local-dir: dies of SIGINT" eval '[ $RC -eq 130 ]'
check "...leaving only the partial .incomplete (no big.bin)" \
	eval '[ ! -e "$T/dl/big.bin" ] &&
	      [ "$(find "$T/dl" -type f -name "*.incomplete" | wc -l)" -eq 1 ] &&
	      [ -z "$(find "$T/dl" -type f ! -name "*.incomplete" ! -name "*.lock" ! -path "*/.cache/huggingface/.gitignore" ! -name CACHEDIR.TAG)" ]'
scenario '[{"kind": "stall", "where": "cdn", "bytes": 1234567, "seconds": 30}]'
"$ANSER" download acme/big big.bin >"$T/out" 2>"$T/err" &
pid=$!
i=0
until [ "$(stat -c %s "$BIG/blobs/$B.incomplete" 2>/dev/null || echo 0)" -ge 1234567 ] ||
	[ "$i" -gt 250 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
RC=$?
check "^C during download to the cache: dies of SIGINT" eval '[ $RC -eq 130 ]'
check "...leaving no blob and no snapshot entry, only <etag>.incomplete" \
	eval '[ ! -e "$BIG/blobs/$B" ] && [ -e "$BIG/blobs/$B.incomplete" ] &&
	      [ -z "$(find "$BIG/snapshots" -mindepth 2 2>/dev/null)" ]'
scenario '[]'

finish
