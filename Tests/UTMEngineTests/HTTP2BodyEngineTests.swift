import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDecode
import UTMDetect
import UTMAntivirus
import UTMInflate
import UTMOutput
@testable import UTMEngine

/// HTTP/2 session 6: DATA frames as the body buffers (file_data, http.response_body,
/// http.request_body; gzip decoded), `http` vs `http1` rule headers on HTTP/2 flows, and a
/// midstream session picked up on the server's `101` (suricata-verify drop-protocol-change).
@Suite struct HTTP2BodyEngineTests {
    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        HTTP2EngineTests.frame(type, flags, stream, payload)
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// A literal header without indexing, new name.
    static func lit(_ n: String, _ v: String) -> [UInt8] {
        [0x00, UInt8(n.utf8.count)] + Array(n.utf8) + [UInt8(v.utf8.count)] + Array(v.utf8)
    }

    /// Handshake, then `segments` in order (true: client to server), each answered by a bare
    /// ACK, then FINs. `handshake: false` starts with the first segment (midstream).
    static func session(sport: UInt16, dport: UInt16 = 8080, handshake: Bool = true,
                        _ segments: [(Bool, [UInt8])]) -> [[UInt8]] {
        typealias T = EngineTraffic
        var c: UInt32 = 1_000_000 + UInt32(sport), s: UInt32 = 7_000_000 + UInt32(sport)
        var out: [[UInt8]] = []
        if handshake {
            out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: 0, flags: T.syn)))
            c &+= 1
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.syn | T.ackFlag)))
            s &+= 1
            out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.ackFlag)))
        }
        for (up, data) in segments {
            if up {
                out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.psh | T.ackFlag, data)))
                c &+= UInt32(data.count)
                out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.ackFlag)))
            } else {
                out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.psh | T.ackFlag, data)))
                s &+= UInt32(data.count)
                out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.ackFlag)))
            }
        }
        out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.fin | T.ackFlag)))
        out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c &+ 1, flags: T.fin | T.ackFlag)))
        return out
    }

    /// `bytes` cut into segments of `size`.
    static func split(_ up: Bool, _ bytes: [UInt8], _ size: Int) -> [(Bool, [UInt8])] {
        stride(from: 0, to: bytes.count, by: size).map { (up, Array(bytes[$0 ..< Swift.min($0 + size, bytes.count)])) }
    }

    /// Prior knowledge: a POST with a body on stream 1 and the response's body (gzip when
    /// `gzip`), DATA split over several frames.
    static func exchange(body: String, upload: String, gzip: Bool) -> (client: [UInt8], server: [UInt8]) {
        let post: [UInt8] = [0x83, 0x86, 0x84] + lit(":authority", "files.example")
        let client = preface + frame(4, 0, 0, []) + frame(1, 0x4, 1, post)
            + frame(0, 0, 1, Array(upload.utf8.prefix(10))) + frame(0, 0x1, 1, Array(upload.utf8.dropFirst(10)))
        var headers: [UInt8] = [0x88] + lit("content-type", "application/octet-stream")
        var payload = Array(body.utf8)
        if gzip {
            headers += lit("content-encoding", "gzip")
            payload = Deflate.compress(payload, format: .gzip)
        }
        let half = payload.count / 2
        let server = frame(4, 0, 0, []) + frame(1, 0x4, 1, headers)
            + frame(0, 0x8, 1, [4] + Array(payload[..<half]) + [0, 0, 0, 0])   // padded
            + frame(0, 0x1, 1, Array(payload[half...]))
        return (client, server)
    }

    static let rules = """
        alert http any any -> any any (msg:"h2 file_data"; flow:to_client; file_data; content:"EICAR-LIKE-MARKER"; sid:10;)
        alert http any any -> any any (msg:"h2 response_body"; http.response_body; content:"EICAR-LIKE"; sid:11;)
        alert http any any -> any any (msg:"h2 request_body"; http.request_body; content:"user=admin&pass="; sid:12;)
        alert http any any -> any any (msg:"h2 uri and body"; http.host; content:"files.example"; file_data; content:"MARKER"; sid:13;)
        alert http any any -> any any (msg:"absent"; file_data; content:"not-in-the-body"; sid:14;)
        """

    static func engine(_ text: String) -> Engine {
        var parser = RuleParser()
        parser.load(text: text, file: "h2body.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        return engine
    }

    static func sids(_ frames: [[UInt8]], rules: String = rules) -> [Int] {
        FirewallEngineTests.sids(FirewallEngineTests.run(engine(rules), frames).events).sorted()
    }

    static let body = String(repeating: "filler ", count: 40) + "EICAR-LIKE-MARKER" + String(repeating: " tail", count: 30)
    static let upload = "user=admin&pass=hunter2"

    @Test func bodiesMatchWholeAndSplit() {
        for gzip in [false, true] {
            let (client, server) = Self.exchange(body: Self.body, upload: Self.upload, gzip: gzip)
            let whole = Self.sids(Self.session(sport: 44000, [(true, client), (false, server)]))
            #expect(whole == [10, 11, 12, 13], "gzip \(gzip)")
            // Frames (headers and payload) cut across TCP segments of every size.
            for size in [1, 5, 9, 13, 100, 1400] {
                let frames = Self.session(sport: UInt16(44100 + size), Self.split(true, client, size) + Self.split(false, server, size))
                let sids = Self.sids(frames)
                // Bodies are accumulated per stream side (UTMDetect BodyAccumulators.swift): a
                // pattern cut by segment or frame boundaries is found, once per stream.
                #expect(sids == whole, "gzip \(gzip) size \(size): \(sids)")
            }
        }
    }

    /// A DATA frame cut short by the end of the connection: what arrived is inspected, nothing
    /// traps; a frame whose length runs past the data (truncated) keeps the parser safe.
    @Test func truncatedDataFrame() {
        let (client, _) = Self.exchange(body: "", upload: Self.upload, gzip: false)
        let marker = Array("....EICAR-LIKE-MARKER....".utf8)
        let server = Self.frame(4, 0, 0, []) + Self.frame(1, 0x4, 1, [0x88])
            + Array(Self.frame(0, 0x1, 1, marker + [UInt8](repeating: 0x41, count: 400)).prefix(9 + marker.count + 20))
        let sids = Self.sids(Self.session(sport: 44200, [(true, client), (false, server)]))
        #expect(sids.contains(10) && sids.contains(11))
        for cut in stride(from: 0, to: server.count, by: 7) {
            _ = Self.sids(Self.session(sport: 44300, [(true, client), (false, Array(server.prefix(cut)))]))
        }
    }

    /// `http` rules match HTTP/2 flows, `http1` ones do not (Suricata 7); both match HTTP/1.
    @Test func http1RuleHeaderExcludesHTTP2() {
        let rules = """
            alert http any any -> any any (msg:"http"; http.uri; content:"/both"; sid:1;)
            alert http1 any any -> any any (msg:"http1"; http.uri; content:"/both"; sid:2;)
            """
        let h2 = HTTP2EngineTests.session(sport: 44400, path: "/both", host: "x.example")
        #expect(Set(Self.sids(h2, rules: rules)) == [1])
        // A response rule reads the stream's request fields too, as for HTTP/1 transactions.
        let both = "alert http any any -> any any (msg:\"uri and 404\"; flow:to_client; http.uri; content:\"/both\"; http.stat_code; content:\"404\"; sid:3;)\n"
        #expect(Self.sids(h2, rules: both) == [3], "stream 3 answered 404")
        let h1 = EngineTraffic.tcpSession(v6: false, sport: 44401, dport: 80, exchanges: [
            (Array("GET /both HTTP/1.1\r\nHost: x.example\r\n\r\n".utf8), Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)),
        ])
        #expect(Set(Self.sids(h1, rules: rules)) == [1, 2])
    }

    /// The session is picked up on the server's `101 Switching Protocols` (the request was
    /// lost): the flow is reversed so the response is the server's, the response's
    /// `Upgrade: h2c` switches to HTTP/2, and a header-only `http` rule alerts; a `drop`
    /// rule in IDS mode alerts once and ends the flow's detection (drop-protocol-change).
    @Test func midstreamUpgradeReversesTheFlow() {
        let switching = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + Self.frame(4, 0, 0, [])
        let client = Self.preface + Self.frame(4, 0, 0, []) + Self.frame(1, 0x5, 3, [0x82, 0x86, 0x84] + Self.lit(":authority", "m.example"))
        let response = Self.frame(1, 0x5, 3, [0x88])
        let frames = Self.session(sport: 44500, dport: 80, handshake: false, [(false, switching), (true, client), (false, response)])
        // Reversal needs the server's packet first: drop the handshake-less session's order as built.
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"any http"; flow:to_server; sid:1;)
            alert http any any -> any any (msg:"h2 host"; http.host; content:"m.example"; sid:2;)
            alert http any any -> any any (msg:"101"; flow:to_client; http.stat_code; content:"101"; sid:3;)
            """, file: "mid.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        let events = FirewallEngineTests.run(engine, frames).events
        let sids = Set(FirewallEngineTests.sids(events))
        #expect(sids == [1, 2, 3], "\(sids)")
        let flow = FirewallEngineTests.of(events, "flow").first
        #expect(flow?["app_proto"] as? String == "http2")
        #expect(flow?["src_port"] as? Int == 44500, "the client is the flow's source after the reversal")
        // Picked up on a bare ACK of the server first: reversed on its first data all the same.
        typealias T = EngineTraffic
        let sport: UInt16 = 44500, dport: UInt16 = 80
        let ack = T.ip(v6: false, proto: 6, toServer: false,
                       T.tcp(dport, sport, seq: 7_000_000 + UInt32(sport), ack: 1_000_000 + UInt32(sport), flags: T.ackFlag))
        var p3 = RuleParser()
        p3.load(text: "alert http any any -> any any (msg:\"101\"; flow:to_client; http.stat_code; content:\"101\"; sid:3;)\n",
                file: "mid2.rules")
        let late = Engine()
        late.loadDetection(DetectDefinitions(ruleSet: p3.finish()))
        let lateEvents = FirewallEngineTests.run(late, [ack] + frames).events
        #expect(FirewallEngineTests.sids(lateEvents) == [3])
        #expect(FirewallEngineTests.of(lateEvents, "flow").first?["app_proto"] as? String == "http2")
        // IDS mode: drop alerts once, then the flow is no longer inspected.
        var c = EngineConfig()
        c.modes.ids = true
        var p2 = RuleParser()
        p2.load(text: "drop http any any -> any any (msg:\"drop http\"; sid:9;)\n", file: "drop.rules")
        let ids = Engine(config: c)
        ids.loadDetection(DetectDefinitions(ruleSet: p2.finish()))
        #expect(FirewallEngineTests.sids(FirewallEngineTests.run(ids, frames).events) == [9])
    }

    /// Steady state with bodies (plain and gzip) allocates nothing per packet.
    @Test func http2BodiesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Self.engine(Self.rules)
        var traffic: [[UInt8]] = []
        for k in 0 ..< 4 {
            let (client, server) = Self.exchange(body: Self.body, upload: Self.upload, gzip: k % 2 == 1)
            traffic += Self.session(sport: UInt16(44600 + k), Self.split(true, client, 50) + Self.split(false, server, 60))
        }
        let n = steadyStateAllocations(engine, traffic, rounds: 10) {}
        #expect(n == 0, "HTTP/2 bodies allocated \(n) times")
    }

    /// The antivirus scans HTTP/2 downloads: an EICAR body (plain, and gzip split over DATA
    /// frames and segments) is found and blocked inline with a `fileinfo` naming the stream's
    /// authority and path; a clean stream beside it is logged clean.
    @Test func antivirusScansHTTP2Downloads() throws {
        let eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
        for gzip in [false, true] {
            var payload = Array(eicar.utf8)
            var headers: [UInt8] = [0x88]
            if gzip {
                payload = Deflate.compress(payload, format: .gzip)
                headers += Self.lit("content-encoding", "gzip")
            }
            let block: [UInt8] = [0x82, 0x86] + Self.lit(":path", "/dl/eicar.com") + Self.lit(":authority", "files.example")
            let clean: [UInt8] = [0x82, 0x86] + Self.lit(":path", "/index.html") + Self.lit(":authority", "files.example")
            let client = Self.preface + Self.frame(4, 0, 0, []) + Self.frame(1, 0x5, 1, block) + Self.frame(1, 0x5, 3, clean)
            let half = payload.count / 2
            let server = Self.frame(4, 0, 0, []) + Self.frame(1, 0x4, 1, headers) + Self.frame(1, 0x4, 3, [0x88])
                + Self.frame(0, 0, 3, Array("<html>clean</html>".utf8))
                + Self.frame(0, 0, 1, Array(payload[..<half])) + Self.frame(0, 0x1, 3, [])
                + Self.frame(0, 0x1, 1, Array(payload[half...]))
            var config = EngineConfig()
            config.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly()))
            let engine = Engine(config: config)
            let (events, dropped) = FirewallEngineTests.run(engine, Self.session(sport: 44700, [(true, client)]
                + Self.split(false, server, 40)))
            #expect(dropped > 0, "inline: the packet that ends the infected file is blocked")
            let infos = FirewallEngineTests.of(events, "fileinfo")
            let files = infos.compactMap { $0["fileinfo"] as? [String: Any] }
            let bad = files.first { $0["virus"] is String }
            #expect(bad?["filename"] as? String == "eicar.com", "gzip \(gzip): \(files)")
            let http = infos.first { ($0["fileinfo"] as? [String: Any])?["virus"] is String }?["http"] as? [String: Any]
            #expect(http?["url"] as? String == "/dl/eicar.com" && http?["hostname"] as? String == "files.example")
            #expect(files.count == 2 && files.filter { $0["virus"] is NSNull }.count == 1, "the clean stream too")
            #expect(engine.antivirusStats.infected == 1)
        }
    }

    /// With the antivirus, HTTP/2 downloads allocate per file at most what HTTP/1 ones do
    /// (AntivirusAllocationTests' bound: the scanner's per-file work), never per packet.
    @Test func antivirusHTTP2AllocatesOnlyPerFile() {
        guard allocationCounterWorks() else { return }
        var scan = AVScanConfig()
        scan.fileinfoDigests = []
        var config = EngineConfig()
        config.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly(), scan: scan))
        let engine = Engine(config: config)
        var traffic: [[UInt8]] = []
        for k in 0 ..< 4 {
            let (client, server) = Self.exchange(body: Self.body, upload: Self.upload, gzip: k % 2 == 1)
            traffic += Self.session(sport: UInt16(44800 + k), Self.split(true, client, 50) + Self.split(false, server, 60))
        }
        var before = engine.antivirusStats.files
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { before = engine.antivirusStats.files }
        let files = engine.antivirusStats.files - before
        #expect(files == 10 * 4 * 2, "each session's upload and download")
        #expect(n <= Int(files) * 3, "\(n) allocations for \(files) files")
    }

    /// h2c: the upgrading HTTP/1.1 request becomes stream 1 (inspected once, as HTTP/1: its
    /// `Upgrade: h2c` line), its answer comes as HTTP/2 in the segment of the 101; that body
    /// and a later stream's are file_data, the later request's lines are HTTP/2 ones.
    @Test func h2cUpgradeBodiesAndHeaderLines() {
        let request = "GET /up HTTP/1.1\r\nHost: h.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"
        let switching = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + Self.frame(4, 0, 0, []) + Self.frame(1, 0x4, 1, [0x88]) + Self.frame(0, 0x1, 1, Array("first-MARKER-one".utf8))
        let second = Self.preface + Self.frame(4, 0, 0, []) + Self.frame(1, 0x5, 3, [0x82, 0x86] + Self.lit(":path", "/two"))
        let answer = Self.frame(1, 0x4, 3, [0x88]) + Self.frame(0, 0x1, 3, Array("second-MARKER-two".utf8))
        let frames = Self.session(sport: 44900, dport: 80, [(true, Array(request.utf8)), (false, switching), (true, second), (false, answer)])
        let rules = """
            alert http any any -> any any (msg:"s1 body"; file_data; content:"first-MARKER"; sid:1;)
            alert http any any -> any any (msg:"s3 body"; file_data; content:"second-MARKER"; sid:2;)
            alert http any any -> any any (msg:"h2 line"; http.request_header; content:":path: /two"; startswith; endswith; sid:3;)
            alert http any any -> any any (msg:"absent"; file_data; content:"third-MARKER"; sid:4;)
            alert http any any -> any any (msg:"h2c asked"; http.request_header; content:"upgrade: h2c"; nocase; sid:5;)
            """
        #expect(Self.sids(frames, rules: rules) == [1, 2, 3, 5])
    }
}
