#!/usr/bin/env python3
"""Writes a peer's state file as its own run would leave it after collecting every message of a
mailbox, from one listing of that mailbox, for the scale bench's re-poll rows (importing 100,000
messages through fetchmail or getmail6 first would take an hour or more).

  peer-state.py fetchmail-pop3 PORT CA USER PASSWORD   fetchmail's idfile: "USER@localhost UIDL"
  peer-state.py getmail-pop3 PORT CA USER PASSWORD     getmail6's oldmail file: "UIDL\\0TIME"
  peer-state.py getmail-imap PORT CA USER PASSWORD     getmail6's INBOX oldmail: "UIDVALIDITY/UID\\0TIME"

Connects to 127.0.0.1 over implicit TLS verified against CA; writes to stdout.
"""
import imaplib
import poplib
import re
import ssl
import sys
import time


def pop3_uidls(port, context, user, password):
    pop = poplib.POP3_SSL("127.0.0.1", port, context=context)
    pop.user(user)
    pop.pass_(password)
    uidls = [line.decode().split()[1] for line in pop.uidl()[1]]
    pop.quit()
    return uidls


def imap_uids(port, context, user, password):
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    uidvalidity = imap.response("UIDVALIDITY")[1][0].decode()
    _, data = imap.uid("SEARCH", None, "ALL")
    imap.logout()
    return uidvalidity, data[0].decode().split()


def main():
    mode, port, ca, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    context = ssl.create_default_context(cafile=ca)
    now = int(time.time())
    out = sys.stdout
    if mode == "fetchmail-pop3":
        for uidl in pop3_uidls(port, context, user, password):
            out.write(f"{user}@localhost {uidl}\n")
    elif mode == "getmail-pop3":
        for uidl in pop3_uidls(port, context, user, password):
            out.write(f"{uidl.replace('/', '-')}\0{now}\n")
    elif mode == "getmail-imap":
        uidvalidity, uids = imap_uids(port, context, user, password)
        for uid in uids:
            out.write(f"{uidvalidity}/{uid}\0{now}\n")
    else:
        sys.exit(f"peer-state.py: unknown mode {mode!r}")


if __name__ == "__main__":
    main()
