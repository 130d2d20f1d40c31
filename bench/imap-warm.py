#!/usr/bin/env python3
"""Warms Dovecot up for the benchmark's IMAP phases: one IMAPS session per user that selects
INBOX and fetches UID, FLAGS, RFC822.SIZE and INTERNALDATE of every message, so Dovecot's IMAP
index and cache hold what the tools ask for before any timed run (otherwise the first tool
measured pays for building them). Read-only (EXAMINE): no flag changes.

  imap-warm.py HOST PORT CA_FILE USER:PASS...
"""
import imaplib
import ssl
import sys


def main(argv):
    if len(argv) < 5:
        raise SystemExit(__doc__)
    host, port, ca = argv[1], int(argv[2]), argv[3]
    context = ssl.create_default_context(cafile=ca)
    for pair in argv[4:]:
        user, password = pair.split(":", 1)
        session = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=600)
        session.login(user, password)
        typ, data = session.select("INBOX", readonly=True)
        if typ != "OK":
            raise SystemExit(f"{user}: EXAMINE INBOX failed: {data}")
        count = int(data[0])
        if count:
            typ, data = session.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
            if typ != "OK":
                raise SystemExit(f"{user}: UID FETCH failed: {data}")
        session.logout()
        print(f"{user}: {count} messages")


if __name__ == "__main__":
    main(sys.argv)
