#!/usr/bin/env bash
# bench/dump.sh: installs nginx, curl, openssl, tcpdump, tshark, wireshark-common, python3, time (Debian, scripts/install-peers) and builds tlskit (release); the default run (3000 + 300 connections, REPEATS=3) takes about 10 minutes.
#
#   bench/dump.sh [CONNS]      CONNS=3000 text-body connections; BIN_CONNS=CONNS/10; REPEATS=3; APPEND=1;
#                              PORT=a free one (nginx's loopback port)
#
# `tlskit dump` against tshark on captures this run makes itself, every time:
# 1. nginx on a free loopback port serves base64 text files of 4, 16 and 64 KiB and random binary files of 64 KiB
#    over TLS 1.2 and 1.3; curl (SSLKEYLOGFILE set) makes CONNS connections to the text files and BIN_CONNS to the
#    binary ones (Connection: close, six suite profiles) while tcpdump writes one capture for each: text.pcap and
#    binary.pcap, and one key log;
# 2. checks that tlskit and tshark decrypted the same application bytes: per connection and direction, the byte
#    count and SHA-256 of `tlskit dump --extract` against tshark's decrypted records (`-T fields -e data.data`
#    with the HTTP dissectors off, so the plaintext is left as data); any difference fails the run (exit 1);
# 3. times, REPEATS times interleaved, like against like: `tlskit dump -d -l KEYS` against `tshark -V` with the
#    key log, and `tlskit dump --json -l KEYS` against `tshark -T fields` with the TLS fields; besides,
#    `tlskit dump` without keys, `-l KEYS` without the data, and the peak RSS on a 5x text capture (mergecap),
#    from the file and streamed through a pipe as `dump -i` reads packets (closed connections linger 3 s);
# 4. prints a dated section (`## dump YYYY-MM-DD HH:MM UTC, tlskit REV`) and appends it to bench/RESULTS.md
#    (APPEND=0: print only). Nothing already there is rewritten.
# Needs root for tcpdump on lo.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
conns=${1:-${CONNS:-3000}}
bin_conns=${BIN_CONNS:-$((conns / 10))}
REPEATS=${REPEATS:-3}
APPEND=${APPEND:-1}

./scripts/install-peers nginx curl openssl tcpdump tshark wireshark-common python3 time

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q
tlskit=$repo/target/release/tlskit

work=$(mktemp -d /tmp/tlskit-bench-dump.XXXXXX)
chmod 755 "$work"
server_pid=""
dump_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$dump_pid" ]; then kill "$dump_pid" 2>/dev/null || true; fi
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

port=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
mkdir -p "$work/www"
python3 - "$work/www" <<'PY'
import base64, os, sys
for kib in (4, 16, 64):  # text bodies: base64 in lines of 100 characters
    text = base64.encodebytes(os.urandom(kib * 1024)).decode().replace("\n", "")
    lines = "\n".join(text[i:i + 100] for i in range(0, len(text), 100))
    open(f"{sys.argv[1]}/f{kib}", "w").write(lines[:kib * 1024])
open(f"{sys.argv[1]}/b64", "wb").write(os.urandom(64 * 1024))  # binary bodies
PY
cat >"$work/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA;
        root $work/www;
    }
}
CONF
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
server_pid=$!
for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$port/f4" && break; sleep 0.1; done

export SSLKEYLOGFILE=$work/keys.log
# Client profiles (curl options): TLS 1.3 with its three suites, TLS 1.2 with GCM, ChaCha20 and CBC.
profiles=(
    "--tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256"
    "--tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384"
    "--tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256"
)
capture() { # capture NAME CONNS FILE...: CONNS connections spread over the profiles, requests round-robin over FILEs
    local name=$1 total=$2
    shift 2
    local files=("$@") per_profile=$(((total + ${#profiles[@]} - 1) / ${#profiles[@]})) profile done_here n i cfg
    echo "== capturing $name: $total connections on 127.0.0.1:$port"
    tcpdump -i lo -s 0 -B 65536 -U -w "$work/$name.pcap" "tcp port $port" 2>"$work/tcpdump-$name.log" &
    dump_pid=$!
    for _ in $(seq 100); do grep -q 'listening on' "$work/tcpdump-$name.log" && break; sleep 0.1; done
    for profile in "${profiles[@]}"; do
        done_here=0
        while [ "$done_here" -lt "$per_profile" ]; do
            n=$((per_profile - done_here < 100 ? per_profile - done_here : 100))
            cfg=$work/urls.cfg
            : >"$cfg"
            for i in $(seq "$n"); do
                printf 'url = "https://127.0.0.1:%s/%s?%s"\noutput = "/dev/null"\n' "$port" "${files[$((i % ${#files[@]}))]}" "$i" >>"$cfg"
            done
            # shellcheck disable=SC2086 # a profile is several options
            timeout 300 curl -sk $profile -H 'Connection: close' --config "$cfg"
            done_here=$((done_here + n))
        done
    done
    # tcpdump writes each packet as it reads it (-U); SIGINT drops what it has not read yet, so stop it only
    # once the file has stopped growing (the last connections' final segments are in), 10 s at most.
    local size=-1 same=0
    for _ in $(seq 100); do
        [ "$(stat -c %s "$work/$name.pcap")" = "$size" ] && same=$((same + 1)) || same=0
        [ "$same" -ge 5 ] && break
        size=$(stat -c %s "$work/$name.pcap")
        sleep 0.1
    done
    kill -INT "$dump_pid"
    wait "$dump_pid" 2>/dev/null || true
    dump_pid=""
    grep -E 'captured|dropped by kernel' "$work/tcpdump-$name.log" | tr '\n' ' '
    echo
}
capture text "$conns" f4 f16 f64
capture binary "$bin_conns" b64
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
keys=$work/keys.log
tshark_tls=(-o "tls.keylog_file:$keys" -d "tcp.port==$port,tls")

# The 5x capture: five copies one after another (timestamps shifted so time runs forward).
span=$(python3 - "$work/text.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
f = "<" if d[:4] == b"\xd4\xc3\xb2\xa1" else ">"
at, first, last = 24, None, 0
while at + 16 <= len(d):
    s, us, cap = struct.unpack(f + "III", d[at:at + 12])
    first = s + us / 1e6 if first is None else first
    last = s + us / 1e6
    at += 16 + cap
print(int(last - first) + 2)
PY
)
parts=("$work/text.pcap")
for i in 1 2 3 4; do
    editcap -t $((i * span)) "$work/text.pcap" "$work/text-$i.pcap"
    parts+=("$work/text-$i.pcap")
done
mergecap -a -F pcap -w "$work/text5.pcap" "${parts[@]}"
rm -f "$work"/text-[1-4].pcap

# --- 2. the same application bytes: tlskit's extracted plaintext against tshark's decrypted records.
status=0
checks=()
for name in text binary; do
    rm -rf "$work/extract-$name"
    "$tlskit" dump -q -l "$keys" --extract "$work/extract-$name" "$work/$name.pcap" >/dev/null
    timeout 1800 tshark -r "$work/$name.pcap" "${tshark_tls[@]}" --disable-protocol http --disable-protocol http2 \
        -T fields -E occurrence=a -E aggregator=, -e tcp.stream -e tcp.srcport -e tcp.dstport -e data.data \
        -Y data >"$work/tshark-data-$name.txt"
    if line=$(python3 - "$work/extract-$name" "$work/tshark-data-$name.txt" "$port" <<'PY'
import hashlib, json, os, sys
extract, fields, port = sys.argv[1], sys.argv[2], sys.argv[3]
# tlskit: one pair of files per connection, keyed by the client's port (one client address here).
ours = {}
for c in json.load(open(os.path.join(extract, "index.json")))["connections"]:
    cport = c["client"].rsplit(":", 1)[1]
    for d in ("c2s", "s2c"):
        ours[(cport, d)] = open(os.path.join(extract, c[d]), "rb").read()
# tshark: the decrypted records of each packet, in capture order, by direction.
theirs = {}
for line in open(fields):
    stream, src, dst, data = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    cport, d = (src, "c2s") if dst == port else (dst, "s2c")
    key = (cport, d)
    theirs[key] = theirs.get(key, b"") + b"".join(bytes.fromhex(h) for h in data.split(",") if h)
theirs = {k: v for k, v in theirs.items() if v}
nonempty = {k: v for k, v in ours.items() if v}
bad = [k for k in set(nonempty) | set(theirs) if nonempty.get(k, b"") != theirs.get(k, b"")]
total = lambda m, d: sum(len(v) for k, v in m.items() if k[1] == d)
digest = lambda m: hashlib.sha256(b"".join(m[k] for k in sorted(m))).hexdigest()[:16]
conns = len({k[0] for k in ours})
summary = (f"{conns} connections; tlskit {total(nonempty, 'c2s'):,} bytes c2s / {total(nonempty, 's2c'):,} s2c "
           f"(sha256 {digest(nonempty)}), tshark {total(theirs, 'c2s'):,} / {total(theirs, 's2c'):,} "
           f"(sha256 {digest(theirs)})")
if bad:
    k = sorted(bad)[0]
    print(f"{summary}: DIFFERENT in {len(bad)} directions, first client port {k[0]} {k[1]}: tlskit "
          f"{len(nonempty.get(k, b''))} bytes, tshark {len(theirs.get(k, b''))}")
    sys.exit(1)
print(f"{summary}: the same in every connection and direction")
PY
    ); then
        echo "== $name: $line"
    else
        echo "CHECK FAILED: $name: ${line:-the comparison failed}" >&2
        status=1
    fi
    checks+=("- $name capture: $line")
done

# --- 3. timing: wall seconds and peak RSS (KiB), REPEATS rounds, every command once per round.
timed() { # timed LABEL CMD...: appends "LABEL wall rss" to $times, stdout to /dev/null
    local label=$1
    shift
    if ! /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt"; then
        echo "failed: $*" >&2
        tail -5 "$work/stderr.txt" >&2
        status=1
        return
    fi
    echo "$label $(cat "$work/time.txt")" >>"$times"
}
times=$work/times.txt
: >"$times"
tls_fields=(-e frame.number -e tcp.stream -e tls.record.content_type -e tls.record.version -e tls.record.length
    -e tls.handshake.type -e tls.handshake.version -e tls.handshake.ciphersuite
    -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str -e tls.alert_message.desc)
for rep in $(seq "$REPEATS"); do
    for name in text binary; do
        cap=$work/$name.pcap
        echo "== round $rep, $name"
        timed "$name:dump-d" "$tlskit" dump -q -d -l "$keys" "$cap"
        timed "$name:tshark-V" tshark -r "$cap" "${tshark_tls[@]}" -V
        timed "$name:dump-json" "$tlskit" dump -q --json -l "$keys" "$cap"
        timed "$name:tshark-fields" tshark -r "$cap" "${tshark_tls[@]}" -T fields "${tls_fields[@]}"
        timed "$name:dump-nokeys" "$tlskit" dump -q "$cap"
        timed "$name:dump-l" "$tlskit" dump -q -l "$keys" "$cap"
    done
    timed "text:dump-stream" sh -c 'cat "$1" | "$2" dump -q -l "$3" /dev/stdin' sh "$work/text.pcap" "$tlskit" "$keys"
done
timed "text5:dump-d" "$tlskit" dump -q -d -l "$keys" "$work/text5.pcap"
timed "text5:dump-stream" sh -c 'cat "$1" | "$2" dump -q -l "$3" /dev/stdin' sh "$work/text5.pcap" "$tlskit" "$keys"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

report=$(python3 - "$times" "$(stat -c %s "$work/text.pcap")" "$(stat -c %s "$work/binary.pcap")" \
    "$(stat -c %s "$work/text5.pcap")" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, wall, rss = line.split()
    runs.setdefault(label, []).append((float(wall), int(rss)))
size = {"text": int(sys.argv[2]), "binary": int(sys.argv[3]), "text5": int(sys.argv[4])}
med = lambda label: statistics.median(w for w, _ in runs[label]) if label in runs else float("nan")
commands = [
    ("dump-d", "`tlskit dump -d -l KEYS`"),
    ("tshark-V", "`tshark -o tls.keylog_file:KEYS -d tcp.port==P,tls -V`"),
    ("dump-json", "`tlskit dump --json -l KEYS`"),
    ("tshark-fields", "`tshark -o tls.keylog_file:KEYS -d tcp.port==P,tls -T fields -e <11 TLS fields>`"),
    ("dump-nokeys", "`tlskit dump` (no keys)"),
    ("dump-l", "`tlskit dump -l KEYS` (decrypts, data not printed)"),
    ("dump-stream", "`cat CAPTURE | tlskit dump -l KEYS /dev/stdin` (streamed, as `dump -i`)"),
]
print("| capture | command | wall s median (range) | MB/s (median) | peak RSS MiB (max) |")
print("|---|---|---|---|---|")
for cap in ("text", "binary", "text5"):
    for key, text in commands:
        label = f"{cap}:{key}"
        if label not in runs:
            continue
        walls = [w for w, _ in runs[label]]
        spread = f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else "one run"
        mbs = size[cap] / 1e6 / med(label) if med(label) > 0 else float("inf")
        rss = max(r for _, r in runs[label]) / 1024
        print(f"| {cap} {size[cap] / 1e6:.1f} MB | {text} | {med(label):.2f} ({spread}) | {mbs:.1f} | {rss:.1f} |")
print()
for cap in ("text", "binary"):
    pairs = [(f"{cap}:tshark-V", f"{cap}:dump-d", "`-d` against `tshark -V`"),
             (f"{cap}:tshark-fields", f"{cap}:dump-json", "`--json` against `tshark -T fields`")]
    for them, us, what in pairs:
        ratios = sorted(a[0] / b[0] for a, b in zip(runs[them], runs[us]) if b[0] > 0)
        print(f"- {cap}: {what}: tlskit is **{statistics.median(ratios):.1f}x** tshark's speed "
              f"(per round {ratios[0]:.1f}–{ratios[-1]:.1f}x)")
print(f"- without keys: **{size['text'] / 1e6 / med('text:dump-nokeys'):.0f} MB/s** on the text capture")
r1 = max(r for _, r in runs["text:dump-d"])
r5 = max(r for _, r in runs.get("text5:dump-d", [(0, 0)]))
print(f"- peak RSS with -d, 5x text capture / 1x: **{r5 / r1:.2f}** (bounded by open connections)")
s1 = max(r for _, r in runs["text:dump-stream"])
s5 = max(r for _, r in runs.get("text5:dump-stream", [(0, 0)]))
print(f"- streamed through a pipe (closed connections lingering 3 s of capture time): peak RSS "
      f"{s1 / 1024:.1f} MiB on the text capture, {s5 / 1024:.1f} MiB on 5x: **{s5 / s1:.2f}**")
PY
)

section=$(
    cat <<EOF
## dump $started, tlskit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with uncommitted changes)')

    CONNS=$conns BIN_CONNS=$bin_conns REPEATS=$REPEATS bench/dump.sh

$(nproc) cores, load average $load_start at the start and $load_end at the end. Captures made by this run: nginx
$(nginx -v 2>&1 | sed 's/.*\///'), curl $(curl --version | head -1 | cut -d' ' -f2), Connection: close, TLS 1.3 AES-128-GCM / AES-256-GCM /
ChaCha20 and TLS 1.2 ECDHE AES-128-GCM / ChaCha20 / AES-128-CBC-SHA256; text: $conns connections, base64 bodies of
4, 16 and 64 KiB; binary: $bin_conns connections, random 64 KiB bodies; text5: the text capture five times
(editcap -t, mergecap -a). tshark $(tshark --version | head -1 | awk '{print $3}'). Output to /dev/null; wall clock and peak
RSS from /usr/bin/time; $REPEATS rounds, each command once per round.

Decrypted application bytes, per connection and direction (\`tlskit dump --extract\` against
\`tshark -T fields -e data.data\` with the HTTP dissectors off):
$(printf '%s\n' "${checks[@]}")

$report
EOF
)
echo
echo "$section"
if [ "$APPEND" = 1 ]; then
    printf '\n%s\n' "$section" >>"$repo/bench/RESULTS.md"
    echo
    echo "appended to bench/RESULTS.md"
fi
rm -f "$work/text5.pcap"
rm -rf "$work"/extract-*
echo "captures and key log kept in $work"
trap - EXIT
cleanup
exit "$status"
