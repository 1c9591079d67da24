import Testing
import UTMCore
import UTMInflate
@testable import UTMAppLayer

private let crlf = "\r\n"

private func gzipBytes(_ s: String, _ format: InflateFormat = .gzip) -> [UInt8] {
    Deflate.compress(Array(s.utf8), format: format)
}

private func response(_ head: String, body: [UInt8]) -> [UInt8] { Array(head.utf8) + body }

@Suite struct HTTPParserTests {
    @Test func simpleGetWithResponseBody() {
        let req = "GET /index.html?q=1 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nUser-Agent: Mozilla/5.0 (X11)\r\n"
            + "Referer: http://ref.example/\r\nCookie: a=1; b=2\r\nAccept: */*\r\n\r\n"
        let resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\nServer: x\r\n\r\nhello world"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, resp)])
        #expect(r.txs.count == 1)
        let t = r.txs[0]
        #expect(t["method"] == "GET")
        #expect(t["uri"] == "/index.html?q=1")
        #expect(t["protocol"] == "HTTP/1.1")
        #expect(t["host"] == "WWW.Example.com")
        #expect(t["port"] == "8080")
        #expect(t["ua"] == "Mozilla/5.0 (X11)")
        #expect(t["referer"] == "http://ref.example/")
        #expect(t["cookie"] == "a=1; b=2")
        #expect(t["reqHeaders"] == "Host: WWW.Example.com:8080\r\nUser-Agent: Mozilla/5.0 (X11)\r\n"
            + "Referer: http://ref.example/\r\nCookie: a=1; b=2\r\nAccept: */*\r\n")
        #expect(t["status"] == "200")
        #expect(t["statusLine"] == "HTTP/1.1 200 OK")
        #expect(t["message"] == "OK")
        #expect(t["respProtocol"] == "HTTP/1.1")
        #expect(t["respType"] == "text/html")
        #expect(t["respLen"] == "11")
        #expect(t["respBody"] == "11")
        #expect(t["reqComplete"] == "true" && t["respComplete"] == "true")
        #expect(t["flags"] == "0")
        #expect(r.body(0, .toClient) == "hello world")
        #expect(r.last(0, .toClient) == 1)
        #expect(r.last(0, .toServer) == 0)
    }

    @Test func readyOnlyWhenBothSidesDoneAndFinishEndsPending() {
        var p = HTTPParser()
        Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: false) { _ in } }
        #expect(p.readyCount == 0 && p.pendingCount == 1)
        #expect(p.events.contains(.requestHeaders) && p.events.contains(.requestComplete))
        Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8).withByteView {
            p.feed($0, direction: .toClient, gap: false) { _ in }
        }
        #expect(p.events.contains(.responseHeaders) && p.events.contains(.txReady))
        #expect(p.readyCount == 1)
        #expect(p.ready(0).status == 404)
        p.consumeReady()
        #expect(p.readyCount == 0 && p.pendingCount == 0)
        Array("GET /2 HTTP/1.1\r\n\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: false) { _ in } }
        p.finish()
        #expect(p.readyCount == 1)
        #expect(p.ready(0).hasResponse == false && p.ready(0).status == 0)
        #expect(p.ready(99).hasRequest == false)  // out of range never traps
    }

    @Test func postWithBody() {
        let req = "POST /upload HTTP/1.1\r\nHost: api.example.net\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: 26\r\n\r\nname=mimamori&action=login"
        let resp = "HTTP/1.1 201 Created\r\nLocation: /items/7\r\nContent-Length: 2\r\n\r\nok"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, resp)])
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["method"] == "POST")
        #expect(r.txs[0]["reqType"] == "application/x-www-form-urlencoded")
        #expect(r.txs[0]["reqLen"] == "26")
        #expect(r.txs[0]["reqBody"] == "26")
        #expect(r.txs[0]["location"] == "/items/7")
        #expect(r.txs[0]["status"] == "201")
        #expect(r.body(0, .toServer) == "name=mimamori&action=login")
        #expect(r.body(0, .toClient) == "ok")
        #expect(r.last(0, .toServer) == 1 && r.last(0, .toClient) == 1)
    }

    @Test func headHas204And304HaveNoBody() {
        let reqs = "HEAD /big.iso HTTP/1.1\r\nHost: a\r\n\r\nGET /cached HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n"
            + "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n"
        let resps = "HTTP/1.1 200 OK\r\nContent-Length: 1234567\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter"
        let r = runAllSplits([HTTPSeg(.toServer, reqs), HTTPSeg(.toClient, resps)])
        #expect(r.txs.count == 4)
        #expect(r.txs.map { $0["status"] } == ["200", "304", "204", "200"])
        #expect(r.txs[0]["respLen"] == "1234567" && r.txs[0]["respBody"] == "0")
        #expect(r.txs[0]["respComplete"] == "true")
        #expect(r.txs[3]["uri"] == "/after")
        #expect(r.body(3, .toClient) == "after")
        #expect(r.bodies.count == 1)
    }

    @Test func chunkedWithExtensionsAndTrailers() {
        let req = "POST /c HTTP/1.1\r\nHost: up.example\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "4;name=value\r\nWiki\r\n5 ; x=\"q\"\r\npedia\r\n0\r\nX-Checksum: abc\r\n\r\n"
        let resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
            + "a\r\n0123456789\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, resp),
                              HTTPSeg(.toServer, "GET /next HTTP/1.1\r\n\r\n"),
                              HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ")])
        #expect(r.txs.count == 2)
        #expect(r.body(0, .toServer) == "Wikipedia")
        #expect(r.body(0, .toClient) == "abcdefghijklmnopqrstuvwxyz0123456789")
        let flags = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(flags.contains(.requestChunked) && flags.contains(.responseChunked))
        #expect(!flags.contains(.invalidChunking))
        #expect(r.txs[0]["reqLen"] == "-1" && r.txs[0]["reqBody"] == "9")
        #expect(r.txs[1]["uri"] == "/next" && r.body(1, .toClient) == "Z")
    }

    @Test func gzipAndDeflateBodies() {
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 200)
        var segs: [HTTPSeg] = []
        var resps: [UInt8] = []
        let encodings: [(String, InflateFormat)] = [("gzip", .gzip), ("deflate", .zlib), ("deflate", .raw), ("x-gzip", .gzip)]
        for (i, (name, format)) in encodings.enumerated() {
            segs.append(HTTPSeg(.toServer, "GET /f\(i) HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip, deflate\r\n\r\n"))
            let z = gzipBytes(text, format)
            resps += response("HTTP/1.1 200 OK\r\nContent-Encoding: \(name)\r\nContent-Length: \(z.count)\r\n\r\n", body: z)
        }
        // gzip inside chunked framing: de-chunk, then inflate.
        segs.append(HTTPSeg(.toServer, "GET /chunked-gzip HTTP/1.1\r\nHost: h\r\n\r\n"))
        let z = gzipBytes(text)
        let cut = z.count / 3
        resps += Array("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        resps += Array((String(cut, radix: 16) + "\r\n").utf8) + z[..<cut] + Array("\r\n".utf8)
        resps += Array((String(z.count - cut, radix: 16) + "\r\n").utf8) + z[cut...] + Array("\r\n0\r\n\r\n".utf8)
        segs.append(HTTPSeg(.toClient, bytes: resps))
        let r = runAllSplits(segs)
        #expect(r.txs.count == 5)
        for i in 0 ..< 5 {
            #expect(r.body(i, .toClient) == text, "tx \(i)")
            #expect(r.last(i, .toClient) == 1)
            #expect(r.txs[i]["respDelivered"] == String(text.utf8.count))
        }
        let f0 = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        let f1 = HTTPTxFlags(rawValue: UInt32(r.txs[1]["flags"]!, radix: 16)!)
        #expect(f0.contains(.responseGzip) && !f0.contains(.decodeError))
        #expect(f1.contains(.responseDeflate) && !f1.contains(.decodeError))
    }

    @Test func corruptGzipIsFlaggedNotThrown() {
        var z = gzipBytes(String(repeating: "abc", count: 1000))
        for i in 12 ..< min(40, z.count) { z[i] ^= 0x5a }
        let resp = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(z.count)\r\n\r\n", body: z)
        let r = runAllSplits([HTTPSeg(.toServer, "GET / HTTP/1.1\r\n\r\n"), HTTPSeg(.toClient, bytes: resp)])
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.decodeError))
        #expect(r.txs[0]["respComplete"] == "true")
    }

    @Test func pipelineThreeRequestsThenThreeResponses() {
        let reqs = "GET /a HTTP/1.1\r\nHost: one.example\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: two.example\r\nContent-Length: 3\r\n\r\nxyz"
            + "GET /c HTTP/1.1\r\nHost: three.example\r\n\r\n"
        let resps = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
            + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nBB"
            + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nCCC\r\n0\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, reqs), HTTPSeg(.toClient, resps)])
        #expect(r.txs.map { $0["uri"] } == ["/a", "/b", "/c"])
        #expect(r.txs.map { $0["host"] } == ["one.example", "two.example", "three.example"])
        #expect(r.txs.map { $0["status"] } == ["200", "201", "404"])
        #expect(r.body(0, .toClient) == "A" && r.body(1, .toClient) == "BB" && r.body(2, .toClient) == "CCC")
        #expect(r.body(1, .toServer) == "xyz")
    }

    @Test func keepAliveInterleaved() {
        var segs: [HTTPSeg] = []
        for i in 0 ..< 5 {
            segs.append(HTTPSeg(.toServer, "GET /page\(i) HTTP/1.1\r\nHost: keep.example\r\nConnection: keep-alive\r\n\r\n"))
            segs.append(HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\npage-\(i)"))
        }
        let r = runAllSplits(segs)
        #expect(r.txs.count == 5)
        for i in 0 ..< 5 {
            #expect(r.txs[i]["uri"] == "/page\(i)")
            #expect(r.body(i, .toClient) == "page-\(i)")
            #expect(r.txs[i]["seq"] == String(i))
        }
    }

    @Test func http10CloseDelimited() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "GET /old HTTP/1.0\r\nUser-Agent: Wget/1.0\r\n\r\n"),
            HTTPSeg(.toClient, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nline one\nline two\n"),
        ])
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["respLen"] == "-1")
        #expect(r.body(0, .toClient) == "line one\nline two\n")
        #expect(r.last(0, .toClient) == 1)
        #expect(r.txs[0]["respComplete"] == "true")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.connectionClose))
        #expect(r.txs[0]["host"] == "<absent>")
    }

    @Test func continueThenFinal() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "PUT /file HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"),
            HTTPSeg(.toClient, "HTTP/1.1 100 Continue\r\n\r\n"),
            HTTPSeg(.toServer, "0123456789"),
            HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"),
            HTTPSeg(.toServer, "GET /x HTTP/1.1\r\n\r\n"),
            HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        ])
        #expect(r.txs.count == 2)
        #expect(r.txs[0]["status"] == "200")
        #expect(r.body(0, .toServer) == "0123456789")
        #expect(r.body(0, .toClient) == "done")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.interimResponse))
        #expect(r.body(1, .toClient) == "x")
    }

    @Test func obsFoldIsUnfolded() {
        let req = "GET / HTTP/1.1\r\nHost: fold.example\r\nUser-Agent: Mozilla/5.0\r\n   (compatible;\r\n\tFoldBot)\r\nX-A: 1\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        // As libhtp joins them: the line break goes, the continuation's blanks stay.
        #expect(r.txs[0]["ua"] == "Mozilla/5.0   (compatible;\tFoldBot)")
        #expect(r.txs[0]["reqHeaders"] == "Host: fold.example\r\nUser-Agent: Mozilla/5.0   (compatible;\tFoldBot)\r\nX-A: 1\r\n")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.obsFold))
    }

    @Test func bareLFAccepted() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "GET /lf HTTP/1.1\nHost: lf.example\nCookie: c=1\n\n"),
            HTTPSeg(.toClient, "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc"),
        ])
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["uri"] == "/lf" && r.txs[0]["host"] == "lf.example" && r.txs[0]["cookie"] == "c=1")
        #expect(r.body(0, .toClient) == "abc")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.bareLF))
    }

    @Test func hugeHeaderLineIsCutAndFlagged() {
        let big = String(repeating: "k", count: 100_000)
        let req = "GET /big HTTP/1.1\r\nCookie: \(big)\r\nHost: after.example\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")],
                             seeds: 1 ... 2)
        let cfg = HTTPConfig()
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["cookie"]!.utf8.count == cfg.maxHeaderLine - "Cookie: ".utf8.count)
        #expect(r.txs[0]["host"] == "after.example")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.lineTooLong))
    }

    @Test func tooManyHeadersKeepFramingButDropLines() {
        var req = "POST /many HTTP/1.1\r\nHost: m\r\n"
        for i in 0 ..< 400 { req += "X-Header-\(i): \(String(repeating: "v", count: 40))\r\n" }
        req += "Content-Length: 4\r\n\r\nbody"
        let r = runAllSplits([HTTPSeg(.toServer, req), HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")],
                             seeds: 1 ... 2)
        #expect(r.txs.count == 1)
        #expect(r.body(0, .toServer) == "body")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.headersTruncated))
        #expect(r.txs[0]["reqHeaders"]!.utf8.count <= HTTPConfig().maxHeaderBlock)
    }

    @Test func garbageNeverTraps() {
        var rng = SplitMix(seed: 42)
        for round in 0 ..< 20 {
            let n = Int(rng.next() % 3000) + 1
            let bytes = (0 ..< n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let r = runAllSplits([HTTPSeg(.toServer, bytes: bytes), HTTPSeg(.toClient, bytes: bytes.reversed())],
                                 seeds: 1 ... 2)
            #expect(r.txs.count <= 8, "round \(round)")
        }
        // Lines that look almost like HTTP.
        let junk = "\r\n\r\nHELLO\r\nGET\r\n GET / HTTP/1.1\r\nG@T / HTTP/1.1\r\nHTTP/1.1 abc\r\nGET / HTTP/1.1\r\nHost: ok\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, junk), HTTPSeg(.toClient, "junk\r\nHTTP/1.1 200 OK\r\n\r\n")])
        #expect(r.events & HTTPEvents.malformed.rawValue != 0)
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["host"] == "ok")
        #expect(r.txs[0]["status"] == "200")
    }

    @Test func http09Request() {
        let r = runAllSplits([HTTPSeg(.toServer, "GET /ancient\r\n")])
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["uri"] == "/ancient" && r.txs[0]["protocol"] == "<absent>")
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.http09))
    }

    @Test func absoluteFormTargetGivesHost() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "GET http://user@Proxy.Example.org:3128/path?x HTTP/1.1\r\nHost: other\r\n\r\n"
                + "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n"),
            HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(r.txs[0]["host"] == "Proxy.Example.org" && r.txs[0]["port"] == "3128")
        #expect(r.txs[1]["host"] == "2001:db8::1" && r.txs[1]["port"] == "8443")
    }

    @Test func connectTunnelStopsParsing() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\n\r\n"),
            HTTPSeg(.toClient, "HTTP/1.1 200 Connection established\r\n\r\n"),
            HTTPSeg(.toServer, bytes: [0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
            HTTPSeg(.toClient, bytes: [0x16, 0x03, 0x03, 0x00, 0x10]),
        ])
        #expect(r.txs.count == 1)
        #expect(r.events & HTTPEvents.tunnel.rawValue != 0)
        #expect(r.events & HTTPEvents.malformed.rawValue == 0)
        #expect(r.bodies.isEmpty)
    }

    @Test func smugglingIndicatorsFlagged() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde"
                + "POST /te HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n"
                + "POST /bad HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        ])
        #expect(r.txs.count == 3)
        let f0 = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        let f1 = HTTPTxFlags(rawValue: UInt32(r.txs[1]["flags"]!, radix: 16)!)
        let f2 = HTTPTxFlags(rawValue: UInt32(r.txs[2]["flags"]!, radix: 16)!)
        #expect(f0.contains(.duplicateContentLength))
        #expect(f1.contains(.contentLengthAndTransferEncoding))
        #expect(r.body(1, .toServer) == "q")
        #expect(f2.contains(.invalidContentLength))
    }

    @Test func gapResyncsAtNextRequest() {
        let r = runAllSplits([
            HTTPSeg(.toServer, "POST /up HTTP/1.1\r\nHost: g\r\nContent-Length: 100000\r\n\r\npartial"),
            HTTPSeg(.toServer, "more body bytes\nnot a request line\r\nGET /resynced HTTP/1.1\r\nHost: g2\r\n\r\n", gap: true),
            HTTPSeg(.toClient, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ])
        #expect(r.txs.count == 2)
        let f0 = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f0.contains(.gap) && f0.contains(.requestBodyTruncated))
        #expect(r.txs[0]["reqComplete"] == "false")
        #expect(r.body(0, .toServer) == "partial")
        #expect(r.txs[1]["uri"] == "/resynced" && r.txs[1]["host"] == "g2")
        #expect(r.body(1, .toClient) == "ok")
        #expect(r.events & HTTPEvents.gap.rawValue != 0)
    }

    /// The one place where splits may differ: how many transactions fit depends on when the
    /// engine consumes ready ones, so only boundedness and the whole-feed result are checked.
    @Test func pendingOverflowIsCountedNotGrown() {
        var reqs = ""
        for i in 0 ..< 12 { reqs += "GET /\(i) HTTP/1.1\r\nHost: o\r\n\r\n" }
        var resps = ""
        for _ in 0 ..< 12 { resps += "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nr" }
        let segs = [HTTPSeg(.toServer, reqs), HTTPSeg(.toClient, resps)]
        var parser: HTTPParser? = nil
        let r = runHTTP(segs, split: .whole, parser: &parser)
        #expect(r.dropped == 8)  // 4 requests, then their 4 responses
        #expect(r.txs.count == 8)
        #expect(r.txs.map { $0["uri"] } == (0 ..< 8).map { "/\($0)" })
        for split in [HTTPSplit.bytes, .random(1), .random(2)] {
            let s = runHTTP(segs, split: split, parser: &parser)
            #expect(s.txs.count >= 8 && s.txs.count <= 12)
            #expect(Array(s.txs.prefix(8)) == r.txs)
            // Responses whose requests were not recorded are kept without inventing a request.
            for t in s.txs.dropFirst(8) {
                #expect(t["hasReq"] == "false")
                #expect(HTTPTxFlags(rawValue: UInt32(t["flags"]!, radix: 16)!).contains(.noRequest) == false)
            }
        }
    }

    @Test func zipBombIsBounded() {
        let zeros = [UInt8](repeating: 0, count: 10_000_000)
        let z = Deflate.compress(zeros, format: .gzip, level: 9)
        #expect(z.count < 20_000)
        let resp = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(z.count)\r\n\r\n", body: z)
        let r = runAllSplits([HTTPSeg(.toServer, "GET /bomb HTTP/1.1\r\n\r\n"), HTTPSeg(.toClient, bytes: resp)],
                             seeds: 1 ... 2)
        let cfg = HTTPConfig()
        #expect(Int64(r.bodyBytes(0, .toClient).count) == cfg.maxBodyInspect)
        #expect(r.txs[0]["respBody"] == String(z.count))
        let f = HTTPTxFlags(rawValue: UInt32(r.txs[0]["flags"]!, radix: 16)!)
        #expect(f.contains(.bodyInspectLimited))
        #expect(r.txs[0]["respComplete"] == "true")
    }

    @Test func rawBodyInspectionLimit() {
        var cfg = HTTPConfig()
        cfg.maxBodyInspect = 10
        let r = runAllSplits([HTTPSeg(.toServer, "GET / HTTP/1.1\r\n\r\n"),
                              HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz")],
                             config: cfg)
        #expect(r.body(0, .toClient) == "abcdefghij")
        #expect(r.txs[0]["respBody"] == "26")
    }

    @Test func everyPrefixOfAnExchangeIsSafe() {
        let text = String(repeating: "gzip me please ", count: 40)
        let z = gzipBytes(text)
        let req = Array(("POST /p HTTP/1.1\r\nHost: pre.example\r\nTransfer-Encoding: chunked\r\nUser-Agent: x\r\n"
            + " y\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\nHEAD /h HTTP/1.1\r\n\r\n").utf8)
        let resp = response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(z.count)\r\n\r\n",
                            body: z) + Array("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".utf8)
        var parser: HTTPParser? = nil
        for cutReq in stride(from: 0, through: req.count, by: 7) {
            _ = runHTTP([HTTPSeg(.toServer, bytes: Array(req[..<cutReq]))], split: .bytes, parser: &parser)
        }
        for cut in 0 ... resp.count {
            let segs = [HTTPSeg(.toServer, bytes: req), HTTPSeg(.toClient, bytes: Array(resp[..<cut]))]
            let whole = runHTTP(segs, split: .whole, parser: &parser)
            let split = runHTTP(segs, split: .random(UInt64(cut)), parser: &parser)
            #expect(whole == split, "prefix \(cut)")
            #expect(whole.txs.count == 2)
        }
    }
    @Test func resetMidFlowForgetsEverything() {
        var p = HTTPParser()
        Array("POST /half HTTP/1.1\r\nContent-Length: 50\r\nContent-Encoding: gzip\r\n\r\n\u{1f}".utf8).withByteView {
            p.feed($0, direction: .toServer, gap: false) { _ in }
        }
        Array("HTTP/1.1 200 OK\r\nContent-Le".utf8).withByteView { p.feed($0, direction: .toClient, gap: false) { _ in } }
        p.reset()
        #expect(p.pendingCount == 0 && p.readyCount == 0 && p.events.isEmpty)
        var body: [UInt8] = []
        Array("GET /fresh HTTP/1.1\r\nHost: new\r\n\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: false) { _ in } }
        Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".utf8).withByteView {
            p.feed($0, direction: .toClient, gap: false) { body += $0.data.bytes }
        }
        #expect(p.readyCount == 1)
        let t = p.ready(0)
        #expect(p.withField(t.uri) { $0.bytes } == Array("/fresh".utf8))
        #expect(t.sequence == 0 && t.status == 200 && body == Array("hi".utf8))
    }
}
