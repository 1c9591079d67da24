import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMAppLayer
@testable import UTMEngine

/// The header buffers where session 7 still differed from libhtp / Suricata (session 8), on
/// traffic built here, whole and split: folded lines keep the continuation's blanks (libhtp
/// appends the continuation as sent), a line without a colon is a header with an empty name
/// (libhtp's table), a first header line led by blanks is a header of its own; HTTP/2
/// http.header as Suricata's rust builder makes it (pseudo-headers in, cookie out, values
/// trimmed), its single-header buffers joined, its response http.cookie the set-cookie and
/// its http.host without user info. Each with a rule that alerts only on the new form and one
/// that alerted only on the old.
@Suite struct HTTPHeaderLibhtpTests {
    static func run(_ rules: String, _ req: String, _ resp: String, size: Int) -> [Int] {
        var p = RuleParser()
        p.load(text: rules, file: "libhtp.rules")
        return HTTPBufferFillTests.sids(HTTPBufferFillTests.h1(req, resp, size: size), DetectDefinitions(ruleSet: p.finish()))
    }

    static let foldRules = #"""
        alert http any any -> any any (msg:"libhtp fold"; flow:to_server; http.header; content:"X-F: a  b|0d 0a|X-T: a|09|b|0d 0a|X-W: a     b|0d 0a|"; sid:1;)
        alert http any any -> any any (msg:"one-space fold (before)"; flow:to_server; content:"X-F: a b|0d 0a|"; http_header; sid:2;)
        alert http any any -> any any (msg:"raw keeps the blanks, not the break"; flow:to_server; http.header.raw; content:"X-F: a  b|0d 0a|"; sid:3;)
        alert http any any -> any any (msg:"folded user agent"; flow:to_server; http.user_agent; content:"Moz  illa"; startswith; endswith; sid:4;)
        alert http any any -> any any (msg:"folded response"; flow:to_client; http.header; content:"Server: ng|09|inx|0d 0a|"; sid:5;)
        """#

    /// obs-fold: libhtp appends the continuation line to the previous one without its line
    /// break, blanks and all; a blank-only continuation adds its blanks too (the value's end
    /// is trimmed after the join). Before, the break and blanks became one space.
    @Test func foldKeepsContinuationBlanks() {
        let req = "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Moz\r\n  illa\r\nX-F: a\r\n  b\r\nX-T: a\r\n\tb\r\n"
            + "X-W: a\r\n   \r\n  b \r\n\r\n"
        let resp = "HTTP/1.1 200 OK\r\nServer: ng\r\n\tinx\r\nContent-Length: 2\r\n\r\nok"
        for size in [4096, 11, 3, 1] {
            #expect(Self.run(Self.foldRules, req, resp, size: size) == [1, 3, 4, 5], "segments of \(size)")
        }
        // Nothing folded: none of them.
        #expect(Self.run(Self.foldRules, "GET / HTTP/1.1\r\nX-F: a b\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", size: 4096) == [2])
    }

    static let colonRules = #"""
        alert http any any -> any any (msg:"colonless as libhtp"; flow:to_server; http.header; content:"Host: h|0d 0a|: nocolon evil, empty|0d 0a|Content-Length: 2|0d 0a|"; startswith; endswith; sid:1;)
        alert http any any -> any any (msg:"ET style, text of a colonless line"; flow:to_server; content:"evil"; http_header; sid:2;)
        alert http any any -> any any (msg:"raw block keeps it"; flow:to_server; http.header.raw; content:"|0d 0a|nocolon evil|0d 0a|"; sid:3;)
        alert http any any -> any any (msg:"empty name once"; flow:to_server; http.header_names; content:"|0d 0a|Host|0d 0a 0d 0a|Content-Length|0d 0a 0d 0a|"; startswith; endswith; sid:4;)
        alert http any any -> any any (msg:"body still framed"; flow:to_server; http.request_body; content:"xy"; startswith; endswith; sid:5;)
        alert http any any -> any any (msg:"response colonless"; flow:to_client; http.header; content:"Server: s|0d 0a|: broken line|0d 0a|Content-Length: 2|0d 0a|"; startswith; endswith; sid:6;)
        alert http any any -> any any (msg:"response body"; flow:to_client; file_data; content:"ok"; startswith; endswith; sid:7;)
        alert http any any -> any any (msg:"instance"; flow:to_server; http.request_header; content:": nocolon evil, empty"; startswith; endswith; sid:8;)
        """#

    /// A header line without a colon (and one with an empty name): libhtp keeps both as one
    /// table entry named "" ("nocolon evil, empty"), so Suricata's http.header has
    /// ": nocolon evil, empty"; the parser used to drop them (their bytes were invisible to
    /// `http_header` rules). Framing around them is unchanged.
    @Test func colonlessLinesKept() {
        let req = "POST / HTTP/1.1\r\nHost: h\r\nnocolon evil\r\n:empty\r\nContent-Length: 2\r\n\r\nxy"
        let resp = "HTTP/1.1 200 OK\r\nServer: s\r\nbroken line\r\nContent-Length: 2\r\n\r\nok"
        for size in [4096, 11, 3, 1] {
            #expect(Self.run(Self.colonRules, req, resp, size: size) == [1, 2, 3, 4, 5, 6, 7, 8], "segments of \(size)")
        }
        let plainReq = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy"
        let plainResp = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\n\r\nok"
        #expect(Self.run(Self.colonRules, plainReq, plainResp, size: 4096) == [5, 7])
    }

    /// A first header line led by blanks continues nothing: libhtp cuts the blanks and takes
    /// it as a header (before: dropped, so `User-Agent` hid from every buffer). Its
    /// Content-Length / Transfer-Encoding frame nothing (review fix: servers that skip the
    /// line read the bytes after the headers as the next request). A blank-only first line
    /// is still dropped.
    @Test func blankLedFirstLineIsAHeader() {
        let rules = #"""
            alert http any any -> any any (msg:"ua"; flow:to_server; http.user_agent; content:"evil"; startswith; endswith; sid:1;)
            alert http any any -> any any (msg:"header"; flow:to_server; http.header; content:"User-Agent: evil|0d 0a|Host: h|0d 0a|"; startswith; endswith; sid:2;)
            alert http any any -> any any (msg:"host"; flow:to_server; http.host; content:"h"; startswith; endswith; sid:3;)
            alert http any any -> any any (msg:"body framed by it"; flow:to_server; http.request_body; content:"xy"; startswith; endswith; sid:4;)
            """#
        let resp = "HTTP/1.1 204 No Content\r\n\r\n"
        for size in [4096, 5, 1] {
            #expect(Self.run(rules, "GET / HTTP/1.1\r\n \t User-Agent: evil\r\nHost: h\r\n\r\n", resp, size: size) == [1, 2, 3], "segments of \(size)")
        }
        #expect(Self.run(rules, "GET / HTTP/1.1\r\n   \r\nHost: h\r\n\r\n", resp, size: 4096) == [3])
        // Its Content-Length frames no body (libhtp's would): "xy" starts the next request.
        #expect(Self.run(rules, "POST / HTTP/1.1\r\n\tContent-Length: 2\r\nHost: h\r\n\r\nxy", resp, size: 3) == [3])
        // Not blank-led, it frames the body.
        #expect(Self.run(rules, "POST / HTTP/1.1\r\nContent-Length: 2\r\nHost: h\r\n\r\nxy", resp, size: 3) == [3, 4])
    }

    /// The composer on truncated and odd blocks: a colonless last line without its end, an
    /// empty-name line, both joined as libhtp joins them.
    @Test func composerColonless() {
        var c = HTTPBufferComposer()
        func compose(_ s: String) -> (String?, String?) {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBytes { raw in
                let v = ByteView(raw)
                c.reset()
                let merge = c.loadSpans(v)
                let names = c.composeNames(v, merge: merge).map { String(decoding: $0.bytes, as: UTF8.self) }
                let r = c.composeHeaders(v, merge: merge, cookie: "cookie")
                return (r.header.map { String(decoding: $0.bytes, as: UTF8.self) }, names)
            }
        }
        #expect(compose("A: 1\r\nno colon").0 == "A: 1\r\n: no colon\r\n")
        #expect(compose("x\r\n:y\r\nA: 1\r\nz  \r\n").0 == ": x, y, z  \r\nA: 1\r\n", "one empty-name entry, colonless untrimmed")
        #expect(compose("x\r\n:y\r\nA: 1\r\nz  \r\n").1 == "\r\n\r\nA\r\n\r\n")
        #expect(compose(":\r\n").0 == ": \r\n")
        #expect(compose("\r\n").0 == nil, "an empty line is no header")
    }

    // MARK: HTTP/2

    static let h2Rules = #"""
        alert http any any -> any any (msg:"h2 header as Suricata"; flow:to_server; http.header; content:":method: GET|0d 0a|:path: /p|0d 0a|:authority: user:pw@Evil.Example:443|0d 0a|user-agent: ua1|0d 0a|user-agent: ua2|0d 0a|referer: r|0d 0a|"; startswith; endswith; sid:1;)
        alert http any any -> any any (msg:"cookie text in h2 http_header"; flow:to_server; content:"a=1"; http_header; sid:2;)
        alert http any any -> any any (msg:"h2 cookies joined"; flow:to_server; http.cookie; content:"a=1, b=2"; startswith; endswith; sid:3;)
        alert http any any -> any any (msg:"h2 user agents joined"; flow:to_server; http.user_agent; content:"ua1,  ua2 "; startswith; endswith; sid:4;)
        alert http any any -> any any (msg:"h2 host without user info"; flow:to_server; http.host; content:"evil.example"; startswith; endswith; sid:5;)
        alert http any any -> any any (msg:"h2 raw host"; flow:to_server; http.host.raw; content:"user:pw@Evil.Example:443"; startswith; endswith; sid:6;)
        alert http any any -> any any (msg:"h2 raw header as sent"; flow:to_server; http.header.raw; content:":method: GET|0d 0a|"; startswith; content:"user-agent:  ua2 |0d 0a|cookie: b=2|0d 0a|"; sid:7;)
        alert http any any -> any any (msg:"h2 response cookie"; flow:to_client; http.cookie; content:"s=1, t=2"; startswith; endswith; sid:8;)
        alert http any any -> any any (msg:"request cookie on response"; flow:to_client; http.cookie; content:"a=1"; sid:9;)
        alert http any any -> any any (msg:"h2 response header"; flow:to_client; http.header; content:":status: 200|0d 0a|server: srv|0d 0a|content-length: 2|0d 0a|"; startswith; endswith; sid:10;)
        alert http any any -> any any (msg:"set-cookie in h2 response http_header"; flow:to_client; content:"s=1"; http_header; sid:11;)
        alert http any any -> any any (msg:"old host: user"; flow:to_server; http.host; content:"user"; sid:12;)
        alert http any any -> any any (msg:"h2 instance"; flow:to_server; http.request_header; content:"cookie: a=1"; startswith; endswith; sid:13;)
        """#

    static func h2(_ req: [UInt8], _ resp: [UInt8], size: Int, sport: UInt16 = 46101) -> [[UInt8]] {
        typealias B = HTTP2BodyEngineTests
        let client = B.preface + B.frame(4, 0, 0, []) + B.frame(1, 0x5, 1, req)
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, resp) + B.frame(0, 0x1, 1, Array("ok".utf8))
        return B.session(sport: sport, B.split(true, client, size) + B.split(false, server, size))
    }

    static var h2Request: [UInt8] {
        typealias B = HTTP2BodyEngineTests
        return B.lit(":method", "GET") + B.lit(":path", "/p") + B.lit(":authority", "user:pw@Evil.Example:443")
            + B.lit("user-agent", "ua1") + B.lit("cookie", "a=1") + B.lit("user-agent", " ua2 ")
            + B.lit("cookie", "b=2") + B.lit("referer", "r")
    }

    static var h2Response: [UInt8] {
        typealias B = HTTP2BodyEngineTests
        return B.lit(":status", "200") + B.lit("set-cookie", "s=1") + B.lit("server", " srv ")
            + B.lit("set-cookie", "t=2") + B.lit("content-length", "2")
    }

    /// HTTP/2 buffers as rust/src/http2/detect.rs builds them. Before: http.header had the
    /// regular lines only with the cookie and untrimmed values, http.cookie / user_agent the
    /// last value, the response's http.cookie the request's, http.host "user".
    @Test func http2BuffersAsSuricata() {
        var p = RuleParser()
        p.load(text: Self.h2Rules, file: "h2.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        for size in [4096, 7, 2] {
            #expect(HTTPBufferFillTests.sids(Self.h2(Self.h2Request, Self.h2Response, size: size), defs)
                    == [1, 3, 4, 5, 6, 7, 8, 10, 13], "segments of \(size)")
        }
        // Without cookies or repeats: the single values as sent, no response cookie buffer.
        typealias B = HTTP2BodyEngineTests
        let req = B.lit(":method", "GET") + B.lit(":path", "/p") + B.lit(":authority", "Evil.Example")
        let resp = B.lit(":status", "200") + B.lit("content-length", "2")
        #expect(HTTPBufferFillTests.sids(Self.h2(req, resp, size: 4096), defs) == [5])
    }

    /// A request without :authority takes its `host` header for http.host (Suricata has no
    /// http.host then: ours sees more); a bracketed IPv6 authority keeps its brackets.
    @Test func http2HostFallbacks() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"host header"; flow:to_server; http.host; content:"h.example"; startswith; endswith; sid:1;)
            alert http any any -> any any (msg:"v6"; flow:to_server; http.host; content:"[::1]"; startswith; endswith; sid:2;)
            """#, file: "h2host.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        typealias B = HTTP2BodyEngineTests
        let resp = B.lit(":status", "204")
        let a = B.lit(":method", "GET") + B.lit(":path", "/") + B.lit("host", "H.example:80")
        #expect(HTTPBufferFillTests.sids(Self.h2(a, resp, size: 4096), defs) == [1])
        let v6 = B.lit(":method", "GET") + B.lit(":path", "/") + B.lit(":authority", "[::1]:8443")
        #expect(HTTPBufferFillTests.sids(Self.h2(v6, resp, size: 4096), defs) == [2])
    }

    /// The new paths (folds, colonless lines, HTTP/2 composition) allocate nothing per packet.
    @Test func newPathsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var p = RuleParser()
        p.load(text: Self.foldRules + "\n" + Self.colonRules.replacingOccurrences(of: "sid:", with: "sid:10")
               + "\n" + Self.h2Rules.replacingOccurrences(of: "sid:", with: "sid:20"), file: "alloc.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        let req = "POST / HTTP/1.1\r\n User-Agent: Moz\r\n  illa\r\nHost: h\r\nnocolon evil\r\n:empty\r\nX-F: a\r\n  b\r\nContent-Length: 2\r\n\r\nxy"
        let resp = "HTTP/1.1 200 OK\r\nServer: ng\r\n\tinx\r\nbroken line\r\nContent-Length: 2\r\n\r\nok"
        let cases: [(String, [[UInt8]])] = [
            ("HTTP/1 whole", HTTPBufferFillTests.h1(req, resp, size: 4096, sport: 46110)),
            ("HTTP/1 split", HTTPBufferFillTests.h1(req, resp, size: 5, sport: 46111)),
            ("HTTP/2", Self.h2(Self.h2Request, Self.h2Response, size: 4096, sport: 46112)),
        ]
        for (label, traffic) in cases {
            let engine = Engine()
            engine.loadDetection(defs)
            var alertsBefore = engine.stats.alerts
            let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
            #expect(n == 0, "\(label): header buffers allocated \(n) times")
            #expect(engine.stats.alerts > alertsBefore, "\(label)")
        }
    }

    /// The parser alone on invalid lines (a colonless line, "Name : value", a blank-led
    /// first line): nothing allocated. Marking such a line used to build an option-set array
    /// literal, one heap allocation per invalid line in debug builds.
    @Test func invalidLinesDoNotAllocateInParser() {
        guard allocationCounterWorks() else { return }
        for text in ["POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy",
                     "POST / HTTP/1.1\r\nHost: h\r\nnocolon\r\nContent-Length: 2\r\n\r\nxy",
                     "POST / HTTP/1.1\r\nHost: h\r\nHost : h\r\nContent-Length: 2\r\n\r\nxy",
                     "POST / HTTP/1.1\r\n X: y\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy",
                     // Review fixes: an ignored blank-led framing header, folded framing headers.
                     "POST / HTTP/1.1\r\n Content-Length: 2\r\nHost: h\r\n\r\nxyGET / HTTP/1.1\r\n\r\n",
                     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n 2\r\n\r\nxy",
                     "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"] {
            var p = HTTPParser()
            let bytes = Array(text.utf8)
            func round() {
                p.reset()
                bytes.withUnsafeBytes { raw in p.feed(ByteView(raw), direction: .toServer, gap: false) { _ in } }
                p.consumeReady()
            }
            for _ in 0 ..< 3 { round() }
            let n = countAllocations { for _ in 0 ..< 10 { round() } }
            #expect(n == 0, "\(text.debugDescription): \(n)")
        }
    }
}
