#!/usr/bin/env bash
# tlskit serve beside nginx, same machine, same run, same certificate, same files.
#
#   bench/serve.sh            (DURATION=10 seconds per wrk run; MODELS="async threads")
#
# Measures, for each server:
#   keep-alive   wrk -t2 -c64, 100-byte file
#   resumed      wrk -t2 -c64 -H 'Connection: close' (wrk resumes its TLS sessions)
#   full         the same against a server with session cache and tickets off
#   bulk         curl, a 100 MiB file, 3 times, HTTP/1.1 and HTTP/2, MB/s
# and the server's CPU time per request (user+sys from /proc/PID/stat of all its
# processes, before and after each run), then prints tlskit/nginx ratios.
# Only 127.0.0.1 is used. Needs root for apt-get when nginx or wrk is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
MODELS=${MODELS:-"async threads"}
CONNS=${CONNS:-64}

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q 2> /tmp/tlskit-bench-build.log || { cat /tmp/tlskit-bench-build.log; exit 1; }
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$W/nginx/nginx.pid" ] && kill "$(cat "$W/nginx/nginx.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$W"
}
trap cleanup EXIT

# --- PKI: ECDSA P-256 CA and server leaf (SAN localhost, 127.0.0.1), as in the baselines.
mkdir -p "$W/pki" "$W/www" "$W/nginx"
(
    cd "$W/pki"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -days 30 -subj "/CN=bench CA" -out ca.pem 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out server.key0 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in server.key0 -out server.key
    openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext \
        -out leaf.pem 2>/dev/null
    cat leaf.pem ca.pem > server.pem
)
head -c 100 /dev/urandom > "$W/www/100b.txt"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$W/www/100m.bin"
# nginx's workers run as www-data: let them read the docroot and certificates.
chmod 755 "$W" "$W/www" "$W/pki"
chmod 644 "$W"/www/* "$W"/pki/*

# --- nginx: 2 workers, as the baselines ran it.
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log $W/nginx/access.log combined buffer=256k;
    sendfile on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $W/pki/server.pem; ssl_certificate_key $W/pki/server.key;
    server { listen 127.0.0.1:18443 ssl http2 reuseport; root $W/www;
             ssl_session_cache shared:SSL:20m; ssl_session_tickets on; }
    server { listen 127.0.0.1:18445 ssl http2 reuseport; root $W/www;
             ssl_session_cache off; ssl_session_tickets off; }
}
EOF
"$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx" -e "$W/nginx/error.log"
sleep 0.5
NGINX_MASTER=$(cat "$W/nginx/nginx.pid")

HZ=$(getconf CLK_TCK)
# user+sys ticks of a process and its children (nginx workers).
cpu_ticks() {
    local total=0 pid
    for pid in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
        [ -r "/proc/$pid/stat" ] || continue
        # Fields after the ")" of comm: utime is the 12th, stime the 13th.
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

RESULTS="$W/results.txt"
: > "$RESULTS"
# run_wrk NAME KIND PID URL [wrk args...]: one wrk run, its req/s and server core-ms/request.
run_wrk() {
    local name=$1 kind=$2 pid=$3 url=$4; shift 4
    local before after out reqs rps ms
    before=$(cpu_ticks "$pid")
    out=$(timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" "$@" "$url" 2>&1 || true)
    after=$(cpu_ticks "$pid")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    reqs=${reqs:-0}; rps=${rps:-0}
    ms=$(awk -v t=$((after - before)) -v hz="$HZ" -v r="$reqs" 'BEGIN { if (r > 0) printf "%.4f", t * 1000 / hz / r; else print "nan" }')
    local errors
    errors=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
    printf '%-16s %-10s %10s req/s %10s requests  %8s core-ms/req  %s\n' "$name" "$kind" "$rps" "$reqs" "$ms" "$errors"
    echo "$name $kind $rps $ms" >> "$RESULTS"
}

# bulk NAME PID URL: curl MB/s for the 100 MiB file, 3 runs each over HTTP/1.1 and HTTP/2 (median).
bulk() {
    local name=$1 pid=$2 url=$3 proto
    for proto in --http1.1 --http2; do
        local speeds=() i
        for i in 1 2 3; do
            speeds+=("$(curl -s "$proto" --cacert "$W/pki/ca.pem" -o /dev/null -w '%{speed_download}' "$url")")
        done
        local median
        median=$(printf '%s\n' "${speeds[@]}" | sort -n | sed -n 2p | awk '{printf "%.0f", $1 / 1e6}')
        printf '%-16s %-10s %s MB/s (median of %s)\n' "$name" "bulk${proto#--http}" "$median" \
            "$(printf '%s ' "${speeds[@]}" | awk '{for (i = 1; i <= NF; i++) printf "%.0f ", $i / 1e6}')"
        echo "$name bulk${proto#--http} $median 0" >> "$RESULTS"
    done
}

start_tlskit() { # start_tlskit PORT ARGS... ; echoes the pid
    "$TLSKIT" serve "$W/www" --listen "127.0.0.1:$1" --cert "$W/pki/server.pem" --key "$W/pki/server.key" \
        "${@:2}" > "$W/tlskit-$1.log" 2>&1 &
    local pid=$!
    for _ in $(seq 50); do grep -q https:// "$W/tlskit-$1.log" 2>/dev/null && break; sleep 0.1; done
    echo "$pid"
}

echo
echo "== $(date -u +%FT%TZ) $(nproc) cores; wrk -t2 -c$CONNS -d${DURATION}s; $("$NGINX" -v 2>&1); tlskit $(git rev-parse --short HEAD)"
run_wrk nginx keepalive "$NGINX_MASTER" https://127.0.0.1:18443/100b.txt
run_wrk nginx resumed "$NGINX_MASTER" https://127.0.0.1:18443/100b.txt -H 'Connection: close'
run_wrk nginx full "$NGINX_MASTER" https://127.0.0.1:18445/100b.txt -H 'Connection: close'
bulk nginx "$NGINX_MASTER" https://localhost:18443/100m.bin

port=18500
for model in $MODELS; do
    name="tlskit-$model"
    pid=$(start_tlskit $port --model "$model")
    PIDS+=("$pid")
    pid_full=$(start_tlskit $((port + 1)) --model "$model" --session-cache 0 --tickets off)
    PIDS+=("$pid_full")
    run_wrk "$name" keepalive "$pid" "https://127.0.0.1:$port/100b.txt"
    run_wrk "$name" resumed "$pid" "https://127.0.0.1:$port/100b.txt" -H 'Connection: close'
    run_wrk "$name" full "$pid_full" "https://127.0.0.1:$((port + 1))/100b.txt" -H 'Connection: close'
    bulk "$name" "$pid" "https://localhost:$port/100m.bin"
    kill "$pid" "$pid_full" 2>/dev/null || true
    port=$((port + 2))
done
resumed_lines=$(grep -c ' resumed' "$W"/tlskit-18500.log || true)
echo "(tlskit-async logged $resumed_lines resumed requests in close mode)"

echo
echo "== ratios (core-ms per request: nginx / tlskit, higher is better for tlskit; goals 1.2 / 1.8 / 1.6;"
echo "   bulk: tlskit MB/s / nginx MB/s, goal >= 1)"
awk '
    { rps[$1" "$2] = $3; ms[$1" "$2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    END {
        split("keepalive resumed full", kinds, " ")
        for (i = 1; i <= n; i++) {
            s = order[i]; if (s == "nginx") continue
            line = sprintf("%-16s", s)
            for (k = 1; k <= 3; k++) {
                a = ms["nginx " kinds[k]]; b = ms[s " " kinds[k]]
                line = line sprintf("  %s %.2fx (req/s %.2fx)", kinds[k], (b > 0 ? a / b : 0),
                                    (rps["nginx " kinds[k]] > 0 ? rps[s " " kinds[k]] / rps["nginx " kinds[k]] : 0))
            }
            for (k = 1; k <= 2; k++) {
                kind = (k == 1 ? "bulk1.1" : "bulk2")
                line = line sprintf("  %s %.2fx", kind, (rps["nginx " kind] > 0 ? rps[s " " kind] / rps["nginx " kind] : 0))
            }
            print line
        }
    }' "$RESULTS"
