#!/usr/bin/env python3
"""Generates the benchmark's message corpus (deterministic for a given seed).

  gen-messages.py corpus DIR COUNT [--size BYTES] [--seed N]
      COUNT files DIR/000001.eml ... with realistic headers (Return-Path, Received chain,
      DKIM-Signature, From/To/Cc, Subject, Date, Message-ID, MIME multipart/alternative with a
      text and an HTML part); total size uniformly within +-30% of BYTES (default 7000).
  gen-messages.py big FILE MEGABYTES
      One message of about MEGABYTES MB: a short text part plus a base64 attachment.

Files use LF line endings, as stored in a Maildir. Only the Python standard library is used.
"""
import base64
import os
import random
import sys
import time

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "will more up out can said about other into them then some could time these two may first "
    "only new very also my any now such like our over man me even most made after well where "
    "invoice meeting project quarterly report attached please review schedule budget release "
    "server deadline customer proposal contract update shipment delivery account payment draft "
    "agenda minutes notes thanks regards tomorrow monday friday office team migration archive"
).split()

FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent victor walter".split()
DOMAINS = "example.com example.net example.org mail.example.com lists.example.org corp.example.net".split()
RELAYS = "mx1 mx2 relay smtp-out gw edge".split()


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def paragraph_lines(rng, target_bytes, width=72):
    """Plain text lines (no line starting with '.', so nothing needs dot-stuffing awareness
    beyond what servers do anyway -- a few do start with '.', see below)."""
    lines, size = [], 0
    while size < target_bytes:
        line = words(rng, rng.randint(6, 13))
        line = line[0].upper() + line[1:] + "."
        if rng.random() < 0.01:
            line = "." + line  # exercise dot-stuffing now and then
        if len(line) > width:
            line = line[:width].rstrip()
        lines.append(line)
        size += len(line) + 1
        if rng.random() < 0.15:
            lines.append("")
            size += 1
    return lines


def address(rng):
    name = rng.choice(FIRST)
    return name.capitalize(), f"{name}.{rng.randint(1, 999)}@{rng.choice(DOMAINS)}"


def rfc2822_date(ts):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def headers(rng, index, ts):
    from_name, from_addr = address(rng)
    to_name, to_addr = address(rng)
    hops = []
    t = ts
    for hop in range(rng.randint(2, 4)):
        relay = f"{rng.choice(RELAYS)}.{rng.choice(DOMAINS)}"
        peer = f"{rng.choice(RELAYS)}{hop}.{rng.choice(DOMAINS)}"
        ip = f"192.0.2.{rng.randint(1, 254)}"
        qid = "".join(rng.choice("0123456789ABCDEF") for _ in range(10))
        hops.append(
            f"Received: from {peer} ({peer} [{ip}])\n"
            f"\tby {relay} (Postfix) with ESMTPS id {qid}\n"
            f"\tfor <{to_addr}>; {rfc2822_date(t)}"
        )
        t -= rng.randint(1, 30)
    dkim = base64.b64encode(rng.randbytes(96)).decode()
    bh = base64.b64encode(rng.randbytes(32)).decode()
    h = [f"Return-Path: <{from_addr}>"]
    h += hops
    h += [
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={from_addr.split('@')[1]};",
        f"\ts=sel1; t={ts}; bh={bh};",
        "\th=from:to:subject:date:message-id:mime-version;",
        f"\tb={dkim[:64]}",
        f"\t {dkim[64:]}",
        f"From: {from_name} <{from_addr}>",
        f"To: {to_name} <{to_addr}>",
    ]
    if rng.random() < 0.3:
        cc_name, cc_addr = address(rng)
        h.append(f"Cc: {cc_name} <{cc_addr}>")
    subject = words(rng, rng.randint(3, 9)).capitalize()
    if rng.random() < 0.3:
        subject = "Re: " + subject
    h += [
        f"Subject: {subject} #{index}",
        f"Date: {rfc2822_date(ts)}",
        f"Message-ID: <{ts}.{index}.{rng.randint(10**8, 10**9)}@{rng.choice(DOMAINS)}>",
        "MIME-Version: 1.0",
        "X-Mailer: bench-gen 1.0",
    ]
    return h, from_addr


def message(rng, index, size):
    ts = 1_600_000_000 + index * 97 + rng.randint(0, 90)
    head, _ = headers(rng, index, ts)
    boundary = f"=_bench_{index}_{rng.randint(10**6, 10**7)}"
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head_bytes = sum(len(x) + 1 for x in head) + 1
    remaining = max(400, size - head_bytes - 300)
    text = paragraph_lines(rng, remaining * 0.45)
    html_lines = ["<html><body>"] + [f"<p>{line}</p>" for line in paragraph_lines(rng, remaining * 0.5) if line] + ["</body></html>"]
    body = [
        "This is a multi-part message in MIME format.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        *text,
        "",
        f"--{boundary}",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        *html_lines,
        "",
        f"--{boundary}--",
    ]
    return "\n".join(head) + "\n\n" + "\n".join(body) + "\n"


def corpus(directory, count, size, seed):
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(seed)
    for i in range(1, count + 1):
        target = int(size * rng.uniform(0.7, 1.3))
        text = message(rng, i, target)
        path = os.path.join(directory, f"{i:06d}.eml")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def big(path, megabytes):
    rng = random.Random(50)
    head, _ = headers(rng, 0, 1_600_000_000)
    boundary = "=_bench_big"
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    with open(path + ".tmp", "w", encoding="ascii") as f:
        f.write("\n".join(head) + "\n\n")
        f.write(f"--{boundary}\nContent-Type: text/plain\n\nA large attachment follows.\n\n")
        f.write(f"--{boundary}\nContent-Type: application/octet-stream\n"
                "Content-Transfer-Encoding: base64\n"
                'Content-Disposition: attachment; filename="big.bin"\n\n')
        target = megabytes * 1024 * 1024
        written = 0
        chunk_raw = rng.randbytes(57 * 1024)  # 1024 lines of 76 base64 chars
        encoded = base64.encodebytes(chunk_raw).decode("ascii")
        while written < target:
            f.write(encoded)
            written += len(encoded)
        f.write(f"\n--{boundary}--\n")
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) >= 4 and argv[1] == "corpus":
        size, seed = 7000, 1
        rest = argv[4:]
        while rest:
            if rest[0] == "--size":
                size = int(rest[1])
            elif rest[0] == "--seed":
                seed = int(rest[1])
            else:
                raise SystemExit(f"unknown option {rest[0]}")
            rest = rest[2:]
        corpus(argv[2], int(argv[3]), size, seed)
    elif len(argv) == 4 and argv[1] == "big":
        big(argv[2], int(argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
