import UTMCore

/// UDP (RFC 768). The length field bounds the payload: bytes after it are not data.
@inline(__always)
func decodeUDP(_ l4: ByteView, _ packet: inout DecodedPacket) -> Bool {
    guard l4.count >= 8, let srcPort = l4.u16(0), let dstPort = l4.u16(2),
          let lengthField = l4.u16(4) else {
        packet.events.insert(.udpTooShort)
        return false
    }
    packet.srcPort = srcPort
    packet.dstPort = dstPort
    let length = Int(lengthField)
    guard length <= l4.count else {
        packet.events.insert(.udpBadLength)
        return false
    }
    guard length >= 8 else {
        packet.events.insert(.udpLengthInvalid)
        return false
    }
    // Shorter than the IP payload: bytes hidden after the datagram. A minimum-size frame may
    // hold Ethernet padding inside a sloppy IP length, so those are let be (as Suricata does).
    if length < l4.count && packet.wireLength > 60 { packet.events.insert(.udpLengthInvalid) }
    packet.transportHeaderLength = 8
    packet.payload = l4.slice(8, length &- 8) ?? .empty
    return true
}
