import UTMCore

/// Linux cooked capture v1 (`tcpdump -i any`): packet type, ARPHRD type, address length,
/// 8 address bytes, then the EtherType of the payload at offset 14; 16 bytes in all.
@inline(__always)
func decodeSLL(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    guard frame.count >= 16, let proto = frame.u16(14) else {
        packet.events.insert(.sllTooShort)
        return LinkResult(.invalid, 0)
    }
    return followEtherType(proto, frame, 16, &packet)
}

/// Linux cooked capture v2: the EtherType moved to the front, followed by reserved bytes,
/// interface index, ARPHRD type, packet type, address length and 8 address bytes; 20 bytes.
@inline(__always)
func decodeSLL2(_ frame: ByteView, _ packet: inout DecodedPacket) -> LinkResult {
    guard frame.count >= 20, let proto = frame.u16(0) else {
        packet.events.insert(.sllTooShort)
        return LinkResult(.invalid, 0)
    }
    return followEtherType(proto, frame, 20, &packet)
}
