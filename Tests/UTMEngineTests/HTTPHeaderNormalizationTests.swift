import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMAppLayer
@testable import UTMEngine

/// http.header as Suricata builds it from libhtp's header table (EngineHTTPBuffers.swift,
/// `HTTPBufferComposer.composeHeaders`), on HTTP/1 traffic built here, whole and split into
/// small segments. Each normalization has a rule that matches only the normalized form and
/// one that would match only the form as sent: whitespace around values, a name without a
/// space after its colon, repeated headers joined, folded lines, Cookie and Set-Cookie left
/// out (they are http.cookie's), names as first sent, no blank line at the end; the single-
/// header buffers read joined values; http.header.raw stays as sent.
@Suite struct HTTPHeaderNormalizationTests {
    static let rules = #"""
        alert http any any -> any any (msg:"whole normalized request header"; flow:to_server; http.header; content:"Host: h.example|0d 0a|user-AGENT: Mozilla, Second|0d 0a|X-A: 1, 3|0d 0a|X-F: a  b|0d 0a|X-Last: z|0d 0a|"; startswith; endswith; sid:1;)
        alert http any any -> any any (msg:"value as sent, no space"; flow:to_server; content:"AGENT:Mozilla"; http_header; sid:2;)
        alert http any any -> any any (msg:"raw header as sent"; flow:to_server; http.header.raw; content:"user-AGENT:Mozilla   |0d 0a|"; sid:3;)
        alert http any any -> any any (msg:"cookie text in http_header"; flow:to_server; content:"X-Evil"; http_header; sid:4;)
        alert http any any -> any any (msg:"cookie value"; flow:to_server; http.cookie; content:"X-Evil: 1"; startswith; endswith; sid:5;)
        alert http any any -> any any (msg:"cookie is a request_header instance"; flow:to_server; http.request_header; content:"Cookie: X-Evil: 1"; startswith; endswith; sid:6;)
        alert http any any -> any any (msg:"joined instance"; flow:to_server; http.request_header; content:"X-A: 1, 3"; startswith; endswith; sid:7;)
        alert http any any -> any any (msg:"repeat as its own line"; flow:to_server; content:"X-A: 3"; http_header; sid:8;)
        alert http any any -> any any (msg:"user agent joined"; flow:to_server; http.user_agent; content:"Mozilla, Second"; startswith; endswith; sid:9;)
        alert http any any -> any any (msg:"ET style, nocase"; flow:to_server; content:"User-Agent|3a 20|Mozilla"; nocase; http_header; sid:10;)
        alert http any any -> any any (msg:"name case is as sent"; flow:to_server; content:"User-Agent|3a 20|Mozilla"; http_header; sid:11;)
        alert http any any -> any any (msg:"no blank line at the end"; flow:to_server; http.header; content:"|0d 0a 0d 0a|"; sid:12;)
        alert http any any -> any any (msg:"unfolded as libhtp (blanks kept)"; flow:to_server; content:"X-F: a  b|0d 0a|"; http_header; sid:13;)
        alert http any any -> any any (msg:"second UA line"; flow:to_server; content:"User-Agent: Second"; http_header; sid:14;)
        alert http any any -> any any (msg:"whole normalized response header"; flow:to_client; http.header; content:"Server: nginx|0d 0a|Content-Length: 2|0d 0a|"; startswith; endswith; sid:20;)
        alert http any any -> any any (msg:"set-cookie text in http_header"; flow:to_client; content:"evil"; http_header; sid:21;)
        alert http any any -> any any (msg:"set-cookie joined"; flow:to_client; http.cookie; content:"Server: evil, b=2"; startswith; endswith; sid:22;)
        alert http any any -> any any (msg:"request cookie on the response"; flow:to_client; http.cookie; content:"X-Evil"; sid:23;)
        alert http any any -> any any (msg:"set-cookie instance"; flow:to_client; http.response_header; content:"Set-Cookie: Server: evil, b=2"; startswith; endswith; sid:24;)
        alert http any any -> any any (msg:"server trimmed"; flow:to_client; http.server; content:"nginx"; startswith; endswith; sid:25;)
        alert http any any -> any any (msg:"raw response as sent"; flow:to_client; http.header.raw; content:"Server:  nginx |0d 0a|Set-Cookie"; sid:26;)
        """#

    static let request = "GET /n HTTP/1.1\r\nHost: h.example\r\nuser-AGENT:Mozilla   \r\nX-A: 1\r\n"
        + "Cookie: X-Evil: 1\r\nX-F: a\r\n  b\r\nX-A:\t 3\r\nUser-Agent: Second\r\nX-Last: z\r\n\r\n"
    static let response = "HTTP/1.1 200 OK\r\nServer:  nginx \r\nSet-Cookie: Server: evil\r\nSet-Cookie: b=2\r\n"
        + "Content-Length: 2\r\n\r\nok"
    static let expected = [1, 3, 5, 6, 7, 9, 10, 13, 20, 22, 24, 25, 26]

    static func definitions() -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "norm.rules")
        let set = p.finish()
        #expect(set.signatures.count == 21, "every rule loads")
        return DetectDefinitions(ruleSet: set)
    }

    static func run(_ req: String, _ resp: String, size: Int, _ defs: DetectDefinitions) -> [Int] {
        HTTPBufferFillTests.sids(HTTPBufferFillTests.h1(req, resp, size: size), defs)
    }

    /// Every normalization, both directions, whole and in 1-, 3- and 11-byte segments (the
    /// header block is only composed once complete, so splitting changes nothing).
    @Test func normalizedBothDirections() {
        let defs = Self.definitions()
        for size in [4096, 11, 3, 1] {
            #expect(Self.run(Self.request, Self.response, size: size, defs) == Self.expected, "segments of \(size)")
        }
    }

    /// The rules written for the normalized form miss nothing a plain request has, and what
    /// would only match the form as sent stays quiet on it.
    @Test func plainRequest() {
        let defs = Self.definitions()
        let req = "GET /n HTTP/1.1\r\nHost: h.example\r\nUser-Agent: Mozilla\r\n\r\n"
        let resp = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\n\r\nok"
        #expect(Self.run(req, resp, size: 4096, defs) == [10, 11, 20, 25])
    }

    /// The ET form `content:"User-Agent|3a 20|x"; http_header;` against `User-Agent:x`, with
    /// blanks, and with a header repeated (`x, y`): each alerts. A request sending only a
    /// cookie has no http.header at all (Suricata: no buffer), and a negated header content
    /// then does not alert either.
    @Test func etStyleEvasions() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"ET UA"; flow:to_server; content:"User-Agent|3a 20|x"; http_header; sid:1;)
            alert http any any -> any any (msg:"ET UA end"; flow:to_server; content:"User-Agent|3a 20|x|0d 0a|"; http_header; sid:2;)
            alert http any any -> any any (msg:"no UA"; flow:to_server; content:"GET"; http_method; content:!"User-Agent|3a|"; http_header; sid:3;)
            """#, file: "et.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        let resp = "HTTP/1.1 204 No Content\r\n\r\n"
        #expect(Self.run("GET / HTTP/1.1\r\nUser-Agent:x\r\n\r\n", resp, size: 4096, defs) == [1, 2])
        #expect(Self.run("GET / HTTP/1.1\r\nUser-Agent: \t x \t\r\n\r\n", resp, size: 5, defs) == [1, 2])
        #expect(Self.run("GET / HTTP/1.1\r\nUser-Agent: x\r\nA: b\r\nUser-Agent: y\r\n\r\n", resp, size: 4096, defs) == [1])
        #expect(Self.run("GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp, size: 4096, defs) == [3])
        // Only a cookie: no http.header buffer (a negated content needs the buffer).
        #expect(Self.run("GET / HTTP/1.1\r\nCookie: User-Agent: x\r\n\r\n", resp, size: 4096, defs) == [])
    }

    /// A header block of more than `mergeLineLimit` lines is normalized line by line (blanks
    /// trimmed, cookie left out) but not joined, and counted.
    @Test func manyLinesNormalizedNotJoined() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"trimmed"; flow:to_server; content:"X-Q: q|0d 0a|"; http_header; sid:1;)
            alert http any any -> any any (msg:"joined"; flow:to_server; content:"X-Q: q, r"; http_header; sid:2;)
            alert http any any -> any any (msg:"second line kept"; flow:to_server; content:"X-Q: r|0d 0a|"; http_header; sid:3;)
            alert http any any -> any any (msg:"cookie out"; flow:to_server; content:"secret"; http_header; sid:4;)
            alert http any any -> any any (msg:"cookie instance"; flow:to_server; http.request_header; content:"Cookie: secret"; startswith; endswith; sid:5;)
            """#, file: "many.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        var req = "GET / HTTP/1.1\r\nX-Q:   q \r\nCookie: secret\r\n"
        for k in 0 ..< HTTPBufferComposer.mergeLineLimit { req += "H\(k): v\r\n" }
        req += "X-Q: r\r\n\r\n"
        let frames = HTTPBufferFillTests.h1(req, "HTTP/1.1 204 No Content\r\n\r\n", size: 4096)
        let got = FirewallEngineTests.sids(FirewallEngineTests.run(engine, frames).events).sorted()
        #expect(Array(Set(got)).sorted() == [1, 3, 5])
        #expect(engine.stats.httpHeaderUnmerged == 1)
        #expect(engine.stats.httpHeaderRawFallback == 0)
    }

    /// A header block larger than the composer's store (the parser allows one when its
    /// `maxHeaderBlock` is raised): http.header falls back to the block as sent, counted, and
    /// the rules still see the headers.
    @Test func blockLargerThanStoreFallsBackToRaw() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"UA"; flow:to_server; content:"User-Agent: x|0d 0a|"; http_header; sid:1;)
            """#, file: "big.rules")
        var config = EngineConfig()
        config.http.maxHeaderBlock = 160 << 10
        config.http.maxHeaderLine = 8 << 10
        config.http.fieldStoreCapacity = 512 << 10
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        var req = "GET / HTTP/1.1\r\nUser-Agent: x\r\n"
        let filler = String(repeating: "v", count: 4000)
        for k in 0 ..< 20 { req += "F\(k): \(filler)\r\n" }
        req += "\r\n"
        let frames = HTTPBufferFillTests.h1(req, "HTTP/1.1 204 No Content\r\n\r\n", size: 1400)
        let got = FirewallEngineTests.sids(FirewallEngineTests.run(engine, frames).events)
        #expect(got.contains(1))
        #expect(engine.stats.httpHeaderRawFallback == 1)
    }

    /// The composer alone: truncated blocks (a line without its end, a name without a value,
    /// a line without a colon) never trap and give what libhtp's table would; a store too
    /// small keeps nothing and says so.
    @Test func composerOnHostileBlocks() {
        var c = HTTPBufferComposer()
        func compose(_ s: String, cookie: StaticString = "cookie") -> (String?, String?, Bool) {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBytes { raw in
                let v = ByteView(raw)
                c.reset()
                let merge = c.loadSpans(v)
                let r = c.composeHeaders(v, merge: merge, cookie: cookie)
                return (r.header.map { String(decoding: $0.bytes, as: UTF8.self) },
                        r.lines.map { String(decoding: $0.bytes, as: UTF8.self) }, r.complete)
            }
        }
        #expect(compose("A: 1\r\nB:2").0 == "A: 1\r\nB: 2\r\n", "last line without its end")
        #expect(compose("A:\r\nno colon\r\nB: \t\r\n").0 == "A: \r\n: no colon\r\nB: \r\n", "empty values kept, no-colon line an empty name (libhtp)")
        #expect(compose("").0 == nil)
        #expect(compose("Cookie: c\r\n").0 == nil)
        #expect(compose("Cookie: c\r\n").1 == "Cookie: c\r\n")
        #expect(compose("Set-Cookie: c\r\nA: b\r\n", cookie: "set-cookie").0 == "A: b\r\n")
        #expect(compose("Set-Cookie: c\r\nA: b\r\n").0 == "Set-Cookie: c\r\nA: b\r\n", "request side keeps Set-Cookie")
        #expect(compose("Content-Length: 1\r\ncontent-length: 2\r\n").0 == "Content-Length: 1\r\n", "not joined")
        #expect(compose("a: 1\r\nA: 2\r\nb: 3\r\n").0 == "a: 1, 2\r\nb: 3\r\n", "names compared case-blind")
        var small = HTTPBufferComposer(capacity: 16)
        let bytes = Array("Name: a fairly long value\r\n".utf8)
        let r = bytes.withUnsafeBytes { raw -> HTTPBufferComposer.HeaderComposition in
            let v = ByteView(raw)
            let merge = small.loadSpans(v)
            return small.composeHeaders(v, merge: merge, cookie: "cookie")
        }
        #expect(!r.complete && r.header == nil && small.scratch.used == 0)
    }

    /// http.start shares http.header's composition when the cookie header is absent or the
    /// last name of the table, and is then byte for byte what `composeStart` builds; with the
    /// cookie in the middle (or a block too long to merge that has one) it is not shared.
    @Test func startSharedOnlyWhenIdentical() {
        let line = Array("GET / HTTP/1.1".utf8)
        let blocks: [(String, Bool)] = [
            ("A: 1\r\nB: 2\r\na: 3\r\n", true),
            ("A: 1\r\nCookie: c\r\n", true),
            ("A: 1\r\nCookie: c\r\nB: 2\r\ncookie: d\r\n", false),
            ("Cookie: c\r\nA: 1\r\nCOOKIE: d\r\n", false),
            ("A: 1\r\nCookie: c\r\nA: 2\r\n", true),
            ("", true),
        ]
        for (text, shared) in blocks {
            var c = HTTPBufferComposer()
            let block = Array(text.utf8)
            let (start, reference) = block.withUnsafeBytes { raw in
                line.withUnsafeBytes { l -> ([UInt8]?, [UInt8]?) in
                    let v = ByteView(raw), lv = ByteView(l)
                    let merge = c.loadSpans(v)
                    let r = c.composeHeaders(v, merge: merge, cookie: "cookie", startLine: lv)
                    return (r.start?.bytes, c.composeStart(lv, v, merge: merge)?.bytes)
                }
            }
            if shared {
                #expect(start != nil && start == reference, "\(text.debugDescription)")
            } else {
                #expect(start == nil, "\(text.debugDescription)")
            }
        }
    }

    /// Host sent twice: libhtp joins the values, so http.host holds both hosts (lower case,
    /// ports and trailing dots cut) and http.host.raw both as sent; a rule for the second host
    /// alerts. An absolute-form target's host still wins; a single Host is unchanged.
    @Test func repeatedHostJoined() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"second host"; flow:to_server; http.host; content:"evil.example"; sid:1;)
            alert http any any -> any any (msg:"both hosts"; flow:to_server; http.host; content:"good.example, evil.example"; startswith; endswith; sid:2;)
            alert http any any -> any any (msg:"raw both"; flow:to_server; http.host.raw; content:"Good.example, EVIL.example.:8080"; startswith; endswith; sid:3;)
            alert http any any -> any any (msg:"first only"; flow:to_server; http.host; content:"good.example"; startswith; endswith; sid:4;)
            alert http any any -> any any (msg:"ET style"; flow:to_server; content:"evil.example"; http_host; sid:5;)
            """#, file: "host.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        let resp = "HTTP/1.1 204 No Content\r\n\r\n"
        #expect(Self.run("GET / HTTP/1.1\r\nHost: Good.example\r\nHost: EVIL.example.:8080\r\n\r\n", resp, size: 4096, defs) == [1, 2, 3, 5])
        #expect(Self.run("GET / HTTP/1.1\r\nHost: Good.example\r\nX: y\r\nhost: EVIL.example.:8080\r\n\r\n", resp, size: 3, defs) == [1, 2, 3, 5])
        #expect(Self.run("GET / HTTP/1.1\r\nHost: Good.example\r\n\r\n", resp, size: 4096, defs) == [4])
        #expect(Self.run("GET http://good.example/ HTTP/1.1\r\nHost: a\r\nHost: evil.example\r\n\r\n", resp, size: 4096, defs) == [4])
    }

    /// Normalizing http.header (and the joined single values, Set-Cookie) reuses the engine's
    /// scratch store: steady-state traffic allocates nothing.
    @Test func normalizingDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var p = RuleParser()
        p.load(text: Self.rules + "\n" + #"""
            alert http any any -> any any (msg:"joined host"; flow:to_server; http.host; content:"second.example"; sid:30;)
            alert http any any -> any any (msg:"joined raw host"; flow:to_server; http.host.raw; content:"Second.example:81"; sid:31;)
            """#, file: "alloc.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        let twoHosts = Self.request.replacingOccurrences(of: "X-Last: z", with: "Host: Second.example:81")
        let traffic = HTTPBufferFillTests.h1(Self.request, Self.response, size: 4096)
            + HTTPBufferFillTests.h1(Self.request, Self.response, size: 7, sport: 46003)
            + HTTPBufferFillTests.h1(twoHosts, Self.response, size: 4096, sport: 46004)
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        #expect(n == 0, "normalizing http.header allocated \(n) times")
        #expect(engine.stats.alerts > alertsBefore)
    }
}
