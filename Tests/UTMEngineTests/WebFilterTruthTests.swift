import Foundation
import Testing
import UTMCapture
import UTMCore
import UTMEngine
import UTMWebFilter

/// Issue 4's acceptance test: on a capture from ../shared/bench/mktraffic.py with the UT1
/// categories, every transaction the truth file marks with a category gets that category in
/// EVE (at least 99%), blocked ones are blocked, and App-ID's `app` agrees with the truth.
/// Needs ../shared (not part of the repository): skipped when absent, unless CI=true.
@Suite(.serialized) struct WebFilterTruthTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var shared: String? {
        for c in ["../shared", "../../shared"] {
            let p = root.appendingPathComponent(c).standardized.path
            if FileManager.default.fileExists(atPath: p + "/bench/mktraffic.py") { return p }
        }
        return nil
    }

    /// Canonical text of an address: EVE writes IPv6 in full, the truth file compressed.
    static func canonicalIP(_ s: String) -> String {
        guard s.contains(":") else { return s }
        let halves = s.components(separatedBy: "::")
        let head = halves[0].isEmpty ? [] : halves[0].split(separator: ":").map(String.init)
        let tail = halves.count > 1 && !halves[1].isEmpty ? halves[1].split(separator: ":").map(String.init) : []
        let groups = head + Array(repeating: "0", count: max(0, 8 - head.count - tail.count)) + tail
        return groups.map { String(Int($0, radix: 16) ?? -1, radix: 16) }.joined(separator: ":")
    }

    struct Tuple: Hashable { var a: String; var ap: Int; var b: String; var bp: Int; var proto: String }

    static func tuple(_ o: [String: Any], src: String = "src_ip", dst: String = "dest_ip") -> Tuple {
        Tuple(a: canonicalIP(o[src] as? String ?? ""), ap: o["src_port"] as? Int ?? 0,
              b: canonicalIP(o[dst] as? String ?? ""), bp: o["dest_port"] as? Int ?? 0, proto: o["proto"] as? String ?? "")
    }

    static func reversed(_ t: Tuple) -> Tuple { Tuple(a: t.b, ap: t.bp, b: t.a, bp: t.ap, proto: t.proto) }

    static func run(_ exe: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func categoriesBlocksAndAppsAgreeWithTruth() throws {
        guard let shared = Self.shared else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("../shared (mktraffic.py, corpus/ut1) is missing and CI=true")
            } else {
                print("WebFilterTruthTests skipped: ../shared not found (set CI=true to make this a failure)")
            }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-wf-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("office.pcap").path, truthPath = pcap + ".truth.jsonl"
        let ut1 = shared + "/corpus/ut1"
        let status = try Self.run("/usr/bin/env", ["python3", shared + "/bench/mktraffic.py", pcap, "--bytes", "20000000",
                                                   "--seed", "7", "--categories", ut1, "--truth", truthPath])
        try #require(status == 0, "mktraffic.py failed")

        // Replay in process with the categories at the default (standard) level.
        let compiled = try CategoryCompiler.compile(directory: ut1)
        var config = EngineConfig()
        try config.applyWebFilter(config: WebFilterConfig(), database: try CategoryDatabase(copying: compiled.bytes))
        let policy = try #require(config.webFilter)
        let engine = Engine(config: config)
        let source = try PcapFileSource(path: pcap)
        var out: [UInt8] = []
        try source.forEachFrame { frame, time, length in
            engine.process(frame: frame, rawLinkType: source.rawLinkType, timestamp: time, wireLength: length)
            if engine.eve.pendingBytes > 1 << 16 { out += engine.eve.buffer; engine.eve.reset() }
        }
        engine.finish()
        out += engine.eve.buffer

        // EVE, indexed by client→server tuple (+ host for transaction events).
        struct Key: Hashable { var t: Tuple; var host: String }
        var filtered: [Key: [[String]]] = [:]
        var drops: [Tuple: [String]] = [:]
        var apps: [Tuple: String] = [:]
        for line in out.split(separator: UInt8(ascii: "\n")) {
            guard let e = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let type = e["event_type"] as? String, type != "stats" else { continue }
            var t = Self.tuple(e)
            let wf = e["web_filter"] as? [String: Any]
            let cats = wf?["categories"] as? [String] ?? []
            switch type {
            case "drop":
                drops[t] = cats
                drops[Self.reversed(t)] = cats
            case "flow":
                apps[t] = e["app"] as? String ?? ""
            case "http", "tls", "quic", "dns":
                let body = e[type] as? [String: Any] ?? [:]
                let host = (body[type == "http" ? "hostname" : type == "dns" ? "rrname" : "sni"] as? String ?? "").lowercased()
                if type == "dns" && body["type"] as? String == "answer" { t = Self.reversed(t) }
                if wf != nil { filtered[Key(t: t, host: host), default: []].append(cats) }
            default:
                break
            }
        }

        // Groups the default policy blocks.
        let blockedGroups = SecurityLevel.standard.blockedGroups
        func blockedByDefault(_ lists: [String]) -> Bool {
            lists.contains { blockedGroups.contains(policy.taxonomy.entry($0).group) }
        }
        let expectedMaster = ["http": "HTTP", "tls": "TLS", "dns": "DNS", "smtp": "SMTP", "quic": "QUIC"]

        var categorised = 0, found = 0, unobservable = 0
        var shouldBlock = 0, blocked = 0, dnsBlockedGroup = 0
        var appCompared = 0, appAgree = 0
        var missing: [String] = [], notBlocked: [String] = [], appDiffer: [String: Int] = [:]
        var flowsSeen = Set<Tuple>()
        let truthText = try String(contentsOfFile: truthPath, encoding: .utf8)
        for line in truthText.split(separator: "\n") {
            let d = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let flow = try #require(d["flow"] as? [String: Any])
            let t = Self.tuple(flow)
            let app = d["app"] as? String ?? ""
            if flowsSeen.insert(t).inserted {
                let want = expectedMaster[app] ?? (d["service"] as? String == "ssh" ? "SSH" : nil)
                if let want {
                    appCompared += 1
                    let got = apps[t] ?? "(no flow event)"
                    if got.split(separator: ".").first.map(String.init) == want { appAgree += 1 }
                    else { appDiffer["\(want)→\(got)", default: 0] += 1 }
                }
            }
            guard let category = d["category"] as? String else { continue }
            guard let host = (d["host"] as? String)?.lowercased() else {
                unobservable += 1 // QUIC whose SNI the capture does not carry (sni_parseable false)
                continue
            }
            categorised += 1
            let lists = d["categories"] as? [String] ?? [category]
            let events = filtered[Key(t: t, host: host)] ?? []
            // A transaction after the block in a blocked flow never reaches a parser: its
            // category is in the flow's drop event.
            if events.contains(where: { $0.contains(category) }) || drops[t]?.contains(category) == true {
                found += 1
            } else if missing.count < 10 {
                missing.append("\(app) \(host) \(category)")
            }
            if blockedByDefault(lists) {
                if app == "dns" { dnsBlockedGroup += 1; continue } // recorded only (no NXDOMAIN by default)
                shouldBlock += 1
                if drops[t] != nil { blocked += 1 } else if notBlocked.count < 10 { notBlocked.append("\(app) \(host) \(lists)") }
            }
        }
        let share = Double(found) / Double(max(categorised, 1))
        print("""
            WebFilterTruth: category in EVE for \(found)/\(categorised) categorised transactions \
            (\(String(format: "%.2f", share * 100))%; \(unobservable) QUIC without a visible SNI not counted); \
            blocked \(blocked)/\(shouldBlock) http/tls transactions of blocked groups; \
            \(dnsBlockedGroup) DNS queries of blocked groups recorded; \
            app agrees on \(appAgree)/\(appCompared) flows; differences: \(appDiffer.sorted { $0.value > $1.value }.prefix(8))
            """)
        #expect(categorised > 1000)
        #expect(share >= 0.99, "missing: \(missing)")
        #expect(shouldBlock > 0)
        #expect(blocked == shouldBlock, "not blocked: \(notBlocked)")
        #expect(Double(appAgree) >= 0.9 * Double(appCompared))
    }
}
