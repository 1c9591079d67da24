import Testing
import Foundation
import UTMCore
import UTMAppLayer
@testable import UTMDetect
import UTMFlow
@testable import UTMEngine

/// Session 12: app-layer events held for IDS timing (PendingAppEvents.swift) meet the rules
/// when their flow ends before the direction sends again, and a burst of held events on many
/// flows loses none (one word per flow direction, not a shared direct-mapped table).
@Suite struct Session12HeldEventTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    typealias ET = EventTimingTests

    static func engine(ids: Bool, sweep: Bool = false) -> Engine {
        var p = RuleParser()
        p.load(text: ET.httpRules, file: "t.rules")
        var c = EngineConfig()
        c.modes.ids = ids
        // The expiry's clock hand looks at 4 slots a packet; the timeout test has it sweep the
        // table with one packet.
        if sweep { c.expiryBudgetPerPacket = 1 << 22 }
        let e = Engine(config: c)
        e.loadDetection(DetectDefinitions(ruleSet: p.finish()))
        return e
    }

    /// Alerts per sid in `eve`, and each alert's source port for sid 2.
    static func alerts(_ eve: [UInt8]) -> (counts: [Int: Int], ports: [Int]) {
        var counts: [Int: Int] = [:], ports: [Int] = []
        for e in S6.events(eve) where e["event_type"] as? String == "alert" {
            guard let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int else { continue }
            counts[sid, default: 0] += 1
            if sid == 2, let p = e["src_port"] as? Int { ports.append(p) }
        }
        return (counts, ports)
    }

    static func udp(_ a: UInt16, _ b: UInt16, _ p: [UInt8]) -> [UInt8] {
        T.be16(a) + T.be16(b) + T.be16(UInt16(8 + p.count)) + [0, 0] + p
    }

    static func feed(_ engine: Engine, _ frames: [[UInt8]], second: Int64 = 1_700_000_000) -> [UInt8] {
        var out: [UInt8] = []
        for i in frames.indices {
            _ = frames[i].withByteView { v in
                engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: second, micros: Int32(i % 1_000_000)),
                               wireLength: v.count)
            }
            out += engine.eve.buffer
            engine.eve.reset()
        }
        return out
    }

    /// IDS: the request raises `http.request_header_invalid` on the packet that reveals HTTP, and
    /// the client never sends again (only the server's ACK follows). At shutdown the held event
    /// meets sids 1 and 2 (to-server rules, from the client's port), never sid 4 (to-client).
    @Test func heldEventsMeetTheRulesAtShutdown() {
        let engine = Self.engine(ids: true)
        var eve = Self.feed(engine, Array(ET.badHeaderFirst(sport: 44000).prefix(5)))
        #expect(Self.alerts(eve).counts[1] == nil, "held until the flow's end")
        engine.finish()
        eve += engine.eve.buffer
        let a = Self.alerts(eve)
        #expect(a.counts[1] == 1 && a.counts[2] == 1 && a.counts[3] == 1, "\(a.counts)")
        #expect(a.counts[4] == nil && a.counts[5] == nil, "\(a.counts)")
        #expect(a.ports == [44000])
        #expect(engine.detect?.stats.pendingEventsLost == 0)
        #expect(engine.detect?.pendingAppEvents.held == 0)
    }

    /// The same flow ended by its idle timeout (a packet of another flow two hours later runs
    /// the expiry): the held event alerts then, once.
    @Test func heldEventsMeetTheRulesAtTimeout() {
        let engine = Self.engine(ids: true, sweep: true)
        var eve = Self.feed(engine, Array(ET.badHeaderFirst(sport: 44001).prefix(5)))
        eve += Self.feed(engine, [T.ip(v6: false, proto: 17, toServer: true, Self.udp(50000, 9999, [1, 2, 3]))],
                         second: 1_700_000_000 + 7200)
        #expect(engine.detect?.pendingAppEvents.held == 0, "the flow timed out")
        #expect(Self.alerts(eve).counts[2] == 1, "\(Self.alerts(eve).counts)")
        engine.finish()
        eve += engine.eve.buffer
        #expect(Self.alerts(eve).counts[2] == 1, "not twice")
    }

    /// Inline mode matches the event on the request itself: nothing is held, and the end adds
    /// no second alert.
    @Test func inlineModeHoldsNothing() {
        let engine = Self.engine(ids: false)
        var eve = Self.feed(engine, Array(ET.badHeaderFirst(sport: 44002).prefix(5)))
        #expect(engine.detect?.pendingAppEvents.held == 0)
        engine.finish()
        eve += engine.eve.buffer
        #expect(Self.alerts(eve).counts[2] == 1)
    }

    /// A burst: 600 flows each leave an event held. Session 11's 1024-entry direct-mapped table
    /// keyed by `slot * 2 + direction` let slots 512 apart overwrite each other (about half of
    /// 600 hashed slots share a residue); now every flow's event meets the rules at its end.
    @Test func aBurstOfHeldEventsLosesNone() {
        let engine = Self.engine(ids: true)
        var eve: [UInt8] = []
        for k in 0 ..< 600 {
            eve += Self.feed(engine, Array(ET.badHeaderFirst(sport: 20000 + UInt16(k)).prefix(5)))
        }
        #expect(engine.detect?.pendingAppEvents.held == 600)
        engine.finish()
        eve += engine.eve.buffer
        let a = Self.alerts(eve)
        #expect(a.counts[2] == 600, "\(a.counts)")
        #expect(Set(a.ports).count == 600)
        #expect(engine.detect?.stats.pendingEventsLost == 0)
    }
}
