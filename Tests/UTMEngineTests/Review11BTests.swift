import Foundation
import Testing
import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
@testable import UTMEngine

/// Review of the anomaly log (session 11): flood control against a hostile sender.
@Suite struct Review11BTests {
    typealias L = AnomalyLogTests
    typealias A = AppLayerEventRulesTests

    /// A sender that opens a new flow per packet (a new UDP source port each time) writes one
    /// anomaly record per packet with the default settings (applayer): the per-flow dedup does
    /// not bound it and no budget covers flows. 200 DNS queries with the Z bit in one second.
    @Test func newFlowPerPacketStillLogsOneRecordPerPacket() {
        var frames: [[UInt8]] = []
        for i in 0 ..< 200 { frames.append(A.zFlagDNS(sport: UInt16(30000 + i))[0]) }
        let (engine, events) = L.run(frames, types: nil)
        let z = L.named(events, "z_flag_set")
        #expect(z.count < frames.count / 2,
                "\(z.count) anomaly records for \(frames.count) packets in one second (written \(engine.anomalyLog.written))")
    }

    /// The same with decoder anomalies of decoded packets (decode on): a bad IPv4 option on
    /// UDP packets from new source ports, one record per packet, no budget.
    @Test func decodedPacketsWithNewPortsBypassTheFlowlessBudget() {
        var frames: [[UInt8]] = []
        for i in 0 ..< 200 {
            var f = AnomalyEventRulesTests.badOption
            // UDP source port right after Ethernet 14 + IPv4 24 (one option word); the UDP checksum is 0.
            f[14 + 24] = UInt8((31000 + i) >> 8); f[14 + 25] = UInt8((31000 + i) & 0xff)
            frames.append(f)
        }
        let (_, events) = L.run(frames, types: .decode, flowless: 10)
        let r = L.named(events, "decoder.ipv4.opt_invalid_len")
        #expect(r.count <= 10, "\(r.count) records for \(frames.count) packets, flowless budget 10")
    }

    /// One budget for every flowless decoder anomaly of every sender: 100 truncated packets
    /// at the start of a second hide a different anomaly (any sender's)
    /// (decoder.tcp.pkt_too_small) for the rest of that second.
    @Test func sharedFlowlessBudgetHidesAnotherEvent() {
        let frames = [[UInt8]](repeating: L.truncated, count: 100) + [AnomalyEventRulesTests.shortTCP]
        let (_, events) = L.run(frames, types: .decode, flowless: 100)
        #expect(L.named(events, "decoder.tcp.pkt_too_small").count == 1, "\(L.anomalies(events).count) records")
    }

    /// Packet time that goes back and forth (a replayed capture, interleaved sources) resets
    /// the flowless budget on every change of second: every packet is logged.
    @Test func alternatingSecondsResetTheFlowlessBudget() {
        let frames = [[UInt8]](repeating: L.truncated, count: 200)
        let (_, events) = L.run(frames, types: .decode, flowless: 10) { i in 1_700_000_000 + Int64(i % 2) }
        let r = L.named(events, "decoder.ipv4.trunc_pkt")
        #expect(r.count <= 20, "\(r.count) records over two seconds of packet time, budget 10 per second")
    }

    /// The app-layer word of a flow and direction is shared by the two protocols a packet can
    /// carry (HTTP/1 upgraded to HTTP/2): HTTP's bit 1 (REQUEST_FIELD_MISSING_COLON) logged
    /// marks HTTP/2's bit 1 (invalid_frame_data) as logged too, in the same packet or later.
    @Test func upgradedFlowSharesTheAppWordAcrossProtocols() {
        var config = EngineConfig()
        config.anomalyLog.types = .applayer
        let engine = Engine(config: config)
        let frame = A.zFlagDNS(sport: 32000)[0]
        // A clean query first: a flow to hang the notes on (the Z bit is cleared again).
        var clean = frame
        clean[14 + 20 + 8 + 3] &= ~0x40
        _ = clean.withByteView { v in
            engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: 0), wireLength: v.count)
        }
        engine.eve.reset()
        let ref = engine.lastFlow
        #expect(engine.flows.isValid(ref))
        engine.anomalyLog.noteApp(AppLayerEvents.HTTP.requestFieldMissingColon, .http)
        engine.anomalyLog.noteApp(AppLayerEvents.HTTP2.invalidFrameData, .http2)
        engine.logFlowAnomalies(ref, .toServer, decode: 0, stream: 0)
        let out = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(out.contains("REQUEST_FIELD_MISSING_COLON") && out.contains("invalid_frame_data"), "\(out)")
    }
}
