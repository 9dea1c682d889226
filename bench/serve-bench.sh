#!/usr/bin/env bash
# The server comparison driven by two generators: wrk and tlskit bench, side by side, in one run.
#
#   bench/serve-bench.sh      (DURATION=5 seconds per run, ROUNDS=2, CONNS=64, THREADS=2)
#
# Servers: nginx, h2o, caddy and tlskit serve (async), each also as a second instance with
# session cache and tickets off ("-full"; caddy has no such switch). For every server:
#   keepalive  wrk -t2 -c64                            tlskit bench --http1.1 --keep-alive
#   resumed    wrk -H 'Connection: close' (it resumes)  tlskit bench --http1.1 --resume
#   full       the same against the -full instance      tlskit bench --http1.1 --new-conn
# Each line gives req/s and the server's CPU per request (user+sys from /proc/PID/stat of its
# processes, before and after), and for tlskit bench the handshakes it counted: full and resumed,
# and resumptions attempted. wrk cannot say what its reconnections were; tlskit bench can.
# Cells are interleaved (every server once per generator, then the next mode), ROUNDS times.
# Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}

./scripts/install-peers nginx h2o caddy wrk python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
H2O=$(command -v h2o || echo /usr/bin/h2o)
CADDY=$(command -v caddy || echo /usr/bin/caddy)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-serve-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port NAME PORT
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
    echo "$1 never listened on port $2:" >&2
    tail -5 "$W"/logs/"$1"* >&2 || true
    exit 1
}

mkdir -p "$W/www" "$W/logs" "$W/caddy"
"$TLSKIT" cert init "$W/pki" > /dev/null
head -c 100 /dev/urandom > "$W/www/100b.txt"
chmod 755 "$W" "$W/www" "$W/pki"
chmod 644 "$W"/www/* "$W"/pki/*
CERT=$W/pki/server.pem
KEY=$W/pki/server-key.pem
declare -A port pid_of

# nginx: 2 workers, one server block each way.
port[nginx]=$(free_port)
port[nginx-full]=$(free_port)
cat > "$W/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx.pid;
error_log $W/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $CERT; ssl_certificate_key $KEY;
    server { listen 127.0.0.1:${port[nginx]} ssl http2; root $W/www;
             ssl_session_cache shared:SSL:20m; ssl_session_tickets on; }
    server { listen 127.0.0.1:${port[nginx-full]} ssl http2; root $W/www;
             ssl_session_cache off; ssl_session_tickets off; }
}
EOF
"$NGINX" -c "$W/nginx.conf" -p "$W" -e "$W/logs/nginx-error.log" -g 'daemon off;' &
pid_of[nginx]=$!
pid_of[nginx-full]=${pid_of[nginx]}
PIDS+=("${pid_of[nginx]}")

# h2o: 2 threads; resumption is a global setting, so the second instance has it off.
start_h2o() { # start_h2o NAME all|off
    port[$1]=$(free_port)
    cat > "$W/$1.conf" <<EOF
num-threads: 2
error-log: $W/logs/$1-error.log
ssl-session-resumption:
  mode: $2
hosts:
  "127.0.0.1:${port[$1]}":
    listen:
      port: ${port[$1]}
      host: 127.0.0.1
      ssl:
        certificate-file: $CERT
        key-file: $KEY
        minimum-version: TLSv1.2
    paths:
      /:
        file.dir: $W/www
EOF
    "$H2O" -c "$W/$1.conf" > "$W/logs/$1.out" 2>&1 &
    pid_of[$1]=$!
    PIDS+=("${pid_of[$1]}")
}
start_h2o h2o all
start_h2o h2o-full off

# caddy: GOMAXPROCS=2; Go's crypto/tls resumes by ticket and cannot be told not to.
port[caddy]=$(free_port)
cat > "$W/Caddyfile" <<EOF
{
    auto_https off
    admin off
}
https://localhost:${port[caddy]} {
    tls $CERT $KEY
    root * $W/www
    file_server
}
EOF
HOME=$W/caddy XDG_DATA_HOME=$W/caddy XDG_CONFIG_HOME=$W/caddy GOMAXPROCS=2 \
    "$CADDY" run --config "$W/Caddyfile" --adapter caddyfile > "$W/logs/caddy.out" 2>&1 &
pid_of[caddy]=$!
PIDS+=("${pid_of[caddy]}")

# tlskit serve, async model, 2 runtime workers.
start_tlskit() { # start_tlskit NAME ARGS...
    local name=$1; shift
    port[$name]=$(free_port)
    TOKIO_WORKER_THREADS=2 "$TLSKIT" serve "$W/www" --listen "127.0.0.1:${port[$name]}" --cert "$CERT" --key "$KEY" \
        -q "$@" > "$W/logs/$name.log" 2>&1 &
    pid_of[$name]=$!
    PIDS+=("${pid_of[$name]}")
}
start_tlskit tlskit
start_tlskit tlskit-full --session-cache 0 --tickets off
for name in "${!port[@]}"; do wait_port "$name" "${port[$name]}"; done

HZ=$(getconf CLK_TCK)
cpu_ticks() { # user+sys ticks of a process and its children
    local total=0 p
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

RESULTS=$W/results.txt
: > "$RESULTS"
# cell SERVER MODE GEN ROUND: one run; appends "server mode gen round rps server_ms full resumed attempted".
cell() {
    local server=$1 mode=$2 gen=$3 round=$4 target=$1
    [ "$mode" = full ] && target=$server-full
    [ -n "${port[$target]:-}" ] || return 0
    local url=https://localhost:${port[$target]}/100b.txt pid=${pid_of[$target]}
    local before after out reqs secs full=- resumed=- attempted=-
    before=$(cpu_ticks "$pid")
    if [ "$gen" = wrk ]; then
        local close=()
        [ "$mode" != keepalive ] && close=(-H 'Connection: close')
        out=$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "${close[@]}" "$url" 2>&1 || true)
        read -r reqs secs < <(echo "$out" | awk '/requests in/ { s = $4; sub(/s,?$/, "", s); print $1, s }') || true
    else
        local how=--keep-alive
        [ "$mode" = resumed ] && how=--resume
        [ "$mode" = full ] && how=--new-conn
        out=$(timeout $((DURATION + 30)) "$TLSKIT" bench --json -q --http1.1 "$how" -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --cacert "$W/pki/ca.pem" "$url" 2>&1 || true)
        read -r reqs secs full resumed attempted < <(echo "$out" | python3 -c 'import json, sys
d = json.load(sys.stdin); h = d["handshakes"]
print(d["requests"], d["duration_s"], h["full"] + h["hrr"], h["resumed"], h["resumption_attempted"])' 2>/dev/null) || true
    fi
    after=$(cpu_ticks "$pid")
    reqs=${reqs:-0}; secs=${secs:-0}
    awk -v s="$server" -v m="$mode" -v g="$gen" -v r="$round" -v n="$reqs" -v t="$secs" -v c=$((after - before)) \
        -v hz="$HZ" -v f="$full" -v re="$resumed" -v a="$attempted" 'BEGIN {
            rps = (t > 0 ? n / t : 0); ms = (n > 0 ? c * 1000 / hz / n : 0)
            hs = (f == "-" ? "" : sprintf("  handshakes %s full / %s resumed (%s attempted)", f, re, a))
            printf "%-7s %-9s %-6s round %s %9.0f req/s  server %.4f core-ms/req%s\n", s, m, g, r, rps, ms, hs
            printf "%s %s %s %s %.2f %.6f %s %s %s\n", s, m, g, r, rps, ms, f, re, a >> "'"$RESULTS"'"
        }'
}

echo
echo "== $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); -t$THREADS -c$CONNS -d${DURATION}s;" \
     "$("$NGINX" -v 2>&1 | sed 's/.*: //'), h2o $("$H2O" --version | head -1 | awk '{print $3}')," \
     "caddy $("$CADDY" version | awk '{print $1}'), tlskit $(git rev-parse --short HEAD)"
for round in $(seq "$ROUNDS"); do
    for mode in keepalive resumed full; do
        for gen in wrk tlskit; do
            for server in nginx h2o caddy tlskit; do cell "$server" "$mode" "$gen" "$round"; done
        done
    done
done

echo
echo "== per server and mode, medians over $ROUNDS rounds: req/s by wrk and by tlskit bench, the server's"
echo "   core-ms per request under each, and what tlskit bench saw of the handshakes (full / resumed)"
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
cells = {}
for server, mode, gen, _round, rps, ms, full, resumed, attempted in rows:
    cells.setdefault((server, mode, gen), []).append((float(rps), float(ms), full, resumed, attempted))
def med(values):
    return statistics.median(values) if values else float("nan")
for mode in ("keepalive", "resumed", "full"):
    for server in ("nginx", "h2o", "caddy", "tlskit"):
        w, t = cells.get((server, mode, "wrk"), []), cells.get((server, mode, "tlskit"), [])
        if not w and not t:
            continue
        hs = ""
        if t:
            full = sum(int(x[2]) for x in t)
            resumed = sum(int(x[3]) for x in t)
            attempted = sum(int(x[4]) for x in t)
            hs = f"  tlskit bench: {full} full / {resumed} resumed ({attempted} attempted)"
        ratio = med([x[0] for x in t]) / med([x[0] for x in w]) if w and t and med([x[0] for x in w]) > 0 else float("nan")
        print(f"{server:<7} {mode:<9} wrk {med([x[0] for x in w]):>8.0f} req/s ({med([x[1] for x in w]):.4f} ms)"
              f"  tlskit bench {med([x[0] for x in t]):>8.0f} req/s ({med([x[1] for x in t]):.4f} ms)  ratio {ratio:.2f}{hs}")
EOF
