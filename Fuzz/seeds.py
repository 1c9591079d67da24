#!/usr/bin/env python3
"""Writes small seed inputs for the fuzz targets into OUT/<Target>/, in each target's input
format (see the comment at the top of each Fuzz/*.swift). Everything is generated here or read
from the project's own test vectors at run time; nothing third-party is committed.

Usage: Fuzz/seeds.py OUT_DIR [REPO_ROOT]
"""
import gzip, os, re, struct, sys, zlib

out = sys.argv[1]
root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..")

def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))

def be16(v): return struct.pack(">H", v & 0xffff)
def be32(v): return struct.pack(">I", v & 0xffffffff)

def pieces(parts, unit, most=0x3f):
    """The stream targets' input: (to_client, bytes) parts cut into pieces, each led by a control
    byte (length - 1) / unit in bits 0-5 (at most `most`), bit 6 = to client, bit 7 = gap (never
    set here). The same format for HTTP, HTTP/2, PgSQL and SMB (Fuzz/Shared/FuzzPieces.swift)."""
    data = b""
    for to_client, text in parts:
        pos = 0
        while pos < len(text):
            units = min(most, (len(text) - pos - 1) // unit)
            n = units * unit + 1
            data += bytes([units | (0x40 if to_client else 0)]) + text[pos:pos + n]
            pos += n
    return data

# --- HTTP: pieces of (control & 0x3f) * 7 + 1 bytes; 0x3f in bits 0-5 also consumes the ready
# transactions (HTTP/2: allows a gap), so seeds stop at 0x3e.
def http_input(messages): return pieces(messages, 7, most=0x3e)

requests = [
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: seed\r\nAccept: */*\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: example.org:8080\r\nContent-Length: 11\r\n\r\nhello world",
    b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nX-T: y\r\n\r\n",
    b"GET http://proxy.example/abs HTTP/1.0\r\nX-Folded: a\r\n b\r\n\r\n",
    b"CONNECT host.example:443 HTTP/1.1\r\nHost: host.example:443\r\n\r\n",
]
gz = gzip.compress(b"hello gzip " * 30, mtime=0)
responses = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
    + b"%x\r\n" % len(gz) + gz + b"\r\n0\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n" + zlib.compress(b"hello deflate " * 20),
    b"HTTP/1.1 200 Connection established\r\n\r\n",
]
for i, (rq, rs) in enumerate(zip(requests, responses)):
    write("FuzzHTTP", "pair%d" % i, http_input([(False, rq), (True, rs)]))
write("FuzzHTTP", "pipelined", http_input([(False, requests[0] + requests[1]), (True, responses[0] + responses[2])]))
# Framing on odd lines (session 8 review): a blank-led first-line Content-Length (ignored),
# folded Content-Length / Transfer-Encoding / Content-Encoding (read after the join).
write("FuzzHTTP", "framing", http_input([
    (False, b"POST /ok HTTP/1.1\r\n Content-Length: 31\r\nHost: a\r\n\r\nGET /evil HTTP/1.1\r\nHost: a\r\n\r\n"
            + b"POST /f HTTP/1.1\r\nContent-Length:\r\n 3\r\n\r\nabc"
            + b"PUT /c HTTP/1.1\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
    (True, b"HTTP/1.1 200 OK\r\nContent-Encoding:\r\n gzip\r\nContent-Length: %d\r\n\r\n" % len(gz) + gz)]))

# --- HTTP/2: first byte even (the target feeds the preface), then HTTP pieces of frames.
def h2frame(t, flags, sid, payload): return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + be32(sid) + payload
h2_req = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff") + bytes([0x40, 4]) + b"x-ab" + bytes([3]) + b"123"
h2_resp = bytes([0x88, 0x0f, 0x10, 9]) + b"text/html"
h2_client = h2frame(4, 0, 0, be16(1) + be32(256)) + h2frame(1, 0x5, 1, h2_req) + h2frame(1, 0x1, 3, h2_req[:6]) \
    + h2frame(9, 0x4, 3, h2_req[6:]) + h2frame(0, 0x9, 3, bytes([2]) + b"data" + b"\0\0")
h2_server = h2frame(4, 0, 0, be16(5) + be32(32768)) + h2frame(4, 1, 0, b"") + h2frame(1, 0x4, 1, h2_resp) \
    + h2frame(0, 0x1, 1, b"hello") + h2frame(3, 0, 3, be32(8)) + h2frame(5, 0x4, 1, be32(2) + h2_req)
write("FuzzHTTP2", "exchange", b"\0" + http_input([(False, h2_client), (True, h2_server)]))
write("FuzzHTTP2", "upgrade-server-first", b"\1" + http_input([(True, h2_server), (False, h2_client)]))
# A gzip body split over two DATA frames, and a larger HPACK table (SETTINGS 16384, size update).
h2_gz = zlib.compress(b"body " * 200, 9, 31)
h2_server_gz = h2frame(4, 0, 0, be16(1) + be32(16384)) + h2frame(1, 0x4, 1, bytes([0x88, 0x00, 16]) + b"content-encoding" + bytes([4]) + b"gzip") \
    + h2frame(0, 0, 1, h2_gz[:30]) + h2frame(0, 0x1, 1, h2_gz[30:])
h2_client_big = h2frame(1, 0x5, 1, bytes([0x3f, 0xe1, 0x7f]) + h2_req)
write("FuzzHTTP2", "gzip-body", b"\0" + http_input([(False, h2_client_big), (True, h2_server_gz)]))

# --- TLS: control byte (low 6 bits: chunk size - 1, bit 6: alternate direction, bit 7: QUIC
# handshake bytes), then records.
def ext(t, d): return be16(t) + be16(len(d)) + d
def client_hello(sni, grease=False):
    host = sni.encode()
    exts = b""
    if grease: exts += ext(0x0a0a, b"")
    exts += ext(0, be16(len(host) + 3) + b"\x00" + be16(len(host)) + host)
    exts += ext(10, be16(6) + be16(0x001d) + be16(0x0017) + be16(0x0018))
    exts += ext(11, b"\x01\x00")
    exts += ext(13, be16(6) + be16(0x0403) + be16(0x0804) + be16(0x0401))
    exts += ext(16, be16(12) + b"\x02h2\x08http/1.1")
    exts += ext(43, b"\x04" + be16(0x0304) + be16(0x0303))
    exts += ext(51, be16(38) + be16(0x001d) + be16(32) + b"\x33" * 32)
    ciphers = be16(0x1301) + be16(0x1302) + be16(0x1303) + be16(0xc02f)
    body = be16(0x0303) + b"\x11" * 32 + b"\x20" + b"\x22" * 32 + be16(len(ciphers)) + ciphers + b"\x01\x00" + be16(len(exts)) + exts
    return b"\x01" + struct.pack(">I", len(body))[1:] + body
def server_hello():
    exts = ext(43, be16(0x0304)) + ext(51, be16(0x001d) + be16(32) + b"\x44" * 32)
    body = be16(0x0303) + b"\x55" * 32 + b"\x20" + b"\x22" * 32 + be16(0x1301) + b"\x00" + be16(len(exts)) + exts
    return b"\x02" + struct.pack(">I", len(body))[1:] + body
def record(t, payload, version=0x0301): return bytes([t]) + be16(version) + be16(len(payload)) + payload
ch, sh = client_hello("www.example.com"), client_hello("grease.example", True)
write("FuzzTLS", "clienthello", b"\x3f" + record(22, ch))
write("FuzzTLS", "clienthello_split", b"\x04" + record(22, sh))
write("FuzzTLS", "both", b"\x3f" + record(22, ch) + record(22, server_hello(), 0x0303)
      + record(20, b"\x01", 0x0303) + record(23, b"\x5a" * 32, 0x0303))
write("FuzzTLS", "quic", b"\xbf" + ch)
write("FuzzTLS", "alert", b"\x3f" + record(21, b"\x02\x28"))

# A TLS 1.2 server flight with a certificate chain (tls.certs, the X.509 reader): the control
# byte 0x7f alternates 64-byte chunks, client bytes in the even ones, server bytes in the odd.
def der(tag, content):
    n = len(content)
    head = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82, n >> 8, n & 0xff])
    return bytes([tag]) + head + content
def rdn(last, value): return der(0x31, der(0x30, der(0x06, bytes([0x55, 4, last])) + der(0x0c, value.encode())))
def certificate(cn):
    alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d01010b")) + b"\x05\x00")
    name = der(0x30, rdn(6, "JP") + rdn(10, "Example K.K.") + rdn(3, cn))
    validity = der(0x30, der(0x17, b"260101000000Z") + der(0x17, b"270101000000Z"))
    spki = der(0x30, der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00") + der(0x03, b"\x00" + b"\x42" * 32))
    san = der(0x30, der(0x06, bytes([0x55, 0x1d, 0x11])) + der(0x04, der(0x30, der(0x82, cn.encode()) + der(0x87, bytes([192, 0, 2, 1])))))
    tbs = der(0xa0, der(0x02, b"\x02")) + der(0x02, b"\x00\x8f\x1a") + alg + name + validity + name + spki + der(0xa3, der(0x30, san))
    return der(0x30, der(0x30, tbs) + alg + der(0x03, b"\x00" + b"\x99" * 32))
def tls12_flight(certs):
    sh12 = be16(0x0303) + b"\x77" * 32 + b"\x00" + be16(0xc02f) + b"\x00" + be16(0)
    lst = b"".join(struct.pack(">I", len(c))[1:] + c for c in certs)
    body = struct.pack(">I", len(lst))[1:] + lst
    hs = b"\x02" + struct.pack(">I", len(sh12))[1:] + sh12 + b"\x0b" + struct.pack(">I", len(body))[1:] + body + b"\x0e\x00\x00\x00"
    return record(22, hs, 0x0303)
def alternate(client, server, n=64):
    out = b""
    while client or server:
        out += client[:n].ljust(n, b"\x00") + server[:n]
        client, server = client[n:], server[n:]
    return out
write("FuzzTLS", "tls12_certificates", b"\x7f" + alternate(record(22, ch), tls12_flight([certificate("a.example"), certificate("CA")])))

# --- DNS: the whole input is one message (and a TCP stream).
def qname(name): return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00"
q = qname("www.example.com") + be16(1) + be16(1)
write("FuzzDNS", "query", be16(0x1234) + be16(0x0100) + be16(1) + be16(0) * 3 + q)
answers = (b"\xc0\x0c" + be16(5) + be16(1) + be32(60) + be16(len(qname("cdn.example.net"))) + qname("cdn.example.net")
           + b"\xc0\x2d" + be16(1) + be16(1) + be32(60) + be16(4) + b"\xcb\x00\x71\x07"
           + b"\xc0\x2d" + be16(28) + be16(1) + be32(60) + be16(16) + b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01")
write("FuzzDNS", "response", be16(0x1234) + be16(0x8180) + be16(1) + be16(3) + be16(0) * 2 + q + answers)
msg = be16(0x4321) + be16(0x0100) + be16(1) + be16(0) * 3 + qname("mail.example.org") + be16(15) + be16(1)
write("FuzzDNS", "tcp", be16(len(msg)) + msg)

# --- DHCP: the whole input is one datagram (BOOTP header, cookie, options).
def dhcp(op, mtype, yiaddr=b"\0" * 4, opts=b""):
    hdr = bytes([op, 1, 6, 0]) + be32(0x3903f326) + be16(0) + be16(0x8000) + b"\0" * 4 + yiaddr + b"\0" * 8
    hdr += b"\x02\x00\x00\x00\x00\x14" + b"\0" * 10 + b"\0" * 192
    return hdr + be32(0x63825363) + bytes([53, 1, mtype]) + opts + b"\xff"
write("FuzzDHCP", "discover", dhcp(1, 1, opts=bytes([12, 6]) + b"pc-014" + bytes([61, 7, 1]) + b"\x02\0\0\0\0\x14"))
write("FuzzDHCP", "request", dhcp(1, 3, opts=bytes([50, 4, 192, 168, 10, 20, 54, 4, 192, 168, 10, 1, 12, 2]) + b"pc"))
write("FuzzDHCP", "ack", dhcp(2, 5, bytes([192, 168, 10, 20]), bytes([51, 4]) + be32(86400) + bytes([54, 4, 192, 168, 10, 1, 0, 0])))

# --- SIP: the whole input is one datagram (start line, headers, body).
write("FuzzSIP", "invite", b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776\r\n"
      b"From: Alice <sip:alice@example.com>;tag=1928\r\nTo: Bob <sip:bob@example.com>\r\nCall-ID: a84b4c76e66710\r\n"
      b"CSeq: 314159 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n")
write("FuzzSIP", "compact", b"SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP h;branch=z9\r\nf: <sip:a@b>\r\nt: <sip:c@d>;tag=1\r\ni: x@y\r\nl: 0\r\n\r\n")

# --- PgSQL: pieces led by a control byte ((len - 1) / 3 in bits 0-5, bit 6 server, bit 7 gap).
def pg_pieces(parts): return pieces(parts, 3)
def pg(t, body): return t + be32(len(body) + 4) + body
pg_startup = be32(8 + 27) + be32(0x00030000) + b"user\0sato\0database\0office\0\0"
write("FuzzPgSQL", "session", pg_pieces([
    (False, be32(8) + be32(80877103)), (True, b"N"), (False, pg_startup[:4] + pg_startup[4:]),
    (True, pg(b"R", be32(0)) + pg(b"S", b"TimeZone\0UTC\0") + pg(b"K", be32(1) + be32(2)) + pg(b"Z", b"I")),
    (False, pg(b"Q", b"SELECT 1;\0")),
    (True, pg(b"T", be16(1) + b"a\0" + b"\0" * 18) + pg(b"D", be16(1) + be32(1) + b"1") + pg(b"C", b"SELECT 1\0") + pg(b"Z", b"I")),
    (False, pg(b"Q", b"SELECT 1/0;\0")),
    (True, pg(b"E", b"SERROR\0C22012\0Mdivision by zero\0\0") + pg(b"Z", b"I")),
    (False, pg(b"X", b""))]))
write("FuzzPgSQL", "sasl", pg_pieces([
    (False, pg_startup), (True, pg(b"R", be32(10) + b"SCRAM-SHA-256\0\0")),
    (False, pg(b"p", b"SCRAM-SHA-256\0" + be32(8) + b"n,,n=,r=")), (True, pg(b"R", be32(11) + b"r=x,s=y,i=4096")),
    (False, pg(b"p", b"c=biws")), (True, pg(b"R", be32(12) + b"v=z") + pg(b"R", be32(0)) + pg(b"Z", b"I"))]))

# --- SSH: pieces of 3-byte units (Fuzz/Shared/FuzzPieces.swift).
def ssh_packet(payload, padding=4): return be32(len(payload) + padding + 1) + bytes([padding]) + payload + b"\0" * padding
def ssh_lists(lists): return b"".join(be32(len(l)) + l for l in lists)
ssh_kexinit = ssh_packet(b"\x14" + b"\xa5" * 16 + ssh_lists([b"curve25519-sha256,diffie-hellman-group14-sha256", b"ssh-ed25519",
    b"aes128-ctr,aes256-gcm@openssh.com", b"aes128-ctr", b"hmac-sha2-256", b"hmac-sha2-256", b"none,zlib@openssh.com", b"none", b"", b""])
    + b"\0" + be32(0), 6)
ssh_newkeys = ssh_packet(b"\x15", 10)
write("FuzzSSH", "handshake", pieces([
    (True, b"SSH-2.0-OpenSSH_9.6 Ubuntu-3ubuntu13\r\n"), (False, b"SSH-2.0-PuTTY_Release_0.80\r\n"),
    (True, ssh_kexinit), (False, ssh_kexinit), (False, ssh_packet(b"\x1e" + be32(4) + b"abcd")),
    (True, ssh_packet(b"\x1f" + b"\x07" * 40)), (True, ssh_newkeys), (False, ssh_newkeys), (False, b"\xde\xad\xbe\xef")], 3))
write("FuzzSSH", "prelines", pieces([(True, b"Welcome\r\nSSH-1.99-Cisco-1.25\n"), (False, b"SSH-1.5-x\rSSH")], 3))

# --- SMB: pieces led by a control byte ((len - 1) / 5 in bits 0-5, bit 6 server, bit 7 gap).
def smb_pieces(parts): return pieces(parts, 5)
def le16(v): return struct.pack("<H", v & 0xffff)
def le32(v): return struct.pack("<I", v & 0xffffffff)
def le64(v): return struct.pack("<Q", v)
def smb2(cmd, mid, resp, body, status=0, tree=0, sess=0):
    h = b"\xfeSMB" + le16(64) + le16(1) + le32(status) + le16(cmd) + le16(1) + le32(1 if resp else 0) + le32(0) + le64(mid) + le32(0) + le32(tree) + le64(sess) + b"\0" * 16
    m = h + body
    return b"\0" + len(m).to_bytes(3, "big") + m
path = "\\\\srv\\share".encode("utf-16-le")
write("FuzzSMB", "session", smb_pieces([
    (False, smb2(0, 0, False, le16(36) + le16(2) + le16(1) + le16(0) + le32(0) + b"\xab" * 16 + le64(0) + le16(0x0210) + le16(0x0311))),
    (True, smb2(0, 0, True, le16(65) + le16(1) + le16(0x0311) + le16(0) + bytes(range(16)) + b"\0" * 40)),
    (False, smb2(3, 1, False, le16(9) + le16(0) + le16(72) + le16(len(path)) + path, sess=5)),
    (True, smb2(3, 1, True, le16(16) + b"\x01\0" + le32(0) * 2, tree=7, sess=5)),
    (False, b"\0\0\0\x10\xfdSMB" + b"\0" * 12)]))
pipe_path = "\\\\srv\\IPC$".encode("utf-16-le")
pipe_file = le64(0x77) + le64(0x99)
pipe_bind = bytes([5, 0, 11, 3, 0x10, 0, 0, 0]) + le16(72) + le16(0) + le32(1) + le16(4280) * 2 + le32(0) + b"\x01\0\0\0" + le16(0) + b"\x01\0" + b"\x11" * 16 + le32(1) + b"\x22" * 16 + le32(2)
write("FuzzSMB", "pipe", smb_pieces([
    (False, smb2(3, 1, False, le16(9) + le16(0) + le16(72) + le16(len(pipe_path)) + pipe_path, sess=5)),
    (True, smb2(3, 1, True, le16(16) + b"\x02\0" + le32(0) * 2, tree=5, sess=5)),
    (False, smb2(11, 2, False, le16(57) + le16(0) + le32(0x0011C017) + pipe_file + le32(120) + le32(len(pipe_bind)) + le32(0) * 3 + le32(4280) + le32(1) + le32(0) + pipe_bind, tree=5, sess=5)),
    (True, smb2(11, 2, True, le16(49) + le16(0) + le32(0x0011C017) + pipe_file + le32(0) * 2 + le32(112) + le32(8) + le32(0) * 2 + b"\x05\0\x0c\x03" + b"\0" * 4, tree=5, sess=5)),
    (False, smb2(9, 3, False, le16(49) + le16(112) + le32(8) + le64(0) + pipe_file + le32(0) * 2 + le16(0) * 2 + le32(0) + b"\x05\0\0\x03\x10\0\0\0", tree=5, sess=5)),
    (False, smb2(8, 4, False, le16(49) + b"\x50\0" + le32(4280) + le64(0) + pipe_file + le32(0) * 3 + le16(0) * 2 + b"\0", tree=5, sess=5)),
    (True, smb2(8, 4, True, le16(17) + b"\x50\0" + le32(4) + le32(0) * 2 + b"\x05\0\x02\x03", tree=5, sess=5))]))
write("FuzzSMB", "smb1", smb_pieces([
    (False, b"\0\0\0\x2f\xffSMB\x72" + b"\0" * 4 + b"\x18" + b"\0" * 22 + b"\0" + le16(12) + b"\x02NT LM 0.12\0"),
    (True, b"\0\0\0\x25\xffSMB\x72" + b"\0" * 4 + b"\x98" + b"\0" * 22 + b"\x01\0\0" + le16(0))]))

# --- DCE/RPC: pieces led by a control byte ((len - 1) / 4 in bits 0-5, bit 6 server, bit 7 gap).
def dce_uuid(s, le=True):
    b = bytes.fromhex(s.replace("-", ""))
    return (b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:]) if le else b
def dce_pdu(ptype, call, body, flags=3, le=True, auth=b""):
    u16 = (lambda v: struct.pack("<H" if le else ">H", v))
    u32 = (lambda v: struct.pack("<I" if le else ">I", v))
    trailer = (b"\x0a\x02\0\0" + u32(0) + auth) if auth else b""
    return bytes([5, 0, ptype, flags, 0x10 if le else 0, 0, 0, 0]) + u16(16 + len(body) + len(trailer)) + u16(len(auth)) + u32(call) + body + trailer
def dce_session(le):
    u16 = (lambda v: struct.pack("<H" if le else ">H", v))
    u32 = (lambda v: struct.pack("<I" if le else ">I", v))
    ndr = dce_uuid("8a885d04-1ceb-11c9-9fe8-08002b104860", le) + u32(2)
    ctx = lambda i, u: u16(i) + b"\x01\0" + dce_uuid(u, le) + u16(1) + u16(0) + ndr
    bind = dce_pdu(11, 1, u16(4280) + u16(4280) + u32(0) + b"\x02\0\0\0"
                   + ctx(0, "12345678-1234-abcd-ef00-0123456789ab") + ctx(1, "c681d488-d850-11d0-8c52-00c04fd90f7e"), le=le)
    sec = b"\\PIPE\\spoolss\0"
    ack_body = u16(4280) + u16(4280) + u32(0x1234) + u16(len(sec)) + sec
    ack_body += b"\0" * ((-(16 + len(ack_body))) % 4) + b"\x02\0\0\0" + (u16(0) + u16(0) + ndr) + (u16(2) + u16(1) + ndr)
    req = lambda call, flags, stub, obj=b"": dce_pdu(0, call, u32(len(stub)) + u16(0) + u16(89) + obj + stub, flags | (0x80 if obj else 0), le)
    return [(False, bind), (True, dce_pdu(12, 1, ack_body, le=le)),
            (False, req(2, 1, b"\x44\x33\x22\x11" + b"A" * 30)), (False, req(2, 0, b"B" * 20)), (False, req(2, 2, b"C" * 3)),
            (True, dce_pdu(2, 2, u32(4) + u16(0) + b"\0\0" + u32(0), le=le)),
            (False, req(3, 3, b"xyz", obj=dce_uuid("01020304-0506-0708-090a-0b0c0d0e0f10", le))),
            (True, dce_pdu(3, 3, u32(0) + u16(0) + b"\0\0" + u32(0x1c010002) + u32(0), le=le)),
            (False, dce_pdu(0, 4, u32(2) + u16(1) + u16(1) + b"zz", auth=b"\xaa" * 16, le=le)),
            (False, dce_pdu(14, 5, u16(4280) + u16(4280) + u32(0) + b"\x01\0\0\0" + ctx(2, "12345778-1234-abcd-ef00-0123456789ab"), le=le)),
            (True, dce_pdu(13, 5, u16(0), le=le))]
write("FuzzDCERPC", "session-le", pieces(dce_session(True), 4))
write("FuzzDCERPC", "session-be", pieces(dce_session(False), 4))

# --- Decode: first byte picks the link type (0 = Ethernet, 3 = raw IP, ...).
def ipv4(proto, l4, frag=0):
    h = bytearray(b"\x45\x00" + be16(20 + len(l4)) + be16(7) + be16(frag) + bytes([64, proto]) + b"\x00\x00"
                  + bytes([192, 168, 1, 10]) + bytes([93, 184, 216, 34]))
    return bytes(h) + l4
def tcp(flags, payload=b""): return be16(40000) + be16(80) + be32(1000) + be32(0) + bytes([0x50, flags]) + be16(65535) + b"\x00" * 4 + payload
def udp(payload): return be16(5353) + be16(53) + be16(8 + len(payload)) + b"\x00\x00" + payload
eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
write("FuzzDecode", "eth_tcp", b"\x00" + eth + be16(0x0800) + ipv4(6, tcp(0x18, b"GET / HTTP/1.1\r\n\r\n")))
write("FuzzDecode", "eth_vlan_udp", b"\x00" + eth + be16(0x8100) + be16(7) + be16(0x0800) + ipv4(17, udp(b"\x12\x34")))
ip6 = be32(6 << 28) + be16(8 + 8) + bytes([44, 64]) + b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01" + b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x02"
write("FuzzDecode", "raw_ipv6_frag", b"\x03" + ip6 + bytes([17, 0]) + be16(1) + be32(99) + udp(b"")[:8])
write("FuzzDecode", "ipv4_frag", b"\x03" + ipv4(17, udp(b"abcdefgh"), frag=0x2000))
write("FuzzDecode", "all_linktypes", b"\xff" + eth + be16(0x86dd) + ip6[:40] + b"\x00" * 16)
arp = be16(1) + be16(0x0800) + bytes([6, 4]) + be16(1) + eth[6:] + bytes([192, 168, 1, 10]) + b"\x00" * 6 + bytes([192, 168, 1, 1])
write("FuzzDecode", "eth_arp_request", b"\x00" + eth + be16(0x0806) + arp)
write("FuzzDecode", "eth_vlan_arp", b"\x00" + eth + be16(0x8100) + be16(7) + be16(0x0806) + arp)
write("FuzzDecode", "ipv6_in_ipv4", b"\x00" + eth + be16(0x0800) + ipv4(41, be32(6 << 28) + be16(8) + bytes([17, 64]) + b"\x00" * 32 + udp(b"")))

# --- Stream: 4 configuration bytes, then 6-byte records (op, flags, offset le16, length, extra).
recs = [(0, 0x02, 0, 0, 0), (1, 0x12, 0, 0, 0), (0, 0x10, 1, 0, 0), (0, 0x18, 1, 40, 0),
        (1, 0x18, 1, 60, 0), (0, 0x18, 81, 30, 0), (0, 0x18, 61, 30, 0), (0xF4, 0, 0, 0, 0xF0),
        (0, 0x11, 111, 0, 0), (1, 0x11, 61, 0, 0)]
write("FuzzStream", "handshake_ooo", b"\x03\x01\x22\x03" + b"".join(bytes([o, f]) + struct.pack("<H", off) + bytes([l, e]) for o, f, off, l, e in recs))

# --- QUIC: even first byte: datagrams (2-byte length, top bit = to client); odd: a decrypted payload.
vec = os.path.join(root, "Tests/UTMAppLayerTests/QUICVectors.swift")
try:
    text = open(vec).read()
    for name in ("rfc9001ClientInitialHex", "rfc9369ClientInitialHex"):
        m = re.search(r"let %s = \"\"\"(.*?)\"\"\"" % name, text, re.S)
        if m:
            dgram = bytes.fromhex(re.sub(r"[^0-9a-fA-F]", "", m.group(1)))
            write("FuzzQUIC", name, b"\x00" + be16(len(dgram)) + dgram)
    m = re.search(r"let rfcCryptoFrameHex = \"\"\"(.*?)\"\"\"", text, re.S)
    if m:
        frame = bytes.fromhex(re.sub(r"[^0-9a-fA-F]", "", m.group(1)))
        write("FuzzQUIC", "crypto_frame", b"\x01" + frame + b"\x00" * 8)
except OSError:
    pass
write("FuzzQUIC", "crypto_frames", b"\x01" + b"\x06\x00\x40\x10" + ch[:16] + b"\x01\x06\x10\x20" + ch[16:48])

# --- Artifact: a MIMASIG1 header (signature of zeros: never verifies) over a payload archive.
import hashlib
def be64(v): return struct.pack(">Q", v)
def archive(files): return be32(len(files)) + b"".join(be16(len(n)) + n + be64(len(d)) + d for n, d in files)
payload = archive([(b"et.rules", b'alert tcp any any -> any 80 (msg:"x"; sid:1;)\n'), (b"main.hdb", b"00:1:x\n")])
header = b"MIMASIG1" + be16(1) + bytes([1, 0]) + b"\x00" * 4 + b"\x11" * 8 + be64(7) + be64(1_799_990_000) \
    + be64(1_800_090_000) + be64(len(payload)) + hashlib.sha256(payload).digest()
write("FuzzArtifact", "ips_artifact", header + b"\x00" * 64 + payload)
write("FuzzArtifact", "archive_only", payload)
write("FuzzArtifact", "empty_firmware", header[:10] + bytes([4]) + header[11:48] + be64(0) + hashlib.sha256(b"").digest() + b"\x00" * 64)
# --- AV: mode 5 (low 3 bits) = a mail scan; attachment names in RFC 2047 and RFC 2231 forms.
eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
import base64 as _b64
for i, disp in enumerate([b'attachment; filename="=?UTF-8?B?6KuL5rGC5pu4LmNvbQ==?="',
                          b"attachment; filename*=UTF-8''%E8%AB%8B.com",
                          b"attachment; filename*0*=iso-8859-1''%E9t; filename*1=\"e.com\"",
                          b'attachment; filename="=?iso-8859-1?Q?R=E9sum=E9_1?=\r\n =?utf-8?q?x.com?="']):
    mail = (b"From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Disposition: " + disp +
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _b64.b64encode(eicar) + b"\r\n--b--\r\n")
    write("FuzzAV", "mail_name_%d" % i, bytes([5 | (3 << 3)]) + mail)

# --- FTP: pieces led by a control byte ((len - 1) / 3 in bits 0-5, bit 6 server, bit 7 gap),
# as for PgSQL.
write("FuzzFTP", "session", pg_pieces([
    (True, b"220-Welcome\r\n220 FTP ready\r\n"), (False, b"USER anonymous\r\n"), (True, b"331 Password\r\n"),
    (False, b"PASS a@b\r\n"), (True, b"230 OK\r\n"), (False, b"PASV\r\n"),
    (True, b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n"), (False, b"RETR f.zip\r\n"),
    (True, b"150 Opening\r\n226 Done\r\n"), (False, b"EPSV\r\n"), (True, b"229 Extended (|||40001|)\r\n"),
    (False, b"PORT 10,0,0,9,4,1\r\nEPRT |1|10.0.0.9|6275|\r\n"), (True, b"200 ok\r\n200 ok\r\n"),
    (False, b"FEAT\r\n"), (True, b"211-Features:\r\n EPRT\r\n EPSV\r\n211 End\r\n"),
    (False, b"AUTH TLS\r\n"), (True, b"234 Proceed\r\n"), (False, b"\x16\x03\x01")]))

# --- SMTP: the same pieces; a session with pipelining, a folded-header DATA message, BDAT and
# STARTTLS.
write("FuzzSMTP", "session", pg_pieces([
    (True, b"220 mx ESMTP\r\n"), (False, b"EHLO c.example\r\n"), (True, b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    (False, b"MAIL FROM:<a@x> SIZE=9\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nRCPT TO:<d@y>\r\nDATA\r\n"),
    (True, b"250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"),
    (False, b"Received: from a\r\n by b\r\nReceived: x\r\nReceived: y\r\nSubject: hi\r\n there\r\nTo: b@y,\r\n c@y\r\n\r\n..x <https://a.example/p?q=1> http://b\r\n.\r\n"),
    (True, b"250 queued\r\n"), (False, b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 12\r\nSubject: q\r\n"),
    (True, b"250 ok\r\n250 ok\r\n250 ok\r\n"), (False, b"BDAT 3 LAST\r\n\r\nz"), (True, b"250 ok\r\n"),
    (False, b"AUTH LOGIN\r\n"), (True, b"334 VXNlcg==\r\n"), (False, b"dXNlcg==\r\n"), (True, b"235 ok\r\n"),
    (False, b"STARTTLS\r\n"), (True, b"220 go\r\n\x16\x03\x03\x00\x02"), (False, b"\x16\x03\x01")]))
write("FuzzSMTP", "no_greeting", pg_pieces([
    (False, b"HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n"), (True, b"250 ok\r\n250 ok\r\n554 no\r\n250 extra\r\nbad\r\n"),
    (False, b"RSET\r\nQUIT\r\n")]))

# --- ASN.1: a control byte (start offset, checks), then BER.
write("FuzzASN1", "spnego", bytes([0x70]) + bytes.fromhex(
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001000000978208e2"
    "00000000000000000000000000000000"))
write("FuzzASN1", "bitstring", bytes([0x10, 0x30, 0x03, 0x03, 0x01, 0xff]))
write("FuzzASN1", "real", bytes([0x20, 0x09, 0x82, 0x01, 0x01, 0x05]) + b"\x05" * 256)
write("FuzzASN1", "indefinite", bytes([0x40, 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00, 0xdf, 0x81, 0x01, 0x00]))

# --- base64_decode: a control byte (output capacity 0-63), then the bytes to decode.
write("FuzzBase64", "plain", bytes([63]) + b"data=" + b"Y21kLmV4ZSAvYyB3aG9hbWk=")
write("FuzzBase64", "unpadded", bytes([7]) + b"TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA")
write("FuzzBase64", "stops", bytes([20]) + b"x=Y21k\r\nLmV4ZQ==rest")
write("FuzzRules", "appproto", b"""alert ftp any any -> any any (msg:"a"; app-layer-protocol:!http,to_server; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"x="; base64_decode:bytes 10,offset 1,relative; base64_data; content:"y"; sid:2;)
alert tcp any any -> any any (msg:"c"; xbits:set,ET.z,track ip_pair,expire 60; xbits:noalert; hostbits:isnotset,q,dst; sid:3;)
alert smtp any any -> any any (msg:"d"; app-layer-protocol:unknown|tls|failed,either; sid:4;)
""")

# --- Session 6 keywords (bsize, byte_math, header keywords, tls.version) with a payload that
# starts like the facts FuzzRules reads from its first bytes.
write("FuzzRules", "session6", b"""alert http any any -> any any (http.host; bsize:11; content:"example.com"; sid:1;)
alert http any any -> any any (http.uri; bsize:!3-6; content:"a"; bsize:<=100; sid:2;)
alert tcp any any -> any any (content:"LEN"; byte_math:bytes 2, offset 0, oper +, rvalue 4, result n, relative, endian little; byte_test:2,=,n,0,relative; content:"x"; distance:n; sid:3;)
alert tcp any any -> any any (byte_extract:1,0,d; byte_math:bytes 1, offset 1, oper /, rvalue d, result q, bitmask 0x0f; isdataat:q; sid:4;)
alert tcp any any -> any any (byte_math:bytes 3, offset 0, oper <<, rvalue 40, result s, string hex; sid:5;)
alert ip any any -> any any (fragbits:+D; fragoffset:!0; tos:x10; ipopts:rr; sameip; sid:6;)
alert tcp any any -> any any (seq:0; ack:0; window:!1024; tcp.mss:<1400; tcp.flags:S; sid:7;)
alert icmp any any -> any any (icmp_seq:7; sid:8;)
alert tls any any -> any any (flow:to_client; tls.version:1.3; sid:9;)
\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x05\xb4\x06\x00\x00\x10\x00\x07\x03\x04\x07LEN\x04\x00\x08\x00x
""")

# --- Firewall rules (FuzzRules also loads its input as a firewall ruleset and policy lines).
write("FuzzRules", "firewall", b"""accept:hook tcp:all any any -> any any (sid:100;)
accept:hook,alert http1:request_started any any -> any any (sid:101;)
accept:tx http1:request_line any any -> any any (http.method; content:"GET"; sid:102;)
accept:flow tls:<client_hello_done any any -> any 443 (tls.sni; content:"example.org"; sid:103;)
accept:tx,alert http2:stream:request_headers any any -> any any (http.uri; content:"/dns"; sid:104;)
drop:flow,alert tcp:flow_start any any -> any 23 (flags:S; sid:105;)
packet.filter=accept:hook,alert
app.http1.request-line=accept:tx,alert
app.http2.default-policy=drop:flow
""")

# --- Transform rules for FuzzRules: chains on sticky buffers, the rule errors around them.
write("FuzzRules", "transforms", b"""alert dns any any -> any any (dns.query; dotprefix; content:".evil.xyz"; nocase; endswith; sid:1;)
alert tls any any -> any any (tls.sni; to_lowercase; dotprefix; content:".bad.example"; endswith; sid:2;)
alert http any any -> any any (http.uri; url_decode; compress_whitespace; strip_whitespace; to_uppercase; content:"/A"; sid:3;)
alert http any any -> any any (http.header; header_lowercase; strip_pseudo_headers; content:"host:"; sid:4;)
alert http any any -> any any (http.request_line; to_md5; to_sha1; to_sha256; content:"|00|"; sid:5;)
alert http any any -> any any (http.cookie; xor:"0d0a"; xor:offset 2,ff; content:"a"; sid:6;)
alert http any any -> any any (http.uri; pcrexform:"q=([^&]*)"; content:"x"; http.host; from_base64:bytes 8, offset 1, mode rfc2045; content:"y"; sid:7;)
alert http any any -> any any (http.uri; content:"a"; dotprefix; sid:8;)
alert tcp any any -> any any (dotprefix; content:"a"; sid:9;)
GET /a%20b?q=x HTTP/1.1\r\nHost: eQ==\r\n\r\n
""")

# --- Transforms: control (chain length - 1 in bits 0-1, arena in bits 2-3), one byte per
# transform kind (k % 14; xor: key length byte and key follow; from_base64: one option byte),
# then the buffer.
write("FuzzTransforms", "dotprefix-lower", bytes([0x0d, 1, 0]) + b"WWW.Evil.XYZ")
write("FuzzTransforms", "urldecode", bytes([0x0c, 5]) + b"/a%2Fb%20c?q=sel%65ct+1%ZZ%4")
write("FuzzTransforms", "whitespace-hash", bytes([0x0e, 4, 3, 9]) + b"  GET   /x \t HTTP/1.1 \r\n")
write("FuzzTransforms", "xor", bytes([0x08, 6, 3, 0x0d, 0x0a, 0xc8]) + b"example.com")
write("FuzzTransforms", "headers", bytes([0x09, 11, 10]) + b":method: GET\nHost: A\n:path: /\nX-Y: Z\n")
write("FuzzTransforms", "pcrexform", bytes([0x0c, 12]) + b"/x?user=secret&y=1")
write("FuzzTransforms", "base64", bytes([0x0c, 13, 0x01]) + b"aGVs\r\nbG8=")
write("FuzzTransforms", "overflow", bytes([0x03, 0, 0, 0, 0]) + b"a" * 70)

# --- Stream window: records (control byte: length, bit 6 to client, bit 7 gap; then bytes mapped
# onto "ABCDx\r\n": 0 A, 1 B, 2 C, 3 D, 4 x).
def sw(parts):
    data = b""
    for to_client, gap, text in parts:
        m = bytes("ABCDx\r\n".index(ch) for ch in text)
        data += bytes([len(m) | (0x40 if to_client else 0) | (0x80 if gap else 0)]) + m
    return data
write("FuzzStreamWindow", "split", sw([(0, 0, "xxAAAAxx"), (0, 0, "xxBBBBxx")]))
write("FuzzStreamWindow", "both-dirs", sw([(0, 0, "xAB"), (1, 0, "DAxx"), (0, 0, "CCCCDD"), (1, 0, "xxAD")]))
write("FuzzStreamWindow", "gap", sw([(0, 0, "ABxxxxxxxxxxxxxxxxx"), (0, 1, "BAxAAAA"), (0, 0, "BBBBCxA")]))

# --- Body accumulation: records (control byte: length, bit 6 the body ends after it, bit 7 a new
# transaction before it; then bytes mapped onto "ABCDx\r\n" as above).
def ba(parts):
    data = b""
    for ends, new, text in parts:
        m = bytes("ABCDx\r\n".index(ch) for ch in text)
        data += bytes([len(m) | (0x40 if ends else 0) | (0x80 if new else 0)]) + m
    return data
write("FuzzBodyAccumulation", "split", ba([(0, 0, "xxAAAAxx"), (0, 0, "xxBBBBxCx"), (1, 0, "Cxx")]))
write("FuzzBodyAccumulation", "steps", ba([(0, 0, "AB" + "x" * 60), (0, 0, "CxC" + "x" * 50), (0, 0, "DAxxAD" * 9), (1, 0, "xDD")]))
write("FuzzBodyAccumulation", "two-tx", ba([(0, 0, "ABxxxBAxx"), (0, 1, "DD"), (0, 0, "xxxxxBAxxDD")]))

# --- Rule filter files for FuzzRuleFilters: first byte = kind (0 disable, 1 enable, 2 drop, 3 modify).
write("FuzzRuleFilters", "drop", b"\x02# policy\n2000001\n1:2000001:2, 3:2000002\nre:^(?=.*ET TROJAN)(?=.*severity (major|critical))\nmetadata: former_category trojan\ngroup:emerging-*\nemerging-all.rules\nfilename:rules/*.rules\n*\n")
write("FuzzRuleFilters", "enable", b"\x01re:ET INFO\n3:2000002\n")
write("FuzzRuleFilters", "modify", b"\x03re:ET 'content:\"(/ga)(te)\"' 'content:\"\\2\\g<1>${1}\"'\nmodifysid 2000001 \"alert\" | \"drop\"\n* \"sid\" \"sid\"\n")
write("FuzzRuleFilters", "bad", b"\x00group:[!a-\nre:(\n1:2:3:4\n")

# --- Hash lists for FuzzFileHashList (session 9): first byte = kind (0 md5, 1 sha1, 2 sha256; bit 7 negated).
write("FuzzFileHashList", "md5sum", b"\x00# list\n0123456789abcdef0123456789abcdef  a.exe\r\n\nFFEEDDCCBBAA99887766554433221100\n")
write("FuzzFileHashList", "sha1", b"\x01da39a3ee5e6b4b0d3255bfef95601890afd80709\n")
write("FuzzFileHashList", "sha256", b"\x82e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 empty\n")
write("FuzzFileHashList", "bad", b"\x000123\nzz\n")
# --- Dataset list files for FuzzDatasetList (session 9): first byte = type (0 string, 1 md5,
# 2 sha256, 3 ipv4, 4 ip); the rest the list file.
write("FuzzDatasetList", "string", b"\x00ZXZpbC5leGFtcGxl\nYzIuYmFkLmNvbQ==,90\r\n\nYQ\n")
write("FuzzDatasetList", "md5", b"\x01d7e6c9a88a1b87f555809153562ff93a\nD7E6C9A88A1B87F555809153562FF93B,5\n")
write("FuzzDatasetList", "sha256", b"\x0295a828a32d3362bf2c83c63cb90b010622ffd143c1a56f477ac2d6b9e82591d3,65535\n")
write("FuzzDatasetList", "ipv4", b"\x0310.81.0.1\n0.0.0.0,9\n255.255.255.255\n")
write("FuzzDatasetList", "ip", b"\x04fd00:81::1\n10.81.0.2\n::ffff:10.81.0.3,40\n::\n")
write("FuzzDatasetList", "bad", b"\x00!!\n,\nZ===\n")
