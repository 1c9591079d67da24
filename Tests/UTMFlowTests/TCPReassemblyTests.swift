import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

@Suite struct TCPReassemblyTests {
    @Test func inOrderDataIsDeliveredStraightFromThePacket() {
        var h = Harness()
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, [.ack, .psh], seq: c, data: bytes("abc"))
        h.send(.toServer, [.ack, .psh], seq: c &+ 3, data: bytes("def"))
        #expect(h.streams[0] == bytes("abcdef"))
        #expect(h.zeroCopyChunks == 2)
        #expect(h.chunks == [StreamChunk(direction: .toServer, gapBefore: false, streamOffset: 0),
                             StreamChunk(direction: .toServer, gapBefore: false, streamOffset: 3)])
        #expect(h.reasm.counters.inOrderChunks == 2 && h.reasm.poolChunksInUse == 0)
    }

    @Test func outOfOrderSegmentsWaitForTheHole() {
        var h = Harness()
        let (c, s) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c &+ 6, data: bytes("ghi"))
        h.send(.toServer, .ack, seq: c &+ 3, data: bytes("def"))
        #expect(h.streams[0].isEmpty)
        #expect(h.reasm.poolChunksInUse == 2 && h.flow.toServer.queuedChunks == 2)
        h.send(.toClient, .ack, seq: s, data: bytes("xy"))
        h.send(.toServer, .ack, seq: c, data: bytes("abc"))
        #expect(h.streams[0] == bytes("abcdefghi"))
        #expect(h.streams[1] == bytes("xy"))
        #expect(h.chunks.map(\.streamOffset) == [0, 0, 3, 6])
        #expect(h.reasm.poolChunksInUse == 0 && h.reasm.counters.outOfOrder == 2)
    }

    @Test func retransmissionsDeliverNothing() {
        var h = Harness()
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c, data: bytes("abcdef"))
        h.send(.toServer, .ack, seq: c, data: bytes("abcdef"))
        h.send(.toServer, .ack, seq: c &+ 2, data: bytes("cd"))
        h.send(.toServer, .ack, seq: c &+ 4, data: bytes("efgh"))  // partly new
        #expect(h.streams[0] == bytes("abcdefgh"))
        #expect(h.reasm.counters.retransmissions == 2)
    }

    @Test func conflictingOverlapsKeepTheFirstBytes() {
        var h = Harness()
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c &+ 10, data: bytes("AAAAAAAAAA"))      // [10,20) queued
        h.send(.toServer, .ack, seq: c &+ 5, data: bytes("bbbbbBBBBBBBBBB"))  // [5,20): new 5..10 only
        h.send(.toServer, .ack, seq: c &+ 15, data: bytes("CCCCCCCCCC"))     // [15,25): new 20..25
        #expect(h.reasm.counters.overlapConflicts == 2)
        h.send(.toServer, .ack, seq: c, data: bytes("aaaaaZZZ"))             // [0,8): 5..8 conflicts
        #expect(h.streams[0] == bytes("aaaaa") + bytes("bbbbb") + bytes("AAAAAAAAAA") + bytes("CCCCC"))
        #expect(h.reasm.counters.overlapConflicts == 3)
        #expect(h.reasm.poolChunksInUse == 0)
    }

    @Test func aFullQueueBecomesAGap() {
        var config = testConfig()
        config.segmentChunkBytes = 16
        config.maxOutOfOrderBytesPerFlow = 64  // four chunks
        var h = Harness(config)
        let (c, _) = h.handshake(client: 10, server: 20)
        // Hole at [0,10); then 5 chunks' worth queued: the fifth does not fit.
        for i in 0..<5 {
            h.send(.toServer, .ack, seq: c &+ 10 &+ UInt32(16 * i), data: Array(repeating: UInt8(65 + i), count: 16))
        }
        #expect(h.reasm.counters.flowQueueFull == 1 && h.reasm.counters.gaps == 1)
        #expect(h.chunks.first == StreamChunk(direction: .toServer, gapBefore: true, streamOffset: 10))
        #expect(h.streams[0].count == 80 && h.chunks.dropFirst().allSatisfy { !$0.gapBefore })
        // The missing bytes arriving late are old news.
        h.send(.toServer, .ack, seq: c, data: Array(repeating: 0, count: 10))
        #expect(h.streams[0].count == 80 && h.reasm.poolChunksInUse == 0)
    }

    @Test func bytesTheReceiverAcknowledgedButWeNeverSawBecomeAGap() {
        var h = Harness()
        let (c, s) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c, data: bytes("head"))
        // [4,8) lost by the capture; [8,12) and [16,20) seen.
        h.send(.toServer, .ack, seq: c &+ 8, data: bytes("tail"))
        h.send(.toServer, .ack, seq: c &+ 16, data: bytes("more"))
        // The server acknowledges everything up to 20: both holes were sent and missed.
        h.send(.toClient, .ack, seq: s, ack: c &+ 20)
        #expect(h.streams[0] == bytes("headtailmore"))
        #expect(h.chunks.map(\.gapBefore) == [false, true, true])
        #expect(h.chunks.map(\.streamOffset) == [0, 8, 16])
        #expect(h.reasm.counters.ackedGaps == 1 && h.reasm.counters.gaps == 2)
        // An ACK beyond anything sent does not skip ahead.
        h.send(.toClient, .ack, seq: s, ack: c &+ 5000)
        h.send(.toServer, .ack, seq: c &+ 20, data: bytes("!"))
        #expect(h.streams[0] == bytes("headtailmore!") && h.chunks.last?.gapBefore == false)
    }

    @Test func sequenceNumbersWrapAround() {
        var h = Harness()
        let isn: UInt32 = 0xFFFF_FFF0
        let (c, _) = h.handshake(client: isn, server: 1)
        let data = (0..<64).map { UInt8($0) }
        // [24,64) first, then [8,24) across 2^32, then [0,8).
        h.send(.toServer, .ack, seq: c &+ 24, data: Array(data[24...]))
        h.send(.toServer, .ack, seq: c &+ 8, data: Array(data[8..<24]))
        h.send(.toServer, .ack, seq: c, data: Array(data[..<8]))
        #expect(h.streams[0] == data)
        #expect(h.flow.toServer.nextOffset == 64)
        h.send(.toServer, [.fin, .ack], seq: c &+ 64)
        #expect(h.flow.toServer.done && h.reasm.counters.finReached == 1)
    }

    @Test func streamDepthLimitsDelivery() {
        var config = testConfig()
        config.streamDepth = 100
        var h = Harness(config)
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c &+ 90, data: Array(repeating: 2, count: 50))
        h.send(.toServer, .ack, seq: c, data: Array(repeating: 1, count: 90))
        #expect(h.streams[0] == Array(repeating: 1, count: 90) + Array(repeating: 2, count: 10))
        #expect(h.flow.toServer.done && h.reasm.counters.depthReached == 1)
        h.send(.toServer, .ack, seq: c &+ 140, data: Array(repeating: 3, count: 10))
        #expect(h.streams[0].count == 100 && h.reasm.poolChunksInUse == 0)
    }

    @Test func dataOnASynIsDeliveredOnce() {
        var h = Harness()
        h.send(.toServer, .syn, seq: 500, data: bytes("TFO"))
        h.send(.toServer, .syn, seq: 500, data: bytes("TFO"))
        h.send(.toClient, [.syn, .ack], seq: 9, ack: 504)
        h.send(.toServer, .ack, seq: 504, ack: 10, data: bytes("more"))
        #expect(h.streams[0] == bytes("TFOmore"))
        #expect(h.chunks.first?.streamOffset == 0)
    }

    @Test func rstAfterDataEndsDelivery() {
        var h = Harness()
        let (c, s) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c, data: bytes("abc"))
        h.send(.toServer, .ack, seq: c &+ 10, data: bytes("queued"))
        #expect(h.reasm.poolChunksInUse == 1)
        h.send(.toClient, [.rst, .ack], seq: s, ack: c &+ 3)
        #expect(h.flow.tcpState == .closed && h.reasm.poolChunksInUse == 0)
        h.send(.toServer, .ack, seq: c &+ 3, data: bytes("defghij"))
        #expect(h.streams[0] == bytes("abc"))
        #expect(h.reasm.counters.rstWithQueuedData == 1 && h.reasm.counters.dataAfterEnd == 1)
    }

    @Test func zeroWindowProbesAndKeepAlivesAreIgnored() {
        var h = Harness()
        let (c, s) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c, data: bytes("abc"))
        h.send(.toClient, .ack, seq: s, ack: c &+ 3, window: 0)
        h.send(.toServer, .ack, seq: c &+ 3, data: bytes("X"))  // probe
        #expect(h.streams[0] == bytes("abc") && h.reasm.counters.zeroWindowProbes == 1)
        h.send(.toClient, .ack, seq: s, ack: c &+ 3, window: 1000)
        h.send(.toServer, .ack, seq: c &+ 2, data: bytes("c"))  // keep-alive
        h.send(.toServer, .ack, seq: c &+ 3, data: bytes("def"))
        #expect(h.streams[0] == bytes("abcdef") && h.reasm.counters.keepAlives == 1)
    }

    @Test func finWaitsForTheBytesBeforeIt() {
        var h = Harness()
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, [.fin, .ack], seq: c &+ 3, data: bytes("def"))
        h.send(.toServer, .ack, seq: c &+ 6, data: bytes("after fin"))
        #expect(!h.flow.toServer.done)
        h.send(.toServer, .ack, seq: c, data: bytes("abc"))
        #expect(h.streams[0] == bytes("abcdef") && h.flow.toServer.done)
        #expect(h.reasm.counters.dataAfterEnd == 1)
    }

    @Test func endingFlowsReturnTheirChunksToThePool() {
        var config = testConfig(capacity: 2)
        config.evictionSample = 2
        var h = Harness(config)
        let (c, _) = h.handshake(client: 10, server: 20)
        h.send(.toServer, .ack, seq: c &+ 100, data: Array(repeating: 1, count: 1000))
        #expect(h.reasm.poolChunksInUse == 2)
        // Two more half-open flows evict the first one (oldest new or closed first; the
        // established one only once idle) — here the flows are all at the same time, so end
        // the established one by timeout instead.
        h.expire(seconds: 1000 + 601)
        #expect(h.reasm.poolChunksInUse == 0 && h.ended == [.timeout])
    }

    /// Every split of a byte stream into segments, delivered in any order and with
    /// duplicates, yields exactly the stream.
    @Test func everySplitInAnyOrderYieldsTheStream() {
        var rng = SeededRNG(seed: 0x5EED)
        // Exhaustive over the splits of a short stream.
        let short = bytes("0123456")
        for mask in 0..<(1 << (short.count - 1)) {
            var cuts = [0]
            for i in 1..<short.count where mask & (1 << (i - 1)) != 0 { cuts.append(i) }
            cuts.append(short.count)
            for _ in 0..<4 {
                check(short, cuts: cuts, isn: UInt32.random(in: 0...UInt32.max, using: &rng), rng: &rng)
            }
        }
        // Random splits of longer streams, ISNs near the wrap, random chunk sizes.
        for _ in 0..<150 {
            let n = Int.random(in: 1...3000, using: &rng)
            let data = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var cuts = [0]
            var i = 0
            while i < n {
                i += Int.random(in: 1...700, using: &rng)
                cuts.append(Swift.min(i, n))
            }
            let isn = Bool.random(using: &rng) ? UInt32.max &- UInt32.random(in: 0...4000, using: &rng)
                                               : UInt32.random(in: 0...UInt32.max, using: &rng)
            check(data, cuts: cuts, isn: isn, rng: &rng)
        }
    }

    func check(_ data: [UInt8], cuts: [Int], isn: UInt32, rng: inout SeededRNG) {
        var h = Harness()
        let (c, _) = h.handshake(client: isn, server: 7)
        var segs = (0..<(cuts.count - 1)).map { (cuts[$0], cuts[$0 + 1]) }
        // Some duplicates and some overlapping re-sends of the same bytes.
        for _ in 0..<Int.random(in: 0...2, using: &rng) where !segs.isEmpty {
            let s = segs.randomElement(using: &rng)!
            let a = Int.random(in: 0...s.0, using: &rng)
            segs.append((a, s.1))
        }
        segs.shuffle(using: &rng)
        for (a, b) in segs {
            h.send(.toServer, .ack, seq: c &+ UInt32(a), data: Array(data[a..<b]))
        }
        #expect(h.streams[0] == data, "cuts \(cuts) isn \(isn)")
        #expect(h.chunks.allSatisfy { !$0.gapBefore })
        #expect(h.reasm.poolChunksInUse == 0)
        #expect(h.reasm.counters.overlapConflicts == 0)
    }
}
