import Foundation
import Testing
import UTMAntivirus
import UTMCore

/// Throughput benchmark, not part of the suite: runs only with AV_BENCH=1, e.g.
///   AV_BENCH=1 swift test -c release --filter AVBenchmark
/// Writes a database of 100,000 MD5 hash and 10,000 body signatures and AV_BENCH_MB (default
/// 300) MiB of files to /tmp/avbench, scans them, and prints MB/s and peak RSS. Compare with
///   /usr/bin/time -v clamscan --no-summary -d /tmp/avbench/db -r /tmp/avbench/files
@Suite struct AVBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["AV_BENCH"] == "1"))
    func throughput() throws {
        let root = "/tmp/avbench"
        let fm = FileManager.default
        let mb = Int(ProcessInfo.processInfo.environment["AV_BENCH_MB"] ?? "300") ?? 300
        let reuse = fm.fileExists(atPath: root + "/files/f\(mb - 1).bin") && fm.fileExists(atPath: root + "/db/bench.ndb")
        if !reuse { try? fm.removeItem(atPath: root) }
        try fm.createDirectory(atPath: root + "/db", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/files", withIntermediateDirectories: true)
        var rng = SystemRandomNumberGenerator()
        if reuse {
            try scanAll(root: root, mb: mb)
            return
        }
        func hex(_ n: Int) -> String { (0..<n).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined() }
        var hdb = ""
        for i in 0..<100_000 { hdb += "\(hex(16)):\(Int.random(in: 100...5_000_000, using: &rng)):Bench.Hash.\(i)\n" }
        var ndb = ""
        for i in 0..<10_000 {
            let body: String
            switch i % 10 {
            case 0: body = hex(6) + "??" + hex(6)
            case 1: body = hex(6) + "{2-8}" + hex(6)
            case 2: body = hex(6) + "*" + hex(6)
            case 3: body = hex(4) + "(" + hex(1) + "|" + hex(1) + ")" + hex(6)
            default: body = hex(12)
            }
            ndb += "Bench.Body.\(i):0:*:\(body)\n"
        }
        try hdb.write(toFile: root + "/db/bench.hdb", atomically: true, encoding: .utf8)
        try ndb.write(toFile: root + "/db/bench.ndb", atomically: true, encoding: .utf8)
        let text = Array("The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet 0123456789.\n".utf8)
        for f in 0..<mb {
            var data = [UInt8](repeating: 0, count: 1 << 20)
            if f % 2 == 0 { for i in 0..<data.count { data[i] = UInt8.random(in: 0...255, using: &rng) } }
            else { for i in 0..<data.count { data[i] = text[i % text.count] } }
            try Data(data).write(to: URL(fileURLWithPath: root + "/files/f\(f).bin"))
        }
        try scanAll(root: root, mb: mb)
    }

    func scanAll(root: String, mb: Int) throws {
        let rssBefore = Self.peakRSS()
        let t0 = Date()
        var b = AVDatabaseBuilder()
        b.load(AV.read(root + "/db/bench.hdb") ?? [], format: .hdb)
        b.load(AV.read(root + "/db/bench.ndb") ?? [], format: .ndb)
        let db = b.build()
        let load = Date().timeIntervalSince(t0)
        print("bench db: \(db.hashSignatureCount) hash, \(db.bodySignatureCount) body; load \(String(format: "%.2f", load)) s; report unsupported \(db.report.unsupportedCount) malformed \(db.report.malformedCount)")
        for fileinfo in [true, false] {
        var config = AVScanConfig()
        if !fileinfo { config.fileinfoDigests = [] }
        let scanner = AVScanner(database: db, config: config, sessions: 1)
        var total = 0
        var infected = 0
        let buf = [UInt8](repeating: 0, count: 64 << 10)
        let t1 = Date()
        for f in 0..<mb {
            let path = root + "/files/f\(f).bin"
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            guard let h = FileHandle(forReadingAtPath: path),
                  let s = scanner.begin(declaredSize: fileinfo ? -1 : Int64(size)) else { continue }
            while true {
                let d = h.readData(ofLength: buf.count)
                if d.isEmpty { break }
                d.withUnsafeBytes { raw in _ = s.feed(ByteView(raw)) }
                total += d.count
            }
            if s.end().verdict.isInfected { infected += 1 }
            s.release()
            try? h.close()
        }
        let secs = Date().timeIntervalSince(t1)
        print(String(format: "bench scan (%@): %d MiB in %.2f s = %.1f MB/s (%d infected); peak RSS %d MiB (before load %d MiB)",
                     fileinfo ? "fileinfo md5+sha256" : "declared size, no fileinfo digests",
                     total >> 20, secs, Double(total) / secs / 1e6, infected, Self.peakRSS() >> 10, rssBefore >> 10))
        _ = buf.count
        }
    }

    /// VmHWM in KiB.
    static func peakRSS() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
