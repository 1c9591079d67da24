#!/usr/bin/env python3
"""Writes an antivirus test capture (standard library only; never committed: tests make it in a
temporary folder). Every file of a folder (default /usr/share/clamav-testfiles) is downloaded
over HTTP/1.1 on its own IPv4 TCP connection, in 1448-byte segments:
  - most with Content-Length,
  - every third chunked (chunks of 1000 bytes, cut across segments),
  - every fifth gzip-encoded (Content-Encoding: gzip, with Content-Length),
plus an EICAR attachment in base64 over SMTP (port 25) and an EICAR message fetched with POP3
RETR (port 110).
A manifest (JSON Lines) says for each file: name, proto, client port, encoding and `last_frame`,
the 0-based index of the frame carrying the last bytes of the file's message (the packet the
engine must reject when the file is infected).
usage: tools/mkavcapture.py OUT.pcap MANIFEST.jsonl [DIR]
"""
import base64, gzip, json, os, struct, sys

OUT, MANIFEST = sys.argv[1], sys.argv[2]
DIR = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/clamav-testfiles"
T0 = 1_767_225_600
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MSS = 1448
frames = []

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload

def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(data)) + hdr + data)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + data

def emit(src, dst, seg):
    n = len(frames)
    frames.append((T0 + n // 1000, (n % 1000) * 1000,
                   b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip4(src, dst, seg)))
    return n

class Conn:
    def __init__(self, cport, sport):
        self.c, self.s = [192, 168, 1, 20], [198, 51, 100, 7]
        self.cp, self.sp = cport, sport
        self.cs, self.ss = 100000 + cport * 7, 900000 + cport * 13
        emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, 0, 0x02)); self.cs += 1
        emit(self.s, self.c, tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs, 0x12)); self.ss += 1
        emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x10))

    def send(self, to_server, data):
        """Sends data in segments, each acknowledged; returns the index of the last data frame."""
        last = -1
        for off in range(0, len(data), MSS):
            part = data[off:off + MSS]
            if to_server:
                last = emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x18, part))
                self.cs += len(part)
                emit(self.s, self.c, tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs, 0x10))
            else:
                last = emit(self.s, self.c, tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs, 0x18, part))
                self.ss += len(part)
                emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x10))
        return last

    def close(self):
        emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x11)); self.cs += 1
        emit(self.s, self.c, tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs, 0x11)); self.ss += 1
        emit(self.c, self.s, tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x10))

manifest = []
names = sorted(os.listdir(DIR))
for i, name in enumerate(names):
    body = open(os.path.join(DIR, name), "rb").read()
    port = 20000 + i
    enc = "chunked" if i % 3 == 1 else "gzip" if i % 5 == 2 else None
    conn = Conn(port, 80)
    conn.send(True, b"GET /files/%s HTTP/1.1\r\nHost: files.example.com\r\n\r\n" % name.encode())
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    head += b'Content-Disposition: attachment; filename="%s"\r\n' % name.encode()
    if enc == "chunked":
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[o:o + 1000]), body[o:o + 1000]) for o in range(0, len(body), 1000)) + b"0\r\n\r\n"
        head += b"Transfer-Encoding: chunked\r\n\r\n"
    else:
        payload = gzip.compress(body, mtime=0) if enc == "gzip" else body
        if enc == "gzip": head += b"Content-Encoding: gzip\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(payload)
    last = conn.send(False, head + payload)
    conn.close()
    manifest.append({"file": name, "proto": "http", "port": port, "encoding": enc, "last_frame": last})

# SMTP: EICAR as a base64 attachment.
conn = Conn(21000, 25)
conn.send(False, b"220 mail.example.com ESMTP\r\n")
conn.send(True, b"EHLO pc.example.com\r\n"); conn.send(False, b"250 mail.example.com\r\n")
conn.send(True, b"MAIL FROM:<a@example.com>\r\n"); conn.send(False, b"250 OK\r\n")
conn.send(True, b"RCPT TO:<b@example.com>\r\n"); conn.send(False, b"250 OK\r\n")
conn.send(True, b"DATA\r\n"); conn.send(False, b"354 go ahead\r\n")
mail = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"eicar.com\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(EICAR).replace(b"\n", b"\r\n") + b"--XYZ--\r\n.\r\n")
last = conn.send(True, mail)
conn.send(False, b"250 queued\r\n"); conn.send(True, b"QUIT\r\n"); conn.send(False, b"221 bye\r\n")
conn.close()
manifest.append({"file": "eicar.com", "proto": "smtp", "port": 21000, "encoding": "base64", "last_frame": last})

# POP3: RETR of a message whose body is EICAR.
conn = Conn(21001, 110)
conn.send(False, b"+OK POP3 ready\r\n")
conn.send(True, b"USER b\r\n"); conn.send(False, b"+OK\r\n")
conn.send(True, b"PASS x\r\n"); conn.send(False, b"+OK\r\n")
conn.send(True, b"RETR 1\r\n")
msg = (b"+OK message follows\r\nFrom: a@example.com\r\nSubject: test\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: application/octet-stream; name=\"eicar.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + base64.encodebytes(EICAR).replace(b"\n", b"\r\n") + b".\r\n")
last = conn.send(False, msg)
conn.send(True, b"QUIT\r\n"); conn.send(False, b"+OK bye\r\n")
conn.close()
manifest.append({"file": "eicar.com", "proto": "pop3", "port": 21001, "encoding": "base64", "last_frame": last})

with open(OUT, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for sec, usec, fr in frames:
        f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)
with open(MANIFEST, "w") as f:
    for m in manifest: f.write(json.dumps(m) + "\n")
