import Testing
import UTMCore
@testable import UTMDecode

@Suite struct IPv6Tests {
    @Test func udpEveryField() {
        var d = Decoder()
        let udp = Build.udp(sport: 5353, dport: 5353, [1, 2, 3])
        let ip = Build.ipv6(next: IPProto.udp, udp, hopLimit: 255, trafficClass: 0xB8, flowLabel: 0xABCDE)
        let r = d.run(Build.ethernet(0x86DD, ip))
        let p = r.packet
        #expect(r.result == .decoded)
        #expect(p.ipVersion == 6)
        #expect(p.src == IPAddress("2001:db8::1") && p.dst == IPAddress("2001:db8::2"))
        #expect(p.ttl == 255 && p.tos == 0xB8 && p.flowLabel == 0xABCDE)
        #expect(p.ipProto == IPProto.udp && p.ipHeaderLength == 40 && p.ipLength == ip.count)
        #expect(p.srcPort == 5353 && p.dstPort == 5353)
        #expect(r.payload == [1, 2, 3] && r.ipPacket == ip)
        #expect(d.counters.ipv6 == 1 && d.counters.udp == 1)
    }

    @Test func extensionHeaderChain() {
        var d = Decoder()
        let seg = Build.tcp(dport: 80, [0x47, 0x45, 0x54])
        // hop-by-hop → destination options (16 bytes) → routing → TCP
        let chain = Build.ext(next: 60) + Build.ext(next: 43, units: 1) + Build.ext(next: 6)
        let r = d.run(Build.ethernet(0x86DD, Build.ipv6(next: 0, chain + seg)))
        #expect(r.result == .decoded)
        #expect(r.packet.ipProto == IPProto.tcp)
        #expect(r.packet.ipHeaderLength == 40 + chain.count)
        #expect(r.packet.dstPort == 80)
        #expect(r.payload == [0x47, 0x45, 0x54])
        #expect(r.packet.events.isEmpty)
    }

    @Test func authenticationHeaderIsSkipped() {
        var d = Decoder()
        // AH: next, payload len in 4-byte words minus 2 (4 → 24 bytes), reserved, SPI, seq, ICV.
        let ah: [UInt8] = [17, 4, 0, 0] + Build.be32(0x100) + Build.be32(1) + [UInt8](repeating: 0xEE, count: 12)
        let r = d.run(Build.ipv6(next: 51, ah + Build.udp([4, 4])), .raw)
        #expect(r.result == .decoded && r.packet.ipProto == IPProto.udp && r.payload == [4, 4])
        #expect(r.packet.ipHeaderLength == 64)
    }

    @Test func espAndNoNextHeaderStop() {
        var d = Decoder()
        let esp = d.run(Build.ipv6(next: 60, Build.ext(next: 50) + [0, 0, 1, 0, 0, 0, 0, 1, 9, 9]), .raw)
        #expect(esp.result == .decoded && esp.packet.ipProto == 50)
        #expect(esp.payload.count == 10)
        let none = d.run(Build.ipv6(next: 59, []), .raw)
        #expect(none.result == .decoded && none.packet.ipProto == 59 && none.payload.isEmpty)
    }

    @Test func chainAnomalies() {
        var d = Decoder()
        let late = d.run(Build.ipv6(next: 60, Build.ext(next: 0) + Build.ext(next: 17) + Build.udp([1])), .raw)
        #expect(late.result == .decoded && late.packet.events == .ipv6HopByHopNotFirst)
        var many: [UInt8] = []
        for _ in 0..<9 { many += Build.ext(next: 60) }
        let deep = d.run(Build.ipv6(next: 60, many + Build.udp([1])), .raw)
        #expect(deep.result == .invalid && deep.packet.events.contains(.tooManyLayers))
        // Destination options claiming 16 bytes with only 8 present.
        let cut = d.run(Build.ipv6(next: 60, [17, 1, 1, 4, 0, 0, 0, 0]), .raw)
        #expect(cut.result == .invalid && cut.packet.events == .ipv6ExtHeaderTruncated)
        let trunc = d.run(Build.ipv6(next: 17, Build.udp([1]), payloadLength: 100), .raw)
        #expect(trunc.result == .invalid && trunc.packet.events == .ipv6Truncated)
        #expect(trunc.packet.src == IPAddress("2001:db8::1"))
        #expect(d.run([0x60] + [UInt8](repeating: 0, count: 38), .raw).packet.events == .ipv6TooShort)
    }

    @Test func atomicFragmentIsNotHeld() {
        var d = Decoder()
        let r = d.run(Build.ipv6(next: 44, Build.fragment6(next: 17, offset: 0, more: false, id: 77) + Build.udp([3])), .raw)
        #expect(r.result == .decoded && r.packet.ipProto == 17 && r.payload == [3])
        #expect(r.packet.ipID == 77 && !r.packet.reassembled)
        #expect(d.fragmentsInProgress == 0)
    }

    @Test func icmpv6Echo() {
        var d = Decoder()
        let r = d.run(Build.ipv6(next: 58, Build.icmp(type: 128, id: 1, seq: 2, [0xAB])), .raw)
        #expect(r.result == .decoded && r.packet.isICMP)
        #expect(r.packet.icmpType == 128 && r.packet.icmpID == 1 && r.packet.icmpSeq == 2)
        #expect(r.payload == [0xAB])
        let na = d.run(Build.ipv6(next: 58, Build.icmp(type: 136, [])), .raw)
        #expect(na.packet.icmpType == 136 && na.packet.icmpID == 0)
        let short = d.run(Build.ipv6(next: 58, [128, 0, 0, 0]), .raw)
        #expect(short.result == .invalid && short.packet.events == .icmpv6TooShort)
    }
}
