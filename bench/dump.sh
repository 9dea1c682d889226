#!/usr/bin/env bash
# Benchmark of `tlskit dump` against tshark on the same realistic capture, in one run.
#
# 1. nginx on a free loopback port serves files of 4 KiB, 16 KiB and 64 KiB over TLS 1.2 and 1.3;
# 2. curl (SSLKEYLOGFILE set) makes $CONNS connections (Connection: close, so each request is a new TLS
#    connection), with a mix of suites, while tcpdump writes the pcap;
# 3. times `tlskit dump -d -l KEYS` and `tshark -o tls.keylog_file:KEYS -V` on that file (output to /dev/null),
#    `tlskit dump` without keys, and the peak RSS of tlskit on the capture and on one 5x larger (mergecap);
# 4. prints the ratios and writes them, with the commands, into bench/RESULTS.md (section "dump").
#
# Usage: bench/dump.sh [CONNS]   (default 3000). Needs root for tcpdump on lo.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
conns=${1:-3000}

need=()
for tool in nginx curl openssl tcpdump tshark mergecap editcap python3; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    pkgs=()
    for tool in "${need[@]}"; do
        case $tool in mergecap|editcap) pkgs+=(wireshark-common) ;; *) pkgs+=("$tool") ;; esac
    done
    echo "== installing ${pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
fi

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli
tlskit=$repo/target/release/tlskit

work=$(mktemp -d /tmp/tlskit-bench-dump.XXXXXX)
chmod 755 "$work"
server_pid=""
dump_pid=""
cleanup() {
    [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
mkdir -p "$work/www"
for size in 4 16 64; do head -c $((size * 1024)) /dev/urandom | base64 -w 100 | head -c $((size * 1024)) >"$work/www/f$size"; done
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
for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$port/f4" && break; sleep 0.1; done

echo "== capturing $conns connections on 127.0.0.1:$port"
tcpdump -i lo -s 0 -B 65536 -U -w "$work/cap.pcap" "tcp port $port" 2>"$work/tcpdump.log" &
dump_pid=$!
sleep 1
export SSLKEYLOGFILE=$work/keys.log
# Client profiles: (curl options) — TLS 1.3 with its three suites, TLS 1.2 with GCM, ChaCha20 and CBC.
profiles=(
    "--tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256"
    "--tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384"
    "--tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305"
    "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256"
)
per_profile=$(( (conns + ${#profiles[@]} - 1) / ${#profiles[@]} ))
batch=100
for profile in "${profiles[@]}"; do
    done_here=0
    while [ "$done_here" -lt "$per_profile" ]; do
        n=$(( per_profile - done_here < batch ? per_profile - done_here : batch ))
        cfg=$work/urls.cfg
        : >"$cfg"
        for i in $(seq "$n"); do
            sizes=(4 16 64)
            printf 'url = "https://127.0.0.1:%s/f%s?%s"\noutput = "/dev/null"\n' "$port" "${sizes[$((i % 3))]}" "$i" >>"$cfg"
        done
        # shellcheck disable=SC2086
        curl -sk $profile -H 'Connection: close' --config "$cfg"
        done_here=$(( done_here + n ))
    done
done
sleep 1
kill -INT "$dump_pid"
wait "$dump_pid" 2>/dev/null || true
dump_pid=""
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
grep -E 'captured|dropped' "$work/tcpdump.log" || true

# The 5x capture: five copies one after another (timestamps shifted so time runs forward).
span=$(python3 - "$work/cap.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
le = d[:4] == b"\xd4\xc3\xb2\xa1"
f = "<" if le else ">"
at, first, last = 24, None, 0
while at + 16 <= len(d):
    s, us, cap = struct.unpack(f + "III", d[at:at + 12])
    t = s + us / 1e6
    first = t if first is None else first
    last = t
    at += 16 + cap
print(int(last - first) + 2)
PY
)
parts=("$work/cap.pcap")
for i in 1 2 3 4; do
    editcap -t $((i * span)) "$work/cap.pcap" "$work/cap-$i.pcap"
    parts+=("$work/cap-$i.pcap")
done
mergecap -a -F pcap -w "$work/cap5.pcap" "${parts[@]}"

size=$(stat -c %s "$work/cap.pcap")
size5=$(stat -c %s "$work/cap5.pcap")
mb() { python3 -c "print(f'{$1 / 1e6:.1f}')"; }

# timed CMD...: wall seconds and peak RSS (KiB) of CMD with stdout to /dev/null.
timed() {
    local out=$work/time.txt
    /usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$work/stderr.txt" || { echo "failed: $*"; tail -5 "$work/stderr.txt"; }
    local wall rss
    wall=$(grep 'Elapsed (wall clock)' "$out" | awk '{print $NF}' | python3 -c '
import sys
parts = sys.stdin.read().strip().split(":")
print(sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts))))')
    rss=$(grep 'Maximum resident set size' "$out" | awk '{print $NF}')
    echo "$wall $rss"
}

keys=$work/keys.log
echo "== timing on $(mb "$size") MB ($(wc -l <"$keys") key log lines)"
read -r t_dump_d rss_dump_d < <(timed "$tlskit" dump -d -l "$keys" "$work/cap.pcap")
read -r t_tshark rss_tshark < <(timed tshark -r "$work/cap.pcap" -o "tls.keylog_file:$keys" -V)
read -r t_dump rss_dump < <(timed "$tlskit" dump "$work/cap.pcap")
read -r t_dump_l rss_dump_l < <(timed "$tlskit" dump -l "$keys" "$work/cap.pcap")
read -r t_dump5 rss_dump5 < <(timed "$tlskit" dump -d -l "$keys" "$work/cap5.pcap")

report=$(python3 - "$size" "$size5" "$t_dump_d" "$t_tshark" "$t_dump" "$t_dump5" "$rss_dump_d" "$rss_tshark" "$rss_dump" "$rss_dump5" "$t_dump_l" "$rss_dump_l" <<'PY'
import sys
size, size5, td, tt, tn, t5, rd, rt, rn, r5, tl, rl = (float(x) for x in sys.argv[1:])
mbs = lambda s, t: size / 1e6 / t if t > 0 else float("inf")
print(f"| run | wall s | MB/s | peak RSS MiB |")
print(f"|---|---|---|---|")
print(f"| tlskit dump -d -l KEYS | {td:.2f} | {mbs(size, td):.1f} | {rd / 1024:.1f} |")
print(f"| tshark -o tls.keylog_file:KEYS -V | {tt:.2f} | {mbs(size, tt):.1f} | {rt / 1024:.1f} |")
print(f"| tlskit dump (no keys) | {tn:.2f} | {mbs(size, tn):.1f} | {rn / 1024:.1f} |")
print(f"| tlskit dump -l KEYS (decrypts, prints records but not the data) | {tl:.2f} | {mbs(size, tl):.1f} | {rl / 1024:.1f} |")
print(f"| tlskit dump -d -l KEYS, 5x capture | {t5:.2f} | {size5 / 1e6 / t5 if t5 > 0 else 0:.1f} | {r5 / 1024:.1f} |")
print()
print(f"- decrypting: tlskit is **{tt / td:.1f}x** tshark's speed (goal: 10x); decrypting without printing the data: {tt / tl:.1f}x")
print(f"- without keys: **{mbs(size, tn):.0f} MB/s** (goal: 300 MB/s)")
print(f"- peak RSS 5x capture / 1x capture: **{r5 / rd:.2f}** (goal: <= 1, bounded by open connections)")
PY
)
echo
echo "$report"

cmd_text="bench/dump.sh $conns"
section=$(cat <<MD
## dump

Command: \`$cmd_text\` ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)).
Capture: $conns TLS connections over loopback (nginx $(nginx -v 2>&1 | sed 's/.*\///'), curl $(curl --version | head -1 | cut -d' ' -f2),
TLS 1.3 AES-128-GCM / AES-256-GCM / ChaCha20 and TLS 1.2 ECDHE AES-128-GCM / ChaCha20 / AES-128-CBC-SHA256,
files of 4, 16 and 64 KiB, Connection: close), $(mb "$size") MB; the 5x capture ($(mb "$size5") MB) is five copies
appended with mergecap. tshark $(tshark --version | head -1 | awk '{print $3}'). Output to /dev/null in every run.

Commands timed (wall clock and peak RSS from /usr/bin/time -v):
\`tlskit dump -d -l keys.log cap.pcap\`, \`tshark -r cap.pcap -o tls.keylog_file:keys.log -V\`,
\`tlskit dump cap.pcap\`, \`tlskit dump -l keys.log cap.pcap\`, \`tlskit dump -d -l keys.log cap5.pcap\`.

$report
MD
)
python3 - "$repo/bench/RESULTS.md" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmark results\n"
pattern = re.compile(r"^## dump\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
echo
rm -f "$work"/cap-*.pcap "$work/cap5.pcap"
echo "written to bench/RESULTS.md (section dump); capture and keys kept in $work"
trap - EXIT
cleanup
