import UTMCore

/// Link-layer types, numbered as pcap's LINKTYPE_* values so capture files map directly.
@frozen
public enum LinkType: UInt32, Sendable {
    case null = 0          // BSD loopback: 4-byte host-order address family
    case ethernet = 1
    case raw = 101         // raw IPv4/IPv6, version from the first nibble
    case linuxSLL = 113    // Linux cooked v1
    case ipv4 = 228
    case ipv6 = 229
    case linuxSLL2 = 276   // Linux cooked v2
    /// DLT_RAW as some systems number it (12 or 14).
    case rawAlt12 = 12
    case rawAlt14 = 14
}

/// TCP header flag bits.
public struct TCPFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)
}

/// IP protocol numbers the engine treats specially.
public enum IPProto {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58
}

/// A decoded packet: offsets and header fields over the borrowed frame bytes.
///
/// Why a flat value: it is filled in place for every packet (one per worker, reused), so
/// decoding allocates nothing and later stages read fields without re-parsing. `payload`
/// borrows either the frame or a reassembly buffer of the decoder; it is valid until the next
/// `decode` call.
public struct DecodedPacket: Sendable {
    public var timestamp: Timestamp = .zero
    /// Bytes on the wire (the frame length as captured).
    public var wireLength: Int = 0
    /// 4 or 6; 0 when the frame carried no IP packet we could decode.
    public var ipVersion: UInt8 = 0
    public var src: IPAddress = .none
    public var dst: IPAddress = .none
    /// Transport protocol (after IPv6 extension headers).
    public var ipProto: UInt8 = 0
    public var ttl: UInt8 = 0
    /// Length of the IP packet (header + payload) as the header says, after reassembly.
    public var ipLength: Int = 0
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var vlanIDs: (UInt16, UInt16) = (0, 0)
    public var vlanCount: UInt8 = 0
    /// Ethernet source and destination (EVE `ether`, the device table); `.none` when the frame
    /// had no Ethernet header.
    public var srcMAC: MACAddress = .none
    public var dstMAC: MACAddress = .none
    /// IPv4 header length, or for IPv6 the fixed header plus the extension headers walked:
    /// where the transport header starts inside `ipPacket`.
    public var ipHeaderLength: Int = 0
    /// IPv4 identification, or the IPv6 fragment header's identification (rules: `id`).
    public var ipID: UInt32 = 0
    /// IPv4 type of service / IPv6 traffic class.
    public var tos: UInt8 = 0
    /// IPv6 flow label (20 bits).
    public var flowLabel: UInt32 = 0
    /// Fragment fields of this frame as received (before reassembly), for `fragbits`/`fragoffset`.
    public var fragmentOffset: Int = 0
    public var moreFragments: Bool = false
    public var dontFragment: Bool = false
    /// The header fields of this frame itself (before reassembly) that rules read per packet:
    /// when it completed a datagram, `ttl`, `tos` and the datagram's header are the first
    /// fragment's, yet the completing fragment is a packet with its own (session 12: fragments
    /// with different TTLs are a classic evasion). `fragmentField`: the IPv4 flags and offset
    /// word as received (reserved bit included), the IPv6 fragment header's offset/M word.
    public var fragmentTTL: UInt8 = 0
    public var fragmentTOS: UInt8 = 0
    public var fragmentField: UInt16 = 0
    /// TCP data offset in bytes, UDP 8, ICMP 8; 0 when no transport header was decoded.
    public var transportHeaderLength: Int = 0

    // TCP
    public var tcpFlags: TCPFlags = []
    public var seq: UInt32 = 0
    public var ack: UInt32 = 0
    public var window: UInt16 = 0
    /// Window scale option (255 when absent).
    public var windowScale: UInt8 = 255
    public var mss: UInt16 = 0
    public var sackPermitted: Bool = false
    public var hasTimestampOption: Bool = false
    public var tsVal: UInt32 = 0
    public var tsEcr: UInt32 = 0

    // ICMP
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// Identifier and sequence of echo request/reply (0 for other ICMP types).
    public var icmpID: UInt16 = 0
    public var icmpSeq: UInt16 = 0

    /// The outermost IP layer when the packet came through an IP-in-IP tunnel (6in4, 4in6,
    /// 6in6, 4in4): Suricata tracks that layer as a flow of its own (protocol 4 or 41), beside
    /// the flow of the traffic it carries. `tunnelProto` is 0 when there was no tunnel.
    public var tunnelProto: UInt8 = 0
    public var tunnelIPVersion: UInt8 = 0
    public var tunnelSrc: IPAddress = .none
    public var tunnelDst: IPAddress = .none

    /// ARP (DecodeARP.swift): the opcode (1 request, 2 reply...), 0 when the frame was not a
    /// decoded ARP packet; sender and target hardware addresses. The protocol addresses are in
    /// `src`/`dst`.
    public var arpOpcode: UInt16 = 0
    public var arpSenderMAC: MACAddress = .none
    public var arpTargetMAC: MACAddress = .none

    /// True when the IP datagram was rebuilt from fragments.
    public var reassembled: Bool = false
    /// Transport payload (TCP/UDP data, ICMP body).
    public var payload: ByteView = .empty
    /// The IP header and everything after it (for rules that look at raw IP, for RST building).
    public var ipPacket: ByteView = .empty
    /// Decoder anomalies on this packet.
    public var events: DecodeEvents = []
    /// The IP layer decoded whole (addresses, protocol and lengths are the datagram's) but its
    /// TCP, UDP or ICMP header did not. Why kept: such a packet still has a sender and a
    /// receiver, so rules that need no ports or payload (blocklists, Suricata's IP-only rules)
    /// judge it as Suricata's do.
    public var transportInvalid: Bool = false

    public init() {}

    @inlinable public var isTCP: Bool { ipProto == IPProto.tcp }
    @inlinable public var isUDP: Bool { ipProto == IPProto.udp }
    @inlinable public var isICMP: Bool { ipProto == IPProto.icmp || ipProto == IPProto.icmpv6 }
}

/// Decoder anomalies: malformed input becomes an event on the packet, counted and matchable
/// by rules, never a trap (Suricata's decoder-event model).
///
/// Each event is one bit so a packet can carry several and `DecoderCounters` can count them by
/// bit index. Bit numbers are stable: they index the counters and may be persisted; append new
/// events at the end.
public struct DecodeEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    // Bits 0-29 are the original events (renamed to Suricata's names in session 10, meanings
    // narrowed where one bit stood for two Suricata events); 30-63 were added then. A bit's
    // number indexes `DecoderCounters.events` and rule masks, so bits never move.

    // Link layer
    /// A link layer the decoder cannot read: a raw link-type number it does not know (capture
    /// files can carry anything), a capture-only link header (BSD loopback, PPP, Cisco HDLC,
    /// PPI) cut short, or a PPPoE session header with another version/type or a nonzero code.
    /// Mimamori's own event: Suricata has one name per link type for these (`ltnull.*`,
    /// `ppp.*`, `chdlc.*`, `pppoe.wrong_code`), which do not fit in 64 bits; one bit keeps
    /// every undecodable frame explained.
    public static let linkInvalid = DecodeEvents(rawValue: 1 << 0)
    /// The former name of `linkInvalid`, whose first cause it was.
    public static let unknownLinkType = linkInvalid
    /// Ethernet frame shorter than its 14-byte header.
    public static let ethernetTooShort = DecodeEvents(rawValue: 1 << 1)
    /// More VLAN tags than the decoder follows (`Decoder.maxVLANTags`).
    public static let vlanTooDeep = DecodeEvents(rawValue: 1 << 2)
    /// PPPoE session header truncated.
    public static let pppoeTooShort = DecodeEvents(rawValue: 1 << 3)
    /// MPLS label stack truncated.
    public static let mplsTooShort = DecodeEvents(rawValue: 1 << 4)

    // IP
    /// An IPv4 header (after the link layer or a tunnel said IPv4) whose version is not 4.
    public static let ipv4WrongVersion = DecodeEvents(rawValue: 1 << 5)
    public static let ipv4TooShort = DecodeEvents(rawValue: 1 << 6)
    /// IHL below 5 words.
    public static let ipv4BadIHL = DecodeEvents(rawValue: 1 << 7)
    /// Total length smaller than the header (also a header longer than the bytes captured when
    /// the total length is, as Suricata orders the checks).
    public static let ipv4BadTotalLength = DecodeEvents(rawValue: 1 << 8)
    /// Total length larger than the bytes captured: the datagram was cut.
    public static let ipv4Truncated = DecodeEvents(rawValue: 1 << 9)
    /// An IPv4 option whose length is impossible for the packet or its kind; the header is
    /// still used (Suricata stops decoding such a packet; we only flag it, no new drops).
    public static let ipv4OptionInvalid = DecodeEvents(rawValue: 1 << 10)
    public static let ipv6TooShort = DecodeEvents(rawValue: 1 << 11)
    /// Payload length larger than the bytes captured.
    public static let ipv6Truncated = DecodeEvents(rawValue: 1 << 12)
    /// An extension header runs past the end of the packet.
    public static let ipv6ExtHeaderTruncated = DecodeEvents(rawValue: 1 << 13)
    /// The decoder stopped because the packet nests deeper than it follows: more IPv6 extension
    /// headers than `Decoder.maxIPv6ExtHeaders` or MPLS labels than `Decoder.maxMPLSLabels`
    /// (Suricata's generic layer limit).
    public static let tooManyLayers = DecodeEvents(rawValue: 1 << 14)
    /// Hop-by-hop options anywhere but directly after the IPv6 header (RFC 8200 4.1).
    /// Mimamori's own event (Suricata only flags a second one, `ipv6.exthdr_dupl_hh`).
    public static let ipv6HopByHopNotFirst = DecodeEvents(rawValue: 1 << 15)

    // Transport
    public static let tcpTooShort = DecodeEvents(rawValue: 1 << 16)
    /// Data offset past the end of the segment (Suricata's name for it).
    public static let tcpBadDataOffset = DecodeEvents(rawValue: 1 << 17)
    /// A TCP option with a length that is impossible for its kind or runs past the header.
    public static let tcpOptionInvalid = DecodeEvents(rawValue: 1 << 18)
    /// Fewer than 8 bytes for the UDP header.
    public static let udpTooShort = DecodeEvents(rawValue: 1 << 19)
    /// UDP length field larger than the IP payload.
    public static let udpBadLength = DecodeEvents(rawValue: 1 << 20)
    public static let icmpv4TooShort = DecodeEvents(rawValue: 1 << 21)
    public static let icmpv6TooShort = DecodeEvents(rawValue: 1 << 22)

    // Fragments (the IPv6 twins are bits 49-52)
    /// Overlapping IPv4 fragments carried different bytes (an evasion technique); the first
    /// data received was kept. Identical retransmitted fragments are not flagged (Suricata
    /// flags any overlap; duplicates on the path are common and harmless).
    public static let fragmentOverlap = DecodeEvents(rawValue: 1 << 23)
    /// The IPv4 fragments would build a datagram larger than `DecoderConfig.maxDatagramSize`
    /// (ping of death).
    public static let fragmentTooLarge = DecodeEvents(rawValue: 1 << 24)
    /// An IPv4 fragment the pool could not take as it should: every slot was busy (the oldest
    /// datagram was dropped to make room) or there is no pool.
    public static let fragmentPoolFull = DecodeEvents(rawValue: 1 << 25)
    /// A fragment that contradicts the datagram's shape: an IPv4 non-final fragment whose size
    /// is not a multiple of 8 (IPv6: `ipv6FragInvalidLength`), data past the end set by the
    /// final fragment, two different ends, or a fragment header inside a reassembled datagram.
    /// Mimamori's own event.
    public static let fragmentInvalid = DecodeEvents(rawValue: 1 << 26)

    /// The IP length field is 0, as in captures taken on a host before TCP segmentation
    /// offload split the segment: the captured bytes are used as the packet. Mimamori's own
    /// event (Suricata calls the packet invalid).
    public static let ipLengthZero = DecodeEvents(rawValue: 1 << 27)

    // ARP (Mimamori's own events)
    /// ARP header shorter than 8 bytes, or than the addresses its sizes announce.
    public static let arpTooShort = DecodeEvents(rawValue: 1 << 28)
    /// ARP for other than Ethernet/IPv4 (hardware type, protocol type or address sizes), or
    /// opcode 0.
    public static let arpUnsupported = DecodeEvents(rawValue: 1 << 29)

    // IPv4 options (RFC 791), checked as Suricata does; none changes the decoding outcome.
    /// An option kind Suricata does not validate (neither EOL, NOP, RR, TS, SEC, LSRR,
    /// SSRR, CIPSO, SID, RTRALT nor QS).
    public static let ipv4OptionUnknownKind = DecodeEvents(rawValue: 1 << 30)
    /// A route or timestamp option whose pointer is not where its layout allows.
    public static let ipv4OptionMalformed = DecodeEvents(rawValue: 1 << 31)
    /// The same validated option twice.
    public static let ipv4OptionDuplicate = DecodeEvents(rawValue: 1 << 32)
    /// ICMPv6 (protocol 58) carried by IPv4.
    public static let ipv4WithICMPv6 = DecodeEvents(rawValue: 1 << 33)
    /// Raw IP link (no link header) whose first nibble is neither 4 nor 6.
    public static let ipRawInvalidVersion = DecodeEvents(rawValue: 1 << 34)

    // IPv6 header and extension headers (RFC 8200)
    public static let ipv6WrongVersion = DecodeEvents(rawValue: 1 << 35)
    /// A second fragment header in one packet.
    public static let ipv6DuplicateFragmentHeader = DecodeEvents(rawValue: 1 << 36)
    /// A fragment header with offset 0 and no more fragments (an atomic fragment, RFC 6946).
    public static let ipv6UselessFragmentHeader = DecodeEvents(rawValue: 1 << 37)
    public static let ipv6DuplicateRoutingHeader = DecodeEvents(rawValue: 1 << 38)
    public static let ipv6DuplicateHopByHop = DecodeEvents(rawValue: 1 << 39)
    /// A third destination options header (two are legal: before and after routing).
    public static let ipv6DuplicateDestOptions = DecodeEvents(rawValue: 1 << 40)
    public static let ipv6DuplicateAuthHeader = DecodeEvents(rawValue: 1 << 41)
    /// An option inside hop-by-hop or destination options that runs past its header, or a
    /// router-alert / jumbo / home-address option too short for its value.
    public static let ipv6OptionInvalidLength = DecodeEvents(rawValue: 1 << 42)
    /// Routing header type 0 (source routing, deprecated by RFC 5095 for amplification).
    public static let ipv6RoutingType0 = DecodeEvents(rawValue: 1 << 43)
    /// A PadN option of length 0.
    public static let ipv6ZeroLengthPadN = DecodeEvents(rawValue: 1 << 44)
    /// A fragment header whose reserved byte is not zero.
    public static let ipv6FragmentReservedNonZero = DecodeEvents(rawValue: 1 << 45)
    /// Bytes after a "no next header" (59): a covert channel.
    public static let ipv6DataAfterNoneHeader = DecodeEvents(rawValue: 1 << 46)
    /// A next header the decoder (like Suricata's) does not handle.
    public static let ipv6UnknownNextHeader = DecodeEvents(rawValue: 1 << 47)
    /// ICMPv4 (protocol 1) carried by IPv6.
    public static let ipv6WithICMPv4 = DecodeEvents(rawValue: 1 << 48)
    /// IPv6 twin of `fragmentOverlap`.
    public static let ipv6FragmentOverlap = DecodeEvents(rawValue: 1 << 49)
    /// IPv6 twin of `fragmentTooLarge`.
    public static let ipv6FragmentTooLarge = DecodeEvents(rawValue: 1 << 50)
    /// IPv6 twin of `fragmentPoolFull`.
    public static let ipv6FragmentPoolFull = DecodeEvents(rawValue: 1 << 51)
    /// An IPv6 non-final fragment whose size is not a multiple of 8 (RFC 8200 4.5).
    public static let ipv6FragInvalidLength = DecodeEvents(rawValue: 1 << 52)

    // Transport details
    /// TCP data offset below 5 words.
    public static let tcpHeaderTooSmall = DecodeEvents(rawValue: 1 << 53)
    /// The same TCP option (MSS, window scale, SACK-permitted, SACK, timestamps) twice.
    public static let tcpOptionDuplicate = DecodeEvents(rawValue: 1 << 54)
    /// UDP length field below 8, or (outside minimum-size Ethernet frames, whose padding may
    /// sit inside the IP length) shorter than the IP payload.
    public static let udpLengthInvalid = DecodeEvents(rawValue: 1 << 55)
    /// ICMPv4 type Suricata does not know (its table: 0, 3, 4, 5, 8, 11-18).
    public static let icmpv4UnknownType = DecodeEvents(rawValue: 1 << 56)
    /// ICMPv4 code out of range for its type.
    public static let icmpv4UnknownCode = DecodeEvents(rawValue: 1 << 57)
    /// An ICMPv4 error quoting fewer than 20 bytes of the offending IPv4 header.
    public static let icmpv4QuotedIPv4Truncated = DecodeEvents(rawValue: 1 << 58)
    /// ICMPv6 type outside the assigned informational and error types (unassigned and
    /// experimental ranges raise nothing: Suricata has events of their own for them).
    public static let icmpv6UnknownType = DecodeEvents(rawValue: 1 << 59)
    /// ICMPv6 code out of range for its type.
    public static let icmpv6UnknownCode = DecodeEvents(rawValue: 1 << 60)
    /// An ICMPv6 error quoting fewer than 40 bytes of the offending IPv6 header.
    public static let icmpv6QuotedIPv6Truncated = DecodeEvents(rawValue: 1 << 61)

    // Link layer details
    /// A VLAN tag cut short.
    public static let vlanTooShort = DecodeEvents(rawValue: 1 << 62)
    /// Linux cooked capture (v1 or v2) shorter than its header.
    public static let sllTooShort = DecodeEvents(rawValue: 1 << 63)

    /// No event. A literal `[]` builds an array first in debug builds (an allocation per call).
    public static let none = DecodeEvents(rawValue: 0)

    /// Number of defined event bits; counters are kept for bits below this.
    public static let definedBits = 64

    /// Suricata's event name (without its `decoder.` prefix, as `decode-event:` rules write
    /// it) by bit index; Mimamori's own events (bits 0, 15, 26-29) use names Suricata does not.
    /// Read by rules, the counters and EVE alike.
    public static func name(ofBit bit: Int) -> StaticString? {
        switch bit {
        case 0: return "decoder.link_invalid"
        case 1: return "ethernet.pkt_too_small"
        case 2: return "vlan.too_many_layers"
        case 3: return "pppoe.pkt_too_small"
        case 4: return "mpls.header_too_small"
        case 5: return "ipv4.wrong_ip_version"
        case 6: return "ipv4.pkt_too_small"
        case 7: return "ipv4.hlen_too_small"
        case 8: return "ipv4.iplen_smaller_than_hlen"
        case 9: return "ipv4.trunc_pkt"
        case 10: return "ipv4.opt_invalid_len"
        case 11: return "ipv6.pkt_too_small"
        case 12: return "ipv6.trunc_pkt"
        case 13: return "ipv6.trunc_exthdr"
        case 14: return "too_many_layers"
        case 15: return "ipv6.hopopts_not_first"
        case 16: return "tcp.pkt_too_small"
        case 17: return "tcp.hlen_too_small"
        case 18: return "tcp.opt_invalid_len"
        case 19: return "udp.hlen_too_small"
        case 20: return "udp.pkt_too_small"
        case 21: return "icmpv4.pkt_too_small"
        case 22: return "icmpv6.pkt_too_small"
        case 23: return "ipv4.frag_overlap"
        case 24: return "ipv4.frag_pkt_too_large"
        case 25: return "ipv4.frag_ignored"
        case 26: return "defrag.invalid"
        case 27: return "ip.length_zero_tso"
        case 28: return "arp.pkt_too_small"
        case 29: return "arp.unsupported"
        case 30: return "ipv4.opt_invalid"
        case 31: return "ipv4.opt_malformed"
        case 32: return "ipv4.opt_duplicate"
        case 33: return "ipv4.icmpv6"
        case 34: return "ipraw.invalid_ip_version"
        case 35: return "ipv6.wrong_ip_version"
        case 36: return "ipv6.exthdr_dupl_fh"
        case 37: return "ipv6.exthdr_useless_fh"
        case 38: return "ipv6.exthdr_dupl_rh"
        case 39: return "ipv6.exthdr_dupl_hh"
        case 40: return "ipv6.exthdr_dupl_dh"
        case 41: return "ipv6.exthdr_dupl_ah"
        case 42: return "ipv6.exthdr_invalid_optlen"
        case 43: return "ipv6.rh_type_0"
        case 44: return "ipv6.zero_len_padn"
        case 45: return "ipv6.fh_non_zero_reserved_field"
        case 46: return "ipv6.data_after_none_header"
        case 47: return "ipv6.unknown_next_header"
        case 48: return "ipv6.icmpv4"
        case 49: return "ipv6.frag_overlap"
        case 50: return "ipv6.frag_pkt_too_large"
        case 51: return "ipv6.frag_ignored"
        case 52: return "ipv6.frag_invalid_length"
        case 53: return "tcp.invalid_optlen"
        case 54: return "tcp.opt_duplicate"
        case 55: return "udp.hlen_invalid"
        case 56: return "icmpv4.unknown_type"
        case 57: return "icmpv4.unknown_code"
        case 58: return "icmpv4.ipv4_trunc_pkt"
        case 59: return "icmpv6.unknown_type"
        case 60: return "icmpv6.unknown_code"
        case 61: return "icmpv6.ipv6_trunc_pkt"
        case 62: return "vlan.header_too_small"
        case 63: return "sll.pkt_too_small"
        default: return nil
        }
    }
}
