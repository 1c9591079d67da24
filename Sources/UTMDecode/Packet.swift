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
public struct DecodeEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
}
