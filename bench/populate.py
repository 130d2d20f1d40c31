#!/usr/bin/env python3
"""Fills a private Dovecot (tests/support/private-dovecot.sh start DIR) fast, for the scale bench:
users and their maildirs written directly, messages put into cur/ flagged \\Seen, so that 10,000
accounts or 100,000 messages take seconds instead of the hours `add-user`/`seed` would (they
spawn processes per user and per file). Dovecot assigns UIDs on its first look, in name order.

  populate.py DIR users PREFIX FIRST LAST MESSAGES     users PREFIX<n> (n = FIRST..LAST), password
                                                       pw<n>, MESSAGES messages each in INBOX
  populate.py DIR mailbox USER PASSWORD MESSAGES       one user with MESSAGES messages in INBOX

Messages are about 1 KB (headers of a real message, a short text body), each with its own
Message-ID. Must run as root (files belong to the mail user). Existing users are left as they are.
"""
import os
import sys


def env(dir_):
    values = {}
    with open(os.path.join(dir_, "ports.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            values[key] = value
    return values


def message(user, n):
    body = "".join(f"Line {i} of a short message, as most notifications and replies are.\n" for i in range(12))
    return (
        f"Return-Path: <sender{n % 97}@example.org>\n"
        f"From: Sender {n % 97} <sender{n % 97}@example.org>\n"
        f"To: {user}@example.net\n"
        f"Subject: bench message {n} for {user}\n"
        f"Date: Mon, 1 Jan 2024 10:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <bench-{user}-{n}@example.org>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n" + body
    ).encode()


def make_dirs(path, uid, gid):
    for sub in ("", "/cur", "/new", "/tmp"):
        os.makedirs(path + sub, exist_ok=True)
        os.chown(path + sub, uid, gid)
        os.chmod(path + sub, 0o700)


def add_user(dir_, user, password, messages, uid, gid, users_gid):
    passwd = os.path.join(dir_, "users", user)
    if os.path.exists(passwd):
        return
    home = os.path.join(dir_, "mail", user)
    os.makedirs(home, exist_ok=True)
    os.chown(home, uid, gid)
    os.chmod(home, 0o700)
    maildir = os.path.join(home, "Maildir")
    make_dirs(maildir, uid, gid)
    cur = os.path.join(maildir, "cur")
    for n in range(1, messages + 1):
        content = message(user, n)
        # Names sort in seeding order (Dovecot numbers new files by name); S = \Seen.
        name = f"{1700000000 + n}.M{n:06d}P1Q1.bench,S={len(content)}:2,S"
        path = os.path.join(cur, name)
        with open(path, "wb") as f:
            f.write(content)
        os.chown(path, uid, gid)
        os.chmod(path, 0o600)
    tmp = passwd + ".new"
    with open(tmp, "w") as f:
        f.write(f"{user}:{{PLAIN}}{password}::::::\n")
    os.chown(tmp, 0, users_gid)
    os.chmod(tmp, 0o640)
    os.rename(tmp, passwd)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    dir_, what = argv[1], argv[2]
    values = env(dir_)
    uid, gid = int(values["MAIL_UID"]), int(values["MAIL_GID"])
    users_gid = os.stat(os.path.join(dir_, "users")).st_gid
    if what == "users" and len(argv) == 7:
        prefix, first, last, messages = argv[3], int(argv[4]), int(argv[5]), int(argv[6])
        for n in range(first, last + 1):
            add_user(dir_, f"{prefix}{n}", f"pw{n}", messages, uid, gid, users_gid)
    elif what == "mailbox" and len(argv) == 6:
        add_user(dir_, argv[3], argv[4], int(argv[5]), uid, gid, users_gid)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
