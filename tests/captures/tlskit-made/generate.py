#!/usr/bin/env python3
"""Builds the synthetic and edited captures of this directory (see ../README.md, section 9).

Run from this directory: python3 generate.py. Needs python3-cryptography. The RSA encryption of the premaster
secret is randomised, so a rerun writes different (equally valid) bytes; the committed files are the reference.

  compressed-deflate.pcap  TLS 1.2, TLS_RSA_WITH_AES_128_CBC_SHA, DEFLATE compression (RFC 3749), 1024-bit RSA
                           key exchange (rsa1024.key) and the same master secret in compressed-deflate.keys
  after-fin.pcap           rsa1024-tls10-aes128sha.pcap with the server's HTTP response moved after both FINs
                           and the client's encrypted alert retransmitted after the close
  ipv4-len0.pcap           rsa1024-tls10-aes128sha.pcap with IPv4 total length 0 in the server's packets
                           (segmentation offload on the sending host)
  tls13-drafts.pcap        ClientHello/ServerHello of TLS 1.3 draft 18 (old ServerHello layout) and draft 23
                           (supported_versions), then encrypted records: parse only
  dtls-bad-ver.pcap        DTLS ClientHello/HelloVerifyRequest/ServerHello with OpenSSL's pre-RFC version 0x0100
  seed-cbc.pcap            (python3 generate.py seed) TLS_RSA_WITH_SEED_CBC_SHA, no compression, keys in seed-cbc.keys
"""

import hashlib
import hmac
import os
import struct
import zlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CLIENT = (bytes([127, 0, 0, 1]), 51000)
SERVER = (bytes([127, 0, 0, 1]), 4433)
TS0 = 1_700_000_000


# ---- pcap -------------------------------------------------------------------------------------------------


def pcap(path, frames, linktype=1):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for ts, frame in frames:
            sec, usec = int(ts), int(round((ts - int(ts)) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def read_pcap(path):
    data = open(path, "rb").read()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4
    at, out = 24, []
    while at < len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[at : at + 16])
        out.append([sec + usec / 1e6, bytearray(data[at + 16 : at + 16 + incl])])
        at += 16 + incl
    return out


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def eth(ip):
    return b"\0" * 12 + b"\x08\x00" + ip


class Tcp:
    """One TCP connection's segments, with sequence numbers tracked per side."""

    def __init__(self):
        self.frames, self.t = [], TS0
        self.seq = {0: 1000, 1: 50000}

    def seg(self, side, flags, payload=b""):
        (sa, sp), (da, dp) = (CLIENT, SERVER) if side == 0 else (SERVER, CLIENT)
        ack = self.seq[1 - side]
        tcp = struct.pack("!HHIIBBHHH", sp, dp, self.seq[side], ack, 5 << 4, flags, 65535, 0, 0)
        self.t += 0.001
        self.frames.append((self.t, eth(ipv4(sa, da, 6, tcp + payload))))
        self.seq[side] = (self.seq[side] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

    def handshake(self):
        self.seg(0, 0x02)
        self.seq[0] -= 1
        self.seg(1, 0x12)
        self.seq[0] += 1
        self.seg(0, 0x10)

    def close(self):
        self.seg(0, 0x11)
        self.seg(1, 0x11)
        self.seg(0, 0x10)


# ---- TLS --------------------------------------------------------------------------------------------------


def record(typ, version, body):
    return struct.pack("!BHH", typ, version, len(body)) + body


def hs(typ, body):
    return struct.pack("!B", typ) + len(body).to_bytes(3, "big") + body


def vec(n, b):
    return len(b).to_bytes(n, "big") + b


def ext(typ, body):
    return struct.pack("!H", typ) + vec(2, body)


def prf(secret, label, seed, n):
    """TLS 1.2 PRF with SHA-256 (RFC 5246, section 5)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]


class CbcSha:
    """TLS 1.2 AES-128-CBC (or SEED-CBC) + HMAC-SHA1 for one direction, with a DEFLATE stream in front (RFC 3749)
    when `compress`."""

    def __init__(self, mac_key, key, compress=True, algorithm=algorithms.AES):
        self.mac_key, self.key, self.seq = mac_key, key, 0
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, 15) if compress else None
        self.algorithm = algorithm

    def protect(self, typ, plain):
        if self.deflate is None:
            comp = plain
        else:
            comp = self.deflate.compress(plain) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        mac = hmac.new(self.mac_key, struct.pack("!QBHH", self.seq, typ, 0x0303, len(comp)) + comp, hashlib.sha1)
        self.seq += 1
        body = comp + mac.digest()
        pad = 15 - len(body) % 16
        body += bytes([pad]) * (pad + 1)
        iv = os.urandom(16)
        enc = Cipher(self.algorithm(self.key), modes.CBC(iv)).encryptor()
        return record(typ, 0x0303, iv + enc.update(body) + enc.finalize())


def compressed_deflate(name="compressed-deflate", suite=0x002F, compress=True, algorithm=algorithms.AES):
    key = serialization.load_pem_private_key(open("rsa1024.key", "rb").read(), None)
    cert = open("rsa1024.der", "rb").read() if os.path.exists("rsa1024.der") else None
    if cert is None:
        raise SystemExit("rsa1024.der missing: openssl x509 of the key's certificate")
    cr = bytes(range(32))
    sr = bytes(range(0x20, 0x40))
    ch = hs(
        1,
        struct.pack("!H", 0x0303) + cr + vec(1, b"") + vec(2, struct.pack("!H", suite)) + vec(1, b"\x01\x00")
        + vec(2, ext(0xFF01, b"\0")),
    )
    sh = hs(2, struct.pack("!H", 0x0303) + sr + vec(1, b"\x11" * 32) + struct.pack("!HB", suite, int(compress))
            + vec(2, ext(0xFF01, b"\0")))
    certificate = hs(11, vec(3, vec(3, cert)))
    shd = hs(14, b"")
    pre = b"\x03\x03" + bytes(range(100, 146))
    cke = hs(16, vec(2, key.public_key().encrypt(pre, rsa_padding.PKCS1v15())))
    master = prf(pre, b"master secret", cr + sr, 48)
    kb = prf(master, b"key expansion", sr + cr, 2 * 20 + 2 * 16 + 2 * 16)
    c_w = CbcSha(kb[0:20], kb[40:56], compress, algorithm)
    s_w = CbcSha(kb[20:40], kb[56:72], compress, algorithm)
    transcript = ch + sh + certificate + shd + cke
    c_fin = hs(20, prf(master, b"client finished", hashlib.sha256(transcript).digest(), 12))
    s_fin = hs(20, prf(master, b"server finished", hashlib.sha256(transcript + c_fin).digest(), 12))
    t = Tcp()
    t.handshake()
    t.seg(0, 0x18, record(22, 0x0301, ch))
    t.seg(1, 0x18, record(22, 0x0303, sh) + record(22, 0x0303, certificate) + record(22, 0x0303, shd))
    t.seg(0, 0x18, record(22, 0x0303, cke) + record(20, 0x0303, b"\x01") + c_w.protect(22, c_fin))
    t.seg(1, 0x18, record(20, 0x0303, b"\x01") + s_w.protect(22, s_fin))
    request = b"GET /compressed HTTP/1.1\r\nHost: old.example\r\nUser-Agent: generate.py\r\n\r\n"
    t.seg(0, 0x18, c_w.protect(23, request))
    body = b"<html>" + b"compressible compressible compressible " * 40 + b"</html>\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/html\r\n\r\n" % len(body) + body
    t.seg(1, 0x18, s_w.protect(23, response[:200]) + s_w.protect(23, response[200:]))
    t.seg(0, 0x18, c_w.protect(21, b"\x01\x00"))
    t.seg(1, 0x18, s_w.protect(21, b"\x01\x00"))
    t.close()
    pcap(name + ".pcap", t.frames)
    with open(name + ".keys", "w") as f:
        f.write("CLIENT_RANDOM %s %s\n" % (cr.hex(), master.hex()))


# ---- edits of a real capture ------------------------------------------------------------------------------


def tcp_fields(frame):
    ip = frame[14:]
    ihl = (ip[0] & 0xF) * 4
    tcp = ip[ihl:]
    off = (tcp[12] >> 4) * 4
    sport = struct.unpack("!H", tcp[:2])[0]
    return sport, tcp[13], len(tcp) - off


def after_fin():
    frames = read_pcap("rsa1024-tls10-aes128sha.pcap")
    server = 44302
    # The server's largest data segment (the HTTP response) is held back until both sides have sent FIN.
    data = [i for i, (_, f) in enumerate(frames) if tcp_fields(f)[0] == server and tcp_fields(f)[2] > 0]
    late_i = max(data, key=lambda i: tcp_fields(frames[i][1])[2])
    late = frames.pop(late_i)
    fins = [i for i, (_, f) in enumerate(frames) if tcp_fields(f)[1] & 0x01]
    last_fin = fins[-1]
    # The client's last data segment (its encrypted close_notify alert) is retransmitted after the close.
    client_data = [f for _, f in frames if tcp_fields(f)[0] != server and tcp_fields(f)[2] > 0]
    t = frames[last_fin][0]
    frames.insert(last_fin + 1, [t + 0.0001, late[1]])
    frames.append([frames[-1][0] + 0.2, bytearray(client_data[-1])])
    pcap("after-fin.pcap", [(t, bytes(f)) for t, f in frames])


def ipv4_len0():
    frames = read_pcap("rsa1024-tls10-aes128sha.pcap")
    for _, f in frames:
        if tcp_fields(f)[0] == 44302:
            f[16:18] = b"\0\0"
            f[24:26] = b"\0\0"
            f[24:26] = struct.pack("!H", checksum(bytes(f[14:34])))
    pcap("ipv4-len0.pcap", [(t, bytes(f)) for t, f in frames])


# ---- TLS 1.3 drafts and old DTLS --------------------------------------------------------------------------


def tls13_drafts():
    frames = []
    for n, (draft, port) in enumerate([(18, 51001), (23, 51002)]):
        global CLIENT
        CLIENT = (CLIENT[0], port)
        t = Tcp()
        t.t = TS0 + n
        version = 0x7F00 | draft
        key_share = ext(51 if draft >= 23 else 40, vec(2, struct.pack("!H", 29) + vec(2, bytes(32))))
        ch = hs(1, struct.pack("!H", 0x0303) + bytes(32) + vec(1, b"") + vec(2, struct.pack("!H", 0x1301))
                + vec(1, b"\0") + vec(2, ext(43, vec(1, struct.pack("!HH", version, 0x0303))) + key_share
                + ext(10, vec(2, struct.pack("!H", 29))) + ext(13, vec(2, struct.pack("!H", 0x0804)))))
        sh_key_share = ext(51 if draft >= 23 else 40, struct.pack("!H", 29) + vec(2, bytes(range(32))))
        if draft < 22:
            # Drafts before 22: version in the ServerHello itself, no session ID, no compression method.
            sh = hs(2, struct.pack("!H", version) + bytes(range(32)) + struct.pack("!H", 0x1301) + vec(2, sh_key_share))
        else:
            sh = hs(2, struct.pack("!H", 0x0303) + bytes(range(32)) + vec(1, b"") + struct.pack("!HB", 0x1301, 0)
                    + vec(2, ext(43, struct.pack("!H", version)) + sh_key_share))
        t.handshake()
        t.seg(0, 0x18, record(22, 0x0301, ch))
        t.seg(1, 0x18, record(22, 0x0303, sh) + record(23, 0x0303, os.urandom(60)))
        t.seg(0, 0x18, record(23, 0x0303, os.urandom(53)))
        t.close()
        frames += t.frames
    pcap("tls13-drafts.pcap", frames)


def dtls_bad_ver():
    def udp(side, payload):
        (sa, sp), (da, dp) = (CLIENT, SERVER) if side == 0 else (SERVER, CLIENT)
        return eth(ipv4(sa, da, 17, struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload))

    def drec(typ, epoch, seq, body):
        return struct.pack("!BHH", typ, 0x0100, epoch) + seq.to_bytes(6, "big") + vec(2, body)

    def dhs(typ, msg_seq, body):
        n = len(body).to_bytes(3, "big")
        return struct.pack("!B", typ) + n + struct.pack("!H", msg_seq) + b"\0\0\0" + n + body

    def hello(cookie):
        return (struct.pack("!H", 0x0100) + bytes(32) + vec(1, b"") + vec(1, cookie)
                + vec(2, struct.pack("!HH", 0x0035, 0x002F)) + vec(1, b"\0"))

    sh = struct.pack("!H", 0x0100) + bytes(range(32)) + vec(1, b"\x22" * 32) + struct.pack("!HB", 0x0035, 0)
    frames = [
        (TS0, udp(0, drec(22, 0, 0, dhs(1, 0, hello(b""))))),
        (TS0 + 0.001, udp(1, drec(22, 0, 0, dhs(3, 0, struct.pack("!H", 0x0100) + vec(1, b"\x33" * 20))))),
        (TS0 + 0.002, udp(0, drec(22, 0, 1, dhs(1, 1, hello(b"\x33" * 20))))),
        (TS0 + 0.003, udp(1, drec(22, 0, 1, dhs(2, 1, sh)) + drec(22, 0, 2, dhs(14, 2, b"")))),
    ]
    pcap("dtls-bad-ver.pcap", frames)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["seed"]:
        # TLS_RSA_WITH_SEED_CBC_SHA, uncompressed: a suite tshark decrypts and tlskit names as not decryptable.
        from cryptography.hazmat.decrepit.ciphers.algorithms import SEED

        compressed_deflate("seed-cbc", 0x0096, False, SEED)
        raise SystemExit
    compressed_deflate()
    after_fin()
    ipv4_len0()
    tls13_drafts()
    dtls_bad_ver()
