#!/usr/bin/env bash
# Side-by-side benchmark: mailcollector vs fetchmail vs getmail6, POP3S (and IMAPS) source -> LMTP
# target, all served by one private Dovecot on loopback (tests/support/private-dovecot.sh).
# Run by hand (needs root, like the integration tests); it is NOT a test and not part of ctest.
#
#   ./bench/run.sh                 full run (20000 messages; ~25 minutes on 2 cores without the
#                                  IMAP phases, which add roughly 10 more; fetchmail takes most
#                                  of it; the first time ~7 more to seed the sources)
#   QUICK=1 ./bench/run.sh         smoke run with small sizes (about a minute)
#
# Phases (all by default; PHASES selects, in this order):
#   ceiling  the target's own acceptance rate: smtp-source -L -d, 1 and 4 sessions (first and,
#            with CEILING_AFTER=1, again last)
#   a        workload A: one account with MESSAGES messages, first import (keep = true)
#   repoll   the same tool run again on the same mailbox: nothing new
#   imap     workload A's mailbox again, imported over IMAPS (INBOX, keep), fresh state
#   imap-repoll  the same tool run again over IMAPS: nothing new (fetchmail: see
#            IMAP_FETCHMAIL_REPOLL; it has no UID tracking for IMAP)
#   b        workload B: ACCOUNTS accounts x PER_ACCOUNT messages, one invocation per tool
#            (followed by its own re-poll)
#   big      one BIG_MB MB message: wall time and peak RSS
# Before each run the target user's mailbox is emptied; after it the target must hold exactly
# the expected number of messages (a WARNING is printed otherwise).
#
# Options (environment variables):
#   MESSAGES=20000        workload A size                     (QUICK=1: 500)
#   MESSAGE_SIZE=7000     mean message size in bytes (+-30%, realistic headers, MIME text+html)
#   ACCOUNTS=20           workload B accounts                 (QUICK=1: 5)
#   PER_ACCOUNT=500       workload B messages per account     (QUICK=1: 100)
#   BIG_MB=50             size of the big message             (QUICK=1: 10)
#   TARGET_FORMAT=sdbox   how the target user's mail is stored: "sdbox" (the bench switches only
#                         LMTP deliveries to ~/sdbox in its private Dovecot's config) or
#                         "maildir" (the harness default). Dovecot's maildir LMTP re-reads the
#                         whole dovecot-uidlist for every delivery, so a maildir target slows
#                         down as it fills (about 400 -> 50 msg/s by 20000 messages) and every
#                         fast tool just measures that; sdbox stays flat.
#   BIG_TOOLS=all         "all": every tool in TOOLS gets the big message; "mailcollector": only it
#   CEILING_MESSAGES=     messages per smtp-source run (default: MESSAGES)
#   CEILING_AFTER=1       measure the ceiling again at the end (load drifts on shared machines);
#                         the better 4-session rate is the reference
#   TOOLS="mailcollector fetchmail getmail"   subset/order of tools (getmail = getmail6)
#   MC_CONNECTIONS=4      [target] connections for mailcollector; a list ("1 4 8") runs one
#                         mailcollector variant per value
#   PHASES="ceiling a repoll imap imap-repoll b big"
#   IMAP_FETCHMAIL_REPOLL=unseen  what fetchmail's IMAP re-poll runs. Its import needs `fetchall`
#                         (the seeded mail is \Seen); it tracks nothing for IMAP, so the same rc
#                         again re-delivers everything. "unseen": the re-poll drops `fetchall`
#                         (fetchmail's normal IMAP mode: SEARCH UNSEEN, finds nothing);
#                         "fetchall": the same rc again (shows the re-delivery: the target then
#                         holds twice the messages and the row says so)
#   MC_LEDGER_DIR=        put mailcollector's ledger there instead of its state dir (e.g.
#                         /dev/shm, to see what the ledger's fsyncs cost)
#   MC_WRAP=              command prefix for mailcollector runs, e.g.
#                         MC_WRAP="strace -f -c -o /tmp/mc.strace -e trace=fdatasync,fsync"
#                         (then wall time, CPU and RSS are the wrapper's, not mailcollector's)
#   PROFILE=0             1: one extra mailcollector run of workload A under `perf record -g`;
#                         the report is appended to the results file
#   TOOL_TIMEOUT=1800     seconds; each tool run is killed after this long
#   BENCH_DIR=/tmp/mc-bench   private work dir (Dovecot, mail, tool state, corpus cache);
#                         must be reachable by Dovecot's users (keep it under /tmp)
#   MC_BIN=build/app/mailcollector   binary to measure (copied into BENCH_DIR first, so a
#                         concurrent rebuild does not change it mid-run); build: ./deploy/build.sh
#   MC_BIN_BEFORE=        an older build to measure in the same run ("mailcollector-before" in
#                         TOOLS, e.g. TOOLS="mailcollector mailcollector-before fetchmail"): a
#                         change's before and after under the same load and the same Dovecot
#   RESULTS_DIR=bench/results        where the results file goes (git-ignored)
#
# Output: a table on stdout, and the same table plus machine-readable `result ...` lines in
# RESULTS_DIR/<date>-<time>.txt. Only 127.0.0.1 is used; Dovecot is stopped on exit.
set -euo pipefail
# Every tool trusts the system store as on a stock Debian: OpenSSL's SSL_CERT_FILE, when a shell sets
# it, makes each TLS client parse the whole bundle at start.
unset SSL_CERT_FILE SSL_CERT_DIR

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_SRC/.." && pwd)
DOVECOT_SH="$REPO/tests/support/private-dovecot.sh"

if [ "${QUICK:-0}" = 1 ]; then
    : "${MESSAGES:=500}" "${ACCOUNTS:=5}" "${PER_ACCOUNT:=100}" "${BIG_MB:=10}"
fi
MESSAGES=${MESSAGES:-20000}
MESSAGE_SIZE=${MESSAGE_SIZE:-7000}
ACCOUNTS=${ACCOUNTS:-20}
PER_ACCOUNT=${PER_ACCOUNT:-500}
BIG_MB=${BIG_MB:-50}
BIG_TOOLS=${BIG_TOOLS:-all}
CEILING_MESSAGES=${CEILING_MESSAGES:-$MESSAGES}
TOOLS=${TOOLS:-mailcollector fetchmail getmail}
MC_CONNECTIONS=${MC_CONNECTIONS:-4}
MC_WRAP=${MC_WRAP:-}
TARGET_FORMAT=${TARGET_FORMAT:-sdbox}
CEILING_AFTER=${CEILING_AFTER:-1}
PHASES=${PHASES:-ceiling a repoll imap imap-repoll b big}
IMAP_FETCHMAIL_REPOLL=${IMAP_FETCHMAIL_REPOLL:-unseen}
PROFILE=${PROFILE:-0}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
BENCH_DIR=${BENCH_DIR:-/tmp/mc-bench}
MC_BIN=${MC_BIN:-$REPO/build/app/mailcollector}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_SRC/results}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# Preflight
[ "$(id -u)" = 0 ] || die "must run as root (the private Dovecot switches to the mail user)"
for n in MESSAGES MESSAGE_SIZE ACCOUNTS PER_ACCOUNT BIG_MB CEILING_MESSAGES TOOL_TIMEOUT; do
    [[ "${!n}" =~ ^[0-9]+$ ]] && [ "${!n}" -gt 0 ] || die "$n must be a positive integer"
done
for p in $PHASES; do
    case $p in
        ceiling | a | repoll | imap | imap-repoll | b | big) ;;
        *) die "unknown phase '$p' in PHASES (ceiling a repoll imap imap-repoll b big)" ;;
    esac
done
case $IMAP_FETCHMAIL_REPOLL in
    unseen | fetchall) ;;
    *) die "IMAP_FETCHMAIL_REPOLL must be unseen or fetchall" ;;
esac
[[ "$BENCH_DIR" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "BENCH_DIR must be an absolute path of [A-Za-z0-9._/+-]"
[ -x /usr/bin/time ] || die "GNU time is missing (WITH_BENCH=1 ./deploy/install-deps.sh)"
command -v python3 >/dev/null || die "python3 is missing (WITH_BENCH=1 ./deploy/install-deps.sh)"
TOOL_LIST=()
for t in $TOOLS; do
    case $t in
        mailcollector) [ -x "$MC_BIN" ] || die "no mailcollector binary at $MC_BIN (./deploy/build.sh)"
            for c in $MC_CONNECTIONS; do
                [[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -ge 1 ] || die "MC_CONNECTIONS: '$c' is not a count"
                TOOL_LIST+=("mc:$c")
            done ;;
        mailcollector-before) [ -x "${MC_BIN_BEFORE:-}" ] || die "mailcollector-before needs MC_BIN_BEFORE=<an older build's binary>"
            for c in $MC_CONNECTIONS; do TOOL_LIST+=("before:$c"); done ;;
        fetchmail) command -v fetchmail >/dev/null || die "fetchmail missing (WITH_BENCH=1 ./deploy/install-deps.sh)"
            TOOL_LIST+=(fetchmail) ;;
        getmail | getmail6) command -v getmail >/dev/null || die "getmail6 missing (WITH_BENCH=1 ./deploy/install-deps.sh)"
            TOOL_LIST+=(getmail) ;;
        *) die "unknown tool '$t' in TOOLS (mailcollector mailcollector-before fetchmail getmail)" ;;
    esac
done
[ ${#TOOL_LIST[@]} -gt 0 ] || die "TOOLS is empty"
command -v smtp-source >/dev/null || die "smtp-source missing (postfix; ./deploy/install-deps.sh)"
if [ "$PROFILE" = 1 ]; then command -v perf >/dev/null || die "PROFILE=1 needs perf"; fi

label() {  # display name of a TOOL_LIST entry
    case $1 in
        mc:*) if [ "$(wc -w <<<"$MC_CONNECTIONS")" -gt 1 ] || [ "${1#mc:}" != 4 ]; then
                  echo "mailcollector c=${1#mc:}"
              else echo "mailcollector"; fi ;;
        before:*) echo "mc-before c=${1#before:}" ;;
        getmail) echo "getmail6" ;;
        *) echo "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Work dir, Dovecot. BENCH_DIR/dovecot persists between runs (its seeded source mailboxes are
# reused when they match: seeding 30000 files one by one takes minutes); BENCH_DIR/run is new
# for every run.
RUN="$BENCH_DIR/run"
DOVE="$BENCH_DIR/dovecot"
mkdir -p "$BENCH_DIR"
chmod 0755 "$BENCH_DIR"
[ -f "$DOVE/dovecot.conf" ] && { "$DOVECOT_SH" stop "$DOVE" >/dev/null 2>&1 || true; }
rm -rf "$RUN"
mkdir -p "$RUN/bin" "$RUN/state" "$RUN/logs"
chmod 0755 "$RUN"

cleanup() {
    local rc=$?
    "$DOVECOT_SH" stop "$DOVE" >/dev/null 2>&1 || true
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

MC="$RUN/bin/mailcollector"
if [[ " ${TOOL_LIST[*]} " == *" mc:"* ]]; then cp -p "$MC_BIN" "$MC"; fi
MC_BEFORE="$RUN/bin/mailcollector-before"
if [[ " ${TOOL_LIST[*]} " == *" before:"* ]]; then cp -p "$MC_BIN_BEFORE" "$MC_BEFORE"; fi
# A snapshot of the Dovecot harness too: the tree may be edited while a long run goes on.
mkdir -p "$RUN/bin/support"
cp "$REPO/tests/support/private-dovecot.sh" "$REPO/tests/support/make-test-ca.sh" "$RUN/bin/support/"
DOVECOT_SH="$RUN/bin/support/private-dovecot.sh"
bash -n "$DOVECOT_SH" || die "tests/support/private-dovecot.sh does not parse (being edited?)"

STARTED_AT=$(date +%s)
say "starting a private Dovecot in $DOVE"
"$DOVECOT_SH" start "$DOVE" >"$RUN/logs/dovecot-start.log" 2>&1 \
    || { cat "$RUN/logs/dovecot-start.log" >&2; die "Dovecot did not start"; }
# shellcheck disable=SC1091
. "$DOVE/ports.env"
DOVEADM=(doveadm -c "$DOVE/dovecot.conf")

pw() { echo "pw-$1"; }
B_USERS=()
for ((i = 1; i <= ACCOUNTS; i++)); do B_USERS+=("$(printf 'u%03d' "$i")"); done
say "adding users"
for u in me alice big "${B_USERS[@]}"; do
    "$DOVECOT_SH" add-user "$DOVE" "$u" "$(pw "$u")" >/dev/null
done
TARGET_HOME=$("${DOVEADM[@]}" user -f home me)
[ -d "$TARGET_HOME" ] || die "target home $TARGET_HOME missing"

# The target's storage. The harness stores everything as maildir; with TARGET_FORMAT=sdbox
# only LMTP deliveries (i.e. the target user "me") go to ~/sdbox instead.
case $TARGET_FORMAT in
    maildir) TARGET_STORE="$TARGET_HOME/Maildir" ;;
    sdbox)
        TARGET_STORE="$TARGET_HOME/sdbox"
        conf="$DOVE/dovecot.conf"
        if grep -q '^protocol lmtp {$' "$conf"; then
            sed -i 's|^protocol lmtp {$|protocol lmtp {\n  mail_location = sdbox:~/sdbox  # bench/run.sh TARGET_FORMAT=sdbox|' "$conf"
        else
            printf '\nprotocol lmtp {\n  mail_location = sdbox:~/sdbox  # bench/run.sh\n}\n' >>"$conf"
        fi
        "${DOVEADM[@]}" reload
        ;;
    *) die "TARGET_FORMAT must be maildir or sdbox" ;;
esac
target_files() {  # the target's message files, one per delivered message
    case $TARGET_FORMAT in
        maildir) find "$TARGET_STORE/new" "$TARGET_STORE/cur" -type f 2>/dev/null ;;
        sdbox) find "$TARGET_STORE/mailboxes/INBOX/dbox-Mails" -type f -name 'u.*' 2>/dev/null ;;
    esac
    return 0
}
clear_target() {
    rm -rf "$TARGET_HOME/Maildir" "$TARGET_HOME/sdbox"
    local d
    for d in "" /cur /new /tmp; do
        mkdir -p "$TARGET_HOME/Maildir$d"
        chown "$MAIL_UID:$MAIL_GID" "$TARGET_HOME/Maildir$d"
        chmod 0700 "$TARGET_HOME/Maildir$d"
    done
}
target_count() { target_files | wc -l; }
target_largest() { target_files | xargs -r -d '\n' stat -c %s | sort -n | tail -n 1; }
# One probe delivery: the target works and lands where target_files looks.
clear_target
probe_ok=0
for _ in $(seq 1 50); do
    if printf 'Subject: probe\n\nprobe\n' >"$RUN/probe.eml" &&
        smtp-source -L -m 1 -F "$RUN/probe.eml" -f bench@localhost -t me@localhost \
            "127.0.0.1:$LMTP_PORT" >/dev/null 2>&1 && [ "$(target_count)" = 1 ]; then
        probe_ok=1
        break
    fi
    clear_target
    sleep 0.2
done
[ "$probe_ok" = 1 ] || die "a probe LMTP delivery did not arrive in $TARGET_STORE"
clear_target

# ---------------------------------------------------------------------------------------------
# Corpus (generated once per size/count, cached in BENCH_DIR/corpus)
CORPUS_COUNT=$MESSAGES
[ $((ACCOUNTS * PER_ACCOUNT)) -gt "$CORPUS_COUNT" ] && CORPUS_COUNT=$((ACCOUNTS * PER_ACCOUNT))
CORPUS="$BENCH_DIR/corpus/n$CORPUS_COUNT-s$MESSAGE_SIZE"
if [ ! -f "$CORPUS/.done" ]; then
    say "generating $CORPUS_COUNT messages of ~$MESSAGE_SIZE bytes into $CORPUS"
    rm -rf "$CORPUS"
    python3 "$BENCH_SRC/gen-messages.py" corpus "$CORPUS" "$CORPUS_COUNT" --size "$MESSAGE_SIZE"
    touch "$CORPUS/.done"
fi
BIG_FILE="$BENCH_DIR/corpus/big-${BIG_MB}mb.eml"
if has_phase big && [ ! -f "$BIG_FILE" ]; then
    say "generating a $BIG_MB MB message"
    python3 "$BENCH_SRC/gen-messages.py" big "$BIG_FILE" "$BIG_MB"
fi
corpus_slice() {  # FIRST COUNT: paths of messages FIRST..FIRST+COUNT-1 (1-based)
    local i
    for ((i = $1; i < $1 + $2; i++)); do printf '%s/%06d.eml\n' "$CORPUS" "$i"; done
}
SAMPLE_SIZE=$(($(corpus_slice 1 "$MESSAGES" | xargs -d '\n' cat | wc -c) / MESSAGES))

# Seeds USER's INBOX with the files listed on stdin, unless an earlier run seeded exactly these
# (same list, still all there). All source messages are then flagged \Seen, so that no tool's
# first POP3 session pays for Dovecot moving them from new/ to cur/.
SEEDED=0
seed_user() {  # USER EXPECTED_COUNT
    local user=$1 count=$2 home list sig marker have
    home=$("${DOVEADM[@]}" user -f home "$user")
    list=$(cat)
    sig=$(printf '%s\n' "$list" | md5sum | cut -d' ' -f1)
    marker="$DOVE/bench-seeded/$user"
    have=$(find "$home/Maildir/new" "$home/Maildir/cur" -type f 2>/dev/null | wc -l)
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$sig" ] && [ "$have" = "$count" ]; then
        return 0
    fi
    mkdir -p "$DOVE/bench-seeded"
    rm -f "$marker"
    rm -rf "$home/Maildir"
    "$DOVECOT_SH" add-user "$DOVE" "$user" "$(pw "$user")" >/dev/null  # re-creates the maildir
    printf '%s\n' "$list" | xargs -d '\n' -n 1000 "$DOVECOT_SH" seed "$DOVE" "$user" INBOX
    "${DOVEADM[@]}" flags add -u "$user" '\Seen' mailbox INBOX all
    have=$(find "$home/Maildir/new" "$home/Maildir/cur" -type f | wc -l)
    [ "$have" = "$count" ] || die "seeding $user: $have messages instead of $count"
    echo "$sig" >"$marker"
    SEEDED=$((SEEDED + count))
}

t0=$(date +%s)
WARM=()
IMAP_WARM=()
if has_phase a || has_phase repoll || has_phase imap || has_phase imap-repoll; then
    say "source alice: $MESSAGES messages"
    seed_user alice "$MESSAGES" < <(corpus_slice 1 "$MESSAGES")
    WARM+=("alice:$(pw alice)")
    if has_phase imap || has_phase imap-repoll; then IMAP_WARM+=("alice:$(pw alice)"); fi
fi
if has_phase b; then
    say "source: $ACCOUNTS accounts with $PER_ACCOUNT messages each"
    for ((i = 0; i < ACCOUNTS; i++)); do
        seed_user "${B_USERS[$i]}" "$PER_ACCOUNT" < <(corpus_slice $((i * PER_ACCOUNT + 1)) "$PER_ACCOUNT")
        WARM+=("${B_USERS[$i]}:$(pw "${B_USERS[$i]}")")
    done
fi
if has_phase big; then
    seed_user big 1 <<<"$BIG_FILE"
    WARM+=("big:$(pw big)")
fi
if [ ${#WARM[@]} -gt 0 ]; then
    say "warming Dovecot's index (one POP3 session per account)"
    python3 "$BENCH_SRC/pop3-warm.py" 127.0.0.1 "$POP3S_PORT" "$CA_FILE" "${WARM[@]}" >"$RUN/logs/warm.log"
fi
if [ ${#IMAP_WARM[@]} -gt 0 ]; then
    say "warming Dovecot's IMAP index and cache (one read-only IMAPS session)"
    python3 "$BENCH_SRC/imap-warm.py" 127.0.0.1 "$IMAPS_PORT" "$CA_FILE" "${IMAP_WARM[@]}" >>"$RUN/logs/warm.log"
fi
say "sources ready in $(($(date +%s) - t0)) s ($SEEDED messages seeded now, the rest reused)"

# ---------------------------------------------------------------------------------------------
# Helpers: timed runs, results

# timed LOG CMD...: runs CMD bounded by TOOL_TIMEOUT; sets T_RC T_WALL T_CPU T_RSS (KB).
timed() {
    local log=$1 tf u sy
    shift
    tf=$(mktemp "$RUN/logs/time.XXXXXX")
    T_RC=0
    T_LOAD=$(cut -d' ' -f1 /proc/loadavg)
    timeout -k 10 "$TOOL_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 || T_RC=$?
    if [ "$T_RC" = 124 ] || [ "$T_RC" = 137 ]; then
        T_WALL=$TOOL_TIMEOUT T_CPU=- T_RSS=-
    else
        # GNU time writes "Command exited with non-zero status N" first on failure.
        read -r T_WALL u sy T_RSS < <(tail -n 1 "$tf")
        T_CPU=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }')
    fi
    rm -f "$tf"
}
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t + 0 > 0) printf "%.0f", n / t; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0) printf "%.1fx", a / b; else print "-" }'; }
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
mb() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f MB", k / 1024 }'; }

RESULTS=()    # machine-readable lines
WARNINGS=()
declare -A RATE=() WALL=() RSS=() CPU=() STATUS=() LOAD=()
# record PHASE TOOL EXPECTED [NOTE]: uses T_*, the target count and RECORD_PROBLEM (a problem
# found by the caller, e.g. changed source flags, added to the status). NOTE: how the run was made.
RECORD_PROBLEM=""
record() {
    local phase=$1 tool=$2 expected=$3 note=${4:-} count status
    count=$(target_count)
    status=ok
    if [ "$T_RC" = 124 ] || [ "$T_RC" = 137 ]; then status="TIMEOUT"
    elif ! tool_rc_ok "$tool" "$T_RC"; then status="exit $T_RC"; fi
    [ -z "$note" ] || status="$status ($note)"
    [ -z "$RECORD_PROBLEM" ] || status="$status, $RECORD_PROBLEM"
    if [ "$count" != "$expected" ]; then
        status="$status, target has $count"
        WARNINGS+=("WARNING: $phase/$(label "$tool"): target holds $count messages, expected $expected")
        echo "bench: WARNING: $phase/$(label "$tool"): target holds $count messages, expected $expected" >&2
    fi
    local r=-
    [[ "$phase" == *repoll ]] || r=$(rate "$expected" "$T_WALL")
    RATE[$phase/$tool]=$r WALL[$phase/$tool]=$T_WALL RSS[$phase/$tool]=$T_RSS CPU[$phase/$tool]=$T_CPU LOAD[$phase/$tool]=$T_LOAD
    STATUS[$phase/$tool]=$status
    RESULTS+=("result phase=$phase tool=$(label "$tool" | tr ' ' '_') expected=$expected target_count=$count wall_s=$T_WALL msg_per_s=$r cpu_s=$T_CPU peak_rss_kb=$T_RSS load1_before=$T_LOAD exit=$T_RC status=\"$status\"")
    say "  $phase $(label "$tool"): ${T_WALL}s, $r msg/s, cpu ${T_CPU}s, rss ${T_RSS} KB, $status"
}

tool_rc_ok() {  # fetchmail exits 1 for "no mail"
    case $1 in
        fetchmail) [ "$2" = 0 ] || [ "$2" = 1 ] ;;
        *) [ "$2" = 0 ] ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Tool configurations. STATE is a fresh directory per (phase, tool); accounts are USER names.
# SOURCE says how the tools read the source: "pop3" (POP3S) or "imap" (IMAPS, INBOX only).
# FETCHMAIL_FETCHALL=1 adds `fetchall` to fetchmail's IMAP polls (needed: the seeded mail is
# \Seen, and fetchmail's IMAP mode otherwise fetches only unseen messages).
SOURCE=pop3
FETCHMAIL_FETCHALL=1
write_password() {  # FILE USER
    (umask 077 && printf '%s\n' "$(pw "$2")" >"$1")
}
# The default max_message_size (50 MB, decimal) is below a "50 MB" message as POP3 lists it
# (50 MiB plus CRLF line ends), so the limit is raised for everyone.
MC_MAX_SIZE_MB=$((BIG_MB * 2 + 100))
setup_mc() {  # STATE CONNECTIONS USER...
    local state=$1 conn=$2 u
    shift 2
    mkdir -p "$state/secrets"
    if [ -n "${MC_LEDGER_DIR:-}" ]; then
        mkdir -p "$MC_LEDGER_DIR"
        rm -f "$MC_LEDGER_DIR/ledger-$(basename "$state").db"*
    fi
    {
        cat <<EOF
# Generated by bench/run.sh
[collector]
ledger = "${MC_LEDGER_DIR:-$state}/ledger-$(basename "$state").db"
quarantine_dir = "$state/quarantine"
spool_dir = "$state/spool"
http_listen = ""

[target]
protocol = "lmtp"
host = "127.0.0.1"
port = $LMTP_PORT
tls = "none"
recipient = "me@localhost"
connections = $conn
EOF
        for u in "$@"; do
            write_password "$state/secrets/$u" "$u"
            cat <<EOF

[[account]]
name = "$u"
EOF
            if [ "$SOURCE" = imap ]; then
                cat <<EOF
protocol = "imap"
host = "127.0.0.1"
port = $IMAPS_PORT
folders = ["INBOX"]
idle = false
EOF
            else
                cat <<EOF
protocol = "pop3"
host = "127.0.0.1"
port = $POP3S_PORT
EOF
            fi
            cat <<EOF
tls = "implicit"
ca_file = "$CA_FILE"
username = "$u"
password_file = "$state/secrets/$u"
keep = true
max_message_size = "${MC_MAX_SIZE_MB}MB"
EOF
        done
    } >"$state/mailcollector.toml"
    # shellcheck disable=SC2206
    CMD=($MC_WRAP "$MC_RUN_BIN" run -c "$state/mailcollector.toml" --once)
}
setup_fetchmail() {  # STATE USER...
    local state=$1 u fetchall=""
    shift
    mkdir -p "$state"
    [ "$FETCHMAIL_FETCHALL" = 1 ] && fetchall=" fetchall"
    {
        echo "# Generated by bench/run.sh"
        echo "set no syslog"
        echo "set no bouncemail"
        for u in "$@"; do
            # The certificate names localhost and 127.0.0.1; fetchmail checks the name it was
            # given, so connect via 127.0.0.1 and check for "localhost".
            if [ "$SOURCE" = imap ]; then
                # No `uidl`: fetchmail tracks no UIDs over IMAP, it relies on \Seen.
                echo "poll bench-$u via 127.0.0.1 service $IMAPS_PORT proto imap"
                echo "  user \"$u\" there with password \"$(pw "$u")\" is \"me\" here"
                echo "  folder \"INBOX\""
                echo "  options keep$fetchall ssl sslcertfile \"$CA_FILE\" sslcertck sslcommonname \"localhost\""
            else
                echo "poll bench-$u via 127.0.0.1 service $POP3S_PORT proto pop3 uidl"
                echo "  user \"$u\" there with password \"$(pw "$u")\" is \"me\" here"
                echo "  options keep ssl sslcertfile \"$CA_FILE\" sslcertck sslcommonname \"localhost\""
            fi
            echo "  smtphost 127.0.0.1/$LMTP_PORT lmtp smtpname \"me@localhost\""
        done
    } >"$state/fetchmailrc"
    chmod 0600 "$state/fetchmailrc"
    CMD=(env FETCHMAILHOME="$state" HOME="$state" fetchmail -f "$state/fetchmailrc"
         -i "$state/idfile" --pidfile "$state/fetchmail.pid" -N --nosyslog)
}
setup_getmail() {  # STATE USER...
    local state=$1 u
    shift
    mkdir -p "$state"
    CMD=(getmail --getmaildir "$state")
    for u in "$@"; do
        (umask 077 && cat >"$state/rc-$u" <<EOF
# Generated by bench/run.sh
[retriever]
$(if [ "$SOURCE" = imap ]; then
    printf 'type = SimpleIMAPSSLRetriever\nserver = 127.0.0.1\nport = %s\nmailboxes = ("INBOX",)\n' "$IMAPS_PORT"
else
    printf 'type = SimplePOP3SSLRetriever\nserver = 127.0.0.1\nport = %s\n' "$POP3S_PORT"
fi)
username = $u
password = $(pw "$u")
ca_certs = $CA_FILE

[destination]
type = MDA_lmtp
host = 127.0.0.1
port = $LMTP_PORT
override = me@localhost

[options]
read_all = false
delete = false
verbose = 0
EOF
        )
        CMD+=(-r "$state/rc-$u")
    done
}
setup_tool() {  # TOOL STATE USER...
    local tool=$1 state=$2
    shift 2
    rm -rf "$state"
    mkdir -p "$state"
    case $tool in
        mc:*) MC_RUN_BIN=$MC setup_mc "$state" "${tool#mc:}" "$@" ;;
        before:*) MC_RUN_BIN=$MC_BEFORE setup_mc "$state" "${tool#before:}" "$@" ;;
        fetchmail) setup_fetchmail "$state" "$@" ;;
        getmail) setup_getmail "$state" "$@" ;;
    esac
}
run_tool() {  # PHASE TOOL EXPECTED [NOTE]  (CMD set by setup_tool)
    timed "$RUN/logs/$1-${2/:/-}.log" "${CMD[@]}"
    record "$@"
}

# ---------------------------------------------------------------------------------------------
# Phases
run_ceiling() {  # PHASE
    say "$1: smtp-source -L -d -F <~${SAMPLE_SIZE} B message> x $CEILING_MESSAGES"
    local s
    for s in 1 4; do
        clear_target
        timed "$RUN/logs/$1-$s.log" smtp-source -L -d -s "$s" -m "$CEILING_MESSAGES" \
            -F "$CORPUS/000001.eml" -f bench@localhost -t me@localhost "127.0.0.1:$LMTP_PORT"
        record "$1" "smtp-source-$s" "$CEILING_MESSAGES"
    done
}
has_phase ceiling && run_ceiling ceiling

if has_phase a || has_phase repoll; then
    for tool in "${TOOL_LIST[@]}"; do
        state="$RUN/state/a-${tool/:/-}"
        setup_tool "$tool" "$state" alice
        clear_target
        if has_phase a; then
            say "workload A: $(label "$tool"), $MESSAGES messages"
            run_tool a "$tool" "$MESSAGES"
        else
            timed "$RUN/logs/a-${tool/:/-}.log" "${CMD[@]}"  # untimed import before the re-poll
        fi
        if has_phase repoll; then
            run_tool repoll "$tool" "$MESSAGES"
        fi
    done
fi

# IMAP: workload A's mailbox (alice) again, read over IMAPS. The source is shared with the POP3
# phases and between the tools, so its flags must stay as seeded (every message \Seen, nothing
# else): they are set so before the phase and checked after every run; a change is reported
# (WARNING, status) and undone.
source_flags() {  # USER: how many messages of INBOX carry which flags
    "${DOVEADM[@]}" fetch -u "$1" flags mailbox INBOX all | grep -v '^[[:space:]]*$' | sort | uniq -c | sed 's/^ *//'
}
restore_source_flags() {  # USER
    "${DOVEADM[@]}" flags replace -u "$1" '\Seen' mailbox INBOX all
}
check_source_flags() {  # PHASE TOOL USER; sets RECORD_PROBLEM
    local now
    RECORD_PROBLEM=""
    now=$(source_flags "$3")
    [ "$now" = "$SEEDED_FLAGS" ] && return 0
    RECORD_PROBLEM="source flags changed (restored)"
    WARNINGS+=("WARNING: $1/$(label "$2"): the source's flags changed ($(tr '\n' ' ' <<<"$now")); restored")
    say "WARNING: $1/$(label "$2"): the source's flags changed: $(tr '\n' ' ' <<<"$now")"
    restore_source_flags "$3"
}
run_imap_tool() {  # PHASE TOOL EXPECTED [NOTE]  (CMD set by setup_tool)
    timed "$RUN/logs/$1-${2/:/-}.log" "${CMD[@]}"
    check_source_flags "$1" "$2" alice
    record "$@"
    RECORD_PROBLEM=""
}
if has_phase imap || has_phase imap-repoll; then
    SOURCE=imap
    restore_source_flags alice
    SEEDED_FLAGS=$(source_flags alice)
    printf '%s\n' "$SEEDED_FLAGS" >"$RUN/logs/imap-source-flags.log"
    for tool in "${TOOL_LIST[@]}"; do
        state="$RUN/state/imap-${tool/:/-}"
        FETCHMAIL_FETCHALL=1
        setup_tool "$tool" "$state" alice
        clear_target
        if has_phase imap; then
            say "IMAP: $(label "$tool"), $MESSAGES messages over IMAPS"
            run_imap_tool imap "$tool" "$MESSAGES"
        else
            timed "$RUN/logs/imap-${tool/:/-}.log" "${CMD[@]}"  # untimed import before the re-poll
            check_source_flags imap "$tool" alice
            RECORD_PROBLEM=""
        fi
        if has_phase imap-repoll; then
            note=""
            if [ "$tool" = fetchmail ]; then
                # fetchmail keeps no UIDs for IMAP: with `fetchall` it delivers everything again.
                if [ "$IMAP_FETCHMAIL_REPOLL" = unseen ]; then
                    FETCHMAIL_FETCHALL=0
                    mv "$state/fetchmailrc" "$state/fetchmailrc.import"
                    setup_fetchmail "$state" alice  # same state dir, the rc without fetchall
                    note="no fetchall: unseen only"
                else
                    note="fetchall again"
                fi
            fi
            run_imap_tool imap-repoll "$tool" "$MESSAGES" "$note"
        fi
    done
    SOURCE=pop3
    FETCHMAIL_FETCHALL=1
fi

if has_phase b; then
    total=$((ACCOUNTS * PER_ACCOUNT))
    for tool in "${TOOL_LIST[@]}"; do
        say "workload B: $(label "$tool"), $ACCOUNTS accounts x $PER_ACCOUNT"
        setup_tool "$tool" "$RUN/state/b-${tool/:/-}" "${B_USERS[@]}"
        clear_target
        run_tool b "$tool" "$total"
        run_tool b-repoll "$tool" "$total"
    done
fi

if has_phase big; then
    BIG_BYTES=$(stat -c %s "$BIG_FILE")
    for tool in "${TOOL_LIST[@]}"; do
        [ "$BIG_TOOLS" = all ] || [[ "$tool" == mc:* ]] || continue
        say "big message: $(label "$tool"), $BIG_MB MB"
        setup_tool "$tool" "$RUN/state/big-${tool/:/-}" big
        clear_target
        run_tool big "$tool" 1
        largest=$(target_largest || true)
        if [ -z "$largest" ] || [ "$largest" -lt "$BIG_BYTES" ]; then
            WARNINGS+=("WARNING: big/$(label "$tool"): delivered message is ${largest:-0} bytes, source $BIG_BYTES")
            STATUS[big/$tool]="${STATUS[big/$tool]}, short (${largest:-0} B)"
        fi
    done
fi

# The ceiling again at the end: on a shared machine the load drifts; the better of the two
# 4-session rates is the reference.
if has_phase ceiling && [ "$CEILING_AFTER" = 1 ]; then run_ceiling ceiling-after; fi
C4=$(awk -v a="${RATE[ceiling/smtp-source-4]:--}" -v b="${RATE[ceiling-after/smtp-source-4]:--}" \
    'BEGIN { m = (a == "-") ? b : (b == "-" || a + 0 >= b + 0) ? a : b; print m }')

PROFILE_REPORT=""
if [ "$PROFILE" = 1 ] && [[ " ${TOOL_LIST[*]} " == *" mc:"* ]]; then
    say "profile: mailcollector workload A under perf record"
    tool=""
    for t in "${TOOL_LIST[@]}"; do [[ "$t" == mc:* ]] && { tool=$t; break; }; done
    setup_tool "$tool" "$RUN/state/profile" alice
    clear_target
    timed "$RUN/logs/profile.log" perf record -F 499 -g -o "$RUN/perf.data" -- "${CMD[@]}"
    PROFILE_REPORT="$RUN/perf-report.txt"
    {
        echo "## on-CPU time by library (self)"
        perf report -i "$RUN/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null \
            | grep -E '^ +[0-9.]+%' | head -n 15
        echo "## by symbol (self)"
        perf report -i "$RUN/perf.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null \
            | grep -E '^ +[0-9.]+%' | head -n 40
        echo "## by symbol including callees (children)"
        perf report -i "$RUN/perf.data" --stdio --children --sort sym -g none 2>/dev/null \
            | grep -E '^ +[0-9.]+%' | head -n 80
    } >"$PROFILE_REPORT" || true
fi

# ---------------------------------------------------------------------------------------------
# Report
tool_version() {
    case $1 in
        mc:*) echo "$("$MC" --version 2>/dev/null | head -n 1) ($MC_BIN built $(date -r "$MC" '+%Y-%m-%d %H:%M'), sha256 $(sha256sum "$MC" | cut -c1-12))" ;;
        before:*) echo "$("$MC_BEFORE" --version 2>/dev/null | head -n 1) ($MC_BIN_BEFORE built $(date -r "$MC_BEFORE" '+%Y-%m-%d %H:%M'), sha256 $(sha256sum "$MC_BEFORE" | cut -c1-12))" ;;
        fetchmail) { fetchmail -V 2>/dev/null || true; } | grep -m 1 -o 'fetchmail release [0-9.]*' ;;
        getmail) getmail --version 2>/dev/null | head -n 1 ;;
    esac
}
row() { printf '  %-22s %8s %9s %8s %8s %10s %6s  %s\n' "$@"; }

report() {
    local tool k first_mc="" c4
    echo "mailcollector side-by-side benchmark, $(date '+%Y-%m-%d %H:%M')"
    echo "host: $(nproc) CPUs ($(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo), $(df -T "$BENCH_DIR" | awk 'NR == 2 {print $2}') at $BENCH_DIR, kernel $(uname -r)"
    echo "target and source: Dovecot $(dovecot --version | cut -d' ' -f1) (private, loopback): POP3S/IMAPS source (maildir), LMTP target ($TARGET_FORMAT, default fsync)"
    echo "load: \"load\" is the 1-minute load average just before each run (others' work on this machine skews results)"
    echo "messages: ~$SAMPLE_SIZE bytes average (realistic headers, MIME text+html)"
    local seen=""
    for tool in "${TOOL_LIST[@]}"; do
        case $tool in  # one version line per binary
            mc:* | before:*) [[ " $seen " == *" ${tool%%:*} "* ]] && continue; seen+=" ${tool%%:*}" ;;
        esac
        echo "  $(label "$tool" | cut -d' ' -f1): $(tool_version "$tool")"
    done
    # Ratios use the default variant (connections = 4) when it ran, else the first one.
    for tool in "${TOOL_LIST[@]}"; do [[ "$tool" == mc:* ]] && { first_mc=$tool; break; }; done
    [[ " ${TOOL_LIST[*]} " == *" mc:4 "* ]] && first_mc=mc:4
    echo

    if has_phase ceiling; then
        echo "1. Target ceiling: smtp-source -L -d (LMTP, one connection per session), $CEILING_MESSAGES messages"
        row "sessions" "msgs" "wall s" "msg/s" "CPU s" "peak RSS" "load" "status"
        for k in ceiling/smtp-source-1 ceiling/smtp-source-4 ceiling-after/smtp-source-1 ceiling-after/smtp-source-4; do
            [ -n "${WALL[$k]:-}" ] || continue
            row "${k##*-}$([[ "$k" == ceiling-after/* ]] && echo " (at the end)")" "$CEILING_MESSAGES" "${WALL[$k]:--}" "${RATE[$k]:--}" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "${STATUS[$k]:--}"
        done
        echo "  reference ceiling (better 4-session rate): $C4 msg/s"
        echo
    fi
    c4=$C4

    if has_phase a; then
        echo "2. Workload A: 1 POP3S account x $MESSAGES messages -> LMTP (first import, keep = true)"
        row "tool" "msgs" "wall s" "msg/s" "CPU s" "peak RSS" "load" "vs ceiling(4 sessions), status"
        for tool in "${TOOL_LIST[@]}"; do
            k=a/$tool
            row "$(label "$tool")" "$MESSAGES" "${WALL[$k]:--}" "${RATE[$k]:--}" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" \
                "$(percent "${RATE[$k]:--}" "$c4"), ${STATUS[$k]:--}"
        done
        ratios a "$first_mc"
        echo
    fi
    if has_phase repoll; then
        echo "3. Re-poll of workload A's mailbox, nothing new ($MESSAGES messages listed)"
        row "tool" "msgs" "wall s" "" "CPU s" "peak RSS" "load" "status"
        for tool in "${TOOL_LIST[@]}"; do
            k=repoll/$tool
            row "$(label "$tool")" "0 new" "${WALL[$k]:--}" "" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "${STATUS[$k]:--}"
        done
        echo
    fi
    if has_phase imap; then
        echo "4. Workload A over IMAPS: 1 account, INBOX x $MESSAGES messages -> LMTP (first import, keep, fetchmail: fetchall)"
        row "tool" "msgs" "wall s" "msg/s" "CPU s" "peak RSS" "load" "vs ceiling(4 sessions), status"
        for tool in "${TOOL_LIST[@]}"; do
            k=imap/$tool
            row "$(label "$tool")" "$MESSAGES" "${WALL[$k]:--}" "${RATE[$k]:--}" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" \
                "$(percent "${RATE[$k]:--}" "$c4"), ${STATUS[$k]:--}"
        done
        ratios imap "$first_mc"
        if has_phase a; then
            local line=""
            for tool in "${TOOL_LIST[@]}"; do
                line+="  $(label "$tool"): $(ratio "${RATE[imap/$tool]:--}" "${RATE[a/$tool]:--}")"
            done
            echo "  IMAPS vs POP3S (msg/s, workload A):$line"
        fi
        echo
    fi
    if has_phase imap-repoll; then
        echo "5. Re-poll over IMAPS, nothing new ($MESSAGES messages in INBOX)"
        row "tool" "msgs" "wall s" "" "CPU s" "peak RSS" "load" "status"
        for tool in "${TOOL_LIST[@]}"; do
            k=imap-repoll/$tool
            row "$(label "$tool")" "0 new" "${WALL[$k]:--}" "" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "${STATUS[$k]:--}"
        done
        if [[ " ${TOOL_LIST[*]} " == *" fetchmail "* ]]; then
            if [ "$IMAP_FETCHMAIL_REPOLL" = unseen ]; then
                echo "  fetchmail keeps no UIDs for IMAP: its re-poll drops fetchall and asks only for unseen mail"
                echo "  (all \\Seen here, so nothing is fetched); the others list every UID against their state"
            else
                echo "  fetchmail keeps no UIDs for IMAP: its re-poll with fetchall delivers everything again"
            fi
        fi
        echo
    fi
    if has_phase b; then
        echo "6. Workload B: $ACCOUNTS accounts x $PER_ACCOUNT messages, one invocation per tool"
        row "tool" "msgs" "wall s" "msg/s" "CPU s" "peak RSS" "load" "vs ceiling(4 sessions), status"
        for tool in "${TOOL_LIST[@]}"; do
            k=b/$tool
            row "$(label "$tool")" "$((ACCOUNTS * PER_ACCOUNT))" "${WALL[$k]:--}" "${RATE[$k]:--}" "${CPU[$k]:--}" \
                "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "$(percent "${RATE[$k]:--}" "$c4"), ${STATUS[$k]:--}"
        done
        for tool in "${TOOL_LIST[@]}"; do
            k=b-repoll/$tool
            row "$(label "$tool") re-poll" "0 new" "${WALL[$k]:--}" "" "${CPU[$k]:--}" "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "${STATUS[$k]:--}"
        done
        ratios b "$first_mc"
        echo
    fi
    if has_phase big; then
        echo "7. One $BIG_MB MB message ($(stat -c %s "$BIG_FILE") bytes)"
        row "tool" "msgs" "wall s" "MB/s" "CPU s" "peak RSS" "load" "status"
        for tool in "${TOOL_LIST[@]}"; do
            k=big/$tool
            [ -n "${WALL[$k]:-}" ] || continue
            row "$(label "$tool")" 1 "${WALL[$k]:--}" "$(rate "$BIG_MB" "${WALL[$k]:--}")" "${CPU[$k]:--}" \
                "$(mb "${RSS[$k]:--}")" "${LOAD[$k]:--}" "${STATUS[$k]:--}"
        done
        echo
    fi
    if [ ${#WARNINGS[@]} -gt 0 ]; then
        printf '%s\n' "${WARNINGS[@]}"
        echo
    fi
    echo "total benchmark time: $(($(date +%s) - STARTED_AT)) s; logs in $RUN/logs"
    [ -n "$PROFILE_REPORT" ] && echo "perf report: $PROFILE_REPORT"
    return 0
}
ratios() {  # PHASE MC_TOOL
    local phase=$1 mc=$2 tool line=""
    [ -n "$mc" ] || return 0
    for tool in "${TOOL_LIST[@]}"; do
        [[ "$tool" == mc:* ]] && continue
        line+="  $(label "$mc") vs $(label "$tool"): $(ratio "${RATE[$phase/$mc]:--}" "${RATE[$phase/$tool]:--}")"
    done
    if [ "$C4" != - ]; then
        line+="  $(label "$mc") vs ceiling(4): $(percent "${RATE[$phase/$mc]:--}" "$C4")"
    fi
    [ -n "$line" ] && echo "  ratios (msg/s):$line"
    return 0
}

mkdir -p "$RESULTS_DIR"
suffix=""
[ "${QUICK:-0}" = 1 ] && suffix=-quick
RESULT_FILE="$RESULTS_DIR/$(date '+%Y-%m-%d-%H%M%S')$suffix.txt"
{
    report
    echo
    echo "# machine-readable"
    echo "config target_format=$TARGET_FORMAT imap_fetchmail_repoll=$IMAP_FETCHMAIL_REPOLL messages=$MESSAGES message_size=$MESSAGE_SIZE accounts=$ACCOUNTS per_account=$PER_ACCOUNT big_mb=$BIG_MB ceiling_messages=$CEILING_MESSAGES tools=\"$TOOLS\" mc_connections=\"$MC_CONNECTIONS\" phases=\"$PHASES\" mc_ledger_dir=\"${MC_LEDGER_DIR:-}\" mc_wrap=\"$MC_WRAP\""
    printf '%s\n' "${RESULTS[@]}"
    if [ -n "$PROFILE_REPORT" ]; then
        echo
        echo "# perf report (mailcollector, workload A)"
        cat "$PROFILE_REPORT"
    fi
} >"$RESULT_FILE"
echo
report
echo "results: $RESULT_FILE"
