#!/usr/bin/env python3
"""Synthetic ClamAV database and file set for the antivirus benchmark (tools/avbench.sh).

    tools/mkavdb.py OUT [--hashes 100000] [--bodies 10000] [--files 200] [--file-size 1048576] [--seed 1]

Writes, deterministically for a given seed:
  OUT/db/bench.hdb   --hashes MD5 signatures (md5:size:name); a few are the MD5s of files below
  OUT/db/bench.ndb   --bodies body signatures (name:target:offset:hexsig) built from real-looking
                     pieces (x86 prologues and calls, Windows API and script strings, shell
                     commands) with every supported construct: ??, a?/?a nibbles, {n-m}, *,
                     (aa|bb) alternatives, absolute and EOF offsets, targets 0/1/3/7
  OUT/files/fNNNN.bin  random bytes, English-like text, PE-like binaries and HTML/JS, a few with
                     a body signature planted, a few whose whole-file MD5 is in bench.hdb
  OUT/expected.txt   "file<TAB>signature" for every planted detection (the scanners must agree)

No third-party data: every byte comes from this script's seeded generator.
"""
import argparse
import hashlib
import os
import random

API = [b"VirtualAlloc", b"VirtualAllocEx", b"WriteProcessMemory", b"CreateRemoteThread", b"LoadLibraryA",
       b"GetProcAddress", b"URLDownloadToFileA", b"WinExec", b"ShellExecuteA", b"RegSetValueExA",
       b"InternetOpenUrlA", b"CryptEncrypt", b"IsDebuggerPresent", b"NtUnmapViewOfSection",
       b"SetWindowsHookExA", b"GetAsyncKeyState", b"AdjustTokenPrivileges", b"OpenProcessToken"]
SCRIPT = [b"eval(unescape(", b"document.write(", b"WScript.Shell", b"new ActiveXObject(", b"String.fromCharCode(",
          b"powershell -nop -w hidden -enc ", b"cmd.exe /c ", b"Invoke-Expression", b"FromBase64String(",
          b"vssadmin delete shadows", b"schtasks /create /tn ", b"certutil -urlcache -split -f ",
          b"<iframe src=", b"window.location=", b"atob(", b"Shell.Application"]
# x86 fragments as (hex with wildcards, instantiation) pairs are built in code below.
PROLOGUES = ["558bec", "5589e5", "4883ec28", "4883ec38", "53565755", "8bff558bec", "6a0068", "31c0", "33c0"]


class Sig:
    """A body signature as a list of parts; renders to ClamAV hex and instantiates to bytes."""

    def __init__(self, rng):
        self.rng = rng
        self.parts = []  # (kind, data)

    def lit(self, b):
        self.parts.append(("lit", bytes(b)))

    def add(self, kind, data=None):
        self.parts.append((kind, data))

    def hex(self):
        out = []
        for kind, d in self.parts:
            if kind == "lit":
                out.append(d.hex())
            elif kind == "any":
                out.append("??" * d)
            elif kind == "nib":  # (byte, "hi"|"lo")
                b, which = d
                out.append(("%x?" % (b >> 4)) if which == "hi" else ("?%x" % (b & 15)))
            elif kind == "gap":
                out.append("{%d-%d}" % d)
            elif kind == "star":
                out.append("*")
            elif kind == "alt":
                out.append("(" + "|".join(x.hex() for x in d) + ")")
        return "".join(out)

    def instance(self):
        r = self.rng
        out = bytearray()
        for kind, d in self.parts:
            if kind == "lit":
                out += d
            elif kind == "any":
                out += r.randbytes(d)
            elif kind == "nib":
                b, which = d
                out.append((b & 0xF0) | r.randrange(16) if which == "hi" else (r.randrange(16) << 4) | (b & 15))
            elif kind == "gap":
                out += b"." * r.randint(d[0], d[1])
            elif kind == "star":
                out += b"." * r.randint(0, 200)
            elif kind == "alt":
                out += r.choice(d)
        return bytes(out)


def make_sig(rng, i):
    s = Sig(rng)
    style = i % 10
    uniq = rng.randbytes(4)  # keeps every signature distinct from natural text
    if style in (0, 1, 2):  # code: prologue, call rel32, push imm32, unique bytes
        s.lit(bytes.fromhex(rng.choice(PROLOGUES)) + uniq)
        s.lit(b"\xe8")
        s.add("any", 4)
        s.lit(b"\x68" + rng.randbytes(3))
        s.add("nib", (rng.randrange(256), rng.choice(["hi", "lo"])))
        s.lit(b"\xff\x15" + rng.randbytes(2))
    elif style in (3, 4):  # imported API names separated by bounded gaps
        a, b = rng.sample(API, 2)
        s.lit(a + b"\x00" + uniq)
        s.add("gap", (rng.randint(0, 8), rng.randint(9, 64)))
        s.lit(b)
    elif style in (5, 6):  # script / shell fragments with alternatives
        s.lit(rng.choice(SCRIPT) + uniq.hex().encode())
        s.add("alt", [b"'", b'"'])
        s.lit(rng.randbytes(6))
    elif style == 7:  # two far-apart parts
        s.lit(rng.choice(API) + uniq)
        s.add("star")
        s.lit(rng.choice(SCRIPT) + rng.randbytes(2))
    else:  # plain byte strings, some wildcards
        s.lit(rng.randbytes(8))
        s.add("any", rng.randint(1, 3))
        s.lit(rng.randbytes(8))
    return s


ENGLISH = ("the of and to in is that for it as was with be by on not he this are or his from at which but "
           "have an they you were her all she there would their we him been has when who will more no if out "
           "so said what up its about into than them can only other new some could time these two may then "
           "do first any my now such like our over man me even most made after also did many before must "
           "through back years where much your way well down should because each just those people how too "
           "little state good very make world still own see men work long get here between both life being "
           "under never day same another know while last might us great old year off come since against go "
           "came right used take three invoice meeting report quarterly budget customer order shipping").split()


def text_file(rng, size):
    words = []
    n = 0
    while n < size:
        w = rng.choice(ENGLISH)
        words.append(w)
        n += len(w) + 1
        if rng.random() < 0.08:
            words.append(".\n")
    return " ".join(words).encode()[:size]


def pe_file(rng, size):
    head = bytearray(b"MZ" + b"\x90\x00" + bytes(56) + (128).to_bytes(4, "little"))
    head += bytes(128 - len(head)) + b"PE\x00\x00" + b"\x4c\x01"
    out = bytearray(head)
    while len(out) < size:
        r = rng.random()
        if r < 0.5:
            out += bytes.fromhex(rng.choice(PROLOGUES)) + rng.randbytes(rng.randint(8, 64))
        elif r < 0.7:
            out += rng.choice(API) + b"\x00"
        else:
            out += b"\xe8" + rng.randbytes(4) + b"\xff\x15" + rng.randbytes(4) + b"\x00" * rng.randint(0, 16)
    return bytes(out[:size])


def html_file(rng, size):
    out = bytearray(b"<!DOCTYPE html>\n<html><head><title>portal</title><script>\n")
    while len(out) < size:
        r = rng.random()
        if r < 0.4:
            out += b"var x%d = document.getElementById('n%d');\n" % (rng.randrange(1000), rng.randrange(1000))
        elif r < 0.6:
            out += rng.choice(SCRIPT) + b"'" + rng.randbytes(4).hex().encode() + b"');\n"
        else:
            out += b"<p>" + text_file(rng, rng.randint(40, 300)) + b"</p>\n"
    return bytes(out[:size])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--hashes", type=int, default=100_000)
    ap.add_argument("--bodies", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--file-size", type=int, default=1 << 20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "db"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "files"), exist_ok=True)

    sigs = []
    lines = []
    for i in range(a.bodies):
        s = make_sig(rng, i)
        name = "Bench.Body.%05d" % i
        # Mostly floating target-0 signatures (what real .ndb files are made of), some typed or
        # anchored at offsets; planted ones are floating target 0 so both scanners must agree.
        k = i % 20
        target, offset = "0", "*"
        if k == 11:
            target = "1"
        elif k == 12:
            target = "3"
        elif k == 13:
            target = "7"
        elif k == 14:
            offset = "%d,%d" % (rng.randrange(0, 4096), rng.randrange(0, 1024))
        elif k == 15 and s.parts[-1][0] == "lit" and all(p[0] == "lit" or p[0] == "any" for p in s.parts):
            offset = "EOF-%d" % rng.randrange(64, 512)
        sigs.append((name, s, target == "0" and offset == "*"))
        lines.append("%s:%s:%s:%s\n" % (name, target, offset, s.hex()))
    with open(os.path.join(a.out, "db", "bench.ndb"), "w") as f:
        f.writelines(lines)

    expected = []
    hash_lines = []
    kinds = [lambda: rng.randbytes(a.file_size), lambda: text_file(rng, a.file_size),
             lambda: pe_file(rng, a.file_size), lambda: html_file(rng, a.file_size)]
    for fi in range(a.files):
        data = bytearray(kinds[fi % 4]())
        name = "f%04d.bin" % fi
        if fi % 25 == 7:  # a planted body signature somewhere in the middle
            sname, s, _ = rng.choice([x for x in sigs if x[2]])
            inst = s.instance()
            at = rng.randrange(0, max(1, len(data) - len(inst)))
            data[at:at + len(inst)] = inst
            data = data[:a.file_size] if len(data) > a.file_size else data
            expected.append((name, sname))
        elif fi % 25 == 19:  # the file's MD5 is a hash signature
            hname = "Bench.Hash.File.%04d" % fi
            hash_lines.append("%s:%d:%s\n" % (hashlib.md5(data).hexdigest(), len(data), hname))
            expected.append((name, hname))
        with open(os.path.join(a.out, "files", name), "wb") as f:
            f.write(data)

    for i in range(a.hashes - len(hash_lines)):
        hash_lines.append("%s:%d:Bench.Hash.%06d\n" % (rng.randbytes(16).hex(), rng.randint(100, 5_000_000), i))
    rng.shuffle(hash_lines)
    with open(os.path.join(a.out, "db", "bench.hdb"), "w") as f:
        f.writelines(hash_lines)
    with open(os.path.join(a.out, "expected.txt"), "w") as f:
        for name, sname in expected:
            f.write("%s\t%s\n" % (name, sname))
    print("mkavdb: %d hash + %d body signatures, %d files x %d bytes, %d planted detections -> %s"
          % (len(hash_lines), len(lines), a.files, a.file_size, len(expected), a.out))


if __name__ == "__main__":
    main()
