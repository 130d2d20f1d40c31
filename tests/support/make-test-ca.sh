#!/usr/bin/env bash
# Creates a throwaway test PKI in DIR (idempotent: an existing complete set is kept):
#   ca.pem / ca.key              the test CA that clients are told to trust
#   other-ca.pem / other-ca.key  a second CA that nobody trusts
#   <kind>.crt / <kind>.key      server leaf certificates, kind in:
#     valid      signed by ca.pem, SAN DNS:localhost,IP:127.0.0.1, valid for ten years
#     expired    like valid, but its validity ended in 2020
#     wronghost  signed by ca.pem, SAN DNS:wrong.example only
#     unknownca  like valid, but signed by other-ca.pem
# Keys are RSA 2048 (about a second for the whole set). Safe to run concurrently on one DIR.
# Usage: make-test-ca.sh DIR
set -euo pipefail

die() { echo "make-test-ca.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: make-test-ca.sh DIR"
dir=$1
kinds=(valid expired wronghost unknownca)

complete() {
    local f
    for f in ca.pem ca.key other-ca.pem other-ca.key; do [ -s "$dir/$f" ] || return 1; done
    for f in "${kinds[@]}"; do [ -s "$dir/$f.crt" ] && [ -s "$dir/$f.key" ] || return 1; done
}

mkdir -p "$dir"
complete && exit 0
# Several test processes may share one directory: one creates, the others wait and reuse.
exec 9>"$dir/.lock"
flock -w 120 9 || die "timed out waiting for the lock on $dir"
complete && exit 0
command -v openssl >/dev/null || die "openssl is not installed"

work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077

newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# $1 name, $2 common name
make_ca() {
    newkey "$work/$1.key"
    openssl req -new -x509 -sha256 -days 3650 -key "$work/$1.key" -out "$work/$1.pem" \
        -subj "/O=mailcollector tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" >/dev/null 2>&1 || die "cannot create CA $1"
    mkdir -p "$work/$1.db/new"
    : >"$work/$1.db/index.txt"
    openssl rand -hex 16 >"$work/$1.db/serial"
    cat >"$work/$1.cnf" <<EOF
[ ca ]
default_ca = this_ca
[ this_ca ]
database = $work/$1.db/index.txt
new_certs_dir = $work/$1.db/new
serial = $work/$1.db/serial
certificate = $work/$1.pem
private_key = $work/$1.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
organizationName = optional
commonName = supplied
EOF
}

# $1 kind, $2 signing CA name, $3 subjectAltName, $4 start date, $5 end date (YYYYMMDDHHMMSSZ)
make_leaf() {
    newkey "$work/$1.key"
    openssl req -new -sha256 -key "$work/$1.key" -out "$work/$1.csr" \
        -subj "/O=mailcollector tests/CN=$1 test server" >/dev/null 2>&1 \
        || die "cannot create request for $1"
    cat >"$work/$1.ext" <<EOF
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $3
EOF
    openssl ca -batch -notext -config "$work/$2.cnf" -in "$work/$1.csr" -out "$work/$1.crt" \
        -extfile "$work/$1.ext" -extensions leaf -startdate "$4" -enddate "$5" \
        >"$work/$1.log" 2>&1 || { cat "$work/$1.log" >&2; die "cannot sign $1"; }
}

make_ca ca "mailcollector test CA"
make_ca other-ca "untrusted other CA"
yesterday=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
in10years=$(date -u -d '+3650 days' +%Y%m%d%H%M%SZ)
good_san="DNS:localhost,IP:127.0.0.1"
make_leaf valid ca "$good_san" "$yesterday" "$in10years"
make_leaf expired ca "$good_san" 20200101000000Z 20200102000000Z
make_leaf wronghost ca "DNS:wrong.example" "$yesterday" "$in10years"
make_leaf unknownca other-ca "$good_san" "$yesterday" "$in10years"

# Publish: keys stay 0600, certificates are world-readable.
for f in ca other-ca; do
    install -m 0644 "$work/$f.pem" "$dir/$f.pem"
    install -m 0600 "$work/$f.key" "$dir/$f.key"
done
for k in "${kinds[@]}"; do
    install -m 0644 "$work/$k.crt" "$dir/$k.crt"
    install -m 0600 "$work/$k.key" "$dir/$k.key"
done
complete || die "incomplete output in $dir"
