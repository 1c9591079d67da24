import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMAppLayer
@testable import UTMEngine

/// The session 8 review fixes to HTTP/1 framing, through the engine with rules, whole and
/// split: a request hidden behind a blank-led first-line Content-Length is inspected as a
/// request (and counted), a folded Content-Length frames the body it announces.
@Suite struct HTTPFramingEngineTests {
    static let rules = #"""
        alert http any any -> any any (msg:"hidden request's uri"; flow:to_server; http.uri; content:"/evil"; startswith; endswith; sid:1;)
        alert http any any -> any any (msg:"hidden request as a body"; flow:to_server; http.request_body; content:"GET /evil"; startswith; sid:2;)
        alert http any any -> any any (msg:"blank-led line in http.header"; flow:to_server; http.header; content:"Content-Length: 31|0d 0a|"; sid:3;)
        """#
    static let hidden = "GET /evil HTTP/1.1\r\nHost: a\r\n\r\n"
    static let resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    static func defs() -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "framing.rules")
        return DetectDefinitions(ruleSet: p.finish())
    }

    static func run(_ req: String, size: Int, sport: UInt16 = 46300) -> (sids: [Int], engine: Engine) {
        let engine = Engine()
        engine.loadDetection(defs())
        let events = FirewallEngineTests.run(engine, HTTPBufferFillTests.h1(req, resp, size: size, sport: sport)).events
        return (Array(Set(FirewallEngineTests.sids(events))).sorted(), engine)
    }

    @Test func blankLedContentLengthHidesNothing() {
        let req = "POST /ok HTTP/1.1\r\n Content-Length: 31\r\nHost: a\r\n\r\n" + Self.hidden
        for size in [4096, 17, 5, 1] {
            let (sids, engine) = Self.run(req, size: size)
            // Before: [2, 3] (one transaction, /evil only a body).
            #expect(sids == [1, 3], "segments of \(size)")
            #expect(engine.stats.httpFramingIgnored >= 1, "segments of \(size)")
        }
        // Negative: a plain Content-Length frames the body; nothing counted.
        let plain = "POST /ok HTTP/1.1\r\nContent-Length: 31\r\nHost: a\r\n\r\n" + Self.hidden
        let (sids, engine) = Self.run(plain, size: 4096)
        #expect(sids == [2, 3])
        #expect(engine.stats.httpFramingIgnored == 0)
    }

    /// The counter is in the stats event's app_layer object.
    @Test func counterInStatsEvent() {
        let req = "POST /ok HTTP/1.1\r\n Content-Length: 31\r\nHost: a\r\n\r\n" + Self.hidden
        let (_, engine) = Self.run(req, size: 4096)
        engine.eve.reset()
        engine.eve.setEnabled(.stats, true)
        engine.writeStats()
        let text = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(text.contains(#""http_framing_ignored":1"#), "\(text)")
    }

    @Test func foldedContentLengthFrames() {
        let req = "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 31\r\n\r\n" + Self.hidden
        for size in [4096, 17, 5, 1] {
            // Before: [1] (the body parsed as a second request, no body).
            let sids = Self.run(req, size: size).sids
            #expect(sids.contains(2) && !sids.contains(1), "segments of \(size): \(sids)")
        }
    }

    /// Neither path allocates per packet.
    @Test func framingPathsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let defs = Self.defs()
        let cases = ["POST /ok HTTP/1.1\r\n Content-Length: 31\r\nHost: a\r\n\r\n" + Self.hidden,
                     "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 31\r\n\r\n" + Self.hidden]
        for (k, req) in cases.enumerated() {
            for size in [4096, 5] {
                let engine = Engine()
                engine.loadDetection(defs)
                let traffic = HTTPBufferFillTests.h1(req, Self.resp, size: size, sport: UInt16(46310 + k * 2 + (size == 5 ? 1 : 0)))
                var alertsBefore = engine.stats.alerts
                let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
                #expect(n == 0, "case \(k) size \(size): \(n) allocations")
                #expect(engine.stats.alerts > alertsBefore)
            }
        }
    }
}
