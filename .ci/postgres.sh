#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server (15, or what the machine has) on loopback for CI
# and the store's contract tests, and prints the environment that points the tests at it.
#
#   eval "$(bash .ci/postgres.sh)"        start; exports LETTING_TEST_POSTGRES_URL
#                                         (and LETTING_TEST_POSTGRES_DIR, the server's dir)
#   bash .ci/postgres.sh stop [DIR]       stop the server in DIR and remove DIR; without
#                                         DIR, the last one started from this checkout
#                                         (prefer passing DIR: it names exactly yours)
#
# Only the `export` lines go to standard output; everything else goes to standard error.
# Run as root, the server runs as the `postgres` user (or `nobody`), since PostgreSQL
# refuses to run as root. Set LETTING_PG_PORT to choose the first port tried (55432).
set -euo pipefail

# The last server started from this checkout (other checkouts keep their own record).
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_FILE="${TMPDIR:-/tmp}/letting-postgres.$(printf '%s' "$REPO_DIR" | cksum | cut -d' ' -f1).dir"

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# The directory holding initdb, pg_ctl, createdb.
find_bin() {
    local candidate
    if candidate="$(command -v initdb 2>/dev/null)"; then
        candidate="$(dirname "$(readlink -f "$candidate")")"
        if [[ -x "$candidate/pg_ctl" ]]; then
            echo "$candidate"
            return 0
        fi
    fi
    for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# Installs Debian's PostgreSQL (15 on bookworm) when none is found and we may.
install_postgres() {
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "no PostgreSQL found: installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postgresql >&2
    fi
}

# Runs a command as the user that owns the server.
as_owner() {
    local user="$1"
    shift
    if [[ "$(id -un)" == "$user" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$user" -- "$@"
    else
        su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
    fi
}

# The user the server runs as: ourselves, or when root an unprivileged user.
server_user() {
    if [[ "$(id -u)" != 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    elif id nobody >/dev/null 2>&1; then
        echo nobody
    else
        useradd --system --no-create-home --shell /usr/sbin/nologin letting-pg >&2
        echo letting-pg
    fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local bin user dir port
    bin="$(find_bin)" || { install_postgres; bin="$(find_bin)"; } \
        || die "cannot find initdb and pg_ctl (tried PATH and /usr/lib/postgresql/*/bin)"
    user="$(server_user)"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/letting-pg.XXXXXX")"
    chmod 755 "$dir"
    chown "$user" "$dir"

    port="${LETTING_PG_PORT:-55432}"
    local last=$((port + 100))
    while ! port_free "$port"; do
        port=$((port + 1))
        ((port <= last)) || die "no free port in ${LETTING_PG_PORT:-55432}..$last"
    done

    log "initdb in $dir/data as $user ($("$bin/initdb" --version))"
    as_owner "$user" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    # A test server: no fsync; enough connections for parallel tests with pools of 16.
    local options="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300"
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "$options" -w -t 60 start >&2; then
        cat "$dir/server.log" >&2 || true
        die "the server did not start"
    fi

    if ! as_owner "$user" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres letting_test >&2; then
        as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
        die "cannot create the database letting_test"
    fi

    echo "$dir" >"$STATE_FILE"
    log "PostgreSQL is running on 127.0.0.1:$port; stop it with: bash .ci/postgres.sh stop $dir"
    echo "export LETTING_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/letting_test"
    echo "export LETTING_TEST_POSTGRES_DIR=$dir"
}

stop() {
    local dir="${1:-}"
    if [[ -z "$dir" ]]; then
        [[ -f "$STATE_FILE" ]] || die "no server recorded in $STATE_FILE: give its directory"
        dir="$(cat "$STATE_FILE")"
    fi
    [[ -d "$dir/data" ]] || die "$dir holds no PostgreSQL data directory"
    local bin user
    bin="$(find_bin)" || die "cannot find pg_ctl"
    user="$(stat -c %U "$dir/data")"
    as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    if [[ -f "$STATE_FILE" && "$(cat "$STATE_FILE")" == "$dir" ]]; then
        rm -f "$STATE_FILE"
    fi
    log "stopped and removed $dir"
}

case "${1:-start}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) die "usage: bash .ci/postgres.sh [start | stop [DIR]]" ;;
esac
