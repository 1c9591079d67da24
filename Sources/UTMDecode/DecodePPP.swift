import UTMCore

/// pcap link types that only capture files carry (never NFQUEUE), so they are not `LinkType`
/// cases: `Decoder.decode(_:rawLinkType:...)` reaches them by number.
enum OtherLinkType {
    static let ppp: UInt32 = 9
    static let ciscoHDLC: UInt32 = 104
    static let ppi: UInt32 = 192
}

extension Decoder {
    /// Link types known only by number; anything else is `unknownLinkType`.
    @inline(never)
    func decodeOtherLink(_ frame: ByteView, _ rawLinkType: UInt32,
                         _ packet: inout DecodedPacket) -> LinkResult {
        switch rawLinkType {
        case OtherLinkType.ppp: return decodePPP(frame, &packet)
        case OtherLinkType.ciscoHDLC: return decodeCiscoHDLC(frame, &packet)
        case OtherLinkType.ppi:
            // Per-Packet Information: version, flags, little-endian header length and the link
            // type of what follows. Not nested: PPI inside PPI is not followed.
            guard let length = frame.u16le(2), let inner = frame.u32le(4), length >= 8,
                  let rest = frame.suffix(from: Int(length)) else {
                        packet.events.insert(.linkInvalid)
                        return LinkResult(.invalid, 0)
            }
            var link: LinkResult
            if let known = LinkType(rawValue: inner) {
                link = decodeLink(rest, known, &packet)
            } else if inner == OtherLinkType.ppp {
                link = decodePPP(rest, &packet)
            } else if inner == OtherLinkType.ciscoHDLC {
                link = decodeCiscoHDLC(rest, &packet)
            } else {
                packet.events.insert(.unknownLinkType)
                return LinkResult(.invalid, 0)
            }
            link.offset &+= Int(length)
            return link
        default:
            packet.events.insert(.unknownLinkType)
            return LinkResult(.invalid, 0)
        }
    }
}

/// PPP in HDLC-like framing (RFC 1662): an optional ff 03 address/control pair, then the
/// 2-byte PPP protocol number.
func decodePPP(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    var offset = 0
    if frame.u8(0) == 0xFF && frame.u8(1) == 0x03 { offset = 2 }
    guard let proto = frame.u16(offset) else {
        packet.events.insert(.linkInvalid)
        return LinkResult(.invalid, 0)
    }
    switch proto {
    case 0x0021: return LinkResult(.ipv4, offset &+ 2)
    case 0x0057: return LinkResult(.ipv6, offset &+ 2)
    default: return LinkResult(.notIP, 0)
    }
}

/// Cisco HDLC: address, control, then an EtherType (IP, IPv6, MPLS, or SLARP keepalives).
func decodeCiscoHDLC(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    guard let type = frame.u16(2) else {
        packet.events.insert(.linkInvalid)
        return LinkResult(.invalid, 0)
    }
    return followEtherType(type, frame, 4, &packet)
}
