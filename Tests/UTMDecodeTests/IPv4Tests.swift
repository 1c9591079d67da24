import Testing
import UTMCore
@testable import UTMDecode

@Suite struct IPv4Tests {
    @Test func tcpSynEveryField() {
        var d = Decoder()
        let seg = Build.tcp(sport: 40000, dport: 443, seq: 0xDEADBEEF, ack: 0x01020304, flags: 0x12,
                            window: 29200, options: Build.synOptions, [0x16, 0x03, 0x01])
        let ip = Build.ipv4(proto: IPProto.tcp, seg, id: 0xBEEF, ttl: 57, tos: 0x28, df: true)
        let r = d.run(Build.ethernet(0x0800, ip), at: 42)
        let p = r.packet
        #expect(r.result == .decoded)
        #expect(p.timestamp == Timestamp(seconds: 42, micros: 0))
        #expect(p.wireLength == 14 + ip.count)
        #expect(p.ipVersion == 4)
        #expect(p.src == IPAddress("192.168.1.10"))
        #expect(p.dst == IPAddress("93.184.216.34"))
        #expect(p.ipProto == IPProto.tcp && p.isTCP && !p.isUDP && !p.isICMP)
        #expect(p.ttl == 57)
        #expect(p.tos == 0x28)
        #expect(p.ipID == 0xBEEF)
        #expect(p.dontFragment && !p.moreFragments && p.fragmentOffset == 0)
        #expect(p.ipLength == ip.count)
        #expect(p.ipHeaderLength == 20)
        #expect(p.srcPort == 40000 && p.dstPort == 443)
        #expect(p.seq == 0xDEADBEEF && p.ack == 0x01020304)
        #expect(p.tcpFlags == [.syn, .ack])
        #expect(p.window == 29200)
        #expect(p.transportHeaderLength == 20 + Build.synOptions.count)
        #expect(p.mss == 1460)
        #expect(p.windowScale == 7)
        #expect(p.sackPermitted)
        #expect(p.hasTimestampOption && p.tsVal == 0x01020304 && p.tsEcr == 0x0A0B0C0D)
        #expect(!p.reassembled)
        #expect(r.payload == [0x16, 0x03, 0x01])
        #expect(r.ipPacket == ip)
        #expect(p.events.isEmpty)
        #expect(d.counters.packets == 1 && d.counters.ipv4 == 1 && d.counters.tcp == 1)
        #expect(d.counters.bytes == UInt64(14 + ip.count))
    }

    @Test func tcpWithoutOptionsHasDefaults() {
        var d = Decoder()
        let p = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(flags: 0x10, [7])))).packet
        #expect(p.windowScale == 255 && p.mss == 0 && !p.sackPermitted && !p.hasTimestampOption)
    }

    @Test func ethernetPaddingIsNotPayload() {
        var d = Decoder()
        let ip = Build.ipv4(proto: IPProto.udp, Build.udp([0xAA, 0xBB]))
        let frame = Build.ethernet(0x0800, ip) + [UInt8](repeating: 0, count: 60 - 14 - ip.count)
        let r = d.run(frame)
        #expect(r.result == .decoded)
        #expect(r.payload == [0xAA, 0xBB])
        #expect(r.ipPacket.count == ip.count)
        #expect(r.packet.ipLength == ip.count)
    }

    @Test func optionsParsedAndChecked() {
        var d = Decoder()
        // Router alert (4 bytes) then NOP and EOL padding to 8 bytes.
        let good = Build.ipv4(proto: 17, Build.udp([1]), options: [0x94, 4, 0, 0, 1, 0, 0, 0])
        let r = d.run(Build.ethernet(0x0800, good))
        #expect(r.result == .decoded && r.packet.events.isEmpty)
        #expect(r.packet.ipHeaderLength == 28)
        #expect(r.payload == [1])
        let bad = Build.ipv4(proto: 17, Build.udp([1]), options: [0x94, 9, 0, 0])
        let b = d.run(Build.ethernet(0x0800, bad))
        #expect(b.result == .decoded)   // still usable, but flagged
        #expect(b.packet.events == .ipv4OptionInvalid)
        let zero = Build.ipv4(proto: 17, Build.udp([1]), options: [0x07, 0, 0, 0])
        #expect(d.run(Build.ethernet(0x0800, zero)).packet.events == .ipv4OptionInvalid)
    }

    @Test func badIHLAndLengths() {
        var d = Decoder()
        let payload = Build.udp([1, 2])
        let lowIHL = d.run(Build.ipv4(proto: 17, payload, ihl: 4), .raw)
        #expect(lowIHL.result == .invalid && lowIHL.packet.events == .ipv4BadIHL)
        // IHL 15 (60 bytes) over a 30-byte packet: the total length (30) is below the header,
        // which is the check Suricata reaches first.
        let highIHL = d.run(Build.ipv4(proto: 17, payload, ihl: 15), .raw)
        #expect(highIHL.result == .invalid && highIHL.packet.events == .ipv4BadTotalLength)
        let shortTotal = d.run(Build.ipv4(proto: 17, payload, totalLength: 19), .raw)
        #expect(shortTotal.result == .invalid && shortTotal.packet.events == .ipv4BadTotalLength)
        let longTotal = d.run(Build.ipv4(proto: 17, payload, totalLength: 100), .raw)
        #expect(longTotal.result == .invalid && longTotal.packet.events == .ipv4Truncated)
        // Addresses are still filled for the event log.
        #expect(longTotal.packet.src == IPAddress("192.168.1.10"))
        #expect(d.run([0x45, 0, 0], .raw).packet.events == .ipv4TooShort)
        #expect(d.counters.count(of: [.ipv4BadIHL, .ipv4TooShort]) == 2)
    }

    @Test func tcpDataOffsetAndOptions() {
        var d = Decoder()
        let low = d.run(Build.ipv4(proto: 6, Build.tcp(dataOffset: 4)), .raw)
        #expect(low.result == .invalid && low.packet.events == .tcpHeaderTooSmall)
        let high = d.run(Build.ipv4(proto: 6, Build.tcp(dataOffset: 15, [1, 2, 3])), .raw)
        #expect(high.result == .invalid && high.packet.events == .tcpBadDataOffset)
        #expect(high.packet.srcPort == 49152)   // ports are still known
        let short = d.run(Build.ipv4(proto: 6, [0, 1, 2, 3, 4, 5]), .raw)
        #expect(short.result == .invalid && short.packet.events == .tcpTooShort)
        // MSS with length 3, then an option running past the header.
        let badMSS = d.run(Build.ipv4(proto: 6, Build.tcp(options: [2, 3, 5, 1])), .raw)
        #expect(badMSS.result == .decoded && badMSS.packet.events == .tcpOptionInvalid)
        let overrun = d.run(Build.ipv4(proto: 6, Build.tcp(options: [1, 1, 8, 10])), .raw)
        #expect(overrun.packet.events == .tcpOptionInvalid)
        let bigShift = d.run(Build.ipv4(proto: 6, Build.tcp(options: [3, 3, 20, 0])), .raw)
        #expect(bigShift.packet.windowScale == 14 && bigShift.packet.events.isEmpty)
    }

    @Test func udpLengths() {
        var d = Decoder()
        let ok = d.run(Build.ipv4(proto: 17, Build.udp(sport: 1234, dport: 53, [1, 2, 3])), .raw)
        #expect(ok.result == .decoded && ok.packet.srcPort == 1234 && ok.packet.dstPort == 53)
        #expect(ok.payload == [1, 2, 3] && ok.packet.transportHeaderLength == 8)
        // A UDP length shorter than the IP payload bounds the data.
        let trimmed = d.run(Build.ipv4(proto: 17, Build.udp(length: 10, [1, 2, 3])), .raw)
        #expect(trimmed.result == .decoded && trimmed.payload == [1, 2])
        let tooLong = d.run(Build.ipv4(proto: 17, Build.udp(length: 100, [1, 2, 3])), .raw)
        #expect(tooLong.result == .invalid && tooLong.packet.events == .udpBadLength)
        let tooSmall = d.run(Build.ipv4(proto: 17, Build.udp(length: 7, [1])), .raw)
        #expect(tooSmall.result == .invalid && tooSmall.packet.events == .udpLengthInvalid)
        let short = d.run(Build.ipv4(proto: 17, [1, 2, 3]), .raw)
        #expect(short.packet.events == .udpTooShort)
        #expect(d.counters.udp == 2)
    }

    @Test func icmpEcho() {
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.icmp(type: 8, id: 0x55, seq: 3, [9, 8, 7]))))
        #expect(r.result == .decoded && r.packet.isICMP)
        #expect(r.packet.icmpType == 8 && r.packet.icmpCode == 0)
        #expect(r.packet.icmpID == 0x55 && r.packet.icmpSeq == 3)
        #expect(r.payload == [9, 8, 7])
        let unreachable = d.run(Build.ipv4(proto: 1, Build.icmp(type: 3, code: 4, [0x45])), .raw)
        #expect(unreachable.packet.icmpType == 3 && unreachable.packet.icmpCode == 4)
        #expect(unreachable.packet.icmpID == 0)
        #expect(unreachable.payload == [0x45])
        let short = d.run(Build.ipv4(proto: 1, [8, 0, 0, 0]), .raw)
        #expect(short.result == .invalid && short.packet.events == .icmpv4TooShort)
        #expect(d.counters.icmp == 2)
    }

    @Test func otherProtocolsKeepPayload() {
        var d = Decoder()
        let gre = d.run(Build.ipv4(proto: 47, [0, 0, 0x08, 0x00, 1, 2]), .raw)
        #expect(gre.result == .decoded && gre.packet.ipProto == 47)
        #expect(gre.payload == [0, 0, 0x08, 0x00, 1, 2])
    }

    @Test func decodeResetsThePacket() {
        var d = Decoder()
        var p = DecodedPacket()
        let tcp = Build.ipv4(proto: 6, Build.tcp(options: Build.synOptions, [1]))
        let arp = Build.ethernet(0x0806, [UInt8](repeating: 0, count: 28))
        _ = tcp.withByteView { d.decode($0, linkType: .raw, timestamp: .zero, into: &p) }
        #expect(p.mss == 1460)
        _ = arp.withByteView { d.decode($0, linkType: .ethernet, timestamp: .zero, into: &p) }
        #expect(p.mss == 0 && p.ipVersion == 0 && p.payload.isEmpty && p.srcPort == 0)
    }
}

@Suite struct TunnelDepthTests {
    /// IPv4-in-IPv4 nested far deeper than the tunnel limit: the decoder must stop descending
    /// at the limit (the depth check once guarded only IPv6-in-IP, so IPv4 nesting recursed
    /// once per 20-byte header: thousands of frames deep on a worker thread's stack).
    @Test func nestedIPv4InIPv4StopsAtTheLimit() {
        var inner = Build.ipv4(proto: IPProto.tcp, Build.tcp(sport: 1, dport: 2, []))
        for _ in 0..<2000 {
            inner = Build.ipv4(proto: 4, inner, totalLength: min(65535, 20 + inner.count))
            if inner.count > 60_000 { break }
        }
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, inner), at: 1)
        // Not decoded down to TCP: the innermost packet lies beyond the allowed depth.
        #expect(r.packet.ipProto != IPProto.tcp)
    }

    @Test func oneIPv4TunnelIsDecoded() {
        let inner = Build.ipv4(proto: IPProto.tcp, Build.tcp(sport: 1, dport: 2, []),
                               src: [10, 0, 0, 1], dst: [10, 0, 0, 2])
        var d = Decoder()
        let r = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 4, inner)), at: 1)
        #expect(r.result == .decoded)
        #expect(r.packet.ipProto == IPProto.tcp)
        #expect(r.packet.src == IPAddress("10.0.0.1"))
    }
}
