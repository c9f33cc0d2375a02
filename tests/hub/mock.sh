# mock.sh - the mock Hub for the download tests (tests/cli/t05*.sh), sourced
# after tests/cli/lib.sh.
#
#   mock_start [--page-size N]   makes the fixtures, starts the mock on two
#                                free loopback ports (Hub and CDN), points
#                                HF_ENDPOINT and HF_HOME at it and at $T;
#                                the mock stops when the script exits
#   scenario 'JSON'              the faults to inject from now on
#   log_clear                    forgets the requests logged so far
#   logged PATTERN               the number of logged requests matching
#   cache                        the hub cache: $HF_HOME/hub
#
# The mock logs one line per request to $T/mock.log, for example
#   srv=cdn method=GET path=/cdn/... range=bytes=5- auth=0 ae=identity status=206 ua=...
MOCK_PID=

mock_stop() {
	if [ -n "$MOCK_PID" ]; then
		kill "$MOCK_PID" 2>/dev/null
		wait "$MOCK_PID" 2>/dev/null
		MOCK_PID=
	fi
}

mock_start() {
	if ! command -v python3 >/dev/null 2>&1; then
		echo "1..0 # SKIP python3 is needed for the mock Hub"
		exit 0
	fi
	python3 "$ROOT/tests/hub/mkfixtures.py" "$T/hub" "$STATIC/golden/micro.pth" || exit 1
	. "$T/hub/fixtures.env"
	: >"$T/scenario.json"
	: >"$T/mock.log"
	python3 "$ROOT/tests/hub/mockhub.py" --root "$T/hub" --state "$T/mock.state" \
		--log "$T/mock.log" --scenario "$T/scenario.json" --parent $$ \
		--lifetime 600 "$@" >"$T/mock.out" 2>&1 &
	MOCK_PID=$!
	trap 'mock_stop; rm -rf "$T"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	i=0
	while [ ! -s "$T/mock.state" ]; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$MOCK_PID" 2>/dev/null; then
			echo "Bail out! the mock Hub did not start"
			sed 's/^/# /' "$T/mock.out"
			exit 1
		fi
		sleep 0.1
	done
	. "$T/mock.state"
	HF_ENDPOINT=http://127.0.0.1:$HUB_PORT
	HF_HOME=$T/hfhome
	export HF_ENDPOINT HF_HOME
	unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_TOKEN_PATH HF_HUB_CACHE \
		HUGGINGFACE_HUB_CACHE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE \
		HF_HUB_DISABLE_SYMLINKS HF_HUB_DISABLE_IMPLICIT_TOKEN \
		HF_HUB_ETAG_TIMEOUT HF_HUB_DOWNLOAD_TIMEOUT XDG_CACHE_HOME
}

scenario() {
	printf '%s\n' "$1" >"$T/scenario.json.new"
	mv "$T/scenario.json.new" "$T/scenario.json"
}

log_clear() { : >"$T/mock.log"; }

logged() { grep -c -- "$1" "$T/mock.log"; }

cache() { echo "$HF_HOME/hub"; }
