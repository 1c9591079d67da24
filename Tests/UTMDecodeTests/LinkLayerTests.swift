import Testing
import UTMCore
@testable import UTMDecode

@Suite struct LinkLayerTests {
    let udpDatagram = Build.ipv4(proto: IPProto.udp, Build.udp([1, 2, 3, 4]))

    @Test func plainEthernetIPv4() {
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, udpDatagram))
        #expect(r.result == .decoded)
        #expect(r.packet.vlanCount == 0)
        #expect(r.payload == [1, 2, 3, 4])
        #expect(r.ipPacket == udpDatagram)
    }

    @Test func singleVLAN() {
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, vlans: [(0x8100, 100)], udpDatagram))
        #expect(r.result == .decoded)
        #expect(r.packet.vlanCount == 1)
        #expect(r.packet.vlanIDs.0 == 100)
        #expect(r.payload == [1, 2, 3, 4])
    }

    @Test func qinqAndTripleTags() {
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, vlans: [(0x88A8, 10), (0x8100, 20)], udpDatagram))
        #expect(r.result == .decoded)
        #expect(r.packet.vlanCount == 2)
        #expect(r.packet.vlanIDs == (10, 20) as (UInt16, UInt16))
        let three = d.run(Build.ethernet(0x0800, vlans: [(0x9100, 1), (0x88A8, 2), (0x8100, 3)], udpDatagram))
        #expect(three.result == .decoded)
        #expect(three.packet.vlanCount == 3)
        #expect(three.packet.vlanIDs.0 == 1 && three.packet.vlanIDs.1 == 2)
    }

    @Test func tooManyVLANTags() {
        var d = Decoder()
        let tags: [(UInt16, UInt16)] = [(0x8100, 1), (0x8100, 2), (0x8100, 3), (0x8100, 4)]
        let r = d.run(Build.ethernet(0x0800, vlans: tags, udpDatagram))
        #expect(r.result == .invalid)
        #expect(r.packet.events.contains(.vlanTooDeep))
        #expect(d.counters.count(of: .vlanTooDeep) == 1)
        #expect(d.counters.invalid == 1)
    }

    @Test func arpIsNotIP() {
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0806, ARPTests.body()))
        #expect(r.result == .notIP)
        #expect(r.packet.events.isEmpty)
        #expect(d.counters.notIP == 1)
        // An all-zero ARP body names no hardware or protocol: an event, still not IP.
        let zero = d.run(Build.ethernet(0x0806, [UInt8](repeating: 0, count: 28)))
        #expect(zero.result == .invalid && zero.packet.events.contains(.arpUnsupported) && zero.packet.ipVersion == 0)
    }

    @Test func linuxCookedV1AndV2() {
        var d = Decoder()
        let v1 = d.run(Build.sll(0x0800, udpDatagram), .linuxSLL)
        #expect(v1.result == .decoded)
        #expect(v1.payload == [1, 2, 3, 4])
        let six = Build.ipv6(next: IPProto.udp, Build.udp([9, 9]))
        let v2 = d.run(Build.sll2(0x86DD, six), .linuxSLL2)
        #expect(v2.result == .decoded)
        #expect(v2.packet.ipVersion == 6)
        #expect(v2.payload == [9, 9])
        #expect(d.run([UInt8](repeating: 0, count: 15), .linuxSLL).packet.events.contains(.sllTooShort))
        #expect(d.run([UInt8](repeating: 0, count: 19), .linuxSLL2).packet.events.contains(.sllTooShort))
    }

    @Test func rawIPLinkTypes() {
        var d = Decoder()
        let six = Build.ipv6(next: IPProto.udp, Build.udp([5]))
        for lt in [LinkType.raw, .rawAlt12, .rawAlt14] {
            #expect(d.run(udpDatagram, lt).packet.ipVersion == 4)
            #expect(d.run(six, lt).packet.ipVersion == 6)
            let bad = d.run([0x50] + [UInt8](repeating: 0, count: 30), lt)
            #expect(bad.result == .invalid && bad.packet.events == .ipRawInvalidVersion)
        }
        #expect(d.run(udpDatagram, .ipv4).result == .decoded)
        #expect(d.run(six, .ipv6).result == .decoded)
        let wrong = d.run(six, .ipv4)
        #expect(wrong.result == .invalid && wrong.packet.events == .ipv4WrongVersion)
    }

    @Test func bsdLoopbackBothByteOrders() {
        var d = Decoder()
        #expect(d.run([2, 0, 0, 0] + udpDatagram, .null).packet.ipVersion == 4)
        #expect(d.run([0, 0, 0, 2] + udpDatagram, .null).packet.ipVersion == 4)
        let six = Build.ipv6(next: IPProto.udp, Build.udp([5]))
        for family: UInt8 in [10, 24, 28, 30] {
            #expect(d.run([family, 0, 0, 0] + six, .null).packet.ipVersion == 6)
            #expect(d.run([0, 0, 0, family] + six, .null).packet.ipVersion == 6)
        }
        #expect(d.run([7, 0, 0, 0, 1, 2, 3], .null).result == .notIP)
        // Suricata's `ltnull.pkt_too_small` has no bit of its own (64 at most).
        let short = d.run([2, 0], .null)
        #expect(short.result == .invalid && short.packet.events == .linkInvalid)
    }

    @Test func pppoeSession() {
        var d = Decoder()
        let pppoe: [UInt8] = [0x11, 0x00, 0x00, 0x01] + Build.be16(UInt16(udpDatagram.count + 2)) + [0x00, 0x21]
        let r = d.run(Build.ethernet(0x8864, pppoe + udpDatagram))
        #expect(r.result == .decoded)
        #expect(r.payload == [1, 2, 3, 4])
        var lcp = pppoe
        lcp[6] = 0xC0; lcp[7] = 0x21
        #expect(d.run(Build.ethernet(0x8864, lcp + [1, 2, 3, 4])).result == .notIP)
        var bad = pppoe
        bad[0] = 0x21
        let wrongVersion = d.run(Build.ethernet(0x8864, bad + udpDatagram))
        #expect(wrongVersion.result == .invalid && wrongVersion.packet.events == .linkInvalid)
        #expect(d.run(Build.ethernet(0x8864, Array(pppoe[0..<7]))).packet.events == .pppoeTooShort)
    }

    @Test func mplsStack() {
        var d = Decoder()
        let label1: [UInt8] = [0x00, 0x01, 0x00, 0x40]        // not bottom
        let label2: [UInt8] = [0x00, 0x02, 0x01, 0x40]        // bottom of stack
        let r = d.run(Build.ethernet(0x8847, label1 + label2 + udpDatagram))
        #expect(r.result == .decoded)
        #expect(r.payload == [1, 2, 3, 4])
        let six = Build.ipv6(next: IPProto.udp, Build.udp([5]))
        #expect(d.run(Build.ethernet(0x8847, label2 + six)).packet.ipVersion == 6)
        let deep = [UInt8]((0..<9).flatMap { _ in label1 }) + label2 + udpDatagram
        #expect(d.run(Build.ethernet(0x8847, deep)).packet.events == .tooManyLayers)
        #expect(d.run(Build.ethernet(0x8847, label1 + [0, 1])).packet.events == .mplsTooShort)
        #expect(d.run(Build.ethernet(0x8847, label2 + [0, 0, 0, 0])).result == .notIP)
    }

    @Test func unknownRawLinkType() {
        var d = Decoder()
        var p = DecodedPacket()
        let r = udpDatagram.withByteView {
            d.decode($0, rawLinkType: 147, timestamp: .zero, into: &p)
        }
        #expect(r == .invalid)
        #expect(p.events == .unknownLinkType)
        #expect(d.counters.count(of: .unknownLinkType) == 1)
        let ok = udpDatagram.withByteView {
            d.decode($0, rawLinkType: 228, timestamp: .zero, into: &p)
        }
        #expect(ok == .decoded)
    }

    @Test func shortEthernet() {
        var d = Decoder()
        for n in 0..<14 {
            let r = d.run([UInt8](repeating: 0x08, count: n))
            #expect(r.result == .invalid)
            #expect(r.packet.events == .ethernetTooShort)
        }
    }

    @Test func captureOnlyLinkTypes() {
        var d = Decoder()
        var p = DecodedPacket()
        func run(_ frame: [UInt8], _ raw: UInt32) -> DecodeResult {
            frame.withByteView { d.decode($0, rawLinkType: raw, timestamp: .zero, into: &p) }
        }
        #expect(run([0xFF, 0x03, 0x00, 0x21] + udpDatagram, 9) == .decoded)
        #expect(p.payload.bytes == [1, 2, 3, 4])
        #expect(run([0x00, 0x57] + Build.ipv6(next: 17, Build.udp([1])), 9) == .decoded)
        #expect(run([0xC0, 0x21, 1, 1], 9) == .notIP)
        #expect(run([0x0F, 0x00, 0x08, 0x00] + udpDatagram, 104) == .decoded)
        #expect(run([0x8F, 0x00, 0x80, 0x35, 0, 0, 0, 2], 104) == .notIP)   // SLARP
        // PPI: version 0, flags 0, length 8 (LE), DLT 1 (LE), then Ethernet.
        let ppi: [UInt8] = [0, 0, 8, 0, 1, 0, 0, 0]
        #expect(run(ppi + Build.ethernet(0x0800, udpDatagram), 192) == .decoded)
        #expect(p.payload.bytes == [1, 2, 3, 4])
        #expect(run([0, 0, 8, 0, 99, 0, 0, 0, 1], 192) == .invalid)
        #expect(p.events == .unknownLinkType)
        #expect(run([0, 0, 40, 0, 1, 0, 0, 0], 192) == .invalid)
        #expect(p.events == .linkInvalid)
    }

    @Test func zeroLengthFromSegmentationOffload() {
        var d = Decoder()
        let payload = Build.tcp(flags: 0x18, [UInt8](repeating: 0x41, count: 3000))
        let v4 = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 6, payload, totalLength: 0)))
        #expect(v4.result == .decoded && v4.packet.events == .ipLengthZero)
        #expect(v4.payload.count == 3000 && v4.packet.ipLength == 20 + payload.count)
        let v6 = d.run(Build.ipv6(next: 6, payload, payloadLength: 0), .raw)
        #expect(v6.result == .decoded && v6.packet.events == .ipLengthZero && v6.payload.count == 3000)
        // An empty "no next header" packet with Ethernet padding is not TSO.
        let empty = d.run(Build.ethernet(0x86DD, Build.ipv6(next: 59, []) + [0, 0, 0, 0, 0, 0]))
        #expect(empty.result == .decoded && empty.packet.events.isEmpty && empty.packet.ipLength == 40)
    }
}
