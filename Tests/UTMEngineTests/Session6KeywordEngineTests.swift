import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// The session 6 keywords on traffic built here (EngineTraffic's frame builders), through the
/// whole engine, each rule set twice: as parsed, and after a compiled bundle round trip
/// (`DefinitionsBundle.encode` then `decode`, what `utmctl defs compile` and `replay --rules B`
/// do), with the same alerts both ways.
@Suite struct Session6KeywordEngineTests {
    typealias T = EngineTraffic

    /// Alerts per sid when `frames` are replayed with `rules`, checking the bundle gives the same.
    static func alerts(_ rules: String, _ frames: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int: Int] {
        var parser = RuleParser()
        parser.load(text: rules, file: "session6.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty,
                "\(set.report.errors + set.report.skipped)", sourceLocation: sourceLocation)
        let parsed = DetectDefinitions(ruleSet: set)
        let bundle = DefinitionsBundle.encode(definitions: parsed)
        let decoded = try DefinitionsBundle.decode(bundle, file: "session6.bundle")
        #expect(decoded.count == parsed.count, sourceLocation: sourceLocation)
        let a = replay(parsed, frames), b = replay(decoded, frames)
        #expect(a == b, "the bundle alerts as the rules do", sourceLocation: sourceLocation)
        return a
    }

    /// Alerts per sid when `frames` are replayed through a new engine with `defs`.
    static func replay(_ defs: DetectDefinitions, _ frames: [[UInt8]]) -> [Int: Int] {
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(defs)
        var counts: [Int: Int] = [:]
        for e in events(replayEVE(engine, frames)) where e["event_type"] as? String == "alert" {
            if let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int { counts[sid, default: 0] += 1 }
        }
        return counts
    }

    /// The EVE output of `frames` (Ethernet, one microsecond apart) through `engine`, finished
    /// at the end. `beforeFrame(i, engine)` runs before frame `i` with the running engine: it may
    /// change it (a definitions update it adopts), or return another engine to go on with (the
    /// old one is then finished and its output kept, as a restart does). Why one loop: the
    /// tests that count alerts and the definitions-update tests replay the same way.
    static func replayEVE(_ engine: Engine, _ frames: [[UInt8]],
                          beforeFrame: (Int, Engine) -> Engine? = { _, _ in nil }) -> [UInt8] {
        var engine = engine
        var out: [UInt8] = []
        for i in frames.indices {
            if let next = beforeFrame(i, engine) {
                engine.finish()
                out += engine.eve.buffer
                engine = next
            }
            _ = frames[i].withByteView { view in
                engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: view.count)
            }
            out += engine.eve.buffer
            engine.eve.reset()
        }
        engine.finish()
        out += engine.eve.buffer
        return out
    }

    /// The EVE lines of `eve` as JSON objects (lines that do not parse are left out).
    static func events(_ eve: [UInt8]) -> [[String: Any]] {
        String(decoding: eve, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func get(_ uri: String, host: String) -> [UInt8] {
        Array("GET \(uri) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: t\r\n\r\n".utf8)
    }
    static let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)

    // MARK: bsize

    @Test func bsizeOnHTTPAndTLSBuffers() throws {
        var frames: [[UInt8]] = []
        frames += T.tcpSession(v6: false, sport: 41001, dport: 80, exchanges: [(Self.get("/a", host: "example.com"), Self.ok)])
        frames += T.tcpSession(v6: false, sport: 41002, dport: 80, exchanges: [(Self.get("/abcdef", host: "www.example.com"), Self.ok)])
        frames += T.tcpSession(v6: true, sport: 41003, dport: 443, exchanges: [(T.clientHello(sni: "secure.example.com"), T.serverHello())])
        frames += T.tcpSession(v6: false, sport: 41004, dport: 443,
                               exchanges: [(T.clientHello(sni: "a-much-longer-name.secure.example.com"), T.serverHello())])
        let rules = """
            alert http any any -> any any (msg:"host is exactly example.com"; flow:to_server; http.host; bsize:11; content:"example.com"; sid:1;)
            alert http any any -> any any (msg:"longer host"; http.host; content:"example.com"; bsize:>11; sid:2;)
            alert http any any -> any any (msg:"no host of 12"; http.host; bsize:12; content:"example"; sid:3;)
            alert tls any any -> any any (msg:"short sni"; tls.sni; bsize:<20; content:"secure"; sid:4;)
            alert tls any any -> any any (msg:"long sni"; tls.sni; bsize:>=20; content:"secure"; sid:5;)
            alert http any any -> any any (msg:"uri outside 3-6"; http.uri; bsize:!3-6; sid:6;)
            alert http any any -> any any (msg:"uri length only"; http.uri; bsize:2; sid:7;)
            alert http any any -> any any (msg:"2-byte body"; flow:to_client; file_data; bsize:2; content:"ok"; sid:8;)
            alert http any any -> any any (msg:"no 3-byte body"; flow:to_client; file_data; bsize:3; sid:9;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == nil, "\(n)")
        #expect(n[4] == 1 && n[5] == 1, "\(n)")
        #expect(n[6] == 2 && n[7] == 1, "'/a' is 2 and '/abcdef' 7 bytes: both outside 3-6; \(n)")
        #expect(n[8] == 2 && n[9] == nil, "both responses carry the 2-byte body 'ok'; \(n)")
    }

    // MARK: byte_math

    /// A length-prefixed message on port 9000: "HDR", a 2-byte count, a 2-byte check (valid
    /// when count + 5), then `count` bytes and "END".
    static func framed(count: UInt16, check: UInt16) -> [UInt8] {
        Array("HDR".utf8) + T.be16(count) + T.be16(check) + [UInt8](repeating: 0x2e, count: Int(count)) + Array("END".utf8)
    }

    @Test func byteMathOnAPayload() throws {
        var frames: [[UInt8]] = []
        frames += T.tcpSession(v6: false, sport: 42001, dport: 9000, exchanges: [(Self.framed(count: 5, check: 10), [0x06])])
        frames += T.tcpSession(v6: false, sport: 42002, dport: 9000, exchanges: [(Self.framed(count: 5, check: 11), [0x06])])
        let rules = """
            alert tcp any any -> any 9000 (msg:"check = count + 5"; flow:to_server,established; content:"HDR"; byte_math:bytes 2, offset 0, oper +, rvalue 5, result want, relative; byte_test:2,=,want,0,relative; sid:10;)
            alert tcp any any -> any 9000 (msg:"END after count bytes"; flow:to_server; content:"HDR"; byte_math:bytes 2, offset 0, oper *, rvalue 1, result skip, relative; content:"END"; distance:skip; within:5; sid:11;)
            alert tcp any any -> any 9000 (msg:"check - count from a variable"; flow:to_server; content:"HDR"; byte_extract:2,0,count,relative; byte_math:bytes 2, offset 0, oper -, rvalue count, result diff, relative; content:"END"; distance:diff; within:3; sid:12;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[10] == 1, "only the first message's check holds; \(n)")
        #expect(n[11] == 2, "both messages carry 5 bytes then END (the 2-byte check is within the 5 of slack); \(n)")
        // sid 12: check - count is 5 (END right after the 5 bytes) in the first, 6 in the second.
        #expect(n[12] == 1, "\(n)")
    }

    // MARK: Header keywords

    static let a: [UInt8] = [10, 97, 0, 1], b: [UInt8] = [10, 97, 0, 2]

    /// Ethernet + IPv4 with the given TOS, flags/offset field and options (a multiple of 4 bytes).
    static func ipv4(proto: UInt8, tos: UInt8 = 0, flags: UInt16 = 0, options: [UInt8] = [],
                     src: [UInt8] = a, dst: [UInt8] = b, _ l4: [UInt8]) -> [UInt8] {
        let ihl = 5 + options.count / 4
        var h: [UInt8] = [UInt8(0x40 | ihl), tos] + T.be16(UInt16(ihl * 4 + l4.count)) + T.be16(0x1234) + T.be16(flags)
            + [64, proto, 0, 0] + src + dst + options
        var sum: UInt32 = 0
        for i in stride(from: 0, to: h.count, by: 2) { sum += UInt32(h[i]) << 8 | UInt32(h[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let c = ~UInt16(sum)
        h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xff)
        return [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1] + T.be16(0x0800) + h + l4
    }

    static func syn(sport: UInt16, seq: UInt32, window: UInt16, mss: UInt16?) -> [UInt8] {
        let options: [UInt8] = mss.map { [2, 4] + T.be16($0) } ?? []
        return T.be16(sport) + T.be16(80) + T.be32(seq) + T.be32(0) + [UInt8((5 + options.count / 4) << 4), 0x02]
            + T.be16(window) + [0, 0, 0, 0] + options
    }

    static func icmp(type: UInt8, id: UInt16, seq: UInt16) -> [UInt8] {
        [type, 0, 0, 0] + T.be16(id) + T.be16(seq) + Array("ping".utf8)
    }

    @Test func headerKeywordsOnBuiltPackets() throws {
        var frames: [[UInt8]] = [
            // 1: TOS 0x10, DF and the reserved bit, a record-route option, a SYN with MSS 1460.
            Self.ipv4(proto: 6, tos: 0x10, flags: 0xC000, options: [7, 7, 4, 0, 0, 0, 0, 1],
                      Self.syn(sport: 43001, seq: 12345, window: 29200, mss: 1460)),
            // 2: nothing set, a SYN without options.
            Self.ipv4(proto: 6, Self.syn(sport: 43002, seq: 0, window: 1024, mss: nil)),
            // 3-5: an echo request and reply with sequence 7, and an unreachable whose bytes 6-7 are 7 too.
            Self.ipv4(proto: 1, Self.icmp(type: 8, id: 9, seq: 7)),
            Self.ipv4(proto: 1, src: Self.b, dst: Self.a, Self.icmp(type: 0, id: 9, seq: 7)),
            Self.ipv4(proto: 1, src: Self.b, dst: Self.a, Self.icmp(type: 3, id: 0, seq: 7)),
            // 6: same source and destination.
            Self.ipv4(proto: 17, src: [10, 97, 0, 5], dst: [10, 97, 0, 5], T.be16(5000) + T.be16(5001) + T.be16(12) + [0, 0, 1, 2, 3, 4]),
        ]
        // A TLS 1.3 handshake: ClientHello legacy version 1.2, ServerHello negotiates 1.3.
        frames += T.tcpSession(v6: false, sport: 43003, dport: 443, exchanges: [(T.clientHello(sni: "v.example.com"), T.serverHello())])
        let rules = """
            alert tcp 10.97.0.0/16 any -> any any (msg:"mss"; flags:S; tcp.mss:1460; sid:20;)
            alert tcp 10.97.0.0/16 any -> any any (msg:"small mss"; tcp.mss:<1000; sid:21;)
            alert tcp 10.97.0.0/16 any -> any any (msg:"window"; window:29200; sid:22;)
            alert tcp 10.97.0.0/16 any -> any any (msg:"other window"; window:!29200; sid:23;)
            alert tcp 10.97.0.0/16 any -> any any (msg:"seq"; seq:12345; sid:24;)
            alert tcp 10.97.0.0/16 any -> any any (msg:"syn ack 0"; tcp.flags:S; ack:0; sid:25;)
            alert ip 10.97.0.0/16 any -> any any (msg:"tos"; tos:x10; sid:26;)
            alert ip 10.97.0.0/16 any -> any any (msg:"not tos on tcp"; ip_proto:6; tos:!16; sid:27;)
            alert ip 10.97.0.0/16 any -> any any (msg:"DR"; fragbits:DR; sid:28;)
            alert ip 10.97.0.0/16 any -> any any (msg:"D and more"; fragbits:+D; sid:29;)
            alert ip 10.97.0.0/16 any -> any any (msg:"M or R"; fragbits:*MR; sid:30;)
            alert ip 10.97.0.0/16 any -> any any (msg:"not D, tcp"; ip_proto:6; fragbits:!D; sid:31;)
            alert ip 10.97.0.0/16 any -> any any (msg:"offset 0, tcp"; ip_proto:6; fragoffset:0; sid:32;)
            alert ip 10.97.0.0/16 any -> any any (msg:"offset above 0"; fragoffset:>0; sid:33;)
            alert ip 10.97.0.0/16 any -> any any (msg:"record route"; ipopts:rr; sid:34;)
            alert ip 10.97.0.0/16 any -> any any (msg:"any option"; ipopts:any; sid:35;)
            alert ip 10.97.0.0/16 any -> any any (msg:"timestamp option"; ipopts:ts; sid:36;)
            alert ip 10.97.0.0/16 any -> any any (msg:"land"; sameip; sid:37;)
            alert icmp 10.97.0.0/16 any -> any any (msg:"echo seq 7"; icmp_seq:7; sid:38;)
            alert icmp 10.97.0.0/16 any -> any any (msg:"echo seq 8"; icmp_seq:8; sid:39;)
            alert tls any any -> any any (msg:"client hello 1.2"; tls.version:1.2; sid:41;)
            alert tls any any -> any any (msg:"server 1.3"; flow:to_client; tls.version:1.3; sid:42;)
            alert tls any any -> any any (msg:"client hello is not 1.3"; tls.version:1.3; sid:43;)
            alert tls any any -> any any (msg:"server not raw 1.2"; flow:to_client; tls.version:0x0303; sid:44;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[20] == 1 && n[21] == nil && n[22] == 1 && n[23] == 1 && n[24] == 1 && n[25] == 2, "\(n)")
        #expect(n[26] == 1 && n[27] == 1, "\(n)")
        #expect(n[28] == 1 && n[29] == 1 && n[30] == 1 && n[31] == 1 && n[32] == 2 && n[33] == nil, "\(n)")
        #expect(n[34] == 1 && n[35] == 1 && n[36] == nil && n[37] == 1, "\(n)")
        #expect(n[38] == 2 && n[39] == nil, "request and reply, not the unreachable; \(n)")
        #expect(n[41] == 1 && n[42] == 1 && n[43] == nil && n[44] == nil, "\(n)")
    }

    // MARK: dns.opcode

    /// A DNS query (flags: opcode << 11) for `name` from `sport`, and its answer (QR set).
    static func dnsExchange(sport: UInt16, opcode: UInt16, name: String) -> [[UInt8]] {
        var qname: [UInt8] = []
        for label in name.split(separator: ".") { qname += [UInt8(label.utf8.count)] + Array(label.utf8) }
        let question = qname + [0] + T.be16(opcode == 4 ? 6 : 1) + T.be16(1)
        let query = T.be16(sport) + T.be16(opcode << 11 | 0x0100) + T.be16(1) + T.be16(0) + T.be16(0) + T.be16(0) + question
        let answer = T.be16(sport) + T.be16(0x8000 | opcode << 11) + T.be16(1) + T.be16(0) + T.be16(0) + T.be16(0) + question
        func udp(_ a: UInt16, _ b: UInt16, _ p: [UInt8]) -> [UInt8] { T.be16(a) + T.be16(b) + T.be16(UInt16(8 + p.count)) + [0, 0] + p }
        return [Self.ipv4(proto: 17, udp(sport, 53, query)), Self.ipv4(proto: 17, src: Self.b, dst: Self.a, udp(53, sport, answer))]
    }

    @Test func dnsOpcodeOnQueriesAndResponses() throws {
        let frames = Self.dnsExchange(sport: 45001, opcode: 0, name: "www.example.net")
            + Self.dnsExchange(sport: 45002, opcode: 4, name: "example.net")
        let rules = """
            alert dns any any -> any any (msg:"notify"; dns.opcode:4; sid:50;)
            alert dns any any -> any any (msg:"not a query"; dns.opcode:!0; sid:51;)
            alert dns any any -> any any (msg:"notify answered"; flow:to_client; dns.opcode:4; sid:52;)
            alert udp any any -> any 53 (msg:"query for example"; dns.query; content:"example"; dns.opcode:0; sid:53;)
            alert dns any any -> any any (msg:"update"; dns.opcode:5; sid:54;)
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[50] == 1 && n[51] == 1 && n[52] == 1 && n[53] == 1 && n[54] == nil, "\(n)")
    }

    // MARK: Allocation

    /// The per-packet path with every session 6 keyword loaded: the office traffic of the
    /// engine allocation tests plus the header-keyword packets, round after round, allocates
    /// nothing once warm (bsize and byte_math run in the verifier's fixed state; the header
    /// facts are plain fields; the IPv4 option walk reads the packet in place).
    @Test func session6KeywordsDoNotAllocate() throws {
        guard allocationCounterWorks() else { return }
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"host"; http.host; bsize:>10; content:"example"; sid:1;)
            alert tls any any -> any any (msg:"sni"; tls.sni; bsize:<40; content:"example"; sid:2;)
            alert tcp any any -> any 80 (msg:"math"; flow:to_server; content:"GET"; byte_math:bytes 1, offset 1, oper +, rvalue 1, result n, relative; isdataat:n,relative; sid:3;)
            alert tcp any any -> any any (msg:"window"; window:65535; fragbits:D; tos:0; sid:4;)
            alert ip any any -> any any (msg:"options"; ipopts:any; sid:5;)
            alert tcp any any -> any any (msg:"mss"; tcp.mss:>1000; sid:6;)
            alert icmp any any -> any any (msg:"echo"; icmp_seq:7; sid:7;)
            alert tls any any -> any any (msg:"version"; tls.version:1.2; sid:8;)
            alert ip any any -> any any (msg:"land"; sameip; sid:9;)
            """, file: "alloc6.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors + set.report.skipped)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        let traffic = EngineTraffic.round() + [
            Self.ipv4(proto: 6, tos: 0x10, flags: 0x4000, options: [7, 7, 4, 0, 0, 0, 0, 1],
                      Self.syn(sport: 44001, seq: 5, window: 29200, mss: 1460)),
            Self.ipv4(proto: 1, Self.icmp(type: 8, id: 9, seq: 7)),
            Self.ipv4(proto: 17, src: [10, 97, 0, 5], dst: [10, 97, 0, 5], T.be16(5000) + T.be16(5001) + T.be16(12) + [0, 0, 1, 2, 3, 4]),
        ]
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        print("Session 6 keyword allocations: \(n); alerts \(engine.stats.alerts - alertsBefore)")
        #expect(n == 0, "detection with the session 6 keywords allocated \(n) times")
        #expect(engine.stats.alerts - alertsBefore >= 10 * 9, "every rule alerted each round")
    }
}
