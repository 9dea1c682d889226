#!/usr/bin/env bash
# Makes the DTLS captures of this directory: openssl s_client and s_server over loopback UDP, captured by
# tcpdump, with the client's key log. Needs root (tcpdump) and openssl 3.
#   ./make.sh [NAME...]   (in this directory; makes the named captures, default all; overwrites NAME.pcap NAME.keys)
# rsa2048.key is the server key of the RSA captures (made once, kept): dtls1_2-rsa.pcap (static RSA key
# exchange, extended master secret) has no key log and is decrypted with that key (`tlskit dump -k`).
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# Waits (up to 10 s) until FILE contains TEXT.
wait_for() {
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=localhost \
    -keyout "$work/ec.key" -out "$work/ec.pem" 2>/dev/null
[ -f rsa2048.key ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.key 2>/dev/null
openssl req -x509 -key rsa2048.key -days 3650 -subj /CN=localhost -out "$work/rsa.pem" 2>/dev/null
cp rsa2048.key "$work/rsa.key"

# name, openssl version flag, cipher list, port, server key type; a name ending in -reneg renegotiates: s_server's
# `r` sends a HelloRequest, the second handshake runs under epoch 1, then a line each way under epoch 2 (s_client's
# `R`, a client-initiated renegotiation, fails in OpenSSL 3.0's DTLS client with "no renegotiation")
specs=(
    "dtls1_2 -dtls1_2 ECDHE-ECDSA-AES128-GCM-SHA256 24433 ec"
    "dtls1_0 -dtls1 ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0 24434 ec"
    "dtls1_2-cbc -dtls1_2 ECDHE-RSA-AES128-SHA 24435 rsa"
    "dtls1_2-rsa -dtls1_2 AES256-GCM-SHA384 24436 rsa"
    "dtls1_2-reneg -dtls1_2 ECDHE-RSA-AES128-GCM-SHA256 22436 rsa"
)
for spec in "${specs[@]}"; do
    read -r name flag cipher port kind <<< "$spec"
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
    rm -f "$name.pcap" "$name.keys"
    tcpdump --immediate-mode -i lo -U -w "$name.pcap" "udp port $port" 2> "$work/tcpdump-$name.log" & pids+=($!)
    wait_for "$work/tcpdump-$name.log" "listening on"
    mkfifo "$work/server-in"
    openssl s_server "$flag" -accept "127.0.0.1:$port" -cert "$work/$kind.pem" -key "$work/$kind.key" \
        -cipher "$cipher" < "$work/server-in" > "$work/server-$name.log" 2>&1 & pids+=($!)
    exec 7> "$work/server-in"
    wait_for "$work/server-$name.log" "ACCEPT"
    mkfifo "$work/client-in"
    # The static-RSA capture is decrypted with the server's key (-k), so it gets no key log.
    keylog=(-keylogfile "$name.keys")
    case "$name" in *-rsa) keylog=() ;; esac
    openssl s_client "$flag" -connect "127.0.0.1:$port" -servername localhost -cipher "$cipher" \
        "${keylog[@]}" < "$work/client-in" > "$work/client-$name.log" 2>&1 & client=$!
    exec 8> "$work/client-in"
    wait_for "$work/client-$name.log" "Verify return code"
    echo "hello over $name from s_client" >&8
    wait_for "$work/server-$name.log" "hello over $name from s_client"
    echo "hello over $name from s_server" >&7
    wait_for "$work/client-$name.log" "hello over $name from s_server"
    case "$name" in *-reneg)
        echo r >&7
        wait_for "$work/server-$name.log" "SSL_do_handshake -> 1"
        echo "after renegotiation from s_client" >&8
        wait_for "$work/server-$name.log" "after renegotiation from s_client"
        echo "after renegotiation from s_server" >&7
        wait_for "$work/client-$name.log" "after renegotiation from s_server"
        ;;
    esac
    exec 8>&-   # the client closes: close_notify
    wait "$client" || true
    exec 7>&-
    sleep 1   # let tcpdump write the last packets before it is stopped
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    pids=()
    rm -f "$work/server-in" "$work/client-in"
done
ls -l dtls1_*
