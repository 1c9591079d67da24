import UTMCore

/// ICMPv4 (RFC 792) and ICMPv6 (RFC 4443): type, code and the 4 header bytes that follow;
/// the payload is what comes after those 8 bytes (echo data, or the quoted packet of an error).
@inline(__always)
func decodeICMP(_ l4: ByteView, _ packet: inout DecodedPacket, v6: Bool) -> Bool {
    guard l4.count >= 8, let type = l4.u8(0), let code = l4.u8(1),
          let id = l4.u16(4), let seq = l4.u16(6) else {
        packet.events.insert(v6 ? .icmpv6TooShort : .icmpv4TooShort)
        return false
    }
    packet.icmpType = type
    packet.icmpCode = code
    let isEcho = v6 ? (type == 128 || type == 129) : (type == 8 || type == 0)
    if isEcho {
        packet.icmpID = id
        packet.icmpSeq = seq
    }
    packet.transportHeaderLength = 8
    packet.payload = l4.suffix(from: 8) ?? .empty
    let quoted = l4.count &- 8
    let events = v6 ? icmpv6Events(type, code, quoted)
                    : icmpv4Events(type, code, quoted)
    if events.rawValue != 0 { packet.events.formUnion(events) }
    return true
}

/// Suricata's ICMPv4 checks: its table of known types, the codes each allows, and for errors
/// that quote the offending datagram, room for an IPv4 header in `quoted` (the bytes after
/// the 8-byte header). Events only: the packet decodes as before.
@inline(__always)
func icmpv4Events(_ type: UInt8, _ code: UInt8, _ quoted: Int) -> DecodeEvents {
    let maxCode: UInt8
    var quotes = false
    switch type {
    case 0, 8, 13, 14, 15, 16, 17, 18: maxCode = 0
    case 3: maxCode = 15; quotes = true
    case 4: maxCode = 0; quotes = true
    case 5: maxCode = 3; quotes = true
    case 11: maxCode = 1; quotes = true
    case 12: maxCode = 0; quotes = true
    default: return .icmpv4UnknownType
    }
    if code > maxCode { return .icmpv4UnknownCode }
    // Suricata looks at the quote only when there is one (source quench: even an empty one).
    if quotes && (quoted > 0 || type == 4) && quoted < 20 { return .icmpv4QuotedIPv4Truncated }
    return .none
}

/// Suricata's ICMPv6 checks (RFC 4443 and the IANA registry): codes per known type, room for
/// the quoted IPv6 header in errors. Unassigned (5-99, 102-126, 162-199) and experimental
/// (100, 101, 200, 201) types raise nothing: Suricata has separate events for those, not
/// carried here (64 bits at most).
@inline(__always)
func icmpv6Events(_ type: UInt8, _ code: UInt8, _ quoted: Int) -> DecodeEvents {
    var bad = false
    switch type {
    case 1: bad = code > 6
    case 2: bad = code != 0
    case 3: bad = code > 1
    case 4: bad = code > 2
    case 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 141, 142, 143, 144, 145, 146,
         147, 148, 149, 150, 151, 152, 153, 154, 156, 157, 158, 159, 160:
        bad = code != 0
    case 138: bad = code > 2 && code != 255
    case 139, 140: bad = code > 2
    case 155: bad = false            // RPL control: many codes
    case 161: bad = code > 4
    case 0, 127, 202...255: return .icmpv6UnknownType
    default: return .none               // unassigned or experimental
    }
    if bad { return .icmpv6UnknownCode }
    if type <= 4 && quoted < 40 { return .icmpv6QuotedIPv6Truncated }
    return .none
}
