import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Absolute positions of stream rules counted from the stream's first byte, through the whole
/// engine (decode, flow table, reassembly with its stream offsets, stream inspection) on
/// traffic built here (README "Stream positions, session 8").
@Suite(.serialized) struct StreamPositionEngineTests {
    typealias T = EngineTraffic

    static let rules = """
        alert tcp any any -> any any (msg:"depth, packet fallback"; flow:established,to_server; content:"HELO"; depth:4; sid:10;)
        alert tcp any any -> any any (msg:"depth, only_stream"; flow:established,to_server,only_stream; content:"HELO"; depth:4; sid:11;)
        alert tcp any any -> any any (msg:"absolute byte_test"; flow:established,to_server; content:"ab"; byte_test:1,=,0x5a,0; sid:13;)
        """

    static func definitions() -> DetectDefinitions {
        var parser = RuleParser()
        parser.load(text: rules, file: "streampos.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        return DetectDefinitions(ruleSet: set)
    }

    /// Alerts per sid, with the rules as parsed and after a bundle round trip (same both ways).
    static func alerts(_ frames: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int: Int] {
        try Session6KeywordEngineTests.alerts(rules, frames, sourceLocation: sourceLocation)
    }

    static func session(_ sport: UInt16, _ client: [String], order: [Int]? = nil) -> [[UInt8]] {
        StreamWindowEngineTests.session(sport: sport, client: client, server: ["ok"], order: order)
    }

    /// A session picked up midstream: no handshake, the client's data first.
    static func midstream(_ sport: UInt16, _ client: [String]) -> [[UInt8]] {
        let dport: UInt16 = 8870
        var c: UInt32 = 3_000_000 + UInt32(sport)
        let s: UInt32 = 9_000_000
        var out: [[UInt8]] = []
        for p in client {
            out.append(T.ip(v6: false, proto: 6, toServer: true,
                            T.tcp(sport, dport, seq: c, ack: s, flags: T.psh | T.ackFlag, Array(p.utf8))))
            c += UInt32(p.utf8.count)
            out.append(T.ip(v6: false, proto: 6, toServer: false, T.tcp(dport, sport, seq: s, ack: c, flags: T.ackFlag)))
        }
        return out
    }

    @Test func positionsCountFromTheStreamStart() throws {
        // At the stream's first byte: every rule.
        #expect(try Self.alerts(Self.session(48901, ["HELO x\r\n"])) == [10: 1, 11: 1])
        #expect(try Self.alerts(Self.session(48902, ["Z ab"])) == [13: 1])
        // A later segment that begins with the pattern: only the rule Suricata also inspects
        // on the packet (content depth, no only_stream).
        #expect(try Self.alerts(Self.session(48903, ["EHLO x\r\n", "HELO y\r\n"])) == [10: 1])
        #expect(try Self.alerts(Self.session(48904, ["hello ab", "Z ab"])).isEmpty)
        // Split over the first two segments, in order and out of order: once.
        #expect(try Self.alerts(Self.session(48905, ["HE", "LO x", "more"])) == [10: 1, 11: 1])
        #expect(try Self.alerts(Self.session(48906, ["HE", "LO x", "more"], order: [1, 0, 2])) == [10: 1, 11: 1])
    }

    @Test func midstreamFirstByteSeen() throws {
        #expect(try Self.alerts(Self.midstream(48911, ["HELO x", "more"])) == [10: 1, 11: 1])
        #expect(try Self.alerts(Self.midstream(48912, ["zzzz", "HELO x"])) == [10: 1])
    }

    /// Stream inspection with positions and the packet fallback allocates nothing per packet.
    @Test func streamPositionsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        engine.loadDetection(Self.definitions())
        var traffic: [[UInt8]] = []
        for k in 0 ..< 8 {
            // sid 10 and 11 on the split start, sid 10 again on the later segment (fallback).
            traffic += Self.session(UInt16(48930 + k), ["HE", "LO \(k)", String(repeating: "z", count: 1200), "HELO again"],
                                    order: k % 2 == 0 ? nil : [1, 0, 2, 3])
        }
        var before = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { before = engine.stats.alerts }
        #expect(n == 0, "stream positions allocated \(n) times")
        #expect(engine.stats.alerts - before == 10 * 8 * 3)
    }
}
