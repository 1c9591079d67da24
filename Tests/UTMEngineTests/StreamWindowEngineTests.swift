import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Stream rules whose parts lie in different TCP segments, through the whole engine (decode,
/// flow table, reassembly, stream inspection) on traffic built here (README "Stream window,
/// session 6").
@Suite(.serialized) struct StreamWindowEngineTests {
    typealias T = EngineTraffic

    static let rules = """
        alert tcp any any -> any any (msg:"two parts to server"; flow:to_server; content:"AAAA"; content:"BBBB"; distance:0; sid:1;)
        alert tcp any any -> any any (msg:"fp second to client"; flow:to_client; content:"CCCC"; content:"DDDDDDDD"; distance:0; fast_pattern; sid:2;)
        """

    /// A session whose client sends `client` and server sends `server` segments, in the order
    /// `order` gives for the client's (indices into `client`; default in order). Sequence
    /// numbers follow each segment's place in its stream, not the order sent.
    static func session(sport: UInt16, client: [String], server: [String] = [], order: [Int]? = nil) -> [[UInt8]] {
        let dport: UInt16 = 8870
        let c0: UInt32 = 1_000_000 + UInt32(sport), s0: UInt32 = 7_000_000 + UInt32(sport)
        var out: [[UInt8]] = []
        out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c0, ack: 0, flags: T.syn)))
        out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s0, ack: c0 + 1, flags: T.syn | T.ackFlag)))
        out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c0 + 1, ack: s0 + 1, flags: T.ackFlag)))
        var starts: [UInt32] = []
        var c = c0 + 1
        for p in client { starts.append(c); c += UInt32(p.utf8.count) }
        for i in order ?? Array(client.indices) {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, dport, seq: starts[i], ack: s0 + 1, flags: T.psh | T.ackFlag, Array(client[i].utf8))))
        }
        out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s0 + 1, ack: c, flags: T.ackFlag)))
        var s = s0 + 1
        for p in server {
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.psh | T.ackFlag, Array(p.utf8))))
            s += UInt32(p.utf8.count)
            out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.ackFlag)))
        }
        out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c, ack: s, flags: T.fin | T.ackFlag)))
        out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c + 1, flags: T.fin | T.ackFlag)))
        out.append(T.ip(v6: false, proto: 6, toServer: true, T.tcp(sport, dport, seq: c + 1, ack: s + 1, flags: T.ackFlag)))
        return out
    }

    static func definitions() -> DetectDefinitions {
        var parser = RuleParser()
        parser.load(text: rules, file: "streamwin.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        return DetectDefinitions(ruleSet: set)
    }

    /// Alerts per sid, with the rules as parsed and after a bundle round trip (same both ways).
    static func alerts(_ frames: [[UInt8]]) throws -> [Int: Int] {
        let parsed = definitions()
        let decoded = try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: parsed), file: "streamwin.bundle")
        let a = Session6KeywordEngineTests.replay(parsed, frames)
        #expect(a == Session6KeywordEngineTests.replay(decoded, frames))
        return a
    }

    @Test func splitAcrossSegmentsInBothDirections() throws {
        #expect(try Self.alerts(Self.session(sport: 48701, client: ["xxAAAAxx", "yyBBBByy"])) == [1: 1])
        #expect(try Self.alerts(Self.session(sport: 48702, client: ["xxAA", "AAxx", "yyBBBByy", "tail"])) == [1: 1])
        #expect(try Self.alerts(Self.session(sport: 48703, client: ["hello"], server: ["xxCCCCxx", "yyDDDD", "DDDDyy", "done"])) == [2: 1])
        // The parts in different directions: nothing.
        #expect(try Self.alerts(Self.session(sport: 48704, client: ["xxAAAAxx"], server: ["yyBBBByy"])).isEmpty)
    }

    @Test func outOfOrderSegments() throws {
        // The second segment arrives first: reassembly delivers both in order when the first
        // comes, and the window sees the match once.
        #expect(try Self.alerts(Self.session(sport: 48711, client: ["xxAAAAxx", "yyBBBByy"], order: [1, 0])) == [1: 1])
        #expect(try Self.alerts(Self.session(sport: 48712, client: ["xxAAAAxx", "mid", "yyBBBByy", "end"], order: [0, 2, 1, 3])) == [1: 1])
        #expect(try Self.alerts(Self.session(sport: 48713, client: ["a", "AAAA", "b", "BBBB", "c"], order: [4, 3, 2, 1, 0])) == [1: 1])
    }

    @Test func noSecondAlertOnLaterSegments() throws {
        #expect(try Self.alerts(Self.session(sport: 48721, client: ["xxAAAAxx", "yyBBBByy", "AAAA", "zz", "more"])) == [1: 1])
    }

    /// Multi-segment streams with the window in use allocate nothing per packet.
    @Test func streamWindowDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        engine.loadDetection(Self.definitions())
        var traffic: [[UInt8]] = []
        for k in 0 ..< 8 {
            let port = UInt16(48730 + k)
            traffic += Self.session(sport: port, client: ["xxAAAAxx", "mid\(k)", "yyBBBByy", "AAAA"], server: ["xxCCCCxx", "DDDDDDDD"],
                                    order: k % 2 == 0 ? nil : [0, 2, 1, 3])
        }
        var before = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { before = engine.stats.alerts }
        #expect(n == 0, "the stream window allocated \(n) times")
        // Every session alerted once per rule in each of the 10 rounds.
        #expect(engine.stats.alerts - before == 10 * 8 * 2)
    }
}
