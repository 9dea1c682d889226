#!/usr/bin/env python3
"""Prints the expected.json entry of one capture, as tshark 4.0 answers (see README.md, "How the expected numbers
were obtained"). Usage, from tests/captures/:

  python3 tshark_expected.py PATH --source TEXT [--keylog FILE | --rsa-key FILE | --psk HEX] [--udp] [--note TEXT]

JA3: tshark gives one per ClientHello, including a renegotiation's encrypted one; JA3 is defined on the
connection's first ClientHello, so the entry keeps the first of each stream.
"""

import argparse
import json
import re
import subprocess
from collections import Counter, OrderedDict

HANDSHAKE = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange",
    20: "Finished", 22: "CertificateStatus", 24: "KeyUpdate",
}
CONTENT = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data", 24: "heartbeat"}


def tshark(path, opts, *args):
    cmd = ["tshark", "-n", "-r", path] + opts + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--source", required=True)
    p.add_argument("--keylog")
    p.add_argument("--rsa-key")
    p.add_argument("--psk")
    p.add_argument("--udp", action="store_true")
    p.add_argument("--note", default="")
    a = p.parse_args()
    opts, keys = [], OrderedDict()
    if a.keylog:
        opts += ["-o", "tls.keylog_file:" + a.keylog]
        keys["keylog"] = a.keylog
    if a.rsa_key:
        opts += ["-o", ("dtls" if a.udp else "tls") + ".keys_list:0.0.0.0,0,data," + a.rsa_key]
        keys["rsa_private_key"] = a.rsa_key
    if a.psk:
        opts += ["-o", "tls.psk:" + a.psk]
        keys["psk_hex"] = a.psk
    proto = "dtls" if a.udp else "tls"
    stream = "udp.stream" if a.udp else "tcp.stream"
    rows = tshark(a.path, opts, "-Y", proto, "-T", "fields", "-E", "separator=|", "-e", stream,
                  "-e", proto + ".record.content_type", "-e", proto + ".handshake.type",
                  "-e", proto + ".handshake.version", "-e", proto + ".handshake.ciphersuite",
                  "-e", proto + ".handshake.ja3", "-e", proto + ".record.length").splitlines()
    streams = set(tshark(a.path, [], "-T", "fields", "-e", stream).split())
    records, hs, versions, suites, ja3 = Counter(), Counter(), set(), set(), OrderedDict()
    for row in rows:
        s, ct, ht, ver, suite, j, lengths = (row.split("|") + [""] * 7)[:7]
        typed = [int(c) for c in filter(None, ct.split(","))]
        for c in typed:
            records[CONTENT.get(c, "unknown")] += 1
        # TLS 1.3 records left encrypted carry only an opaque type (23): counted as application_data.
        records["application_data"] += max(0, len(list(filter(None, lengths.split(",")))) - len(typed))
        types = [int(t) for t in filter(None, ht.split(","))]
        for t in types:
            hs[HANDSHAKE.get(t, str(t))] += 1
        if 2 in types and ver:
            versions.add(ver.split(",")[-1])
        if suite and 2 in types and 1 not in types:
            suites.add(suite.split(",")[-1])
        if j and s not in ja3:
            ja3[s] = j.split(",")[0]
    if a.udp:
        # DTLS: a handshake message counts once, however many fragments carry it and however often it is
        # retransmitted: once per (stream, sender, message_seq, type).
        hs, seen = Counter(), set()
        rows = tshark(a.path, opts, "-Y", "dtls", "-T", "fields", "-E", "separator=|", "-e", stream, "-e", "udp.srcport",
                      "-e", "dtls.handshake.type", "-e", "dtls.handshake.message_seq").splitlines()
        for row in rows:
            s, port, types, seqs = (row.split("|") + [""] * 4)[:4]
            for t, q in zip(filter(None, types.split(",")), filter(None, seqs.split(","))):
                if (s, port, q, t) not in seen:
                    seen.add((s, port, q, t))
                    hs[HANDSHAKE.get(int(t), t)] += 1
    # Suite names as tshark prints them (IANA names), from the ServerHellos' detail.
    detail = tshark(a.path, opts, "-Y", proto + ".handshake.type == 2", "-V")
    names = {"0x%04x" % int(h, 16): n for n, h in re.findall(r"Cipher Suite: (\S+) \((0x[0-9a-fA-F]{4})\)", detail)}
    suites = {names.get(s, s) for s in suites}
    plain, first, alerts = 0, None, None
    if a.udp:
        # DTLS: tshark hands decrypted application data to the data dissector, one chunk per record; alerts
        # (decrypted or plaintext) as level and description numbers, in capture order.
        alerts = []
        rows = tshark(a.path, opts, "-Y", "dtls", "-T", "fields", "-E", "separator=|", "-e", stream,
                      "-e", "data.data", "-e", "dtls.alert_message.level", "-e", "dtls.alert_message.desc")
        chunks = {}
        for row in rows.splitlines():
            s, data, levels, descs = (row.split("|") + [""] * 4)[:4]
            for chunk in filter(None, data.split(",")):
                chunks.setdefault(s, []).append(bytes.fromhex(chunk))
            for level, desc in zip(filter(None, levels.split(",")), filter(None, descs.split(","))):
                alerts.append(OrderedDict(level=int(level), description=int(desc)))
        for s in sorted(chunks, key=int):
            for data in chunks[s]:
                plain += len(data)
                if first is None:
                    first = data.split(b"\r\n")[0].split(b"\n")[0].decode("latin-1")
    else:
        for s in sorted(streams, key=int):
            out = tshark(a.path, opts, "-q", "-z", "follow,tls,raw," + s)
            for line in out.splitlines():
                m = re.match(r"^\t?([0-9a-f]+)$", line)
                if m:
                    data = bytes.fromhex(m.group(1))
                    plain += len(data)
                    if first is None:
                        first = data.split(b"\r\n")[0].split(b"\n")[0].decode("latin-1")
    entry = OrderedDict(
        path=a.path, transport="udp" if a.udp else "tcp", keys=keys, source=a.source,
        negotiated_versions=sorted(versions), cipher_suites=sorted(suites), connections=len(streams),
        tls_records=sum(records.values()), records_by_content_type={k: v for k, v in records.items() if v}, handshake_messages=dict(hs),
        ja3=list(ja3.values()), tshark_plaintext_bytes=plain, first_plaintext_line=first,
        **({} if alerts is None else {"alerts": alerts}),
        snet_expected_decrypted_records=None, ssldump_1_4_decrypted_app_records=None,
        ssldump_head_decrypted_app_records=None, note=a.note,
    )
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
