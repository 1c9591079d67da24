import Testing
import UTMAntivirus
import UTMCore
import UTMInflate

/// bzip2 as a container: .bz2 files, zip members with method 12, nested in tar; bounded by the
/// same expansion limits as deflate, and never trapping on truncated or damaged streams.
@Suite struct Bzip2ContainerTests {
    let payload = Array("hello MALWARE-MARKER-1234 world\n".utf8)
    var db: AVDatabase { AV.db([("Test.Marker:0:*:4d414c574152452d4d41524b4552", .ndb)]) }

    func detectsAtAnySplit(_ bytes: [UInt8], _ expected: String? = "Test.Marker") {
        for c in [0, 1, 3, 17, 512, 1460] {
            #expect(AV.name(AV.scan(bytes, db: db, chunk: c)) == expected, "chunk \(c)")
        }
    }

    /// A zip whose members are bzip2-compressed (method 12), local headers only.
    static func zipBzip2(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in files {
            let body = Bzip2.compress(data)
            let n = Array(name.utf8)
            out += [0x50, 0x4b, 3, 4] + AV.le16(46) + AV.le16(0) + AV.le16(12) + AV.le32(0) + AV.le32(0)
            out += AV.le32(body.count) + AV.le32(data.count) + AV.le16(n.count) + AV.le16(0) + n + body
        }
        return out + [0x50, 0x4b, 1, 2] + [UInt8](repeating: 0, count: 42)
    }

    @Test func bz2FileZipMemberAndTarBz2() {
        detectsAtAnySplit(Bzip2.compress(payload))
        detectsAtAnySplit(Bzip2.compress([UInt8](repeating: 0x2e, count: 300_000) + payload))
        detectsAtAnySplit(Self.zipBzip2([("a.txt", Array("clean".utf8)), ("b.txt", payload)]))
        detectsAtAnySplit(Bzip2.compress(AV.tar([("x", Array("clean".utf8)), ("y", payload)])))
        detectsAtAnySplit(Bzip2.compress(Array("clean text only\n".utf8)), nil)
        // The member's hash is checked too (EICAR's MD5 under another name).
        let hdb = AV.db([("44d88612fea8a8f36de82e1278abb02f:68:Hash.In.Bz2", .hdb)])
        #expect(AV.name(AV.scan(Bzip2.compress(AV.eicar), db: hdb, chunk: 5)) != nil)
    }

    @Test func bombsAndDamage() {
        let bomb = Bzip2.compress([UInt8](repeating: 0, count: 20 << 20))
        var cfg = AVScanConfig()
        cfg.maxExpandedBytes = 4 << 20
        let r = AV.scan(bomb, db: db, chunk: 4096, config: cfg)
        #expect(r.limits.contains(.expandedSize) || r.limits.contains(.ratio))
        if case .limitExceeded = r.verdict {} else { Issue.record("verdict \(r.verdict)") }
        // Same bomb as a zip member.
        let zr = AV.scan(Self.zipBzip2([("z", [UInt8](repeating: 0, count: 20 << 20))]), db: db, chunk: 4096, config: cfg)
        #expect(zr.limits.contains(.expandedSize) || zr.limits.contains(.ratio))
        // Truncated and damaged streams end in a verdict, never a trap.
        let good = Bzip2.compress(payload + Array(repeating: 0x41, count: 5000))
        let s = FileScanSession(database: db)
        for n in stride(from: 0, through: good.count, by: 3) {
            s.begin()
            _ = good.withUnsafeBytes { s.feed(ByteView($0).prefix(n)) }
            _ = s.end(truncated: n < good.count)
        }
        var bad = good
        for i in stride(from: 10, to: bad.count, by: 11) { bad[i] ^= 0x5a }
        _ = AV.scan(bad, db: db, chunk: 7)
    }

    @Test func decoderReleasesItsStateAndHonoursLimits() {
        let d = Bunzip2Decoder(bufferCapacity: 1024)
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        let z = Bzip2.compress(data)
        for chunk in [1, 13, 4096, z.count] {
            d.reset()
            var got: [UInt8] = []
            var off = 0
            while off < z.count {
                let end = Swift.min(z.count, off + chunk)
                Array(z[off..<end]).withUnsafeBytes { raw in _ = d.feed(ByteView(raw)) { got += $0.bytes } }
                off = end
            }
            #expect(d.state == .finished, "chunk \(chunk)")
            #expect(got == data, "chunk \(chunk)")
        }
        var limits = InflateLimits()
        limits.maxOutput = 1000
        d.reset(limits: limits)
        var n = 0
        z.withUnsafeBytes { raw in _ = d.feed(ByteView(raw)) { n += $0.count } }
        #expect(d.state == .limited)
        #expect(n == 1000)
        d.reset()
        Array("BZh9 not really".utf8).withUnsafeBytes { raw in _ = d.feed(ByteView(raw)) { _ in } }
        #expect(d.finish() == .failed)
    }
}
