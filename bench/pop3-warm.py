#!/usr/bin/env python3
"""Warms Dovecot up for the benchmark: one POP3S session per user doing STAT, UIDL and LIST, so
Dovecot has indexed the maildir and cached the message sizes before any timed run (otherwise
the first tool measured pays for indexing 20000 fresh files).

  pop3-warm.py HOST PORT CA_FILE USER:PASS...
"""
import poplib
import ssl
import sys


def main(argv):
    if len(argv) < 5:
        raise SystemExit(__doc__)
    host, port, ca = argv[1], int(argv[2]), argv[3]
    context = ssl.create_default_context(cafile=ca)
    for pair in argv[4:]:
        user, password = pair.split(":", 1)
        session = poplib.POP3_SSL(host, port, context=context, timeout=600)
        session.user(user)
        session.pass_(password)
        count, _ = session.stat()
        session.uidl()
        session.list()
        session.quit()
        print(f"{user}: {count} messages")


if __name__ == "__main__":
    main(sys.argv)
