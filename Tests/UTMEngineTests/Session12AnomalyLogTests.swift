import Foundation
import Testing
import UTMCore
import UTMAppLayer
@testable import UTMEngine

/// Session 12: the anomaly log writes every instance of an event (EngineAnomalyLog.swift), as
/// Suricata does, within its event's budget: a flood on one flow gets a sample bounded per
/// flow and second, repeats take only half of an event's budget so other flows' first
/// instances are still logged, and one event's flood leaves another event its records.
@Suite struct Session12AnomalyLogTests {
    typealias L = AnomalyLogTests
    typealias A = AppLayerEventRulesTests
    static let second: Int64 = 1_700_000_000

    static func query(_ sport: Int) -> [UInt8] { A.zFlagDNS(sport: UInt16(sport))[0] }
    static func ports(_ events: [[String: Any]], _ name: String) -> [Int] {
        L.named(events, name).compactMap { $0["src_port"] as? Int }
    }

    /// One flow floods `z_flag_set` (20 queries a second for two seconds): the first and two
    /// repeats in the first second, two repeats in the next. Session 11 wrote only the first.
    @Test func aFloodingFlowIsSampledPerSecond() {
        let frames = [[UInt8]](repeating: Self.query(37000), count: 40)
        let (engine, events) = L.run(frames, types: nil) { i in Self.second + Int64(i / 20) }
        let z = L.named(events, "z_flag_set")
        #expect(z.count == 1 + 2 + 2, "\(z.count) records")
        #expect(engine.anomalyLog.written == 5 && engine.anomalyLog.suppressed == 35)
        // Each record is its packet's: the repeats keep their own times.
        #expect(Set(z.compactMap { $0["timestamp"] as? String }).count == 5)
    }

    /// Fairness: five flows flood first (20 repeats each), then two other flows raise the event
    /// once, all in one second (budget 10). Repeats may take only 5 of the 10 records, so every
    /// flow's first instance is logged: 10 records, 7 flows. (With the flow bound alone, the
    /// first three flows' repeats would take 9 records and three flows would go unseen.)
    @Test func floodingFlowsLeaveOtherFlowsTheirFirstInstance() {
        var frames: [[UInt8]] = []
        for f in 0 ..< 5 { frames += [[UInt8]](repeating: Self.query(38000 + f), count: 21) }
        frames += (0 ..< 2).map { Self.query(38100 + $0) }
        let (engine, events) = L.run(frames, types: nil)
        let ports = Self.ports(events, "z_flag_set")
        #expect(ports.count == 10, "\(ports)")
        #expect(Set(ports) == Set((0 ..< 5).map { 38000 + $0 } + (0 ..< 2).map { 38100 + $0 }))
        // Flow 0 took its two repeats, flow 1 the last of the repeat share.
        #expect(ports.filter { $0 == 38000 }.count == 3 && ports.filter { $0 == 38001 }.count == 2)
        #expect(engine.anomalyLog.written == 10)
    }

    /// A flow flooding one event does not hide another event of the same flow and direction:
    /// a malformed query after 30 Z-flag queries on the same ports, same second, is logged.
    @Test func aFloodOfOneEventLeavesAnother() {
        let bad = L.malformedDNS(sport: 39000)
        let frames = [[UInt8]](repeating: Self.query(39000), count: 30) + bad
        let (_, events) = L.run(frames, types: nil)
        #expect(Self.ports(events, "malformed_data") == [39000])
        #expect(Self.ports(events, "z_flag_set").count == 3)
    }

    /// `tx_id` as Suricata's tx logger writes it: an HTTP/1 anomaly carries its transaction's
    /// index (the first request's 0, the second's 1); TLS/SSH keep tx 0; DNS has none yet.
    @Test func httpAnomaliesCarryTheirTransaction() {
        typealias T = EngineTraffic
        let ok = Array("GET /a HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8)
        let bad = Array("GET /b HTTP/1.1\r\nHost: a.example\r\nX-Bad : 1\r\n\r\n".utf8)
        let resp = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        let frames = T.tcpSession(v6: false, sport: 39600, dport: 80, exchanges: [(bad, resp), (ok, resp)])
            + T.tcpSession(v6: false, sport: 39601, dport: 80, exchanges: [(ok, resp), (bad, resp)])
            + A.zFlagDNS(sport: 39602)
        let (_, events) = L.run(frames, types: nil)
        let http = L.named(events, "REQUEST_HEADER_INVALID")
        let tx = Dictionary(http.compactMap { e in (e["src_port"] as? Int).map { ($0, e["tx_id"] as? Int) } },
                            uniquingKeysWith: { a, _ in a })
        #expect(http.count == 2 && tx[39600] == 0 && tx[39601] == 1, "\(http)")
        let dns = L.named(events, "z_flag_set")
        #expect(dns.count == 1 && dns[0]["tx_id"] == nil)
    }

    /// Pipelined requests in one segment: the parser's events are one word for the feed, so
    /// they cannot be given the last message's transaction (the bad header is the first's):
    /// no `tx_id` rather than a wrong one. A feed inside one message keeps its transaction.
    @Test func pipelinedMessagesInOneFeedHaveNoTransaction() {
        typealias T = EngineTraffic
        let ok = Array("GET /a HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8)
        let bad = Array("GET /b HTTP/1.1\r\nHost: a.example\r\nX-Bad : 1\r\n\r\n".utf8)
        let resp = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        let frames = T.tcpSession(v6: false, sport: 39610, dport: 80, exchanges: [(bad + ok, resp + resp)])
            + T.tcpSession(v6: false, sport: 39611, dport: 80, exchanges: [(ok, resp), (bad, resp)])
        let (_, events) = L.run(frames, types: nil)
        let http = L.named(events, "REQUEST_HEADER_INVALID")
        let byPort = Dictionary(http.compactMap { e in (e["src_port"] as? Int).map { ($0, e) } },
                                uniquingKeysWith: { a, _ in a })
        #expect(http.count == 2, "\(http)")
        #expect(byPort[39610] != nil && byPort[39610]?["tx_id"] == nil, "\(http)")
        #expect(byPort[39611]?["tx_id"] as? Int == 1, "\(http)")
    }
}
