#!/usr/bin/env bash
# Contract fuzzing with Schemathesis: starts tasker-server on a free loopback
# port (temporary SQLite database and data directory, HS256 auth, no rate
# limits), then lets Schemathesis generate requests from the server's own
# /openapi.json and check every answer against that document: status codes,
# content types, headers and bodies; that invalid input is refused and valid
# input accepted; that tokens are required; and, following the document's
# `links`, that created resources can be read, changed and deleted (and are
# gone afterwards).
#
# Usage: .ci/schemathesis.sh [path/to/tasker-server] [schemathesis run options...]
#
#   The binary comes from the first argument, else $TASKER_SERVER_BIN, else
#   $CARGO_TARGET_DIR/debug/tasker-server (built with cargo when missing).
#   Further arguments go to `schemathesis run`, e.g.
#   --include-operation-id createTodo --continue-on-failure
#
# Knobs for a longer local run (the defaults are what CI runs, ~3-5 minutes
# on 2 cores):
#   TASKER_SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 400)
#   TASKER_SCHEMATHESIS_SEED          random seed (default 20240611)
#   TASKER_SCHEMATHESIS_WORKERS       concurrent workers (default 1: the order of
#                                     requests, and so the run, depends only on
#                                     the seed; Python 3.11's ast module is also
#                                     not thread-safe, which Hypothesis trips
#                                     over with several workers)
#   TASKER_SCHEMATHESIS_REPORT_DIR    where the JUnit report and the server log
#                                     go (default $CARGO_TARGET_DIR/schemathesis)
#   e.g. TASKER_SCHEMATHESIS_MAX_EXAMPLES=500 TASKER_SCHEMATHESIS_SEED=$RANDOM .ci/schemathesis.sh
#
# Exits non-zero when Schemathesis reports any failure or error, or when the
# server does not start.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

# Pinned so that a run is reproducible; bump deliberately.
SCHEMATHESIS_VERSION=4.32.5

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tasker/target}"
venv="$HOME/.cache/tasker/venv-schemathesis"
max_examples="${TASKER_SCHEMATHESIS_MAX_EXAMPLES:-400}"
seed="${TASKER_SCHEMATHESIS_SEED:-20240611}"
workers="${TASKER_SCHEMATHESIS_WORKERS:-1}"
report_dir="${TASKER_SCHEMATHESIS_REPORT_DIR:-$CARGO_TARGET_DIR/schemathesis}"
binary="${TASKER_SERVER_BIN:-$CARGO_TARGET_DIR/debug/tasker-server}"
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    binary=$1
    shift
fi
extra_args=("$@")

log() { printf '\n==> %s\n' "$*"; }

# --- Schemathesis, in its own virtual environment -------------------------
if [ ! -x "$venv/bin/schemathesis" ] ||
    [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# --- The server binary ----------------------------------------------------
if [ ! -x "$binary" ]; then
    log "building tasker-server"
    cargo build -p tasker-server --locked
fi

# --- A private copy of the binary, a temporary data directory --------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tasker-schemathesis.XXXXXX")
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Other builds may replace the shared target's binary while this one runs.
cp "$binary" "$work/tasker-server"
mkdir -p "$work/data" "$report_dir"
server_log="$report_dir/server.log"

# Only the settings below apply: the caller's TASKER_* variables (and any
# .env, as the server runs in $work) must not point it at a real database.
while IFS= read -r name; do
    case "$name" in
    TASKER_SCHEMATHESIS_*) ;;
    TASKER_*) unset "$name" ;;
    esac
done < <(compgen -e)

secret=$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
export TASKER_SERVER__HOST=127.0.0.1
export TASKER_SERVER__PORT=0 # a free port, read back from the log
export TASKER_SERVER__DATA_DIR="$work/data"
export TASKER_SERVER__SHUTDOWN_GRACE_SECONDS=5
export TASKER_DATABASE__URL="sqlite://$work/data/tasker.db"
export TASKER_AUTH__JWT_SECRET="$secret"
export TASKER_RATE_LIMIT__ENABLED=false
export TASKER_MAIL__TRANSPORT=preview
export TASKER_MAIL__TEMPLATES_DIR="$repo/templates/emails"
export TASKER_JOBS__CRON__ENABLED=false
export TASKER_LOG__LEVEL=warn,salvo_core=info
export TASKER_TELEMETRY__SAMPLE_RATIO=0

log "starting tasker-server (log: $server_log)"
(cd "$work" && exec "$work/tasker-server" serve --no-scheduler) >"$server_log" 2>&1 &
server_pid=$!

base_url=""
for _ in $(seq 1 600); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$server_log" >&2
        echo "tasker-server exited before it was ready" >&2
        exit 1
    fi
    # salvo logs "listening [HTTP/1.1] on http://127.0.0.1:PORT".
    if [ -z "$base_url" ]; then
        port=$(grep -o ' on http://127\.0\.0\.1:[0-9]*' "$server_log" | head -n 1 | sed 's/.*://' || true)
        if [ -n "$port" ] && [ "$port" != 0 ]; then base_url="http://127.0.0.1:$port"; fi
    fi
    if [ -n "$base_url" ] && "$venv/bin/python" - "$base_url/readyz" <<'EOF' 2>/dev/null; then break; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
EOF
    sleep 0.1
done
if [ -z "$base_url" ]; then
    cat "$server_log" >&2
    echo "tasker-server did not become ready" >&2
    exit 1
fi
log "tasker-server ready at $base_url"

# --- A token for one user (HS256: exp and sub are what the server requires) -
token=$(TASKER_SECRET="$secret" "$venv/bin/python" - <<'EOF'
import base64, hashlib, hmac, json, os, time

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

now = int(time.time())
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"sub": "schemathesis-user", "email": "fuzz@example.com",
                         "iat": now, "exp": now + 4 * 3600}).encode())
signature = hmac.new(os.environ["TASKER_SECRET"].encode(), f"{header}.{claims}".encode(),
                     hashlib.sha256).digest()
print(f"{header}.{claims}.{b64(signature)}")
EOF
)

# --- The run ----------------------------------------------------------------
# The hooks teach the generator the rules of GET /api/v1/todos that OpenAPI
# cannot state (an issued cursor, dueFrom <= dueTo); see the file.
export PYTHONPATH="$repo/.ci${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=schemathesis_hooks
# All checks and all four phases. The seed, the example budget and no
# example database (nothing replayed from an earlier run) make a run
# repeatable; the JUnit report lists every operation's result.
command=(
    "$venv/bin/schemathesis" --config-file "$repo/.ci/schemathesis.toml"
    run "$base_url/openapi.json"
    --url "$base_url"
    --header "Authorization: Bearer $token"
    --checks all
    --phases examples,coverage,fuzzing,stateful
    --max-examples "$max_examples"
    --seed "$seed"
    --workers "$workers"
    --generation-database none
    --request-timeout 30
    --report junit
    --report-junit-path "$report_dir/junit.xml"
    --no-color
    ${extra_args[@]+"${extra_args[@]}"}
)
log "schemathesis $SCHEMATHESIS_VERSION: max examples $max_examples, seed $seed, workers $workers"
started=$SECONDS
status=0
(cd "$work" && "${command[@]}") || status=$?
log "schemathesis finished in $((SECONDS - started)) s with status $status"

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "tasker-server died during the run; its log:" >&2
    tail -n 50 "$server_log" >&2
    status=1
fi
exit "$status"
