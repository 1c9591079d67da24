import Foundation
import Testing
import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
@testable import UTMEngine

/// The anomaly log's budget per event and second (EngineAnomalyLog.swift): it bounds records
/// of flows as well as of flowless packets, one event's flood leaves the others theirs, it
/// counts by the engine's clock (never backwards), an event it refused on a flow is logged by
/// a later packet of that flow, and the app-layer words of a flow follow its protocol.
@Suite struct AnomalyLogBudgetTests {
    typealias L = AnomalyLogTests
    typealias A = AppLayerEventRulesTests
    static let second: Int64 = 1_700_000_000

    static func query(_ sport: Int) -> [UInt8] { A.zFlagDNS(sport: UInt16(sport))[0] }

    /// The default budget: 10 records of one event a second over new flows, the rest counted;
    /// another event in the same second still logged; the next second has its own 10.
    @Test func defaultBudgetPerEventOverNewFlows() {
        #expect(AnomalyLogConfig().perEventPerSecond == 10)
        let frames = (0 ..< 30).map { Self.query(33000 + $0) } + L.malformedDNS(sport: 33100)
            + (0 ..< 5).map { Self.query(33200 + $0) }
        let (engine, events) = L.run(frames, types: nil) { i in i < 31 ? Self.second : Self.second + 1 }
        #expect(L.named(events, "z_flag_set").count == 15, "\(L.anomalies(events).count) records")
        #expect(L.named(events, "malformed_data").count == 1)
        #expect(engine.anomalyLog.suppressed == 20 && engine.anomalyLog.written == 16)
    }

    /// Packets older than the newest one count in the newest one's second: time going back
    /// (interleaved captures) does not refill the budget.
    @Test func olderPacketsCountInTheNewestSecond() {
        let frames = (0 ..< 24).map { Self.query(34000 + $0) }
        let (_, events) = L.run(frames, types: nil) { i in i < 12 ? Self.second + 1 : Self.second }
        let z = L.named(events, "z_flag_set")
        #expect(z.count == 10, "\(z.count) records")
        // The records keep their packets' own time.
        #expect(z.allSatisfy { ($0["timestamp"] as? String)?.isEmpty == false })
    }

    /// Budget 1: flow B's event is refused (flow A used the second), logged by B's next packet
    /// in the next second, then not again for B (once per flow and direction).
    @Test func refusedEventLoggedLaterByTheSameFlow() {
        let frames = [Self.query(35000), Self.query(35001), Self.query(35001), Self.query(35001)]
        let (engine, events) = L.run(frames, types: nil, flowless: 1) { i in Self.second + Int64(max(0, i - 1)) }
        let ports = L.named(events, "z_flag_set").compactMap { $0["src_port"] as? Int }
        #expect(ports == [35000, 35001], "\(ports)")
        #expect(engine.anomalyLog.suppressed == 2, "refused once by the budget, once already logged")
    }

    /// Budget 0: nothing written, everything counted.
    @Test func zeroBudgetCountsOnly() {
        let frames = (0 ..< 3).map { Self.query(36000 + $0) } + [L.truncated]
        let (engine, events) = L.run(frames, types: .all, flowless: 0)
        #expect(L.anomalies(events).isEmpty)
        #expect(engine.anomalyLog.written == 0 && engine.anomalyLog.suppressed == 4)
    }

    /// The budgets directly: per event index, reset only when the second grows, decoder,
    /// stream and each protocol's app-layer bits apart.
    @Test func budgetSlots() {
        var c = AnomalyLogConfig()
        c.perEventPerSecond = 2
        var st = AnomalyLogState(c, flowSlots: 1)
        let d = AnomalyLogState.budgetIndex(decodeBit: 5)
        let first = [st.allowed(d, 10), st.allowed(d, 10), st.allowed(d, 10)]
        #expect(first == [true, true, false])
        let older = st.allowed(d, 9)
        #expect(!older, "an older second does not refill")
        let next = st.allowed(d, 11)
        #expect(next)
        let indices = [d, AnomalyLogState.budgetIndex(streamBit: 5), AnomalyLogState.budgetIndex(app: .http, bit: 5),
                       AnomalyLogState.budgetIndex(app: .http2, bit: 5), AnomalyLogState.budgetIndex(app: .failed, bit: 63)]
        #expect(Set(indices).count == indices.count && indices.allSatisfy { $0 < AnomalyLogState.budgetSlots })
        #expect(st.suppressed == 2)
    }

    /// An upgraded flow (HTTP/1 then HTTP/2) in separate packets: HTTP's bit 1 logged does not
    /// hide HTTP/2's bit 1; HTTP/2's bit 1 again is a repeat, suppressed with budget 1 (whose
    /// one record a second is kept for first instances): read as a repeat of HTTP's bit 1,
    /// HTTP/2's first would be suppressed too.
    @Test func appWordsFollowTheProtocol() {
        var config = EngineConfig()
        config.anomalyLog.types = .applayer
        config.anomalyLog.perEventPerSecond = 1
        let engine = Engine(config: config)
        var clean = Self.query(37000)
        clean[14 + 20 + 8 + 3] &= ~0x40
        _ = clean.withByteView { v in
            engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: Self.second, micros: 0), wireLength: v.count)
        }
        engine.eve.reset()
        let ref = engine.lastFlow
        #expect(engine.flows.isValid(ref))
        func log(_ e: AppLayerEvents, _ p: AppProto) {
            engine.anomalyLog.noteApp(e, p)
            engine.logFlowAnomalies(ref, .toServer, decode: 0, stream: 0)
        }
        log(AppLayerEvents.HTTP.requestFieldMissingColon, .http)
        log(AppLayerEvents.HTTP2.invalidFrameData, .http2)
        log(AppLayerEvents.HTTP2.invalidFrameData, .http2)
        let out = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(out.contains("REQUEST_FIELD_MISSING_COLON"), "\(out)")
        #expect(out.components(separatedBy: "invalid_frame_data").count == 2, "\(out)")
        #expect(engine.anomalyLog.suppressed == 1)
    }
}
