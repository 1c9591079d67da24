import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMAppLayer
@testable import UTMEngine

/// The composed HTTP buffers (EngineHTTPBuffers.swift) as Suricata builds them, on HTTP/1 and
/// HTTP/2 traffic built here, whole and split into small segments: http.header_names,
/// http.start, http.request_line / http.response_line, http.accept(_enc, _lang),
/// http.connection, http.content_len, and the normalized http.host (lower case, no port)
/// beside http.host.raw. Positive and negative rules, requests and responses.
@Suite struct HTTPBufferFillTests {
    static let rules = #"""
        alert http any any -> any any (msg:"names in order, Accept once"; http.header_names; content:"|0d 0a|Host|0d 0a|User-Agent|0d 0a|Accept|0d 0a|Accept-Encoding|0d 0a|"; startswith; sid:1;)
        alert http any any -> any any (msg:"no referer (ET style)"; content:"GET"; http_method; http_header_names; content:!"Referer"; sid:2;)
        alert http any any -> any any (msg:"names end"; http.header_names; content:"|0d 0a|Content-Length|0d 0a 0d 0a|"; endswith; sid:3;)
        alert http any any -> any any (msg:"request line"; http.request_line; content:"GET /Path HTTP/1.1"; startswith; endswith; sid:4;)
        alert http any any -> any any (msg:"accept joined"; http.accept; content:"text/html, */*"; startswith; endswith; sid:5;)
        alert http any any -> any any (msg:"accept enc"; http.accept_enc; content:"gzip"; startswith; endswith; sid:6;)
        alert http any any -> any any (msg:"accept lang"; http.accept_lang; content:"en-US"; startswith; endswith; sid:7;)
        alert http any any -> any any (msg:"connection"; http.connection; content:"keep-alive"; startswith; endswith; sid:8;)
        alert http any any -> any any (msg:"response content-length"; flow:to_client; http.content_len; content:"2"; startswith; endswith; sid:9;)
        alert http any any -> any any (msg:"request content-length"; http.content_len; content:"3"; startswith; endswith; sid:10;)
        alert http any any -> any any (msg:"start, request"; http.start; content:"GET /Path HTTP/1.1|0d 0a|Host: WWW.Example.COM:8080|0d 0a|User-Agent: Bot|0d 0a|Accept: text/html, */*|0d 0a|"; startswith; sid:11;)
        alert http any any -> any any (msg:"start end"; http.start; content:"Content-Length: 3|0d 0a 0d 0a|"; endswith; sid:12;)
        alert http any any -> any any (msg:"start, response"; flow:to_client; http.start; content:"HTTP/1.1 200 OK|0d 0a|Server: x|0d 0a|"; startswith; sid:13;)
        alert http any any -> any any (msg:"host normalized"; http.host; content:"www.example.com"; startswith; endswith; sid:14;)
        alert http any any -> any any (msg:"host is lower case"; http.host; content:"WWW"; sid:15;)
        alert http any any -> any any (msg:"raw host as sent"; http.host.raw; content:"WWW.Example.COM:8080"; startswith; endswith; sid:16;)
        alert http any any -> any any (msg:"referer name"; http.header_names; content:"|0d 0a|Referer|0d 0a|"; sid:17;)
        alert http any any -> any any (msg:"h2 request line"; http.request_line; content:"GET /Path HTTP/2"; startswith; endswith; sid:18;)
        alert http any any -> any any (msg:"h2 response line"; flow:to_client; http.response_line; content:"HTTP/2 200"; startswith; endswith; sid:19;)
        alert http any any -> any any (msg:"connection is a request buffer"; flow:to_client; http.connection; content:"close"; sid:20;)
        alert http any any -> any any (msg:"accept other"; http.accept; content:"xml"; sid:21;)
        alert http any any -> any any (msg:"h2 names, pseudo first, repeats kept"; http.header_names; content:"|0d 0a|:method|0d 0a|:path|0d 0a|:authority|0d 0a|accept|0d 0a|accept|0d 0a|"; startswith; sid:22;)
        alert http any any -> any any (msg:"response names"; flow:to_client; http.header_names; content:"|0d 0a|Server|0d 0a|Content-Length|0d 0a|Connection|0d 0a 0d 0a|"; startswith; endswith; sid:23;)
        """#

    static let request = "GET /Path HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: Bot\r\nAccept: text/html\r\n"
        + "accept:*/*\r\nAccept-Encoding: gzip\r\nAccept-Language: en-US\r\nConnection: keep-alive\r\n"
        + "Cookie: a=b\r\nContent-Length: 3\r\n\r\nabc"
    static let response = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    /// One HTTP/1 exchange, the request and response cut into `size`-byte segments.
    static func h1(_ req: String, _ resp: String, size: Int, sport: UInt16 = 46000) -> [[UInt8]] {
        typealias B = HTTP2BodyEngineTests
        return B.session(sport: sport, dport: 80, B.split(true, Array(req.utf8), size) + B.split(false, Array(resp.utf8), size))
    }

    static func h2(size: Int) -> [[UInt8]] {
        typealias B = HTTP2BodyEngineTests
        let block = B.lit(":method", "GET") + B.lit(":path", "/Path") + B.lit(":authority", "WWW.Example.COM:8443")
            + B.lit("accept", "text/html") + B.lit("accept", "*/*") + B.lit("accept-encoding", "gzip")
            + B.lit("accept-language", "en-US") + B.lit("connection", "keep-alive") + B.lit("content-length", "3")
        let client = B.preface + B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, block) + B.frame(0, 0x1, 1, Array("abc".utf8))
        let headers = B.lit(":status", "200") + B.lit("server", "x") + B.lit("content-length", "2")
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, headers) + B.frame(0, 0x1, 1, Array("ok".utf8))
        return B.session(sport: 46001, B.split(true, client, size) + B.split(false, server, size))
    }

    static func definitions() -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "buf.rules")
        let set = p.finish()
        #expect(set.signatures.count == 23, "every rule loads")
        return DetectDefinitions(ruleSet: set)
    }

    static func sids(_ frames: [[UInt8]], _ defs: DetectDefinitions) -> [Int] {
        Array(Set(HTTPHeaderKeywordTests.sids(frames, defs))).sorted()
    }

    @Test func http1WholeAndSplit() {
        let defs = Self.definitions()
        for size in [4096, 13, 7] {
            let got = Self.sids(Self.h1(Self.request, Self.response, size: size), defs)
            #expect(got == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 23], "segments of \(size)")
        }
    }

    @Test func http1Negative() {
        let defs = Self.definitions()
        let req = "GET /x HTTP/1.0\r\nReferer: http://r.example/\r\nAccept: text/xml\r\n\r\n"
        let resp = "HTTP/1.0 404 Not Found\r\n\r\n"
        #expect(Self.sids(Self.h1(req, resp, size: 4096), defs) == [17, 21])
        // A response without headers has no http.header_names (Suricata: no buffer).
        #expect(!Self.sids(Self.h1(req, resp, size: 5), defs).contains(23))
    }

    /// Past `httpMergeLineLimit` header lines nothing is joined (the merge is bounded): names
    /// repeat and a value is the first one's; the buffers are still there.
    @Test func manyHeadersNotMerged() {
        let defs = Self.definitions()
        var req = "GET /Path HTTP/1.1\r\nHost: www.example.com\r\nAccept: text/html\r\n"
        for k in 0 ..< HTTPBufferComposer.mergeLineLimit { req += "X-\(k): v\r\n" }
        req += "Accept: */*\r\n\r\n"
        let got = Self.sids(Self.h1(req, Self.response, size: 4096), defs)
        #expect(got.contains(4) && got.contains(14) && got.contains(2), "request line, host, names")
        #expect(!got.contains(5), "accept not joined past the limit")
    }

    @Test func http2WholeAndSplit() {
        let defs = Self.definitions()
        for size in [4096, 50, 30] {
            let got = Self.sids(Self.h2(size: size), defs)
            #expect(got == [2, 5, 6, 7, 8, 9, 10, 14, 18, 19, 22], "segments of \(size)")
        }
    }

    /// http.uri is libhtp's normalized URI under Suricata's IDS personality: %-decoded path
    /// (%2F too), dot segments removed, no scheme or host; http.uri.raw stays as sent. An
    /// attacker's encoding does not hide the path.
    @Test func uriNormalized() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"path decoded"; http.uri; content:"/wp-content/x.exe?a=%41"; startswith; endswith; sid:1;)
            alert http any any -> any any (msg:"raw as sent"; http.uri.raw; content:"/wp-%63ontent/"; startswith; sid:2;)
            alert http any any -> any any (msg:"encoded in normalized"; http.uri; content:"%63"; sid:3;)
            alert http any any -> any any (msg:"ET style"; content:"/wp-content/"; http_uri; content:".exe"; http_uri; sid:4;)
            alert http any any -> any any (msg:"separator decoded"; http.uri; content:"/a/b/%zz"; startswith; endswith; sid:5;)
            alert http any any -> any any (msg:"host dot"; http.host; content:"example.com"; endswith; sid:6;)
            """#, file: "uri.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        func run(_ target: String, host: String = "example.com") -> [Int] {
            Self.sids(Self.h1("GET \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", size: 4096), defs)
        }
        #expect(run("/wp-%63ontent/x.exe?a=%41") == [1, 2, 4, 6])
        #expect(run("/a/b/../../wp-content/./x.exe?a=%41") == [1, 4, 6], "dot segments")
        #expect(run("/%2e%2e/wp-content/x.exe?a=%41") == [1, 4, 6], "encoded dots decode first, then go")
        #expect(run("http://Evil.example/wp-content/x.exe?a=%41", host: "other") == [1, 4], "absolute form: path only")
        #expect(run("/a%2Fb/%zz") == [5, 6], "%2F decodes to a separator; an invalid escape stays")
        #expect(run("/a%5cb/%zz") == [5, 6], "%5C decodes to a backslash, which becomes a separator")
        #expect(run("/x", host: "EXAMPLE.COM.") == [6], "lower case, trailing dot dropped")
    }

    /// The evasions the IDS personality closes, each against an ET-style `http_uri` rule:
    /// backslashes, doubled slashes, IIS %u escapes, overlong UTF-8 and full-width letters,
    /// and what libhtp leaves of a trailing dot segment or broken UTF-8.
    @Test func uriEvasionsNormalized() {
        var p = RuleParser()
        p.load(text: #"""
            alert http any any -> any any (msg:"cmd"; content:"/scripts/cmd.exe"; http_uri; sid:1;)
            alert http any any -> any any (msg:"whole uri"; http.uri; content:"/a"; startswith; endswith; sid:2;)
            alert http any any -> any any (msg:"replaced"; http.uri; content:"/x?y"; startswith; endswith; sid:3;)
            alert http any any -> any any (msg:"latin1"; http.uri; content:"/caf|e9|"; startswith; endswith; sid:4;)
            """#, file: "evasion.rules")
        let defs = DetectDefinitions(ruleSet: p.finish())
        func run(_ target: String) -> [Int] {
            Self.sids(Self.h1("GET \(target) HTTP/1.1\r\nHost: example.com\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", size: 4096), defs)
        }
        #expect(run("/scripts/cmd.exe") == [1])
        #expect(run("/scripts\\cmd.exe") == [1], "backslash")
        #expect(run("//scripts///cmd.exe") == [1], "doubled slashes")
        #expect(run("/scripts/%u0063md.exe") == [1], "%u00HH")
        #expect(run("/scripts/%uFF43md.exe") == [1], "%u full-width c")
        #expect(run("/scripts%c0%afcmd.exe") == [1], "overlong UTF-8 slash")
        #expect(run("/scripts/%ef%bd%83md.exe") == [1], "UTF-8 full-width c")
        #expect(run("/scripts/\u{FF43}md.exe") == [1], "raw UTF-8 full-width c")
        #expect(run("/scripts/x/../cmd.exe") == [1])
        #expect(run("/a/b/..") == [2], "libhtp leaves no slash after a final /..")
        #expect(run("/a/.") == [2], "nor after a final /.")
        #expect(run("/x%c3y") == [3], "a character cut short: one ?, the next byte kept")
        #expect(run("/x%u4E2Dy") == [3], "a code point with no best fit")
        #expect(run("/caf%c3%a9") == [4], "U+00E9 is its byte")
        #expect(run("/scripts/%u006") .isEmpty, "a short %u stays as sent")
    }

    /// The buffers need no new keyword, but the rules using them keep their alerts through a
    /// compiled bundle.
    @Test func bundleRoundTrip() throws {
        let defs = Self.definitions()
        let back = try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: defs), file: "b")
        for frames in [Self.h1(Self.request, Self.response, size: 4096), Self.h2(size: 4096)] {
            #expect(Self.sids(frames, back) == Self.sids(frames, defs))
        }
    }

    /// Composing the buffers (names, start line, joined values, lower-cased host) reuses the
    /// engine's scratch store: steady-state traffic allocates nothing.
    @Test func composingDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var p = RuleParser()
        p.load(text: Self.rules + "\n" + #"alert http any any -> any any (msg:"uri"; http.uri; content:"/b/A"; sid:99;)"#,
               file: "alloc.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        // A URI to normalize (every step: escapes, separators, UTF-8, dots) and a host to
        // lower-case, split across segments, beside the rest.
        let odd = Self.h1("GET /a/../b\\%41//%c0%af%uFF41%e4?q=%42 HTTP/1.1\r\nHost: EXAMPLE.COM.\r\nAccept: a\r\nAccept: b\r\n\r\n",
                          "HTTP/1.1 204 No Content\r\n\r\n", size: 9, sport: 46002)
        let traffic = Self.h1(Self.request, Self.response, size: 4096) + Self.h2(size: 4096) + odd
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        #expect(n == 0, "composing HTTP buffers allocated \(n) times")
        #expect(engine.stats.alerts > alertsBefore)
    }
}
