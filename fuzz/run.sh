#!/usr/bin/env bash
# Runs every cargo-fuzz target (tlskit-wire's, and the listing's query parser) for a bounded time and prints, per target, the executions and the
# crashes found. Usage: fuzz/run.sh [SECONDS_PER_TARGET] (default 60). Exit status 1 if any target crashed.
#
# cargo fuzz needs nightly-only flags; with no nightly toolchain we use the installed stable one with
# RUSTC_BOOTSTRAP=1. Seeds come from the repository's tests/captures, as the tests find them.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-${FUZZ_SECONDS:-60}}
targets=(record capture decrypt h2frame listing_query http compression)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    toolchain=()
    export RUSTC_BOOTSTRAP=1
fi

captures=../tests/captures

mkdir -p corpus/record corpus/capture corpus/decrypt corpus/h2frame corpus/listing_query corpus/http corpus/compression logs
# Listing queries: the links a listing writes, and a few a person might type.
for q in 'sort=size&order=desc' 'sort=time' 'order=asc&sort=name' 'sort=size&sort=time&order=asc' 'x=1&&=&sort='; do
    printf '%s' "$q" >"corpus/listing_query/$(printf '%s' "$q" | tr -c 'a-z0-9' '_')"
done
if [ -d "$captures" ]; then
    # Capture reader: real pcap, pcapng (with a Decryption Secrets Block) and odd link types.
    for f in "$captures"/ssldump-samples/*.pcap "$captures"/derived-dsb/*.pcapng "$captures"/illustrated-tls1*/capture.pcap \
        "$captures"/sslv2-sslv3-parse-only/*.pcap "$captures"/scapy/tls_new-session-ticket.pcap; do
        [ -f "$f" ] && cp "$f" "corpus/capture/$(echo "$f" | tr '/' '_')"
    done
    # Record decoder: each capture's TCP payloads in the target's chunk format ([u16 LE dir|len][bytes]...).
    python3 - "$captures" corpus/record <<'PY'
import glob, os, struct, sys
captures, out = sys.argv[1], sys.argv[2]
for path in glob.glob(os.path.join(captures, "ssldump-samples", "*.pcap")) + \
        glob.glob(os.path.join(captures, "snet-keylog-matrix", "TLS1_2_*CCM*_auth.pcap")):
    data = open(path, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        continue
    at, client, chunks = 24, None, []
    while at + 16 <= len(data):
        caplen = struct.unpack("<I", data[at + 8:at + 12])[0]
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 15) * 4
        tcp = frame[14 + ihl:]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload:
            continue
        src = frame[26:30] + tcp[0:2]
        client = client or src
        for i in range(0, len(payload), 0x7fff):
            piece = payload[i:i + 0x7fff]
            chunks.append(struct.pack("<H", len(piece) | (0 if src == client else 0x8000)) + piece)
    name = os.path.basename(path).replace(".pcap", "")
    open(os.path.join(out, name), "wb").write(b"".join(chunks))
PY
fi

# HTTP layer: an HTTP/1.1 exchange (chunked) and an HTTP/2 preface + SETTINGS + HEADERS, in the target's
# chunk format; compression: two DEFLATE records of one stream.
python3 - corpus <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def chunk(server, b):
    return struct.pack("<H", len(b) | (0x8000 if server else 0)) + b
h1 = chunk(0, b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") + \
    chunk(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
open(out + "/http/h1", "wb").write(b"\x02" + h1)
h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 16, 0]) + \
    bytes([0, 0, 3, 1, 5, 0, 0, 0, 1, 0x82, 0x84, 0x87])
open(out + "/http/h2", "wb").write(b"\x03" + chunk(0, h2) + chunk(1, bytes([0, 0, 1, 1, 5, 0, 0, 0, 1, 0x88])))
z = zlib.compressobj()
records = [z.compress(b"GET / HTTP/1.1\r\n") + z.flush(zlib.Z_SYNC_FLUSH), z.compress(b"Host: a\r\n\r\n") + z.flush(zlib.Z_SYNC_FLUSH)]
open(out + "/compression/two", "wb").write(b"".join(struct.pack("<H", len(r)) + r for r in records))
PY

declare -A execs crashes
status=0
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    log=logs/$target.log
    set +e
    cargo "${toolchain[@]}" fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    execs[$target]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes[$target]=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null | wc -l)
    if [ "$rc" -ne 0 ] || [ "${crashes[$target]}" -ne 0 ]; then
        status=1
        tail -30 "$log"
    fi
done

echo
printf '%-10s %14s %8s\n' target executions crashes
for target in "${targets[@]}"; do
    printf '%-10s %14s %8s\n' "$target" "${execs[$target]:-?}" "${crashes[$target]}"
done
exit $status
