import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMInflate
@testable import UTMEngine

/// HTTP bodies inspected per transaction (UTMDetect BodyAccumulators.swift): a pattern split
/// over segments is found, positions count from the body's first byte, a signature alerts
/// once per transaction, a body that never completes is inspected at the flow's end.
@Suite struct BodyAccumulationTests {
    typealias B = HTTP2BodyEngineTests

    static let rules = """
        alert http any any -> any any (msg:"marker"; flow:to_client; file_data; content:"EICAR-LIKE-MARKER"; sid:1;)
        alert http any any -> any any (msg:"chain"; flow:to_client; file_data; content:"FIRST-PART"; content:"SECOND-PART"; distance:0; sid:2;)
        alert http any any -> any any (msg:"MZ at body start"; flow:to_client; file_data; content:"MZ"; depth:2; sid:3;)
        alert http any any -> any any (msg:"upload"; flow:to_server; http.request_body; content:"user=admin&pass="; sid:4;)
        alert http any any -> any any (msg:"ends"; flow:to_client; file_data; content:"THE-END"; endswith; sid:5;)
        """

    static func definitions(_ text: String = rules) -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: text, file: "body.rules")
        let set = p.finish()
        #expect(set.signatures.count == text.split(separator: "\n").count, "every rule loads")
        return DetectDefinitions(ruleSet: set)
    }

    static let request = Array("GET /file HTTP/1.1\r\nHost: files.example\r\n\r\n".utf8)

    static func responseHead(_ length: Int, extra: String = "") -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\(extra)Content-Length: \(length)\r\n\r\n".utf8)
    }

    /// One exchange: the request, the response head, then `body` cut at `cuts` (body offsets),
    /// or into `size`-byte segments.
    static func exchange(body: [UInt8], cuts: [Int] = [], size: Int = 0, sport: UInt16 = 47000,
                         length: Int? = nil) -> [[UInt8]] {
        var segs: [(Bool, [UInt8])] = [(true, request), (false, responseHead(length ?? body.count))]
        segs += pieces(body, cuts: cuts, size: size).map { (false, $0) }
        return B.session(sport: sport, dport: 80, segs)
    }

    static func pieces(_ body: [UInt8], cuts: [Int], size: Int) -> [[UInt8]] {
        if size > 0 { return stride(from: 0, to: body.count, by: size).map { Array(body[$0 ..< Swift.min($0 + size, body.count)]) } }
        var out: [[UInt8]] = []
        var last = 0
        for c in cuts + [body.count] where c > last {
            out.append(Array(body[last ..< c]))
            last = c
        }
        return out
    }

    static func run(_ frames: [[UInt8]], _ defs: DetectDefinitions, config: DetectConfig? = nil) -> (sids: [Int], engine: Engine) {
        let engine = Engine()
        if var c = config {
            c.flowCapacity = engine.flows.capacity
            engine.detect = DetectEngine(definitions: defs, config: c)
        } else {
            engine.loadDetection(defs)
        }
        let r = FirewallEngineTests.run(engine, frames)
        return (FirewallEngineTests.sids(r.events).sorted(), engine)
    }

    static func filler(_ n: Int, _ byte: UInt8 = UInt8(ascii: "x")) -> [UInt8] { Array(repeating: byte, count: n) }

    /// A marker split over two segments, and over 1-byte segments: one alert. Per feed it was
    /// never seen.
    @Test func markerSplitOverSegmentsAlertsOnce() {
        let defs = Self.definitions()
        let body = Self.filler(100) + Array("EICAR-LIKE-MARKER".utf8) + Self.filler(100)
        #expect(Self.run(Self.exchange(body: body, cuts: [108]), defs).sids == [1])
        #expect(Self.run(Self.exchange(body: body, size: 1), defs).sids == [1])
        // Negative: the marker's halves in two different bodies of the flow never join.
        let first = Self.filler(50) + Array("EICAR-LIKE".utf8)
        let second = Array("-MARKER".utf8) + Self.filler(50)
        let two = B.session(sport: 47001, dport: 80, [(true, Self.request), (false, Self.responseHead(first.count) + first),
                                                      (true, Self.request), (false, Self.responseHead(second.count)), (false, second)])
        #expect(Self.run(two, defs).sids.isEmpty)
    }

    /// `content:"A"; content:"B"; distance:0;` with A and B in different segments.
    @Test func contentChainOverTwoSegments() {
        let defs = Self.definitions()
        let body = Array("FIRST-PART and then ".utf8) + Self.filler(300) + Array("SECOND-PART".utf8)
        #expect(Self.run(Self.exchange(body: body, cuts: [20]), defs).sids == [2])
        // Negative: SECOND before FIRST.
        let reversed = Array("SECOND-PART ".utf8) + Self.filler(300) + Array("FIRST-PART".utf8)
        #expect(Self.run(Self.exchange(body: reversed, cuts: [12]), defs).sids.isEmpty)
    }

    /// `content:"MZ"; depth:2;` counts from the body's first byte: a later segment that starts
    /// with MZ is no match (it was a false positive per feed); a body that starts with MZ is,
    /// even when its first segment is one byte.
    @Test func depthCountsFromTheBodyStart() {
        let defs = Self.definitions()
        let notAtStart = Self.filler(200) + Array("MZ".utf8) + Self.filler(200)
        #expect(Self.run(Self.exchange(body: notAtStart, cuts: [200]), defs).sids.isEmpty)
        let atStart = Array("MZ".utf8) + Self.filler(400)
        #expect(Self.run(Self.exchange(body: atStart, cuts: [200]), defs).sids == [3])
        #expect(Self.run(Self.exchange(body: atStart, cuts: [1, 2, 3]), defs).sids == [3])
        // Larger than the minimal inspect size: the first inspection begins at the body's start,
        // later ones (window + new bytes) do not, so an MZ that opens a later step is no match.
        // The first inspection is [0, 40960) (the minimal 40 KiB fills the accumulator), the
        // second keeps its last 16 KiB and so begins at 24576.
        var big = Self.filler(60000)
        big.replaceSubrange(24576 ..< 24578, with: Array("MZ".utf8))
        let (sids, engine) = Self.run(Self.exchange(body: big, size: 1400), defs)
        #expect(sids.isEmpty)
        #expect(engine.detect?.stats.bodyInspections == 2, "two inspections for 43 segments, not 43")
        #expect((engine.detect?.stats.bodyAnchoredSkips ?? 0) > 0, "the second one left the depth rule out")
    }

    /// `endswith` is judged on the inspection that ends with the body, not on a partial one.
    @Test func endswithNeedsTheBodyEnd() {
        let defs = Self.definitions()
        let body = Self.filler(300) + Array("THE-END".utf8)
        #expect(Self.run(Self.exchange(body: body, cuts: [150, 303]), defs).sids == [5])
        let notEnd = Self.filler(300) + Array("THE-END".utf8) + Self.filler(10)
        #expect(Self.run(Self.exchange(body: notEnd, cuts: [307]), defs).sids.isEmpty,
                "a segment ending with THE-END is not the body's end")
        // Chunked: the accumulator fills (40 KiB, inspected, not the end) with the body's last
        // byte; the terminating chunk comes in a later segment with no bytes. The end is judged
        // then, over the kept window, for the end-anchored rules only.
        let full = Self.filler(40960 - 7) + Array("THE-END".utf8)
        let head = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var segs: [(Bool, [UInt8])] = [(true, Self.request), (false, head + Array("a000\r\n".utf8))]
        segs += Self.pieces(full + [13, 10], cuts: [], size: 1448).map { (false, $0) }
        segs.append((false, Array("0\r\n\r\n".utf8)))
        let (sids, engine) = Self.run(B.session(sport: 47005, dport: 80, segs), defs)
        #expect(sids == [5])
        #expect(engine.detect?.stats.bodyInspections == 2, "the full accumulator, then the end")
    }

    /// The marker in every one of three segments: one alert for the transaction (three per feed).
    @Test func oneAlertPerTransaction() {
        let defs = Self.definitions()
        let part = Array("EICAR-LIKE-MARKER".utf8) + Self.filler(80)
        #expect(Self.run(Self.exchange(body: part + part + part, size: part.count), defs).sids == [1])
        // Larger than an accumulator: inspected in steps, still one alert.
        var big: [UInt8] = []
        while big.count < 90000 { big += part }
        #expect(Self.run(Self.exchange(body: big, size: 1460), defs).sids == [1])
    }

    /// Two transactions on one keep-alive flow: each its own alert.
    @Test func keepAliveTransactionsEachAlert() {
        let defs = Self.definitions()
        let body = Self.filler(20) + Array("EICAR-LIKE-MARKER".utf8) + Self.filler(20)
        let head = Self.responseHead(body.count)
        let frames = B.session(sport: 47002, dport: 80, [
            (true, Self.request), (false, head), (false, Array(body[..<30])), (false, Array(body[30...])),
            (true, Self.request), (false, head + Array(body[..<25])), (false, Array(body[25...])),
        ])
        #expect(Self.run(frames, defs).sids == [1, 1])
    }

    /// A response cut by the FIN before its Content-Length: inspected at the flow's end (EOF),
    /// with the marker split so that no single segment shows it.
    @Test func unfinishedBodyInspectedAtFlowEnd() {
        let defs = Self.definitions()
        let body = Self.filler(40) + Array("EICAR-LIKE-MARKER".utf8)
        let (sids, engine) = Self.run(Self.exchange(body: body, cuts: [45], length: 5000), defs)
        #expect(sids == [1])
        #expect(engine.detect?.bodyAccumulatorsInUse == 0, "released at the flow's end")
        // The alert written at the flow's end still carries its transaction's http object.
        let alertLine = String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n")
            .first { $0.contains(#""event_type":"alert""#) }
        #expect(alertLine?.contains(#""hostname":"files.example""#) == true, "\(alertLine ?? "")")
        // Negative: no marker, nothing at the end either.
        #expect(Self.run(Self.exchange(body: Self.filler(200), cuts: [45], length: 5000), defs).sids.isEmpty)
    }

    /// A request body split over segments (http.request_body).
    @Test func requestBodySplit() {
        let defs = Self.definitions()
        let upload = Array("name=x&user=admin&pass=secret".utf8)
        let head = Array("POST /login HTTP/1.1\r\nHost: a.example\r\nContent-Length: \(upload.count)\r\n\r\n".utf8)
        let frames = B.session(sport: 47003, dport: 80, [(true, head), (true, Array(upload[..<12])), (true, Array(upload[12...])),
                                                         (false, Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))])
        #expect(Self.run(frames, defs).sids == [4])
    }

    /// Chunked and gzip: the parser hands de-chunked, decompressed bytes; the accumulation sits
    /// after it, so a marker split by chunking, compression and segments is found once.
    @Test func chunkedGzipSplit() {
        let defs = Self.definitions()
        let plain = Array(repeating: Array("lorem ipsum ".utf8), count: 40).flatMap { $0 } + Array("EICAR-LIKE-MARKER".utf8)
            + Array(repeating: Array(" dolor".utf8), count: 40).flatMap { $0 }
        let gz = Deflate.compress(plain, format: .gzip)
        let half = gz.count / 2
        func chunk(_ b: ArraySlice<UInt8>) -> [UInt8] { Array(String(b.count, radix: 16).utf8) + [13, 10] + Array(b) + [13, 10] }
        let body = chunk(gz[..<half]) + chunk(gz[half...]) + Array("0\r\n\r\n".utf8)
        let head = Array("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for size in [7, 64, 4096] {
            var segs: [(Bool, [UInt8])] = [(true, Self.request), (false, head)]
            segs += Self.pieces(body, cuts: [], size: size).map { (false, $0) }
            #expect(Self.run(B.session(sport: 47004, dport: 80, segs), defs).sids == [1], "segments of \(size)")
        }
    }

    /// No accumulator free: the body is inspected per feed (a marker within one segment is
    /// still found), and the stats event counts it.
    @Test func exhaustedPoolFallsBackAndIsCounted() throws {
        let defs = Self.definitions()
        var c = DetectConfig()
        c.bodyAccumulators = 0
        let body = Self.filler(100) + Array("EICAR-LIKE-MARKER".utf8) + Self.filler(100)
        let (whole, engine) = Self.run(Self.exchange(body: body, cuts: [50]), defs, config: c)
        #expect(whole == [1])
        #expect(engine.detect?.stats.bodyPoolExhausted == 1)
        let eve = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(eve.contains(#""body_pool_exhausted":1"#))
        // The split marker is the cost of the fallback (today's per-feed behaviour).
        #expect(Self.run(Self.exchange(body: body, cuts: [108]), defs, config: c).sids.isEmpty)
        // One accumulator, two flows with open bodies at once: the second falls back.
        c.bodyAccumulators = 1
        let a = Self.exchange(body: body, cuts: [108], sport: 47010)
        let b = Self.exchange(body: body, cuts: [108], sport: 47011)
        // Interleave: both heads, then both bodies' halves.
        let frames = Array(a[0 ..< 9]) + Array(b[0 ..< 9]) + Array(a[9...]) + Array(b[9...])
        let (sids, e2) = Self.run(frames, defs, config: c)
        #expect(sids == [1], "the flow that had the accumulator")
        #expect(e2.detect?.stats.bodyPoolExhausted == 1)
    }

    /// Inline: a drop rule on file_data whose match needs two segments drops the segment that
    /// completes it and the rest of the flow; nothing before it.
    @Test func inlineDropFallsOnTheCompletingPacket() {
        let defs = Self.definitions("""
            drop http any any -> any any (msg:"drop marker"; flow:to_client; file_data; content:"EICAR-LIKE-MARKER"; sid:9;)
            """)
        let body = Self.filler(100) + Array("EICAR-LIKE-MARKER".utf8) + Self.filler(100)
        let frames = Self.exchange(body: body, cuts: [108])
        let engine = Engine()
        engine.loadDetection(defs)
        var verdicts: [PacketVerdict] = []
        for (i, f) in frames.enumerated() {
            f.withByteView { v in
                verdicts.append(engine.process(frame: v, linkType: .ethernet,
                                               timestamp: Timestamp(seconds: 1_700_000_000, micros: Int32(i)), wireLength: v.count).verdict)
            }
        }
        // Frames: 3 handshake, request + ack, head + ack, body part 1 + ack, body part 2 + ack, 2 FINs.
        let firstBody = 7, secondBody = 9
        #expect(verdicts[firstBody] == .accept, "half the marker: nothing to match yet")
        #expect(verdicts[secondBody] == .drop, "the segment that completes the body")
        #expect(verdicts[(secondBody + 1)...].allSatisfy { $0 == .drop }, "the rest of the flow")
        #expect(verdicts[..<secondBody].allSatisfy { $0 == .accept })
    }

    /// Direct use of the accumulation: steps over a large body find a pattern across a step's
    /// boundary once, and the pool is back to empty when the body ends.
    @Test func stepsAcrossAccumulatorBoundaries() {
        let defs = Self.definitions()
        // Inspections end at 40960, 65536 and 90112 (steps of 40 - 16 KiB) and the 102400 limit.
        for at in [40952, 65528, 90104, 70000] {
            var body = Self.filler(100_000)
            body.replaceSubrange(at ..< at + 17, with: Array("EICAR-LIKE-MARKER".utf8))
            #expect(Self.run(Self.exchange(body: body, size: 1448), defs).sids == [1], "marker at \(at)")
        }
        // Past the 100 KiB inspection limit: not inspected.
        var far = Self.filler(120_000)
        far.replaceSubrange(110_000 ..< 110_017, with: Array("EICAR-LIKE-MARKER".utf8))
        #expect(Self.run(Self.exchange(body: far, size: 1448), defs).sids.isEmpty)
    }

    /// HTTP/2: two streams' responses interleave, each marker split over two DATA frames in
    /// separate segments: each stream side has its own accumulator, both alert once. With one
    /// accumulator allowed per direction the second stream falls back per feed (its split
    /// marker is that cost), counted as pool exhaustion.
    @Test func http2InterleavedStreams() {
        let defs = Self.definitions()
        let block = B.lit(":method", "GET") + B.lit(":path", "/f") + B.lit(":authority", "files.example")
        let client = B.preface + B.frame(4, 0, 0, []) + B.frame(1, 0x5, 1, block) + B.frame(1, 0x5, 3, block)
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, [0x88]) + B.frame(1, 0x4, 3, [0x88])
        let data: [(Bool, [UInt8])] = [
            (false, B.frame(0, 0, 1, Array("xxEICAR-LIKE".utf8))), (false, B.frame(0, 0, 3, Array("yyEICAR-LIKE-MA".utf8))),
            (false, B.frame(0, 0x1, 1, Array("-MARKERxx".utf8))), (false, B.frame(0, 0x1, 3, Array("RKERyy".utf8))),
        ]
        let frames = B.session(sport: 47030, [(true, client), (false, server)] + data)
        let (sids, engine) = Self.run(frames, defs)
        #expect(sids == [1, 1])
        #expect(engine.detect?.stats.bodyPoolExhausted == 0)
        #expect(engine.detect?.bodyAccumulatorsInUse == 0)
        var c = DetectConfig()
        c.bodyStreamsPerDirection = 1
        let (one, e2) = Self.run(frames, defs, config: c)
        #expect(one == [1])
        #expect(e2.detect?.stats.bodyPoolExhausted == 1)
    }

    /// Accumulating, stepping and releasing allocate nothing per packet.
    @Test func accumulationDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        engine.loadDetection(Self.definitions())
        var big: [UInt8] = Self.filler(50_000)
        big.replaceSubrange(45_000 ..< 45_017, with: Array("EICAR-LIKE-MARKER".utf8))
        let traffic = Self.exchange(body: Self.filler(100) + Array("EICAR-LIKE-MARKER".utf8), size: 9, sport: 47020)
            + Self.exchange(body: big, size: 1448, sport: 47021)
            + Self.exchange(body: Self.filler(300), cuts: [100], sport: 47022, length: 900)
        // HTTP/2: DATA frames cut across 9-byte segments, accumulated per stream side.
        let (client, server) = B.exchange(body: B.body, upload: B.upload, gzip: true)
        let h2 = B.session(sport: 47023, B.split(true, client, 9) + B.split(false, server, 9))
        var before = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic + h2, rounds: 5) { before = engine.stats.alerts }
        #expect(n == 0, "body accumulation allocated \(n) times")
        #expect(engine.stats.alerts > before)
    }
}
