#!/bin/sh
# t0510-download-faults: what the network does to a download, injected by
# the mock Hub: 429 with Retry-After or RateLimit, 5xx, dropped connections,
# stalls, a Range ignored or answered wrongly, wrong bytes, expired CDN URLs,
# a full disk, ^C, a stale partial file, two downloads of one file at once.
# Every one must end with the right bytes in place, or with one error line
# and nothing corrupt left behind.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/hub/mock.sh"
mock_start
export ANSER_HUB_WAIT_SCALE=0.01
H=$(cache)
BIG=$H/models--acme--big
fix=$T/hub/big/big.bin
B=$(sha256sum "$fix" | cut -d' ' -f1)
now() { python3 -c 'import time; print(time.time())'; }
elapsed_at_least() { python3 -c 'import sys; sys.exit(not float(sys.argv[2]) - float(sys.argv[1]) >= float(sys.argv[3]))' "$@"; }
fresh() { rm -rf "$H"; log_clear; }
good() { # the file in place, verified, nothing partial
	[ "$RC" -eq 0 ] && cmp -s "$BIG/snapshots/$C_BIG/big.bin" "$fix" &&
		! ls -a "$BIG/blobs" | grep -q incomplete
}
cdn_gets() { logged "srv=cdn method=GET"; }

# --- rate limits and server errors ------------------------------------------
fresh
scenario '[{"kind": "status", "code": 429, "retry_after": 2, "where": "resolve", "method": "HEAD"}]'
t0=$(now)
ANSER_HUB_WAIT_SCALE=0.5 run download acme/big big.bin
check "429 + Retry-After on the HEAD: retried, then done" \
	eval 'good && [ "$(logged "method=HEAD path=/acme/big/resolve/main/big.bin")" = 2 ]'
check "...after waiting Retry-After + 1 s (not the 1 s backoff)" elapsed_at_least "$t0" "$(now)" 1.3
fresh
scenario '[{"kind": "status", "code": 429, "ratelimit": "\"api\";r=0;t=2", "where": "api"}]'
t0=$(now)
ANSER_HUB_WAIT_SCALE=0.5 run download acme/tiny
check "429 + RateLimit \"api\";r=0;t=2 on the API: waited t + 1 s, then done" \
	eval '[ $RC -eq 0 ] && [ "$(logged "status=429")" = 1 ]' 
check "...(the wait)" elapsed_at_least "$t0" "$(now)" 1.3
fresh
scenario '[{"kind": "status", "code": 408, "where": "cdn"}, {"kind": "status", "code": 500, "where": "cdn"}, {"kind": "status", "code": 503, "where": "cdn"}]'
run download acme/big big.bin
check "408, 500 then 503 from the CDN: retried with backoff, then done" \
	eval 'good && [ "$(cdn_gets)" = 4 ] && grep -q "srv=cdn.*status=408" "$T/mock.log" && grep -q "srv=cdn.*status=503" "$T/mock.log"'
fresh
scenario '[{"kind": "status", "code": 502, "where": "api", "path": "revision"}]'
run download acme/tiny
check "a 502 on the revision API is retried" eval '[ $RC -eq 0 ] && [ "$(logged "revision/main")" = 2 ]'
fresh
scenario '[{"kind": "status", "code": 503, "where": "cdn", "count": -1}]'
refuse "503 for ever: one line after 5 retries, naming the status" \
	"answered HTTP 503 (still after 5 retries.*run again to resume" download acme/big big.bin
check "...six tries in all, no blob, no pointer" \
	eval '[ "$(cdn_gets)" = 6 ] && [ ! -e "$BIG/blobs/$B" ] && [ ! -e "$BIG/snapshots/$C_BIG/big.bin" ]'

# --- broken transfers ----------------------------------------------------------
fresh
scenario '[{"kind": "drop", "where": "cdn", "bytes": 1000000}]'
run download acme/big big.bin
check "a connection dropped after 1000000 bytes resumes with Range: bytes=1000000-" \
	eval 'good && grep -q "srv=cdn method=GET .*range=bytes=1000000- .*status=206" "$T/mock.log"'
fresh
scenario '[{"kind": "stall", "where": "cdn", "bytes": 1500000, "seconds": 8}]'
t0=$(now)
HF_HUB_DOWNLOAD_TIMEOUT=1 run download acme/big big.bin
check "a stalled body: the low-speed timeout fires, the download resumes" \
	eval 'good && grep -q "range=bytes=1500000- .*status=206" "$T/mock.log"'
check "...well before the stall would have ended" eval '! elapsed_at_least "$t0" "$(now)" 7'
fresh
scenario '[{"kind": "drop", "where": "cdn", "bytes": 700000}, {"kind": "ignore_range", "where": "cdn"}]'
run download acme/big big.bin
check "a Range answered with 200: the partial is dropped, never appended to" \
	eval 'good && grep -q "range=bytes=700000- .*status=200" "$T/mock.log"'
fresh
scenario '[{"kind": "drop", "where": "cdn", "bytes": 600000}, {"kind": "bad_range", "where": "cdn"}]'
run download acme/big big.bin
check "a 206 from another offset is refused; the download starts over" \
	eval 'good && [ "$(cdn_gets)" = 3 ] && grep -q "range=bytes=600000- .*status=206" "$T/mock.log" &&
	      [ "$(logged "srv=cdn method=GET .*range=- .*status=200")" = 2 ]'
fresh
scenario '[{"kind": "wrong_bytes", "where": "cdn"}]'
run download acme/big big.bin
check "wrong bytes once: the checksum fails, one more download from zero fixes it" \
	eval 'good && [ "$(cdn_gets)" = 2 ]'
fresh
scenario '[{"kind": "wrong_bytes", "where": "cdn", "count": -1}]'
refuse "wrong bytes every time: exit 1, one line" "checksum mismatch for 'big.bin': got sha256" \
	download acme/big big.bin
check "...and nothing left: no blob, no pointer, no partial" \
	eval '[ -z "$(ls -A "$BIG/blobs" 2>/dev/null)" ] && [ ! -e "$BIG/snapshots/$C_BIG/big.bin" ]'
scenario '[{"kind": "wrong_bytes", "where": "resolve", "path": "config.json", "count": -1}]'
refuse "a plain file's git sha1 is checked too" "checksum mismatch for 'config.json': got git sha1" \
	download acme/tiny config.json

# --- expiring URLs ---------------------------------------------------------------
fresh
scenario '[{"kind": "expired", "path": "big.bin"}]'
run download acme/big big.bin
check "an expired CDN URL (403): a fresh one is asked of the Hub" \
	eval 'good && [ "$(logged "method=HEAD path=/acme/big/resolve")" = 2 ] && grep -q "srv=cdn.*status=403" "$T/mock.log"'
fresh
scenario '[{"kind": "drop", "where": "cdn", "bytes": 2000000}, {"kind": "status", "code": 403, "where": "cdn", "skip": 1}]'
run download acme/big big.bin
check "a 403 mid-download: a new URL, then on from the same offset" \
	eval 'good && [ "$(logged "method=HEAD path=/acme/big/resolve")" = 2 ] &&
	      grep -q "range=bytes=2000000- .*status=403" "$T/mock.log" && grep -q "range=bytes=2000000- .*status=206" "$T/mock.log"'
scenario '[]'

# --- disk space ----------------------------------------------------------------
fresh
refuse "a file larger than the free space: refused before any byte" \
	"not enough disk space in '.*blobs': 10000.00 TB needed, .* free; free some space" \
	download acme/huge huge.bin
check "...and nothing written" eval '[ ! -e "$H/models--acme--huge/blobs" ] || [ -z "$(ls -A "$H/models--acme--huge/blobs")" ]'

# --- a partial file from an earlier run -----------------------------------------------
fresh
scenario '[{"kind": "stall", "where": "cdn", "bytes": 1234567, "seconds": 30}]'
"$ANSER" download acme/big big.bin >"$T/out" 2>"$T/err" &
pid=$!
i=0
while :; do
	sz=$(stat -c %s "$BIG/blobs/$B.incomplete" 2>/dev/null || echo 0)
	[ "$sz" -ge 1234567 ] && break
	i=$((i + 1))
	[ "$i" -gt 100 ] && break
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
RC=$?
check "^C: the command dies of SIGINT (130) saying how to resume" \
	eval '[ $RC -eq 130 ] && grep -q "interrupted; run the same command again to resume" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ]'
check "...and keeps the partial file <etag>.incomplete (1234567 bytes)" \
	eval '[ "$(stat -c %s "$BIG/blobs/$B.incomplete")" = 1234567 ] && [ ! -e "$BIG/blobs/$B" ]'
scenario '[]'
log_clear
run download acme/big big.bin
check "the next run resumes it: Range: bytes=1234567- in the Hub's log" \
	eval 'good && [ "$(cdn_gets)" = 1 ] && grep -q "srv=cdn method=GET .*range=bytes=1234567- .*status=206" "$T/mock.log"'
fresh
mkdir -p "$BIG/blobs"
head -c 500000 /dev/urandom >"$BIG/blobs/$B.incomplete"
run download acme/big big.bin
check "a partial file with bad bytes is resumed, fails the check, and is redone" \
	eval 'good && grep -q "range=bytes=500000- .*status=206" "$T/mock.log" && grep -q "srv=cdn.*range=- .*status=200" "$T/mock.log"'
fresh
mkdir -p "$BIG/blobs"
head -c 5000000 /dev/zero >"$BIG/blobs/$B.incomplete"
run download acme/big big.bin
check "a partial file longer than the file is thrown away" \
	eval 'good && [ "$(cdn_gets)" = 1 ] && grep -q "srv=cdn.*range=- " "$T/mock.log"'

# --- two downloads of one file at once ---------------------------------------------
fresh
scenario '[{"kind": "stall", "where": "cdn", "bytes": 1000000, "seconds": 3}]'
HF_HUB_DOWNLOAD_TIMEOUT=1 "$ANSER" download -q acme/big big.bin >"$T/out1" 2>"$T/err1" &
p1=$!
i=0
until [ -e "$BIG/blobs/$B.incomplete" ] || [ "$i" -gt 100 ]; do i=$((i + 1)); sleep 0.05; done
HF_HUB_DOWNLOAD_TIMEOUT=1 "$ANSER" download -q acme/big big.bin >"$T/out2" 2>"$T/err2"
rc2=$?
wait "$p1"
rc1=$?
RC=$((rc1 + rc2))
check "two processes, one file: both succeed with the same path" \
	eval 'good && cmp -s "$T/out1" "$T/out2"'
# The stalled request is logged when the mock's stall ends.
i=0
until [ "$(logged "srv=cdn method=GET .*range=- ")" -ge 1 ] || [ "$i" -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
check "...the second waited on the lock: the file was fetched once (and resumed once)" \
	eval '[ "$(logged "srv=cdn method=GET .*range=- ")" = 1 ] && [ "$(cdn_gets)" = 2 ]'
scenario '[]'

# --- no network ---------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fresh
HF_ENDPOINT=http://127.0.0.1:$port refuse "the Hub unreachable: one line naming it" \
	"cannot reach 127.0.0.1:$port (.*): check the network or HF_ENDPOINT" download acme/big big.bin
finish
