import Testing
import AllocationCounter
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Protocol detection over requests sent a few bytes per TCP segment (ProbeBuffers.swift).
///
/// Each segment used to be probed alone: "G", "ET", " /P" matched no probe, the flow ended as
/// `failed`, and no HTTP rule, web filter or antivirus saw it — a one-line evasion of the whole
/// app layer. Now the undecided bytes are kept and probed together, and the parser is fed from
/// the stream's first byte, so the same rules fire as on the unsplit exchange.
@Suite struct TinySegmentDetectionTests {
    typealias Fill = HTTPBufferFillTests

    @Test func http1InOneToThreeByteSegments() {
        let defs = Fill.definitions()
        let whole = Fill.sids(Fill.h1(Fill.request, Fill.response, size: 4096), defs)
        #expect(!whole.isEmpty)
        for size in [1, 2, 3] {
            #expect(Fill.sids(Fill.h1(Fill.request, Fill.response, size: size), defs) == whole,
                    "HTTP/1 in \(size)-byte segments")
        }
    }

    /// HTTP/2 with prior knowledge: the 24-byte preface itself arrives in pieces.
    @Test func http2PrefaceInSmallSegments() {
        let defs = Fill.definitions()
        let whole = Fill.sids(Fill.h2(size: 4096), defs)
        #expect(!whole.isEmpty)
        for size in [1, 5] {
            #expect(Fill.sids(Fill.h2(size: size), defs) == whole, "HTTP/2 in \(size)-byte segments")
        }
    }

    /// The flow is logged with its protocol and the request's URL, not as an unknown flow.
    @Test func eveShowsTheRequest() {
        let engine = Engine()
        let frames = Fill.h1("GET /tiny/x.exe HTTP/1.1\r\nHost: example.com\r\n\r\n",
                             "HTTP/1.1 204 No Content\r\n\r\n", size: 1)
        for (i, f) in frames.enumerated() {
            _ = f.withByteView {
                engine.process(frame: $0, linkType: .ethernet, timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)),
                               wireLength: $0.count)
            }
        }
        engine.finish()
        let eve = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(eve.contains(#""url":"/tiny/x.exe""#), "the HTTP event of the one-byte request")
        #expect(!eve.contains(#""app_proto":"failed""#))
    }

    /// The kept bytes live in a slab reserved at init: splitting allocates nothing per packet.
    @Test func keptBytesDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        engine.loadDetection(Fill.definitions())
        let traffic = Fill.h1(Fill.request, Fill.response, size: 2, sport: 46100) + Fill.h2(size: 3)
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 10) { alertsBefore = engine.stats.alerts }
        #expect(n == 0, "probing split requests allocated \(n) times")
        #expect(engine.stats.alerts > alertsBefore)
    }

    /// With no entry free the engine falls back to probing segment by segment (counted), and
    /// keeps forwarding.
    @Test func exhaustedPoolIsCounted() {
        var config = EngineConfig()
        config.maxProbeBuffers = 0
        let engine = Engine(config: config)
        var clock: Int64 = 1_700_000_000
        replayRound(engine, Fill.h1(Fill.request, Fill.response, size: 2), clock: &clock)
        #expect(engine.probes.exhausted > 0)
    }
}
