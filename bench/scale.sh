#!/usr/bin/env bash
# The scale bench (issue 12): what a nothing-new poll costs when mailboxes are big and accounts
# are many, mailcollector beside fetchmail on the same private Dovecot (process reuse: login and
# mail processes serve many connections, as busy servers run; stock Dovecot's own per-login cost
# would hide the client's, see README.md). Two parts, each optional:
#
#   repoll    one account with N messages (SIZES, default 2000 20000 100000), over POP3S and over
#             IMAPS: the re-poll when nothing is new (median of RUNS): wall, client CPU, peak RSS,
#             Dovecot's CPU meanwhile. mailcollector knows every message (its first poll with
#             fetch = "new" records them all, without delivering); fetchmail's POP3 id file lists
#             every UIDL (written from a UIDL listing: its own first import of 100,000 messages
#             would take over an hour); fetchmail over IMAP asks for unseen mail (its normal IMAP
#             mode; it keeps no UIDs for IMAP) and every message is \Seen. getmail6's oldmail
#             file is written the same way (every UIDL; every UIDVALIDITY/UID over IMAP). Then, over
#             IMAP, the poll after one message was expunged (the message count dropped: what
#             CONDSTORE/QRESYNC would make cheap), median of RUNS, one expunge before each.
#   accounts  ACCOUNTS accounts (ACCOUNT_COUNTS, default 500 10000) with PER_ACCOUNT (1) message
#             each, over POP3S: first import and nothing-new cycle for
#               - one mailcollector (`run --once`, SQLite ledger, max_parallel MAX_PARALLEL)
#               - three mailcollectors at once sharing one PostgreSQL ledger (each takes the
#                 accounts whose lease it gets); PostgreSQL's CPU and transactions per poll
#               - fetchmail (one rc, one poll line per account) up to FETCHMAIL_MAX_ACCOUNTS
#               - getmail6 (one rc file per account, all in one process) up to GETMAIL_MAX_ACCOUNTS
#               - the floor: bench/tls-floor.c, a bare OpenSSL client doing the least a poll can
#                 (verified TLS, resuming when the server offers it, USER, PASS, STAT, QUIT)
#             and the ledger's size and growth per message.
#
#   sudo bench/scale.sh [repoll] [accounts]     (both when none is named)
#   env: QUICK=1 (SIZES="2000 20000", ACCOUNT_COUNTS=500), SIZES, ACCOUNT_COUNTS, PER_ACCOUNT,
#        RUNS (3), MAX_PARALLEL (32), INSTANCES (3), FETCHMAIL_MAX_ACCOUNTS (10000),
#        GETMAIL_MAX_ACCOUNTS (500), TOOLS (mailcollector fetchmail getmail: the peers run),
#        MC_BINARY (build/app/mailcollector), RESULTS_DIR (bench/results), KEEP=1 keeps the work
#        directory, TLS_FRONT=resuming (POP3S through a TLS front that resumes sessions; needs
#        socat), PERF_DATA=FILE profiles one more nothing-new cycle of the accounts part
#        (perf record -g into FILE-ACCOUNTS).
# Must run as root (private Dovecot and PostgreSQL). WITH_BENCH=1 deploy/install-deps.sh first.
set -euo pipefail
# Every tool trusts the system store as on a stock Debian: OpenSSL's SSL_CERT_FILE, when a shell sets
# it, makes each TLS client parse the whole bundle at start.
unset SSL_CERT_FILE SSL_CERT_DIR

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PARTS=${*:-repoll accounts}
if [ "${QUICK:-0}" = 1 ]; then
    SIZES=${SIZES:-2000 20000}
    ACCOUNT_COUNTS=${ACCOUNT_COUNTS:-500}
fi
SIZES=${SIZES:-2000 20000 100000}
ACCOUNT_COUNTS=${ACCOUNT_COUNTS:-500 10000}
PER_ACCOUNT=${PER_ACCOUNT:-1}
RUNS=${RUNS:-3}
MAX_PARALLEL=${MAX_PARALLEL:-32}
INSTANCES=${INSTANCES:-3}
FETCHMAIL_MAX_ACCOUNTS=${FETCHMAIL_MAX_ACCOUNTS:-10000}
GETMAIL_MAX_ACCOUNTS=${GETMAIL_MAX_ACCOUNTS:-500}
TOOLS=${TOOLS:-mailcollector fetchmail getmail}
with() { [[ " $TOOLS " == *" $1 "* ]]; }
MC_SRC=${MC_BINARY:-$ROOT/build/app/mailcollector}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
DOVECOT_SH=$ROOT/tests/support/private-dovecot.sh
POSTGRES_SH=$ROOT/tests/support/private-postgres.sh

die() { echo "scale.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the private Dovecot and PostgreSQL need it)"
[ -x "$MC_SRC" ] || die "no mailcollector at $MC_SRC (deploy/build.sh, or set MC_BINARY)"
for tool in fetchmail getmail doveadm smtp-sink setpriv python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is missing (WITH_BENCH=1 deploy/install-deps.sh)"
done
for part in $PARTS; do [[ "$part" == repoll || "$part" == accounts ]] || die "unknown part '$part'"; done

mkdir -p "$RESULTS_DIR"
WORK=$(mktemp -d /tmp/mc-bench-scale.XXXXXX)
chmod 0755 "$WORK"
MC=$WORK/mailcollector
cp "$MC_SRC" "$MC"  # rebuilds during the run do not change what is measured
SINK_PID=""
FRONT_PID=""
DOVECOT_DIR=$WORK/dovecot
PG_DIR=""
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    [ -n "$FRONT_PID" ] && kill "$FRONT_PID" 2>/dev/null || true
    "$DOVECOT_SH" stop "$DOVECOT_DIR" --fast >/dev/null 2>&1 || true
    [ -n "$PG_DIR" ] && "$POSTGRES_SH" stop "$PG_DIR" >/dev/null 2>&1 || true
    # Dovecot may still be writing its last files for a moment after it was stopped.
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK" 2>/dev/null || { sleep 1; rm -rf "$WORK"; }; fi
}
trap cleanup EXIT
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NOBODY=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups env)

# --- servers ---------------------------------------------------------------------------------
SINK_PORT=$(free_port)
(ulimit -n 8192 && exec smtp-sink -L -m 2000 -u nobody -c 127.0.0.1:"$SINK_PORT" 1000) >"$WORK/sink.out" 2>&1 &
SINK_PID=$!
sink_count() { tr '\r' '\n' <"$WORK/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1 | grep . || echo 0; }
log "starting a private Dovecot (process reuse)"
"$DOVECOT_SH" start "$DOVECOT_DIR" --processes reuse --max-userip-connections 1000 >/dev/null
# shellcheck disable=SC1090
. <(sed 's/^/export /' "$DOVECOT_DIR/ports.env")
# TLS_FRONT=resuming: POP3S through a TLS front that resumes sessions (socat, its ticket keys shared
# by every connection, as large providers' servers do), in front of Dovecot's plain POP3 port.
# Dovecot itself resumes none: each poll of each tool is a full handshake there.
if [ "${TLS_FRONT:-}" = resuming ]; then
    command -v socat >/dev/null || die "TLS_FRONT=resuming needs socat (apt-get install socat)"
    FRONT_PORT=$(free_port)
    socat "OPENSSL-LISTEN:$FRONT_PORT,bind=127.0.0.1,reuseaddr,fork,verify=0,cert=$DOVECOT_DIR/tls/valid.crt,key=$DOVECOT_DIR/tls/valid.key" \
        "TCP:127.0.0.1:$POP3_PORT" 2>/dev/null &
    FRONT_PID=$!
    log "POP3S through a resuming TLS front (socat) on port $FRONT_PORT"
    POP3S_PORT=$FRONT_PORT
fi

# CPU seconds used so far by the processes of a server (master, live children, reaped children).
tree_cpu() {
    local master=$1 pids
    pids="$master $(ps -o pid= --ppid "$master" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    for pid in $pids; do cat "/proc/$pid/stat" 2>/dev/null; done \
        | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { printf "%.2f", t / hz }'
}
dovecot_cpu() { tree_cpu "$(cat "$BASE_DIR/master.pid")"; }
pg_cpu() { if [ -n "$PG_DIR" ]; then tree_cpu "$(head -1 "$PG_DIR/data/postmaster.pid")"; else echo 0; fi; }

# Runs "$@" under GNU time: prints "wall cpu rss_kb dovecot_cpu delivered pg_cpu".
measure() {
    local out=$WORK/time.out d0 s0 p0
    d0=$(sink_count) s0=$(dovecot_cpu) p0=$(pg_cpu)
    /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>"$WORK/last.err" </dev/null || true
    sleep 0.2  # smtp-sink updates its counter when a session ends
    tail -n 1 "$out" | awk -v s0="$s0" -v s1="$(dovecot_cpu)" -v d=$(($(sink_count) - d0)) -v p0="$p0" -v p1="$(pg_cpu)" \
        '{ printf "%.2f %.2f %d %.2f %d %.2f\n", $1, $2 + $3, $4, s1 - s0, d, p1 - p0 }'
}
# The median (by wall time) of RUNS measurements; a run that delivered anything is warned about.
median_of() {
    local results=() r line
    for r in $(seq 1 "$RUNS"); do
        "${BEFORE_EACH:-true}" "$r"  # a change to the source before each run, when one is set
        line=$(measure "$@")
        [ "$(awk '{ print $5 }' <<<"$line")" = 0 ] || log "WARNING: a nothing-new run delivered mail: $line"
        grep -q 'poll failed' "$WORK/last.err" && log "WARNING: $(grep -m1 'poll failed' "$WORK/last.err")"
        results+=("$line")
    done
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

REPORT=$WORK/report.txt
: >"$REPORT"
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
row() { printf '%-52s %8s %8s %9s %10s %9s\n' "$@" >>"$REPORT"; }
row_of() { local s c r v d; read -r s c r v d _ <<<"$2"; row "$1" "$s" "$c" "$(mb "$r")" "$v" "$d"; }
header() { printf '\n%s\n' "$1" >>"$REPORT"; row "" "wall s" "cpu s" "RSS MB" "Dovecot s" "delivered"; }

mc_config() {  # FILE LEDGER then account lines on stdin
    {
        printf '[collector]\nledger = "%s"\nquarantine_dir = "%s/quarantine"\nmax_parallel = %d\nio_timeout = "60s"\n\n' \
            "$2" "$WORK" "$MAX_PARALLEL"
        printf '[target]\nprotocol = "lmtp"\nhost = "127.0.0.1"\nport = %d\ntls = "none"\nrecipient = "me@localhost"\n\n' "$SINK_PORT"
        cat
    } >"$1"
    chmod 0600 "$1"
}
mc_account() {  # NAME PROTOCOL PORT PASSWORD [EXTRA]
    printf '[[account]]\nname = "%s"\nprotocol = "%s"\nhost = "localhost"\nport = %d\nca_file = "%s"\n' "$1" "$2" "$3" "$CA_FILE"
    printf 'username = "%s"\npassword = "%s"\ninterval = "1h"\n%s\n' "$1" "$4" "${5:-}"
}
fm_poll() {  # USER PASSWORD PROTOCOL PORT [OPTIONS]
    printf 'poll localhost proto %s service %d %s user "%s" there with password "%s" is "me" here' \
        "$3" "$4" "$([ "$3" = pop3 ] && echo uidl)" "$1" "$2"
    printf ' options keep %s ssl sslcertck sslcertfile "%s" smtphost 127.0.0.1/%d lmtp smtpname "me@localhost"\n' \
        "${5:-}" "$CA_FILE" "$SINK_PORT"
}
fm_rc() {  # DIR, poll lines on stdin
    mkdir -p "$1"
    { printf 'set no bouncemail\nset no syslog\nset idfile "%s/fetchids"\n' "$1"; cat; } >"$1/fetchmailrc"
    chmod 0600 "$1/fetchmailrc"
    chown -R nobody "$1"
}
fetchmail_in() { FM_CMD=("${NOBODY[@]}" HOME="$1" fetchmail -f "$1/fetchmailrc"); }  # sets FM_CMD for measure
FM_VERSION=$(fetchmail --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1)
gm_rc() {  # FILE USER PASSWORD PROTOCOL PORT
    local type=SimplePOP3SSLRetriever mailboxes=""
    [ "$4" = imap ] && type=SimpleIMAPSSLRetriever mailboxes='mailboxes = ("INBOX",)'
    printf '[retriever]\ntype = %s\nserver = localhost\nport = %d\nusername = %s\npassword = %s\nca_certs = %s\n%s\n' \
        "$type" "$5" "$2" "$3" "$CA_FILE" "$mailboxes" >"$1"
    printf '[destination]\ntype = MDA_lmtp\nhost = 127.0.0.1\nport = %d\noverride = me@localhost\n\n' "$SINK_PORT" >>"$1"
    printf '[options]\nread_all = false\ndelete = false\nverbose = 0\nmessage_log_syslog = false\n' >>"$1"
}
getmail_in() {  # DIR RC...: sets GM_CMD for measure (getmail refuses to deliver as root)
    local dir=$1 rc args=()
    shift
    for rc in "$@"; do args+=(-r "$rc"); done
    mkdir -p "$dir/state"
    chown -R nobody "$dir"
    GM_CMD=("${NOBODY[@]}" HOME="$dir" getmail --getmaildir "$dir/state" "${args[@]}")
}
GM_VERSION=$(getmail --version 2>/dev/null | awk '{ print $2 }')
DOVEADM=(doveadm -c "$DOVECOT_DIR/dovecot.conf")

# --- part 1: re-poll of big mailboxes --------------------------------------------------------
repoll() {
    local n user dir line proto port
    for n in $SIZES; do
        user=r$n
        log "[repoll $n] filling $user"
        "$ROOT/bench/populate.py" "$DOVECOT_DIR" mailbox "$user" "pw$n" "$n"
        python3 "$ROOT/bench/pop3-warm.py" 127.0.0.1 "$POP3S_PORT" "$CA_FILE" "$user:pw$n" >/dev/null
        python3 "$ROOT/bench/imap-warm.py" 127.0.0.1 "$IMAPS_PORT" "$CA_FILE" "$user:pw$n" >/dev/null
        header "Re-poll, nothing new: one account with $n messages (median of $RUNS)"
        for proto in pop3 imap; do
            port=$POP3S_PORT
            [ "$proto" = imap ] && port=$IMAPS_PORT
            dir=$WORK/repoll-$n-$proto
            mkdir -p "$dir"
            if with mailcollector; then
                mc_account "$user" "$proto" "$port" "pw$n" 'fetch = "new"' | mc_config "$dir/mc.toml" "$dir/ledger.db"
                log "[repoll $n] mailcollector $proto: first poll (records $n messages), then re-polls"
                line=$(measure "$MC" run -c "$dir/mc.toml" --once)
                grep -q "listed=$n " "$WORK/last.err" || log "WARNING: first poll did not list $n: $(tail -1 "$WORK/last.err")"
                row_of "$proto: mailcollector (first poll, fetch = \"new\")" "$line"
                row_of "$proto: mailcollector" "$(median_of "$MC" run -c "$dir/mc.toml" --once)"
            fi
            if with fetchmail; then
                if [ "$proto" = pop3 ]; then
                    fm_poll "$user" "pw$n" pop3 "$port" | fm_rc "$dir/fm"
                    "$ROOT/bench/peer-state.py" fetchmail-pop3 "$port" "$CA_FILE" "$user" "pw$n" >"$dir/fm/fetchids"
                    chown nobody "$dir/fm/fetchids"
                    chmod 0600 "$dir/fm/fetchids"  # fetchmail refuses a looser one
                    log "[repoll $n] fetchmail pop3 (id file with every UIDL)"
                    row_of "pop3: fetchmail $FM_VERSION (uidl, id file)" "$(fetchmail_in "$dir/fm" && median_of "${FM_CMD[@]}")"
                else
                    fm_poll "$user" "pw$n" imap "$port" | fm_rc "$dir/fm"
                    log "[repoll $n] fetchmail imap (unseen only)"
                    row_of "imap: fetchmail $FM_VERSION (unseen only)" "$(fetchmail_in "$dir/fm" && median_of "${FM_CMD[@]}")"
                fi
            fi
            if with getmail; then
                local oldmail=$dir/gm/state/oldmail-localhost-$port-$user
                [ "$proto" = imap ] && oldmail=$oldmail-INBOX
                mkdir -p "$dir/gm/state"
                gm_rc "$dir/gm/rc" "$user" "pw$n" "$proto" "$port"
                "$ROOT/bench/peer-state.py" "getmail-$proto" "$port" "$CA_FILE" "$user" "pw$n" >"$oldmail"
                log "[repoll $n] getmail6 $proto (oldmail file with every message)"
                row_of "$proto: getmail $GM_VERSION (oldmail file)" "$(getmail_in "$dir/gm" "$dir/gm/rc" && median_of "${GM_CMD[@]}")"
            fi
            if [ "$proto" = imap ] && with mailcollector; then
                log "[repoll $n] mailcollector imap: one message expunged before each poll"
                expunged_user=$user
                row_of "imap: mailcollector, one message expunged" \
                    "$(BEFORE_EACH=expunge_one median_of "$MC" run -c "$dir/mc.toml" --once)"
            fi
        done
    done
}
# Expunges UID $1 of $expunged_user's INBOX (the populated mailbox's UIDs start at 1).
expunge_one() { "${DOVEADM[@]}" expunge -u "$expunged_user" mailbox INBOX uid "$1"; }

# --- part 2: many accounts -------------------------------------------------------------------
start_postgres() {
    [ -n "$PG_DIR" ] && return
    PG_DIR=$WORK/postgres
    mkdir -p "$PG_DIR"
    chmod 0755 "$PG_DIR"
    log "starting a private PostgreSQL"
    "$POSTGRES_SH" start "$PG_DIR" >/dev/null
    PG_URL=$(sed -n 's/^URL=//p' "$PG_DIR/postgres.env")
}
pg_sql() { "$POSTGRES_SH" sql "$PG_DIR" "$1" "$2"; }

# Runs INSTANCES mailcollectors at once, instance i on config PREFIX.i: prints "wall cpu_sum
# max_rss dovecot delivered pg_cpu" like measure.
instances() {
    local prefix=$1 i d0 s0 p0 start end pids=()
    d0=$(sink_count) s0=$(dovecot_cpu) p0=$(pg_cpu)
    start=$(date +%s.%N)
    for i in $(seq 1 "$INSTANCES"); do
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.$i" "$MC" run -c "$prefix.$i" --once >/dev/null 2>"$WORK/inst.$i.err" </dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done
    end=$(date +%s.%N)
    sleep 0.2
    for i in $(seq 1 "$INSTANCES"); do tail -n 1 "$WORK/time.$i"; done | awk -v s="$start" -v e="$end" -v s0="$s0" \
        -v s1="$(dovecot_cpu)" -v d=$(($(sink_count) - d0)) -v p0="$p0" -v p1="$(pg_cpu)" \
        '{ cpu += $2 + $3; if ($4 > rss) rss = $4 } END { printf "%.2f %.2f %d %.2f %d %.2f\n", e - s, cpu, rss, s1 - s0, d, p1 - p0 }'
}

# Client CPU per poll of a measured line: "1.23 ms".
per_poll() { awk -v c="$(awk '{ print $2 }' <<<"$1")" -v a="$2" 'BEGIN { printf "%.2f ms", c * 1000 / a }'; }

accounts() {
    local a dir line floor size0 size1 msgs commits0 commits1 polls
    FLOOR=$WORK/tls-floor
    cc -O2 -o "$FLOOR" "$ROOT/bench/tls-floor.c" -lssl -lcrypto || die "cannot build bench/tls-floor.c (cc, libssl-dev)"
    for a in $ACCOUNT_COUNTS; do
        log "[accounts $a] filling a1..a$a with $PER_ACCOUNT message(s) each"
        "$ROOT/bench/populate.py" "$DOVECOT_DIR" users a 1 "$a" "$PER_ACCOUNT"
        dir=$WORK/accounts-$a
        mkdir -p "$dir"
        msgs=$((a * PER_ACCOUNT))
        for i in $(seq 1 "$a"); do mc_account "a$i" pop3 "$POP3S_PORT" "pw$i"; done >"$dir/accounts.toml"
        mc_config "$dir/mc.toml" "$dir/ledger.db" <"$dir/accounts.toml"
        header "$a POP3S accounts x $PER_ACCOUNT message(s): one cycle (nothing new: median of $RUNS)"
        log "[accounts $a] mailcollector, SQLite: first import"
        line=$(measure "$MC" run -c "$dir/mc.toml" --once)
        row_of "first import: mailcollector (SQLite)" "$line"
        [ "$(awk '{ print $5 }' <<<"$line")" = "$msgs" ] || log "WARNING: delivered $(awk '{ print $5 }' <<<"$line"), expected $msgs"
        size1=$(du -cb "$dir"/ledger.db* | tail -1 | cut -f1)
        log "[accounts $a] mailcollector, SQLite: nothing new"
        line=$(median_of "$MC" run -c "$dir/mc.toml" --once)
        row_of "nothing new: mailcollector (SQLite)" "$line"
        if [ -n "${PERF_DATA:-}" ]; then  # one more nothing-new cycle under perf, for a profile
            perf record -q -F 2999 -g -o "$PERF_DATA-$a" "$MC" run -c "$dir/mc.toml" --once >/dev/null 2>&1 </dev/null || true
            log "[accounts $a] profile of a nothing-new cycle: perf report -i $PERF_DATA-$a"
        fi
        log "[accounts $a] the floor: a bare TLS client, same polls"
        floor=$(median_of "$FLOOR" "$POP3S_PORT" "$DOVECOT_DIR/tls/ca.pem" 1 "$a")
        row_of "nothing new: bare OpenSSL client (the floor)" "$floor"
        printf '%s\n' "per poll: $(per_poll "$line" "$a") client CPU (the floor: $(per_poll "$floor" "$a")); SQLite ledger after the import: $size1 bytes ($((size1 / msgs)) per message, accounts included)" >>"$REPORT"

        start_postgres
        pg_sql postgres "DROP DATABASE IF EXISTS scale$a" >/dev/null
        pg_sql postgres "CREATE DATABASE scale$a OWNER $(sed -n 's/^USER=//p' "$PG_DIR/postgres.env")" >/dev/null
        # Instance i polls accounts i, i + INSTANCES, ...: the accounts are shared out, the
        # ledger is one (leases would keep instances polling the same account one at a time).
        for i in $(seq 1 "$INSTANCES"); do
            for j in $(seq "$i" "$INSTANCES" "$a"); do mc_account "a$j" pop3 "$POP3S_PORT" "pw$j"; done \
                | mc_config "$dir/mc-pg.toml.$i" "${PG_URL%/*}/scale$a"
        done
        "$MC" status -c "$dir/mc-pg.toml.1" >/dev/null 2>&1 || true  # creates the schema
        size0=$(pg_sql "scale$a" "SELECT pg_database_size(current_database())")
        log "[accounts $a] $INSTANCES mailcollectors, one PostgreSQL ledger: first import"
        line=$(instances "$dir/mc-pg.toml")
        row_of "first import: $INSTANCES x mailcollector (PostgreSQL)" "$line"
        size1=$(pg_sql "scale$a" "SELECT pg_database_size(current_database())")
        commits0=$(pg_sql "scale$a" "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        log "[accounts $a] $INSTANCES mailcollectors, one PostgreSQL ledger: nothing new"
        line=$(instances "$dir/mc-pg.toml")
        row_of "nothing new: $INSTANCES x mailcollector (PostgreSQL)" "$line"
        commits1=$(pg_sql "scale$a" "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        polls=$(cat "$WORK"/inst.*.err | grep -c 'poll ok' || true)
        printf '%s\n' "PostgreSQL: ${polls} polls ok; $(awk -v p="$(awk '{ print $6 }' <<<"$line")" -v n="$a" 'BEGIN { printf "%.3f ms server CPU", p * 1000 / n }') and $(((commits1 - commits0) / a)) transactions per account polled; database grew $((size1 - size0)) bytes in the import ($(((size1 - size0) / msgs)) per message)" >>"$REPORT"

        if with fetchmail && [ "$a" -le "$FETCHMAIL_MAX_ACCOUNTS" ]; then
            for i in $(seq 1 "$a"); do fm_poll "a$i" "pw$i" pop3 "$POP3S_PORT"; done | fm_rc "$dir/fm"
            log "[accounts $a] fetchmail: first import"
            row_of "first import: fetchmail $FM_VERSION" "$(fetchmail_in "$dir/fm" && measure "${FM_CMD[@]}")"
            log "[accounts $a] fetchmail: nothing new"
            row_of "nothing new: fetchmail $FM_VERSION" "$(fetchmail_in "$dir/fm" && median_of "${FM_CMD[@]}")"
        fi
        if with getmail && [ "$a" -le "$GETMAIL_MAX_ACCOUNTS" ]; then
            local rcs=()
            mkdir -p "$dir/gm/rc"
            for i in $(seq 1 "$a"); do
                gm_rc "$dir/gm/rc/a$i" "a$i" "pw$i" pop3 "$POP3S_PORT"
                rcs+=("$dir/gm/rc/a$i")
            done
            getmail_in "$dir/gm" "${rcs[@]}"
            log "[accounts $a] getmail6: first import"
            row_of "first import: getmail $GM_VERSION" "$(measure "${GM_CMD[@]}")"
            log "[accounts $a] getmail6: nothing new"
            row_of "nothing new: getmail $GM_VERSION" "$(median_of "${GM_CMD[@]}")"
        fi
    done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for part in $PARTS; do "$part"; done
{
    printf 'mailcollector %s (%s), %d CPUs, load before %s; Dovecot with process reuse; max_parallel %d\n' \
        "$(sha256sum "$MC" | cut -c1-12)" "$(date -r "$MC_SRC" '+%F %T')" "$(nproc)" "$LOAD_BEFORE" "$MAX_PARALLEL"
    cat "$REPORT"
} | tee "$RESULTS_DIR/scale-$(date +%Y%m%d-%H%M%S).txt"
