import Foundation
import Testing
import UTMCore
import UTMDetect
import UTMFlow
@testable import UTMEngine

/// Review 11a (tcpstate): three blind packets (a FIN each way at a random sequence number, a
/// SYN with a new ISN) end the flow of a live HTTP connection; the request that follows on the
/// real connection meets no rule, inline or IDS.
@Suite struct Review11AEngineTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    static let sport: UInt16 = 43100

    static func frames() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var c: UInt32 = 1_000_000, s: UInt32 = 7_000_000
        func up(_ flags: UInt8, _ data: [UInt8] = [], seq: UInt32? = nil, ack: UInt32? = nil) {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, 80, seq: seq ?? c, ack: ack ?? s, flags: flags, data)))
            if seq == nil { c &+= UInt32(data.count) + (flags & (T.syn | T.fin) != 0 ? 1 : 0) }
        }
        func down(_ flags: UInt8, _ data: [UInt8] = [], seq: UInt32? = nil, ack: UInt32? = nil) {
            out.append(T.ip(v6: false, proto: 6, toServer: false,
                            T.tcp(80, sport, seq: seq ?? s, ack: ack ?? c, flags: flags, data)))
            if seq == nil { s &+= UInt32(data.count) + (flags & (T.syn | T.fin) != 0 ? 1 : 0) }
        }
        up(T.syn, ack: 0)
        down(T.syn | T.ackFlag)
        up(T.ackFlag)
        // The attacker: nothing in either window.
        up(T.fin, seq: 3_000_000_000, ack: 0)
        down(T.fin, seq: 3_000_000_000, ack: 0)
        up(T.syn, seq: 777, ack: 0)
        // The real connection goes on.
        up(T.psh | T.ackFlag, S6.get("/evil", host: "a.example"))
        down(T.ackFlag)
        down(T.psh | T.ackFlag, S6.ok)
        up(T.ackFlag)
        up(T.fin | T.ackFlag)
        down(T.fin | T.ackFlag)
        up(T.ackFlag)
        return out
    }

    @Test(arguments: [false, true])
    func blindPacketsDoNotHideTheRequest(ids: Bool) throws {
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"evil"; flow:established,to_server; http.uri; content:"/evil"; sid:1;)
            """, file: "r11a.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        var config = EngineConfig()
        config.modes.ids = ids
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        let events = S6.events(S6.replayEVE(engine, Self.frames()))
        let alerts = events.filter {
            $0["event_type"] as? String == "alert" && ($0["alert"] as? [String: Any])?["signature_id"] as? Int == 1
        }
        #expect(alerts.count == 1, "ids \(ids): \(alerts.count) alerts")
        let flows = events.filter { $0["event_type"] as? String == "flow" && $0["src_port"] as? Int == Int(Self.sport) }
        #expect(flows.count == 1, "ids \(ids): one connection, one flow; got \(flows.count)")
    }
}
