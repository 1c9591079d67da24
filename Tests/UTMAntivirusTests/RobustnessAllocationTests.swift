import AllocationCounter
import Foundation
import Testing
import UTMAntivirus
import UTMCore
import UTMCrypto
import UTMInflate

@Suite(.serialized) struct RobustnessAllocationTests {
    static let samples: [[UInt8]] = {
        let p = Array("MALWARE-MARKER".utf8) + AV.eicar
        let mail = "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n\(AV.base64Lines(p))\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx=41=\r\ny\r\n--b--\r\n"
        return [AV.zip([("a", p)]), AV.zip([("a", p)], descriptor: true), AV.tar([("a", p)]), AV.cpioNewc([("a", p)]),
                Deflate.compress(AV.tar([("a", p)]), format: .gzip), Array(mail.utf8)]
    }()

    /// Every prefix of every container and mail sample scans without trapping.
    @Test func truncatedInputsNeverTrap() {
        let db = AV.db([("M:0:*:4d414c5741{1-3}4d41524b4552", .ndb), ("L;Target:0;0&1;4d414c;4b4552", .ldb)])
        let s = FileScanSession(database: db)
        for sample in Self.samples {
            for n in 0...sample.count {
                s.begin()
                _ = sample.withUnsafeBytes { s.feed(ByteView($0).prefix(n)) }
                _ = s.end(truncated: n < sample.count)
            }
            // And with bytes flipped.
            var m = sample
            for i in stride(from: 0, to: m.count, by: 7) { m[i] ^= 0xa5 }
            _ = AV.scan(m, db: db, chunk: 13)
        }
    }

    /// Digest states are plain structs in memory the digest owns: beginning, updating and
    /// finishing them allocates nothing (EVP_DigestInit_ex allocated once per digest per file).
    @Test func streamingDigestAllocatesNothingPerFileOrChunk() {
        guard allocationCounterWorks() else { return }
        let d = StreamingDigest()
        let data = [UInt8](repeating: 7, count: 4096)
        d.begin(.all)
        data.withUnsafeBytes { d.update(ByteView($0)) }
        _ = d.finish()
        let n = countAllocations {
            for _ in 0..<10 {
                d.begin(.all)
                data.withUnsafeBytes { d.update(ByteView($0)) }
                _ = d.finish()
            }
        }
        #expect(n == 0)
        d.begin(.all)
        let perChunk = countAllocations {
            for _ in 0..<100 { data.withUnsafeBytes { d.update(ByteView($0)) } }
        }
        _ = d.finish()
        #expect(perChunk == 0)
        // Still the right digests after reuse ("abc" test vectors).
        d.begin(.all)
        Array("abc".utf8).withUnsafeBytes { d.update(ByteView($0)) }
        let f = d.finish()
        #expect(Self.hex(f.md5, 16) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(Self.hex(f.sha1, 20) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Self.hex(f.sha256, 32) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    static func hex(_ b: Bytes32, _ n: Int) -> String {
        withUnsafeBytes(of: b.raw) { raw in raw.prefix(n).map { String(format: "%02x", $0) }.joined() }
    }

    /// Steady state: whole files — begin, every chunk, end with fileinfo MD5 + SHA-256, release —
    /// allocate nothing once the session pool is warm, for plain files, containers and mail.
    @Test func noAllocationPerScannedFile() {
        guard allocationCounterWorks() else { return }
        var b = AVDatabaseBuilder()
        b.load("M:0:*:4d414c5741{1-3}4d41524b4552\nN:0:*:41424344*45464748\n", format: .ndb)
        b.load("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Hash\n", format: .hdb)
        let scanner = AVScanner(database: b.build(), sessions: 2)
        let clean = [UInt8](repeating: 0x61, count: 100_000)
        let files = Self.samples + [clean, AV.eicar]
        var verdicts = 0
        var perFile = [Int](repeating: 0, count: files.count)
        func run() -> Int {
            for (k, f) in files.enumerated() {
                perFile[k] = countAllocations {
                    guard let s = scanner.begin() else { return }
                    f.withUnsafeBytes { raw in
                        let v = ByteView(raw)
                        var off = 0
                        while off < v.count {
                            s.feed(v.dropFirst(off).prefix(1460))
                            off += 1460
                        }
                    }
                    if s.end().info.digests.kinds.contains(.md5) { verdicts += 1 }
                    s.release()
                }
            }
            return perFile.reduce(0, +)
        }
        _ = run(); _ = run()
        let n = run()
        #expect(n == 0, "allocations for \(files.count) files: \(n), per file \(perFile)")
        #expect(verdicts > 0)
    }

    /// After warm-up, scanning more files (plain and containers) allocates nothing.
    @Test func noAllocationPerChunkOrFile() {
        guard allocationCounterWorks() else { return }
        var b = AVDatabaseBuilder()
        b.load("M:0:*:4d414c5741{1-3}4d41524b4552\nN:0:*:41424344*45464748\n", format: .ndb)
        let scanner = AVScanner(database: b.build(), sessions: 2)
        let clean = [UInt8](repeating: 0x61, count: 100_000)
        let files = Self.samples + [clean]
        var feedAllocs = 0
        func run() {
            for f in files {
                guard let s = scanner.begin() else { return }
                f.withUnsafeBytes { raw in
                    let v = ByteView(raw)
                    var off = 0
                    while off < v.count {
                        feedAllocs += countAllocations { s.feed(v.dropFirst(off).prefix(1460)) }
                        off += 1460
                    }
                }
                _ = s.end()
                s.release()
            }
        }
        run(); run()
        feedAllocs = 0
        run()
        #expect(feedAllocs <= 0, "allocations in feed: \(feedAllocs)")
    }
}
