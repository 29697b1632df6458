#!/usr/bin/env python3
"""limits_smtp.py PORT LOG [RCPTMAX MAILMAX] - a closed, pipelining SMTP server
on 127.0.0.1:PORT that advertises RFC 9422 LIMITS (when RCPTMAX and MAILMAX
are given) and records what each client sends in each pipelined group: it
reads until the client has been quiet for 100 ms, then answers every line
of that group. At the end of each session it appends one JSON line to LOG:
{"groups": [RCPTs per group], "mails": MAILs in the session, "over": bool}.
Past MAILMAX it answers MAIL with 452 4.5.3 (RFC 9422 section 5.1); past
RCPTMAX in a transaction, RCPT with 452 4.5.3. Every RCPT is refused (550
5.7.1). For the integration tests only; loopback only."""
import asyncio
import json
import sys

QUIET = 0.1


async def read_group(reader):
    data = await reader.read(65536)
    if not data:
        return b""
    while True:
        try:
            more = await asyncio.wait_for(reader.read(65536), QUIET)
        except asyncio.TimeoutError:
            return data
        if not more:
            return data
        data += more


async def session(reader, writer, log, rcpt_max, mail_max):
    writer.write(b"220 limits.relayprobe.test ESMTP\r\n")
    await writer.drain()
    groups, mails, rcpts_in_txn, over, buf = [], 0, 0, False, b""
    done = False
    while not done:
        data = await read_group(reader)
        if not data:
            break
        buf += data
        lines = buf.split(b"\r\n")
        buf = lines.pop()
        rcpts = 0
        out = []
        for line in lines:
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                out.append(b"250-limits.relayprobe.test")
                out.append(b"250-PIPELINING")
                if rcpt_max:
                    out.append(b"250-LIMITS RCPTMAX=%d MAILMAX=%d" % (rcpt_max, mail_max))
                out.append(b"250 8BITMIME")
            elif cmd == b"MAIL":
                mails += 1
                rcpts_in_txn = 0
                if mail_max and mails > mail_max:
                    over = True
                    out.append(b"452 4.5.3 Too many transactions in this session")
                else:
                    out.append(b"250 2.1.0 Ok")
            elif cmd == b"RCPT":
                rcpts += 1
                rcpts_in_txn += 1
                if rcpt_max and rcpts_in_txn > rcpt_max:
                    over = True
                    out.append(b"452 4.5.3 Too many recipients")
                else:
                    out.append(b"550 5.7.1 Relay access denied")
            elif cmd == b"RSET":
                rcpts_in_txn = 0
                out.append(b"250 2.0.0 Ok")
            elif cmd == b"QUIT":
                out.append(b"221 2.0.0 Bye")
                done = True
            else:
                out.append(b"502 5.5.2 Error: command not recognized")
        if rcpts:
            groups.append(rcpts)
        if out:
            writer.write(b"\r\n".join(out) + b"\r\n")
            await writer.drain()
    with open(log, "a") as f:
        f.write(json.dumps({"groups": groups, "mails": mails, "over": over}) + "\n")
    writer.close()


async def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    rcpt_max = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    mail_max = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    server = await asyncio.start_server(
        lambda r, w: session(r, w, log, rcpt_max, mail_max), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
