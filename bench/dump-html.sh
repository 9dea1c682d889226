#!/usr/bin/env bash
# Memory of `tlskit dump --html` as a capture grows: the report must stream (bounded memory, whatever the
# number of connections), beside tshark's flow graph (`-z flow,tcp,network`, Wireshark's flow graph as text).
#
# 1. synthesises pcaps of 1,000, 10,000 and 100,000 TLS connections (20 open at a time; each a TCP handshake,
#    a ClientHello with its own SNI, ServerHello, ChangeCipherSpecs, encrypted records both ways, FIN/ACK);
# 2. runs `tlskit dump --html` (ladders for the first 1,000, the table for all) and tshark on each, $RUNS
#    times interleaved, and takes the peak RSS and wall time from /usr/bin/time;
# 3. prints the peak RSS per size, the ratio 100k/1k (bounded: about 1), and tlskit's RSS and time against
#    tshark's on the same file.
#
# Usage: bench/dump-html.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}

need=()
command -v tshark >/dev/null || need+=(tshark)
command -v python3 >/dev/null || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    ./scripts/install-peers "${need[@]}"
fi

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli
tlskit=$(pwd)/target/release/tlskit

work=$(mktemp -d /tmp/tlskit-bench-html.XXXXXX)
trap 'rm -rf "$work"' EXIT

sizes=(1000 10000 100000)
for n in "${sizes[@]}"; do
    python3 - "$n" "$work/c$n.pcap" <<'PY'
import os, struct, sys
n, path = int(sys.argv[1]), sys.argv[2]
out = open(path, "wb", buffering=1 << 20)
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
ts = [1_800_000_000_000_000]  # microseconds

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp
    ts[0] += 10
    out.write(struct.pack("<IIII", ts[0] // 1_000_000, ts[0] % 1_000_000, len(frame), len(frame)) + frame)

def record(ctype, body, version=b"\x03\x03"):
    return bytes([ctype]) + version + struct.pack("!H", len(body)) + body

def handshake(htype, body):
    return bytes([htype]) + struct.pack("!I", len(body))[1:] + body

def ext(etype, body):
    return struct.pack("!HH", etype, len(body)) + body

def client_hello(i):
    host = b"host%d.example" % i
    sni = ext(0, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host)
    versions = ext(43, b"\x02\x03\x04")
    alpn = ext(16, b"\x00\x03\x02h2")
    exts = sni + versions + alpn
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    return record(22, handshake(1, body), b"\x03\x01")

def server_hello():
    exts = ext(43, b"\x03\x04")
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x13\x01" + b"\x00" + struct.pack("!H", len(exts)) + exts
    return record(22, handshake(2, body))

def connection(i):
    """The packets of connection i, in order: (from_client, flags, payload)."""
    ccs = record(20, b"\x01")
    steps = [(True, 0x02, b""), (False, 0x12, b""), (True, 0x10, b"")]
    steps.append((True, 0x18, client_hello(i)))
    steps.append((False, 0x18, server_hello() + ccs + record(23, os.urandom(900))))
    steps.append((True, 0x18, ccs + record(23, os.urandom(80)) + record(23, os.urandom(120))))
    steps.append((False, 0x18, record(23, os.urandom(1200)) + record(23, os.urandom(40))))
    steps.append((True, 0x11, b""))
    steps.append((False, 0x11, b""))
    steps.append((True, 0x10, b""))
    return steps

def emit(i, step, state):
    from_client, flags, payload = step
    c_ip = bytes([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
    s_ip = bytes([192, 0, 2, 1])
    c_port = 1024 + i % 60000
    if from_client:
        packet(c_ip, s_ip, c_port, 443, state[0], state[1], flags, payload)
        state[0] += len(payload) + (1 if flags & 0x03 else 0)
    else:
        packet(s_ip, c_ip, 443, c_port, state[1], state[0], flags, payload)
        state[1] += len(payload) + (1 if flags & 0x03 else 0)

open_at_once = 20
for base in range(0, n, open_at_once):
    batch = [(i, connection(i), [1000, 5000]) for i in range(base, min(base + open_at_once, n))]
    for k in range(max(len(s) for _, s, _ in batch)):
        for i, steps, state in batch:
            if k < len(steps):
                emit(i, steps[k], state)
out.close()
PY
done
ls -l "$work"/*.pcap

measure() {  # label, command...: appends "label wall_s rss_kib" to $work/results
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >/dev/null 2>"$work/err.out" || {
        cat "$work/err.out" >&2
        exit 1
    }
    echo "$label $(cat "$work/time.out")" >>"$work/results"
}

: >"$work/results"
for run in $(seq "$runs"); do
    for n in "${sizes[@]}"; do
        echo "== run $run: $n connections"
        measure "tlskit-$n" "$tlskit" dump --html "$work/r$n.html" "$work/c$n.pcap"
        measure "tshark-$n" tshark -r "$work/c$n.pcap" -q -z flow,tcp,network
    done
done
grep -c '<tr id="row-' "$work/r100000.html" | xargs -I{} echo "rows in the 100,000-connection report: {}"
grep -c '<section class="ladder"' "$work/r100000.html" | xargs -I{} echo "ladders in it: {}"
ls -l "$work"/r*.html

python3 - "$work/results" "${sizes[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
sizes = sys.argv[2:]
def med(label, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == label)
print()
print("%-10s %12s %12s %12s %12s" % ("conns", "tlskit MiB", "tshark MiB", "tlskit s", "tshark s"))
for n in sizes:
    print("%-10s %12.1f %12.1f %12.2f %12.2f" % (n, med("tlskit-" + n, 2) / 1024, med("tshark-" + n, 2) / 1024,
                                                 med("tlskit-" + n, 1), med("tshark-" + n, 1)))
first, last = sizes[0], sizes[-1]
print()
print("tlskit peak RSS %s / %s connections: %.2f (bounded: about 1)" % (last, first,
      med("tlskit-" + last, 2) / med("tlskit-" + first, 2)))
print("tshark peak RSS %s / %s connections: %.2f" % (last, first, med("tshark-" + last, 2) / med("tshark-" + first, 2)))
print("at %s connections: tlskit RSS / tshark RSS %.3f, tlskit time / tshark time %.2f" % (last,
      med("tlskit-" + last, 2) / med("tshark-" + last, 2), med("tlskit-" + last, 1) / med("tshark-" + last, 1)))
PY
