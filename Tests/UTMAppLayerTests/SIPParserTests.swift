import Testing
import UTMCore
@testable import UTMAppLayer

/// SIP messages written out by hand after RFC 3261's examples (section 24.2).
enum SIPBuild {
    static let invite = Array(("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n" +
        "Max-Forwards: 70\r\n" +
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
        "To: Bob <sip:bob@biloxi.example.com>\r\n" +
        "Call-ID: 3848276298220188511@atlanta.example.com\r\n" +
        "CSeq: 1 INVITE\r\n" +
        "Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n" +
        "User-Agent: softphone/1.0\r\n" +
        "Content-Type: application/sdp\r\n" +
        "Content-Length: 14\r\n" +
        "\r\n" +
        "v=0\r\no=alice\r\n").utf8)
    /// A response in compact header form (RFC 3261 section 7.3.3).
    static let ringing = Array(("SIP/2.0 180 Ringing\r\n" +
        "v: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n" +
        "f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
        "t: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n" +
        "i: 3848276298220188511@atlanta.example.com\r\n" +
        "CSeq: 1 INVITE\r\n" +
        "l: 0\r\n" +
        "\r\n").utf8)
}

@Suite struct SIPParserTests {
    func parse(_ bytes: [UInt8]) -> SIPMessage? { bytes.withByteView { SIP.parse($0) } }
    func text(_ m: SIPMessage, _ f: Field, _ bytes: [UInt8]) -> String? {
        guard f.isPresent else { return nil }
        return bytes.withByteView { String(decoding: m.field(f, in: $0).bytes, as: UTF8.self) }
    }

    @Test func request() throws {
        let b = SIPBuild.invite
        let m = try #require(parse(b))
        #expect(m.isRequest)
        #expect(text(m, m.method, b) == "INVITE")
        #expect(text(m, m.uri, b) == "sip:bob@biloxi.example.com")
        #expect(text(m, m.version, b) == "SIP/2.0")
        #expect(text(m, m.startLine, b) == "INVITE sip:bob@biloxi.example.com SIP/2.0")
        #expect(text(m, m.from, b) == "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl")
        #expect(text(m, m.to, b) == "Bob <sip:bob@biloxi.example.com>")
        #expect(text(m, m.callID, b) == "3848276298220188511@atlanta.example.com")
        #expect(text(m, m.cseq, b) == "1 INVITE")
        #expect(text(m, m.userAgent, b) == "softphone/1.0")
        #expect(text(m, m.contentType, b) == "application/sdp")
        #expect(m.contentLength == 14)
        #expect(m.headersComplete && m.headerCount == 10)
        #expect(b.count - m.bodyOffset == 14, "the body is the SDP after the empty line")
    }

    @Test func compactResponse() throws {
        let b = SIPBuild.ringing
        let m = try #require(parse(b))
        #expect(!m.isRequest && m.statusCode == 180)
        #expect(text(m, m.code, b) == "180")
        #expect(text(m, m.reason, b) == "Ringing")
        #expect(text(m, m.version, b) == "SIP/2.0")
        #expect(text(m, m.startLine, b) == "SIP/2.0 180 Ringing")
        #expect(text(m, m.from, b)?.hasPrefix("Alice") == true)
        #expect(text(m, m.to, b)?.hasSuffix("tag=8321234356") == true)
        #expect(text(m, m.callID, b) == "3848276298220188511@atlanta.example.com")
        #expect(text(m, m.via, b)?.hasPrefix("SIP/2.0/UDP") == true)
        #expect(m.contentLength == 0 && m.headersComplete && m.bodyOffset == b.count)
    }

    /// The probe takes SIP on any port and nothing that only resembles it.
    @Test func probe() {
        #expect(SIPBuild.invite.withByteView { SIP.probe($0) })
        #expect(SIPBuild.ringing.withByteView { SIP.probe($0) })
        for text in ["GET / HTTP/1.1\r\n", "INVITE http://x SIP/2.0\r\n", "SIP/2.0 OK\r\n", "REGISTER", "",
                     "RTSP/1.0 200 OK\r\n", "OPTIONS * RTSP/1.0\r\n"] {
            #expect(!Array(text.utf8).withByteView { SIP.probe($0) }, "\(text)")
        }
        #expect(Array("OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n".utf8).withByteView { SIP.probe($0) })
    }

    /// Not SIP: no start line we understand, or no line end at all.
    @Test func rejects() {
        for text in ["", "\r\n", "HELLO\r\n", "SIP/2.0 20 OK\r\n", "SIP/2.0 2000 OK\r\n", "INVITE sip:x\r\n",
                     "INVITE  SIP/2.0\r\n", " sip:x SIP/2.0\r\n", "INVITE sip:bob SIP/2.0"] {
            #expect(parse(Array(text.utf8)) == nil, "\(text.debugDescription)")
        }
    }

    /// Every prefix of both messages: nil before the start line ends, then a message whose
    /// ranges all lie inside the prefix, complete only once the empty line is in.
    @Test func truncatedAtEveryLength() {
        for full in [SIPBuild.invite, SIPBuild.ringing] {
            let firstLine = full.firstIndex(of: UInt8(ascii: "\n"))!
            let blank = full.count - (full == SIPBuild.invite ? 14 : 0)
            for n in 0 ..< full.count {
                let cut = Array(full.prefix(n))
                let m = parse(cut)
                if n <= firstLine {
                    #expect(m == nil, "length \(n)")
                    continue
                }
                guard let m else { Issue.record("length \(n): nil"); continue }
                #expect(m.headersComplete == (n >= blank), "length \(n)")
                for f in [m.startLine, m.method, m.uri, m.version, m.code, m.reason, m.from, m.to, m.callID,
                          m.cseq, m.via, m.userAgent, m.contentType] where f.isPresent {
                    #expect(Int(f.offset) + Int(f.length) <= n, "length \(n)")
                }
            }
        }
    }

    /// Hostile header lines: no colon, empty names and values, LF-only line ends, a huge
    /// Content-Length, a header block with no end.
    @Test func oddHeaders() throws {
        let b = Array(("SIP/2.0 200 OK\n" + "nocolon\n" + ":\n" + "To:\n" + "Content-Length: 99999999999999\n" +
                       "From :  x\n" + "\n").utf8)
        let m = try #require(parse(b))
        #expect(m.headersComplete && m.headerCount == 5)
        #expect(m.to.isPresent && m.to.length == 0)
        #expect(text(m, m.from, b) == "x")
        #expect(m.contentLength == nil, "a length beyond 2^30 is not believed")
        let many = Array(("SIP/2.0 200 OK\r\n" + String(repeating: "X: y\r\n", count: 1000)).utf8)
        let big = try #require(parse(many))
        #expect(!big.headersComplete && big.headerCount == SIP.maxHeaders + 1)
    }
}

/// SIP over TCP: messages framed by their empty line and Content-Length, split anywhere.
@Suite struct SIPStreamTests {
    /// Two messages back to back with a keep-alive between, the second with a body.
    static let stream = Array("\r\n\r\n".utf8) + SIPBuild.ringing + Array("\r\n".utf8) + SIPBuild.invite

    func run(_ bytes: [UInt8], chunk: Int, maxMessage: Int = 8192) -> (SIPStream, [String]) {
        var s = SIPStream(maxMessage: maxMessage)
        var lines: [String] = []
        var i = 0
        while i < bytes.count {
            let n = min(chunk, bytes.count - i)
            Array(bytes[i ..< i + n]).withByteView { v in
                s.feed(v, direction: .toServer, gap: false) { _, msg in
                    guard let m = SIP.parse(msg) else { lines.append("?"); return }
                    let line = String(decoding: m.field(m.startLine, in: msg).bytes, as: UTF8.self)
                    let body = m.headersComplete ? msg.count - m.bodyOffset : -1
                    lines.append("\(line) body \(body)")
                }
            }
            i += n
        }
        return (s, lines)
    }

    @Test func framedAnySplit() {
        let expected = ["SIP/2.0 180 Ringing body 0", "INVITE sip:bob@biloxi.example.com SIP/2.0 body 14"]
        for chunk in [1, 2, 3, 5, 17, 64, Self.stream.count] {
            let (s, lines) = run(Self.stream, chunk: chunk)
            #expect(lines == expected, "chunk \(chunk)")
            #expect(s.messages == 2 && s.oversized == 0)
        }
    }

    /// A body larger than the buffer is cut and skipped; the next message is still found. A
    /// head that never ends stops the direction.
    @Test func oversizedAndEndlessHead() {
        let big = Array("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 500\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: 500)
        let ok = Array("SIP/2.0 200 OK\r\nl: 0\r\n\r\n".utf8)
        let (s, lines) = run(big + ok, chunk: 7, maxMessage: 128)
        #expect(lines == ["MESSAGE sip:a@b SIP/2.0 body 80", "SIP/2.0 200 OK body 0"], "128 - 48 bytes of head")
        #expect(s.oversized == 1)
        let endless = Array("SIP/2.0 200 OK\r\n".utf8) + Array(repeating: Array("X: y\r\n".utf8), count: 100).flatMap { $0 }
        let (s2, lines2) = run(endless + SIPBuild.ringing, chunk: 50, maxMessage: 128)
        #expect(lines2.isEmpty && s2.messages == 0)
    }

    /// Every prefix of the stream: never a trap, never more than the two messages.
    @Test func truncatedAtEveryLength() {
        for n in 0 ... Self.stream.count {
            let (_, lines) = run(Array(Self.stream.prefix(n)), chunk: max(1, n))
            #expect(lines.count <= 2, "length \(n)")
        }
    }
}
