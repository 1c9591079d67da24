import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
@testable import UTMEngine

/// What session 7's body review left open (README "HTTP body inspection left-overs, session 8"):
/// one host draining the accumulator pool, held bytes of an abandoned transaction dropped
/// unseen, and `bsize` never judged on a body larger than one inspection.
@Suite struct BodyLeftTests {
    typealias A = BodyAccumulationTests
    typealias B = HTTP2BodyEngineTests

    static let marker = Array("EICAR-LIKE-MARKER".utf8)

    /// `frames` as sent by client address 192.168.1.`last` instead of the builders' .10 (the
    /// IPv4 header checksum redone).
    static func fromHost(_ last: UInt8, _ frames: [[UInt8]]) -> [[UInt8]] {
        frames.map { f in
            var f = f
            guard f.count >= 34, f[12] == 0x08, f[13] == 0x00 else { return f }
            if Array(f[26 ..< 30]) == EngineTraffic.client4 { f[29] = last }
            if Array(f[30 ..< 34]) == EngineTraffic.client4 { f[33] = last }
            f[24] = 0; f[25] = 0
            var sum: UInt32 = 0
            for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
            while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
            let c = ~UInt16(sum)
            f[24] = UInt8(c >> 8); f[25] = UInt8(c & 0xff)
            return f
        }
    }

    /// Host .10 opens four downloads whose bodies stay open (a slow server, or a client that
    /// reads slowly on purpose), then host .20 downloads a body whose marker is split over two
    /// segments. With a pool of 4, host .10 took it all and .20's body fell back to per-feed
    /// inspection (the split marker missed). A host may now hold 2: .10's third and fourth
    /// bodies are inspected per feed (counted), .20 gets an accumulator and its alert.
    @Test func oneHostCannotDrainThePool() {
        let defs = A.definitions()
        var c = DetectConfig()
        c.bodyAccumulators = 4
        c.bodyAccumulatorsPerHost = 2
        let open = A.filler(100)
        func slow(_ port: UInt16) -> [[UInt8]] {
            // Up to the first body piece of a 5000-byte response: held, not ended.
            Array(A.exchange(body: open + A.filler(4900), cuts: [100], sport: port)[0 ..< 9])
        }
        func victim(_ body: [UInt8]) -> [[UInt8]] {
            Self.fromHost(20, A.exchange(body: body, cuts: [108], sport: 47310))
        }
        let split = A.filler(100) + Self.marker + A.filler(100)
        let hog = slow(47300) + slow(47301) + slow(47302) + slow(47303)
        let (sids, engine) = A.run(hog + victim(split), defs, config: c)
        #expect(sids == [1], "the other host's split marker is found")
        #expect(engine.detect?.stats.bodyHostCapped == 2)
        #expect(engine.detect?.stats.bodyPoolExhausted == 0)
        let eve = String(decoding: engine.eve.buffer, as: UTF8.self)
        #expect(eve.contains(#""body_host_capped":2"#))
        // Negative: the same with a clean body.
        #expect(A.run(hog + victim(A.filler(217)), defs, config: c).sids.isEmpty)
        // The capped host's own bodies are still inspected (per feed): a marker inside one
        // segment of its fourth body is found.
        func slowMarked(_ port: UInt16) -> [[UInt8]] {
            Array(A.exchange(body: A.filler(10) + Self.marker + A.filler(4973), cuts: [100], sport: port)[0 ..< 9])
        }
        let marked = A.run(slow(47300) + slow(47301) + slow(47302) + slowMarked(47303), defs, config: c)
        #expect(marked.sids == [1])
        #expect(marked.engine.detect?.stats.bodyHostCapped == 2)
        // A per-host cap as large as the pool: a host still never holds more than is left
        // free (BodyFix2Tests), so .10 stops at 2 of 4 and the victim keeps its accumulator.
        c.bodyAccumulatorsPerHost = 4
        let (old, e2) = A.run(hog + victim(split), defs, config: c)
        #expect(old == [1])
        #expect(e2.detect?.stats.bodyHostCapped == 2)
        #expect(e2.detect?.stats.bodyPoolExhausted == 0)
    }

    static func facts() -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = 6
        f.source = IPAddress(v4: 0x5db8_d822)
        f.destination = IPAddress(v4: 0xc0a8_010a)
        f.sourcePort = 80
        f.destinationPort = 47320
        f.direction = .toClient
        f.established = true
        f.appProto = .http
        return f
    }

    /// The direction's accumulator holds transaction 1's body (not ended) when transaction 2's
    /// body arrives: the parser let transaction 1 go without its end (a gap in the responses
    /// with a full queue hands a request out without its response). Its held bytes were
    /// released unseen; now they are handed back, once, as a cut body, before transaction 2's
    /// body takes the accumulator, and a body rule matches them.
    @Test func heldBytesOfAnAbandonedTransactionAreInspected() {
        let d = DetectEngine(definitions: A.definitions())
        let slot = d.flowSlot(index: 5, flowID: 99)
        // A packet scope, as the engine opens one per packet (one alert per signature in it).
        d.beginPacket()
        var sids: [UInt32] = []
        var orphans: [(UInt32, Int)] = []
        func inspect(_ v: ByteView) {
            var b = InspectionBuffers()
            b[.fileData] = v
            b[.httpServerBody] = v
            _ = d.inspectApp(.http, phaseMask: 1 << 4, Self.facts(), buffers: b, slot: slot, time: 1) { s, _ in
                sids.append(d.defs.signatures[s].sid)
            }
        }
        let first = A.filler(30) + Self.marker + A.filler(30)
        first.withByteView { v in
            d.feedBody(slot: slot, direction: .toClient, sequence: 1, v, ended: false) { inspect($0) }
        }
        #expect(sids.isEmpty, "held below the minimal inspect size")
        #expect(d.bodyAccumulatorsInUse == 1)
        let second = A.filler(40)
        second.withByteView { v in
            d.feedBody(slot: slot, direction: .toClient, sequence: 2, v, ended: false, orphan: { seq, held in
                orphans.append((seq, held.count))
                inspect(held)
            }) { inspect($0) }
        }
        #expect(orphans.count == 1)
        #expect(orphans.first?.0 == 1 && orphans.first?.1 == first.count)
        #expect(sids == [1], "transaction 1's marker")
        #expect(d.stats.bodyOrphansInspected == 1)
        #expect(d.bodyAccumulatorsInUse == 1, "transaction 2's body holds it now")
        // Transaction 2 ends clean: nothing more, and its bytes are not joined to 1's.
        [UInt8]().withByteView { v in
            d.feedBody(slot: slot, direction: .toClient, sequence: 2, v, ended: true) { inspect($0) }
        }
        #expect(sids == [1])
        #expect(d.bodyAccumulatorsInUse == 0)
        // An abandoned body whose held bytes were all inspected already is not inspected again.
        let big = A.filler(45000)
        big.withByteView { v in d.feedBody(slot: slot, direction: .toClient, sequence: 3, v, ended: false) { inspect($0) } }
        let before = d.stats.bodyInspections
        orphans = []
        second.withByteView { v in
            d.feedBody(slot: slot, direction: .toClient, sequence: 4, v, ended: true, orphan: { seq, held in
                orphans.append((seq, held.count))
            }) { inspect($0) }
        }
        #expect(orphans.isEmpty, "its window was inspected with the step that kept it")
        #expect(d.stats.bodyInspections == before + 1, "only transaction 4's body")
    }

    /// `bsize` reads the body's length: a 60,000-byte response in 1,400-byte segments is
    /// inspected in steps, none of which covers the whole body, so `bsize` was never judged
    /// (`bsize:>50000` and `bsize:60000` never fired). Now the body's length is given to the
    /// verifier: judged at the body's end, and a lower bound as soon as it is met.
    @Test func bsizeReadsTheBodysLength() {
        let defs = A.definitions("""
            alert http any any -> any any (msg:"large body"; flow:to_client; file_data; content:"x"; bsize:>50000; sid:31;)
            alert http any any -> any any (msg:"exact body"; flow:to_client; file_data; content:"x"; bsize:60000; sid:32;)
            alert http any any -> any any (msg:"small body"; flow:to_client; file_data; content:"x"; bsize:<40000; sid:33;)
            alert http any any -> any any (msg:"range"; flow:to_client; file_data; content:"x"; bsize:59000<>61000; sid:34;)
            """)
        #expect(A.run(A.exchange(body: A.filler(60000), size: 1400), defs).sids == [31, 32, 34])
        #expect(A.run(A.exchange(body: A.filler(60000)), defs).sids == [31, 32, 34], "in one feed")
        #expect(A.run(A.exchange(body: A.filler(30000), size: 1400), defs).sids == [33])
        #expect(A.run(A.exchange(body: A.filler(55000), size: 1400), defs).sids == [31])
        // Cut by the FIN at 45,000 of a declared 60,000: the length is unknown, only what it
        // already exceeds is true (Suricata takes `<`/`=` on the length so far as well).
        let cut = A.run(A.exchange(body: A.filler(45000), size: 1400, length: 60000), defs).sids
        #expect(cut.isEmpty)
        let defs2 = A.definitions("""
            alert http any any -> any any (msg:"over 40000"; flow:to_client; file_data; content:"x"; bsize:>40000; sid:35;)
            alert http any any -> any any (msg:"under 50000"; flow:to_client; file_data; content:"x"; bsize:<50000; sid:36;)
            """)
        #expect(A.run(A.exchange(body: A.filler(45000), size: 1400, length: 60000), defs2).sids == [35])
        // Past the 100 KiB inspection limit the length is not known either.
        #expect(A.run(A.exchange(body: A.filler(150_000), size: 1400), defs2).sids == [35])
        let defs3 = A.definitions("""
            alert http any any -> any any (msg:"under 120000"; flow:to_client; file_data; content:"x"; bsize:<120000; sid:37;)
            """)
        #expect(A.run(A.exchange(body: A.filler(150_000), size: 1400), defs3).sids.isEmpty)
        #expect(A.run(A.exchange(body: A.filler(100_000), size: 1400), defs3).sids == [37])
        // Nor is its end: `endswith` on the last byte before the limit is no match (it was).
        let limit = DetectConfig().bodyInspectLimit
        let atLimit = A.filler(limit - 7) + Array("THE-END".utf8) + A.filler(20000)
        #expect(A.run(A.exchange(body: atLimit, size: 1400), A.definitions()).sids.isEmpty)
        let endsAtLimit = A.filler(limit - 7) + Array("THE-END".utf8)
        #expect(A.run(A.exchange(body: endsAtLimit, size: 1400), A.definitions()).sids == [5], "ends exactly at the limit")
    }

    /// The host cap, the orphan hand-back and the body length allocate nothing per packet.
    @Test func leftPathsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var c = DetectConfig()
        c.bodyAccumulators = 4
        c.bodyAccumulatorsPerHost = 2
        let engine = Engine()
        c.flowCapacity = engine.flows.capacity
        engine.detect = DetectEngine(definitions: A.definitions(A.rules + """

            alert http any any -> any any (msg:"large body"; flow:to_client; file_data; content:"x"; bsize:>50000; sid:31;)
            """), config: c)
        let split = A.filler(100) + Self.marker + A.filler(100)
        var traffic: [[UInt8]] = []
        for p: UInt16 in 47330 ..< 47334 { traffic += Array(A.exchange(body: A.filler(5000), cuts: [100], sport: p)[0 ..< 9]) }
        traffic += Self.fromHost(20, A.exchange(body: split, cuts: [108], sport: 47334))
        traffic += A.exchange(body: A.filler(60000), size: 1400, sport: 47335)
        for p: UInt16 in 47330 ..< 47334 { traffic += Array(A.exchange(body: A.filler(5000), cuts: [100], sport: p)[9...]) }
        var before = engine.stats.alerts
        let n = steadyStateAllocations(engine, traffic, rounds: 5) { before = engine.stats.alerts }
        #expect(n == 0, "allocated \(n) times")
        #expect(engine.stats.alerts >= before + 2 * 5, "every round alerts on the victim and the large body")
        // The orphan hand-back on the detection engine itself.
        let d = DetectEngine(definitions: A.definitions())
        let slot = d.flowSlot(index: 1, flowID: 1)
        let bytes = A.filler(200)
        var seq: UInt32 = 0
        var seen = 0
        let count = bytes.withByteView { v in
            countAllocations {
                for _ in 0 ..< 50 {
                    seq &+= 1
                    d.feedBody(slot: slot, direction: .toClient, sequence: seq, v, ended: false, orphan: { _, held in
                        seen &+= held.count
                    }) { _ in }
                }
            }
        }
        #expect(count == 0, "allocated \(count) times")
        #expect(seen == 49 * 200)
    }
}
