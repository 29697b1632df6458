#!/usr/bin/env python3
"""slow_smtp.py PORT DELAY - a closed SMTP server on 127.0.0.1:PORT that waits
DELAY seconds before each greeting (a tarpit), then refuses every RCPT with
554 5.7.1. For the integration tests only; loopback only."""
import asyncio
import sys


async def session(reader, writer, delay):
    await asyncio.sleep(delay)
    writer.write(b"220 slow.relayprobe.test ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line[:4].upper()
        if cmd == b"EHLO":
            writer.write(b"250-slow.relayprobe.test\r\n250 PIPELINING\r\n")
        elif cmd == b"RCPT":
            writer.write(b"554 5.7.1 Relay access denied\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 Ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    server = await asyncio.start_server(
        lambda r, w: session(r, w, delay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
