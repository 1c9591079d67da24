import Foundation
import Testing
import AllocationCounter
import UTMCore
@testable import UTMDetect
@testable import UTMEngine

/// Review fixes to session 8's body work (README "HTTP body inspection left-overs, session 8",
/// "Review fixes"): `bsize` inside `base64_data`, `bsize:>N` repeating on per-feed bodies, the
/// per-host cap on IPv6, and held bytes of an abandoned transaction at an HTTP/1 flow end.
@Suite struct BodyFix2Tests {
    typealias A = BodyAccumulationTests
    typealias L = BodyLeftTests

    /// `bsize` after `base64_data` reads the decoded buffer's length: it read the body's
    /// (12 bytes here), so `bsize:5` on "hello" never fired and `bsize:12` did.
    @Test func bsizeInBase64DataReadsTheDecodedLength() {
        let defs = A.definitions("""
            alert http any any -> any any (msg:"b64 bsize 5"; flow:to_client; file_data; content:"B64:"; base64_decode:relative; base64_data; content:"hello"; bsize:5; sid:41;)
            alert http any any -> any any (msg:"b64 bsize 12"; flow:to_client; file_data; content:"B64:"; base64_decode:relative; base64_data; content:"hello"; bsize:12; sid:42;)
            alert http any any -> any any (msg:"body bsize 12"; flow:to_client; file_data; content:"B64:"; bsize:12; sid:43;)
            """)
        let body = Array("B64:aGVsbG8=".utf8)
        #expect(A.run(A.exchange(body: body), defs).sids == [41, 43], "the body's own bsize still reads the body")
        // Split over segments (held in an accumulator, judged at the end): the same.
        #expect(A.run(A.exchange(body: body, cuts: [3, 7]), defs).sids == [41, 43])
        // Negative: decoding to another word.
        #expect(A.run(A.exchange(body: Array("B64:aGVsbE8=".utf8)), defs).sids == [43])
    }

    static let lowerBound = """
        alert http any any -> any any (msg:"large body"; flow:to_client; file_data; content:"x"; bsize:>5000; sid:31;)
        alert http any any -> any any (msg:"exact body"; flow:to_client; file_data; content:"x"; bsize:20000; sid:32;)
        """

    /// With no accumulator the body is inspected per feed, with no list of the signatures that
    /// matched it: `bsize:>5000` fired on every segment past 5,000 bytes (12 alerts on a
    /// 20,000-byte body in 1,400-byte segments). Judged now only on the feed crossing it.
    @Test func bsizeLowerBoundAlertsOncePerFeedBody() {
        let defs = A.definitions(Self.lowerBound)
        var c = DetectConfig()
        c.bodyAccumulators = 0
        let (sids, engine) = A.run(A.exchange(body: A.filler(20000), size: 1400), defs, config: c)
        #expect(sids == [31, 32], "one alert each")
        #expect(engine.detect?.stats.bodyPoolExhausted == 1)
        // Negative: a body that never crosses the bound.
        #expect(A.run(A.exchange(body: A.filler(4900), size: 1400), defs, config: c).sids.isEmpty)
        // Crossing exactly at a segment boundary (5,600 = 4 x 1,400 > 5,000; 4,200 is not).
        #expect(A.run(A.exchange(body: A.filler(5600), size: 1400), defs, config: c).sids == [31])
        // With the pool (accumulated): the same figures as before.
        #expect(A.run(A.exchange(body: A.filler(20000), size: 1400), defs).sids == [31, 32])
        // A host over its cap gets per-feed inspection: still one alert.
        var d = DetectConfig()
        d.bodyAccumulatorsPerHost = 0
        let capped = A.run(A.exchange(body: A.filler(20000), size: 1400), defs, config: d)
        #expect(capped.sids == [31, 32])
        #expect(capped.engine.detect?.stats.bodyHostCapped == 1)
    }

    /// On the detection engine itself: per-feed inspections of one body hand `bsize` the
    /// length before their bytes, and only the crossing one matches.
    @Test func perFeedLowerBoundOnTheDetectionEngine() {
        var c = DetectConfig()
        c.bodyAccumulators = 0
        let d = DetectEngine(definitions: A.definitions(Self.lowerBound), config: c)
        let slot = d.flowSlot(index: 3, flowID: 7)
        var sids: [UInt32] = []
        let piece = A.filler(1000)
        for k in 0 ..< 10 {
            d.beginPacket()
            piece.withByteView { v in
                d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: k == 9) { b in
                    var bufs = InspectionBuffers()
                    bufs[.fileData] = b
                    bufs[.httpServerBody] = b
                    _ = d.inspectApp(.http, phaseMask: 1 << 4, L.facts(), buffers: bufs, slot: slot, time: 1) { s, _ in
                        sids.append(d.defs.signatures[s].sid)
                    }
                }
            }
        }
        #expect(sids == [31], "on the sixth feed only (6,000 > 5,000)")
    }

    /// IPv6 clients are counted per /64: one machine has the whole /64 and could use a fresh
    /// source address per body to dodge the per-host cap.
    @Test func ipv6HostsAreCountedPerSlash64() {
        var c = DetectConfig()
        c.bodyAccumulators = 8
        c.bodyAccumulatorsPerHost = 2
        let d = DetectEngine(definitions: A.definitions(), config: c)
        let prefix: UInt64 = 0x2001_0db8_0098_0001
        #expect(d.hostBucket(IPAddress(v6Hi: prefix, lo: 1)) == d.hostBucket(IPAddress(v6Hi: prefix, lo: 0xdead_beef)))
        let piece = A.filler(100)
        for k in 0 ..< 4 {
            let slot = d.flowSlot(index: Int32(k), flowID: UInt64(k + 1))
            piece.withByteView { v in
                d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: false,
                           client: IPAddress(v6Hi: prefix, lo: UInt64(k) &* 0x1234_5678_9abc + 1)) { _ in }
            }
        }
        #expect(d.bodyAccumulatorsInUse == 2, "four addresses of one /64 hold two")
        #expect(d.stats.bodyHostCapped == 2)
        // Negative: another /64 (when it hashes to another bucket, as nearly always) is not capped.
        let other = IPAddress(v6Hi: prefix &+ 1, lo: 1)
        if d.hostBucket(other) != d.hostBucket(IPAddress(v6Hi: prefix, lo: 1)) {
            let slot = d.flowSlot(index: 9, flowID: 99)
            piece.withByteView { v in
                d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: false, client: other) { _ in }
            }
            #expect(d.bodyAccumulatorsInUse == 3)
            #expect(d.stats.bodyHostCapped == 2)
        }
    }

    /// Four hosts at the per-host cap (64 of 256 each) took the whole pool: every other host's
    /// bodies went per feed. A host now never holds more than is left free, so the fourth
    /// stops at 32 and a fifth host still gets an accumulator.
    @Test func fourHostsCannotDrainThePool() {
        let d = DetectEngine(definitions: A.definitions())
        let piece = A.filler(100)
        var index: Int32 = 0
        func open(_ host: UInt32, _ n: Int) {
            for _ in 0 ..< n {
                let slot = d.flowSlot(index: index, flowID: UInt64(index) + 1)
                index += 1
                piece.withByteView { v in
                    d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: false, client: IPAddress(v4: host)) { _ in }
                }
            }
        }
        let hosts: [UInt32] = [0x0a62_0001, 0x0a62_0002, 0x0a62_0003, 0x0a62_0004]
        // Distinct buckets (the seeded hash nearly always gives them; else the test says nothing).
        guard Set(hosts.map { d.hostBucket(IPAddress(v4: $0)) }).count == 4 else { return }
        for h in hosts { open(h, 64) }
        #expect(d.bodyAccumulatorsInUse == 64 * 3 + 32)
        #expect(d.stats.bodyHostCapped == 32)
        #expect(d.stats.bodyPoolExhausted == 0)
        open(0x0a62_0005, 1)
        #expect(d.bodyAccumulatorsInUse == 64 * 3 + 33, "a fifth host gets one")
        #expect(d.stats.bodyPoolExhausted == 0)
    }

    /// HTTP/1 flow end: an accumulator still held belongs to a transaction its parser let go
    /// with no later body to hand it back; its bytes were released unseen. Now inspected as a
    /// cut body (end-anchored rules not judged), once, and counted.
    @Test func heldBytesAreInspectedAtAnHTTP1FlowEnd() {
        let defs = A.definitions(A.rules + """

            alert http any any -> any any (msg:"tail"; flow:to_client; file_data; content:"TAIL"; endswith; sid:51;)
            """)
        let d = DetectEngine(definitions: defs)
        let slot = d.flowSlot(index: 4, flowID: 44)
        var sids: [UInt32] = []
        var keys: [UInt32] = []
        func inspect(_ v: ByteView) {
            var b = InspectionBuffers()
            b[.fileData] = v
            b[.httpServerBody] = v
            _ = d.inspectApp(.http, phaseMask: 1 << 4, L.facts(), buffers: b, slot: slot, time: 1) { s, _ in
                sids.append(d.defs.signatures[s].sid)
            }
        }
        d.beginPacket()
        let held = A.filler(30) + L.marker + A.filler(30) + Array("TAIL".utf8)
        held.withByteView { v in
            d.feedBody(slot: slot, direction: .toClient, sequence: 3, v, ended: false) { inspect($0) }
        }
        #expect(sids.isEmpty, "held below the minimal inspect size")
        d.flushOrphanedBody(slot: slot, direction: .toServer) { k, v in keys.append(k); inspect(v) }
        #expect(keys.isEmpty, "nothing held toward the server")
        d.flushOrphanedBody(slot: slot, direction: .toClient) { k, v in keys.append(k); inspect(v) }
        #expect(keys == [3])
        #expect(sids == [1], "the marker; `endswith` not judged on a cut body")
        #expect(d.stats.bodyOrphansInspected == 1)
        #expect(d.bodyAccumulatorsInUse == 0)
        // Negative: a second flush finds nothing; a body already inspected whole is not again.
        d.flushOrphanedBody(slot: slot, direction: .toClient) { k, v in keys.append(k); inspect(v) }
        #expect(keys == [3])
        let big = A.filler(45000)
        big.withByteView { v in d.feedBody(slot: slot, direction: .toClient, sequence: 4, v, ended: false) { inspect($0) } }
        let before = d.stats.bodyInspections
        d.flushOrphanedBody(slot: slot, direction: .toClient) { k, v in keys.append(k); inspect(v) }
        #expect(keys == [3], "its window was inspected with the step that kept it")
        #expect(d.stats.bodyInspections == before)
        #expect(d.bodyAccumulatorsInUse == 0)
    }

    /// Through the engine: a response cut short by the flow's end (held bytes with the marker)
    /// alerts, once, and nothing is left held.
    @Test func cutResponseAtFlowEndThroughTheEngine() {
        let body = A.filler(30) + L.marker + A.filler(30)
        let frames = A.exchange(body: body, cuts: [10], length: 5000)
        let (sids, engine) = A.run(frames, A.definitions())
        #expect(sids == [1])
        #expect(engine.detect?.bodyAccumulatorsInUse == 0)
        #expect(A.run(A.exchange(body: A.filler(90), cuts: [10], length: 5000), A.definitions()).sids.isEmpty)
    }

    /// The per-feed lower bound, the /64 bucket and the flow-end flush allocate nothing.
    @Test func fixPathsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var c = DetectConfig()
        c.bodyAccumulators = 0
        let engine = Engine()
        c.flowCapacity = engine.flows.capacity
        engine.detect = DetectEngine(definitions: A.definitions(Self.lowerBound + """

            alert http any any -> any any (msg:"b64"; flow:to_client; file_data; content:"B64:"; base64_decode:relative; base64_data; content:"hello"; bsize:5; sid:41;)
            """), config: c)
        var traffic = A.exchange(body: A.filler(20000), size: 1400, sport: 47400)
        traffic += A.exchange(body: Array("B64:aGVsbG8=".utf8), sport: 47401)
        var before = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 5) { before = engine.stats.alerts }
        #expect(n == 0, "allocated \(n) times")
        #expect(engine.stats.alerts >= before + 3 * 5, "every round alerts on both bodies")
        var c2 = DetectConfig()
        c2.bodyAccumulators = 8
        let d = DetectEngine(definitions: A.definitions(), config: c2)
        let bytes = A.filler(200)
        var seen = 0
        let count = bytes.withByteView { v in
            countAllocations {
                for k in 0 ..< 50 {
                    let slot = d.flowSlot(index: Int32(k % 8), flowID: UInt64(k + 1))
                    d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: false,
                               client: IPAddress(v6Hi: 0x2001_0db8_0098_0002, lo: UInt64(k))) { _ in }
                    d.flushOrphanedBody(slot: slot, direction: .toClient) { _, held in seen &+= held.count }
                }
            }
        }
        #expect(count == 0, "allocated \(count) times")
        #expect(seen == 50 * 200)
    }
}
