import Testing
import UTMCore
@testable import UTMDecode

/// Every decoder event raised by a frame built in the test, clean traffic raising none, and the
/// name table `decode-event:` rules read (Suricata's names, src/decode-events.c).
@Suite struct DecodeEventsTests {
    static let udp = Build.udp([1, 2, 3, 4])

    /// One frame per event: (what the frame is, link type, bytes, the event it must raise).
    static let cases: [(String, LinkType, [UInt8], DecodeEvents)] = {
        let tcp = Build.tcp(flags: 0x02)
        var wrong4 = Build.ipv4(proto: 17, udp)
        wrong4[0] = 0x55
        var wrong6 = Build.ipv6(next: 17, udp)
        wrong6[0] = 0x70
        let hbh: (UInt8, [UInt8]) -> [UInt8] = { next, opts in [next, 0] + opts }
        let ah: (UInt8) -> [UInt8] = { next in [next, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1] }
        let routing: (UInt8, UInt8) -> [UInt8] = { next, type in [next, 0, type, 0, 0, 0, 0, 0] }
        let e4: (UInt8, [UInt8]) -> [UInt8] = { proto, l4 in Build.ethernet(0x0800, Build.ipv4(proto: proto, l4)) }
        let r6: (UInt8, [UInt8]) -> [UInt8] = { next, rest in Build.ipv6(next: next, rest) }
        return [
            ("ethernet header cut", .ethernet, [UInt8](repeating: 8, count: 10), .ethernetTooShort),
            ("four VLAN tags", .ethernet, Build.ethernet(0x0800, vlans: [(0x8100, 1), (0x8100, 2), (0x8100, 3), (0x8100, 4)],
                                                        Build.ipv4(proto: 17, udp)), .vlanTooDeep),
            ("VLAN tag cut", .ethernet, Build.ethernet(0x8100, [0, 1]), .vlanTooShort),
            ("PPPoE header cut", .ethernet, Build.ethernet(0x8864, [0x11, 0, 0, 1, 0]), .pppoeTooShort),
            ("MPLS label cut", .ethernet, Build.ethernet(0x8847, [0, 1, 0, 0x40, 0, 1]), .mplsTooShort),
            ("nine MPLS labels", .ethernet, Build.ethernet(0x8847, [UInt8]((0..<9).flatMap { _ in [UInt8](arrayLiteral: 0, 1, 0, 0x40) })
                                                           + [0, 2, 1, 0x40] + Build.ipv4(proto: 17, udp)), .tooManyLayers),
            ("IPv4 version 5", .ethernet, Build.ethernet(0x0800, wrong4), .ipv4WrongVersion),
            ("IPv4 header cut", .ethernet, Build.ethernet(0x0800, [0x45, 0, 0, 20, 0, 0]), .ipv4TooShort),
            ("IHL 4", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, ihl: 4)), .ipv4BadIHL),
            ("total length 10", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, totalLength: 10)), .ipv4BadTotalLength),
            ("total length past capture", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, totalLength: 400)), .ipv4Truncated),
            ("IHL past capture", .raw, Array(Build.ipv4(proto: 17, [], options: [1, 1, 1, 1], totalLength: 24)[0..<22]), .ipv4Truncated),
            ("IPv4 option length 1", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [7, 1, 0, 0])), .ipv4OptionInvalid),
            ("IPv4 router alert length 6", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [148, 6, 0, 0, 0, 0, 0, 0])), .ipv4OptionInvalid),
            ("IPv4 option kind 153", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [153, 4, 0, 0])), .ipv4OptionUnknownKind),
            ("record route pointer 3", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [7, 7, 3, 0, 0, 0, 0, 0])), .ipv4OptionMalformed),
            ("timestamp pointer 6", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [68, 12, 6, 0] + [UInt8](repeating: 0, count: 8))), .ipv4OptionMalformed),
            ("router alert twice", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, udp, options: [148, 4, 0, 0, 148, 4, 0, 0])), .ipv4OptionDuplicate),
            ("ICMPv6 in IPv4", .ethernet, e4(58, Build.icmp(type: 128, [1])), .ipv4WithICMPv6),
            ("raw IP version 5", .raw, [0x50] + [UInt8](repeating: 0, count: 30), .ipRawInvalidVersion),
            ("IPv6 header cut", .raw, [0x60] + [UInt8](repeating: 0, count: 38), .ipv6TooShort),
            ("IPv6 version 7", .ethernet, Build.ethernet(0x86DD, wrong6), .ipv6WrongVersion),
            ("IPv6 payload length past capture", .raw, Build.ipv6(next: 17, udp, payloadLength: 100), .ipv6Truncated),
            ("destination options cut", .raw, r6(60, [17, 1, 1, 4, 0, 0, 0, 0]), .ipv6ExtHeaderTruncated),
            ("nine destination options", .raw, r6(60, [UInt8]((0..<9).flatMap { _ in Build.ext(next: 60) }) + udp), .tooManyLayers),
            ("hop-by-hop second", .raw, r6(60, Build.ext(next: 0) + Build.ext(next: 17) + udp), .ipv6HopByHopNotFirst),
            ("two atomic fragment headers", .raw, r6(44, Build.fragment6(next: 44, offset: 0, more: false, id: 1)
                                                     + Build.fragment6(next: 17, offset: 0, more: false, id: 1) + udp), .ipv6DuplicateFragmentHeader),
            ("atomic fragment header", .raw, r6(44, Build.fragment6(next: 17, offset: 0, more: false, id: 1) + udp), .ipv6UselessFragmentHeader),
            ("fragment header reserved byte", .raw, r6(44, [17, 1, 0, 0, 0, 0, 0, 1] + udp), .ipv6FragmentReservedNonZero),
            ("two routing headers", .raw, r6(43, routing(43, 2) + routing(17, 2) + udp), .ipv6DuplicateRoutingHeader),
            ("routing type 0", .raw, r6(43, routing(17, 0) + udp), .ipv6RoutingType0),
            ("two hop-by-hop", .raw, r6(0, Build.ext(next: 0) + Build.ext(next: 17) + udp), .ipv6DuplicateHopByHop),
            ("three destination options", .raw, r6(60, Build.ext(next: 60) + Build.ext(next: 60) + Build.ext(next: 17) + udp), .ipv6DuplicateDestOptions),
            ("two AH", .raw, r6(51, ah(51) + ah(17) + udp), .ipv6DuplicateAuthHeader),
            ("router alert option length 1", .raw, r6(0, hbh(17, [5, 1, 0, 1, 1, 0]) + udp), .ipv6OptionInvalidLength),
            ("option past its header", .raw, r6(60, hbh(17, [30, 9, 0, 0, 0, 0]) + udp), .ipv6OptionInvalidLength),
            ("empty PadN", .raw, r6(60, hbh(17, [1, 0, 1, 2, 0, 0]) + udp), .ipv6ZeroLengthPadN),
            ("bytes after no next header", .raw, r6(59, [1, 2, 3]), .ipv6DataAfterNoneHeader),
            ("OSPF over IPv6", .raw, r6(89, [1, 2, 3, 4]), .ipv6UnknownNextHeader),
            ("ICMPv4 in IPv6", .raw, r6(1, Build.icmp(type: 8, [1])), .ipv6WithICMPv4),
            ("TCP header cut", .ethernet, e4(6, Array(tcp[0..<12])), .tcpTooShort),
            ("TCP data offset past segment", .ethernet, e4(6, Build.tcp(dataOffset: 15)), .tcpBadDataOffset),
            ("TCP data offset 4", .ethernet, e4(6, Build.tcp(dataOffset: 4)), .tcpHeaderTooSmall),
            ("MSS length 3", .ethernet, e4(6, Build.tcp(options: [2, 3, 0, 1])), .tcpOptionInvalid),
            ("SACK with no block", .ethernet, e4(6, Build.tcp(options: [5, 2, 1, 1])), .tcpOptionInvalid),
            ("MSS twice", .ethernet, e4(6, Build.tcp(options: [2, 4, 5, 0xB4, 2, 4, 5, 0xB4])), .tcpOptionDuplicate),
            ("UDP header cut", .ethernet, e4(17, [0, 53, 0, 53]), .udpTooShort),
            ("UDP length past payload", .ethernet, e4(17, Build.udp(length: 100, [1])), .udpBadLength),
            ("UDP length 6", .ethernet, e4(17, Build.udp(length: 6, [])), .udpLengthInvalid),
            ("UDP length short of payload", .ethernet, e4(17, Build.udp(length: 12, Build.bytes(60))), .udpLengthInvalid),
            ("ICMPv4 header cut", .ethernet, e4(1, [8, 0, 0, 0]), .icmpv4TooShort),
            ("ICMPv4 type 42", .ethernet, e4(1, Build.icmp(type: 42, [1])), .icmpv4UnknownType),
            ("echo with code 1", .ethernet, e4(1, Build.icmp(type: 8, code: 1, [1])), .icmpv4UnknownCode),
            ("unreachable code 16", .ethernet, e4(1, Build.icmp(type: 3, code: 16, [])), .icmpv4UnknownCode),
            ("unreachable quoting 10 bytes", .ethernet, e4(1, Build.icmp(type: 3, code: 1, Build.bytes(10))), .icmpv4QuotedIPv4Truncated),
            ("ICMPv6 header cut", .raw, r6(58, [128, 0, 0, 0]), .icmpv6TooShort),
            ("ICMPv6 type 250", .raw, r6(58, Build.icmp(type: 250, [1])), .icmpv6UnknownType),
            ("ICMPv6 echo code 1", .raw, r6(58, Build.icmp(type: 128, code: 1, [1])), .icmpv6UnknownCode),
            ("ICMPv6 unreachable quoting 20 bytes", .raw, r6(58, Build.icmp(type: 1, Build.bytes(20))), .icmpv6QuotedIPv6Truncated),
            ("SLL header cut", .linuxSLL, [UInt8](repeating: 0, count: 15), .sllTooShort),
            ("SLL2 header cut", .linuxSLL2, [UInt8](repeating: 0, count: 19), .sllTooShort),
            ("loopback header cut", .null, [2, 0], .linkInvalid),
            ("PPPoE version 2", .ethernet, Build.ethernet(0x8864, [0x21, 0, 0, 1, 0, 30, 0, 0x21] + Build.ipv4(proto: 17, udp)), .linkInvalid),
        ]
    }()

    @Test func eachFrameRaisesItsEvent() {
        for (what, link, frame, event) in Self.cases {
            var d = Decoder()
            let r = d.run(frame, link)
            #expect(r.packet.events.contains(event), "\(what): \(r.packet.events.rawValue)")
            #expect(d.counters.count(of: event) == 1, "\(what)")
        }
    }

    /// Events that only flag a packet leave its decoding as it was: same result, same payload.
    @Test func flagsDoNotChangeDecoding() {
        var d = Decoder()
        let flagged: [(LinkType, [UInt8], [UInt8])] = [
            (.ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, Self.udp, options: [153, 4, 0, 0])), [1, 2, 3, 4]),
            (.ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: [2, 4, 5, 0xB4, 2, 4, 5, 0xB4], [7]))), [7]),
            (.raw, Build.ipv6(next: 43, [17, 0, 0, 0, 0, 0, 0, 0] + Self.udp), [1, 2, 3, 4]),
            (.raw, Build.ipv6(next: 44, Build.fragment6(next: 17, offset: 0, more: false, id: 9) + Self.udp), [1, 2, 3, 4]),
            (.ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, Build.udp(length: 12, Build.bytes(60)))), [0, 7, 14, 21]),
            (.ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.icmp(type: 42, [5, 6]))), [5, 6]),
        ]
        for (link, frame, payload) in flagged {
            let r = d.run(frame, link)
            #expect(r.result == .decoded && !r.packet.events.isEmpty)
            #expect(r.payload == payload)
        }
    }

    /// Review: a repeated TCP option is flagged and the last copy is read (as before the
    /// check, and as Linux reads it); a copy of bad length does not hide a valid one after it.
    @Test func duplicateTCPOptionsKeepTheLastCopy() {
        var d = Decoder()
        let cases: [([UInt8], (DecodedPacket) -> Bool)] = [
            ([3, 3, 0, 3, 3, 14, 0, 0], { $0.windowScale == 14 }),
            ([2, 3, 5, 2, 4, 5, 0xB4, 0], { $0.mss == 1460 }),
            ([8, 10, 0, 0, 0, 111, 0, 0, 0, 0, 8, 10, 0, 0, 0, 222, 0, 0, 0, 0, 0, 0, 0, 0], { $0.tsVal == 222 }),
        ]
        for (options, check) in cases {
            let r = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: options, [7]))), .ethernet)
            #expect(r.result == .decoded && check(r.packet), "\(options)")
        }
        // Two valid window scales: flagged as a duplicate; one bad and one good: not a duplicate.
        let two = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: [3, 3, 0, 3, 3, 14, 0, 0], [7]))), .ethernet)
        #expect(two.packet.events.contains(.tcpOptionDuplicate))
        let badThenGood = d.run(Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: [2, 3, 5, 2, 4, 5, 0xB4, 0], [7]))), .ethernet)
        #expect(!badThenGood.packet.events.contains(.tcpOptionDuplicate))
    }

    @Test func cleanTrafficRaisesNothing() {
        var d = Decoder()
        let quoted = Build.ipv4(proto: 17, Build.udp([9]))
        let mld: [UInt8] = [58, 0, 5, 2, 0, 0, 0, 0]   // router alert, two Pad1
        let clean: [(String, LinkType, [UInt8])] = [
            ("SYN with Linux options", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: Build.synOptions)))),
            ("SACK of two blocks", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 6, Build.tcp(options: [1, 1, 5, 18] + Build.bytes(16))))),
            ("DNS query", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, Self.udp))),
            ("padded minimum frame", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, Self.udp) + [UInt8](repeating: 0, count: 14))),
            ("echo", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.icmp(type: 8, [1, 2])))),
            ("port unreachable", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 1, Build.icmp(type: 3, code: 3, quoted)))),
            ("record route and timestamps", .ethernet, Build.ethernet(0x0800, Build.ipv4(proto: 17, Self.udp,
                options: [1, 7, 7, 4, 0, 0, 0, 0, 68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]))),
            ("IPv6 UDP", .raw, Build.ipv6(next: 17, Self.udp)),
            ("IPv6 echo", .raw, Build.ipv6(next: 58, Build.icmp(type: 128, [1]))),
            ("IPv6 unreachable", .raw, Build.ipv6(next: 58, Build.icmp(type: 1, code: 4, Build.ipv6(next: 17, Self.udp)))),
            ("MLD report", .raw, Build.ipv6(next: 0, mld + Build.icmp(type: 143, [0, 0, 0, 0]), hopLimit: 1)),
            ("HBH then DST then routing type 2 then DST", .raw, Build.ipv6(next: 0, Build.ext(next: 60) + Build.ext(next: 43)
                + [60, 0, 2, 0, 0, 0, 0, 0] + Build.ext(next: 17) + Self.udp)),
            ("AH", .raw, Build.ipv6(next: 51, [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1] + Self.udp)),
            ("unassigned ICMPv6 type", .raw, Build.ipv6(next: 58, Build.icmp(type: 50, [1]))),
            ("VLAN", .ethernet, Build.ethernet(0x0800, vlans: [(0x8100, 5)], Build.ipv4(proto: 17, Self.udp))),
            ("SLL", .linuxSLL, Build.sll(0x0800, Build.ipv4(proto: 17, Self.udp))),
        ]
        for (what, link, frame) in clean {
            let r = d.run(frame, link)
            #expect(r.result == .decoded, "\(what)")
            #expect(r.packet.events.isEmpty, "\(what): \(r.packet.events.rawValue)")
        }
        let fragments = fragments4(Build.bytes(200), size: 64) + fragments6(Build.bytes(200), size: 64, hopByHop: false)
        for f in fragments { #expect(d.run(f).packet.events.isEmpty) }
        #expect(d.counters.reassembled == 2)
    }

    /// Fragment events come in IPv4/IPv6 pairs, as Suricata names them.
    @Test func fragmentEventsByFamily() {
        let l4 = Build.udp(sport: 1111, dport: 2222, Build.bytes(40))
        func v4(_ piece: [UInt8], _ off: Int, _ more: Bool) -> [UInt8] {
            Build.ethernet(0x0800, Build.ipv4(proto: 17, piece, id: 7, more: more, fragmentOffset: off))
        }
        func v6(_ piece: [UInt8], _ off: Int, _ more: Bool) -> [UInt8] {
            Build.ethernet(0x86DD, Build.ipv6(next: 44, Build.fragment6(next: 17, offset: off, more: more, id: 7) + piece))
        }
        for six in [false, true] {
            let frag = six ? v6 : v4
            var d = Decoder()
            _ = d.run(frag(Array(l4[0..<16]), 0, true))
            var evil = Array(l4[8..<16])
            evil[0] ^= 0xFF
            let overlap = d.run(frag(evil, 8, true))
            #expect(overlap.packet.events == (six ? .ipv6FragmentOverlap : .fragmentOverlap))
            let big = d.run(frag(Build.bytes(16), 65528, false))
            #expect(big.result == .invalid && big.packet.events == (six ? .ipv6FragmentTooLarge : .fragmentTooLarge))
            let odd = d.run(frag(Build.bytes(7), 0, true))
            #expect(odd.result == .invalid && odd.packet.events == (six ? .ipv6FragInvalidLength : .fragmentInvalid))
            var none = DecoderConfig()
            none.maxReassemblies = 0
            var refusing = Decoder(config: none)
            let ignored = refusing.run(frag(Array(l4[0..<16]), 0, true))
            #expect(ignored.result == .invalid && ignored.packet.events == (six ? .ipv6FragmentPoolFull : .fragmentPoolFull))
        }
    }

    /// Every event frame, cut at every length: decoding never traps and every cut is counted.
    @Test func truncatedEventFramesNeverTrap() {
        var d = Decoder()
        var frames = 0
        for (_, link, frame, _) in Self.cases {
            for n in 0...frame.count {
                _ = d.run(Array(frame[0..<n]), link)
                frames += 1
            }
        }
        #expect(d.counters.packets == UInt64(frames))
    }

    @Test func namesAreSuricatasAndUnique() {
        var names = Set<String>()
        for bit in 0..<DecodeEvents.definedBits {
            guard let name = DecodeEvents.name(ofBit: bit) else {
                Issue.record("bit \(bit) has no name")
                continue
            }
            let text = name.description
            #expect(names.insert(text).inserted, "\(text) twice")
            #expect(DecodeEvents.bit(named: Substring(text)) == bit)
            #expect(DecodeEvents.bit(named: Substring(text.uppercased())) == bit, "rules name events in any case")
            // Suricata's rule form: no `decoder.` prefix (only Mimamori's own bit 0 has one).
            // Bits 0, 15 and 26-29 are Mimamori's own events; the rest are Suricata's names.
            #expect(!text.hasPrefix("decoder.") || bit == 0)
        }
        #expect(names.count == 64)
        #expect(DecodeEvents.bit(named: "ipv4.opt_invalid_len") == 10)
        #expect(DecodeEvents.bit(named: "ipv6.frag_overlap") == 49)
        // Suricata 7's name for a UDP length below 8 (rule 2200120); hlen_invalid is its old name.
        #expect(DecodeEvents.bit(named: "udp.len_invalid") != nil
                && DecodeEvents.bit(named: "udp.len_invalid") == DecodeEvents.bit(named: "udp.hlen_invalid"))
        // Suricata events this decoder cannot raise stay out of the table: such a rule is
        // skipped with a reason instead of loading and never firing.
        for absent in ["ipv4.opt_pad_required", "ipv4.opt_eol_required", "ipv6.exthdr_dupl_eh", "gre.pkt_too_small",
                       "ipv6.hopopts_only_padding", "ltnull.pkt_too_small", "icmpv6.mld_message_with_invalid_hl",
                       "ip.wrong_ip_version", "defrag.overlap_conflict", "ipv6.exthdr_too_many",
                       "tcp.hlen_invalid", "link.pkt_too_small", "ipv4", ""] {
            #expect(DecodeEvents.bit(named: Substring(absent)) == nil, "\(absent)")
        }
    }
}
