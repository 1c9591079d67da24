import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMCrypto
import UTMDetect
@testable import UTMEngine

/// File keywords (session 9, EngineDetectFiles.swift) on HTTP/1 files built in the test, with no
/// antivirus configured: the name from Content-Disposition or the URI path, `fileext`,
/// `filesize` on the complete (or truncated) file, MD5/SHA-1/SHA-256 lists computed as the body
/// passes; bodies split over segments and chunked. Each keyword positive and negative.
@Suite struct FileKeywordEngineTests {
    typealias B = HTTP2BodyEngineTests

    /// Hash lists the rules name, served from memory (the loader reads files in production).
    static func definitions(_ text: String, lists: [String: String] = [:], count: Int? = nil) -> DetectDefinitions {
        var p = RuleParser()
        p.fileReader = { path in
            guard let t = lists[path] else { throw CocoaError(.fileNoSuchFile) }
            return Array(t.utf8)
        }
        p.load(text: text, file: "/rules/file.rules")
        let set = p.finish()
        #expect(set.signatures.count == (count ?? text.split(separator: "\n").count), "\(set.report.errors + set.report.skipped)")
        return DetectDefinitions(ruleSet: set)
    }

    static func request(_ uri: String, method: String = "GET", body: [UInt8] = []) -> [UInt8] {
        let len = method == "GET" ? "" : "Content-Length: \(body.count)\r\n"
        return Array("\(method) \(uri) HTTP/1.1\r\nHost: dl.example\r\n\(len)\r\n".utf8) + body
    }

    static func head(_ length: Int?, extra: String = "", status: String = "200 OK") -> [UInt8] {
        let framing = length.map { "Content-Length: \($0)\r\n" } ?? "Transfer-Encoding: chunked\r\n"
        return Array("HTTP/1.1 \(status)\r\nContent-Type: application/octet-stream\r\n\(extra)\(framing)\r\n".utf8)
    }

    /// A download of `body` for `uri`, the body cut into `size`-byte segments (0: one).
    static func download(_ uri: String, _ body: [UInt8], extra: String = "", size: Int = 0, sport: UInt16 = 48000,
                         chunked: Bool = false) -> [[UInt8]] {
        var wire = body
        if chunked {
            wire = []
            for piece in BodyAccumulationTests.pieces(body, cuts: [], size: 700) {
                wire += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
            }
            wire += Array("0\r\n\r\n".utf8)
        }
        var segs: [(Bool, [UInt8])] = [(true, request(uri)), (false, head(chunked ? nil : body.count, extra: extra))]
        segs += BodyAccumulationTests.pieces(wire, cuts: [], size: size).map { (false, $0) }
        return B.session(sport: sport, dport: 80, segs)
    }

    static func sids(_ frames: [[UInt8]], _ defs: DetectDefinitions) -> [Int] {
        let engine = Engine()
        #expect(engine.config.antivirus == nil, "no antivirus: the IPS follows files itself")
        engine.loadDetection(defs)
        return FirewallEngineTests.sids(FirewallEngineTests.run(engine, frames).events).sorted()
    }

    static func hex(_ d: Bytes32, _ n: Int) -> String { d.bytes.prefix(n).map { String(format: "%02x", $0) }.joined() }

    static func digests(_ body: [UInt8]) -> FileDigests {
        let s = StreamingDigest()
        s.begin(.all)
        body.withByteView { s.update($0) }
        return s.finish()
    }

    static let exe = Array("MZ".utf8) + [UInt8](repeating: 0x90, count: 3000)

    @Test func fileNameFromContentDisposition() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"ext"; fileext:"exe"; sid:1;)
            alert http any any -> any any (msg:"name"; filename:"INVOICE"; sid:2;)
            alert http any any -> any any (msg:"sticky"; file.name; content:"invoice.exe"; startswith; sid:3;)
            alert http any any -> any any (msg:"pdf"; fileext:"pdf"; sid:4;)
            """)
        let cd = "Content-Disposition: attachment; filename=\"Invoice.EXE\"\r\n"
        // Named by the header although the URI says otherwise; split over segments; the
        // sticky buffer is case-sensitive ("Invoice" is no "invoice").
        #expect(Self.sids(Self.download("/get?id=7", Self.exe, extra: cd, size: 500), defs) == [1, 2])
        // Negative: another extension, and "exe" only as a partial extension.
        #expect(Self.sids(Self.download("/get", Self.exe, extra: "Content-Disposition: attachment; filename=\"a.exe.txt\"\r\n"), defs).isEmpty)
        #expect(Self.sids(Self.download("/get", Self.exe, extra: "Content-Disposition: attachment; filename=\"notexe\"\r\n"), defs).isEmpty)
    }

    @Test func fileNameFromTheURIPath() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"path"; file.name; content:"/dl/tool.exe"; startswith; endswith; sid:1;)
            alert http any any -> any any (msg:"ext"; fileext:"exe"; sid:2;)
            """)
        // The query is not part of the name; chunked; one-byte segments.
        #expect(Self.sids(Self.download("/dl/tool.exe?x=1.pdf", Self.exe, chunked: true), defs) == [1, 2])
        #expect(Self.sids(Self.download("/dl/tool.exe", Self.exe, size: 1), defs) == [1, 2])
        // Negative: ".exe" only in the query.
        #expect(Self.sids(Self.download("/dl/tool.php?f=a.exe", Self.exe), defs).isEmpty)
        // Negative: no body, no file (a 304 names nothing).
        let frames = B.session(sport: 48100, dport: 80, [(true, Self.request("/dl/tool.exe")),
                                                         (false, Array("HTTP/1.1 304 Not Modified\r\n\r\n".utf8))])
        #expect(Self.sids(frames, defs).isEmpty)
    }

    @Test func fileSizeOnTheCompleteFile() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"big"; filesize:>2KB; sid:1;)
            alert http any any -> any any (msg:"exact"; filesize:3002; sid:2;)
            alert http any any -> any any (msg:"range"; filesize:100<>200; sid:3;)
            alert http any any -> any any (msg:"small"; filesize:<10; sid:4;)
            """)
        #expect(Self.sids(Self.download("/a.bin", Self.exe, size: 1000), defs) == [1, 2])
        #expect(Self.sids(Self.download("/a.bin", Self.exe, chunked: true), defs) == [1, 2])
        #expect(Self.sids(Self.download("/a.bin", [UInt8](repeating: 1, count: 150)), defs) == [3])
        #expect(Self.sids(Self.download("/a.bin", [1, 2, 3]), defs) == [4])
        // Truncated (the flow ends 1,000 bytes into a 3,002-byte body): only the lower bound can
        // be judged, on what was seen — 1,000 is not > 2 KiB, and the exact size is never judged.
        let cut = B.session(sport: 48200, dport: 80, [(true, Self.request("/a.bin")), (false, Self.head(3002)),
                                                      (false, Array(Self.exe.prefix(1000)))])
        #expect(Self.sids(cut, defs).isEmpty)
        let cutBig = B.session(sport: 48201, dport: 80, [(true, Self.request("/a.bin")), (false, Self.head(9000)),
                                                         (false, Self.exe)])
        #expect(Self.sids(cutBig, defs) == [1], "truncated at 3,002 bytes: > 2 KiB holds, = 3002 is not judged")
    }

    @Test func hashListsMatchTheWholeFile() {
        let d = Self.digests(Self.exe)
        let other = Self.digests(Array("other".utf8))
        let lists = [
            "/rules/bad.md5": "# comment\n\n\(Self.hex(other.md5, 16))  other.bin\n\(Self.hex(d.md5, 16).uppercased())  evil.exe\r\n",
            "/rules/bad.sha1": "\(Self.hex(d.sha1, 20))\n",
            "/abs/bad.sha256": "\(Self.hex(d.sha256, 32)) evil\n",
            "/rules/allow.md5": "\(Self.hex(other.md5, 16))\n",
        ]
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"md5"; filemd5:bad.md5; sid:1;)
            alert http any any -> any any (msg:"sha1"; filesha1:bad.sha1; sid:2;)
            alert http any any -> any any (msg:"sha256"; filesha256:/abs/bad.sha256; sid:3;)
            alert http any any -> any any (msg:"not allowed"; filemd5:!allow.md5; sid:4;)
            """, lists: lists)
        #expect(Self.sids(Self.download("/x", Self.exe, size: 333), defs) == [1, 2, 3, 4])
        #expect(Self.sids(Self.download("/x", Self.exe, chunked: true), defs) == [1, 2, 3, 4])
        // Negative: one byte different; and the allowed file passes the negated list.
        var changed = Self.exe
        changed[1500] ^= 1
        #expect(Self.sids(Self.download("/x", changed, size: 333), defs) == [4])
        #expect(Self.sids(Self.download("/x", Array("other".utf8)), defs) == [1])
        // A truncated file has no digest (Suricata finishes hashes of closed files only).
        let cut = B.session(sport: 48300, dport: 80, [(true, Self.request("/x")), (false, Self.head(9000)), (false, Self.exe)])
        #expect(Self.sids(cut, defs).isEmpty)
    }

    /// Two responses in one segment (pipelined): both files end in one feed, each is judged with
    /// its own transaction's name and size.
    @Test func pipelinedFilesInOneSegment() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"big exe"; fileext:"exe"; filesize:>1000; sid:1;)
            alert http any any -> any any (msg:"small txt"; fileext:"txt"; filesize:<1000; sid:2;)
            alert http any any -> any any (msg:"big txt"; fileext:"txt"; filesize:>1000; sid:3;)
            """)
        let small = Array("tiny".utf8)
        let both = Self.head(Self.exe.count) + Self.exe + Self.head(small.count) + small
        let frames = B.session(sport: 48500, dport: 80, [(true, Self.request("/a.exe") + Self.request("/b.txt")), (false, both)])
        let engine = Engine()
        engine.loadDetection(defs)
        let r = FirewallEngineTests.run(engine, frames)
        #expect(FirewallEngineTests.sids(r.events).sorted() == [1, 2])
        #expect(engine.fileDetectStats.files == 2 && engine.fileDetectStats.closeInspections == 2)
        let urls = FirewallEngineTests.of(r.events, "alert").compactMap { ($0["http"] as? [String: Any])?["url"] as? String }
        #expect(urls.sorted() == ["/a.exe", "/b.txt"], "each alert carries its own transaction")
    }

    @Test func uploadsAreFilesToo() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"upload ext"; flow:to_server; fileext:"docm"; sid:1;)
            alert http any any -> any any (msg:"upload size"; flow:to_server; filesize:5; sid:2;)
            alert http any any -> any any (msg:"download only"; flow:to_client; fileext:"docm"; sid:3;)
            """)
        let frames = B.session(sport: 48400, dport: 80, [(true, Self.request("/up/Report.DOCM", method: "PUT", body: Array("hello".utf8))),
                                                         (false, Array("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".utf8))])
        #expect(Self.sids(frames, defs) == [1, 2])
    }

    /// The name rules judge the file with its first body inspection, alongside file_data.
    @Test func nameWithFileData() {
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"exe MZ"; fileext:"exe"; file_data; content:"MZ"; depth:2; sid:1;)
            """)
        #expect(Self.sids(Self.download("/a.exe", Self.exe, size: 400), defs) == [1])
        #expect(Self.sids(Self.download("/a.exe", [UInt8](repeating: 0x41, count: 500)), defs).isEmpty)
        #expect(Self.sids(Self.download("/a.dll", Self.exe), defs).isEmpty)
    }

    /// HTTP/2 (prior knowledge): two streams' downloads interleaved in DATA frames, each a file
    /// named by its `:path`, with its own size and digest; a stream cut by the connection's end
    /// is truncated (no hash, no exact size).
    @Test func http2StreamsAreFiles() {
        let d = Self.digests(Self.exe)
        let defs = Self.definitions("""
            alert http any any -> any any (msg:"h2 exe"; fileext:"exe"; sid:1;)
            alert http any any -> any any (msg:"h2 md5"; filemd5:h2.md5; sid:2;)
            alert http any any -> any any (msg:"h2 size"; filesize:3002; sid:3;)
            alert http any any -> any any (msg:"h2 txt"; fileext:"txt"; filesize:4; sid:4;)
            """, lists: ["/rules/h2.md5": "\(Self.hex(d.md5, 16))\n"])
        func get(_ stream: UInt32, _ path: String) -> [UInt8] {
            B.frame(1, 0x5, stream, [0x82, 0x86] + B.lit(":path", path) + B.lit(":authority", "dl.example"))
        }
        let client = B.preface + B.frame(4, 0, 0, []) + get(1, "/dl/tool.exe?v=2") + get(3, "/notes.txt")
        let exe = Self.exe
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, [0x88]) + B.frame(1, 0x4, 3, [0x88])
            + B.frame(0, 0, 1, Array(exe[..<1000])) + B.frame(0, 0x1, 3, Array("tiny".utf8))
            + B.frame(0, 0, 1, Array(exe[1000..<2000])) + B.frame(0, 0x1, 1, Array(exe[2000...]))
        #expect(Self.sids(B.session(sport: 48600, [(true, client), (false, server)]), defs) == [1, 2, 3, 4])
        for size in [1, 7, 500] {
            let frames = B.session(sport: UInt16(48700 + size), B.split(true, client, size) + B.split(false, server, size))
            #expect(Self.sids(frames, defs) == [1, 2, 3, 4], "segments of \(size)")
        }
        // Negative: stream 1 never ends (the connection closes first): its name still matches,
        // its hash and exact size are not judged.
        let cut = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, [0x88]) + B.frame(0, 0, 1, Array(exe[..<1000]))
        #expect(Self.sids(B.session(sport: 48800, [(true, client), (false, cut)]), defs) == [1])
    }

    /// A definitions update adopted by a running engine (EngineDefinitions): file rules of the
    /// new set are judged from the next body on, without `loadDetection`.
    @Test func adoptedDefinitionsBringFileRules() {
        let engine = Engine()
        engine.loadDetection(Self.definitions(#"alert http any any -> any any (msg:"other"; http.uri; content:"/nothing-here"; sid:9;)"#))
        #expect(FirewallEngineTests.sids(FirewallEngineTests.run(engine, Self.download("/a.exe", Self.exe, sport: 48900)).events).isEmpty)
        let next = EngineDefinitions(config: engine.config, flowCapacity: engine.flows.capacity)
        next.loadDetection(Self.definitions(#"alert http any any -> any any (msg:"ext"; fileext:"exe"; filesize:>1000; sid:1;)"#))
        #expect(engine.adopt(next))
        #expect(FirewallEngineTests.sids(FirewallEngineTests.run(engine, Self.download("/a.exe", Self.exe, sport: 48901)).events) == [1])
    }

    /// An update adopted in the middle of a download: the file is picked up mid-body, so it
    /// counts as truncated: its name is judged, an exact or upper size bound is not (the bytes
    /// before the update were not counted).
    @Test func updateMidDownloadIsTruncated() {
        let engine = Engine()
        engine.loadDetection(Self.definitions(#"alert http any any -> any any (msg:"other"; fileext:"zip"; sid:9;)"#))
        let frames = Self.download("/a.exe", Self.exe, size: 500, sport: 48950)
        // Handshake (3 frames), request and response head (2 each) and the first 500 body
        // bytes (2); then the update.
        // Fed without `run`'s final `finish` (which would end the flow and the body).
        for (n, f) in frames.prefix(9).enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(n)),
                                   wireLength: v.count)
            }
        }
        let next = EngineDefinitions(config: engine.config, flowCapacity: engine.flows.capacity)
        next.loadDetection(Self.definitions("""
            alert http any any -> any any (msg:"ext"; fileext:"exe"; sid:1;)
            alert http any any -> any any (msg:"small"; filesize:<3000; sid:2;)
            alert http any any -> any any (msg:"exact"; filesize:3002; sid:3;)
            """))
        #expect(engine.adopt(next))
        let rest = FirewallEngineTests.run(engine, Array(frames.dropFirst(9)))
        #expect(FirewallEngineTests.sids(rest.events).sorted() == [1])
    }

    /// The stats event carries the file counters; a file rule alert carries its transaction.
    @Test func alertCarriesTheTransaction() {
        let defs = Self.definitions(#"alert http any any -> any any (msg:"ext"; fileext:"exe"; sid:1;)"#)
        let engine = Engine()
        engine.loadDetection(defs)
        let r = FirewallEngineTests.run(engine, Self.download("/a.exe", Self.exe, size: 700))
        let alerts = FirewallEngineTests.of(r.events, "alert")
        #expect(alerts.count == 1)
        #expect((alerts.first?["http"] as? [String: Any])?["url"] as? String == "/a.exe")
        #expect(engine.fileDetectStats.files == 1)
        #expect(engine.fileDetectStats.closeInspections == 0, "no size or hash rule: nothing to judge at the end")
    }
}

/// DESIGN: no allocation per packet with file rules (hash lists loaded): the digests come from
/// the stage's pool of StreamingDigest contexts, sized at load.
@Suite(.serialized) struct FileKeywordAllocationTests {
    @Test func fileRulesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let body = [UInt8](repeating: 0x41, count: 4096)
        let d = FileKeywordEngineTests.digests(body)
        var parser = RuleParser()
        let list = "\(FileKeywordEngineTests.hex(d.md5, 16))\n"
        let sha = "\(FileKeywordEngineTests.hex(d.sha256, 32))\n"
        parser.fileReader = { $0.hasSuffix(".md5") ? Array(list.utf8) : Array(sha.utf8) }
        parser.load(text: """
            alert http any any -> any any (msg:"md5"; filemd5:x.md5; sid:1;)
            alert http any any -> any any (msg:"sha256"; filesha256:x.sha256; filesize:>1KB; sid:2;)
            alert http any any -> any any (msg:"ext"; fileext:"exe"; sid:3;)
            """, file: "alloc-files.rules")
        let set = parser.finish()
        #expect(set.signatures.count == 3, "\(set.report.errors)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var alertsBefore = engine.stats.alerts
        var filesBefore = engine.fileDetectStats.files
        let n = steadyStateAllocations(engine, AntivirusAllocationTests.round(), rounds: 10) {
            alertsBefore = engine.stats.alerts
            filesBefore = engine.fileDetectStats.files
        }
        print("Engine allocations with file rules: \(n); files \(engine.fileDetectStats.files - filesBefore)")
        #expect(n == 0, "file tracking allocated \(n) times")
        // Each round's four setup.exe downloads match all three rules.
        #expect(engine.stats.alerts - alertsBefore >= 10 * 4 * 3)
        #expect(engine.fileDetectStats.digestPoolExhausted == 0)
    }

    /// The same over HTTP/2 stream sides (plain and gzip bodies, frames split over segments):
    /// the stream-side table and the digest pool are fixed, nothing allocates per packet.
    @Test func http2FileRulesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        typealias H = HTTP2BodyEngineTests
        var parser = RuleParser()
        parser.fileReader = { _ in Array("0123456789abcdef0123456789abcdef\n".utf8) }
        parser.load(text: """
            alert http any any -> any any (msg:"md5"; filemd5:!x.md5; filesize:>10; sid:1;)
            alert http any any -> any any (msg:"path"; file.name; content:"/"; sid:2;)
            """, file: "alloc-h2-files.rules")
        let set = parser.finish()
        #expect(set.signatures.count == 2, "\(set.report.errors)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var traffic: [[UInt8]] = []
        for k in 0 ..< 4 {
            let (client, server) = H.exchange(body: H.body, upload: H.upload, gzip: k % 2 == 1)
            traffic += H.session(sport: UInt16(49600 + k), H.split(true, client, 50) + H.split(false, server, 60))
        }
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        print("Engine allocations with HTTP/2 file rules: \(n); alerts \(engine.stats.alerts - alertsBefore)")
        #expect(n == 0, "HTTP/2 file tracking allocated \(n) times")
        // Each session's upload and download are files of both rules.
        #expect(engine.stats.alerts - alertsBefore >= 10 * 4 * 2)
        #expect(engine.fileDetectStats.h2TracksExhausted == 0)
    }
}
