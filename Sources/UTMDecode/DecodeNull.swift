import UTMCore

/// BSD loopback / DLT_NULL: a 4-byte address family in the byte order of the machine that
/// captured, so both orders are accepted. IPv6's number differs per system (Linux 10, NetBSD and
/// OpenBSD 24, FreeBSD 28, Darwin 30).
@inline(__always)
func decodeNull(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    guard let le = frame.u32le(0), let be = frame.u32(0) else {
        packet.events.insert(.linkInvalid)
        return LinkResult(.invalid, 0)
    }
    let family = le < 0x10000 ? le : be
    switch family {
    case 2: return LinkResult(.ipv4, 4)
    case 10, 24, 28, 30: return LinkResult(.ipv6, 4)
    default: return LinkResult(.notIP, 0)
    }
}
