#!/usr/bin/env bash
# Runs a private Dovecot (IMAP, POP3, LMTP) for tests and the demo: its own config, state, logs,
# users and mail under DIR, listening only on 127.0.0.1 on free ephemeral ports. Never touches
# the system's Dovecot, /etc/dovecot or standard ports.
#
#   private-dovecot.sh start DIR [--cert valid|expired|wronghost|unknownca] [--tls-from CADIR]
#                                [--watch-pid PID] [--processes stock|reuse]
#                                [--max-userip-connections N] [--quota SIZE] [--public-folders]
#       Creates DIR (config, test PKI under DIR/tls unless present -- copied from CADIR when
#       given, else made by make-test-ca.sh --, users dir, mail root), picks free ports, starts
#       Dovecot, waits until every listener answers and writes DIR/ports.env (KEY=VALUE lines:
#       POP3_PORT POP3S_PORT IMAP_PORT IMAPS_PORT LMTP_PORT CA_FILE CERT_KIND MAIL_UID MAIL_GID
#       MAIL_USER MAIL_ROOT USERS_DIR LOG_FILE BASE_DIR DOVECOT_DIR MASTER_PID).
#       --watch-pid PID: also stop Dovecot by itself once process PID is gone (crashed tests).
#       --processes reuse: login processes serve many connections and POP3/IMAP processes are
#       reused across sessions (Dovecot's "high-performance mode", as busy servers run it);
#       default "stock": a new login and a new mail process per connection, as Debian ships it.
#       --max-userip-connections N: Dovecot's mail_max_userip_connections (logins per user and
#       IP at once; Dovecot's own default is 10); default 500, so that tests are not limited.
#       --quota SIZE: every user's mailbox holds at most SIZE (Dovecot's quota_rule storage,
#       e.g. "30k"); a delivery beyond it is refused for now (LMTP 452 4.2.2), as a full mailbox
#       on a server with quota_full_tempfail is.
#       --public-folders: a public namespace "Public/" (RFC 2342 shared folders, as Cyrus's and
#       Courier's public folders) every user lists and may use; its mail lives in DIR/public.
#   private-dovecot.sh add-user DIR USER PASS [USER PASS]...
#       Adds users (or changes their passwords) and creates their maildirs; returns once Dovecot
#       accepts the credentials.
#   private-dovecot.sh seed DIR USER FOLDER FILE...
#       Copies message files into the user's maildir (FOLDER "INBOX" or e.g. "Work/2019", which
#       is stored as Maildir/.Work.2019); they get UIDs in the order given.
#   private-dovecot.sh stop DIR [--fast]           stops it (by pid file); fine if not running.
#       Graceful takes 1-5 s; --fast kills what is left after 0.1 s (tests: mail is on disk).
#   private-dovecot.sh status DIR                  exit 0 if running
#   private-dovecot.sh check-dir DIR               exit 0 if DIR is usable by the mail user
#
# Must run as root (as in CI): mail belongs to an unprivileged user (MC_DOVECOT_MAIL_USER,
# default nobody), login processes run as dovenull, internal ones as dovecot. DIR and its
# parents must be traversable by those users. Message folders are addressed with "/" as the
# hierarchy separator (IMAP namespace separator "/").
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
START_TIMEOUT=${MC_DOVECOT_START_TIMEOUT:-20}  # seconds, for each bounded wait
KINDS="valid expired wronghost unknownca"

die() {
    echo "private-dovecot.sh: $*" >&2
    exit 1
}

log_tail() {
    local log="$1/log/dovecot.log"
    if [ -s "$log" ]; then
        echo "--- last lines of $log:" >&2
        tail -n 25 "$log" >&2
        echo "---" >&2
    fi
}

die_with_log() {
    echo "private-dovecot.sh: $2" >&2
    log_tail "$1"
    exit 1
}

need_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (Dovecot needs it to switch to the mail user)"
}

# Absolute path; refuses characters that would need quoting in dovecot.conf or ports.env.
abs_dir() {
    local d
    d=$(realpath -m -- "$1")
    [[ "$d" =~ ^[A-Za-z0-9._/+-]+$ ]] \
        || die "directory path '$d' may contain only letters, digits and ._/+-"
    printf '%s\n' "$d"
}

# Reads KEY from DIR/ports.env.
env_value() {
    local file="$1/ports.env" key=$2
    [ -f "$file" ] || return 1
    sed -n "s/^$key=//p" "$file" | tail -n 1
}

mail_user() { printf '%s\n' "${MC_DOVECOT_MAIL_USER:-nobody}"; }

first_existing_user() {
    local u
    for u in "$@"; do
        if id -u "$u" >/dev/null 2>&1; then
            printf '%s\n' "$u"
            return 0
        fi
    done
    return 1
}

# True if USER can traverse DIR (every parent must be executable for it).
user_can_reach() {
    local user=$1 dir=$2
    setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups \
        test -x "$dir" 2>/dev/null
}

cmd_check_dir() {
    [ $# -eq 1 ] || die "usage: check-dir DIR"
    local dir probe u
    dir=$(abs_dir "$1")
    probe=$dir
    while [ ! -e "$probe" ]; do probe=$(dirname "$probe"); done
    for u in "$(mail_user)" dovecot dovenull; do
        id -u "$u" >/dev/null 2>&1 || continue
        if ! user_can_reach "$u" "$probe"; then
            echo "private-dovecot.sh: user $u cannot reach $probe (a parent directory is" \
                "not world-executable); use a directory under /tmp" >&2
            return 1
        fi
    done
}

# Prints N free loopback ports, all distinct (they are held open together while picked).
free_ports() {
    local n=$1
    if command -v perl >/dev/null; then
        perl -MIO::Socket::INET -e '
            my @s;
            for (1..$ARGV[0]) {
                my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                              Proto => "tcp", Listen => 1) or die "bind: $!";
                push @s, $s;
            }
            print join(" ", map { $_->sockport } @s), "\n";' "$n"
    else
        local ports=() p
        while [ ${#ports[@]} -lt "$n" ]; do
            p=$((20000 + RANDOM % 40000))
            [[ " ${ports[*]} " == *" $p "* ]] && continue
            (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
            ports+=("$p")
        done
        echo "${ports[*]}"
    fi
}

# Waits until 127.0.0.1:PORT accepts a connection; with EXPECT, until the first line read
# starts with it. Bounded by START_TIMEOUT.
wait_listener() {
    local port=$1 expect=${2:-} deadline line
    deadline=$((SECONDS + START_TIMEOUT))
    while [ $SECONDS -lt "$deadline" ]; do
        if [ -z "$expect" ]; then
            timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
        else
            line=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -n 1 <&3" \
                2>/dev/null || true)
            [[ "$line" == "$expect"* ]] && return 0
        fi
        sleep 0.1
    done
    return 1
}

# True while PID exists and is not a zombie (a daemonized master is reaped by init, which may
# take a while in containers).
pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

base_dir_of() {
    if [ -f "$1/base_dir.path" ]; then
        cat "$1/base_dir.path"
    else
        printf '%s\n' "$1/run"
    fi
}

master_pid() {
    local base
    base=$(base_dir_of "$1")
    [ -f "$base/master.pid" ] && cat "$base/master.pid"
}

is_dovecot_pid() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [[ "$(basename "$exe")" == dovecot* ]]
}

write_config() {
    local dir=$1 base=$2 kind=$3 pop3=$4 pop3s=$5 imap=$6 imaps=$7 lmtp=$8
    local login_user=$9 internal_user=${10} internal_group=${11} uid=${12} gid=${13}
    local processes=${14} max_userip=${15} quota=${16} public_folders=${17}
    cat >"$dir/dovecot.conf" <<EOF
# Generated by private-dovecot.sh: a private test instance, not the system Dovecot.
instance_name = mc-dovecot-$(basename "$dir")
base_dir = $base
state_dir = $dir/state
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
debug_log_path = $dir/log/dovecot.log
listen = 127.0.0.1
protocols = imap pop3 lmtp
shutdown_clients = yes

default_login_user = $login_user
default_internal_user = $internal_user
default_internal_group = $internal_group
first_valid_uid = 1
first_valid_gid = 1

ssl = yes
ssl_cert = <$dir/tls/$kind.crt
ssl_key = <$dir/tls/$kind.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
auth_cache_size = 0
# "me@localhost" and "me+label@localhost" (LMTP) are user "me".
auth_username_format = %n

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users/%n
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$dir/mail/%u
}

mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
}
mail_max_userip_connections = $max_userip
pop3_uidl_format = %08Xu%08Xv
recipient_delimiter = +
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes
postmaster_address = postmaster@localhost
hostname = localhost

protocol lmtp {
  lmtp_save_to_detail_mailbox = yes
}

service imap-login {
  inet_listener imap {
    port = $imap
  }
  inet_listener imaps {
    port = $imaps
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $pop3
  }
  inet_listener pop3s {
    port = $pop3s
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
# No growing delays after failed logins (tests fail logins on purpose); the auth process logs
# once that it cannot connect to this socket. A failure is still answered after ~0.5 s.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
EOF
    if [ "$public_folders" = 1 ]; then
        cat >>"$dir/dovecot.conf" <<EOF
namespace public {
  type = public
  separator = /
  prefix = Public/
  location = maildir:$dir/public
  subscriptions = no
  list = yes
}
EOF
    fi
    if [ -n "$quota" ]; then
        cat >>"$dir/dovecot.conf" <<EOF
mail_plugins = \$mail_plugins quota
quota_full_tempfail = yes
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=$quota
  quota_grace = 0
}
EOF
    fi
    if [ "$processes" = reuse ]; then
        # Every user has the same uid here, so a mail process may serve one user after another.
        local workers
        workers=$(nproc 2>/dev/null || echo 2)
        cat >>"$dir/dovecot.conf" <<EOF
service pop3-login {
  service_count = 0
  process_min_avail = $workers
}
service imap-login {
  service_count = 0
  process_min_avail = $workers
}
service pop3 {
  service_count = 0
  process_min_avail = $workers
}
service imap {
  service_count = 0
  process_min_avail = $workers
}
EOF
    fi
}

cmd_start() {
    [ $# -ge 1 ] || die "usage: start DIR [--cert KIND] [--tls-from CADIR] [--watch-pid PID] [--processes stock|reuse] [--max-userip-connections N] [--quota SIZE] [--public-folders]"
    need_root
    local dir kind=valid tls_from="" watch_pid="" processes=stock max_userip=500 quota="" public_folders=0
    dir=$(abs_dir "$1")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --cert) kind=${2:?--cert needs a value}; shift 2 ;;
            --tls-from) tls_from=${2:?--tls-from needs a directory}; shift 2 ;;
            --watch-pid) watch_pid=${2:?--watch-pid needs a pid}; shift 2 ;;
            --processes) processes=${2:?--processes needs stock or reuse}; shift 2 ;;
            --max-userip-connections) max_userip=${2:?--max-userip-connections needs N}; shift 2 ;;
            --quota) quota=${2:?--quota needs a size}; shift 2 ;;
            --public-folders) public_folders=1; shift ;;
            *) die "unknown option: $1" ;;
        esac
    done
    [[ " $KINDS " == *" $kind "* ]] || die "unknown certificate kind '$kind' (one of: $KINDS)"
    [[ "$processes" == stock || "$processes" == reuse ]] || die "--processes: stock or reuse"
    [[ "$max_userip" =~ ^[1-9][0-9]*$ ]] || die "--max-userip-connections: a positive number"
    [[ -z "$quota" || "$quota" =~ ^[1-9][0-9]*[kMG]?$ ]] || die "--quota: a size such as 30k, 10M"
    command -v dovecot >/dev/null || die "dovecot is not installed (deploy/install-deps.sh)"

    if pid_alive "$(master_pid "$dir" 2>/dev/null || true)"; then
        die "a private Dovecot is already running in $dir (stop it first)"
    fi

    local muser login_user internal_user internal_group uid gid
    muser=$(mail_user)
    id -u "$muser" >/dev/null 2>&1 || die "mail user '$muser' does not exist"
    uid=$(id -u "$muser")
    gid=$(id -g "$muser")
    [ "$uid" != 0 ] || die "the mail user must not be root"
    login_user=$(first_existing_user dovenull nobody) || die "no dovenull/nobody user"
    internal_user=$(first_existing_user dovecot nobody) || die "no dovecot/nobody user"
    internal_group=$(id -gn "$internal_user")

    mkdir -p "$dir"
    chmod 0755 "$dir"
    cmd_check_dir "$dir" || exit 1
    mkdir -p "$dir/log" "$dir/state" "$dir/tls" "$dir/mail"
    chmod 0755 "$dir/log" "$dir/tls"
    chown "$uid:$gid" "$dir/mail"
    chmod 0755 "$dir/mail"
    rm -f "$dir/ports.env"

    # TLS material.
    if [ -n "$tls_from" ]; then
        [ -s "$tls_from/ca.pem" ] || die "--tls-from $tls_from: no ca.pem there"
        local f
        for f in "$tls_from"/*.pem "$tls_from"/*.crt "$tls_from"/*.key; do
            [ -e "$f" ] || continue
            [ -e "$dir/tls/$(basename "$f")" ] || cp -p "$f" "$dir/tls/"
        done
    fi
    "$SCRIPT_DIR/make-test-ca.sh" "$dir/tls"

    # Users, kept across restarts: one passwd-file per user, so that a new user is seen at once
    # (Dovecot checks a passwd-file it has already read for changes at most once a second).
    mkdir -p "$dir/users"
    chown "root:$internal_group" "$dir/users"
    chmod 0750 "$dir/users"
    [ "$public_folders" = 1 ] && make_maildir "$dir/public" "$uid" "$gid"

    # Dovecot's sockets live in base_dir; a unix socket path must stay short (108 bytes).
    local base="$dir/run"
    if [ ${#base} -gt 60 ]; then
        base=$(mktemp -d /tmp/mc-dovecot-run.XXXXXX)
        echo "$base" >"$dir/base_dir.path"
    else
        rm -f "$dir/base_dir.path"
    fi
    mkdir -p "$base"
    chmod 0755 "$base"
    rm -f "$base/master.pid"  # stale: we checked above that no instance is running

    local attempt ports pop3 pop3s imap imaps lmtp out started=0
    for attempt in 1 2 3; do
        ports=$(free_ports 5) || die "cannot pick free ports"
        read -r pop3 pop3s imap imaps lmtp <<<"$ports"
        write_config "$dir" "$base" "$kind" "$pop3" "$pop3s" "$imap" "$imaps" "$lmtp" \
            "$login_user" "$internal_user" "$internal_group" "$uid" "$gid" "$processes" "$max_userip" "$quota" "$public_folders"
        # Never capture dovecot's output through a pipe: the daemonized master inherits it
        # and the pipe would never reach EOF.
        if timeout "$START_TIMEOUT" dovecot -c "$dir/dovecot.conf" </dev/null \
                >"$dir/log/start.out" 2>&1; then
            started=1
            break
        fi
        out=$(cat "$dir/log/start.out")
        echo "$out" >>"$dir/log/dovecot.log"
        if [[ "$out" == *"Address already in use"* ]] || \
                tail -n 5 "$dir/log/dovecot.log" | grep -q "Address already in use"; then
            echo "private-dovecot.sh: port taken meanwhile, retrying ($attempt)" >&2
            continue
        fi
        die_with_log "$dir" "dovecot failed to start: $out"
    done
    [ "$started" = 1 ] || die_with_log "$dir" "dovecot failed to start: no free ports"

    local pid="" deadline=$((SECONDS + START_TIMEOUT))
    while [ $SECONDS -lt "$deadline" ]; do
        pid=$(cat "$base/master.pid" 2>/dev/null || true)
        pid_alive "$pid" && break
        sleep 0.1
    done
    pid_alive "$pid" || die_with_log "$dir" "dovecot exited right after starting"

    # Write ports.env before waiting so that stop can clean up if waiting fails.
    # The CA clients should trust; the unknownca certificate is deliberately not signed by it.
    local ca_file="$dir/tls/ca.pem"
    cat >"$dir/ports.env.tmp" <<EOF
DOVECOT_DIR=$dir
BASE_DIR=$base
POP3_PORT=$pop3
POP3S_PORT=$pop3s
IMAP_PORT=$imap
IMAPS_PORT=$imaps
LMTP_PORT=$lmtp
CA_FILE=$ca_file
CERT_KIND=$kind
MAIL_USER=$muser
MAIL_UID=$uid
MAIL_GID=$gid
MAIL_ROOT=$dir/mail
USERS_DIR=$dir/users
LOG_FILE=$dir/log/dovecot.log
MASTER_PID=$pid
EOF
    mv "$dir/ports.env.tmp" "$dir/ports.env"

    local ok=1
    wait_listener "$pop3" "+OK" || { ok=0; echo "POP3 port $pop3 did not answer" >&2; }
    # (not "* OK Waiting for authentication process to respond": that greeting comes first
    # while the auth process is still starting)
    wait_listener "$imap" "* OK [CAPABILITY" || { ok=0; echo "IMAP port $imap did not answer" >&2; }
    wait_listener "$lmtp" "220" || { ok=0; echo "LMTP port $lmtp did not answer" >&2; }
    wait_listener "$pop3s" || { ok=0; echo "POP3S port $pop3s did not accept" >&2; }
    wait_listener "$imaps" || { ok=0; echo "IMAPS port $imaps did not accept" >&2; }
    if [ "$ok" != 1 ]; then
        log_tail "$dir"
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "dovecot did not become ready within ${START_TIMEOUT}s"
    fi

    if [ -n "$watch_pid" ]; then
        # Detached, with no inherited stdio, so that callers reading our output see EOF.
        # shellcheck disable=SC2016  # expanded by the inner bash
        setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/ports.env" ]; do sleep 1; done
                        exec "$3" stop "$2"' mc-dovecot-watch "$watch_pid" "$dir" "$SCRIPT" \
            </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watcher.pid"
    fi
    echo "private Dovecot running in $dir (pid $pid): POP3 $pop3, POP3S $pop3s, IMAP $imap," \
        "IMAPS $imaps, LMTP $lmtp"
}

cmd_stop() {
    [ $# -ge 1 ] || die "usage: stop DIR [--fast]"
    local dir pid wpid deadline fast=0 grace=10
    dir=$(abs_dir "$1")
    [ "${2:-}" = --fast ] && fast=1
    wpid=$(cat "$dir/watcher.pid" 2>/dev/null || true)
    if [ -n "$wpid" ] && [ "$wpid" != "$$" ] && pid_alive "$wpid"; then
        kill "$wpid" 2>/dev/null || true
    fi
    rm -f "$dir/watcher.pid"
    pid=$(master_pid "$dir" 2>/dev/null || true)
    rm -f "$dir/ports.env"
    if pid_alive "$pid" && is_dovecot_pid "$pid"; then
        # A graceful stop can take seconds: the master waits for lingering login processes
        # and checks on them only about once a second. --fast (for tests, whose mail is on disk
        # already) allows a short grace period, then kills the rest.
        [ "$fast" = 1 ] && grace=0
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + grace))
        for _ in 1 2; do pid_alive "$pid" && sleep 0.05; done
        while pid_alive "$pid" && [ $SECONDS -lt "$deadline" ]; do sleep 0.05; done
        if pid_alive "$pid"; then
            [ "$fast" = 1 ] || echo "private-dovecot.sh: dovecot $pid did not stop, killing it" >&2
            local children
            children=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
            # shellcheck disable=SC2086
            kill -KILL "$pid" $children 2>/dev/null || true
            for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.02; done
        fi
    fi
    # A killed master leaves its pid file; Dovecot would take a not yet reaped pid for a
    # running instance.
    local base
    base=$(base_dir_of "$dir")
    pid_alive "$pid" || rm -f "$base/master.pid"
    if [ -f "$dir/base_dir.path" ]; then
        local ext
        ext=$(cat "$dir/base_dir.path")
        [[ "$ext" == /tmp/mc-dovecot-run.* ]] && rm -rf "$ext"
        rm -f "$dir/base_dir.path"
    fi
    return 0
}

cmd_status() {
    [ $# -eq 1 ] || die "usage: status DIR"
    local dir pid
    dir=$(abs_dir "$1")
    pid=$(master_pid "$dir" 2>/dev/null || true)
    pid_alive "$pid" && is_dovecot_pid "$pid"
}

valid_user() {
    if ! [[ "$1" =~ ^[A-Za-z0-9._-]+$ ]] || [[ "$1" == .* ]]; then
        die "user name '$1' may contain only letters, digits and ._- (no '+': it is the" \
            "recipient delimiter)"
    fi
}

cmd_add_user() {
    if [ $# -lt 3 ] || [ $(($# % 2)) != 1 ]; then
        die "usage: add-user DIR USER PASS [USER PASS]..."
    fi
    need_root
    local dir uid gid user pass file
    dir=$(abs_dir "$1")
    shift
    [ -f "$dir/ports.env" ] || die "no private Dovecot running in $dir"
    uid=$(env_value "$dir" MAIL_UID)
    gid=$(env_value "$dir" MAIL_GID)
    local args=("$@")
    while [ $# -gt 0 ]; do
        user=$1 pass=$2
        shift 2
        valid_user "$user"
        [[ "$pass" != *:* && "$pass" != *$'\n'* && -n "$pass" ]] \
            || die "password must be non-empty, without ':' or newlines"
        file="$dir/users/$user"
        local old_mtime=0 new_mtime
        [ -f "$file" ] && old_mtime=$(stat -c %Y "$file")
        printf '%s:{PLAIN}%s::::::\n' "$user" "$pass" >"$file.new"
        chown "root:$(stat -c %G "$dir/users")" "$file.new"
        chmod 0640 "$file.new"
        mv "$file.new" "$file"
        # A changed file is noticed by its mtime (one-second granularity): move it forward
        # rather than sleeping.
        new_mtime=$(($(date +%s) + 2))
        [ "$new_mtime" -gt "$old_mtime" ] || new_mtime=$((old_mtime + 1))
        touch -d "@$new_mtime" "$file"
        make_maildir "$dir/mail/$user" "$uid" "$gid"
        make_maildir "$dir/mail/$user/Maildir" "$uid" "$gid"
    done
    # Wait until Dovecot accepts the credentials (a password change of a user looked up in
    # this very second shows only in the next one).
    set -- "${args[@]}"
    local deadline=$((SECONDS + START_TIMEOUT))
    while [ $# -gt 0 ]; do
        until doveadm -c "$dir/dovecot.conf" auth test "$1" "$2" >/dev/null 2>&1; do
            [ $SECONDS -lt "$deadline" ] || die_with_log "$dir" "dovecot does not accept user $1"
            sleep 0.05
        done
        shift 2
    done
}

# Creates a maildir (or the user's home when not ending in Maildir) owned by the mail user.
make_maildir() {
    local d=$1 uid=$2 gid=$3 sub
    if [[ "$d" == */Maildir || "$d" == */Maildir/.* ]]; then
        for sub in "" /cur /new /tmp; do
            mkdir -p "$d$sub"
            chown "$uid:$gid" "$d$sub"
            chmod 0700 "$d$sub"
        done
    else
        mkdir -p "$d"
        chown "$uid:$gid" "$d"
        chmod 0700 "$d"
    fi
}

# Prints the maildir of USER's FOLDER (INBOX, or a "/"-separated path).
folder_dir() {
    local dir=$1 user=$2 folder=$3
    if [ "${folder^^}" = INBOX ]; then
        printf '%s\n' "$dir/mail/$user/Maildir"
        return
    fi
    [[ -n "$folder" && "$folder" != *.* && "$folder" != /* && "$folder" != */ \
        && "$folder" != *//* ]] \
        || die "folder '$folder': use '/' as separator, no '.', no empty parts"
    printf '%s\n' "$dir/mail/$user/Maildir/.${folder//\//.}"
}

cmd_seed() {
    [ $# -ge 4 ] || die "usage: seed DIR USER FOLDER FILE..."
    need_root
    local dir=$1 user=$2 folder=$3 uid gid fdir n=0 f name stamp
    shift 3
    dir=$(abs_dir "$dir")
    valid_user "$user"
    [ -f "$dir/ports.env" ] || die "no private Dovecot running in $dir"
    [ -d "$dir/mail/$user/Maildir" ] || die "no such user: $user (add-user first)"
    uid=$(env_value "$dir" MAIL_UID)
    gid=$(env_value "$dir" MAIL_GID)
    fdir=$(folder_dir "$dir" "$user" "$folder")
    if [ ! -d "$fdir/new" ]; then
        make_maildir "$fdir" "$uid" "$gid"
        : >"$fdir/maildirfolder"
        chown "$uid:$gid" "$fdir/maildirfolder"
    fi
    for f in "$@"; do
        [ -f "$f" ] || die "no such message file: $f"
        # Dovecot assigns UIDs to new mail in the order of (seconds, microseconds) in the name.
        n=$((n + 1))
        stamp=$(date +%s.%N)
        name=$(printf '%s.M%sP%dQ%04d.mctest' "${stamp%.*}" "${stamp:$((${#stamp} - 9)):6}" \
            $$ "$n")
        cp -- "$f" "$fdir/tmp/$name"
        chown "$uid:$gid" "$fdir/tmp/$name"
        chmod 0600 "$fdir/tmp/$name"
        mv "$fdir/tmp/$name" "$fdir/new/$name"
    done
}

main() {
    [ $# -ge 1 ] || die "usage: private-dovecot.sh start|stop|status|add-user|seed|check-dir DIR"
    local cmd=$1
    shift
    case $cmd in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        add-user) cmd_add_user "$@" ;;
        seed) cmd_seed "$@" ;;
        check-dir) cmd_check_dir "$@" ;;
        -h | --help | help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SCRIPT"
            ;;
        *) die "unknown command: $cmd" ;;
    esac
}

main "$@"
