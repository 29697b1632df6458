#!/usr/bin/env python3
"""persona_smtp.py PORT PERSONA - a scripted SMTP server on 127.0.0.1:PORT
that answers the way one product does, for tests/integration/
test_probe_advice.sh. Personas:
  postfix-open  Postfix replies and EHLO order, banner hidden, every RCPT 250
  exim-percent  Exim banner and replies; only percent-hack recipients accepted
  plain-open    "220 ESMTP", bare replies: no product to be read, every RCPT 250
Loopback only; nothing is delivered."""
import asyncio
import sys

PERSONAS = {
    "postfix-open": {
        "banner": b"220 mx.fp.test ESMTP\r\n",
        "ehlo": [b"mx.fp.test", b"PIPELINING", b"SIZE 10240000", b"VRFY", b"ETRN",
                 b"ENHANCEDSTATUSCODES", b"8BITMIME", b"DSN", b"CHUNKING"],
        "mail": b"250 2.1.0 Ok\r\n",
        "rcpt": lambda a: b"250 2.1.5 Ok\r\n",
        "other": b"250 2.0.0 Ok\r\n",
        "quit": b"221 2.0.0 Bye\r\n",
    },
    "exim-percent": {
        "banner": b"220 mx.fp.test ESMTP Exim 4.96 Wed, 02 Dec 2026 06:00:00 +0000\r\n",
        "ehlo": [b"mx.fp.test Hello probe [127.0.0.1]", b"SIZE 52428800", b"8BITMIME",
                 b"PIPELINING", b"PRDR", b"HELP"],
        "mail": b"250 OK\r\n",
        "rcpt": lambda a: b"250 Accepted\r\n" if b"%" in a else b"550 relay not permitted\r\n",
        "other": b"250 Reset OK\r\n",
        "quit": b"221 mx.fp.test closing connection\r\n",
    },
    "plain-open": {
        "banner": b"220 ESMTP\r\n",
        "ehlo": [b"mx", b"PIPELINING"],
        "mail": b"250 OK\r\n",
        "rcpt": lambda a: b"250 OK\r\n",
        "other": b"250 OK\r\n",
        "quit": b"221 bye\r\n",
    },
}


def reply(p, line):
    """The reply to one command line, and whether the session ends."""
    verb = line[:4].upper()
    if verb == b"EHLO":
        head, last = p["ehlo"][:-1], p["ehlo"][-1]
        return b"".join(b"250-%s\r\n" % k for k in head) + b"250 %s\r\n" % last, False
    if verb == b"RCPT":
        return p["rcpt"](line), False
    table = {b"MAIL": p["mail"], b"QUIT": p["quit"]}
    return table.get(verb, p["other"]), verb == b"QUIT"


async def session(reader, writer, p):
    writer.write(p["banner"])
    done = False
    while not done:
        line = await reader.readline()
        if not line:
            break
        out, done = reply(p, line)
        writer.write(out)
        await writer.drain()
    writer.close()


async def main():
    port, p = int(sys.argv[1]), PERSONAS[sys.argv[2]]
    server = await asyncio.start_server(lambda r, w: session(r, w, p), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
