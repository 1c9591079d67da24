import Testing
import AllocationCounter
import UTMCore
import UTMInflate
@testable import UTMAppLayer

/// HTTP/2 framing and HPACK: RFC 7541's own examples, split and truncated input, the dynamic
/// table's eviction, and hostile input that must become events, never a trap.
@Suite struct HTTP2ParserTests {
    static func hex(_ s: String) -> [UInt8] {
        let digits = Array(s.filter { !$0.isWhitespace })
        var out: [UInt8] = []
        var i = 0
        while i + 1 < digits.count {
            out.append(UInt8(String(digits[i ... i + 1]), radix: 16)!)
            i += 2
        }
        return out
    }

    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static let settings = frame(4, 0, 0, [])
    static let endStreamHeaders: UInt8 = 0x5

    /// RFC 7541 C.3 (plain literals) and C.4 (Huffman): three requests on one connection sharing
    /// the dynamic table.
    static let c3 = ["828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865",
                     "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"]
    static let c4 = ["828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf",
                     "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"]

    static func client(_ blocks: [String]) -> [UInt8] {
        var out = preface + settings
        for (k, b) in blocks.enumerated() { out += frame(1, endStreamHeaders, UInt32(2 * k + 1), hex(b)) }
        return out
    }

    struct Seen: Equatable {
        var id: UInt32
        var fields: [String: String]
        var headers: [String]
        var dataBytes: Int64
    }

    /// Feeds client and server bytes in the given chunk sizes (alternating client then server
    /// pieces), finishes, and returns every stream the parser reported done.
    static func run(client: [UInt8], server: [UInt8] = [], chunk: Int = 1 << 30, parser: inout HTTP2Parser) -> [Seen] {
        var out: [Seen] = []
        func collect(_ p: inout HTTP2Parser) {
            var ready: [Int] = []
            p.readyIndices(into: &ready)
            for i in ready {
                let s = p.stream(i)
                var f: [String: String] = [:]
                func get(_ name: String, _ field: Field, _ response: Bool) {
                    if field.isPresent { f[name] = p.withField(i, response: response, field) { String(decoding: $0.bytes, as: UTF8.self) } }
                }
                get("method", s.request.method, false); get("path", s.request.path, false)
                get("authority", s.request.authority, false); get("scheme", s.request.scheme, false)
                get("ua", s.request.userAgent, false); get("status", s.response.status, true)
                get("ctype", s.response.contentType, true); get("location", s.response.location, true)
                var hs: [String] = []
                for h in s.request.headers {
                    hs.append(p.withField(i, response: false, h.name) { String(decoding: $0.bytes, as: UTF8.self) })
                }
                for h in s.response.headers {
                    hs.append(p.withField(i, response: true, h.name) { String(decoding: $0.bytes, as: UTF8.self) })
                }
                out.append(Seen(id: s.id, fields: f, headers: hs, dataBytes: s.response.dataBytes))
                p.consume(i)
            }
        }
        var c = 0, sv = 0
        while c < client.count || sv < server.count {
            if c < client.count {
                let n = Swift.min(chunk, client.count - c)
                client[c ..< c + n].withByteView { parser.feed($0, direction: .toServer, gap: false) }
                c += n
                collect(&parser)
            }
            if sv < server.count {
                let n = Swift.min(chunk, server.count - sv)
                server[sv ..< sv + n].withByteView { parser.feed($0, direction: .toClient, gap: false) }
                sv += n
                collect(&parser)
            }
        }
        parser.finish()
        collect(&parser)
        return out
    }

    static func run(client: [UInt8], server: [UInt8] = [], chunk: Int = 1 << 30) -> [Seen] {
        var p = HTTP2Parser()
        return run(client: client, server: server, chunk: chunk, parser: &p)
    }

    @Test func rfc7541RequestExamples() {
        for blocks in [Self.c3, Self.c4] {
            let seen = Self.run(client: Self.client(blocks))
            #expect(seen.map(\.id) == [1, 3, 5])
            #expect(seen.map { $0.fields["authority"] } == ["www.example.com", "www.example.com", "www.example.com"])
            #expect(seen.map { $0.fields["path"] } == ["/", "/", "/index.html"])
            #expect(seen.map { $0.fields["scheme"] } == ["http", "http", "https"])
            #expect(seen.allSatisfy { $0.fields["method"] == "GET" })
            #expect(seen[1].headers.last == "cache-control")
            #expect(seen[2].headers.last == "custom-key")
        }
    }

    @Test func huffmanMatchesRFCStrings() {
        let cases: [(String, String)] = [
            ("f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"), ("a8eb10649cbf", "no-cache"),
            ("6402", "302"), ("aec3771a4b", "private"),
            ("d07abe941054d444a8200595040b8166e082a62d1bff", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("9d29ad171863c78f0b97c8e9ae82ae43d3", "https://www.example.com"),
            ("94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
             "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
        ]
        for (h, text) in cases {
            let src = Self.hex(h)
            var out: [UInt8] = []
            #expect(HPACKHuffman.decode(src, 0, src.count, into: &out, limit: 1000))
            #expect(String(decoding: out, as: UTF8.self) == text)
        }
        // EOS inside the string, padding that is not all ones, padding of 8 bits or more.
        var out: [UInt8] = []
        #expect(!HPACKHuffman.decode([0xff, 0xff, 0xff, 0xff], 0, 4, into: &out, limit: 10))
        #expect(!HPACKHuffman.decode([0x00], 0, 1, into: &out, limit: 10) || out == [0x30])
        #expect(!HPACKHuffman.decode([0x07, 0xff], 0, 2, into: &out, limit: 10))
    }

    /// A whole exchange: request, response headers (indexed status, literal content-type),
    /// padded DATA with END_STREAM; the same result for every chunk size.
    @Test func exchangeSameForEverySplit() {
        let req = Self.client(Self.c4)
        let respHeaders = [0x88] + [0x0f, 0x10, 0x09] + Array("text/html".utf8) // :status 200, content-type
        let server = Self.settings + Self.frame(4, 1, 0, []) + Self.frame(1, 0x4, 1, respHeaders)
            + Self.frame(0, 0x8 | 0x1, 1, [3] + Array("0123456789".utf8) + [0, 0, 0])
            + Self.frame(1, Self.endStreamHeaders, 3, [0x8d])   // :status 404
            + Self.frame(3, 0, 5, [0, 0, 0, 8])                 // RST_STREAM 5
        let whole = Self.run(client: req, server: server)
        #expect(whole.count == 3)
        let s1 = whole.first { $0.id == 1 }
        #expect(s1?.fields["status"] == "200" && s1?.fields["ctype"] == "text/html")
        #expect(s1?.dataBytes == 10, "padding is not data")
        #expect(whole.first { $0.id == 3 }?.fields["status"] == "404")
        for chunk in [1, 2, 3, 7, 9, 10, 64] {
            let split = Self.run(client: req, server: server, chunk: chunk)
            #expect(split.sorted { $0.id < $1.id } == whole.sorted { $0.id < $1.id }, "chunk \(chunk)")
        }
    }

    /// Every prefix of the conversation: no trap, and what finished is a subset of the whole.
    @Test func truncatedInputNeverTraps() {
        let req = Self.client(Self.c4)
        let server = Self.settings + Self.frame(1, Self.endStreamHeaders, 1, [0x88])
        var p = HTTP2Parser()
        for cut in 0 ... req.count {
            p.reset()
            let seen = Self.run(client: Array(req.prefix(cut)), server: Array(server.prefix(cut)), chunk: 5, parser: &p)
            #expect(seen.count <= 3)
            #expect(seen.allSatisfy { $0.fields["method"] == nil || $0.fields["method"] == "GET" })
        }
    }

    @Test func continuationFrames() {
        let block = Self.hex(Self.c3[0])
        let client = Self.preface + Self.frame(1, 0x1, 1, Array(block.prefix(5)))
            + Self.frame(9, 0, 1, Array(block[5 ..< 10])) + Self.frame(9, 0x4, 1, Array(block.dropFirst(10)))
        let seen = Self.run(client: client)
        #expect(seen.count == 1 && seen[0].fields["authority"] == "www.example.com")
        // Another frame in the middle of a header block breaks the connection's framing.
        var p = HTTP2Parser()
        let broken = Self.preface + Self.frame(1, 0x1, 1, Array(block.prefix(5))) + Self.settings
        broken.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.events.contains(.invalidFrame) && p.gaveUp(.toServer))
    }

    /// Dynamic table: a 100-byte table keeps two 40-byte entries; the third insert evicts the
    /// oldest, whose index then no longer decodes.
    @Test func dynamicTableEviction() {
        func lit(_ n: String, _ v: String) -> [UInt8] { [0x40, UInt8(n.utf8.count)] + Array(n.utf8) + [UInt8(v.utf8.count)] + Array(v.utf8) }
        let sizeUpdate: [UInt8] = [0x3f, 0x45] // 31 + 69 = 100
        let first = sizeUpdate + [0x82, 0x84, 0x86] + lit("aaaa", "1111") + lit("bbbb", "2222") + lit("cccc", "3333")
        let ok = Self.preface + Self.frame(1, 0x5, 1, first) + Self.frame(1, 0x5, 3, [0x82, 0x84, 0x86, 0xbe, 0xbf])
        let seen = Self.run(client: ok)
        #expect(seen.count == 2)
        #expect(seen[1].headers.suffix(2) == ["cccc", "bbbb"], "62 is the newest, 63 the one before")
        var p = HTTP2Parser()
        let evicted = Self.preface + Self.frame(1, 0x5, 1, first) + Self.frame(1, 0x5, 3, [0x82, 0x84, 0x86, 0xc0])
        evicted.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.events.contains(.invalidHeader), "64 was evicted")
        // A size update above what the peer allowed is an error too.
        var q = HTTP2Parser()
        let tooBig = Self.preface + Self.frame(1, 0x5, 1, [0x3f, 0xe1, 0xff, 0x03]) // 65536
        tooBig.withByteView { q.feed($0, direction: .toServer, gap: false) }
        #expect(q.events.contains(.invalidHeader))
    }

    @Test func hostileInputBecomesEvents() {
        var p = HTTP2Parser()
        Array("GET / HTTP/1.1\r\n\r\n".utf8).withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.gaveUp(.toServer), "no preface")
        p.reset()
        // Index 0, an integer that never ends, a literal longer than its block.
        for block in [[0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x00, 0x7f, 0x10], [0x40, 0x05, 0x61]] as [[UInt8]] {
            p.reset()
            (Self.preface + Self.frame(1, 0x5, 1, block)).withByteView { p.feed($0, direction: .toServer, gap: false) }
            #expect(p.events.contains(.invalidHeader), "\(block)")
        }
        // A frame longer than the 16 KiB default is an event; parsing goes on past it.
        p.reset()
        let long = Self.frame(0, 0, 1, [UInt8](repeating: 0x41, count: 70000))
        let after = Self.frame(1, 0x5, 3, Self.hex(Self.c3[0]))
        var seen: [Seen] = []
        seen = Self.run(client: Self.preface + Self.frame(1, 0x4, 1, Self.hex(Self.c3[0])) + long + after, chunk: 1400, parser: &p)
        #expect(p.longFrames.0 == 1)
        #expect(seen.contains { $0.id == 3 })
        // A gap ends the direction.
        p.reset()
        Self.preface.withByteView { p.feed($0, direction: .toServer, gap: true) }
        #expect(p.gaveUp(.toServer))
        // PADDED HEADERS whose pad length exceeds the frame.
        p.reset()
        (Self.preface + Self.frame(1, 0x5 | 0x8, 1, [200, 0x82])).withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.events.contains(.invalidFrame))
    }

    @Test func prefaceProbe() {
        #expect(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8).withByteView { HTTP2Parser.probePreface($0) } == true)
        #expect(Array("PRI * HT".utf8).withByteView { HTTP2Parser.probePreface($0) } == nil)
        #expect(Array("GET / HTTP/1.1".utf8).withByteView { HTTP2Parser.probePreface($0) } == false)
    }

    /// A reused parser (reset between flows, as a pool slot) allocates nothing per packet.
    @Test func parsingDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let client = Self.client(Self.c4)
        let server = Self.settings + Self.frame(1, 0x4, 1, [0x88, 0x0f, 0x10, 9] + Array("text/html".utf8))
            + Self.frame(0, 0x1, 1, Array("hello".utf8)) + Self.frame(1, 0x5, 3, [0x8d]) + Self.frame(3, 0, 5, [0, 0, 0, 8])
        var p = HTTP2Parser()
        var ready: [Int] = []
        ready.reserveCapacity(8)
        func once() {
            p.reset()
            client.withByteView { p.feed($0, direction: .toServer, gap: false) }
            server.withByteView { p.feed($0, direction: .toClient, gap: false) }
            while let (s, response) = p.takeNewHeaders() { p.buildHeaderLines(s, response: response) }
            p.finish()
            p.readyIndices(into: &ready)
            var k = 0  // not `for i in ready`: the array iterator allocates in debug builds
            while k < ready.count { p.consume(ready[k]); k += 1 }
        }
        for _ in 0 ..< 3 { once() }
        let n = countAllocations { for _ in 0 ..< 10 { once() } }
        #expect(n == 0, "the HTTP/2 parser allocated \(n) times")
    }

    /// More streams than slots: the extra ones are an `overflow` event, the rest are kept.
    @Test func streamOverflow() {
        var config = HTTP2Config()
        config.maxStreams = 2
        var p = HTTP2Parser(config: config)
        var bytes = Self.preface
        for k in 0 ..< 4 { bytes += Self.frame(1, 0x4, UInt32(2 * k + 1), [0x82, 0x84, 0x86]) }
        bytes.withByteView { p.feed($0, direction: .toServer, gap: false) }
        #expect(p.events.contains(.overflow))
        p.finish()
        var ready: [Int] = []
        p.readyIndices(into: &ready)
        #expect(ready.count == 2)
    }

    // MARK: Session 6: larger HPACK tables, bodies

    /// An HPACK integer with an N-bit prefix after `flags` (RFC 7541 §5.1).
    static func int(_ v: Int, prefix: Int, flags: UInt8) -> [UInt8] {
        let mask = (1 << prefix) - 1
        if v < mask { return [flags | UInt8(v)] }
        var out: [UInt8] = [flags | UInt8(mask)]
        var rest = v - mask
        while rest >= 128 { out.append(UInt8(rest & 0x7f) | 0x80); rest >>= 7 }
        out.append(UInt8(rest))
        return out
    }

    /// Literal with incremental indexing, new name.
    static func indexed(_ n: String, _ v: [UInt8]) -> [UInt8] {
        [0x40] + int(n.utf8.count, prefix: 7, flags: 0) + Array(n.utf8) + int(v.count, prefix: 7, flags: 0) + v
    }

    static func settings(_ id: UInt16, _ value: UInt32) -> [UInt8] {
        frame(4, 0, 0, [UInt8(id >> 8), UInt8(id & 0xff), UInt8(value >> 24), UInt8(value >> 16 & 0xff),
                        UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }

    /// RFC 7541 §4.2/§6.3: the server allows a 16 KiB table, the client's encoder takes it
    /// with a size update and keeps three 2 KiB entries (more than the 4 KiB default); the
    /// oldest is still index 64 on the next request. A 4 KiB table evicted it early, so the
    /// index failed (or, with other sizes, named another entry than the endpoint decodes).
    @Test func largerDynamicTableIsFollowed() {
        let big = [UInt8](repeating: 0x61, count: 2000)
        let first = Self.int(16384, prefix: 5, flags: 0x20) + [0x82, 0x84, 0x86]
            + Self.indexed("x-a", big) + Self.indexed("x-b", big) + Self.indexed("x-c", big)
        let client = Self.preface + Self.frame(1, 0x5, 1, first) + Self.frame(1, 0x5, 3, [0x82, 0x84, 0x86, 0xc0])
        let server = Self.settings(1, 16384)
        var p = HTTP2Parser()
        // The server's SETTINGS comes first, as the connection's order has it.
        server.withByteView { p.feed($0, direction: .toClient, gap: false) }
        let seen = Self.run(client: client, parser: &p)
        #expect(!p.gaveUp(.toServer))
        #expect(seen.map(\.id) == [1, 3])
        #expect(seen.last?.headers.last == "x-a", "64 is the oldest of the three entries")
        // Past what the peer allowed: a decoding error.
        var q = HTTP2Parser()
        (Self.preface + Self.frame(1, 0x5, 1, Self.int(32768, prefix: 5, flags: 0x20) + [0x82])).withByteView {
            q.feed($0, direction: .toServer, gap: false)
        }
        #expect(q.events.contains(.invalidHeader) && !q.events.contains(.tableTooLarge))
        // Allowed by the peer but past the 64 KiB we follow: refused, the direction given up.
        var r = HTTP2Parser()
        Self.settings(1, 1 << 20).withByteView { r.feed($0, direction: .toClient, gap: false) }
        (Self.preface + Self.frame(1, 0x5, 1, Self.int(1 << 20, prefix: 5, flags: 0x20) + [0x82])).withByteView {
            r.feed($0, direction: .toServer, gap: false)
        }
        #expect(r.events.contains(.tableTooLarge) && r.gaveUp(.toServer))
        // A smaller configured table refuses what it cannot hold, never evicts early.
        var config = HTTP2Config()
        config.dynamicTableCapacity = 4096
        var t = HTTP2Parser(config: config)
        server.withByteView { t.feed($0, direction: .toClient, gap: false) }
        client.withByteView { t.feed($0, direction: .toServer, gap: false) }
        #expect(t.gaveUp(.toServer) && t.events.contains(.tableTooLarge))
    }

    /// Feeds both sides in `chunk`-byte pieces and returns the delivered body per (stream id,
    /// response) as text.
    static func bodies(client: [UInt8], server: [UInt8], chunk: Int, config: HTTP2Config = .init(),
                       events: inout HTTP2Events) -> [String: String] {
        var p = HTTP2Parser(config: config)
        var out: [String: [UInt8]] = [:]
        func feed(_ bytes: [UInt8], _ dir: Direction) {
            var k = 0
            while k < bytes.count {
                let n = Swift.min(chunk, bytes.count - k)
                var got: [(String, [UInt8])] = []
                bytes[k ..< k + n].withByteView {
                    p.feed($0, direction: dir, gap: false) { b in
                        got.append(("\(b.stream)/\(b.response)", b.data.bytes))
                    }
                }
                events.formUnion(p.events)
                for (key, data) in got {
                    // Stream slot to id.
                    let parts = key.split(separator: "/")
                    let id = p.stream(Int(parts[0])!).id
                    out["\(id)/\(parts[1])", default: []] += data
                }
                k += n
            }
        }
        feed(client, .toServer)
        feed(server, .toClient)
        return out.mapValues { String(decoding: $0, as: UTF8.self) }
    }

    static func lit(_ n: String, _ v: String) -> [UInt8] {
        [0x00, UInt8(n.utf8.count)] + Array(n.utf8) + [UInt8(v.utf8.count)] + Array(v.utf8)
    }

    /// DATA becomes body: padding removed, gzip and deflate decoded, request and response
    /// apart, the same for every split; interleaved streams keep their own bodies.
    @Test func bodiesDeliveredForEverySplit() {
        let text = String(repeating: "0123456789", count: 50) + "END"
        let gz = Deflate.compress(Array(text.utf8), format: .gzip)
        let zl = Deflate.compress(Array(text.utf8), format: .zlib)
        let client = Self.preface + Self.frame(1, 0x4, 1, [0x83, 0x84, 0x86]) + Self.frame(0, 0x1, 1, Array("a=1&b=2".utf8))
            + Self.frame(1, 0x5, 3, [0x82, 0x84, 0x86]) + Self.frame(1, 0x5, 5, [0x82, 0x84, 0x86])
        let server = Self.settings + Self.frame(1, 0x4, 1, [0x88] + Self.lit("content-encoding", "gzip"))
            + Self.frame(1, 0x4, 3, [0x88]) + Self.frame(1, 0x4, 5, [0x88] + Self.lit("content-encoding", "Deflate"))
            + Self.frame(0, 0, 1, Array(gz.prefix(20)))
            + Self.frame(0, 0x8, 3, [2] + Array("plain ".utf8) + [0, 0])
            + Self.frame(0, 0, 5, Array(zl.prefix(7)))
            + Self.frame(0, 0x1, 1, Array(gz.dropFirst(20)))
            + Self.frame(0, 0x1, 3, Array("body".utf8))
            + Self.frame(0, 0x1, 5, Array(zl.dropFirst(7)))
        var ev: HTTP2Events = []
        let whole = Self.bodies(client: client, server: server, chunk: 1 << 30, events: &ev)
        #expect(whole["1/false"] == "a=1&b=2")
        #expect(whole["1/true"] == text)
        #expect(whole["3/true"] == "plain body")
        #expect(whole["5/true"] == text)
        #expect(ev.contains(.bodyData) && !ev.contains(.bodyNotDecoded))
        for chunk in [1, 2, 3, 8, 9, 10, 17, 64] {
            var e: HTTP2Events = []
            #expect(Self.bodies(client: client, server: server, chunk: chunk, events: &e) == whole, "chunk \(chunk)")
        }
        // One decoder per direction: the second interleaved deflate body comes as sent.
        var one = HTTP2Config()
        one.bodyDecoders = 1
        var e1: HTTP2Events = []
        let limited = Self.bodies(client: client, server: server, chunk: 1 << 30, config: one, events: &e1)
        #expect(limited["1/true"] == text && e1.contains(.bodyNotDecoded))
        #expect(limited["5/true"] == String(decoding: zl, as: UTF8.self), "delivered compressed")
        // maxBodyInspect bounds each side.
        var small = HTTP2Config()
        small.maxBodyInspect = 100
        var e2: HTTP2Events = []
        let cut = Self.bodies(client: client, server: server, chunk: 13, config: small, events: &e2)
        #expect(cut["3/true"] == "plain body" && cut["1/true"]?.count == 100)
        // A gzip body that is not gzip: no trap, flagged, nothing after the failure.
        let bad = Self.settings + Self.frame(1, 0x4, 1, [0x88] + Self.lit("content-encoding", "gzip"))
            + Self.frame(0, 0x1, 1, [0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        var e3: HTTP2Events = []
        _ = Self.bodies(client: client, server: bad, chunk: 3, events: &e3)
        #expect(e3.contains(.bodyNotDecoded))
        // Every prefix of the server side: no trap.
        for cutAt in stride(from: 0, through: server.count, by: 5) {
            var e: HTTP2Events = []
            _ = Self.bodies(client: client, server: Array(server.prefix(cutAt)), chunk: 4, events: &e)
        }
    }

    /// Bodies through a reused parser allocate nothing (inflaters are made at init).
    @Test func bodiesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let gz = Deflate.compress(Array(String(repeating: "xyz", count: 300).utf8), format: .gzip)
        let client = Self.client(Self.c4)
        let server = Self.settings + Self.frame(1, 0x4, 1, [0x88] + Self.lit("content-encoding", "gzip"))
            + Self.frame(0, 0x1, 1, gz) + Self.frame(1, 0x4, 3, [0x88]) + Self.frame(0, 0x1, 3, Array("plain".utf8))
        var p = HTTP2Parser()
        var total = 0
        func once() {
            p.reset()
            client.withByteView { p.feed($0, direction: .toServer, gap: false) { b in total &+= b.data.count } }
            server.withByteView { p.feed($0, direction: .toClient, gap: false) { b in total &+= b.data.count } }
        }
        for _ in 0 ..< 3 { once() }
        total = 0
        let n = countAllocations { for _ in 0 ..< 10 { once() } }
        #expect(n == 0, "HTTP/2 bodies allocated \(n) times")
        #expect(total == 10 * (900 + 5))
    }
}
