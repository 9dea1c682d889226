#!/usr/bin/env python3
"""Prints the expected.json entry of one capture, as tshark 4.0 answers (see README.md, "How the expected numbers
were obtained"), or rewrites the whole of expected.json. Usage, from tests/captures/:

  python3 tshark_expected.py PATH --source TEXT [--keylog FILE | --rsa-key FILE | --psk HEX] [--udp] [--note TEXT]
  python3 tshark_expected.py --regenerate expected.json

--regenerate asks tshark again for every entry (with the entry's own keys, transport, source and note) and keeps
what tshark cannot say: the ssldump and snet columns, `beyond_tshark` (what tlskit must show where tshark 4.0 is
wrong or silent; its `alerts_as` names a twin capture whose tshark alerts it takes) and the derived pcapng entries
(no `connections`: they expect their source's decode). Each field that changed is printed on stderr.

JA3: tshark gives one per ClientHello, including a renegotiation's encrypted one; JA3 is defined on the
connection's first ClientHello, so the entry keeps the first of each stream.

Alerts: per connection (each stream that carries TLS, in stream order), the alerts tshark reads (plaintext ones
and those it decrypts; an alert it cannot decrypt has no level or description), in capture order.
"""

import argparse
import json
import re
import subprocess
import sys
from collections import Counter, OrderedDict

HANDSHAKE = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange",
    20: "Finished", 22: "CertificateStatus", 24: "KeyUpdate",
}
CONTENT = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data", 24: "heartbeat"}
# Fields tshark cannot give, kept by --regenerate.
CURATED = ("snet_expected_decrypted_records", "ssldump_1_4_decrypted_app_records",
           "ssldump_head_decrypted_app_records", "beyond_tshark")


def tshark(path, opts, *args):
    cmd = ["tshark", "-n", "-r", path] + opts + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def key_options(keys, udp):
    """tshark's options for an entry's `keys`."""
    opts = []
    if "keylog" in keys:
        opts += ["-o", "tls.keylog_file:" + keys["keylog"]]
    if "rsa_private_key" in keys:
        opts += ["-o", ("dtls" if udp else "tls") + ".keys_list:0.0.0.0,0,data," + keys["rsa_private_key"]]
    if "psk_hex" in keys:
        opts += ["-o", "tls.psk:" + keys["psk_hex"]]
    return opts


def first_line(data):
    return data.split(b"\r\n")[0].split(b"\n")[0].decode("latin-1")


def entry(path, keys, udp, source, note):
    """The expected.json entry of one capture, from tshark."""
    opts = key_options(keys, udp)
    proto = "dtls" if udp else "tls"
    stream = "udp.stream" if udp else "tcp.stream"
    rows = tshark(path, opts, "-Y", proto, "-T", "fields", "-E", "separator=|", "-e", stream,
                  "-e", proto + ".record.content_type", "-e", proto + ".handshake.type",
                  "-e", proto + ".handshake.version", "-e", proto + ".handshake.ciphersuite",
                  "-e", proto + ".handshake.ja3", "-e", proto + ".record.length",
                  "-e", proto + ".alert_message.level", "-e", proto + ".alert_message.desc",
                  "-e", proto + ".handshake.extensions.supported_version", "-e", proto + ".record.version").splitlines()
    streams = set(tshark(path, [], "-T", "fields", "-e", stream).split())
    records, hs, versions, suites, ja3 = Counter(), Counter(), set(), set(), OrderedDict()
    alerts = OrderedDict()
    for row in rows:
        s, ct, ht, ver, suite, j, lengths, levels, descs, chosen, record_versions = (row.split("|") + [""] * 11)[:11]
        typed = [int(c) for c in filter(None, ct.split(","))]
        for c in typed:
            records[CONTENT.get(c, "unknown")] += 1
        # TLS 1.3 records left encrypted carry only an opaque type (23): counted as application_data. An
        # SSLv2-format record (version 0x0002) has no content type either, and is no TLS record.
        sslv2 = record_versions.split(",").count("0x0002")
        records["application_data"] += max(0, len(list(filter(None, lengths.split(",")))) - len(typed) - sslv2)
        types = [int(t) for t in filter(None, ht.split(","))]
        for t in types:
            hs[HANDSHAKE.get(t, str(t))] += 1
        # The negotiated version: a ServerHello's supported_versions (TLS 1.3) or else its version field.
        if 2 in types and (chosen or ver):
            versions.add((chosen or ver).split(",")[-1])
        if suite and 2 in types and 1 not in types:
            suites.add(suite.split(",")[-1])
        if j and s not in ja3:
            ja3[s] = j.split(",")[0]
        conn = alerts.setdefault(s, [])
        for level, desc in zip(filter(None, levels.split(",")), filter(None, descs.split(","))):
            conn.append(OrderedDict(level=int(level), description=int(desc)))
    if udp:
        # DTLS: a handshake message counts once, however many fragments carry it and however often it is
        # retransmitted: once per (stream, sender, epoch, message_seq, type) (a renegotiation numbers its
        # messages from 0 again, under the next epoch).
        hs, seen = Counter(), set()
        rows = tshark(path, opts, "-Y", "dtls", "-T", "fields", "-E", "separator=|", "-e", stream, "-e", "udp.srcport",
                      "-e", "dtls.record.epoch", "-e", "dtls.record.content_type", "-e", "dtls.handshake.type",
                      "-e", "dtls.handshake.message_seq").splitlines()
        for row in rows:
            s, port, epochs, cts, types, seqs = (row.split("|") + [""] * 6)[:6]
            # The epoch of each handshake message: that of the handshake records, in order (tshark lists a
            # record's messages after it; one record per message in these captures, as OpenSSL sends them).
            hs_epochs = [e for e, c in zip(epochs.split(","), cts.split(",")) if c == "22"]
            for i, (t, q) in enumerate(zip(filter(None, types.split(",")), filter(None, seqs.split(",")))):
                epoch = hs_epochs[min(i, len(hs_epochs) - 1)] if hs_epochs else ""
                if (s, port, epoch, q, t) not in seen:
                    seen.add((s, port, epoch, q, t))
                    hs[HANDSHAKE.get(int(t), t)] += 1
    # Suite names as tshark prints them (IANA names), from the ServerHellos' detail.
    detail = tshark(path, opts, "-Y", proto + ".handshake.type == 2", "-V")
    names = {"0x%04x" % int(h, 16): n for n, h in re.findall(r"Cipher Suite: (\S+) \((0x[0-9a-fA-F]{4})\)", detail)}
    suites = {names.get(s, s) for s in suites}
    plain, first = 0, None
    if udp:
        # DTLS: tshark hands decrypted application data to the data dissector, one chunk per record.
        rows = tshark(path, opts, "-Y", "dtls", "-T", "fields", "-E", "separator=|", "-e", stream, "-e", "data.data")
        chunks = {}
        for row in rows.splitlines():
            s, data = (row.split("|") + [""] * 2)[:2]
            for chunk in filter(None, data.split(",")):
                chunks.setdefault(s, []).append(bytes.fromhex(chunk))
        for s in sorted(chunks, key=int):
            for data in chunks[s]:
                plain += len(data)
                if first is None:
                    first = first_line(data)
    else:
        for s in sorted(streams, key=int):
            out = tshark(path, opts, "-q", "-z", "follow,tls,raw," + s)
            for line in out.splitlines():
                m = re.match(r"^\t?([0-9a-f]+)$", line)
                if m:
                    data = bytes.fromhex(m.group(1))
                    plain += len(data)
                    if first is None:
                        first = first_line(data)
    return OrderedDict(
        path=path, transport="udp" if udp else "tcp", keys=keys, source=source,
        negotiated_versions=sorted(versions), cipher_suites=sorted(suites), connections=len(streams),
        tls_records=sum(records.values()), records_by_content_type={k: v for k, v in records.items() if v},
        handshake_messages=dict(hs), ja3=list(ja3.values()), tshark_plaintext_bytes=plain,
        first_plaintext_line=first, alerts=[alerts[s] for s in sorted(alerts, key=int)],
        snet_expected_decrypted_records=None, ssldump_1_4_decrypted_app_records=None,
        ssldump_head_decrypted_app_records=None, note=note,
    )


def regenerate(file):
    """Rewrites expected.json from tshark, keeping the curated fields; reports each field that changed."""
    with open(file) as f:
        old = json.load(f, object_pairs_hook=OrderedDict)
    new = []
    for e in old:
        if "connections" not in e:
            new.append(e)
            continue
        fresh = entry(e["path"], e["keys"], e["transport"] == "udp", e["source"], e.get("note", ""))
        for k in CURATED:
            if k in e:
                fresh[k] = e[k]
        for k in fresh:
            if k not in CURATED and e.get(k) != fresh[k]:
                print(f"{e['path']}: {k}: {json.dumps(e.get(k))} -> {json.dumps(fresh[k])}", file=sys.stderr)
        new.append(fresh)
    by_path = {e["path"]: e for e in new}
    for e in new:
        twin = e.get("beyond_tshark", {}).get("alerts_as")
        if twin:
            e["beyond_tshark"]["alerts"] = by_path[twin]["alerts"]
    with open(file, "w") as f:
        json.dump(new, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path", nargs="?")
    p.add_argument("--regenerate", metavar="EXPECTED_JSON")
    p.add_argument("--source")
    p.add_argument("--keylog")
    p.add_argument("--rsa-key")
    p.add_argument("--psk")
    p.add_argument("--udp", action="store_true")
    p.add_argument("--note", default="")
    a = p.parse_args()
    if a.regenerate:
        regenerate(a.regenerate)
        return
    if not a.path or not a.source:
        p.error("PATH and --source are required (or --regenerate)")
    keys = OrderedDict()
    if a.keylog:
        keys["keylog"] = a.keylog
    if a.rsa_key:
        keys["rsa_private_key"] = a.rsa_key
    if a.psk:
        keys["psk_hex"] = a.psk
    print(json.dumps(entry(a.path, keys, a.udp, a.source, a.note), indent=1))


if __name__ == "__main__":
    main()
