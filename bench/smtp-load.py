#!/usr/bin/env python3
"""
SMTP load generator for bench/vs-postfix.ts: the same client for mxgate and for Postfix, in its
own process (so the server under test has the machine's cores to itself as far as possible).

  smtp-load.py PORT MODE CONCURRENCY SECONDS SIZE_KB
  MODE: handshake (connect, EHLO, STARTTLS, EHLO, QUIT), tls1 (one message per connection),
        tls10 (ten messages per connection), plain1 (one message, no TLS)

Prints one JSON line: {"ops": n, "seconds": s, "rate": n/s, "p50": ms, "p99": ms, "errors": n}.
The rate counts connections for "handshake" and messages otherwise.
"""
import asyncio
import json
import ssl
import sys
import time

HOST = '127.0.0.1'


async def reply(reader):
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError('connection closed')
        lines.append(line)
        if len(line) < 4 or line[3:4] != b'-':
            code = int(line[:3])
            return code, lines


async def command(reader, writer, text, expect):
    writer.write(text + b'\r\n')
    code, lines = await reply(reader)
    if code // 100 != expect:
        raise RuntimeError(f'{text!r}: {b"".join(lines)!r}')


async def session(port, mode, body, ctx):
    if mode == 'rawtls':
        reader, writer = await asyncio.open_connection(HOST, port, ssl=ctx, server_hostname='mx.test.example')
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass
        return 1
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        code, _ = await reply(reader)
        if code != 220:
            raise RuntimeError(f'greeting {code}')
        await command(reader, writer, b'EHLO load.example', 2)
        if mode != 'plain1':
            await command(reader, writer, b'STARTTLS', 2)
            await writer.start_tls(ctx, server_hostname='mx.test.example')
            await command(reader, writer, b'EHLO load.example', 2)
        messages = {'handshake': 0, 'tls1': 1, 'plain1': 1, 'tls10': 10}[mode]
        for _ in range(messages):
            await command(reader, writer, b'MAIL FROM:<load@example.org>', 2)
            await command(reader, writer, b'RCPT TO:<user@example.net>', 2)
            await command(reader, writer, b'DATA', 3)
            writer.write(body)
            code, lines = await reply(reader)
            if code != 250:
                raise RuntimeError(f'end of data: {b"".join(lines)!r}')
        writer.write(b'QUIT\r\n')
        await writer.drain()
        return max(messages, 1)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass


async def main():
    port, mode, concurrency, seconds, size_kb = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    line = b'x' * 76 + b'\r\n'
    text = b'Subject: load\r\nFrom: <load@example.org>\r\nTo: <user@example.net>\r\n\r\n' + line * max(1, (size_kb * 1024) // len(line))
    body = text + b'.\r\n'
    latencies, ops, errors = [], 0, 0
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()

    async def worker():
        nonlocal ops, errors
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                done = await session(port, mode, body, ctx)  # not `ops += await …`: that reads ops before the await
                ops += done
                latencies.append((time.monotonic() - start) * 1000)
            except Exception:
                errors += 1
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - t0
    latencies.sort()
    pct = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None
    print(json.dumps({'ops': ops, 'seconds': round(elapsed, 2), 'rate': round(ops / elapsed, 1), 'p50': pct(0.5), 'p99': pct(0.99), 'errors': errors}))


asyncio.run(main())
