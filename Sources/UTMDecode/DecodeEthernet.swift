import UTMCore

/// EtherType values the decoder follows.
enum EtherType {
    static let ipv4: UInt16 = 0x0800
    static let ipv6: UInt16 = 0x86DD
    static let vlan: UInt16 = 0x8100       // 802.1Q
    static let qinq: UInt16 = 0x88A8       // 802.1ad service tag
    static let qinqOld: UInt16 = 0x9100    // pre-standard QinQ still seen on carrier gear
    static let pppoeSession: UInt16 = 0x8864
    static let mplsUnicast: UInt16 = 0x8847
    static let mplsMulticast: UInt16 = 0x8848
    static let arp: UInt16 = 0x0806
}

/// Ethernet II: 6-byte destination, 6-byte source, EtherType.
@inline(__always)
func decodeEthernet(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    guard let type = frame.u16(12) else {
        packet.events.insert(.ethernetTooShort)
        return LinkResult(.invalid, 0)
    }
    // Both present once the EtherType is: it sits after them.
    packet.dstMAC = MACAddress.read(frame, at: 0) ?? .none
    packet.srcMAC = MACAddress.read(frame, at: 6) ?? .none
    return followEtherType(type, frame, 14, &packet)
}

/// Walks VLAN tags, a PPPoE session header and MPLS labels until an IP header (or something
/// that is not IP) is reached. Shared by Ethernet and Linux cooked captures, which both name the
/// next protocol by EtherType.
@inline(__always)
func followEtherType(_ firstType: UInt16, _ frame: ByteView, _ firstOffset: Int,
                     _ packet: inout DecodedPacket) -> LinkResult {
    var type = firstType
    var offset = firstOffset
    while true {
        switch type {
        case EtherType.ipv4:
            return LinkResult(.ipv4, offset)
        case EtherType.ipv6:
            return LinkResult(.ipv6, offset)
        case EtherType.vlan, EtherType.qinq, EtherType.qinqOld:
            guard let tci = frame.u16(offset), let next = frame.u16(offset &+ 2) else {
                packet.events.insert(.vlanTooShort)
                return LinkResult(.invalid, 0)
            }
            if Int(packet.vlanCount) >= Decoder.maxVLANTags {
                packet.events.insert(.vlanTooDeep)
                return LinkResult(.invalid, 0)
            }
            let id = tci & 0x0FFF
            if packet.vlanCount == 0 { packet.vlanIDs.0 = id } else if packet.vlanCount == 1 { packet.vlanIDs.1 = id }
            packet.vlanCount &+= 1
            type = next
            offset &+= 4
        case EtherType.pppoeSession:
            return followPPPoE(frame, offset, &packet)
        case EtherType.mplsUnicast, EtherType.mplsMulticast:
            return followMPLS(frame, offset, &packet)
        case EtherType.arp:
            return LinkResult(.arp, offset)
        default:
            // LLDP, 802.3 length fields, ...
            return LinkResult(.notIP, 0)
        }
    }
}

/// PPPoE session stage (RFC 2516): ver/type 0x11, code 0, session id, length, then the PPP
/// protocol number. Discovery frames have their own EtherType and are not IP.
@inline(never)
func followPPPoE(_ frame: ByteView, _ offset: Int, _ packet: inout DecodedPacket) -> LinkResult {
    guard let verType = frame.u8(offset), let code = frame.u8(offset &+ 1),
          let proto = frame.u16(offset &+ 6) else {
        packet.events.insert(.pppoeTooShort)
        return LinkResult(.invalid, 0)
    }
    // A session header with another version/type or a nonzero code is not followed.
    guard verType == 0x11, code == 0 else {
        packet.events.insert(.linkInvalid)
        return LinkResult(.invalid, 0)
    }
    switch proto {
    case 0x0021: return LinkResult(.ipv4, offset &+ 8)
    case 0x0057: return LinkResult(.ipv6, offset &+ 8)
    default: return LinkResult(.notIP, 0)   // LCP, IPCP, ...
    }
}

/// MPLS label stack: 4-byte entries until the bottom-of-stack bit. MPLS does not name its
/// payload, so the first nibble after the stack decides (4 or 6; 0 is a pseudowire control word,
/// not followed).
@inline(never)
func followMPLS(_ frame: ByteView, _ start: Int, _ packet: inout DecodedPacket) -> LinkResult {
    var offset = start
    var labels = 0
    while true {
        guard let entry = frame.u32(offset) else {
            packet.events.insert(.mplsTooShort)
            return LinkResult(.invalid, 0)
        }
        offset &+= 4
        labels &+= 1
        if entry & 0x100 != 0 { break }
        if labels >= Decoder.maxMPLSLabels {
            packet.events.insert(.tooManyLayers)
            return LinkResult(.invalid, 0)
        }
    }
    guard let first = frame.u8(offset) else {
        packet.events.insert(.mplsTooShort)
        return LinkResult(.invalid, 0)
    }
    switch first >> 4 {
    case 4: return LinkResult(.ipv4, offset)
    case 6: return LinkResult(.ipv6, offset)
    default: return LinkResult(.notIP, 0)
    }
}
