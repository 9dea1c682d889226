#!/usr/bin/env bash
# Fleet mode: resumed handshakes through HAProxy (TCP mode, round-robin) across three `tlskit serve`
# sharing Redis, against one `tlskit serve` with its in-memory store behind the same HAProxy set-up.
#
#   bench/fleet.sh            (DURATION=10 seconds per wrk run, ROUNDS=2, CONNS=64)
#
# Each run is wrk -t2 -cCONNS -H 'Connection: close': a new connection per request, and wrk resumes its
# TLS sessions, so a reconnect lands on the next server. Setups, interleaved and repeated ROUNDS times:
#   single    one server, in-memory store (tickets: its own keys; stateful: its own cache)
#   shared    three servers, --session-store redis://  (tickets: the fleet's keys; stateful: Redis)
#   shared1   one server with --session-store redis:// (the store's own cost, without three processes
#             sharing two cores)
#   keyfile   three servers sharing one --ticket-key-file, no Redis (tickets only): the cost of three
#             processes on two cores, whatever the store
#   separate  three servers, each with its own in-memory store (what a fleet without a store gets)
# once with tickets (the default) and once with --tickets off (TLS 1.3 stateful, sessions in Redis).
# Prints, per setup: req/s, the fraction of requests whose handshake resumed (from the access lines),
# resumed handshakes per second, and server CPU (user+sys of the tlskit processes; Redis separately)
# per resumed handshake; then shared/single ratios (goal: within 10 %) and the resumed fractions
# (goal: >= 99 % shared, about one third separate). Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
SETUPS=${SETUPS:-single shared shared1 keyfile separate}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] || scripts/install-peers "${need[@]}"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q 2> /tmp/tlskit-fleet-build.log || { cat /tmp/tlskit-fleet-build.log; exit 1; }
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-fleet.XXXXXX)
PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_all; rm -rf "$W"' EXIT

mkdir -p "$W/www"
"$TLSKIT" cert init "$W/pki" > /dev/null
head -c 100 /dev/urandom > "$W/www/100b.txt"
head -c 80 /dev/urandom > "$W/ticket.key"

HZ=$(getconf CLK_TCK)
ticks() { # user+sys ticks of the given pids
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

SERVER_PIDS=()
start_server() { # start_server PORT ID ARGS...
    "$TLSKIT" serve "$W/www" --listen "127.0.0.1:$1" --cert "$W/pki/server.pem" --key "$W/pki/server-key.pem" \
        --server-id "$2" "${@:3}" > "$W/serve-$1.log" 2>&1 &
    PIDS+=($!)
    SERVER_PIDS+=($!)
    wait_port "$1"
}

start_haproxy() { # start_haproxy PORT BACKEND_PORT...
    local port=$1 i=0 b
    shift
    {
        printf 'global\n    maxconn 4096\ndefaults\n    mode tcp\n    timeout connect 2s\n'
        printf '    timeout client 60s\n    timeout server 60s\nfrontend tls\n    bind 127.0.0.1:%s\n' "$port"
        printf '    default_backend fleet\nbackend fleet\n    balance roundrobin\n'
        for b in "$@"; do printf '    server s%s 127.0.0.1:%s\n' "$i" "$b"; i=$((i + 1)); done
    } > "$W/haproxy-$port.cfg"
    "$HAPROXY" -db -f "$W/haproxy-$port.cfg" > /dev/null 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}

REDIS_PID=
start_redis() {
    redis-server --port 16399 --bind 127.0.0.1 --save '' --appendonly no > /dev/null 2>&1 &
    REDIS_PID=$!
    PIDS+=($!)
    wait_port 16399
}

RESULTS="$W/results.txt"
: > "$RESULTS"
# run SETUP MODE: start the setup, one wrk run through HAProxy, count and measure, stop it.
run() {
    local setup=$1 mode=$2 extra=()
    [ "$mode" = stateful ] && extra=(--tickets off)
    SERVER_PIDS=()
    REDIS_PID=
    case $setup in
        single)
            start_server 18601 single "${extra[@]}"
            start_haproxy 18600 18601 ;;
        shared)
            start_redis
            for i in 1 2 3; do start_server $((18600 + i)) "s$i" --session-store redis://127.0.0.1:16399 "${extra[@]}"; done
            start_haproxy 18600 18601 18602 18603 ;;
        shared1)
            start_redis
            start_server 18601 s1 --session-store redis://127.0.0.1:16399 "${extra[@]}"
            start_haproxy 18600 18601 ;;
        keyfile)
            for i in 1 2 3; do start_server $((18600 + i)) "s$i" --ticket-key-file "$W/ticket.key" "${extra[@]}"; done
            start_haproxy 18600 18601 18602 18603 ;;
        separate)
            for i in 1 2 3; do start_server $((18600 + i)) "s$i" "${extra[@]}"; done
            start_haproxy 18600 18601 18602 18603 ;;
    esac
    # Warm up: sessions exist before the measured run.
    timeout 30 wrk -t2 -c"$CONNS" -d1s -H 'Connection: close' https://127.0.0.1:18600/100b.txt > /dev/null 2>&1 || true
    local before_lines before_resumed before after rbefore rafter out rps
    before_lines=$(cat "$W"/serve-186*.log | grep -c '/100b.txt' || true)
    before_resumed=$(cat "$W"/serve-186*.log | grep -c '/100b.txt.* resumed' || true)
    before=$(ticks "${SERVER_PIDS[@]}")
    rbefore=$(ticks $REDIS_PID)
    out=$(timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" -H 'Connection: close' \
        https://127.0.0.1:18600/100b.txt 2>&1 || true)
    after=$(ticks "${SERVER_PIDS[@]}")
    rafter=$(ticks $REDIS_PID)
    stop_all
    local lines resumed errors
    lines=$(( $(cat "$W"/serve-186*.log | grep -c '/100b.txt' || true) - before_lines ))
    resumed=$(( $(cat "$W"/serve-186*.log | grep -c '/100b.txt.* resumed' || true) - before_resumed ))
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    errors=$(echo "$out" | awk '/Socket errors|Non-2xx/ {printf "%s ", $0}')
    rm -f "$W"/serve-186*.log
    awk -v setup="$setup" -v mode="$mode" -v rps="${rps:-0}" -v lines="$lines" -v resumed="$resumed" \
        -v t=$((after - before)) -v rt=$((rafter - rbefore)) -v hz="$HZ" -v errors="$errors" 'BEGIN {
        frac = lines > 0 ? resumed / lines : 0
        ms = resumed > 0 ? t * 1000 / hz / resumed : 0
        rms = resumed > 0 ? rt * 1000 / hz / resumed : 0
        printf "%-9s %-9s %9.0f req/s  resumed %6.2f %%  %9.0f resumed/s  %.4f server core-ms/resumed (redis %.4f)  %s\n",
            setup, mode, rps, frac * 100, rps * frac, ms, rms, errors
        printf "%s %s %f %f %f\n", setup, mode, rps * frac, ms, frac >> "'"$RESULTS"'"
    }'
}

echo
echo "== $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c$CONNS -d${DURATION}s" \
    "through $("$HAPROXY" -v | head -1 | cut -d' ' -f1-3); $(redis-server --version | cut -d' ' -f1-3); tlskit $(git rev-parse --short HEAD)"
for round in $(seq "$ROUNDS"); do
    for mode in tickets stateful; do
        for setup in $SETUPS; do
            # A key file shares tickets only; stateful sessions stay in each server's memory.
            [ "$setup/$mode" = keyfile/stateful ] && continue
            run "$setup" "$mode"
        done
    done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== shared (3 servers + Redis) / single (1 server, memory), medians of $ROUNDS rounds; goal: within 10 %"
awk '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rate[$1" "$2] = rate[$1" "$2] " " $3; ms[$1" "$2] = ms[$1" "$2] " " $4; frac[$1" "$2] = frac[$1" "$2] " " $5 }
    END {
        for (m = 1; m <= 2; m++) {
            mode = (m == 1 ? "tickets" : "stateful")
            r = median(rate["shared " mode]) / median(rate["single " mode])
            c = median(ms["shared " mode]) / median(ms["single " mode])
            printf "%-9s resumed/s %.2fx  server CPU per resumed handshake %.2fx  resumed: shared %.2f %%, separate %.2f %%, single %.2f %%\n",
                mode, r, c, median(frac["shared " mode]) * 100, median(frac["separate " mode]) * 100,
                median(frac["single " mode]) * 100
            if (("keyfile " mode) in rate)
                printf "%-9s three servers, one key file, no Redis / single: resumed/s %.2fx  server CPU per resumed handshake %.2fx\n",
                    mode, median(rate["keyfile " mode]) / median(rate["single " mode]),
                    median(ms["keyfile " mode]) / median(ms["single " mode])
            if (("shared1 " mode) in rate)
                printf "%-9s one server with Redis / single: resumed/s %.2fx  server CPU per resumed handshake %.2fx\n",
                    mode, median(rate["shared1 " mode]) / median(rate["single " mode]),
                    median(ms["shared1 " mode]) / median(ms["single " mode])
        }
    }' "$RESULTS"
