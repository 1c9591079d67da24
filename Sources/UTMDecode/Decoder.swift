import UTMCore

/// Limits of the decoder. Plain values with defaults, so a configuration file only names what
/// it changes.
public struct DecoderConfig: Sendable {
    /// Fragmented datagrams held at once. Each slot reserves `maxDatagramSize` plus 512 bytes
    /// of buffer up front (about 17 MB for the default), so the pool cannot grow under a
    /// fragment flood; when full, the oldest datagram is dropped (`fragmentPoolFull`).
    public var maxReassemblies: Int = 256
    /// Largest datagram rebuilt from fragments (IPv4 total length, or IPv6 payload length);
    /// bigger ones are a ping of death and raise `fragmentTooLarge`. At most 65535.
    public var maxDatagramSize: Int = 65535
    /// How long after its first fragment a datagram may take to complete (Suricata's 60 s).
    public var fragmentTimeoutMicros: Int64 = 60_000_000

    public init() {}
}

/// What became of one frame.
public enum DecodeResult: Sendable {
    /// IP (and transport, when the protocol is one we know) headers decoded; possibly from a
    /// datagram just reassembled.
    case decoded
    /// A well-formed frame without IP (ARP, LLDP, STP, ...): no flow, stream or app layer.
    /// A decoded ARP packet has `arpOpcode` set: `arp` rules inspect it.
    case notIP
    /// A fragment kept for reassembly; IP fields are set but there is no transport header yet.
    /// A fragment the pool refuses (see the `fragment*` events) is `invalid` instead.
    case fragmentHeld
    /// Malformed at some layer: `packet.events` says which; fields are filled as far as
    /// decoding got.
    case invalid
}

/// Running totals for the stats log and the diagnostics CLI.
public struct DecoderCounters: Sendable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var ipv4: UInt64 = 0
    public var ipv6: UInt64 = 0
    public var tcp: UInt64 = 0
    public var udp: UInt64 = 0
    public var icmp: UInt64 = 0
    /// Frames that carried a fragment (IPv4 MF/offset or an IPv6 fragment header).
    public var fragments: UInt64 = 0
    /// Datagrams rebuilt from fragments.
    public var reassembled: UInt64 = 0
    /// Incomplete datagrams thrown away because their time ran out.
    public var fragmentTimeouts: UInt64 = 0
    public var invalid: UInt64 = 0
    public var notIP: UInt64 = 0
    /// Well-formed ARP packets (counted in `notIP` too).
    public var arp: UInt64 = 0
    /// Per-event counts, indexed by the event's bit number (see `count(of:)`). Inline storage:
    /// reading the counters never shares a buffer that the next packet would have to copy.
    public var events: InlineArray<64, UInt64> = .init(repeating: 0)

    public init() {}

    /// Packets that carried any of `events`' bits (summed per bit).
    public func count(of events: DecodeEvents) -> UInt64 {
        var bits = events.rawValue
        var total: UInt64 = 0
        while bits != 0 {
            total &+= self.events[bits.trailingZeroBitCount]
            bits &= bits &- 1
        }
        return total
    }
}

/// The packet decoder: link layer → IP (with reassembly) → TCP/UDP/ICMP, filling a reusable
/// `DecodedPacket` with offsets and fields over the frame's bytes.
///
/// One decoder per worker: it owns the reassembly pool, so it is not shared between threads.
/// Copying a decoder is allowed but pointless; a copy that reassembles takes its own buffers.
public struct Decoder {
    /// VLAN tags followed before giving up (802.1ad + 802.1Q + one more, like Suricata).
    public static let maxVLANTags = 3
    /// MPLS labels followed before giving up.
    public static let maxMPLSLabels = 8
    /// IPv6 extension headers walked before giving up: real traffic has one or two, long
    /// chains are an evasion trick.
    public static let maxIPv6ExtHeaders = 8
    /// IP-in-IP layers (4in4, 6in4, 4in6, 6in6) decoded before the rest is left as payload.
    public static let maxTunnelDepth = 2

    public let config: DecoderConfig
    /// `internal(set)` only because the per-protocol files extend `Decoder`; outside the module
    /// this reads as `private(set)`.
    public internal(set) var counters = DecoderCounters()
    @usableFromInline var defrag: Defrag
    /// IP-in-IP layers entered by the packet being decoded.
    var tunnelDepth = 0

    public init(config: DecoderConfig = .init()) {
        self.config = config
        self.defrag = Defrag(config: config)
    }

    /// Resets `packet` and decodes one frame. packet.payload / ipPacket borrow `frame` or, for a
    /// reassembled datagram, a decoder buffer valid until the next decode call.
    public mutating func decode(_ frame: ByteView, linkType: LinkType, timestamp: Timestamp,
                                into packet: inout DecodedPacket) -> DecodeResult {
        packet = DecodedPacket()
        packet.timestamp = timestamp
        packet.wireLength = frame.count
        counters.packets &+= 1
        counters.bytes &+= UInt64(truncatingIfNeeded: frame.count)

        let link = decodeLink(frame, linkType, &packet)
        return finish(decodeNetwork(frame, link, timestamp, &packet), &packet)
    }

    /// For capture files whose link type is just a number: an unknown one is an event rather
    /// than something the caller has to filter first.
    public mutating func decode(_ frame: ByteView, rawLinkType: UInt32, timestamp: Timestamp,
                                into packet: inout DecodedPacket) -> DecodeResult {
        if let linkType = LinkType(rawValue: rawLinkType) {
            return decode(frame, linkType: linkType, timestamp: timestamp, into: &packet)
        }
        packet = DecodedPacket()
        packet.timestamp = timestamp
        packet.wireLength = frame.count
        counters.packets &+= 1
        counters.bytes &+= UInt64(truncatingIfNeeded: frame.count)
        let link = decodeOtherLink(frame, rawLinkType, &packet)
        return finish(decodeNetwork(frame, link, timestamp, &packet), &packet)
    }

    /// Drops incomplete datagrams older than the timeout. The decoder also does this itself
    /// when it needs a slot; call it from a housekeeping tick to free buffers sooner.
    public mutating func expireFragments(now: Timestamp) {
        counters.fragmentTimeouts &+= UInt64(truncatingIfNeeded: defrag.expire(now: now.totalMicros))
    }

    /// Incomplete datagrams currently held.
    public var fragmentsInProgress: Int { defrag.inUse }

    @inline(__always)
    func decodeLink(_ frame: ByteView, _ linkType: LinkType, _ packet: inout DecodedPacket) -> LinkResult {
        switch linkType {
        case .ethernet: return decodeEthernet(frame, &packet)
        case .linuxSLL: return decodeSLL(frame, &packet)
        case .linuxSLL2: return decodeSLL2(frame, &packet)
        case .raw, .rawAlt12, .rawAlt14: return LinkResult(.byVersion, 0)
        case .ipv4: return LinkResult(.ipv4, 0)
        case .ipv6: return LinkResult(.ipv6, 0)
        case .null: return decodeNull(frame, &packet)
        }
    }

    @inline(__always)
    mutating func decodeNetwork(_ frame: ByteView, _ link: LinkResult, _ timestamp: Timestamp,
                                _ packet: inout DecodedPacket) -> DecodeResult {
        var kind = link.kind
        // Every link decoder checks its own header, so an offset past the frame is not expected.
        guard let l3 = frame.suffix(from: link.offset) else {
            packet.events.insert(.linkInvalid)
            return .invalid
        }
        if kind == .byVersion {
            guard let first = l3.u8(0) else {
                packet.events.insert(.ipv4TooShort)
                return .invalid
            }
            switch first >> 4 {
            case 4: kind = .ipv4
            case 6: kind = .ipv6
            default:
                packet.events.insert(.ipRawInvalidVersion)
                return .invalid
            }
        }
        switch kind {
        case .ipv4: return decodeIPv4(l3, timestamp, &packet, fromReassembly: false)
        case .ipv6: return decodeIPv6(l3, timestamp, &packet, fromReassembly: false)
        case .arp: return decodeARP(l3, &packet)
        case .notIP: return .notIP
        case .invalid, .byVersion: return .invalid
        }
    }

    /// Counts the result and the packet's events once, whatever path produced them.
    @inline(__always)
    mutating func finish(_ result: DecodeResult, _ packet: inout DecodedPacket) -> DecodeResult {
        switch result {
        case .invalid: counters.invalid &+= 1
        case .notIP: counters.notIP &+= 1
        case .decoded, .fragmentHeld: break
        }
        var bits = packet.events.rawValue
        while bits != 0 {
            counters.events[bits.trailingZeroBitCount] &+= 1
            bits &= bits &- 1
        }
        return result
    }

    /// Transport dispatch shared by IPv4 and IPv6: `l4` is the IP payload after all IP headers.
    @inline(__always)
    mutating func decodeTransport(_ l4: ByteView, _ proto: UInt8, _ timestamp: Timestamp,
                                  _ packet: inout DecodedPacket) -> DecodeResult {
        switch proto {
        case 4 where tunnelDepth < Decoder.maxTunnelDepth, 41 where tunnelDepth < Decoder.maxTunnelDepth:
            return decodeTunnel(l4, v6: proto == 41, timestamp, &packet)
        case IPProto.tcp:
            guard decodeTCP(l4, &packet) else { return transportFailed(&packet) }
            counters.tcp &+= 1
        case IPProto.udp:
            guard decodeUDP(l4, &packet) else { return transportFailed(&packet) }
            counters.udp &+= 1
        case IPProto.icmp:
            // Suricata does not decode ICMPv4 over IPv6; we still do, and flag it.
            if packet.ipVersion == 6 { packet.events.insert(.ipv6WithICMPv4) }
            guard decodeICMP(l4, &packet, v6: false) else { return transportFailed(&packet) }
            counters.icmp &+= 1
        case IPProto.icmpv6:
            if packet.ipVersion == 4 { packet.events.insert(.ipv4WithICMPv6) }
            guard decodeICMP(l4, &packet, v6: true) else { return transportFailed(&packet) }
            counters.icmp &+= 1
        default:
            // GRE, ESP, SCTP, tunnels...: IP-level fields only; the rest is the payload.
            packet.payload = l4
        }
        return .decoded
    }

    /// A TCP, UDP or ICMP header that could not be read, inside a datagram that could: the
    /// packet is invalid, but its IP fields are sound (`DecodedPacket.transportInvalid`).
    @inline(__always)
    func transportFailed(_ packet: inout DecodedPacket) -> DecodeResult {
        packet.transportInvalid = true
        return .invalid
    }

    /// IPv4 (protocol 4) or IPv6 (41) inside IP: 6in4 and 4in6 transition tunnels, IP-in-IP.
    /// The inner datagram replaces the outer one in `packet`, so flows, streams and the app
    /// layer see the traffic the tunnel carries, as Suricata does with its tunnel packets.
    @inline(never)
    mutating func decodeTunnel(_ inner: ByteView, v6: Bool, _ timestamp: Timestamp,
                               _ packet: inout DecodedPacket) -> DecodeResult {
        if tunnelDepth == 0 {
            // The outer header's fields are still in `packet`: keep them before the inner
            // datagram overwrites them.
            packet.tunnelProto = v6 ? 41 : 4
            packet.tunnelIPVersion = packet.ipVersion
            packet.tunnelSrc = packet.src
            packet.tunnelDst = packet.dst
        }
        tunnelDepth &+= 1
        defer { tunnelDepth &-= 1 }
        return v6 ? decodeIPv6(inner, timestamp, &packet, fromReassembly: false)
                  : decodeIPv4(inner, timestamp, &packet, fromReassembly: false)
    }

    /// Hands a fragment to the reassembly pool and, when it completes a datagram, decodes the
    /// rebuilt datagram as if it had arrived whole.
    @inline(never)
    mutating func reassemble(_ fragment: Fragment, _ timestamp: Timestamp,
                             _ packet: inout DecodedPacket) -> DecodeResult {
        counters.fragments &+= 1
        let outcome = defrag.insert(fragment, now: timestamp.totalMicros, events: &packet.events)
        counters.fragmentTimeouts &+= UInt64(truncatingIfNeeded: outcome.timedOut)
        guard outcome.accepted else { return .invalid }
        guard let datagram = outcome.datagram else {
            // Accepted but completion failed (the rebuilt datagram was too large): the event
            // is on the packet.
            let tooLarge = DecodeEvents.fragmentTooLarge.rawValue | DecodeEvents.ipv6FragmentTooLarge.rawValue
            return packet.events.rawValue & tooLarge == 0 ? .fragmentHeld : .invalid
        }
        counters.reassembled &+= 1
        let result = fragment.isV6
            ? decodeIPv6(datagram, timestamp, &packet, fromReassembly: true)
            : decodeIPv4(datagram, timestamp, &packet, fromReassembly: true)
        packet.reassembled = true
        return result
    }
}

/// What the link layer found: which network protocol follows, and where.
@usableFromInline
enum NetworkKind: Sendable {
    case ipv4, ipv6
    /// Raw IP: the version nibble decides.
    case byVersion
    /// ARP (EtherType 0x0806): decoded by DecodeARP.swift, not IP.
    case arp
    case notIP
    case invalid
}

@usableFromInline
struct LinkResult: Sendable {
    var kind: NetworkKind
    var offset: Int
    @inline(__always) init(_ kind: NetworkKind, _ offset: Int) {
        self.kind = kind
        self.offset = offset
    }
}

extension Decoder {
    /// Whether frames of this pcap link type can be decoded: capture sources refuse the others
    /// up front with a one-line error instead of counting every frame as undecodable.
    public static func supports(rawLinkType: UInt32) -> Bool {
        LinkType(rawValue: rawLinkType) != nil
            || rawLinkType == OtherLinkType.ppp || rawLinkType == OtherLinkType.ciscoHDLC
            || rawLinkType == OtherLinkType.ppi
    }
}
