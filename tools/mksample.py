#!/usr/bin/env python3
"""Writes Tests/Fixtures/sample-office.pcap: a small, deterministic office capture made from
scratch (standard library only), used as the embedded default of `utmctl replay` and as a
golden test. It holds, over Ethernet with IPv4 and IPv6:
  - a DNS query and answer (UDP) for www.example.jp,
  - an HTTP/1.1 keep-alive connection with two requests, one gzip-encoded, one chunked,
  - a TLS 1.3-style ClientHello with SNI and ALPN, and a ServerHello,
  - the same HTTP request over IPv6, split across segments and sent out of order.
usage: tools/mksample.py [OUT]
"""
import gzip, struct, sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/sample-office.pcap"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
frames = []
clock = [0]

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def eth(payload, v6=False):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + (b"\x86\xdd" if v6 else b"\x08\x00") + payload

def ip4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                      bytes(src), bytes(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload

def ip6(src, dst, proto, payload):
    return struct.pack("!IHBB", 6 << 28, len(payload), proto, 64) + bytes(src) + bytes(dst) + payload

def l4_csum(src, dst, proto, seg):
    if len(src) == 4:
        pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = bytes(src) + bytes(dst) + struct.pack("!IxxxB", len(seg), proto)
    return csum(pseudo + seg)

def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = l4_csum(src, dst, 6, hdr + data)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + data

def udp(src, dst, sport, dport, data):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    c = l4_csum(src, dst, 17, hdr + data)
    return hdr[:6] + struct.pack("!H", c) + data

def emit(frame):
    clock[0] += 1000
    frames.append((T0 + clock[0] // 1_000_000, clock[0] % 1_000_000, frame))

def packet(src, dst, proto, seg):
    v6 = len(src) == 16
    emit(eth((ip6 if v6 else ip4)(src, dst, proto, seg), v6))

class Conn:
    """A TCP connection with a handshake; send() emits data segments in the given order."""
    def __init__(self, c, s, cport, sport):
        self.c, self.s, self.cport, self.sport = c, s, cport, sport
        self.cseq, self.sseq = 1000, 5000
        packet(c, s, 6, tcp(c, s, cport, sport, self.cseq, 0, 0x02))
        packet(s, c, 6, tcp(s, c, sport, cport, self.sseq, self.cseq + 1, 0x12))
        self.cseq += 1; self.sseq += 1
        packet(c, s, 6, tcp(c, s, cport, sport, self.cseq, self.sseq, 0x10))

    def send(self, to_server, data, pieces=1, order=None):
        size = (len(data) + pieces - 1) // pieces
        chunks = [(i * size, data[i * size:(i + 1) * size]) for i in range(pieces)]
        for i in (order or range(pieces)):
            off, chunk = chunks[i]
            if to_server:
                packet(self.c, self.s, 6, tcp(self.c, self.s, self.cport, self.sport, self.cseq + off, self.sseq, 0x18, chunk))
            else:
                packet(self.s, self.c, 6, tcp(self.s, self.c, self.sport, self.cport, self.sseq + off, self.cseq, 0x18, chunk))
        if to_server: self.cseq += len(data)
        else: self.sseq += len(data)

    def close(self):
        packet(self.c, self.s, 6, tcp(self.c, self.s, self.cport, self.sport, self.cseq, self.sseq, 0x11))
        packet(self.s, self.c, 6, tcp(self.s, self.c, self.sport, self.cport, self.sseq, self.cseq + 1, 0x11))
        packet(self.c, self.s, 6, tcp(self.c, self.s, self.cport, self.sport, self.cseq + 1, self.sseq + 1, 0x10))

def dns_name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"

client4, server4, resolver = [192, 168, 10, 20], [203, 0, 113, 80], [192, 168, 10, 1]
client6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x20]
server6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [0] * 7 + [0x80]

# DNS query and answer.
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + dns_name("www.example.jp") + struct.pack("!HH", 1, 1)
a = (struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + dns_name("www.example.jp") + struct.pack("!HH", 1, 1)
     + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes(server4))
packet(client4, resolver, 17, udp(client4, resolver, 40000, 53, q))
packet(resolver, client4, 17, udp(resolver, client4, 53, 40000, a))

# HTTP keep-alive: a gzip response, then a chunked one.
http = Conn(client4, server4, 40001, 80)
http.send(True, b"GET /index.html HTTP/1.1\r\nHost: www.example.jp\r\nUser-Agent: Mozilla/5.0 (Mimamori sample)\r\nAccept-Encoding: gzip\r\n\r\n", pieces=2)
body = gzip.compress(b"<html><body>" + b"hello office " * 200 + b"</body></html>", mtime=0)
http.send(False, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body, pieces=2)
http.send(True, b"GET /report.csv?month=2026-01 HTTP/1.1\r\nHost: www.example.jp\r\nUser-Agent: Mozilla/5.0 (Mimamori sample)\r\n\r\n")
chunked = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
http.send(False, b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
http.close()

# TLS ClientHello with SNI and ALPN, and a ServerHello choosing TLS 1.3.
def ext(t, body): return struct.pack("!HH", t, len(body)) + body
sni = b"portal.example.jp"
exts = (ext(0, struct.pack("!HBH", len(sni) + 3, 0, len(sni)) + sni)
        + ext(10, struct.pack("!H", 4) + struct.pack("!HH", 29, 23))
        + ext(11, b"\x01\x00")
        + ext(13, struct.pack("!H", 4) + struct.pack("!HH", 0x0403, 0x0804))
        + ext(16, struct.pack("!H", 12) + b"\x02h2\x08http/1.1")
        + ext(43, b"\x04\x03\x04\x03\x03")
        + ext(51, struct.pack("!H", 36) + struct.pack("!HH", 29, 32) + bytes(range(32))))
ciphers = struct.pack("!HHHH", 0x1301, 0x1302, 0xc02b, 0xc02f)
ch = (b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", len(ciphers)) + ciphers + b"\x01\x00"
      + struct.pack("!H", len(exts)) + exts)
ch = b"\x01" + struct.pack("!I", len(ch))[1:] + ch
sh_exts = ext(43, b"\x03\x04") + ext(51, struct.pack("!HH", 29, 32) + bytes(range(32)))
sh = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x13\x01" + b"\x00" + struct.pack("!H", len(sh_exts)) + sh_exts
sh = b"\x02" + struct.pack("!I", len(sh))[1:] + sh
tls = Conn(client4, server4, 40002, 443)
tls.send(True, b"\x16\x03\x01" + struct.pack("!H", len(ch)) + ch, pieces=3)
tls.send(False, b"\x16\x03\x03" + struct.pack("!H", len(sh)) + sh + b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x10" + bytes(16))
tls.close()

# HTTP over IPv6, request split in three and sent out of order.
h6 = Conn(client6, server6, 40003, 8080)
h6.send(True, b"POST /upload HTTP/1.1\r\nHost: files.example.jp:8080\r\nContent-Length: 11\r\n\r\nhello world", pieces=3, order=[0, 2, 1])
h6.send(False, b"HTTP/1.1 204 No Content\r\n\r\n")
h6.close()

with open(OUT, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for sec, usec, fr in frames:
        f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)
print("wrote %s: %d packets" % (OUT, len(frames)))
