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

    // Link layer
    /// A raw link-type number the decoder does not know (capture files can carry anything).
    public static let unknownLinkType = DecodeEvents(rawValue: 1 << 0)
    /// Frame shorter than its link header (Ethernet, VLAN tag, SLL, loopback).
    public static let linkTooShort = DecodeEvents(rawValue: 1 << 1)
    /// More VLAN tags than the decoder follows (`Decoder.maxVLANTags`).
    public static let vlanTooDeep = DecodeEvents(rawValue: 1 << 2)
    /// PPPoE session header truncated or with a bad version/type.
    public static let pppoeMalformed = DecodeEvents(rawValue: 1 << 3)
    /// MPLS label stack truncated or deeper than the decoder follows.
    public static let mplsMalformed = DecodeEvents(rawValue: 1 << 4)

    // IP
    /// The IP version nibble disagrees with what the link layer announced.
    public static let ipBadVersion = DecodeEvents(rawValue: 1 << 5)
    public static let ipv4TooShort = DecodeEvents(rawValue: 1 << 6)
    /// IHL below 5 words or past the captured bytes.
    public static let ipv4BadIHL = DecodeEvents(rawValue: 1 << 7)
    /// Total length smaller than the header.
    public static let ipv4BadTotalLength = DecodeEvents(rawValue: 1 << 8)
    /// Total length larger than the bytes captured: the datagram was cut.
    public static let ipv4Truncated = DecodeEvents(rawValue: 1 << 9)
    /// An IPv4 option with a bad length; the header is still used.
    public static let ipv4OptionInvalid = DecodeEvents(rawValue: 1 << 10)
    public static let ipv6TooShort = DecodeEvents(rawValue: 1 << 11)
    /// Payload length larger than the bytes captured.
    public static let ipv6Truncated = DecodeEvents(rawValue: 1 << 12)
    /// An extension header runs past the end of the packet.
    public static let ipv6ExtHeaderTruncated = DecodeEvents(rawValue: 1 << 13)
    /// Longer extension header chain than the decoder walks (`Decoder.maxIPv6ExtHeaders`).
    public static let ipv6TooManyExtHeaders = DecodeEvents(rawValue: 1 << 14)
    /// Hop-by-hop options anywhere but directly after the IPv6 header (RFC 8200 4.1).
    public static let ipv6HopByHopNotFirst = DecodeEvents(rawValue: 1 << 15)

    // Transport
    public static let tcpTooShort = DecodeEvents(rawValue: 1 << 16)
    /// Data offset below 5 words or past the end of the segment.
    public static let tcpBadDataOffset = DecodeEvents(rawValue: 1 << 17)
    /// A TCP option with a length that is impossible for its kind or runs past the header.
    public static let tcpOptionInvalid = DecodeEvents(rawValue: 1 << 18)
    public static let udpTooShort = DecodeEvents(rawValue: 1 << 19)
    /// UDP length below 8 or larger than the IP payload.
    public static let udpBadLength = DecodeEvents(rawValue: 1 << 20)
    public static let icmpv4TooShort = DecodeEvents(rawValue: 1 << 21)
    public static let icmpv6TooShort = DecodeEvents(rawValue: 1 << 22)

    // Fragments
    /// Overlapping fragments carried different bytes (an evasion technique); the first data
    /// received was kept.
    public static let fragmentOverlap = DecodeEvents(rawValue: 1 << 23)
    /// The fragments would build a datagram larger than `DecoderConfig.maxDatagramSize`
    /// (ping of death).
    public static let fragmentTooLarge = DecodeEvents(rawValue: 1 << 24)
    /// Every reassembly slot was busy: the oldest datagram was dropped to make room.
    public static let fragmentPoolFull = DecodeEvents(rawValue: 1 << 25)
    /// A fragment that contradicts the datagram's shape: a non-final fragment whose size is
    /// not a multiple of 8, data past the end set by the final fragment, two different ends,
    /// or a fragment header inside a reassembled datagram.
    public static let fragmentInvalid = DecodeEvents(rawValue: 1 << 26)

    /// The IP length field is 0, as in captures taken on a host before TCP segmentation
    /// offload split the segment: the captured bytes are used as the packet.
    public static let ipLengthZero = DecodeEvents(rawValue: 1 << 27)

    // ARP
    /// ARP header shorter than 8 bytes, or than the addresses its sizes announce.
    public static let arpTooShort = DecodeEvents(rawValue: 1 << 28)
    /// ARP for other than Ethernet/IPv4 (hardware type, protocol type or address sizes), or
    /// opcode 0.
    public static let arpUnsupported = DecodeEvents(rawValue: 1 << 29)

    /// Number of defined event bits; counters are kept for bits below this.
    public static let definedBits = 30

    /// Suricata-style event name for rules (`decode-event:`) and EVE output, by bit index.
    public static func name(ofBit bit: Int) -> StaticString? {
        switch bit {
        case 0: return "decoder.unknown_linktype"
        case 1: return "link.pkt_too_small"
        case 2: return "vlan.too_many_layers"
        case 3: return "pppoe.malformed"
        case 4: return "mpls.malformed"
        case 5: return "ip.wrong_ip_version"
        case 6: return "ipv4.pkt_too_small"
        case 7: return "ipv4.hlen_too_small"
        case 8: return "ipv4.iplen_smaller_than_hlen"
        case 9: return "ipv4.trunc_pkt"
        case 10: return "ipv4.opt_malformed"
        case 11: return "ipv6.pkt_too_small"
        case 12: return "ipv6.trunc_pkt"
        case 13: return "ipv6.trunc_exthdr"
        case 14: return "ipv6.exthdr_too_many"
        case 15: return "ipv6.hopopts_not_first"
        case 16: return "tcp.pkt_too_small"
        case 17: return "tcp.hlen_invalid"
        case 18: return "tcp.invalid_optlen"
        case 19: return "udp.pkt_too_small"
        case 20: return "udp.len_invalid"
        case 21: return "icmpv4.pkt_too_small"
        case 22: return "icmpv6.pkt_too_small"
        case 23: return "defrag.overlap_conflict"
        case 24: return "defrag.pkt_too_large"
        case 25: return "defrag.pool_full"
        case 26: return "defrag.invalid"
        case 27: return "ip.length_zero_tso"
        case 28: return "arp.pkt_too_small"
        case 29: return "arp.unsupported"
        default: return nil
        }
    }
}
