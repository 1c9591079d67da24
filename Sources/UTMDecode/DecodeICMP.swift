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
    return true
}
