#!/usr/bin/env bash
# tlskit bench beside wrk, h2load and oha, against one nginx, in one run.
#
#   bench/loadgen.sh          (DURATION=10 seconds per run, ROUNDS=3, CONNS=64, THREADS=2, STREAMS=10)
#
# Measures, each generator in turn and the whole sequence ROUNDS times (interleaved):
#   h1   keep-alive HTTP/1.1, 100-byte file: wrk, h2load --h1, oha, tlskit bench --http1.1
#   h2   HTTP/2 with STREAMS concurrent streams per connection: h2load -m, tlskit bench --streams
# req/s, and the generator's own CPU per request: user+sys of the generator process, from the
# cutime/cstime fields of this shell's /proc/PID/stat before and after it (the shell waits for
# it, so its whole CPU lands there), and nginx's core-ms per request from /proc of its processes.
# Prints the median of the per-round ratios tlskit/anchor (req/s: higher is better for tlskit;
# CPU per request: lower is better). Only 127.0.0.1 is used. oha comes from crates.io
# (`cargo install oha --locked`, a few minutes the first time; SKIP_OHA=1 runs without it).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-10}

./scripts/install-peers nginx wrk nghttp2-client curl python3
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v oha >/dev/null && [ "${SKIP_OHA:-0}" != 1 ]; then
    echo "== installing oha (cargo install oha --locked)"
    cargo install oha --locked -q
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-loadgen.XXXXXX)
cleanup() {
    [ -f "$W/nginx/nginx.pid" ] && kill "$(cat "$W/nginx/nginx.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf "$W"
}
trap cleanup EXIT

# A free loopback port (other benchmarks may run beside this one), or PORT.
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$W/www" "$W/nginx"
"$TLSKIT" cert init "$W/pki" > /dev/null
head -c 100 /dev/urandom > "$W/www/100b.txt"
chmod 755 "$W" "$W/www" "$W/pki"
chmod 644 "$W"/www/* "$W"/pki/*
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on; tcp_nodelay on;
    keepalive_requests 10000000; keepalive_timeout 75s;
    http2_max_concurrent_streams 128;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $W/pki/server.pem; ssl_certificate_key $W/pki/server-key.pem;
    ssl_session_cache shared:SSL:20m; ssl_session_tickets on;
    server { listen 127.0.0.1:$PORT ssl http2; root $W/www; }
}
EOF
"$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx" -e "$W/nginx/error.log"
for _ in $(seq 50); do [ -s "$W/nginx/nginx.pid" ] && break; sleep 0.1; done
NGINX_MASTER=$(cat "$W/nginx/nginx.pid")
URL=https://localhost:$PORT/100b.txt
CA=$W/pki/ca.pem

HZ=$(getconf CLK_TCK)
# user+sys ticks of a process and its children (nginx's workers).
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}
# cutime+cstime of this shell ($$, also inside $(...)): the CPU of every descendant it has waited for.
children_ticks() {
    sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'
}

RESULTS=$W/results.txt
: > "$RESULTS"
# measure KIND GEN ROUND PARSER CMD...: one generator run; PARSER prints "requests seconds" from its output.
measure() {
    local kind=$1 gen=$2 round=$3 parser=$4; shift 4
    local before after nb na out reqs secs
    nb=$(cpu_ticks "$NGINX_MASTER")
    before=$(children_ticks)
    out=$(timeout $((DURATION + 60)) "$@" 2>&1 || true)
    after=$(children_ticks)
    na=$(cpu_ticks "$NGINX_MASTER")
    read -r reqs secs < <(echo "$out" | "$parser" 2>/dev/null) || true
    reqs=${reqs:-0}; secs=${secs:-0}
    awk -v k="$kind" -v g="$gen" -v r="$round" -v n="$reqs" -v s="$secs" -v c=$((after - before)) \
        -v ng=$((na - nb)) -v hz="$HZ" 'BEGIN {
            rps = (s > 0 ? n / s : 0); cpu = (n > 0 ? c * 1000 / hz / n : 0); ncpu = (n > 0 ? ng * 1000 / hz / n : 0)
            printf "%-3s %-7s round %s %10.0f req/s  %9d requests  generator %.4f ms/req (%.0f%% of a core)  nginx %.4f ms/req\n",
                k, g, r, rps, n, cpu, (s > 0 ? c * 100 / hz / s : 0), ncpu
            printf "%s %s %s %.2f %.6f %.6f\n", k, g, r, rps, cpu, ncpu >> "'"$RESULTS"'"
        }'
    if [ "$reqs" = 0 ]; then echo "$out" | tail -5 | sed 's/^/    /'; fi
}

parse_wrk() { awk '/requests in/ { n = $1; s = $4; sub(/s,?$/, "", s); print n, s }'; }
parse_h2load() {
    awk '/^finished in/ { s = $3; sub(/s,$/, "", s) } /^requests:/ { n = $8 } END { print n, s }'
}
parse_oha() {
    python3 -c 'import json, sys
d = json.load(sys.stdin)
n = sum(d.get("statusCodeDistribution", {}).values())
print(n, d["summary"]["total"])'
}
parse_tlskit() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["requests"], d["duration_s"])'; }

echo
echo "== $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$NGINX" -v 2>&1);" \
     "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(h2load --version | head -1); $(command -v oha >/dev/null && oha --version); tlskit $(git rev-parse --short HEAD)"
echo "   -c$CONNS -t$THREADS, ${DURATION}s per run, $ROUNDS rounds, $URL"
for round in $(seq "$ROUNDS"); do
    measure h1 wrk "$round" parse_wrk wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$URL"
    measure h1 h2load "$round" parse_h2load h2load --h1 -t"$THREADS" -c"$CONNS" -D"$DURATION" "$URL"
    command -v oha >/dev/null && measure h1 oha "$round" parse_oha oha -z "${DURATION}s" -c "$CONNS" --no-tui --insecure --http-version 1.1 \
        --output-format json "$URL"
    measure h1 tlskit "$round" parse_tlskit "$TLSKIT" bench --json -q --http1.1 -t"$THREADS" -c"$CONNS" \
        -d"${DURATION}s" --cacert "$CA" "$URL"
    measure h2 h2load "$round" parse_h2load h2load -t"$THREADS" -c"$CONNS" -m"$STREAMS" -D"$DURATION" "$URL"
    measure h2 tlskit "$round" parse_tlskit "$TLSKIT" bench --json -q --http2 --streams "$STREAMS" -t"$THREADS" \
        -c"$CONNS" -d"${DURATION}s" --cacert "$CA" "$URL"
done

echo
echo "== ratios tlskit / anchor, median of the $ROUNDS same-round ratios (req/s: >= 1 is the goal;"
echo "   generator CPU per request: <= 1 is the goal)"
awk '
    { rps[$1" "$2" "$3] = $4; cpu[$1" "$2" "$3] = $5; rounds[$3] = 1 }
    function median(arr, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
        return (n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2)
    }
    END {
        split("h1:wrk h1:h2load h1:oha h2:h2load", pairs, " ")
        for (p = 1; p <= 4; p++) {
            split(pairs[p], kg, ":"); k = kg[1]; g = kg[2]; n = 0
            delete rr; delete cr
            for (r in rounds) {
                a = k" "g" "r; b = k" tlskit "r
                if (rps[a] > 0 && rps[b] > 0) { n++; rr[n] = rps[b] / rps[a]; cr[n] = (cpu[a] > 0 ? cpu[b] / cpu[a] : 0) }
            }
            if (n == 0) { printf "%-3s vs %-7s no data\n", k, g; continue }
            printf "%-3s vs %-7s req/s %.2fx   CPU per request %.2fx   (%d rounds)\n", k, g, median(rr, n), median(cr, n), n
        }
    }' "$RESULTS"
