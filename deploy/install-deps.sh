#!/usr/bin/env bash
# Installs everything mailcollector needs to build, test, demo and benchmark on Debian 12.
# System services of the installed servers are never started: tests run private instances.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev clang-format
  libpoco-dev libsqlite3-dev sqlite3 libpq-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libgtest-dev
  openssl ca-certificates
  man-db groff-base   # the man pages render in tests (man -l)
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
  postfix             # smtp-sink, and full private instances as SMTP target (tests/support/PostfixServer)
  postgresql-15
  chromium chromium-driver python3-selenium   # the status page's browser test (tests/integration)
)
[ "${WITH_BENCH:-0}" = 1 ] && packages+=(fetchmail getmail6 mpop time python3 socat linux-perf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# Keep package scripts from starting the system's own dovecot/postfix/postgresql.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  created_policy=1
fi
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"
exit 0
