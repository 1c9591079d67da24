import Foundation
import Testing
import UTMCore
@testable import UTMDetect

/// `base64_decode` / `base64_data` as Suricata 7 users write them, the decoder on hostile
/// input, and the bundle round-trip. Engine traffic is in UTMEngineTests/AppProtoRuleTests.
@Suite struct Base64KeywordTests {
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    func decode(_ s: [UInt8], capacity: Int = 1024) -> [UInt8] {
        let slab = ByteSlab(capacity: capacity)
        let n = s.withByteView { Base64Decoder.decode($0, into: slab, capacity: capacity) }
        return (0 ..< n).map { slab.read($0)! }
    }

    @Test func decoderFollowsRFC4648Mode() {
        #expect(decode(Array("dGVzdA==".utf8)) == Array("test".utf8))
        #expect(decode(Array("dGVzdA".utf8)) == Array("test".utf8), "short last group without padding")
        #expect(decode(Array("dGVzdHM".utf8)) == Array("tests".utf8))
        #expect(decode(Array("dGVz dA==".utf8)) == Array("tes".utf8), "stops at the first byte outside the alphabet")
        #expect(decode(Array("d".utf8)).isEmpty && decode([]).isEmpty && decode([0xff, 0x00]).isEmpty)
        #expect(decode(Array("dGVzdA==".utf8), capacity: 2).isEmpty, "never writes past the capacity")
        #expect(decode(Array("dGVzdGVk".utf8), capacity: 4) == Array("tes".utf8))
        // Every cut of a valid string decodes a prefix of the text, never traps.
        let full = Array(Self.b64("split anywhere, decoded in order").utf8)
        let text = Array("split anywhere, decoded in order".utf8)
        for n in 0 ... full.count {
            let d = decode(Array(full.prefix(n)))
            #expect(Array(text.prefix(d.count)) == d, "cut at \(n)")
        }
        // Hostile bytes: arbitrary input, tiny and exact capacities.
        var x: UInt32 = 12345
        for _ in 0 ..< 300 {
            var bytes: [UInt8] = []
            for _ in 0 ..< Int(x % 64) {
                x = x &* 1_103_515_245 &+ 12345
                bytes.append(UInt8(truncatingIfNeeded: x >> 16))
            }
            let cap = Int(x % 40)
            #expect(decode(bytes, capacity: cap).count <= cap)
        }
    }

    @Test func payloadRelativeDecode() throws {
        let s = try #require(rule(opts("content:\"data=\"; base64_decode:bytes 64, offset 0, relative; base64_data; content:\"cmd.exe\";")))
        #expect(s.prefilter?.pattern == Array("data=".utf8), "the decoded content is never the prefilter")
        guard case .base64Decode(let d) = try #require(s.list(for: .payload)?.elements.last) else {
            Issue.record("no base64_decode element"); return
        }
        #expect(d.bytes == 64 && d.relative && d.data.count == 1)
        #expect(s.list(for: .base64Data) == nil)
        #expect(inspect(s, "x=1&data=" + Self.b64("run cmd.exe now")))
        #expect(!inspect(s, "x=1&data=" + Self.b64("run notepad now")))
        #expect(!inspect(s, "x=1&" + Self.b64("run cmd.exe now")), "no anchor content")
        // A second anchor occurrence whose decoded bytes match is found by retrying.
        #expect(inspect(s, "data=!!!&data=" + Self.b64("cmd.exe")))
        // `bytes` bounds the input: the target past it is not decoded.
        let short = try #require(rule(opts("content:\"data=\"; base64_decode:bytes 8,relative; base64_data; content:\"cmd.exe\";")))
        #expect(!inspect(short, "data=" + Self.b64("run cmd.exe now")))
    }

    @Test func absoluteOffsetAndStickyBuffer() throws {
        let s = try #require(rule(opts("base64_decode:offset 4; base64_data; content:\"hello\"; offset:2; depth:5;")))
        #expect(inspect(s, "abcd" + Self.b64("  hello")))
        #expect(!inspect(s, "abcd" + Self.b64("hello")), "offset/depth are in the decoded bytes")
        #expect(!inspect(s, "ab"), "offset past the buffer")
        let uri = try #require(rule(opts("http.uri; content:\"q=\"; base64_decode:relative; base64_data; content:\"passwd\"; nocase;", proto: "http")))
        #expect(uri.list(for: .httpURI) != nil && uri.list(for: .payload) == nil)
        #expect(inspect(uri, "/x?q=" + Self.b64("/etc/PASSWD"), buffer: .httpURI))
        // pcre and byte_test work on the decoded bytes too.
        let pcre = try #require(rule(opts("base64_decode; base64_data; pcre:\"/^GET\\s+\\/admin/\";")))
        #expect(inspect(pcre, Self.b64("GET /admin")) && !inspect(pcre, Self.b64("PUT /admin")))
        // base64_decode alone never matches (both keywords are needed, as in Suricata).
        let alone = try #require(rule(opts("base64_decode;")))
        #expect(!inspect(alone, Self.b64("anything")))
    }

    @Test func parseErrorsAreOneLine() {
        let bad = [
            opts("base64_data; content:\"x\";"), opts("base64_decode:bytes 70000; base64_data; content:\"x\";"),
            opts("base64_decode:offset -1;"), opts("base64_decode:nonsense;"), opts("base64_decode:bytes;"),
            opts("base64_decode:relative 3;"), opts("base64_decode:bytes 1, bytes 2;"),
            opts("base64_decode; base64_decode; base64_data; content:\"x\";"),
            opts("base64_decode; base64_data; content:\"x\"; fast_pattern;"),
            opts("base64_decode; base64_data:1; content:\"x\";"),
            opts("base64_decode; base64_data; content:\"x\"; http_uri;"),
        ]
        for text in bad {
            let e = ruleError(text)
            #expect(e != nil, "\(text)")
            #expect(!(e.map { "\($0)" } ?? "").contains("\n"), "\(text)")
        }
    }

    @Test func bundleRoundTrip() throws {
        var p = RuleParser()
        p.load(text: """
            alert tcp any any -> any any (msg:"a"; content:"data="; base64_decode:bytes 100,offset 1,relative; base64_data; content:"cmd"; byte_test:1,=,46,0,relative; sid:1;)
            alert http any any -> any any (msg:"b"; http.uri; base64_decode; base64_data; content:"passwd"; sid:2;)
            """, file: "t.rules")
        let original = DetectDefinitions(ruleSet: p.finish())
        // The largest decode (65,535 input bytes) needs 49,152 output bytes per worker.
        #expect(original.count == 2 && original.base64Capacity == 49152)
        let bytes = DefinitionsBundle.encode(definitions: original)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        let a = try #require(back.signatures.first { $0.sid == 1 })
        #expect(inspect(a, "xdata=!" + Self.b64("cmd.")) && !inspect(a, "xdata=!" + Self.b64("cmd!")))
        let b = try #require(back.signatures.first { $0.sid == 2 })
        #expect(inspect(b, Self.b64("/etc/passwd"), buffer: .httpURI))
    }
}
