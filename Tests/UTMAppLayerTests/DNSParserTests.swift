import Testing
import UTMCore
@testable import UTMAppLayer

enum DNSBuild {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func name(_ s: String) -> [UInt8] {
        s.isEmpty ? [0] : s.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }
    static func header(id: UInt16 = 0x1234, flags: UInt16, qd: UInt16, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
        u16(id) + u16(flags) + u16(qd) + u16(an) + u16(ns) + u16(ar)
    }
    static func rr(_ name: [UInt8], type: UInt16, ttl: UInt32 = 300, _ rdata: [UInt8]) -> [UInt8] {
        name + u16(type) + u16(1) + [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff)]
            + u16(UInt16(rdata.count)) + rdata
    }
    static let query = header(flags: 0x0100, qd: 1) + name("www.example.com") + u16(1) + u16(1)

    /// Response with compression: answers point back at the question name (offset 12).
    static let response: [UInt8] = {
        var m = header(flags: 0x8180, qd: 1, an: 6, ns: 1, ar: 2) + name("www.example.com") + u16(1) + u16(1)
        m += rr([0xc0, 12], type: 5, [3] + Array("cdn".utf8) + [0xc0, 16])         // CNAME cdn.example.com
        m += rr([0xc0, 12], type: 1, [93, 184, 216, 34])                            // A
        m += rr([0xc0, 12], type: 28, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) // AAAA
        m += rr([0xc0, 16], type: 15, u16(10) + [4] + Array("mail".utf8) + [0xc0, 16]) // MX
        m += rr([0xc0, 16], type: 16, [5] + Array("v=spf".utf8) + [2, 0x31, 0x07]) // TXT with a control byte
        m += rr([0xc0, 16], type: 65, [0, 1, 0])                                    // HTTPS: type only
        m += rr([0xc0, 16], type: 2, name("ns1.example.net"))                       // NS (authority)
        m += rr([0], type: 41, [])                                                  // OPT: skipped
        m += rr(name("ns1.example.net"), type: 1, [192, 0, 2, 1])                   // glue
        return m
    }()
}

@Suite struct DNSParserTests {
    @Test func query() {
        var p = DNSParser()
        let ok = DNSBuild.query.withByteView { p.parse($0) }
        #expect(ok)
        let m = p.message
        #expect(m.id == 0x1234 && !m.flags.qr && m.flags.rd && m.flags.opcode == 0)
        #expect(m.questionCount == 1 && m.answerCount == 0)
        #expect(p.string(m.questions.first!.name) == "www.example.com")
        #expect(m.questions.first!.type == 1 && m.questions.first!.klass == 1)
    }

    @Test func responseWithCompression() {
        var p = DNSParser()
        #expect(DNSBuild.response.withByteView { p.parse($0) })
        let m = p.message
        #expect(m.flags.qr && m.flags.ra && m.flags.rcode == 0)
        #expect(m.answerCount == 8 && !m.malformed && !m.incomplete)
        let texts = m.answers.map { (p.string($0.name) ?? "-", $0.type, p.string($0.data) ?? "-", $0.section) }
        #expect(texts[0] == ("www.example.com", 5, "cdn.example.com", 1))
        #expect(texts[1] == ("www.example.com", 1, "93.184.216.34", 1))
        #expect(texts[2] == ("www.example.com", 28, "2001:db8::1", 1))
        #expect(texts[3] == ("example.com", 15, "mail.example.com", 1))
        #expect(texts[4] == ("example.com", 16, "v=spf1\\007", 1))
        #expect(texts[5] == ("example.com", 65, "-", 1))
        #expect(texts[6] == ("example.com", 2, "ns1.example.net", 2))
        #expect(texts[7] == ("ns1.example.net", 1, "192.0.2.1", 3))
        #expect(m.answers.first!.ttl == 300)
    }

    @Test func ipv6TextForms() {
        func aaaa(_ b: [UInt8]) -> String? {
            var p = DNSParser()
            let m = DNSBuild.header(flags: 0x8180, qd: 0, an: 1) + DNSBuild.rr([0], type: 28, b)
            _ = m.withByteView { p.parse($0) }
            return p.message.answer(0).flatMap { p.string($0.data) }
        }
        #expect(aaaa([UInt8](repeating: 0, count: 16)) == "::")
        #expect(aaaa([UInt8](repeating: 0, count: 15) + [1]) == "::1")
        #expect(aaaa([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) == "2001:db8:0:1::1")
        #expect(aaaa([0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) == "2001:0:0:1::1")
        #expect(aaaa([0xfe, 0x80] + [UInt8](repeating: 0, count: 14)) == "fe80::")
        #expect(aaaa([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]) == "1:2:3:4:5:6:7:8")
    }

    @Test func rootNameAndEscaping() {
        var p = DNSParser()
        let m = DNSBuild.header(flags: 0x0100, qd: 2) + [0] + DNSBuild.u16(2) + DNSBuild.u16(1)
            + [3, 0x61, 0x2e, 0x00, 2, 0x5c, 0x20, 0] + DNSBuild.u16(1) + DNSBuild.u16(1)
        #expect(m.withByteView { p.parse($0) })
        #expect(p.string(p.message.question(0)!.name) == "")
        #expect(p.string(p.message.question(1)!.name) == "a\\.\\000.\\\\\\032")
    }

    func nameFails(_ body: [UInt8]) -> Bool {
        var p = DNSParser()
        let m = DNSBuild.header(flags: 0x0100, qd: 1) + body
        return !m.withByteView { p.parse($0) }
    }

    @Test func pointerLoopsAndForwardPointersAreRejected() {
        #expect(nameFails([0xc0, 12, 0, 1, 0, 1]))                     // points at itself
        #expect(nameFails([1, 0x61, 0xc0, 12, 0, 1, 0, 1]))            // label then back to its own start
        // Two-pointer cycle: question at 12 is a pointer to 14, which points back to 12.
        #expect(nameFails([0xc0, 14, 0xc0, 12, 0, 1, 0, 1]))
        #expect(nameFails([0xc0, 20, 0, 1, 0, 1, 0, 0, 0, 0]))         // forward pointer
        #expect(nameFails([0x80, 1]))                                   // reserved label type
        #expect(nameFails([0x40, 1]))
        // Too long: 5 labels of 63 bytes = 320 > 255.
        #expect(nameFails((0..<5).flatMap { _ in [63] + [UInt8](repeating: 0x61, count: 63) } + [0, 0, 1, 0, 1]))
        // Answer with a loop: message is DNS, record is malformed.
        var p = DNSParser()
        let m = DNSBuild.header(flags: 0x8180, qd: 1, an: 1) + DNSBuild.name("a.com") + DNSBuild.u16(1) + DNSBuild.u16(1) + DNSBuild.rr([0xc0, 23], type: 1, [1, 2, 3, 4])
        #expect(m.withByteView { p.parse($0) })
        #expect(p.message.malformed && p.message.answerCount == 0)
    }

    @Test func everyTruncationIsSafe() {
        var p = DNSParser()
        let full = DNSBuild.response
        for n in 0..<full.count {
            let ok = full[0..<n].withByteView { p.parse($0) }
            if n < 12 { #expect(!ok) }
            if ok { #expect(p.message.answerCount <= 8) }
        }
        // The last record cut: incomplete or malformed, earlier records kept.
        _ = full[0..<(full.count - 2)].withByteView { p.parse($0) }
        #expect(p.message.malformed || p.message.incomplete)
        #expect(p.message.answerCount == 7)
    }

    @Test func notDNS() {
        var p = DNSParser()
        #expect(!Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withByteView { p.parse($0) })
        #expect(![UInt8](repeating: 0xff, count: 40).withByteView { p.parse($0) })
    }

    @Test func capacitiesAreNeverExceeded() {
        var c = DNSConfig()
        c.maxQuestions = 1
        c.maxAnswers = 2
        var p = DNSParser(config: c)
        #expect(DNSBuild.response.withByteView { p.parse($0) })
        #expect(p.message.answerCount == 2 && p.message.answersTruncated)
        #expect(p.message.answers.count == 2)
    }

    @Test func tcpFramingInEverySplit() {
        let q = DNSBuild.query, r = DNSBuild.response
        let stream = DNSBuild.u16(UInt16(q.count)) + q + DNSBuild.u16(UInt16(r.count)) + r
        for sizes in Splits.all(stream.count, seeds: 1...16) {
            var p = DNSParser()
            var seen: [(Int, String, Int)] = []
            var off = 0
            for n in sizes {
                stream[off..<off + n].withByteView { v in
                    p.feedStream(v, direction: .toServer, gap: false) { _, q in
                        seen.append((q.message.questionCount, q.string(q.message.question(0)!.name) ?? "", q.message.answerCount))
                    }
                }
                off += n
            }
            #expect(seen.count == 2)
            #expect(seen.first.map { $0 == (1, "www.example.com", 0) } == true)
            #expect(seen.last.map { $0 == (1, "www.example.com", 8) } == true)
        }
    }

    @Test func tcpGapStopsAndOversizeIsSkipped() {
        var c = DNSConfig()
        c.maxTCPMessageSize = 40
        var p = DNSParser(config: c)
        let q = DNSBuild.query, r = DNSBuild.response
        let stream = DNSBuild.u16(UInt16(r.count)) + r + DNSBuild.u16(UInt16(q.count)) + q
        var n = 0
        stream.withByteView { p.feedStream($0, direction: .toClient, gap: false) { _, _ in n += 1 } }
        #expect(n == 1 && p.skippedMessages == 1)
        stream.withByteView { p.feedStream($0, direction: .toClient, gap: true) { _, _ in n += 1 } }
        #expect(n == 1)
    }
}
