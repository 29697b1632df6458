#!/usr/bin/env python3
"""hostile_smtp.py [ADDR:]PORT MODE [ARG] - a hostile SMTP server on
ADDR:PORT (ADDR in 127.0.0.0/8, default 127.0.0.1), for the integration tests
and the measurements of issue 8; loopback only.

  tarpit DELAY  answers every command DELAY seconds after it (just inside the
                client's command timeout), every RCPT with 450, forever
  dh BITS       offers STARTTLS with TLS 1.2 and DHE key exchange only, over
                a DH group of BITS bits (any odd number of that size: the
                client's cost is the same as with a prime, and it takes no
                time to make); a self-signed certificate is made in a
                temporary directory with openssl(1)
"""
import asyncio
import os
import secrets
import ssl
import subprocess
import sys
import tempfile


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")  # room for the sign bit
    return b"\x02" + der_len(len(b)) + b


def dh_params_pem(bits):
    p = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    body = der_int(p) + der_int(2)
    der = b"\x30" + der_len(len(body)) + body
    import base64
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines) + \
        "\n-----END DH PARAMETERS-----\n"


def tls_context(bits, tmp):
    key, crt, dh = (os.path.join(tmp, n) for n in ("k.pem", "c.pem", "dh.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj",
                    "/CN=hostile.relayprobe.test"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(dh, "w") as f:
        f.write(dh_params_pem(bits))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA:@SECLEVEL=0")
    ctx.load_cert_chain(crt, key)
    ctx.load_dh_params(dh)
    return ctx


async def session(reader, writer, mode, arg, ctx):
    tls = False
    writer.write(b"220 hostile.relayprobe.test ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line[:4].upper()
        if mode == "tarpit" and cmd != b"QUIT":
            await asyncio.sleep(arg)
        if cmd == b"EHLO":
            offer = b"250-STARTTLS\r\n" if ctx and not tls else b""
            writer.write(b"250-hostile.relayprobe.test\r\n" + offer + b"250 8BITMIME\r\n")
        elif cmd == b"STAR" and ctx and not tls:
            writer.write(b"220 2.0.0 Ready to start TLS\r\n")
            await writer.drain()
            try:
                await writer.start_tls(ctx)
            except (ssl.SSLError, ConnectionError, OSError):
                break
            tls = True
            continue
        elif cmd == b"RCPT":
            writer.write(b"450 4.7.1 Try again later\r\n" if mode == "tarpit"
                         else b"554 5.7.1 Relay access denied\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 Ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    addr, _, port = sys.argv[1].rpartition(":")
    addr, port, mode = addr or "127.0.0.1", int(port), sys.argv[2]
    if not addr.startswith("127."):
        sys.exit("loopback addresses only")
    arg = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        ctx = tls_context(int(arg), tmp) if mode == "dh" else None
        server = await asyncio.start_server(
            lambda r, w: session(r, w, mode, arg, ctx), addr, port)
        async with server:
            await server.serve_forever()


asyncio.run(main())
