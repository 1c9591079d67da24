import AllocationCounter
import Testing
import UTMCore
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// DESIGN: no allocation per packet for DCE/RPC either — parsing (binds, fragments reassembled
/// into the slot's preallocated stub buffers), the iface/opnum/stub_data rules with a `dce`
/// byte_test, the `dcerpc` events, and DCE/RPC over SMB named pipes. Same method as EngineAllocationTests
/// (`steadyStateAllocations`): parser slots are recycled round after round.
@Suite(.serialized) struct DCERPCAllocationTests {
    static func round() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for c in 0 ..< 4 {
            frames += DCERPCEngineTests.session(sport: UInt16(49000 + c), dport: c % 2 == 0 ? 135 : 49701, le: c % 2 == 0)
            frames += DCERPCEngineTests.smbPipeOnly(sport: UInt16(49100 + c), pipe: true)
        }
        return frames
    }

    static let rules = """
        alert dcerpc any any -> any any (msg:"iface"; flow:to_server; dcerpc.iface:\(DCERPCEngineTests.spoolss); dcerpc.opnum:89; sid:1;)
        alert dcerpc any any -> any any (msg:"stub"; flow:to_server; dce_stub_data; content:"PrinterDriver"; sid:2;)
        alert dcerpc any any -> any any (msg:"dce"; flow:to_server; dce_stub_data; byte_test:4,=,0x11223344,0,dce; sid:3;)
        alert dcerpc any any -> any any (msg:"rejected"; dce_iface:\(DCERPCEngineTests.lsarpc); sid:4;)
        """

    @Test func parserAndEventsAlone() {
        guard allocationCounterWorks() else { return }
        let n = steadyStateAllocations(Engine(), Self.round(), rounds: 10)
        #expect(n == 0, "DCE/RPC parsing and events allocated \(n) times")
    }

    @Test func dcerpcDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var parser = RuleParser()
        parser.load(text: Self.rules, file: "dcerpc.rules")
        let set = parser.finish()
        #expect(set.report.skipped.isEmpty && set.report.errors.isEmpty)
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var before: [UInt64] = []
        var alertsBefore: UInt64 = 0
        let rounds = 10
        let n = steadyStateAllocations(engine, Self.round(), rounds: rounds) {
            before = engine.eve.counts.map { $0 }
            alertsBefore = engine.stats.alerts
        }
        #expect(n == 0, "DCE/RPC allocated \(n) times")
        let k = EVEEventType.dcerpc.rawValue
        let events: UInt64 = engine.eve.counts[k] - before[k]
        #expect(events == UInt64(rounds) * 4 * 3, "bind and two calls per flow: \(events)")
        // Sids 1-3 once per DCE/RPC flow, sids 1 and 2 once per SMB pipe flow.
        #expect(engine.stats.alerts - alertsBefore == UInt64(rounds) * 4 * 5, "\(engine.stats.alerts - alertsBefore)")
    }
}
