#!/usr/bin/env python3
"""Tiny stand-ins for the services of [000] table 6-1, for `utmctl diag` tests in a network
namespace: a DNS server (53/UDP, answers every query NOERROR with no records), an NTP server
(123/UDP, mode 4, stratum 2, the time now) and TCP listeners (80, 443, 8443: accept, close).
usage: peer-services.py BIND_ADDRESS"""
import socket, struct, sys, threading, time

addr = sys.argv[1]

def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 12:
            continue
        # same id, QR + RD + RA, NOERROR, the question echoed, no answers
        s.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:], peer)

def ntp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 123))
    while True:
        q, peer = s.recvfrom(512)
        if len(q) < 48:
            continue
        now = time.time() + 2208988800
        ts = struct.pack("!II", int(now), int((now % 1) * 2**32))
        # LI 0, VN 4, mode 4; stratum 2; originate = the client's transmit time
        s.sendto(b"\x24\x02\x06\xec" + b"\x00" * 8 + b"LOCL" + ts + q[40:48] + ts + ts, peer)

def tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.close()

threads = [threading.Thread(target=dns), threading.Thread(target=ntp)] + \
          [threading.Thread(target=tcp, args=(p,)) for p in (80, 443, 8443)]
for t in threads:
    t.daemon = True
    t.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
