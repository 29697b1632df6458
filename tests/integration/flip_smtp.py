#!/usr/bin/env python3
"""flip_smtp.py PORT FLAGFILE - an SMTP server on 127.0.0.1:PORT whose relay
behaviour the test flips: while FLAGFILE exists it accepts every RCPT (and
DATA), i.e. an open relay; otherwise it refuses RCPT with 554 5.7.1 (closed).
For the integration tests only; loopback only."""
import asyncio
import os
import sys


async def session(reader, writer, flag):
    writer.write(b"220 flip.relayprobe.test ESMTP\r\n")
    in_data = False
    while True:
        line = await reader.readline()
        if not line:
            break
        if in_data:
            if line in (b".\r\n", b".\n"):
                in_data = False
                writer.write(b"250 2.0.0 Ok: queued\r\n")
                await writer.drain()
            continue
        cmd = line[:4].upper()
        if cmd == b"EHLO":
            writer.write(b"250-flip.relayprobe.test\r\n250 PIPELINING\r\n")
        elif cmd == b"RCPT":
            if os.path.exists(flag):
                writer.write(b"250 2.1.5 Ok\r\n")
            else:
                writer.write(b"554 5.7.1 Relay access denied\r\n")
        elif cmd == b"DATA":
            in_data = True
            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 2.0.0 Ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    port, flag = int(sys.argv[1]), sys.argv[2]
    server = await asyncio.start_server(
        lambda r, w: session(r, w, flag), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
