import Testing
import UTMCore
@testable import UTMAppLayer

/// `dns.flooded` in the parser (session 11): a DNS-over-TCP flow's unanswered queries are
/// counted per flow (`DNSParser.transactions`); the event is raised once, on the first query
/// past `DNSConfig.requestFlood`.
@Suite struct DNSFloodTests {
    static func framed(_ m: [UInt8]) -> [UInt8] { DNSBuild.u16(UInt16(m.count)) + m }
    static let response = DNSBuild.header(flags: 0x8180, qd: 1) + DNSBuild.name("www.example.com") + DNSBuild.u16(1) + DNSBuild.u16(1)

    /// Feeds `n` framed messages in `direction`; the events raised per message.
    static func feed(_ p: inout DNSParser, _ m: [UInt8], _ n: Int, _ d: Direction) -> [AppLayerEvents] {
        var out: [AppLayerEvents] = []
        let one = framed(m)
        for _ in 0 ..< n {
            one.withByteView { p.feedStream($0, direction: d, gap: false) { _, _ in } }
            out.append(p.takeAppEvents())
        }
        return out
    }

    @Test func floodRaisesOncePastTheLimit() {
        var p = DNSParser()
        let first = Self.feed(&p, DNSBuild.query, 500, .toServer)
        #expect(first.allSatisfy { !$0.contains(AppLayerEvents.DNS.flooded) }, "500 unanswered is the limit, not past it")
        #expect(p.transactions.unanswered == 500 && !p.transactions.flooded)
        let next = Self.feed(&p, DNSBuild.query, 300, .toServer)
        #expect(next.filter { $0.contains(AppLayerEvents.DNS.flooded) }.count == 1)
        #expect(next[0].contains(AppLayerEvents.DNS.flooded), "the 501st query raises it")
        #expect(p.transactions.flooded && p.transactions.unanswered == 800)
        p.reset()
        #expect(p.transactions == DNSTransactionCount())
    }

    @Test func answeredQueriesNeverFlood() {
        var p = DNSParser()
        var raised = 0
        for _ in 0 ..< 700 {
            raised += Self.feed(&p, DNSBuild.query, 1, .toServer).filter { $0.contains(AppLayerEvents.DNS.flooded) }.count
            raised += Self.feed(&p, Self.response, 1, .toClient).filter { $0.contains(AppLayerEvents.DNS.flooded) }.count
        }
        #expect(raised == 0 && p.transactions.unanswered == 0)
        // A response without a query does not go below zero (a later flood is still counted).
        _ = Self.feed(&p, Self.response, 10, .toClient)
        #expect(p.transactions.unanswered == 0)
    }

    /// Messages whose QR bit disagrees with their direction are no transaction (Suricata's
    /// not_request / not_response say what they are).
    @Test func wrongDirectionMessagesAreNotCounted() {
        var p = DNSParser()
        _ = Self.feed(&p, Self.response, 600, .toServer)
        #expect(p.transactions.unanswered == 0)
        _ = Self.feed(&p, DNSBuild.query, 3, .toServer)
        _ = Self.feed(&p, DNSBuild.query, 2, .toClient)
        #expect(p.transactions.unanswered == 3)
    }

    @Test func limitIsConfigurableAndZeroTurnsItOff() {
        var c = DNSConfig()
        c.requestFlood = 3
        var p = DNSParser(config: c)
        let e = Self.feed(&p, DNSBuild.query, 5, .toServer)
        #expect(e.map { $0.contains(AppLayerEvents.DNS.flooded) } == [false, false, false, true, false])
        c.requestFlood = 0
        var off = DNSParser(config: c)
        #expect(Self.feed(&off, DNSBuild.query, 600, .toServer).allSatisfy { $0.isEmpty })
    }

    /// The count saturates instead of wrapping (a very long flood keeps its flag and count).
    @Test func countSaturates() {
        var t = DNSTransactionCount(raw: 0x7ffe)
        var p = DNSParser()
        DNSBuild.query.withByteView { _ = p.parse($0) }
        _ = t.note(p.message, .toServer, limit: 500)
        #expect(t.unanswered == 0x7fff && t.flooded)
        _ = t.note(p.message, .toServer, limit: 500)
        #expect(t.unanswered == 0x7fff && t.flooded)
    }

    @Test func floodedNameLooksUp() {
        #expect(AppLayerEvents.lookup("dns.flooded")?.bit == 5)
        #expect(AppLayerEvents.lookup("DNS.FLOODED")?.proto == .dns)
        #expect(AppLayerEvents.name(proto: .dns, bit: 5).map { "\($0)" } == "flooded")
    }
}
