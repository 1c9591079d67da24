import Testing
import UTMCore
@testable import UTMDecode

/// Splits one UDP datagram into IPv4 fragments of `size` bytes of IP payload (multiple of 8).
func fragments4(_ payload: [UInt8], size: Int, id: UInt16 = 0x4242) -> [[UInt8]] {
    let l4 = Build.udp(sport: 1111, dport: 2222, payload)
    var out: [[UInt8]] = []
    var off = 0
    while off < l4.count {
        let piece = Array(l4[off..<min(off + size, l4.count)])
        let more = off + size < l4.count
        out.append(Build.ethernet(0x0800, Build.ipv4(proto: 17, piece, id: id, df: false, more: more,
                                                     fragmentOffset: off)))
        off += size
    }
    return out
}

func fragments6(_ payload: [UInt8], size: Int, id: UInt32 = 0x0BADCAFE, hopByHop: Bool = true) -> [[UInt8]] {
    let l4 = Build.udp(sport: 3333, dport: 4444, payload)
    var out: [[UInt8]] = []
    var off = 0
    while off < l4.count {
        let piece = Array(l4[off..<min(off + size, l4.count)])
        let more = off + size < l4.count
        let frag = Build.fragment6(next: 17, offset: off, more: more, id: id)
        let ip = hopByHop ? Build.ipv6(next: 0, Build.ext(next: 44) + frag + piece)
                          : Build.ipv6(next: 44, frag + piece)
        out.append(Build.ethernet(0x86DD, ip))
        off += size
    }
    return out
}

@Suite struct DefragTests {
    let data = Build.bytes(100, seed: 3)

    func expectWhole(_ r: Decoded, _ payload: [UInt8]) {
        #expect(r.result == .decoded)
        #expect(r.packet.reassembled)
        #expect(r.payload == payload)
        #expect(r.packet.srcPort == 1111 || r.packet.srcPort == 3333)
    }

    @Test func inOrder() {
        var d = Decoder()
        let frags = fragments4(data, size: 48)
        #expect(frags.count == 3)
        for f in frags.dropLast() {
            let r = d.run(f)
            #expect(r.result == .fragmentHeld)
            #expect(r.packet.src == IPAddress("192.168.1.10") && r.packet.ipProto == 17)
            #expect(r.packet.moreFragments)
        }
        let r = d.run(frags[2])
        expectWhole(r, data)
        #expect(r.packet.fragmentOffset == 96 && !r.packet.moreFragments)
        // The rebuilt header reads as an unfragmented datagram with a valid checksum.
        #expect(r.ipPacket.count == 20 + 108)
        #expect(r.packet.ipLength == 128)
        #expect(Build.be16(UInt16(128)) == Array(r.ipPacket[2..<4]))
        #expect(r.ipPacket[6] & 0x3F == 0 && r.ipPacket[7] == 0)
        #expect(Build.checksum(Array(r.ipPacket[0..<20])) == 0)
        #expect(d.counters.fragments == 3 && d.counters.reassembled == 1 && d.counters.udp == 1)
        #expect(d.counters.ipv4 == 3)
        #expect(d.fragmentsInProgress == 0)
    }

    @Test func reversedAndShuffled() {
        var d = Decoder()
        let frags = fragments4(data, size: 16)
        var last: Decoded? = nil
        for f in frags.reversed() { last = d.run(f) }
        expectWhole(last!, data)
        let order = [3, 0, 6, 1, 5, 2, 4]
        let frags2 = fragments4(data, size: 16, id: 9)
        #expect(frags2.count == 7)
        for (i, k) in order.enumerated() {
            let r = d.run(frags2[k])
            if i < order.count - 1 { #expect(r.result == .fragmentHeld) } else { expectWhole(r, data) }
        }
    }

    @Test func duplicatesAreHarmless() {
        var d = Decoder()
        let frags = fragments4(data, size: 48)
        _ = d.run(frags[0])
        #expect(d.run(frags[0]).result == .fragmentHeld)
        _ = d.run(frags[1])
        let r = d.run(frags[2])
        expectWhole(r, data)
        #expect(r.packet.events.isEmpty)
        #expect(d.counters.count(of: .fragmentOverlap) == 0)
    }

    @Test func conflictingOverlapFirstDataWins() {
        var d = Decoder()
        let frags = fragments4(data, size: 48)
        _ = d.run(frags[0])
        // Same offset as the second fragment, different bytes.
        let l4 = Build.udp(sport: 1111, dport: 2222, data)
        var evil = Array(l4[48..<96])
        evil[5] ^= 0xFF
        let e = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, evil, id: 0x4242, more: true, fragmentOffset: 48)))
        #expect(e.result == .fragmentHeld && e.packet.events.isEmpty)
        let genuine = d.run(frags[1])
        #expect(genuine.packet.events == .fragmentOverlap)
        let r = d.run(frags[2])
        #expect(r.result == .decoded && r.packet.reassembled)
        #expect(r.packet.events.contains(.fragmentOverlap))
        // First received (evil) bytes were kept.
        #expect(r.payload == Array(l4[8..<48]) + evil + Array(l4[96...]))
        #expect(d.counters.count(of: .fragmentOverlap) == 2)
    }

    @Test func partialOverlapIsCompared() {
        var d = Decoder()
        let l4 = Build.udp(sport: 1111, dport: 2222, data)
        func frag(_ lo: Int, _ hi: Int, _ more: Bool, flip: Bool = false) -> [UInt8] {
            var piece = Array(l4[lo..<hi])
            if flip { piece[piece.count - 1] ^= 1 }
            return Build.ethernet(0x0800, Build.ipv4(proto: 17, piece, id: 5, more: more, fragmentOffset: lo))
        }
        _ = d.run(frag(0, 64, true))
        let same = d.run(frag(32, 80, true))          // overlaps 32..<64 with identical bytes
        #expect(same.packet.events.isEmpty)
        let r = d.run(frag(72, l4.count, false, flip: false))
        expectWhole(r, data)
        _ = d.run(frag(0, 64, true))
        let diff = d.run(frag(56, 64, true, flip: true))
        #expect(diff.packet.events == .fragmentOverlap)
    }

    @Test func tooManyDatagramsEvictsOldest() {
        var config = DecoderConfig()
        config.maxReassemblies = 4
        var d = Decoder(config: config)
        var firsts: [[UInt8]] = []
        for id in 1...5 {
            let frags = fragments4(data, size: 48, id: UInt16(id))
            firsts.append(frags[2])
            let r = d.run(frags[0], at: 1000 + Int64(id))
            #expect(r.result == .fragmentHeld)
            #expect(r.packet.events == (id == 5 ? .fragmentPoolFull : []))
        }
        #expect(d.fragmentsInProgress == 4)
        #expect(d.counters.count(of: .fragmentPoolFull) == 1)
        // Datagram 1 was evicted: its remaining fragments no longer complete it.
        let f1 = fragments4(data, size: 48, id: 1)
        _ = d.run(f1[1], at: 1010)
        #expect(d.run(f1[2], at: 1010).result == .fragmentHeld)
        // Datagram 5 survived.
        let f5 = fragments4(data, size: 48, id: 5)
        _ = d.run(f5[1], at: 1010)
        expectWhole(d.run(f5[2], at: 1010), data)
        // Never more than the configured pool.
        for id in 100..<200 { _ = d.run(fragments4(data, size: 48, id: UInt16(id))[0], at: 1020) }
        #expect(d.fragmentsInProgress == 4)
    }

    @Test func timeout() {
        var d = Decoder()
        let frags = fragments4(data, size: 48)
        _ = d.run(frags[0], at: 100)
        _ = d.run(frags[1], at: 100)
        // 61 s later the datagram is gone; the last fragment starts a new, incomplete one.
        #expect(d.run(frags[2], at: 161).result == .fragmentHeld)
        #expect(d.counters.fragmentTimeouts == 1)
        #expect(d.counters.reassembled == 0)
        // Within the timeout a datagram completes.
        let g = fragments4(data, size: 48, id: 7)
        _ = d.run(g[0], at: 200)
        _ = d.run(g[1], at: 230)
        expectWhole(d.run(g[2], at: 259), data)
        d.expireFragments(now: Timestamp(seconds: 1000, micros: 0))
        #expect(d.fragmentsInProgress == 0)
        #expect(d.counters.fragmentTimeouts == 2)
    }

    @Test func pingOfDeath() {
        var d = Decoder()
        let held = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.bytes(1480), id: 66, more: true, fragmentOffset: 0)))
        #expect(held.result == .fragmentHeld)
        let r = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.bytes(400), id: 66, fragmentOffset: 65200)))
        #expect(r.result == .invalid)
        #expect(r.packet.events == .fragmentTooLarge)
        #expect(d.fragmentsInProgress == 0)
        var small = DecoderConfig()
        small.maxDatagramSize = 1500
        var s = Decoder(config: small)
        let big = fragments4(Build.bytes(3000), size: 1480, id: 3)
        for f in big { _ = s.run(f) }
        #expect(s.counters.count(of: .fragmentTooLarge) == 2)   // second and third fragment
        #expect(s.counters.reassembled == 0)
        #expect(s.counters.invalid == 2)
    }

    @Test func poolDisabled() {
        var config = DecoderConfig()
        config.maxReassemblies = 0
        var d = Decoder(config: config)
        let r = d.run(fragments4(data, size: 48)[0])
        #expect(r.result == .invalid && r.packet.events == .fragmentPoolFull)
        #expect(r.packet.src == IPAddress("192.168.1.10"))
    }

    @Test func datagramTooLargeOnlyOnceHeaderIsKnown() {
        // IPv6 data fits the limit, but the unfragmentable extension headers push the rebuilt
        // payload length over it.
        var config = DecoderConfig()
        config.maxDatagramSize = 112
        var d = Decoder(config: config)
        let frags = fragments6(Build.bytes(100), size: 56)   // 108 bytes of data + 8 hop-by-hop
        _ = d.run(frags[0])
        let r = d.run(frags[1])
        #expect(r.result == .invalid && r.packet.events == .ipv6FragmentTooLarge)
        #expect(d.counters.reassembled == 0 && d.fragmentsInProgress == 0)
    }

    @Test func shapeViolations() {
        var d = Decoder()
        let odd = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(13), id: 1, more: true)))
        #expect(odd.result == .invalid && odd.packet.events == .fragmentInvalid)
        // Two final fragments that disagree on the end.
        _ = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(8), id: 2, fragmentOffset: 64)))
        let other = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(8), id: 2, fragmentOffset: 80)))
        #expect(other.packet.events == .fragmentInvalid)
        // Data past the end set by the final fragment.
        let past = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(16), id: 2, more: true, fragmentOffset: 64)))
        #expect(past.packet.events == .fragmentInvalid)
        // A final fragment that ends before data already held.
        _ = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(64), id: 3, more: true, fragmentOffset: 0)))
        let early = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.bytes(4), id: 3, fragmentOffset: 32)))
        #expect(early.packet.events == .fragmentInvalid)
    }

    @Test func keyIncludesAddressesAndProtocol() {
        var d = Decoder()
        let l4 = Build.udp(sport: 1111, dport: 2222, data)
        let first = Build.ipv4(proto: 17, Array(l4[0..<48]), id: 8, more: true)
        let otherSrc = Build.ipv4(proto: 17, Array(l4[48...]), src: [10, 0, 0, 1], id: 8, fragmentOffset: 48)
        let otherProto = Build.ipv4(proto: 6, Array(l4[48...]), id: 8, fragmentOffset: 48)
        _ = d.run(first, .raw)
        #expect(d.run(otherSrc, .raw).result == .fragmentHeld)
        #expect(d.run(otherProto, .raw).result == .fragmentHeld)
        expectWhole(d.run(Build.ipv4(proto: 17, Array(l4[48...]), id: 8, fragmentOffset: 48), .raw), data)
    }

    @Test func ipv6FragmentsWithHopByHop() {
        var d = Decoder()
        let frags = fragments6(data, size: 40)
        #expect(frags.count == 3)
        for f in frags.reversed().dropLast() {
            let r = d.run(f)
            #expect(r.result == .fragmentHeld)
            #expect(r.packet.ipID == 0x0BADCAFE && r.packet.ipProto == 17)
        }
        let r = d.run(frags[0])
        expectWhole(r, data)
        #expect(r.packet.ipVersion == 6 && r.packet.ipProto == 17)
        #expect(r.packet.ipHeaderLength == 48)
        // Fragment header removed: hop-by-hop now names UDP, payload length covers the rest.
        #expect(r.ipPacket.count == 40 + 8 + 108)
        #expect(r.ipPacket[6] == 0 && r.ipPacket[40] == 17)
        #expect(Array(r.ipPacket[4..<6]) == Build.be16(116))
        #expect(d.counters.ipv6 == 3 && d.counters.reassembled == 1)
    }

    @Test func ipv6FragmentsDirect() {
        var d = Decoder()
        let frags = fragments6(data, size: 56, hopByHop: false)
        _ = d.run(frags[0])
        let r = d.run(frags[1])
        expectWhole(r, data)
        #expect(r.ipPacket[6] == 17 && r.ipPacket.count == 40 + 108)
        // IPv6 and IPv4 datagrams with the same id do not mix.
        let v4 = fragments4(data, size: 48, id: 0xCAFE)
        let v6 = fragments6(data, size: 48, id: 0xCAFE)
        _ = d.run(v4[0]); _ = d.run(v6[1]); _ = d.run(v4[1]); _ = d.run(v6[0])
        expectWhole(d.run(v6[2]), data)
        expectWhole(d.run(v4[2]), data)
    }

    @Test func copiedDecoderDoesNotShareBuffers() {
        var config = DecoderConfig()
        config.maxReassemblies = 2
        var a = Decoder(config: config)
        let frags = fragments4(data, size: 48)
        _ = a.run(frags[0])
        var b = a
        _ = b.run(frags[1])
        let other = fragments4(Build.bytes(100, seed: 99), size: 48)
        _ = b.run(frags[2])
        _ = a.run(frags[1])
        _ = b.run(other[0])
        expectWhole(a.run(frags[2]), data)
    }
}
