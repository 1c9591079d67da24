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

    static func replay(_ defs: DetectDefinitions, _ frames: [[UInt8]]) -> [Int: Int] {
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(defs)
        var out: [UInt8] = []
        for i in frames.indices {
            _ = frames[i].withByteView { view in
                engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: view.count)
            }
            out += engine.eve.buffer
            engine.eve.reset()
        }
        engine.finish()
        out += engine.eve.buffer
        var counts: [Int: Int] = [:]
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  e["event_type"] as? String == "alert",
                  let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int else { continue }
            counts[sid, default: 0] += 1
        }
        return counts
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
            """
        let n = try Self.alerts(rules, frames)
        #expect(n[1] == 1 && n[2] == 1 && n[3] == nil, "\(n)")
        #expect(n[4] == 1 && n[5] == 1, "\(n)")
        #expect(n[6] == 2 && n[7] == 1, "'/a' is 2 and '/abcdef' 7 bytes: both outside 3-6; \(n)")
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
}
