# Shared by .ci/run and bench/run: make sure PostgreSQL and Redis run on this
# machine, installing them from Debian's packages when they are missing.
# Source it; it defines functions only.

log() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        return
    fi
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        log "installing PostgreSQL"
        apt_install postgresql postgresql-client
    fi
    local version hba
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # The tests connect as postgres over TCP without a password.
    if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        log "allowing local trust authentication in $hba"
        as_root sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+)[a-z0-9-]+/\1trust/' "$hba"
        grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba" ||
            echo "host all all 127.0.0.1/32 trust" | as_root tee -a "$hba" >/dev/null
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return
        sleep 1
    done
    echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
    exit 1
}

ensure_redis() {
    if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
        return
    fi
    if ! command -v redis-server >/dev/null; then
        log "installing Redis"
        apt_install redis-server redis-tools
    fi
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do
        redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return
        sleep 1
    done
    echo "Redis did not come up on 127.0.0.1:6379" >&2
    exit 1
}


# A real S3-compatible server for the attachment tests: moto's server mode
# (PyPI, pinned), in its own virtual environment, on 127.0.0.1:5000 (or
# $TASKER_TEST_S3_PORT). Exports TASKER_TEST_S3_ENDPOINT for the tests.
MOTO_VERSION=5.2.5
s3_up() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$TASKER_TEST_S3_ENDPOINT/moto-api/data.json" 2>/dev/null
}
ensure_s3() {
    local port="${TASKER_TEST_S3_PORT:-5000}"
    local venv="$HOME/.cache/tasker/moto-venv"
    export TASKER_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    if s3_up; then
        return
    fi
    if [ ! -x "$venv/bin/moto_server" ] ||
        ! "$venv/bin/pip" show moto 2>/dev/null | grep -qx "Version: $MOTO_VERSION"; then
        log "installing moto[server] $MOTO_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    log "starting moto's S3 server on 127.0.0.1:$port"
    mkdir -p "$HOME/.cache/tasker"
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$HOME/.cache/tasker/moto.log" 2>&1 &
    for _ in $(seq 1 60); do
        s3_up && return
        sleep 0.5
    done
    cat "$HOME/.cache/tasker/moto.log" >&2
    echo "moto did not come up on 127.0.0.1:$port" >&2
    exit 1
}
