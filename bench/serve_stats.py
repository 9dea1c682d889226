#!/usr/bin/env python3
"""bench/serve.sh's parsing and tables (standard library only).

  serve_stats.py scan KIND LOG OFFSET WANT    what a server logged since OFFSET: lines, resumed, negotiated
  serve_stats.py bench JSON                   what tlskit bench --json counted
  serve_stats.py probe FILE                   version, suite and group from `openssl s_client` output
  serve_stats.py summary RESULTS ANCHOR       the markdown tables, every ratio against ANCHOR
"""
import json
import re
import statistics
import sys
import time

# IANA numbers (caddy logs numbers) and the spellings each server uses, to one name per thing.
VERSIONS = {"772": "TLSv1.3", "771": "TLSv1.2", "TLSv1_3": "TLSv1.3", "TLSv1_2": "TLSv1.2"}
SUITES = {
    "4865": "TLS_AES_128_GCM_SHA256",
    "4866": "TLS_AES_256_GCM_SHA384",
    "4867": "TLS_CHACHA20_POLY1305_SHA256",
}


def suite(name):
    name = SUITES.get(str(name), str(name))
    return "TLS_" + name[len("TLS13_"):] if name.startswith("TLS13_") else name


def version(name):
    return VERSIONS.get(str(name), str(name))


def parse_line(kind, line):
    """(version, suite, group, resumed) of one access line, None when it is not one."""
    if kind == "nginx":  # log_format: $ssl_protocol $ssl_cipher $ssl_curve $ssl_session_reused
        f = line.split()
        return (version(f[0]), suite(f[1]), f[2], f[3] == "r") if len(f) == 4 else None
    if kind == "h2o":  # %{ssl.protocol-version}x %{ssl.cipher}x %{ssl.session-reused}x (no group)
        f = line.split()
        return (version(f[0]), suite(f[1]), "?", f[2] == "1") if len(f) == 3 else None
    if not line.startswith("{"):
        return None
    d = json.loads(line)
    if kind == "caddy":  # request.tls: version, cipher_suite (numbers), resumed; no group
        t = d.get("request", {}).get("tls", {})
        return (version(t.get("version")), suite(t.get("cipher_suite")), "?", bool(t.get("resumed")))
    # tlskit serve --json-log; a resumed TLS 1.3 session reports no group (rustls does not say)
    return (version(d["tls_version"]), suite(d["cipher_suite"]), d.get("group") or "?", bool(d["resumed"]))


def scan(kind, path, offset, want):
    """Waits (5 s at most) for WANT lines past OFFSET, then prints: lines resumed negotiated."""
    deadline = time.monotonic() + 5
    while True:
        with open(path, "rb") as f:
            f.seek(offset)
            lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
        parsed = [p for p in (parse_line(kind, l) for l in lines) if p]
        if len(parsed) >= want or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    combos = {}
    for v, s, g, _ in parsed:
        combos[(v, s, g)] = combos.get((v, s, g), 0) + 1
    # Resumed TLS 1.3 lines without a group name count under the group the full ones named.
    groups = {g for (_, _, g) in combos if g != "?"}
    merged = {}
    for (v, s, g), n in combos.items():
        key = f"{v}/{s}/{g if g != '?' or len(groups) != 1 else next(iter(groups))}"
        merged[key] = merged.get(key, 0) + n
    print(len(parsed), sum(1 for p in parsed if p[3]), ",".join(f"{k}={n}" for k, n in sorted(merged.items())) or "-")


def bench(path):
    """Prints: requests seconds full resumed attempted negotiated errors."""
    d = json.load(open(path))
    h, t = d["handshakes"], d["tls"]
    neg = ",".join(f"{v}/{s}/{g}" for v in t["versions"] for s in t["suites"] for g in t["groups"])
    print(d["requests"], d["duration_s"], h["full"] + h["hrr"], h["resumed"], h["resumption_attempted"],
          neg or "-", sum(d["errors"].values()))


def probe(path):
    """Version/suite/group from `openssl s_client -brief` (it prints them on stderr)."""
    text = open(path, errors="replace").read()
    v = re.search(r"Protocol version: (\S+)", text)
    s = re.search(r"Ciphersuite: (\S+)", text)
    g = re.search(r"(?:Negotiated TLS1.3 group|Server Temp Key): (\w+)", text)
    print("/".join(m.group(1) if m else "?" for m in (v, s, g)))


def spread(values, fmt):
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{fmt(statistics.median(values))} ({fmt(lo)}–{fmt(hi)})"


def summary(path, anchor):
    rows = [l.split() for l in open(path) if l.strip()]
    cells, bulk, order = {}, {}, []
    for r in rows:
        if r[0] == "bulk":  # bulk SERVER PROTO REPEAT MBPS
            bulk.setdefault((r[1], r[2]), {})[int(r[3])] = float(r[4])
            continue
        # cell SERVER MODE GEN REPEAT RPS MS REQS LOGGED RESUMED NEG CFULL CRESUMED CATTEMPTED CNEG ERRORS
        _, server, mode, gen, rep = r[:5]
        cells.setdefault((server, mode, gen), []).append(r)
        if server not in order:
            order.append(server)
    f0 = lambda x: f"{x:,.0f}"
    f4 = lambda x: f"{x:.4f}"
    f2 = lambda x: f"{x:.2f}×"
    heads = {"keepalive": "keep-alive", "resumed": "resumed (new connection per request, session resumed)",
             "full": "full handshake (new connection per request, resumption off)"}
    bad, notes = [], []
    for mode in ("keepalive", "resumed", "full"):
        gens = sorted({g for (_, m, g) in cells if m == mode}, key=lambda g: g != "wrk")
        if not gens:
            continue
        print(f"\n**{heads[mode]}**\n")
        print("| server | generator | req/s median (range) | server core-ms/req median (range) | "
              f"core-ms/req ÷ {anchor}'s, per repeat: median (range) | resumed / connections | negotiated |")
        print("|---|---|---|---|---|---|---|")
        for gen in gens:
            base = {int(r[4]): float(r[6]) for r in cells.get((anchor, mode, gen), [])}
            for server in order:
                rs = cells.get((server, mode, gen))
                if not rs:
                    continue
                rps = [float(r[5]) for r in rs]
                ms = [float(r[6]) for r in rs]
                ratios = [float(r[6]) / base[int(r[4])] for r in rs if base.get(int(r[4]), 0) > 0]
                res = []
                if rs[0][8] != "-":
                    res.append(f"server log {sum(int(r[9]) for r in rs):,} / {sum(int(r[8]) for r in rs):,}")
                if rs[0][11] != "-":
                    res.append(f"tlskit bench {sum(int(r[12]) for r in rs):,} / "
                               f"{sum(int(r[11]) + int(r[12]) for r in rs):,} "
                               f"({sum(int(r[13]) for r in rs):,} offered)")
                negs = {}
                for r in rs:
                    for part in (r[10], r[14]):
                        for n in part.split(",") if part != "-" else []:
                            name, _, count = n.partition("=")
                            negs[name] = negs.get(name, 0) + int(count or 1)
                negs = [f"{k} ({n:,})" if n > 1 else k for k, n in sorted(negs.items())]
                errors = sum(int(r[15]) for r in rs)
                print(f"| {server} | {gen} | {spread(rps, f0)} | {spread(ms, f4)} | "
                      f"{spread(ratios, f2) if server != anchor else '1'} | {'; '.join(res) or '-'} | "
                      f"{' '.join(negs) or '-'}{f'; {errors} errors' if errors else ''} |")
                for r in rs:
                    logged, resumed = (int(r[8]), int(r[9])) if r[8] != "-" else (0, 0)
                    cfull, cres = (int(r[11]), int(r[12])) if r[11] != "-" else (0, 0)
                    if mode == "full" and (resumed or cres):
                        bad.append(f"{server} {gen} repeat {r[4]}: {resumed + cres} resumed in the full cell")
                    # A slot's first connection is a full handshake: CONNS of them per run are expected.
                    if mode == "resumed" and logged and resumed < 0.8 * logged:
                        notes.append(f"{server} {gen} repeat {r[4]}: the server resumed only {resumed} of {logged} "
                                     "connections: its resumed figures mix in full handshakes")
                    if mode == "resumed" and cfull + cres and cres < 0.8 * (cfull + cres):
                        notes.append(f"{server} {gen} repeat {r[4]}: tlskit bench resumed only {cres} of "
                                     f"{cfull + cres} connections")
                    if int(r[7]) == 0:
                        bad.append(f"{server} {gen} repeat {r[4]}: no request completed")
        seen = {tuple(n.split("=")[0].split("/")) for (_, m, _), rs in cells.items() if m == mode
                for r in rs for part in (r[10], r[14]) if part != "-" for n in part.split(",")}
        # Group names are spelt by each server (nginx X25519, rustls x25519); h2o and caddy log none ("?").
        groups = {n[2].lower() for n in seen if len(n) > 2 and n[2] != "?"}
        if len({n[:2] for n in seen}) > 1 or len(groups) > 1:
            bad.append(f"{heads[mode]}: the servers negotiated different things: "
                       + " ".join(sorted("/".join(n) for n in seen)))
    if bulk:
        protos = sorted({p for (_, p) in bulk})
        print("\n**bulk download** (curl, 100 MiB file; MB/s)\n")
        print("| server | " + " | ".join(f"{p} MB/s median (range) | {p} ÷ {anchor}'s" for p in protos) + " |")
        print("|---|" + "---|---|" * len(protos))
        for server in order:
            line = f"| {server} |"
            for p in protos:
                got, base = bulk.get((server, p), {}), bulk.get((anchor, p), {})
                ratios = [v / base[k] for k, v in got.items() if base.get(k, 0) > 0]
                line += f" {spread(list(got.values()), f0)} | {spread(ratios, f2) if server != anchor else '1'} |"
            print(line)
    if notes:
        print()
    for n in notes:
        print(f"- NOTE: {n}")
    if bad:
        print()
    for b in bad:
        print(f"- CHECK FAILED: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "scan":
        scan(args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "bench":
        bench(args[0])
    elif cmd == "probe":
        probe(args[0])
    elif cmd == "summary":
        sys.exit(summary(args[0], args[1]))
    else:
        sys.exit(f"serve_stats.py: unknown command {cmd}")
