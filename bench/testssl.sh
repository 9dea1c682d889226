#!/usr/bin/env bash
# Scan `tlskit serve` (with a test PKI) with testssl.sh and list every finding
# of severity MEDIUM or worse. Findings that come from the test PKI itself
# (a CA nobody trusts, no CRL/OCSP URI, short-lived certificates) are listed
# separately as expected. Exit status 1 when any other MEDIUM+ finding remains,
# 2 when the scan itself failed (testssl.sh stopped with an error, reported a
# scan problem, or left no complete result): a scan that did not run never passes.
#
#   bench/testssl.sh [extra tlskit serve args…]     e.g. bench/testssl.sh --hsts 31536000
#
# Installs testssl.sh (Debian package, through scripts/install-peers) when missing; builds tlskit (release);
# the scan takes a few minutes. Only 127.0.0.1 is scanned.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v testssl >/dev/null || command -v testssl.sh >/dev/null || scripts/install-peers testssl.sh
TESTSSL=$(command -v testssl || command -v testssl.sh)

echo "== building tlskit (release)"
cargo build --release --locked -p tlskit-cli -q 2> /tmp/tlskit-bench-build.log || { cat /tmp/tlskit-bench-build.log; exit 1; }
TLSKIT=$PWD/target/release/tlskit

W=$(mktemp -d /tmp/tlskit-testssl.XXXXXX)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/www"
echo "hello from tlskit" > "$W/www/index.html"
"$TLSKIT" cert init "$W/pki" > /dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TLSKIT" serve "$W/www" --listen "127.0.0.1:$port" --cert "$W/pki/server.pem" --key "$W/pki/server-key.pem" \
    --quiet "$@" > "$W/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q https:// "$W/serve.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q https:// "$W/serve.log"; then
    echo "tlskit serve did not start:" >&2
    cat "$W/serve.log" >&2
    exit 2
fi

echo "== $("$TESTSSL" --version 2>/dev/null | grep -m1 -o 'testssl.sh [^ ]*' || echo testssl.sh) against tlskit serve on 127.0.0.1:$port $*"
add_ca=()
help_text=$("$TESTSSL" --help 2>&1 || true)
if [[ $help_text == *--add-ca* ]]; then
    add_ca=(--add-ca "$W/pki/ca.pem")
fi
scan_status=0
"$TESTSSL" --quiet --color 0 --warnings off --fast --ip one "${add_ca[@]}" \
    --jsonfile "$W/scan.json" "127.0.0.1:$port" > "$W/scan.txt" 2>&1 || scan_status=$?
# testssl.sh's own errors are exit codes 242-255 (bad options, no openssl, cannot connect, …); below that
# the status counts findings, which are judged below.
if [ "$scan_status" -ge 242 ] || [ ! -s "$W/scan.json" ]; then
    echo "testssl.sh: the scan failed (exit $scan_status); its output:" >&2
    tail -20 "$W/scan.txt" >&2
    exit 2
fi

python3 - "$W/scan.json" <<'EOF'
import json, sys
rank = {"MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}
try:
    findings = json.load(open(sys.argv[1]))
except ValueError as e:
    print(f"testssl.sh: the scan left no readable result ({e})", file=sys.stderr)
    sys.exit(2)
if isinstance(findings, dict):
    findings = findings.get("scanResult", findings)
# A scan problem (FATAL or a scanProblem entry) means the scan did not finish; a finished scan of a TLS
# server always reports the protocols it offers.
problems = [f for f in findings if f.get("severity") == "FATAL" or f.get("id") == "scanProblem"]
if problems or not any(f.get("id", "").startswith("TLS1_3") for f in findings):
    print("testssl.sh: the scan did not complete:", file=sys.stderr)
    for f in problems:
        print(f"  {f.get('severity')} {f.get('id')}: {f.get('finding')}", file=sys.stderr)
    sys.exit(2)
# What a throwaway test PKI cannot have: trust from a public CA, revocation URIs, long-lived certs.
expected_ids = ("cert_chain_of_trust", "cert_trust", "cert_crlDistributionPoints", "cert_ocspURL",
                "cert_revocation", "OCSP_stapling", "cert_validityPeriod", "DNS_CAArecord", "cert_caIssuers")
bad = [f for f in findings if rank.get(f.get("severity", ""), 0) >= 1]
pki = [f for f in bad if f.get("id", "").startswith(expected_ids)]
other = [f for f in bad if f not in pki]
print(f"MEDIUM or worse from the test PKI itself ({len(pki)}):")
for f in pki:
    print(f"  {f['severity']:8} {f['id']}: {f['finding']}")
print(f"MEDIUM or worse otherwise ({len(other)}):")
for f in other:
    print(f"  {f['severity']:8} {f['id']}: {f['finding']}")
sys.exit(1 if other else 0)
EOF
