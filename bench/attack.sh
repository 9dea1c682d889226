#!/usr/bin/env bash
# bench/attack.sh: installs nginx, wrk, python3 (apt) and Python's h2 (pip) when missing; runs about
# 3 x (7 x (ATTACK+COOL+2) + SOAK+COOL+2) seconds (defaults: ATTACK=40 COOL=15 SOAK=180, ~30 minutes).
#
# Holds tlskit serve (each model in MODELS) and nginx (2 workers) as an attacker would, one attack at a time,
# each server fresh, in the same run, while a well-behaved client fetches a small file over a new TLS connection
# every 100 ms; samples the server's RSS and open descriptors before, during (peak) and after (COOL seconds
# after the attack stopped). Attacks (bench/attack_clients.py, wrk):
#   slowloris      1500 connections whose request header never ends (a header line every 5 s)
#   stalled-h1     1100 connections asking for a 64 MiB file and never reading
#   stalled-h2     170 connections x 128 streams with a zero flow-control window (re-opened when reset)
#   idle-h2-ping   1000 HTTP/2 connections with no request, a PING every 5 s
#   conn-flood     wrk -c200 with a new connection per request (and an IP address as SNI, as wrk sends)
#   stuck-stderr   conn-flood plus non-TLS garbage while the server's stderr is a pipe nobody reads
#   stuck-stdout   conn-flood while stdout (with --trace) / nginx's access log is a pipe nobody reads
#   soak           a mix of all the above at a smaller scale, plus wrk keep-alive load, for SOAK seconds
# Both servers get the same timeouts (TIMEOUT=10 s: send, header, idle/keep-alive). ATTACK_SCALE scales the
# attackers' connection counts. Only 127.0.0.1 is used; every client loop is bounded; it stops by itself.
# Prints one table (attack -> server -> well-behaved requests served %, p50/max ms, RSS and fds
# before/peak/after); RECORD=1 appends it to bench/RESULTS.md with the date and load average.
set -euo pipefail
cd "$(dirname "$0")/.."

ATTACK=${ATTACK:-40}
COOL=${COOL:-15}
SOAK=${SOAK:-180}
TIMEOUT=${TIMEOUT:-10}
MODELS=${MODELS:-"async threads"}
ATTACKS=${ATTACKS:-"slowloris stalled-h1 stalled-h2 idle-h2-ping conn-flood stuck-stderr stuck-stdout soak"}
export ATTACK_SCALE=${ATTACK_SCALE:-1}

servers=$(( $(echo "$MODELS" | wc -w) + 1 ))
attacks=$(echo "$ATTACKS" | wc -w)
echo "== bench/attack.sh: installs nginx, wrk, python3, h2 (pip) if missing; about" \
    "$(( (servers * ((attacks - 1) * (ATTACK + COOL + 2) + SOAK + COOL + 2)) / 60 + 1 )) minutes" \
    "(ATTACK=$ATTACK COOL=$COOL SOAK=$SOAK TIMEOUT=$TIMEOUT ATTACK_SCALE=$ATTACK_SCALE)"

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
python3 -c "import h2" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check h2
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n "$(ulimit -Hn)"

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q 2> /tmp/tlskit-attack-build.log || { cat /tmp/tlskit-attack-build.log; exit 1; }
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-attack.XXXXXX)
SERVER_PIDS=()
HOLDERS=()
stop_servers() {
    for pid in ${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"} ${HOLDERS[@]+"${HOLDERS[@]}"}; do
        { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
    done
    SERVER_PIDS=()
    HOLDERS=()
    sleep 0.5
}
cleanup() {
    stop_servers
    rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/pki" "$W/www" "$W/nginx"
(
    cd "$W/pki"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -days 30 -subj "/CN=attack CA" -out ca.pem 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out server.key0 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in server.key0 -out server.key
    openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext \
        -out leaf.pem 2>/dev/null
    cat leaf.pem ca.pem > server.pem
)
echo "a small file" > "$W/www/small.txt"
truncate -s 64M "$W/www/big.bin"
chmod 755 "$W" "$W/www" "$W/pki"
chmod 644 "$W"/www/* "$W"/pki/*
PORT=18643

# A pipe nobody reads (path in STUCK): a holder keeps its read end open and never reads, so writers block
# once it is full.
stuck_pipe() {
    STUCK=$W/stuck.$1
    rm -f "$STUCK"
    mkfifo "$STUCK"
    sleep 100000 < "$STUCK" > /dev/null 2>&1 &
    HOLDERS+=($!)
}

# start_tlskit MODEL OUT ERR [EXTRA...]: a fresh tlskit serve; SERVER_PIDS, PIDLIST set.
start_tlskit() {
    local model=$1 out=$2 err=$3; shift 3
    "$TLSKIT" serve "$W/www" --listen "127.0.0.1:$PORT" --model "$model" \
        --cert "$W/pki/server.pem" --key "$W/pki/server.key" \
        --send-timeout "$TIMEOUT" --header-timeout "$TIMEOUT" --idle-timeout "$TIMEOUT" \
        --handshake-timeout "$TIMEOUT" --shutdown-grace 1 "$@" > "$out" 2> "$err" &
    SERVER_PIDS+=($!)
    PIDLIST=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "tlskit did not start" >&2
    return 1
}

# start_nginx ACCESS_LOG ERROR_LOG: a fresh nginx, 2 workers, the same timeouts; PIDLIST: master,workers.
start_nginx() {
    local access=$1 error=$2
    cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 65536;
pid $W/nginx/nginx.pid;
error_log $error warn;
events { worker_connections 8192; }
http {
    access_log $access combined;
    sendfile on; tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout ${TIMEOUT}s; send_timeout ${TIMEOUT}s;
    client_header_timeout ${TIMEOUT}s; client_body_timeout ${TIMEOUT}s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $W/pki/server.pem; ssl_certificate_key $W/pki/server.key;
    server { listen 127.0.0.1:$PORT ssl http2 reuseport; root $W/www; }
}
EOF
    "$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx" -e "$error"
    for _ in $(seq 100); do
        [ -s "$W/nginx/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    local master workers
    master=$(cat "$W/nginx/nginx.pid")
    workers=$(pgrep -P "$master" | tr '\n' ' ')
    # shellcheck disable=SC2206
    SERVER_PIDS+=($master $workers)
    PIDLIST=$(echo "$master $workers" | xargs | tr ' ' ',')
}

ROWS=$W/rows.jsonl
: > "$ROWS"
# measure ATTACK SERVER SECS: run the clients; stuck/flood attacks add wrk beside them.
measure() {
    local attack=$1 server=$2 secs=$3 clients=$1 tool=""
    case $attack in
        conn-flood|stuck-stderr|stuck-stdout)
            tool="wrk -t1 -c200 -d${secs}s -H 'Connection: close' https://127.0.0.1:$PORT/small.txt"
            clients=none
            [ "$attack" = stuck-stderr ] && clients=garbage ;;
        soak)
            tool="wrk -t1 -c32 -d${secs}s https://127.0.0.1:$PORT/small.txt" ;;
    esac
    local row
    row=$(ATTACK_CMD=$tool timeout $((secs + COOL + 120)) python3 bench/attack_clients.py "$clients" "$PORT" \
        "$W/pki/ca.pem" "$PIDLIST" "$secs" "$COOL" "$TIMEOUT" 2> "$W/clients.err" | tail -1) || true
    if [ -z "$row" ]; then
        row="{\"attack\": \"$attack\", \"error\": \"$(tail -1 "$W/clients.err" | tr -d '"\\')\"}"
    fi
    local alive=yes
    for pid in ${PIDLIST//,/ }; do kill -0 "$pid" 2>/dev/null || alive=no; done
    echo "$row" | python3 -c "import json,sys; r=json.load(sys.stdin); r.update(attack='$attack', server='$server', alive='$alive'); print(json.dumps(r))" >> "$ROWS"
    tail -1 "$ROWS"
}

for attack in $ATTACKS; do
    secs=$ATTACK
    [ "$attack" = soak ] && secs=$SOAK
    for server in $MODELS nginx; do
        out=/dev/null; err=$W/server.err; access=$W/nginx/access.log; error=$W/nginx/error.log; extra=()
        case $attack in
            stuck-stderr) stuck_pipe err; err=$STUCK; error=$STUCK ;;
            stuck-stdout) stuck_pipe out; out=$STUCK; access=$STUCK; extra=(--trace) ;;
        esac
        echo "== $attack: $server"
        if [ "$server" = nginx ]; then
            start_nginx "$access" "$error"
        else
            start_tlskit "$server" "$out" "$err" ${extra[@]+"${extra[@]}"}
        fi
        measure "$attack" "$server" "$secs"
        stop_servers
    done
done

TABLE=$W/table.md
python3 - "$ROWS" > "$TABLE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| attack | server | well-behaved served | p50 ms | max ms | RSS MB before/peak/after | fds before/peak/after | alive |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if "error" in r:
        print(f"| {r['attack']} | {r['server']} | error: {r['error']} | | | | | {r.get('alive')} |")
        continue
    rss = "/".join(f"{v:.0f}" for v in r["rss_mb"])
    fds = "/".join(str(v) for v in r["fds"])
    p50 = "-" if r["p50_ms"] is None else r["p50_ms"]
    mx = "-" if r["max_ms"] is None else r["max_ms"]
    print(f"| {r['attack']} | {r['server']} | {r['served_pct']}% ({r['served']}/{r['requests']}) | {p50} | {mx} "
          f"| {rss} | {fds} | {r['alive']} |")
PY
echo
cat "$TABLE"
if [ "${RECORD:-0}" = 1 ]; then
    {
        echo
        echo "## attack.sh ($(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
        echo
        echo "\`ATTACK=$ATTACK COOL=$COOL SOAK=$SOAK TIMEOUT=$TIMEOUT ATTACK_SCALE=$ATTACK_SCALE bench/attack.sh\`," \
            "tlskit $(git rev-parse --short HEAD), nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) (2 workers)," \
            "open-file limit $(ulimit -n). Well-behaved client: a new TLS connection and GET of a 13-byte file" \
            "every 100 ms, 5 s allowed, counted while the attack runs; after = $COOL s after it stopped."
        echo
        cat "$TABLE"
    } >> bench/RESULTS.md
    echo "== appended to bench/RESULTS.md"
fi
