# Helpers for deploy/demo.sh (sourced, not run): output formatting and the demo's sample mail.
# shellcheck shell=bash

if [ -t 1 ]; then
    DEMO_BOLD=$'\e[1m' DEMO_DIM=$'\e[2m' DEMO_RED=$'\e[31m' DEMO_OFF=$'\e[0m'
else
    DEMO_BOLD="" DEMO_DIM="" DEMO_RED="" DEMO_OFF=""
fi

# step "what happens next": a numbered heading.
DEMO_STEP=0
step() {
    DEMO_STEP=$((DEMO_STEP + 1))
    printf '\n%s== %d. %s%s\n' "$DEMO_BOLD" "$DEMO_STEP" "$*" "$DEMO_OFF"
}

note() { printf '%s%s%s\n' "$DEMO_DIM" "$*" "$DEMO_OFF"; }

fail() {
    printf '%sdemo: %s%s\n' "$DEMO_RED" "$*" "$DEMO_OFF" >&2
    exit 1
}

# show CMD...: prints the command, then runs it (its exit status is returned).
show() {
    printf '%s$ %s%s\n' "$DEMO_BOLD" "$*" "$DEMO_OFF"
    "$@"
}

# Decodes RFC 2047 encoded words ("=?UTF-8?B?...?=") on stdin for display, when perl's Encode
# is available; otherwise passes the text through.
decode_mime() {
    if perl -MEncode -e 1 2>/dev/null; then
        perl -CO -MEncode -ne 'print decode("MIME-Header", $_)'
    else
        cat
    fi
}

# Prints the Subject and X-Mailcollector-* headers (unfolded, decoded) of a message file.
print_headers() {
    awk '
        function flush() {
            if (current != "" && tolower(current) ~ /^(subject|x-mailcollector-[^:]*):/)
                print "    " current
            current = ""
        }
        /^\r?$/ { flush(); exit }                 # the end of the header section
        /^[ \t]/ { sub(/^[ \t]+/, ""); current = current " " $0; next }
        { flush(); current = $0 }
        END { flush() }
    ' "$1" | decode_mime
}

# write_sample_mail DIR: writes the demo's sample messages into DIR as alice-*.eml / bob-*.eml.
write_sample_mail() {
    local dir=$1 date
    date=$(LC_ALL=C date -R)
    mkdir -p "$dir"

    cat >"$dir/alice-1.eml" <<EOF
Return-Path: <carol@old-isp.example>
From: Carol <carol@old-isp.example>
To: Alice <alice@old-isp.example>
Subject: Welcome to the mailcollector demo
Date: $date
Message-ID: <demo-alice-1@old-isp.example>

Hi Alice,

this message sits in your old POP3 mailbox. mailcollector will copy it into
the mailbox "me" uses today, and tag it with the label "alice".

Carol
EOF

    # A UTF-8 body (8bit) and an RFC 2047 encoded subject: must arrive byte for byte.
    cat >"$dir/alice-2.eml" <<EOF
Return-Path: <juergen@example.de>
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: Alice <alice@old-isp.example>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4g4piV?=
Date: $date
Message-ID: <demo-alice-2@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln! ☕
Ünïcödé survives the trip: Ελληνικά, Русский, 日本語, emoji 📬.
EOF

    # Lines starting with "." (and one that is only "."): dot-stuffing on both legs.
    cat >"$dir/alice-3.eml" <<EOF
Return-Path: <ci@example.org>
From: Build Bot <ci@example.org>
To: Alice <alice@old-isp.example>
Subject: Nightly build report (dots inside)
Date: $date
Message-ID: <demo-alice-3@example.org>

Build #1234 finished.
.hidden-config was picked up
..two dots at the start of this line
.
The line above is a single dot; POP3 and LMTP both end a message with one,
so it has to be escaped on the wire and restored on delivery.
EOF

    cat >"$dir/bob-1.eml" <<EOF
Return-Path: <dave@example.net>
From: Dave <dave@example.net>
To: Bob <bob@legacy.example>
Subject: Meeting notes
Date: $date
Message-ID: <demo-bob-1@example.net>

Notes from Monday:
- migrate the old mailbox
- keep everything, lose nothing
EOF

    cat >"$dir/bob-2.eml" <<EOF
Return-Path: <billing@example.com>
From: Billing <billing@example.com>
To: Bob <bob@legacy.example>
Subject: Invoice #42
Date: $date
Message-ID: <demo-bob-2@example.com>

Your invoice #42 is attached in spirit.
EOF
}
