import Foundation
import Testing
import UTMAntivirus
import UTMCapture
import UTMCore
@testable import UTMEngine

/// Issue 5's acceptance tests for the antivirus in the packet path: ClamAV's test files
/// downloaded over HTTP (against clamscan on the same files and signature), mktraffic.py's
/// EICARs, and blocking on the packet that carries a file's last bytes.
@Suite(.serialized) struct AntivirusEngineTests {
    static let testFiles = "/usr/share/clamav-testfiles"

    /// The replay of a capture: EVE lines and every frame's decision, in frame order.
    struct Run {
        var events: [[String: Any]] = []
        var decisions: [PacketDecision] = []
    }

    static func replay(_ pcap: String, config: EngineConfig) throws -> Run {
        let engine = Engine(config: config)
        let source = try PcapFileSource(path: pcap)
        var run = Run()
        var out: [UInt8] = []
        try source.forEachFrame { frame, time, length in
            run.decisions.append(engine.process(frame: frame, rawLinkType: source.rawLinkType, timestamp: time,
                                                wireLength: length))
            if engine.eve.pendingBytes > 1 << 16 { out += engine.eve.buffer; engine.eve.reset() }
        }
        engine.finish()
        out += engine.eve.buffer
        for line in out.split(separator: UInt8(ascii: "\n")) {
            if let e = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] { run.events.append(e) }
        }
        return run
    }

    static func python(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-av-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A missing prerequisite: a skip with the reason outside CI, a failure in CI.
    static func missing(_ reason: String) -> Bool {
        if CorpusEnv.isCI { Issue.record("\(reason) and CI=true") } else { print("skipped: \(reason)") }
        return true
    }

    static func avConfig(_ files: [String]) throws -> EngineConfig {
        var list: [(path: String, bytes: [UInt8])] = []
        for f in files { list.append((f, [UInt8](try Data(contentsOf: URL(fileURLWithPath: f))))) }
        let (av, _, _) = EngineAntivirusConfig.load(list)
        var config = EngineConfig()
        config.applyAntivirus(av)
        return config
    }

    // MARK: clamav-testfiles over HTTP

    @Test func clamavTestFilesOverHTTP() throws {
        guard FileManager.default.fileExists(atPath: Self.testFiles) || Self.missing("\(Self.testFiles) is absent (apt-get install clamav-testfiles)") else { return }
        guard let shared = CorpusEnv.sharedFolder ?? (Self.missing("../shared is absent") ? nil : nil) else { return }
        let hdb = shared + "/corpus/clamav-unit-tests/unit_tests/input/clamav.hdb"
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("av.pcap").path, manifestPath = dir.appendingPathComponent("av.jsonl").path
        try #require(try Self.python([CorpusEnv.repo.appendingPathComponent("tools/mkavcapture.py").path, pcap, manifestPath,
                                      Self.testFiles]) == 0)
        let run = try Self.replay(pcap, config: try Self.avConfig([hdb]))

        // Which connections (by client port) alerted, and with what.
        var alerted: [Int: String] = [:]
        for e in run.events where e["event_type"] as? String == "alert" {
            let a = e["alert"] as? [String: Any] ?? [:]
            #expect(a["category"] as? String == "antivirus" && a["product_severity"] as? Int == 3)
            let port = (e["src_port"] as? Int == 80 || e["src_port"] as? Int == 110) ? e["dest_port"] as? Int ?? 0 : e["src_port"] as? Int ?? 0
            alerted[port] = a["signature"] as? String
        }
        var detected = 0, httpFiles = 0
        var missed: [String] = []
        let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8)
        for line in manifest.split(separator: "\n") {
            let m = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let port = m["port"] as! Int, last = m["last_frame"] as! Int, name = m["file"] as! String
            let isHTTP = m["proto"] as? String == "http"
            if isHTTP { httpFiles += 1 }
            guard alerted[port] != nil else {
                if isHTTP { missed.append(name) } else { Issue.record("\(m["proto"]!) EICAR not detected") }
                continue
            }
            if isHTTP { detected += 1 }
            // Blocked before delivery: the packet carrying the last bytes (or an earlier one)
            // is rejected with resets, and nothing after it is accepted.
            let d = run.decisions[last]
            #expect(d.verdict != .accept, "\(name): the packet with the file's last bytes was accepted")
            if d.verdict == .reject {
                #expect(d.response == .tcpResetBoth && d.source == .antivirus, "\(name): \(d)")
            } else {
                #expect(d.source == .flowBlocked, "\(name): \(d)")
            }
        }
        // clamscan on the same files with the same signature file.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["clamscan", "--no-summary", "-d", hdb, Self.testFiles]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        var clamscan = -1
        if (try? p.run()) != nil {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            clamscan = text.split(separator: "\n").filter { $0.hasSuffix(" FOUND") }.count
        }
        print("clamav-testfiles over HTTP: detected \(detected) of \(httpFiles) (clamscan: \(clamscan)); missed: \(missed.joined(separator: " "))")
        #expect(httpFiles == 44)
        #expect(detected >= 14)  // 12 before bzip2
        let fileinfos = run.events.filter { $0["event_type"] as? String == "fileinfo" }
        #expect(fileinfos.count >= httpFiles)
    }

    // MARK: mktraffic truth

    @Test func mktrafficEicarsAreDetectedAndNothingElse() throws {
        guard let shared = CorpusEnv.sharedFolder, FileManager.default.fileExists(atPath: shared + "/bench/mktraffic.py") else {
            _ = Self.missing("../shared/bench/mktraffic.py is absent")
            return
        }
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("office.pcap").path, truthPath = pcap + ".truth.jsonl"
        try #require(try Self.python([shared + "/bench/mktraffic.py", pcap, "--bytes", "20000000", "--seed", "11",
                                      "--truth", truthPath]) == 0)
        var config = EngineConfig()
        config.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly()))
        let run = try Self.replay(pcap, config: config)

        // Alerts by client endpoint (address and port), as the truth names flows.
        var alerted: [String: Int] = [:]
        for e in run.events where e["event_type"] as? String == "alert" {
            let toClient = [80, 110].contains(e["src_port"] as? Int ?? 0)
            let ip = WebFilterTruthTests.canonicalIP((toClient ? e["dest_ip"] : e["src_ip"]) as? String ?? "")
            let port = (toClient ? e["dest_port"] : e["src_port"]) as? Int ?? 0
            alerted["\(ip) \(port)", default: 0] += 1
        }
        var threats = 0, found = 0
        var expected: Set<String> = []
        var variants: [String: Int] = [:]
        for line in try String(contentsOfFile: truthPath, encoding: .utf8).split(separator: "\n") {
            let t = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard t["threat"] as? String == "eicar", let flow = t["flow"] as? [String: Any] else { continue }
            let key = "\(WebFilterTruthTests.canonicalIP(flow["src_ip"] as? String ?? "")) \(flow["src_port"] as? Int ?? 0)"
            threats += 1
            expected.insert(key)
            if alerted[key] != nil { found += 1 } else { Issue.record("EICAR not detected: \(line)") }
            variants[t["variant"] as? String ?? "?", default: 0] += 1
        }
        let falsePositives = alerted.keys.filter { !expected.contains($0) }
        print("mktraffic --seed 11: \(found) of \(threats) EICARs detected \(variants); \(falsePositives.count) clean files flagged")
        #expect(threats > 0 && found == threats)
        #expect(falsePositives.isEmpty, "flagged clean flows: \(falsePositives)")
        // Each detection rejected the packet: drops equal alerts.
        let drops = run.events.filter { $0["event_type"] as? String == "drop" }.count
        #expect(drops == alerted.values.reduce(0, +))
    }

    // MARK: Units

    /// A reused session must not carry a verdict over: EICAR inside a mail, then clean HTML.
    @Test func reusedSessionForgetsDeeperVerdicts() {
        let scanner = AVScanner(database: AVDatabase.builtinOnly(), sessions: 1)
        let eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
        let mail = Array("From: a\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n\(eicar)\r\n--B--\r\n".utf8)
        let s1 = scanner.begin(type: .mail)!
        mail.withUnsafeBytes { _ = s1.feed(ByteView($0)) }
        #expect(s1.end().verdict.isInfected)
        s1.release()
        let html = Array(("<html><body>" + String(repeating: "clean text ", count: 80) + "</body></html>").utf8)
        let s2 = scanner.begin()!
        html.withUnsafeBytes { _ = s2.feed(ByteView($0)) }
        #expect(s2.end().verdict == .clean)
        s2.release()
    }

    @Test func headerHelpers() {
        let block = Array("Content-Type: x\r\nContent-Disposition: attachment; filename=\"a b.exe\"\r\n".utf8)
        block.withUnsafeBytes { raw in
            let v = AVHeaders.value(ByteView(raw), "content-disposition")
            #expect(v.map { String(decoding: $0.bytes, as: UTF8.self) } == "attachment; filename=\"a b.exe\"")
            #expect(AVHeaders.value(ByteView(raw), "content-range") == nil)
        }
        Array("/dl/setup.exe?x=1".utf8).withUnsafeBytes { raw in
            #expect(String(decoding: AVHeaders.lastPathSegment(ByteView(raw)).bytes, as: UTF8.self) == "setup.exe")
        }
    }
}

import AllocationCounter

/// A whole file's life in a warm scanner (begin, feed, end, release) allocates nothing with no
/// digests to compute (`AVLimitSet.first` used to build `allCases` in every `end`).
@Suite struct AntivirusSessionAllocationTests {
    @Test func sessionLifeDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var scan = AVScanConfig(); scan.fileinfoDigests = []
        let scanner = AVScanner(database: AVDatabase.builtinOnly(), config: scan, sessions: 2)
        let f = [UInt8](repeating: 0x41, count: 4096)
        var b = 0, fe = 0, en = 0, re = 0
        for i in 0 ..< 20 {
            var s: FileScanSession?
            let nb = countAllocations { s = scanner.begin() }
            let nf = f.withUnsafeBytes { raw in countAllocations { _ = s!.feed(ByteView(raw)) } }
            let ne = countAllocations { _ = s!.end() }
            let nr = countAllocations { s!.release() }
            if i >= 5 { b += nb; fe += nf; en += ne; re += nr }
        }
        #expect(b + fe + en + re == 0, "begin \(b) feed \(fe) end \(en) release \(re)")
    }
}
