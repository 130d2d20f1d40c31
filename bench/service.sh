#!/usr/bin/env bash
# The service benchmark: one process polling 500 POP3S accounts with a few messages each, for
#   - mailcollector run --once          (max_parallel = $MAX_PARALLEL)
#   - mailcollector run (the service)   (a cycle triggered by SIGUSR1, timed through /metrics)
#   - fetchmail, one rc with one poll line per account
#   - getmail6, one -r rc file per account
# against one private Dovecot on loopback (tests/support/private-dovecot.sh), delivering into one
# LMTP smtp-sink. Two measurements per tool:
#   first import   everything collected with fresh state (the median of $RUNS, state reset
#                  before each; the source keeps its mail)
#   nothing-new    the steady state of a daemon: every account polled, nothing new (median)
# and it does both for each Dovecot process model in $PROCESSES:
#   stock   a new login process and a new pop3 process per connection (Debian's default)
#   reuse   login and pop3 processes serve many connections (Dovecot's high-performance mode)
# The report gives wall time, the tool's CPU, its peak RSS and the CPU Dovecot spent meanwhile.
#
#   bench/service.sh [ACCOUNTS]        (default 500; WITH_BENCH=1 deploy/install-deps.sh first)
#   env: MC_BINARY (default build/app/mailcollector), MAX_PARALLEL (32), RUNS (3),
#        MESSAGES per account (3), PROCESSES ("stock reuse"), KEEP=1 keeps the work directory.
# Must run as root (private Dovecot). Separate from bench/run.sh (the delivery benchmark).
set -euo pipefail
# Every tool trusts the system store as on a stock Debian: OpenSSL's SSL_CERT_FILE, when a shell sets
# it, makes each TLS client parse the whole bundle at start.
unset SSL_CERT_FILE SSL_CERT_DIR

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACCOUNTS=${1:-500}
MAX_PARALLEL=${MAX_PARALLEL:-32}
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-3}
PROCESSES=${PROCESSES:-stock reuse}
MC=${MC_BINARY:-$ROOT/build/app/mailcollector}
DOVECOT_SH=$ROOT/tests/support/private-dovecot.sh

die() { echo "service.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the private Dovecot needs it)"
[ -x "$MC" ] || die "no mailcollector at $MC (deploy/build.sh, or set MC_BINARY)"
for tool in fetchmail getmail smtp-sink curl awk setpriv /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is missing (WITH_BENCH=1 deploy/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/mc-bench-service.XXXXXX)
chmod 0755 "$WORK"
SINK_PID=""
DAEMON_PID=""
DOVECOT_DIR=""
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null || true
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    [ -n "$DOVECOT_DIR" ] && "$DOVECOT_SH" stop "$DOVECOT_DIR" --fast >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || shuf -i 20000-60000 -n 1
}
account() { printf 'b%04d' "$1"; }
secret() { printf 'pw%04d' "$1"; }

# --- the target and the messages (the same for every Dovecot) --------------------------------
SINK_PORT=$(free_port)
# Accepts (LMTP) and discards: what is measured is the collecting side. With -c it writes a
# running count of messages ("... mesg=N", CR-separated) that tells what each run delivered.
# getmail6 keeps one LMTP session open per rc file until it exits (500 at once): -m lifts
# smtp-sink's limit of 100 concurrent sessions, which would otherwise stall it.
(ulimit -n 8192 && exec smtp-sink -L -m 2000 -u nobody -c 127.0.0.1:"$SINK_PORT" 1000) >"$WORK/sink.out" 2>&1 &
SINK_PID=$!
sink_count() { tr '\r' '\n' <"$WORK/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1 | grep . || echo 0; }
mkdir -p "$WORK/msg"
for m in $(seq 1 "$MESSAGES"); do
    {
        printf 'From: sender%d@example.org\nTo: someone@example.net\nSubject: bench message %d\n' "$m" "$m"
        printf 'Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <bench-%d@example.org>\n\n' "$m"
        for l in $(seq 1 60); do printf 'Line %d of a message of a few kilobytes, as mail usually is.\n' "$l"; done
    } >"$WORK/msg/$m.eml"
done
users=()
for i in $(seq 1 "$ACCOUNTS"); do users+=("$(account "$i")" "$(secret "$i")"); done
HTTP_PORT=$(free_port)

# fetchmail and getmail run as nobody: getmail refuses to deliver as root, fetchmail warns.
NOBODY=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups env)

# Starts a Dovecot with process model $1 in $WORK/dovecot-$1 with every account seeded, and
# writes each tool's configuration for it under $WORK/$1.
prepare() {
    local mode=$1 i n
    DOVECOT_DIR=$WORK/dovecot-$mode
    log "[$mode] starting a private Dovecot; $ACCOUNTS accounts with $MESSAGES messages each"
    "$DOVECOT_SH" start "$DOVECOT_DIR" --processes "$mode" >/dev/null
    # shellcheck disable=SC1091
    . <(sed 's/^/export /' "$DOVECOT_DIR/ports.env")
    "$DOVECOT_SH" add-user "$DOVECOT_DIR" "${users[@]}"
    for i in $(seq 1 "$ACCOUNTS"); do
        "$DOVECOT_SH" seed "$DOVECOT_DIR" "$(account "$i")" INBOX "$WORK"/msg/*.eml
    done

    CONF=$WORK/$mode
    mkdir -p "$CONF/mc" "$CONF/fm" "$CONF/gm/rc" "$CONF/gm/state"
    {
        printf '[collector]\nledger = "ledger.db"\nquarantine_dir = "quarantine"\nmax_parallel = %d\n' "$MAX_PARALLEL"
        printf 'http_listen = "127.0.0.1:%d"\nio_timeout = "30s"\n\n' "$HTTP_PORT"
        printf '[target]\nprotocol = "lmtp"\nhost = "127.0.0.1"\nport = %d\ntls = "none"\nrecipient = "me@localhost"\n\n' "$SINK_PORT"
        for i in $(seq 1 "$ACCOUNTS"); do
            printf '[[account]]\nname = "%s"\nprotocol = "pop3"\nhost = "localhost"\nport = %d\n' "$(account "$i")" "$POP3S_PORT"
            printf 'ca_file = "%s"\nusername = "%s"\npassword = "%s"\ninterval = "1h"\n\n' "$CA_FILE" "$(account "$i")" "$(secret "$i")"
        done
    } >"$CONF/mc/mailcollector.toml"
    chmod 0600 "$CONF/mc/mailcollector.toml"

    # fetchmail: one poll line per account, UIDs kept in an id file (keep + uidl = "nothing new").
    {
        printf 'set no bouncemail\nset no syslog\nset idfile "%s/fm/fetchids"\n' "$CONF"
        for i in $(seq 1 "$ACCOUNTS"); do
            printf 'poll localhost proto pop3 service %d uidl user "%s" there with password "%s" is "me" here' \
                "$POP3S_PORT" "$(account "$i")" "$(secret "$i")"
            printf ' options keep ssl sslcertck sslcertfile "%s" smtphost 127.0.0.1/%d lmtp smtpname "me@localhost"\n' \
                "$CA_FILE" "$SINK_PORT"
        done
    } >"$CONF/fm/fetchmailrc"
    chmod 0600 "$CONF/fm/fetchmailrc"

    # getmail6: one rc file per account, all given to one process with -r.
    GM_ARGS=()
    for i in $(seq 1 "$ACCOUNTS"); do
        n=$(account "$i")
        cat >"$CONF/gm/rc/$n" <<RC
[retriever]
type = SimplePOP3SSLRetriever
server = localhost
port = $POP3S_PORT
username = $n
password = $(secret "$i")
ca_certs = $CA_FILE

[destination]
type = MDA_lmtp
host = 127.0.0.1
port = $SINK_PORT
override = me@localhost

[options]
read_all = false
delete = false
verbose = 0
message_log_syslog = false
RC
        GM_ARGS+=(-r "$CONF/gm/rc/$n")
    done
    chown -R nobody:"$(id -gn nobody)" "$CONF/fm" "$CONF/gm"
}

# --- measuring --------------------------------------------------------------------------------
# CPU seconds Dovecot has used so far (master, its live children, and the children it reaped:
# the login and pop3 processes of finished sessions): the server's share of a cycle.
server_cpu() {
    local master pids
    master=$(cat "$BASE_DIR/master.pid")
    pids="$master $(ps -o pid= --ppid "$master" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    for pid in $pids; do cat "/proc/$pid/stat" 2>/dev/null; done \
        | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { printf "%.2f", t / hz }'
}

# Runs a command under GNU time; prints "seconds cpu_seconds max_rss_kb server_cpu_seconds
# delivered" (GNU time's last line: a failing exit status adds one before it; fetchmail exits 1
# when there is no mail).
measure() {
    local out=$WORK/time.out before delivered
    before=$(server_cpu)
    delivered=$(sink_count)
    /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>"$WORK/last.err" </dev/null || true
    sleep 0.2  # smtp-sink updates its counter when a session ends
    tail -n 1 "$out" | awk -v s0="$before" -v s1="$(server_cpu)" -v d=$(( $(sink_count) - delivered )) \
        '{ printf "%.2f %.2f %d %.2f %d\n", $1, $2 + $3, $4, s1 - s0, d }'
}

# Median (by wall time) of RUNS measurements of "$@"; RESET (a command) runs, not measured,
# before each. Every run must have delivered EXPECT messages, else the row says so.
median_of() {
    local results=() r line
    for r in $(seq 1 "$RUNS"); do
        [ -n "${RESET:-}" ] && eval "$RESET"
        line=$(measure "$@")
        [ "$(awk '{ print $5 }' <<<"$line")" = "$EXPECT" ] \
            || log "WARNING: expected $EXPECT delivered, got: $line ($(tail -n 2 "$WORK/last.err" | tr '\n' ' '))"
        results+=("$line")
    done
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

# Sums of every series of the given metrics, from one scrape: "polls in_flight errors".
scrape() {
    curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '
        $1 ~ /^mailcollector_polls_total[{]/ { polls += $2 }
        $1 == "mailcollector_polls_in_flight" { flight = $2 }
        $1 ~ /^mailcollector_poll_errors_total[{]/ { errors += $2 }
        END { printf "%d %d %d\n", polls, flight, errors }'
}
# Scraped every 50 ms, so that measuring costs little of the CPU being measured.
wait_polls() {
    local want=$1 deadline=$((SECONDS + 300)) polls flight errors
    for (( ; ; )); do
        read -r polls flight errors <<<"$(scrape)"
        [ "$polls" -ge "$want" ] && [ "$flight" = 0 ] && return 0
        [ $SECONDS -lt "$deadline" ] || die "service cycle did not finish"
        sleep 0.05
    done
}

# Cycles of the service, each started by SIGUSR1: prints "seconds cpu_seconds server_cpu
# peak_rss_kb" (the median cycle; the RSS is the peak over all of them).
measure_service() {
    local r before ticks server start end results=() hz errors
    hz=$(getconf CLK_TCK)
    "$MC" run -c mailcollector.toml 2>"$CONF/mc/service.err" &
    DAEMON_PID=$!
    for _ in $(seq 1 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" = 200 ] && break
        sleep 0.05
    done
    # The service resumes each account's schedule from the ledger: nothing is due until SIGUSR1.
    for r in $(seq 1 "$RUNS"); do
        read -r before _ _ <<<"$(scrape)"
        ticks=$(awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat")
        server=$(server_cpu)
        start=$(date +%s.%N)
        kill -USR1 "$DAEMON_PID"
        wait_polls $((before + ACCOUNTS))
        end=$(date +%s.%N)
        results+=("$(awk -v s="$start" -v e="$end" -v t0="$ticks" -v hz="$hz" -v c0="$server" -v c1="$(server_cpu)" \
            -v t1="$(awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat")" \
            'BEGIN { printf "%.2f %.2f %.2f", e - s, (t1 - t0) / hz, c1 - c0 }')")
    done
    read -r _ _ errors <<<"$(scrape)"
    [ "$errors" = 0 ] || die "service polls failed: $(grep -m1 'poll failed' "$CONF/mc/service.err")"
    printf '%s %s\n' "$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" \
        "$(awk '/VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")"
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    DAEMON_PID=""
}

REPORT=$WORK/report.txt
: >"$REPORT"
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
row() { printf '%-44s %8s %8s %12s %14s %10s\n' "$@" >>"$REPORT"; }
# One table row from a measure line: row_of LABEL "seconds cpu rss server delivered".
row_of() { local s c r v d; read -r s c r v d <<<"$2"; row "$1" "$s" "$c" "$(mb "$r")" "$v" "$d"; }
FM_VERSION=$(fetchmail --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1)
GM_VERSION=$(getmail --version 2>/dev/null | awk '{ print $2 }')

for mode in $PROCESSES; do
    prepare "$mode"
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

    cd "$CONF/mc"
    log "[$mode] mailcollector --once: first imports"
    EXPECT=$((ACCOUNTS * MESSAGES)) RESET="rm -f '$CONF'/mc/ledger.db*"
    MC_FIRST=$(median_of "$MC" run -c mailcollector.toml --once)
    grep -q 'poll failed' "$WORK/last.err" && die "mailcollector: $(grep -m1 'poll failed' "$WORK/last.err")"
    log "[$mode] mailcollector --once: nothing-new cycles"
    EXPECT=0 RESET=""
    MC_ONCE=$(median_of "$MC" run -c mailcollector.toml --once)
    grep -q 'poll failed' "$WORK/last.err" && die "mailcollector: $(grep -m1 'poll failed' "$WORK/last.err")"
    log "[$mode] mailcollector service: cycles triggered by SIGUSR1"
    read -r svc_s svc_cpu svc_srv svc_rss <<<"$(measure_service)"

    cd "$CONF/fm"
    log "[$mode] fetchmail: first imports"
    EXPECT=$((ACCOUNTS * MESSAGES)) RESET="rm -f '$CONF'/fm/fetchids"
    FM_FIRST=$(median_of "${NOBODY[@]}" HOME="$CONF/fm" fetchmail -f fetchmailrc)
    log "[$mode] fetchmail: nothing-new cycles"
    EXPECT=0 RESET=""
    FM=$(median_of "${NOBODY[@]}" HOME="$CONF/fm" fetchmail -f fetchmailrc)
    grep -qi "error\|refused\|certificate" "$WORK/last.err" && log "fetchmail said: $(grep -m1 -i 'error\|refused\|certificate' "$WORK/last.err")"

    cd "$CONF/gm"
    log "[$mode] getmail6: first imports"
    EXPECT=$((ACCOUNTS * MESSAGES)) RESET="rm -f '$CONF'/gm/state/oldmail-*"
    GM_FIRST=$(median_of "${NOBODY[@]}" HOME="$CONF/gm" getmail --getmaildir "$CONF/gm/state" "${GM_ARGS[@]}")
    grep -qi "error" "$WORK/last.err" && log "getmail said: $(grep -m1 -i error "$WORK/last.err")"
    log "[$mode] getmail6: nothing-new cycles"
    EXPECT=0 RESET=""
    GM=$(median_of "${NOBODY[@]}" HOME="$CONF/gm" getmail --getmaildir "$CONF/gm/state" "${GM_ARGS[@]}")
    grep -qi "error" "$WORK/last.err" && log "getmail said: $(grep -m1 -i error "$WORK/last.err")"

    "$DOVECOT_SH" stop "$DOVECOT_DIR" --fast >/dev/null 2>&1 || true
    DOVECOT_DIR=""

    {
        printf '\nDovecot processes: %s; %d POP3S accounts x %d messages; median of %d; %d CPUs; load before %s\n' \
            "$mode" "$ACCOUNTS" "$MESSAGES" "$RUNS" "$(nproc)" "$LOAD_BEFORE"
    } >>"$REPORT"
    row "" "wall s" "cpu s" "peak RSS MB" "Dovecot cpu s" "delivered"
    row_of "first import: mailcollector --once" "$MC_FIRST"
    row_of "first import: fetchmail $FM_VERSION" "$FM_FIRST"
    row_of "first import: getmail $GM_VERSION" "$GM_FIRST"
    row_of "nothing new: mailcollector --once" "$MC_ONCE"
    row "nothing new: mailcollector service (SIGUSR1)" "$svc_s" "$svc_cpu" "$(mb "$svc_rss")" "$svc_srv" "-"
    row_of "nothing new: fetchmail $FM_VERSION" "$FM"
    row_of "nothing new: getmail $GM_VERSION" "$GM"
done

printf '\nmailcollector: max_parallel %d; fetchmail and getmail6 poll one account after another.\n' \
    "$MAX_PARALLEL" >>"$REPORT"
cat "$REPORT"
