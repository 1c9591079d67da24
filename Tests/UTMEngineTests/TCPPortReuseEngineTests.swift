import Foundation
import Testing
import UTMCore
import UTMDetect
import UTMFlow
@testable import UTMEngine

/// A port reused while the old session waits for its lost last ACK (an office behind NAT):
/// the second connection is a new flow with its own flow event and id, and its HTTP request
/// meets an `alert http` rule, inline and IDS (session 11, PortReuseTests for the table).
@Suite struct TCPPortReuseEngineTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    static let sport: UInt16 = 43000

    /// Old session GET /old whose client never sends the last ACK (LAST_ACK), then a new SYN
    /// with another ISN on the same ports carrying GET /new, closed cleanly.
    static func frames() -> [[UInt8]] {
        var out = T.tcpSession(v6: false, sport: sport, dport: 80,
                               exchanges: [(S6.get("/old", host: "a.example"), S6.ok)])
        out.removeLast()
        var c: UInt32 = 3_000_000_000, s: UInt32 = 123_456
        func up(_ flags: UInt8, _ data: [UInt8] = [], ack: Bool = true) {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, 80, seq: c, ack: ack ? s : 0, flags: flags, data)))
            c &+= UInt32(data.count) + (flags & (T.syn | T.fin) != 0 ? 1 : 0)
        }
        func down(_ flags: UInt8, _ data: [UInt8] = []) {
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(80, sport, seq: s, ack: c, flags: flags, data)))
            s &+= UInt32(data.count) + (flags & (T.syn | T.fin) != 0 ? 1 : 0)
        }
        up(T.syn, ack: false)
        down(T.syn | T.ackFlag)
        up(T.ackFlag)
        up(T.psh | T.ackFlag, S6.get("/new", host: "a.example"))
        down(T.ackFlag)
        down(T.psh | T.ackFlag, S6.ok)
        up(T.ackFlag)
        up(T.fin | T.ackFlag)
        down(T.fin | T.ackFlag)
        up(T.ackFlag)
        return out
    }

    @Test(arguments: [false, true])
    func reusedPortIsANewFlowWithItsOwnAlert(ids: Bool) throws {
        var parser = RuleParser()
        parser.load(text: """
            alert http any any -> any any (msg:"new"; flow:established,to_server; http.uri; content:"/new"; sid:1;)
            alert http any any -> any any (msg:"old"; flow:established,to_server; http.uri; content:"/old"; sid:2;)
            """, file: "reuse.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        var config = EngineConfig()
        config.modes.ids = ids
        let engine = Engine(config: config)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        let events = S6.events(S6.replayEVE(engine, Self.frames()))
        func alerts(_ sid: Int) -> [[String: Any]] {
            events.filter {
                $0["event_type"] as? String == "alert" && ($0["alert"] as? [String: Any])?["signature_id"] as? Int == sid
            }
        }
        let new = alerts(1), old = alerts(2)
        #expect(new.count == 1 && old.count == 1, "ids \(ids)")
        let flows = events.filter {
            $0["event_type"] as? String == "flow" && ($0["src_port"] as? Int == Int(Self.sport))
        }
        #expect(flows.count == 2, "ids \(ids): \(flows.count)")
        let ids0 = flows.compactMap { $0["flow_id"] as? Int }
        #expect(Set(ids0).count == 2, "each connection its own flow id")
        let newID = new.first?["flow_id"] as? Int, oldID = old.first?["flow_id"] as? Int
        #expect(newID != nil && oldID != nil && newID != oldID && ids0.contains(newID ?? -1) && ids0.contains(oldID ?? -1))
        // The old flow ended waiting for its last ACK, the new one closed.
        let byID = Dictionary(flows.map { ($0["flow_id"] as? Int ?? 0, $0) }, uniquingKeysWith: { a, _ in a })
        let oldTCP = byID[oldID ?? 0]?["tcp"] as? [String: Any], newTCP = byID[newID ?? 0]?["tcp"] as? [String: Any]
        #expect(oldTCP?["state"] as? String == "last_ack", "\(String(describing: oldTCP))")
        #expect((byID[oldID ?? 0]?["flow"] as? [String: Any])?["state"] as? String == "closed")
        #expect(newTCP?["state"] as? String == "closed", "\(String(describing: newTCP))")
        #expect((byID[newID ?? 0]?["flow"] as? [String: Any])?["alerted"] as? Bool == true)
    }
}
