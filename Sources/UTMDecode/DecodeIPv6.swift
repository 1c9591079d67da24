import UTMCore

/// IPv6 next-header values that are extension headers in the (n+1)*8-byte format.
@inline(__always)
func isGenericIPv6ExtHeader(_ nh: UInt8) -> Bool {
    switch nh {
    case 0, 43, 60, 135, 139, 140: return true   // hop-by-hop, routing, dest opts, mobility, HIP, shim6
    default: return false
    }
}

extension Decoder {
    /// IPv6 (RFC 8200) and its extension header chain. The chain is walked so rules and the
    /// flow table see the real transport protocol; ESP and "no next header" end the walk.
    @inline(__always)
    mutating func decodeIPv6(_ l3: ByteView, _ timestamp: Timestamp, _ packet: inout DecodedPacket,
                             fromReassembly: Bool) -> DecodeResult {
        guard l3.count >= 40, let vtf = l3.u32(0), let payloadLength = l3.u16(4),
              let firstNext = l3.u8(6), let hopLimit = l3.u8(7),
              let src = IPAddress.read(l3, at: 8, v6: true),
              let dst = IPAddress.read(l3, at: 24, v6: true) else {
            packet.events.insert(.ipv6TooShort)
            return .invalid
        }
        guard vtf >> 28 == 6 else {
            packet.events.insert(.ipv6WrongVersion)
            return .invalid
        }
        packet.ipVersion = 6
        packet.src = src
        packet.dst = dst
        packet.ttl = hopLimit
        packet.tos = UInt8(truncatingIfNeeded: vtf >> 20)
        packet.flowLabel = vtf & 0xF_FFFF
        packet.ipProto = firstNext
        if !fromReassembly { counters.ipv6 &+= 1 }

        var total = 40 &+ Int(payloadLength)
        // Zero with bytes following: a TSO capture or a jumbogram (RFC 2675). "No next header"
        // packets are legitimately empty and may carry Ethernet padding.
        if payloadLength == 0 && l3.count > 40 && firstNext != 59 && !fromReassembly {
            packet.events.insert(.ipLengthZero)
            total = l3.count
        }
        guard total <= l3.count else {
            packet.events.insert(.ipv6Truncated)
            return .invalid
        }
        let ip = l3.prefix(total)
        packet.ipLength = total
        packet.ipPacket = ip
        packet.ipHeaderLength = 40

        var next = firstNext
        var offset = 40
        /// Where the next-header byte that names the current header lives: reassembly rewrites
        /// it when it removes the fragment header.
        var nextFieldOffset = 6
        var walked = 0
        /// Extension headers seen so far, for Suricata's duplicate events: one bit per kind
        /// (`ExtSeen`), destination options counted to two (legal before and after routing).
        var seen: UInt8 = 0
        while true {
            let isExt = isGenericIPv6ExtHeader(next) || next == 44 || next == 51
            if !isExt { break }
            walked &+= 1
            if walked > Decoder.maxIPv6ExtHeaders {
                packet.events.insert(.tooManyLayers)
                return .invalid
            }
            guard let following = ip.u8(offset), let lengthField = ip.u8(offset &+ 1) else {
                packet.events.insert(.ipv6ExtHeaderTruncated)
                return .invalid
            }
            let length: Int
            if next == 44 {
                length = 8
            } else if next == 51 {
                length = (Int(lengthField) &+ 2) &* 4   // AH counts 4-byte words
            } else {
                if next == 0 && offset != 40 { packet.events.insert(.ipv6HopByHopNotFirst) }
                length = (Int(lengthField) &+ 1) &* 8
            }
            guard length <= ip.count &- offset else {
                packet.events.insert(.ipv6ExtHeaderTruncated)
                return .invalid
            }
            checkIPv6ExtHeader(next, ip, offset, length, &seen, &packet)
            if next == 44 {
                guard let field = ip.u16(offset &+ 2), let id = ip.u32(offset &+ 4) else {
                    packet.events.insert(.ipv6ExtHeaderTruncated)
                    return .invalid
                }
                let fragmentOffset = Int(field & 0xFFF8)
                let more = field & 1 != 0
                packet.ipID = id
                if more || fragmentOffset != 0 {
                    // A datagram rebuilt from fragments has no fragment header left; one here
                    // would be a fragment inside a fragment.
                    if fromReassembly {
                        packet.events.insert(.fragmentInvalid)
                        return .invalid
                    }
                    packet.fragmentOffset = fragmentOffset
                    packet.moreFragments = more
                    packet.fragmentTTL = packet.ttl
                    packet.fragmentTOS = packet.tos
                    packet.fragmentField = field
                    packet.ipProto = following
                    packet.ipHeaderLength = offset &+ 8
                    let data = ip.suffix(from: offset &+ 8) ?? .empty
                    packet.payload = data
                    let fragment = Fragment(
                        isV6: true, src: src, dst: dst, id: id, proto: following,
                        vlan: packet.vlanIDs.0, offset: fragmentOffset, more: more,
                        header: ip.prefix(offset), nextHeaderOffset: nextFieldOffset, data: data)
                    return reassemble(fragment, timestamp, &packet)
                }
                // An atomic fragment (RFC 6946): offset 0 and no more fragments; just skip it.
                packet.events.insert(.ipv6UselessFragmentHeader)
            }
            nextFieldOffset = offset
            next = following
            offset &+= length
        }
        packet.ipProto = next
        packet.ipHeaderLength = offset
        if !isKnownIPv6Upper(next) {
            packet.events.insert(.ipv6UnknownNextHeader)
        } else if next == 59 && offset < ip.count {
            packet.events.insert(.ipv6DataAfterNoneHeader)
        }
        return decodeTransport(ip.suffix(from: offset) ?? .empty, next, timestamp, &packet)
    }
}

/// Protocols after the IPv6 headers that Suricata's decoder handles (anything else raises
/// `ipv6.unknown_next_header`): TCP, UDP, ICMPv6, SCTP, IPv4 and IPv6 tunnels, GRE, ESP,
/// "no next header", and ICMPv4 (which has an event of its own).
@inline(__always)
func isKnownIPv6Upper(_ nh: UInt8) -> Bool {
    switch nh {
    case 6, 17, 58, 132, 4, 41, 47, 50, 59, 1: return true
    default: return false
    }
}

/// Bits of the `seen` byte in the extension header walk.
enum ExtSeen {
    static let hopByHop: UInt8 = 1 << 0
    static let routing: UInt8 = 1 << 1
    static let fragment: UInt8 = 1 << 2
    static let auth: UInt8 = 1 << 3
    static let destOnce: UInt8 = 1 << 4
    static let destTwice: UInt8 = 1 << 5
}

/// Suricata's per-header checks on one extension header already known to fit: duplicates,
/// routing type 0, the fragment header's reserved byte, AH duplicates, and the options inside
/// hop-by-hop and destination options headers. Events only: the walk goes on as before.
@inline(never)
func checkIPv6ExtHeader(_ nh: UInt8, _ ip: ByteView, _ offset: Int, _ length: Int,
                        _ seen: inout UInt8, _ packet: inout DecodedPacket) {
    switch nh {
    case 0:
        if seen & ExtSeen.hopByHop != 0 { packet.events.insert(.ipv6DuplicateHopByHop); return }
        seen |= ExtSeen.hopByHop
        checkIPv6Options(ip, offset &+ 2, offset &+ length, &packet)
    case 60:
        if seen & ExtSeen.destTwice != 0 { packet.events.insert(.ipv6DuplicateDestOptions); return }
        seen |= seen & ExtSeen.destOnce != 0 ? ExtSeen.destTwice : ExtSeen.destOnce
        checkIPv6Options(ip, offset &+ 2, offset &+ length, &packet)
    case 43:
        if seen & ExtSeen.routing != 0 { packet.events.insert(.ipv6DuplicateRoutingHeader); return }
        seen |= ExtSeen.routing
        if ip.u8(offset &+ 2) == 0 { packet.events.insert(.ipv6RoutingType0) }
    case 44:
        if let reserved = ip.u8(offset &+ 1), reserved != 0 {
            packet.events.insert(.ipv6FragmentReservedNonZero)
        }
        if seen & ExtSeen.fragment != 0 { packet.events.insert(.ipv6DuplicateFragmentHeader) }
        seen |= ExtSeen.fragment
    case 51:
        if seen & ExtSeen.auth != 0 { packet.events.insert(.ipv6DuplicateAuthHeader) }
        seen |= ExtSeen.auth
    default:
        break
    }
}

/// The TLV options of a hop-by-hop or destination options header, bytes [start, end):
/// lengths must stay inside, PadN must not be empty, and router alert (5), jumbo payload
/// (0xC2) and home address (0xC9) must hold their values. Stops at the first bad length.
@inline(never)
func checkIPv6Options(_ ip: ByteView, _ start: Int, _ end: Int, _ packet: inout DecodedPacket) {
    var i = start
    while i < end {
        guard let type = ip.u8(i) else { return }
        if type == 0 { i &+= 1; continue }   // Pad1
        guard end &- i >= 2, let optLength = ip.u8(i &+ 1),
              Int(optLength) <= end &- i &- 2 else {
            packet.events.insert(.ipv6OptionInvalidLength)
            return
        }
        switch type {
        case 1: if optLength == 0 { packet.events.insert(.ipv6ZeroLengthPadN) }
        case 5: if optLength < 2 { packet.events.insert(.ipv6OptionInvalidLength); return }
        case 0xC2: if optLength < 4 { packet.events.insert(.ipv6OptionInvalidLength); return }
        case 0xC9: if optLength < 16 { packet.events.insert(.ipv6OptionInvalidLength); return }
        default: break
        }
        i &+= Int(optLength) &+ 2
    }
}
