#!/usr/bin/env bash
# The service benchmark: one process polling 500 POP3S accounts (a few messages each, all seen
# before), i.e. the steady state of a daemon where almost every poll finds nothing new. Measures
# the wall time of one full cycle, the CPU it costs and the peak RSS, for
#   - mailcollector run --once          (max_parallel = $MAX_PARALLEL)
#   - mailcollector run (the service)   (a cycle triggered by SIGUSR1, timed through /metrics)
#   - fetchmail, one rc with one poll line per account
#   - getmail6, one -r rc file per account
# against one private Dovecot on loopback (tests/support/private-dovecot.sh). Each tool first
# collects everything once (not measured), then runs the nothing-new cycle $RUNS times: the
# median is reported.
#
#   bench/service.sh [ACCOUNTS]        (default 500; WITH_BENCH=1 deploy/install-deps.sh first)
#   env: MC_BINARY (default build/app/mailcollector), MAX_PARALLEL (32), RUNS (3),
#        MESSAGES per account (3), KEEP=1 keeps the work directory.
# Must run as root (private Dovecot). Separate from bench/run.sh (the delivery benchmark).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACCOUNTS=${1:-500}
MAX_PARALLEL=${MAX_PARALLEL:-32}
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-3}
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
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null || true
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    "$DOVECOT_SH" stop "$WORK/dovecot" --fast >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- servers ---------------------------------------------------------------------------------
log "starting a private Dovecot and smtp-sink"
"$DOVECOT_SH" start "$WORK/dovecot" >/dev/null
# shellcheck disable=SC1091
. <(sed 's/^/export /' "$WORK/dovecot/ports.env")
PORT=$POP3S_PORT
CA=$CA_FILE
SINK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || shuf -i 20000-60000 -n 1)
mkdir -p "$WORK/sink"
# Accepts and discards: what the tools deliver on their first run is not measured.
smtp-sink -u nobody -c 127.0.0.1:"$SINK_PORT" 1000 >/dev/null 2>&1 &
SINK_PID=$!

log "creating $ACCOUNTS accounts with $MESSAGES messages each"
users=()
for i in $(seq 1 "$ACCOUNTS"); do users+=("$(printf 'b%04d' "$i")" "$(printf 'pw%04d' "$i")"); done
"$DOVECOT_SH" add-user "$WORK/dovecot" "${users[@]}"
mkdir -p "$WORK/msg"
for m in $(seq 1 "$MESSAGES"); do
    {
        printf 'From: sender%d@example.org\nTo: someone@example.net\nSubject: bench message %d\n' "$m" "$m"
        printf 'Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <bench-%d@example.org>\n\n' "$m"
        for l in $(seq 1 60); do printf 'Line %d of a message of a few kilobytes, as mail usually is.\n' "$l"; done
    } >"$WORK/msg/$m.eml"
done
for i in $(seq 1 "$ACCOUNTS"); do
    "$DOVECOT_SH" seed "$WORK/dovecot" "$(printf 'b%04d' "$i")" INBOX "$WORK"/msg/*.eml
done

# --- configurations ---------------------------------------------------------------------------
log "writing the configurations"
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || shuf -i 20000-60000 -n 1)
mkdir -p "$WORK/mc"
{
    printf '[collector]\nledger = "ledger.db"\nquarantine_dir = "quarantine"\nmax_parallel = %d\n' "$MAX_PARALLEL"
    printf 'http_listen = "127.0.0.1:%d"\nio_timeout = "30s"\n\n' "$HTTP_PORT"
    printf '[target]\nprotocol = "smtp"\nhost = "127.0.0.1"\nport = %d\ntls = "none"\nrecipient = "me@localhost"\n\n' "$SINK_PORT"
    for i in $(seq 1 "$ACCOUNTS"); do
        n=$(printf '%04d' "$i")
        printf '[[account]]\nname = "b%s"\nprotocol = "pop3"\nhost = "localhost"\nport = %d\n' "$n" "$PORT"
        printf 'ca_file = "%s"\nusername = "b%s"\npassword = "pw%s"\ninterval = "1h"\n\n' "$CA" "$n" "$n"
    done
} >"$WORK/mc/mailcollector.toml"
chmod 0600 "$WORK/mc/mailcollector.toml"

# fetchmail: one poll line per account, UIDs kept in an id file (keep + uidl = "nothing new").
mkdir -p "$WORK/fm"
{
    printf 'set no bouncemail\nset no syslog\nset idfile "%s/fm/fetchids"\n' "$WORK"
    for i in $(seq 1 "$ACCOUNTS"); do
        n=$(printf '%04d' "$i")
        printf 'poll localhost proto pop3 service %d uidl user "b%s" there with password "pw%s" is "me" here' "$PORT" "$n" "$n"
        printf ' options keep ssl sslcertck sslcertfile "%s" smtphost 127.0.0.1/%d\n' "$CA" "$SINK_PORT"
    done
} >"$WORK/fm/fetchmailrc"
chmod 0600 "$WORK/fm/fetchmailrc"

# getmail6: one rc file per account, all given to one process with -r.
mkdir -p "$WORK/gm/rc" "$WORK/gm/state" "$WORK/gm/Maildir"/{cur,new,tmp}
GM_ARGS=()
for i in $(seq 1 "$ACCOUNTS"); do
    n=$(printf '%04d' "$i")
    cat >"$WORK/gm/rc/b$n" <<RC
[retriever]
type = SimplePOP3SSLRetriever
server = localhost
port = $PORT
username = b$n
password = pw$n
ca_certs = $CA

[destination]
type = Maildir
path = $WORK/gm/Maildir/

[options]
read_all = false
delete = false
verbose = 0
message_log_syslog = false
RC
    GM_ARGS+=(-r "$WORK/gm/rc/b$n")
done

# fetchmail and getmail run as nobody: getmail refuses to deliver as root, fetchmail warns.
chown -R nobody:"$(id -gn nobody)" "$WORK/fm" "$WORK/gm"
NOBODY=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups env)

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

# Runs a command under GNU time; prints "seconds cpu_seconds max_rss_kb server_cpu_seconds" (GNU
# time's last line: a failing exit status adds one before it; fetchmail exits 1 when no mail).
measure() {
    local out=$WORK/time.out before
    before=$(server_cpu)
    /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>"$WORK/last.err" </dev/null || true
    tail -n 1 "$out" | awk -v s0="$before" -v s1="$(server_cpu)" \
        '{ printf "%.2f %.2f %d %.2f\n", $1, $2 + $3, $4, s1 - s0 }'
}

# Median of RUNS measurements of "$@" (by wall time).
median_of() {
    local results=() r
    for r in $(seq 1 "$RUNS"); do results+=("$(measure "$@")"); done
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cd "$WORK/mc"
log "mailcollector --once: first collection (not measured)"
"$MC" run -c mailcollector.toml --once 2>"$WORK/mc/first.err" || die "first mailcollector run failed: $(tail -3 "$WORK/mc/first.err")"
grep -q "delivered=$MESSAGES" "$WORK/mc/first.err" || die "first run delivered nothing? $(tail -3 "$WORK/mc/first.err")"
log "mailcollector --once: nothing-new cycles"
MC_ONCE=$(median_of "$MC" run -c mailcollector.toml --once)
grep -q 'delivered=[1-9]' "$WORK/last.err" && die "mailcollector found new mail in a nothing-new cycle"
grep -q 'poll failed' "$WORK/last.err" && die "mailcollector: $(grep -m1 'poll failed' "$WORK/last.err")"

log "mailcollector service: cycles triggered by SIGUSR1"
# Sums of every series of the given metrics, from one scrape: "polls in_flight errors".
scrape() {
    curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '
        $1 ~ /^mailcollector_polls_total[{]/ { polls += $2 }
        $1 == "mailcollector_polls_in_flight" { flight = $2 }
        $1 ~ /^mailcollector_poll_errors_total[{]/ { errors += $2 }
        END { printf "%d %d %d\n", polls, flight, errors }'
}
"$MC" run -c mailcollector.toml 2>"$WORK/mc/service.err" &
DAEMON_PID=$!
for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" = 200 ] && break
    sleep 0.05
done
# The service resumes each account's schedule from the ledger: nothing is due until SIGUSR1.
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
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
TICKS=$(getconf CLK_TCK)
service_results=()
for r in $(seq 1 "$RUNS"); do
    read -r before _ _ <<<"$(scrape)"
    ticks=$(cpu_ticks)
    server=$(server_cpu)
    start=$(date +%s.%N)
    kill -USR1 "$DAEMON_PID"
    wait_polls $((before + ACCOUNTS))
    end=$(date +%s.%N)
    service_results+=("$(awk -v s="$start" -v e="$end" -v t0="$ticks" -v t1="$(cpu_ticks)" -v hz="$TICKS" \
        -v c0="$server" -v c1="$(server_cpu)" 'BEGIN { printf "%.2f %.2f %.2f", e - s, (t1 - t0) / hz, c1 - c0 }')")
done
MC_SERVICE=$(printf '%s\n' "${service_results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
MC_SERVICE_RSS=$(awk '/VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
read -r _ _ errors <<<"$(scrape)"
[ "$errors" = 0 ] || die "service polls failed: $(grep -m1 'poll failed' "$WORK/mc/service.err")"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || true
DAEMON_PID=""

cd "$WORK/fm"
log "fetchmail: first collection (not measured)"
"${NOBODY[@]}" HOME="$WORK/fm" fetchmail -f fetchmailrc >"$WORK/fm/first.out" 2>&1 </dev/null || true
log "fetchmail: nothing-new cycles"
FM=$(median_of "${NOBODY[@]}" HOME="$WORK/fm" fetchmail -f fetchmailrc)
grep -qi "error\|refused\|certificate" "$WORK/last.err" && log "fetchmail said: $(grep -m1 -i 'error\|refused\|certificate' "$WORK/last.err")"

cd "$WORK/gm"
log "getmail6: first collection (not measured)"
"${NOBODY[@]}" HOME="$WORK/gm" getmail --getmaildir "$WORK/gm/state" "${GM_ARGS[@]}" >"$WORK/gm/first.out" 2>&1 </dev/null \
    || true
log "getmail6: nothing-new cycles"
GM=$(median_of "${NOBODY[@]}" HOME="$WORK/gm" getmail --getmaildir "$WORK/gm/state" "${GM_ARGS[@]}")
grep -qi "error" "$WORK/last.err" && log "getmail said: $(grep -m1 -i error "$WORK/last.err")"
first_gm=$(find "$WORK/gm/Maildir/new" -type f | wc -l)
first_fm=$(grep -c "reading message" "$WORK/fm/first.out" || true)

# --- report -----------------------------------------------------------------------------------
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
read -r once_s once_cpu once_rss once_srv <<<"$MC_ONCE"
read -r svc_s svc_cpu svc_srv <<<"$MC_SERVICE"
read -r fm_s fm_cpu fm_rss fm_srv <<<"$FM"
read -r gm_s gm_cpu gm_rss gm_srv <<<"$GM"
printf '\nnothing-new cycle over %d POP3S accounts (%d messages each, all seen before); median of %d; %d CPUs\n' \
    "$ACCOUNTS" "$MESSAGES" "$RUNS" "$(nproc)"
printf '%-40s %8s %8s %12s %14s\n' "tool" "wall s" "cpu s" "peak RSS MB" "Dovecot cpu s"
row() { printf '%-40s %8s %8s %12s %14s\n' "$@"; }
row "mailcollector run --once (max_parallel $MAX_PARALLEL)" "$once_s" "$once_cpu" "$(mb "$once_rss")" "$once_srv"
row "mailcollector service, SIGUSR1 cycle" "$svc_s" "$svc_cpu" "$(mb "$MC_SERVICE_RSS")" "$svc_srv"
row "fetchmail $(fetchmail --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1)" \
    "$fm_s" "$fm_cpu" "$(mb "$fm_rss")" "$fm_srv"
row "getmail $(getmail --version 2>/dev/null | awk '{ print $2 }')" "$gm_s" "$gm_cpu" "$(mb "$gm_rss")" "$gm_srv"
printf '(first runs delivered: fetchmail %d, getmail %d messages; the service RSS is its peak over all cycles;\n' \
    "$first_fm" "$first_gm"
printf ' load average before/after: %s / %s)\n' "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
