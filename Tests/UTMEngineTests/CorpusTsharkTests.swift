import Foundation
import Testing

/// Issue 2's acceptance test: every TLS/QUIC SNI, HTTP host+URI and DNS query name that tshark
/// extracts from the shared corpus (nDPI and suricata-verify captures) is in our EVE output —
/// at least 99% of them — and `utmctl replay` neither crashes nor hangs on any capture.
///
/// What counts (tshark 4.0 fields, one frame per output line):
/// - `tls_sni`: `tls.handshake.extensions_server_name` in a frame without QUIC;
///   `quic_sni`: the same field in a QUIC frame (tshark decrypts Initial packets and dissects
///   the ClientHello in their CRYPTO frames with the TLS dissector). Found if `tls.sni` or
///   `quic.sni` of any event of the capture is equal.
/// - `http`: one item per request: `http.host` paired with `http.request.uri` (frames holding
///   several requests pair them in order; a request without Host is matched on its URI alone).
///   Found if an http event has `url` equal to the URI and `hostname` equal to the host
///   lowercased, without its port (how Suricata logs it). HTTP/1.x over TCP only: tshark also
///   gives these fields for SSDP/HTTPU over UDP, which is not HTTP.
/// - `dns`: `dns.qry.name` (unicast DNS over UDP and TCP, mDNS and LLMNR, which share the
///   format). Found in `dns.rrname` or `dns.queries[].rrname`. Compared in one canonical form,
///   because tshark and EVE escape odd bytes differently: `\DDD` escapes are decoded, then every
///   run of bytes that are not printable ASCII (U+FFFD from tshark, escapes from us) becomes one
///   `?`. tshark's `<Root>` is the empty name.
///
/// Not counted, by rule (the summary says how many each rule removed):
/// - frames tshark itself marks malformed (`_ws.malformed`) or unreassembled
///   (`_ws.unreassembled`: cut by the capture, e.g. an IP total length beyond the frame) —
///   garbage in, not names;
/// - frames inside ICMP/ICMPv6 errors (the quoted datagram of an error, not traffic);
/// - tshark's placeholders for names it could not decode (`<Unknown extended label>`,
///   `<Name too long>`, any `<...>` other than `<Root>`).
///
/// The unit is the distinct (kind, value) pair per capture: retransmissions, repeated queries
/// and the question echoed in the response count once.
///
/// Crash: `utmctl` killed by a signal (a trap) or an exit status other than 0 and 1. Exit 1
/// with a one-line reason is how it rejects an unreadable capture (allowed; its items still
/// count as missed unless events were written before the damage). Hang: still running after
/// `timeout` seconds.
@Suite(.serialized) struct CorpusTsharkTests {
    static let timeout: TimeInterval = 60
    static let workers = 2
    static let aggregator = "\u{1f}"
    static let fields = ["frame.protocols", "tls.handshake.extensions_server_name", "http.host",
                         "http.request.uri", "dns.qry.name", "_ws.malformed", "_ws.unreassembled"]

    struct Item: Hashable {
        var kind: String
        var host: String?  // http only; nil when the request had no Host header
        var value: String
    }

    struct CaptureResult {
        var path: String
        var items: Set<Item> = []
        var missed: [Item] = []
        var outcome = ProcessOutcome.exited(0)
        var stderr = ""
        var excluded: [String: Int] = [:]
        var tsharkFailed = false
    }

    @Test(.enabled(if: CorpusEnv.skipReason == nil, Comment(rawValue: CorpusEnv.skipReason ?? "")),
          .timeLimit(.minutes(30)))
    func tsharkItemsAreInEVE() throws {
        guard let shared = CorpusEnv.sharedFolder else {
            Issue.record("CI=true but the shared corpus is missing (expected <repo>/../shared/corpus)")
            return
        }
        guard let tshark = CorpusEnv.tshark else {
            Issue.record("CI=true but tshark is not installed (apt-get install tshark)")
            return
        }
        guard let utmctl = CorpusEnv.utmctl else {
            Issue.record("utmctl not found under \(CorpusEnv.repo.path)/.build/{debug,release}: run `swift build` first")
            return
        }
        let start = Date()
        let files = CorpusEnv.captures(shared: shared)
        #expect(files.count > 500, "expected the whole corpus, found \(files.count) captures")
        let tmp = NSTemporaryDirectory() + "mimamori-corpus-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }

        let results = ResultBox(count: files.count)
        DispatchQueue.concurrentPerform(iterations: Self.workers) { worker in
            while let i = results.next() {
                results.set(i, Self.check(files[i], tshark: tshark, utmctl: utmctl,
                                          tmp: tmp + "/\(worker)"))
            }
        }
        let all = results.all()
        let seconds = Date().timeIntervalSince(start)
        let summary = Self.summarize(all, shared: shared, seconds: seconds)
        print(summary.text)

        for r in all where r.tsharkFailed {
            Issue.record("tshark failed on \(r.path)")
        }
        let crashes = all.filter {
            if case .signalled = $0.outcome { return true }
            if case .exited(let s) = $0.outcome { return s != 0 && s != 1 }
            return false
        }
        let hangs = all.filter { $0.outcome == .timedOut }
        #expect(crashes.isEmpty, "crashes: \(crashes.map { "\($0.path) \($0.outcome) \($0.stderr.suffix(300))" })")
        #expect(hangs.isEmpty, "hangs (> \(Self.timeout) s): \(hangs.map(\.path))")
        #expect(summary.total > 2000, "tshark found only \(summary.total) items: is the corpus complete?")
        #expect(summary.ratio >= 0.99,
                "\(summary.found)/\(summary.total) = \(summary.ratio) of tshark's items are in the EVE output")
    }

    // MARK: One capture

    static func check(_ path: String, tshark: String, utmctl: String, tmp: String) -> CaptureResult {
        var r = CaptureResult(path: path)
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let fieldsOut = tmp + "/tshark.tsv", eveOut = tmp + "/eve.json"
        try? FileManager.default.removeItem(atPath: eveOut)

        var args = ["-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
                    "-E", "aggregator=" + aggregator, "-E", "quote=n"]
        // Pin the reassembly preferences to their defaults whatever a preferences file says:
        // names split over segments, fragments or records are found only with them.
        for pref in ["tcp.desegment_tcp_streams:TRUE", "ip.defragment:TRUE", "ipv6.defragment:TRUE",
                     "http.desegment_headers:TRUE", "tls.desegment_ssl_records:TRUE"] {
            args += ["-o", pref]
        }
        for f in fields { args += ["-e", f] }
        let (tsOutcome, _) = runProcess(tshark, args, stdoutPath: fieldsOut, timeout: 300)
        // tshark exits 2 on a cut or damaged file after printing what it read: keep that.
        if case .exited(let s) = tsOutcome, s == 0 || s == 2 {} else { r.tsharkFailed = true }
        let text = (try? String(contentsOfFile: fieldsOut, encoding: .utf8))
            ?? String(decoding: FileManager.default.contents(atPath: fieldsOut) ?? Data(), as: UTF8.self)
        r.items = items(fromTshark: text, excluded: &r.excluded)

        let (outcome, stderr) = runProcess(utmctl, ["replay", path, "--eve", eveOut], stdoutPath: nil,
                                           timeout: timeout)
        r.outcome = outcome
        r.stderr = stderr
        let eve = EVEItems(readEVE(eveOut))
        r.missed = r.items.filter { !eve.contains($0) }.sorted { ($0.kind, $0.value) < ($1.kind, $1.value) }
        return r
    }

    static func items(fromTshark text: String, excluded: inout [String: Int]) -> Set<Item> {
        var out: Set<Item> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            while c.count < fields.count { c.append("") }
            func values(_ s: String) -> [String] {
                s.isEmpty ? [] : s.components(separatedBy: aggregator)
            }
            let protocols = Set(c[0].split(separator: ":").map(String.init))
            let snis = values(c[1]), hosts = values(c[2]), uris = values(c[3]), names = values(c[4])
            let count = snis.count + uris.count + names.count
            if count == 0 { continue }
            if !c[5].isEmpty || !c[6].isEmpty {
                excluded["malformed or unreassembled frame", default: 0] += count
                continue
            }
            if protocols.contains("icmp") || protocols.contains("icmpv6") {
                excluded["inside an ICMP error", default: 0] += count
                continue
            }
            for s in snis {
                out.insert(Item(kind: protocols.contains("quic") ? "quic_sni" : "tls_sni", value: s))
            }
            if !uris.isEmpty {
                if protocols.contains("tcp") {
                    for (k, u) in uris.enumerated() {
                        let host = hosts.count == uris.count ? normalizedHost(hosts[k]) : nil
                        out.insert(Item(kind: "http", host: host, value: u))
                    }
                } else {
                    excluded["HTTP over UDP (SSDP)", default: 0] += uris.count
                }
            }
            for n in names {
                if n.hasPrefix("<") && n != "<Root>" {
                    excluded["tshark name placeholder", default: 0] += 1
                    continue
                }
                out.insert(Item(kind: "dns", value: canonicalName(n == "<Root>" ? "" : n)))
            }
        }
        return out
    }

    /// Host as Suricata logs it: lowercased, without `:port` (IPv6 literals keep their brackets).
    static func normalizedHost(_ raw: String) -> String {
        var h = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if h.hasPrefix("[") {
            if let close = h.firstIndex(of: "]") { h = String(h[...close]) }
        } else if h.filter({ $0 == ":" }).count == 1, let colon = h.firstIndex(of: ":") {
            h = String(h[..<colon])
        }
        return h
    }

    /// The canonical form both sides are compared in (see the type's comment).
    static func canonicalName(_ s: String) -> String {
        var bytes: [UInt8] = []
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let ch = scalars[i]
            if ch == "\\", i + 3 < scalars.count,
               let v = UInt8(String(String.UnicodeScalarView(scalars[(i + 1)...(i + 3)])), radix: 10),
               scalars[(i + 1)...(i + 3)].allSatisfy({ $0.properties.numericType != nil }) {
                bytes.append(v)
                i += 4
                continue
            }
            bytes.append(ch.value >= 0x20 && ch.value < 0x7f ? UInt8(ch.value) : 0xff)
            i += 1
        }
        var out = ""
        var inRun = false
        for b in bytes {
            if b >= 0x20 && b < 0x7f {
                out.unicodeScalars.append(UnicodeScalar(b))
                inRun = false
            } else if !inRun {
                out += "?"
                inRun = true
            }
        }
        return out
    }

    /// What the EVE output of one capture offers to match against.
    struct EVEItems {
        var snis: Set<String> = []
        var http: Set<String> = []  // "host url"
        var urls: Set<String> = []
        var dns: Set<String> = []

        init(_ events: [[String: Any]?]) {
            for case let e? in events {
                switch e["event_type"] as? String {
                case "tls":
                    if let s = (e["tls"] as? [String: Any])?["sni"] as? String { snis.insert(s) }
                case "quic":
                    if let s = (e["quic"] as? [String: Any])?["sni"] as? String { snis.insert(s) }
                case "http":
                    guard let h = e["http"] as? [String: Any], let url = h["url"] as? String else { continue }
                    urls.insert(url)
                    http.insert(((h["hostname"] as? String) ?? "").lowercased() + " " + url)
                case "dns":
                    guard let d = e["dns"] as? [String: Any] else { continue }
                    if let n = d["rrname"] as? String { dns.insert(CorpusTsharkTests.canonicalName(n)) }
                    for q in (d["queries"] as? [[String: Any]]) ?? [] {
                        if let n = q["rrname"] as? String { dns.insert(CorpusTsharkTests.canonicalName(n)) }
                    }
                default:
                    break
                }
            }
        }

        func contains(_ item: Item) -> Bool {
            switch item.kind {
            case "tls_sni", "quic_sni": return snis.contains(item.value)
            case "http":
                if let host = item.host { return http.contains(host + " " + item.value) }
                return urls.contains(item.value)
            default: return dns.contains(item.value)
            }
        }
    }

    // MARK: Summary

    struct Summary {
        var text: String
        var found: Int
        var total: Int
        var ratio: Double { total == 0 ? 0 : Double(found) / Double(total) }
    }

    static func summarize(_ all: [CaptureResult], shared: String, seconds: TimeInterval) -> Summary {
        var total: [String: Int] = [:], found: [String: Int] = [:], excluded: [String: Int] = [:]
        for r in all {
            for i in r.items { total[i.kind, default: 0] += 1 }
            for m in r.missed { found[m.kind, default: 0] -= 1 }
            for (k, v) in r.excluded { excluded[k, default: 0] += v }
        }
        for (k, v) in total { found[k, default: 0] += v }
        let t = total.values.reduce(0, +), f = found.values.reduce(0, +)
        func short(_ p: String) -> String { p.hasPrefix(shared) ? String(p.dropFirst(shared.count + 1)) : p }
        var s = "== corpus vs tshark: \(all.count) captures in \(Int(seconds)) s\n"
        s += String(format: "found %d / %d = %.2f%%\n", f, t, t == 0 ? 0 : 100 * Double(f) / Double(t))
        for k in total.keys.sorted() {
            s += "  \(k): \(found[k] ?? 0) / \(total[k] ?? 0)\n"
        }
        s += "excluded by rule: \(excluded.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))\n"
        let rejected = all.filter { $0.outcome == .exited(1) }
        s += "captures utmctl rejected (exit 1): \(rejected.count)\n"
        for r in rejected {
            let line = r.stderr.split(separator: "\n").first { $0.contains("utmctl") } ?? ""
            s += "  \(short(r.path)): \(line.suffix(120))\n"
        }
        let worst = all.filter { !$0.missed.isEmpty }.sorted { $0.missed.count > $1.missed.count }
        s += "worst captures (missed / items):\n"
        for r in worst.prefix(20) { s += "  \(r.missed.count) / \(r.items.count)  \(short(r.path))\n" }
        s += "missed by kind (first 15 each):\n"
        for k in total.keys.sorted() {
            let ms = all.flatMap { r in r.missed.filter { $0.kind == k }.map { (short(r.path), $0) } }
            guard !ms.isEmpty else { continue }
            s += "  \(k) (\(ms.count)):\n"
            for (p, m) in ms.prefix(15) {
                let v = (m.host.map { $0 + " " } ?? "") + m.value
                s += "    \(p): \(v.prefix(140))\n"
            }
        }
        return Summary(text: s, found: f, total: t)
    }
}

/// Hands out capture indices to the workers and collects their results.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var results: [CorpusTsharkTests.CaptureResult?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < results.count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    func set(_ i: Int, _ r: CorpusTsharkTests.CaptureResult) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
    }

    func all() -> [CorpusTsharkTests.CaptureResult] {
        lock.lock(); defer { lock.unlock() }
        return results.compactMap { $0 }
    }
}
