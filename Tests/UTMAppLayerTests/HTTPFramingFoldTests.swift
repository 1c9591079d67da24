import Testing
import UTMCore
import UTMInflate
@testable import UTMAppLayer

/// Body framing around odd header lines (session 8 review fixes), each whole, byte by byte
/// and in random splits (`runAllSplits`):
/// - a Content-Length / Transfer-Encoding on a blank-led first header line frames nothing
///   (servers that skip such a line read what follows the headers as the next request);
/// - a folded Content-Length / Transfer-Encoding / Content-Encoding is read with its
///   continuation, as libhtp unfolds before reading a value.
@Suite struct HTTPFramingFoldTests {
    static let hidden = "GET /evil HTTP/1.1\r\nHost: a\r\n\r\n"

    static func flags(_ r: HTTPRun, _ i: Int) -> HTTPTxFlags {
        HTTPTxFlags(rawValue: UInt32(r.txs[i]["flags"]!, radix: 16)!)
    }

    /// The reviewer's trigger: a blank-led Content-Length as long as a pipelined request.
    /// Before: one transaction with a 31-byte body, /evil never parsed as a request.
    @Test func blankLedContentLengthDoesNotFrame() {
        let req = "POST /ok HTTP/1.1\r\n Content-Length: \(Self.hidden.utf8.count)\r\nHost: a\r\n\r\n" + Self.hidden
        let r = runAllSplits([HTTPSeg(.toServer, req)])
        #expect(r.txs.map { $0["uri"] } == ["/ok", "/evil"])
        #expect(r.txs[0]["reqBody"] == "0")
        #expect(r.txs[0]["reqLen"] == "-1")
        #expect(Self.flags(r, 0).contains(.ignoredFraming))
        #expect(Self.flags(r, 0).contains(.malformedRequest))
        #expect(!Self.flags(r, 1).contains(.ignoredFraming))
        #expect(r.events & HTTPEvents.framingIgnored.rawValue != 0)
        // The line stays in the header block as libhtp has it (blanks cut).
        #expect(r.txs[0]["reqHeaders"] == "Content-Length: \(Self.hidden.utf8.count)\r\nHost: a\r\n")
        #expect(r.txs[1]["host"] == "a")
    }

    /// The same with Transfer-Encoding: chunked (tab-led): the chunk framing is ignored, so the
    /// hidden request is parsed after the junk "0" line instead of vanishing in the body.
    @Test func blankLedTransferEncodingDoesNotFrame() {
        let te = "POST /ok HTTP/1.1\r\n\tTransfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n" + Self.hidden
        let r = runAllSplits([HTTPSeg(.toServer, te)])
        #expect(r.txs.first?["uri"] == "/ok")
        #expect(r.txs.first?["reqBody"] == "0")
        #expect(!Self.flags(r, 0).contains(.requestChunked))
        #expect(Self.flags(r, 0).contains(.ignoredFraming))
        #expect(r.txs.contains { $0["uri"] == "/evil" }, "\(r.txs.map { $0["uri"] ?? "-" })")
    }

    /// Negative: the same headers not blank-led frame as before, with no new flag; a blank-led
    /// first line of another header is still a header and flags nothing new either.
    @Test func unledFramingUnchanged() {
        let req = "POST /ok HTTP/1.1\r\nContent-Length: \(Self.hidden.utf8.count)\r\nHost: a\r\n\r\n" + Self.hidden
        let r = runAllSplits([HTTPSeg(.toServer, req)])
        #expect(r.txs.map { $0["uri"] } == ["/ok"])
        #expect(r.txs[0]["reqBody"] == "31")
        #expect(!Self.flags(r, 0).contains(.ignoredFraming))
        #expect(r.events & HTTPEvents.framingIgnored.rawValue == 0)

        let ua = "GET /a HTTP/1.1\r\n User-Agent: x\r\nContent-Length: 2\r\n\r\nxyGET /b HTTP/1.1\r\n\r\n"
        let r2 = runAllSplits([HTTPSeg(.toServer, ua)])
        #expect(r2.txs.map { $0["uri"] } == ["/a", "/b"])
        #expect(r2.txs[0]["ua"] == "x")
        #expect(r2.txs[0]["reqBody"] == "2")
        #expect(!Self.flags(r2, 0).contains(.ignoredFraming))
        #expect(Self.flags(r2, 0).contains(.invalidHeader))
    }

    /// A response's blank-led Content-Length frames nothing either: the body runs to the close.
    @Test func blankLedResponseContentLength() {
        let r = runAllSplits([HTTPSeg(.toServer, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
                              HTTPSeg(.toClient, "HTTP/1.1 200 OK\r\n Content-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n")])
        #expect(r.txs.count == 1)
        #expect(r.txs[0]["respBody"] == "21")
        #expect(Self.flags(r, 0).contains(.ignoredFraming))
        #expect(Self.flags(r, 0).contains(.malformedResponse))
    }

    /// The reviewer's fold trigger: "Content-Length:\r\n 31". Before: the value was read from
    /// the first line alone (empty, invalid) and the body parsed as a second request.
    @Test func foldedContentLengthFrames() {
        let req = "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n \(Self.hidden.utf8.count)\r\n\r\n" + Self.hidden
        let r = runAllSplits([HTTPSeg(.toServer, req)])
        #expect(r.txs.map { $0["uri"] } == ["/ok"])
        #expect(r.txs[0]["reqBody"] == "31")
        #expect(r.txs[0]["reqLen"] == "31")
        #expect(r.body(0, .toServer) == Self.hidden)
        #expect(Self.flags(r, 0).contains(.obsFold))
        #expect(!Self.flags(r, 0).contains(.invalidContentLength))
        // A continuation that adds digits: "3\r\n 1" unfolds to "3 1", not a length.
        let odd = runAllSplits([HTTPSeg(.toServer, "POST /ok HTTP/1.1\r\nContent-Length: 3\r\n 1\r\n\r\nabc")])
        #expect(Self.flags(odd, 0).contains(.invalidContentLength))
        #expect(odd.txs[0]["reqBody"] == "0")
        // A folded Content-Length followed by another header line, and by a second fold.
        let two = runAllSplits([HTTPSeg(.toServer, "POST /ok HTTP/1.1\r\nContent-Length:\r\n\t\r\n  4\r\nHost: a\r\n\r\nabcd")])
        #expect(two.txs.map { $0["uri"] } == ["/ok"])
        #expect(two.txs[0]["reqBody"] == "4")
    }

    /// "Transfer-Encoding:\r\n chunked": before, no framing at all (body 0, the chunks junk).
    @Test func foldedTransferEncodingFrames() {
        let te = "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        let r = runAllSplits([HTTPSeg(.toServer, te + "GET /next HTTP/1.1\r\n\r\n")])
        #expect(r.txs.map { $0["uri"] } == ["/ok", "/next"])
        #expect(r.body(0, .toServer) == "hello")
        #expect(Self.flags(r, 0).contains(.requestChunked))
        // Response side, and Content-Encoding folded the same way ("gzip" on the continuation).
        let gz = Deflate.compress(Array("inflated".utf8), format: .gzip)
        let head = "HTTP/1.1 200 OK\r\nContent-Encoding:\r\n gzip\r\nTransfer-Encoding: \r\n\tchunked\r\n\r\n"
        let body = Array(String(gz.count, radix: 16).utf8) + Array("\r\n".utf8) + gz + Array("\r\n0\r\n\r\n".utf8)
        let r2 = runAllSplits([HTTPSeg(.toServer, "GET / HTTP/1.1\r\n\r\n"),
                               HTTPSeg(.toClient, bytes: Array(head.utf8) + body)])
        #expect(r2.body(0, .toClient) == "inflated")
        #expect(Self.flags(r2, 0).contains(.responseChunked))
        #expect(Self.flags(r2, 0).contains(.responseGzip))
    }

    /// A truncated message (the flow ends inside the folded framing header) neither traps nor
    /// frames a body.
    @Test func truncatedInsideFold() {
        let full = "POST /ok HTTP/1.1\r\nContent-Length:\r\n 4\r\n\r\nabcd"
        let bytes = Array(full.utf8)
        for n in 0 ... bytes.count {
            let r = runAllSplits([HTTPSeg(.toServer, bytes: Array(bytes[0 ..< n]))], seeds: 1 ... 2)
            if n < bytes.count - 4 { #expect(r.txs.allSatisfy { $0["reqBody"] == "0" }, "cut at \(n)") }
        }
    }

    /// HTTP/2's ASCII case fold: letters only. CR (0x0D) ORed with 0x20 is '-' (0x2D), so
    /// "x\rgzip" passed for x-gzip and "set\rcookie" for set-cookie.
    @Test func http2CaseFoldLettersOnly() {
        func eq(_ s: [UInt8], _ lit: StaticString) -> Bool { s.withByteView { HTTP2Side.equalsLower($0, lit) } }
        #expect(eq(Array("SET-Cookie".utf8), "set-cookie"))
        #expect(eq(Array("x-gzip".utf8), "x-gzip"))
        #expect(!eq(Array("set\rcookie".utf8), "set-cookie"))
        #expect(!eq(Array("x\rgzip".utf8), "x-gzip"))
        #expect(!eq([0x40] + Array("zip".utf8), "`zip"), "'@' is not a letter: not folded onto '`'")
        func coding(_ s: [UInt8]) -> UInt8 { s.withByteView { HTTP2Side.coding($0) } }
        #expect(coding(Array("X-GZIP".utf8)) == 1)
        #expect(coding(Array("x\rgzip".utf8)) == 2, "an unknown coding, not gzip")
    }
}
