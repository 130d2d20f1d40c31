#!/usr/bin/env bash
# The one-minute demo: two old POP3 mailboxes (alice over POP3S, bob over POP3 + STARTTLS) are
# collected into the mailbox of "me" by LMTP, all on a throwaway private Dovecot.
#
#   deploy/install-deps.sh && cmake -S . -B build -G Ninja && cmake --build build
#   sudo deploy/demo.sh          # as root: Dovecot needs it to switch to its mail user
#
# Everything lives in ./demo-run/ (recreated on each run, gitignored); Dovecot listens on free
# ports of 127.0.0.1 only and is stopped when the demo ends. Environment: MC_BINARY (default
# ./build/app/mailcollector), DEMO_DIR (default ./demo-run).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=deploy/lib/demo-common.sh
source "$REPO/deploy/lib/demo-common.sh"

DOVECOT_SH="$REPO/tests/support/private-dovecot.sh"
MC=${MC_BINARY:-./build/app/mailcollector}
RUN=$(realpath -m "${DEMO_DIR:-./demo-run}")
CONFIG="$RUN/mailcollector.toml"

[ "$(id -u)" = 0 ] || fail "run me as root (sudo deploy/demo.sh): the private Dovecot needs it"

# --- a clean slate ---------------------------------------------------------------------------
DOVECOT_DIR="$RUN/dovecot"
if [ -L "$DOVECOT_DIR" ] || [ -d "$DOVECOT_DIR" ]; then
    "$DOVECOT_SH" stop "$DOVECOT_DIR" >/dev/null 2>&1 || true  # a previous, interrupted demo
    [ -L "$DOVECOT_DIR" ] && rm -rf "$(readlink "$DOVECOT_DIR")"
fi
rm -rf "$RUN"
mkdir -p "$RUN"
chmod 0711 "$RUN"  # traversable by Dovecot's users; secrets and config stay private
# Dovecot's unprivileged processes must reach the mail; if the checkout is somewhere they cannot
# (e.g. under /root), its part goes to /tmp and demo-run/dovecot points there.
if ! "$DOVECOT_SH" check-dir "$RUN/dovecot" 2>/dev/null; then
    external=$(mktemp -d /tmp/mc-demo-dovecot.XXXXXX)
    ln -s "$external" "$DOVECOT_DIR"
    DOVECOT_DIR=$external
fi

cleanup() {
    local status=$?
    if [ -f "$DOVECOT_DIR/ports.env" ]; then
        printf '\n'
        note "stopping the private Dovecot"
        "$DOVECOT_SH" stop "$DOVECOT_DIR" || true
    fi
    if [ "$status" != 0 ]; then
        printf '%sdemo failed (exit %d); everything is left in %s%s\n' \
            "$DEMO_RED" "$status" "$RUN" "$DEMO_OFF" >&2
    fi
}
trap cleanup EXIT

# --- 1. servers and mailboxes -----------------------------------------------------------------
step "Start a private Dovecot (POP3, POP3S, IMAP, LMTP on free loopback ports)"
"$DOVECOT_SH" start "$DOVECOT_DIR"
# shellcheck source=/dev/null
source "$DOVECOT_DIR/ports.env"  # POP3_PORT POP3S_PORT LMTP_PORT CA_FILE ... (KEY=VALUE only)

step "Create the old mailboxes alice and bob, the target mailbox me, and some mail"
ALICE_PW="alice-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
BOB_PW="bob-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
ME_PW="me-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
"$DOVECOT_SH" add-user "$DOVECOT_DIR" alice "$ALICE_PW" bob "$BOB_PW" me "$ME_PW"
write_sample_mail "$RUN/samples"
"$DOVECOT_SH" seed "$DOVECOT_DIR" alice INBOX "$RUN"/samples/alice-*.eml
"$DOVECOT_SH" seed "$DOVECOT_DIR" bob INBOX "$RUN"/samples/bob-*.eml
for user in alice bob; do
    printf '  %-7s' "$user:"
    grep -h '^Subject:' "$RUN"/samples/"$user"-*.eml | sed 's/^Subject: //' | decode_mime \
        | paste -sd '|' | sed 's/|/  |  /g'
done

# --- 2. the configuration ---------------------------------------------------------------------
step "Write $CONFIG"
mkdir -p "$RUN/secrets"
chmod 0700 "$RUN/secrets"
(
    umask 077
    printf '%s' "$ALICE_PW" >"$RUN/secrets/alice.pw"
    printf '%s' "$BOB_PW" >"$RUN/secrets/bob.pw"
    cat >"$CONFIG" <<EOF
# mailcollector demo: collect two old POP3 mailboxes into "me" (written by deploy/demo.sh).

[collector]
ledger = "$RUN/ledger.db"
quarantine_dir = "$RUN/quarantine"
http_listen = ""

# Deliver by LMTP into the user "me" of the same Dovecot.
[target]
protocol = "lmtp"
host = "127.0.0.1"
port = $LMTP_PORT
tls = "none"
recipient = "me"

# POP3 over implicit TLS, verified against the demo's own CA.
[[account]]
name = "alice-pop3"
protocol = "pop3"
host = "127.0.0.1"
port = $POP3S_PORT
tls = "implicit"
ca_file = "$CA_FILE"
username = "alice"
password_file = "$RUN/secrets/alice.pw"
labels = ["alice"]
keep = true

# POP3 on the plain port, upgraded with STARTTLS (STLS).
[[account]]
name = "bob-pop3"
protocol = "pop3"
host = "127.0.0.1"
port = $POP3_PORT
tls = "starttls"
ca_file = "$CA_FILE"
username = "bob"
password_file = "$RUN/secrets/bob.pw"
labels = ["bob"]
keep = true
EOF
)
sed 's/^/    /' "$CONFIG"

# --- 3. collect --------------------------------------------------------------------------------
if [ ! -x "$MC" ]; then
    fail "no mailcollector binary at $MC: build it first (cmake --build build) or set MC_BINARY"
fi

step "Check the configuration"
show "$MC" validate -c "$CONFIG"

step "Collect once"
show "$MC" run -c "$CONFIG" --once

ME_MAILDIR="$DOVECOT_DIR/mail/me/Maildir"
count_me() { find "$ME_MAILDIR/new" "$ME_MAILDIR/cur" -type f 2>/dev/null | wc -l; }
step "What arrived in me's mailbox ($(count_me) messages)"
find "$ME_MAILDIR/new" "$ME_MAILDIR/cur" -type f 2>/dev/null | sort | while read -r file; do
    printf '  %s\n' "${file#"$DOVECOT_DIR"/}"
    print_headers "$file"
done

body_of() { awk 'body { print } /^\r?$/ { body = 1 }' "$1"; }
same=0
for sample in "$RUN"/samples/*.eml; do
    id=$(grep -m1 '^Message-ID:' "$sample")
    delivered=$(grep -rlF -- "$id" "$ME_MAILDIR/new" "$ME_MAILDIR/cur" 2>/dev/null | head -n 1)
    if [ -n "$delivered" ] && [ "$(body_of "$sample")" = "$(body_of "$delivered")" ]; then
        same=$((same + 1))
    else
        echo "  ${DEMO_RED}body of $(basename "$sample") did not arrive intact${DEMO_OFF}"
    fi
done
echo "  $same of $(find "$RUN/samples" -name '*.eml' | wc -l) bodies arrived byte for byte" \
    "(UTF-8 and lines starting with '.' included)."

step "Collect again: nothing may arrive twice"
before=$(count_me)
show "$MC" run -c "$CONFIG" --once
after=$(count_me)
if [ "$after" = "$before" ]; then
    echo "  me still has $after messages: nothing was delivered twice."
else
    fail "me had $before messages and now has $after"
fi

step "The ledger: every message, by account and POP3 UIDL"
if command -v sqlite3 >/dev/null; then
    show sqlite3 -header -column "$RUN/ledger.db" "select account, uid, state from messages"
else
    note "(sqlite3 is not installed; see deploy/install-deps.sh)"
fi

printf '\n%sDone.%s The config, ledger and mail stay in %s for a look around.\n' \
    "$DEMO_BOLD" "$DEMO_OFF" "$RUN"
