#!/usr/bin/env bash
# Runs a private PostgreSQL server for tests: its own cluster under DIR, run by an unprivileged
# user, listening on 127.0.0.1 on a free port (never 5432) and on a Unix socket in DIR. Never
# touches the system's cluster, /etc/postgresql or its port.
#
#   private-postgres.sh start DIR [--watch-pid PID]
#       Creates the cluster in DIR/data (copied from a cached template made once by initdb,
#       see MC_POSTGRES_TEMPLATE), starts it and writes DIR/postgres.env (KEY=VALUE lines:
#       PORT USER PASSWORD DATABASE URL SOCKET_DIR LOG_FILE). USER (a password login with
#       CREATEDB) owns DATABASE; URL is postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE.
#       --watch-pid PID: also stop the server by itself once process PID is gone.
#   private-postgres.sh create-db DIR NAME     creates database NAME owned by USER
#   private-postgres.sh sql DIR DATABASE SQL   runs SQL as the superuser (psql -At output)
#   private-postgres.sh stop DIR               stops it (immediate); fine if not running
#   private-postgres.sh status DIR             exit 0 if running
#
# Must run as root (as in CI) or as the server user. The server runs as MC_POSTGRES_USER
# (default postgres, else nobody); DIR and its parents must be traversable by it. Test settings:
# fsync=off (a test never survives a host crash; synchronous_commit stays on, so the client
# still waits for every commit), small shared memory.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
PG_BIN=${MC_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
TEMPLATE=${MC_POSTGRES_TEMPLATE:-${TMPDIR:-/tmp}/mc-postgres-template-15}
START_TIMEOUT=${MC_POSTGRES_START_TIMEOUT:-30}
DB_USER=mc
DB_PASSWORD=mc-test-secret
DB_NAME=mcledger

die() {
    echo "private-postgres.sh: $*" >&2
    exit 1
}

server_user() {
    if [ -n "${MC_POSTGRES_USER:-}" ]; then echo "$MC_POSTGRES_USER"
    elif id postgres >/dev/null 2>&1; then echo postgres
    else echo nobody
    fi
}

# Runs a command as the server user (directly when we are that user already).
as_server() {
    local user
    user=$(server_user)
    if [ "$(id -un)" = "$user" ]; then "$@"
    else setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"
    fi
}

abs_dir() {
    local d
    d=$(realpath -m -- "$1")
    [[ "$d" =~ ^[A-Za-z0-9._/+-]+$ ]] \
        || die "directory path '$d' may contain only letters, digits and ._/+-"
    printf '%s\n' "$d"
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp",
                                      Listen => 1) or die "bind: $!";
        print $s->sockport, "\n";'
}

env_value() {
    sed -n "s/^$2=//p" "$1/postgres.env" 2>/dev/null | tail -n 1
}

# Runs psql as the superuser over the Unix socket in DIR.
psql_super() {
    local dir=$1 db=$2
    shift 2
    as_server "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(env_value "$dir" PORT)" \
        -U postgres -d "$db" "$@"
}

# initdb once per machine (it takes seconds); every server starts from a copy. Safe concurrently:
# the template is made in a private directory and renamed into place.
ensure_template() {
    [ -f "$TEMPLATE/PG_VERSION" ] && return 0
    local user tmp
    user=$(server_user)
    tmp=$(mktemp -d "$TEMPLATE.XXXXXX")
    chown "$user:" "$tmp"
    chmod 700 "$tmp"
    as_server "$PG_BIN/initdb" -D "$tmp" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die "initdb failed"; }
    cat >"$tmp/pg_hba.conf" <<'EOF'
local all postgres trust
host all all 127.0.0.1/32 scram-sha-256
EOF
    rm -f "$tmp.log"
    mv -T "$tmp" "$TEMPLATE" 2>/dev/null || rm -rf "$tmp"  # another process won the race
}

cmd_start() {
    [ $# -ge 1 ] || die "usage: start DIR [--watch-pid PID]"
    local dir watch_pid="" user port attempt
    dir=$(abs_dir "$1")
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --watch-pid) watch_pid=${2:?--watch-pid needs a pid}; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    [ -x "$PG_BIN/pg_ctl" ] || die "no PostgreSQL server binaries in $PG_BIN (install postgresql-15)"
    user=$(server_user)
    ensure_template
    mkdir -p "$dir"
    rm -rf "$dir/data"
    cp -a "$TEMPLATE" "$dir/data"
    chown -R "$user:" "$dir"
    chmod 700 "$dir" "$dir/data"
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$START_TIMEOUT" \
            -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40" \
            start >/dev/null; then
            break
        fi
        [ "$attempt" = 3 ] && { tail -n 20 "$dir/postgres.log" >&2; die "postgres did not start"; }
    done
    cat >"$dir/postgres.env" <<EOF
PORT=$port
USER=$DB_USER
PASSWORD=$DB_PASSWORD
DATABASE=$DB_NAME
URL=postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$port/$DB_NAME
SOCKET_DIR=$dir
LOG_FILE=$dir/postgres.log
EOF
    psql_super "$dir" postgres -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    if [ -n "$watch_pid" ]; then
        # Detached, with no inherited stdio, so that callers reading our output see EOF.
        # shellcheck disable=SC2016  # expanded by the inner bash
        setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/postgres.env" ]; do sleep 1; done
                        exec "$3" stop "$2"' mc-postgres-watch "$watch_pid" "$dir" "$SCRIPT" \
            </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watcher.pid"
    fi
    echo "private PostgreSQL running in $dir on 127.0.0.1:$port"
}

cmd_create_db() {
    [ $# -eq 2 ] || die "usage: create-db DIR NAME"
    local dir
    dir=$(abs_dir "$1")
    [[ "$2" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$2': lower-case letters, digits, _"
    psql_super "$dir" postgres -c "CREATE DATABASE $2 OWNER $DB_USER"
}

cmd_sql() {
    [ $# -eq 3 ] || die "usage: sql DIR DATABASE SQL"
    local dir
    dir=$(abs_dir "$1")
    psql_super "$dir" "$2" -At -c "$3"
}

cmd_stop() {
    [ $# -ge 1 ] || die "usage: stop DIR"
    local dir wpid
    dir=$(abs_dir "$1")
    wpid=$(cat "$dir/watcher.pid" 2>/dev/null || true)
    if [ -n "$wpid" ] && [ "$wpid" != "$$" ] && kill -0 "$wpid" 2>/dev/null; then
        kill "$wpid" 2>/dev/null || true
    fi
    rm -f "$dir/watcher.pid" "$dir/postgres.env"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

cmd_status() {
    [ $# -eq 1 ] || die "usage: status DIR"
    as_server "$PG_BIN/pg_ctl" -D "$(abs_dir "$1")/data" status >/dev/null 2>&1
}

case "${1:-help}" in
    start) shift; cmd_start "$@" ;;
    create-db) shift; cmd_create_db "$@" ;;
    sql) shift; cmd_sql "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; [ "${1:-help}" = help ] ;;
esac
