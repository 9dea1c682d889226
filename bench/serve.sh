#!/usr/bin/env bash
# bench/serve.sh: installs nginx, h2o, caddy, wrk, curl, openssl, python3 (Debian, scripts/install-peers) and builds tlskit (release); the default run (DURATION=5 REPEATS=3, both generators) takes about 15 minutes.
#
#   bench/serve.sh     DURATION=5 REPEATS=3 GEN="wrk tlskit" MODELS="async threads" CONNS=64 THREADS=2 BULK=1 APPEND=1
#
# tlskit serve (each model in MODELS) beside nginx, h2o and caddy on 127.0.0.1, same certificate, same files,
# 2 workers each (nginx worker_processes, h2o num-threads, caddy GOMAXPROCS, tokio worker threads), cells:
#   keepalive  wrk -t2 -c64 on /100b.txt                    tlskit bench --http1.1 --keep-alive
#   resumed    wrk -H 'Connection: close' (it resumes)      tlskit bench --http1.1 --resume
#   full       the same against an instance with resumption off  tlskit bench --http1.1 --new-conn
#   bulk       curl of a 100 MiB file over HTTP/1.1 and HTTP/2 (MB/s)
# GEN chooses the generators (wrk, tlskit or both). Every cell runs REPEATS times, interleaved (each server once,
# then the next server, then the next repeat, the order rotated every repeat); the tables give the median and range
# of req/s and of the server's CPU per request (user+sys from /proc/PID/stat of its processes, before and after),
# and the per-repeat ratio of that CPU to tlskit-async's.
# Like with like: every client offers one version, suite and group (TLS 1.3, TLS_AES_128_GCM_SHA256, X25519; SUITE
# and GROUP change them): wrk and curl through an OpenSSL config file, tlskit bench through its flags. What each
# server negotiated is checked per cell: `openssl s_client` with the same config against every instance at start,
# the servers' own access lines in the resumed and full cells (nginx $ssl_protocol $ssl_cipher $ssl_curve
# $ssl_session_reused, h2o %{ssl.session-reused}x, caddy's request.tls, tlskit serve --json-log; h2o and caddy do
# not log the group), and tlskit bench's own counts. The same access lines count the resumed handshakes, so a
# full cell that resumed, a cell whose servers negotiated different things or that completed no request fails
# (CHECK FAILED, exit status 1); a resumed cell that resumed under 80% of its connections is noted (NOTE).
# Keep-alive instances log nothing (their CPU per request is the serving alone); the logging instances write one
# line per connection, the same work for every server. APPEND=1 appends the dated tables to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

DURATION=${DURATION:-5}
REPEATS=${REPEATS:-${ROUNDS:-3}}
GEN=${GEN:-"wrk tlskit"}
MODELS=${MODELS:-"async threads"}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
BULK=${BULK:-1}
APPEND=${APPEND:-1}
SUITE=${SUITE:-TLS_AES_128_GCM_SHA256}
GROUP=${GROUP:-X25519}
STATS="python3 $repo/bench/serve_stats.py"

./scripts/install-peers nginx h2o caddy wrk curl openssl python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
H2O=$(command -v h2o || echo /usr/bin/h2o)
CADDY=$(command -v caddy || echo /usr/bin/caddy)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q
TLSKIT=$repo/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-serve.XXXXXX)
PIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port NAME PORT: until it accepts a TCP connection (10 s at most)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
    echo "$1 never listened on port $2:" >&2
    tail -n 5 "$W"/logs/* >&2 || true
    exit 1
}

mkdir -p "$W/www" "$W/logs" "$W/caddy"
"$TLSKIT" cert init "$W/pki" >/dev/null
head -c 100 /dev/urandom >"$W/www/100b.txt"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$W/www/100m.bin"
# nginx's and h2o's workers drop root: let them read the docroot and the certificate.
chmod 755 "$W" "$W/www" "$W/pki"
chmod 644 "$W"/www/* "$W"/pki/*
CERT=$W/pki/server.pem
KEY=$W/pki/server-key.pem
# The clients' offer: wrk, curl and s_client read it through OPENSSL_CONF (OpenSSL's system_default section).
cat >"$W/client.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
Ciphersuites = $SUITE
Groups = $GROUP
EOF
export OPENSSL_CONF=$W/client.cnf

# Instances: NAME-ka (keep-alive, no log), NAME (resumption on, access log), NAME-full (resumption off, log).
declare -A port pid_of log_of kind_of
servers=()
add() { # add NAME KIND: three ports for a server
    servers+=("$1")
    local i
    for i in "$1-ka" "$1" "$1-full"; do port[$i]=$(free_port); kind_of[$i]=$2; done
    log_of[$1]=$W/logs/$1.access
    log_of[$1-full]=$W/logs/$1-full.access
    : >"${log_of[$1]}"
    : >"${log_of[$1-full]}"
}

add nginx nginx
cat >"$W/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx.pid;
error_log $W/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    log_format bench '\$ssl_protocol \$ssl_cipher \$ssl_curve \$ssl_session_reused';
    access_log off;
    sendfile on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $CERT; ssl_certificate_key $KEY;
    server { listen 127.0.0.1:${port[nginx-ka]} ssl http2; root $W/www;
             ssl_session_cache shared:SSL:20m; ssl_session_tickets on; }
    server { listen 127.0.0.1:${port[nginx]} ssl http2; root $W/www; access_log ${log_of[nginx]} bench;
             ssl_session_cache shared:SSL2:20m; ssl_session_tickets on; }
    server { listen 127.0.0.1:${port[nginx-full]} ssl http2; root $W/www; access_log ${log_of[nginx-full]} bench;
             ssl_session_cache off; ssl_session_tickets off; }
}
EOF
"$NGINX" -c "$W/nginx.conf" -p "$W" -e "$W/logs/nginx-error.log" -g 'daemon off;' &
PIDS+=($!)
for i in nginx-ka nginx nginx-full; do pid_of[$i]=$!; done

add h2o h2o
h2o_host() { # h2o_host NAME [LOG]: one host block on NAME's port
    cat <<EOF
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
    [ -z "${2:-}" ] || printf '    access-log:\n      path: %s\n      format: "%s"\n' "$2" \
        '%{ssl.protocol-version}x %{ssl.cipher}x %{ssl.session-reused}x'
}
start_h2o() { # start_h2o CONF all|off HOSTS...: resumption is a global setting, hence two processes
    local conf=$1 mode=$2
    shift 2
    { printf 'num-threads: 2\nerror-log: %s\nssl-session-resumption:\n  mode: %s\nhosts:\n' \
        "$W/logs/$conf-error.log" "$mode"; for h in "$@"; do h2o_host "$h" "${log_of[$h]:-}"; done; } >"$W/$conf.conf"
    "$H2O" -c "$W/$conf.conf" >"$W/logs/$conf.out" 2>&1 &
    PIDS+=($!)
    for h in "$@"; do pid_of[$h]=$!; done
}
start_h2o h2o all h2o-ka h2o
start_h2o h2o-full off h2o-full

add caddy caddy
caddy_server() { # caddy_server NAME [LOGGER]
    local logs=""
    [ -n "${2:-}" ] && logs=", \"logs\": {\"default_logger_name\": \"$2\"}"
    printf '"%s": {"listen": ["127.0.0.1:%s"], "protocols": ["h1", "h2"], "automatic_https": {"disable": true},
      "tls_connection_policies": [{"certificate_selection": {"any_tag": ["bench"]}}],
      "routes": [{"handle": [{"handler": "file_server", "root": "%s"}]}]%s}' "$1" "${port[$1]}" "$W/www" "$logs"
}
start_caddy() { # start_caddy CONF TICKETS_DISABLED SERVER...: session tickets are a global setting too
    local conf=$1 off=$2 s sep=""
    shift 2
    {
        printf '{"admin": {"disabled": true}, "logging": {"logs": {'
        printf '"default": {"level": "WARN", "exclude": ["http.log.access"], "writer": {"output": "file", "filename": "%s"}}' \
            "$W/logs/$conf-error.log"
        for s in "$@"; do
            [ -z "${log_of[$s]:-}" ] && continue
            printf ', "%s": {"include": ["http.log.access.%s"], "encoder": {"format": "json"},
              "writer": {"output": "file", "filename": "%s", "roll": false}}' "$s" "$s" "${log_of[$s]}"
        done
        printf '}}, "apps": {"tls": {"certificates": {"load_files": [{"certificate": "%s", "key": "%s", "tags": ["bench"]}]},
          "session_tickets": {"disabled": %s}}, "http": {"servers": {' "$CERT" "$KEY" "$off"
        for s in "$@"; do
            printf '%s' "$sep"
            caddy_server "$s" "$([ -n "${log_of[$s]:-}" ] && echo "$s")"
            sep=", "
        done
        printf '}}}}\n'
    } >"$W/$conf.json"
    HOME=$W/caddy XDG_DATA_HOME=$W/caddy XDG_CONFIG_HOME=$W/caddy GOMAXPROCS=2 \
        "$CADDY" run --config "$W/$conf.json" >"$W/logs/$conf.out" 2>&1 &
    PIDS+=($!)
    for s in "$@"; do pid_of[$s]=$!; done
}
start_caddy caddy false caddy-ka caddy
start_caddy caddy-full true caddy-full

start_tlskit() { # start_tlskit INSTANCE MODEL ARGS...
    local name=$1 model=$2
    shift 2
    TOKIO_WORKER_THREADS=2 "$TLSKIT" serve "$W/www" --listen "127.0.0.1:${port[$name]}" --cert "$CERT" --key "$KEY" \
        --model "$model" "$@" >>"${log_of[$name]:-$W/logs/$name.out}" 2>"$W/logs/$name.err" &
    PIDS+=($!)
    pid_of[$name]=$!
}
for model in $MODELS; do
    add "tlskit-$model" tlskit
    start_tlskit "tlskit-$model-ka" "$model" -q
    start_tlskit "tlskit-$model" "$model" --json-log
    start_tlskit "tlskit-$model-full" "$model" --json-log --session-cache 0 --tickets off
done
read -r first_model _ <<<"$MODELS"
ANCHOR=tlskit-$first_model
for name in "${!port[@]}"; do wait_port "$name" "${port[$name]}"; done

# What each instance negotiates with the clients' offer (the library wrk and curl use, the same config).
echo "== negotiated with openssl s_client (OPENSSL_CONF=client.cnf), per instance"
probes=""
for s in "${servers[@]}"; do
    for i in "$s-ka" "$s" "$s-full"; do
        timeout 10 openssl s_client -brief -connect "127.0.0.1:${port[$i]}" -servername localhost \
            </dev/null >"$W/probe.txt" 2>&1 || true
        probes+="$i=$($STATS probe "$W/probe.txt") "
    done
done
echo "$probes" | tr ' ' '\n' | sed '/^$/d; s/^/   /'
if [ "$(echo "$probes" | tr ' ' '\n' | sed '/^$/d; s/^[^=]*=//' | sort -u | wc -l)" -ne 1 ]; then
    echo "CHECK FAILED: the instances negotiated different things with the same offer" >&2
    exit 1
fi

HZ=$(getconf CLK_TCK)
cpu_ticks() { # user+sys ticks of a process (all its threads) and its children
    local total=0 p
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        [ -r "/proc/$p/stat" ] || continue
        # Fields after the ")" of comm: utime is the 12th, stime the 13th.
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

RESULTS=$W/results.txt
: >"$RESULTS"
# cell SERVER MODE GEN REPEAT: one run; prints a line and appends one to $RESULTS (fields: serve_stats.py summary).
cell() {
    local server=$1 mode=$2 gen=$3 rep=$4 inst
    case $mode in keepalive) inst=$server-ka ;; resumed) inst=$server ;; full) inst=$server-full ;; esac
    local url=https://localhost:${port[$inst]}/100b.txt pid=${pid_of[$inst]} log=${log_of[$inst]:-}
    local offset=0 before after reqs=0 secs=0 cfull=- cres=- catt=- cneg=- errors=0
    [ -n "$log" ] && offset=$(stat -c %s "$log")
    before=$(cpu_ticks "$pid")
    if [ "$gen" = wrk ]; then
        local close=()
        [ "$mode" != keepalive ] && close=(-H 'Connection: close')
        timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "${close[@]}" "$url" \
            >"$W/gen.out" 2>&1 || true
        read -r reqs secs < <(awk '/requests in/ { s = $4; sub(/s,?$/, "", s); print $1, s }' "$W/gen.out") || true
        errors=$(awk '/Socket errors/ { n = 0; for (i = 4; i <= NF; i += 2) n += $i; print n } /Non-2xx/ { print $NF }' \
            "$W/gen.out" | awk '{ n += $1 } END { print n + 0 }')
    else
        local how=--keep-alive
        [ "$mode" = resumed ] && how=--resume
        [ "$mode" = full ] && how=--new-conn
        timeout $((DURATION + 30)) "$TLSKIT" bench --json -q --http1.1 "$how" -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --cacert "$W/pki/ca.pem" --tlsv1.3 --ciphers "$SUITE" --groups "$GROUP" "$url" \
            >"$W/gen.json" 2>"$W/gen.err" || true
        read -r reqs secs cfull cres catt cneg errors < <($STATS bench "$W/gen.json" 2>/dev/null) ||
            { echo "tlskit bench failed: $(head -3 "$W/gen.err")" >&2; }
    fi
    after=$(cpu_ticks "$pid")
    local logged=- resumed=- neg=-
    [ -n "$log" ] && read -r logged resumed neg < <($STATS scan "${kind_of[$inst]}" "$log" "$offset" "${reqs:-0}")
    local rps ms
    rps=$(awk -v n="${reqs:-0}" -v t="${secs:-0}" 'BEGIN { printf "%.1f", (t > 0 ? n / t : 0) }')
    ms=$(awk -v n="${reqs:-0}" -v c=$((after - before)) -v hz="$HZ" 'BEGIN { printf "%.5f", (n > 0 ? c * 1000 / hz / n : 0) }')
    printf '%-15s %-9s %-6s #%s %9s req/s %8s core-ms/req  server: %s resumed of %s logged %s  bench: %s full %s resumed %s\n' \
        "$server" "$mode" "$gen" "$rep" "$rps" "$ms" "$resumed" "$logged" "$neg" "$cfull" "$cres" "$cneg"
    echo "cell $server $mode $gen $rep $rps $ms ${reqs:-0} $logged $resumed $neg $cfull $cres $catt $cneg ${errors:-0}" >>"$RESULTS"
}

bulk() { # bulk SERVER PROTO REPEAT: curl MB/s of the 100 MiB file
    local speed
    speed=$(timeout 120 curl -s "--http$2" --cacert "$W/pki/ca.pem" -o /dev/null -w '%{speed_download}' \
        "https://localhost:${port[$1-ka]}/100m.bin" || echo 0)
    printf '%-15s bulk h%-4s #%s %6.0f MB/s\n' "$1" "$2" "$3" "$(awk -v s="$speed" 'BEGIN { print s / 1e6 }')"
    echo "bulk $1 h$2 $3 $(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }')" >>"$RESULTS"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
versions="$("$NGINX" -v 2>&1 | sed 's/.*: //'), h2o $("$H2O" --version | head -1 | awk '{print $3}'), caddy $("$CADDY" version | awk '{print $1}'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), tlskit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo '+changes')"
echo
echo "== $started, $(nproc) cores, load $load_start; -t$THREADS -c$CONNS -d${DURATION}s x $REPEATS; $versions"
for rep in $(seq "$REPEATS"); do
    # Rotate the servers' order every repeat, so no server always runs right after the same one.
    shift_by=$(((rep - 1) % ${#servers[@]}))
    ordered=("${servers[@]:$shift_by}" "${servers[@]:0:$shift_by}")
    for mode in keepalive resumed full; do
        for gen in $GEN; do
            for server in "${ordered[@]}"; do cell "$server" "$mode" "$gen" "$rep"; done
        done
    done
    if [ "$BULK" = 1 ]; then
        for proto in 1.1 2; do
            for server in "${ordered[@]}"; do bulk "$server" "$proto" "$rep"; done
        done
    fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

status=0
tables=$($STATS summary "$RESULTS" "$ANCHOR") || status=1
section=$(
    cat <<EOF
## serve $started, tlskit $(git rev-parse --short HEAD)

    DURATION=$DURATION REPEATS=$REPEATS GEN="$GEN" MODELS="$MODELS" CONNS=$CONNS THREADS=$THREADS bench/serve.sh

$(nproc) cores, load average $load_start at the start and $load_end at the end; $versions.
Every client offered TLS 1.3 with $SUITE and $GROUP only; s_client's probe of every instance: $(echo "$probes" | tr ' ' '\n' | sed '/^$/d; s/^[^=]*=//' | sort -u | tr '\n' ' ')(the same on all).
Medians and ranges of $REPEATS interleaved repeats of ${DURATION} s; server CPU is user+sys of its processes; the
ratio is that CPU per request divided by $ANCHOR's in the same repeat (above 1: $ANCHOR uses less).
Resumed / connections: counted from the servers' access lines (resumed and full cells only) and by tlskit bench.
$tables
EOF
)
echo
echo "$section"
if [ "$APPEND" = 1 ]; then
    printf '\n%s\n' "$section" >>"$repo/bench/RESULTS.md"
    echo
    echo "appended to bench/RESULTS.md"
fi
exit "$status"
