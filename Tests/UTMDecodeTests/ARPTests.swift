import Testing
import UTMCore
@testable import UTMDecode

/// ARP (DecodeARP.swift): the header is read for `arp` rules, bounds-checked at every length.
@Suite struct ARPTests {
    static let senderMAC: [UInt8] = [0x98, 0x90, 0x96, 0xa0, 0x44, 0xea]
    static let targetMAC: [UInt8] = [0, 0, 0, 0, 0, 0]

    /// An Ethernet/IPv4 ARP body: request 192.168.169.4 → who has 10.0.0.7.
    static func body(htype: UInt16 = 1, ptype: UInt16 = 0x0800, hlen: UInt8 = 6, plen: UInt8 = 4,
                     opcode: UInt16 = 1) -> [UInt8] {
        Build.be16(htype) + Build.be16(ptype) + [hlen, plen] + Build.be16(opcode)
            + senderMAC + [192, 168, 169, 4] + targetMAC + [10, 0, 0, 7]
    }

    @Test func requestIsDecoded() {
        var d = Decoder()
        // Ethernet pads the 42-byte frame to 60: the padding is ignored.
        let r = d.run(Build.ethernet(0x0806, Self.body() + [UInt8](repeating: 0, count: 18)))
        #expect(r.result == .notIP)
        #expect(r.packet.events.isEmpty)
        #expect(r.packet.arpOpcode == 1)
        #expect(r.packet.src == IPAddress("192.168.169.4") && r.packet.dst == IPAddress("10.0.0.7"))
        #expect(r.packet.arpSenderMAC.value == 0x989096a044ea && r.packet.arpTargetMAC.value == 0)
        #expect(r.packet.ipVersion == 0, "ARP is never tracked as a flow")
        #expect(d.counters.arp == 1 && d.counters.notIP == 1)
    }

    @Test func replyBehindVLANAndOnLinuxCooked() {
        var d = Decoder()
        let tagged = d.run(Build.ethernet(0x0806, vlans: [(0x8100, 6)], Self.body(opcode: 2)))
        #expect(tagged.result == .notIP && tagged.packet.arpOpcode == 2 && tagged.packet.vlanIDs.0 == 6)
        let cooked = d.run(Build.sll(0x0806, Self.body()), .linuxSLL)
        #expect(cooked.result == .notIP && cooked.packet.arpOpcode == 1)
        // IEEE 802 hardware type uses 6-byte MACs too.
        #expect(d.run(Build.ethernet(0x0806, Self.body(htype: 6))).packet.arpOpcode == 1)
    }

    /// Every cut of the 28-byte body is an event, never a trap or a half-filled packet.
    @Test func truncatedAtEveryLength() {
        let full = Self.body()
        for n in 0..<full.count {
            var d = Decoder()
            let r = d.run(Build.ethernet(0x0806, Array(full.prefix(n))))
            #expect(r.result == .invalid, "length \(n)")
            #expect(r.packet.events.contains(.arpTooShort), "length \(n)")
            #expect(r.packet.arpOpcode == 0 && r.packet.src == .none, "length \(n)")
            #expect(d.counters.count(of: .arpTooShort) == 1)
        }
    }

    /// Sizes that announce more bytes than there are are "too short"; formats we do not read
    /// are "unsupported".
    @Test func unsupportedFormats() {
        var d = Decoder()
        for body in [Self.body(htype: 0), Self.body(ptype: 0x86dd), Self.body(opcode: 0),
                     Self.body(hlen: 4, plen: 4), Self.body(hlen: 6, plen: 2)] {
            let r = d.run(Build.ethernet(0x0806, body))
            #expect(r.result == .invalid && r.packet.events.contains(.arpUnsupported))
            #expect(r.packet.arpOpcode == 0)
        }
        let long = d.run(Build.ethernet(0x0806, Self.body(hlen: 6, plen: 16)))
        #expect(long.result == .invalid && long.packet.events.contains(.arpTooShort))
        #expect(DecodeEvents.name(ofBit: 28) != nil && DecodeEvents.name(ofBit: 29) != nil)
    }

    /// Split anywhere, a frame decodes as its prefix would: the decoder keeps nothing between
    /// frames for ARP, so the complete frame after a cut one is still a request.
    @Test func cutFrameThenWholeFrame() {
        var d = Decoder()
        let frame = Build.ethernet(0x0806, Self.body())
        for cut in stride(from: 0, to: frame.count, by: 3) {
            _ = d.run(Array(frame.prefix(cut)))
            #expect(d.run(frame).packet.arpOpcode == 1)
        }
    }
}

/// IP-in-IP tunnels keep their outer layer in the packet (the engine tracks it as a flow).
@Suite struct TunnelLayerTests {
    @Test func outerLayerIsKept() {
        let inner4 = Build.ipv4(proto: IPProto.tcp, Build.tcp(sport: 1, dport: 2, []), src: [10, 1, 0, 1], dst: [10, 1, 0, 2])
        var d = Decoder()
        let fourInSix = d.run(Build.ethernet(0x86DD, Build.ipv6(next: 4, inner4)))
        #expect(fourInSix.result == .decoded && fourInSix.packet.ipProto == IPProto.tcp)
        #expect(fourInSix.packet.tunnelProto == 4 && fourInSix.packet.tunnelIPVersion == 6)
        #expect(fourInSix.packet.tunnelSrc == IPAddress(v6Hi: 0x20010db8_00000000, lo: 1))
        #expect(fourInSix.packet.src == IPAddress("10.1.0.1"))
        let inner6 = Build.ipv6(next: IPProto.udp, Build.udp(sport: 5, dport: 6, []))
        let sixInFour = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 41, inner6)))
        #expect(sixInFour.packet.tunnelProto == 41 && sixInFour.packet.tunnelIPVersion == 4)
        #expect(sixInFour.packet.tunnelSrc == IPAddress("192.168.1.10") && sixInFour.packet.ipVersion == 6)
        // Nested tunnels: the outermost layer is the one kept.
        let nested = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 41, Build.ipv6(next: 4, inner4))))
        #expect(nested.packet.tunnelProto == 41 && nested.packet.tunnelIPVersion == 4)
        let plain = d.run(Build.ethernet(0x0800, inner4))
        #expect(plain.packet.tunnelProto == 0 && plain.packet.tunnelSrc == .none)
    }
}
