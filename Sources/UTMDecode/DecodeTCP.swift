import UTMCore

/// TCP header (RFC 9293) and the options stream tracking needs: MSS, window scale,
/// SACK-permitted, timestamps.
@inline(__always)
func decodeTCP(_ l4: ByteView, _ packet: inout DecodedPacket) -> Bool {
    guard l4.count >= 20, let srcPort = l4.u16(0), let dstPort = l4.u16(2),
          let seq = l4.u32(4), let ack = l4.u32(8), let offsetByte = l4.u8(12),
          let flags = l4.u8(13), let window = l4.u16(14) else {
        packet.events.insert(.tcpTooShort)
        return false
    }
    packet.srcPort = srcPort
    packet.dstPort = dstPort
    packet.seq = seq
    packet.ack = ack
    packet.tcpFlags = TCPFlags(rawValue: flags)
    packet.window = window
    let headerLength = Int(offsetByte >> 4) &* 4
    // Suricata's names: a data offset below 5 words is `tcp.invalid_optlen` (the option length
    // it implies is negative), one past the segment is `tcp.hlen_too_small`.
    guard headerLength >= 20 else {
        packet.events.insert(.tcpHeaderTooSmall)
        return false
    }
    guard headerLength <= l4.count else {
        packet.events.insert(.tcpBadDataOffset)
        return false
    }
    packet.transportHeaderLength = headerLength
    packet.payload = l4.suffix(from: headerLength) ?? .empty
    if headerLength > 20 { decodeTCPOptions(l4, headerLength, &packet) }
    return true
}

/// Options are parsed once here so the stream layer reads plain fields. A malformed option is
/// an event; the options before it are kept. Checks follow Suricata's: lengths per kind, and
/// MSS, window scale, SACK-permitted, SACK and timestamps at most once each.
@inline(__always)
func decodeTCPOptions(_ l4: ByteView, _ headerLength: Int, _ packet: inout DecodedPacket) {
    var i = 20
    /// Kinds 2-8 seen, bit per kind: the duplicate check costs one AND per option.
    var seen: UInt16 = 0
    while i < headerLength {
        guard let kind = l4.u8(i) else { return }
        if kind == 0 { return }
        if kind == 1 { i &+= 1; continue }
        // A last byte that is neither EOL nor NOP is ignored, as Suricata does.
        guard headerLength &- i >= 2, let length = l4.u8(i &+ 1) else { return }
        guard length >= 2, Int(length) <= headerLength &- i else {
            packet.events.insert(.tcpOptionInvalid)
            return
        }
        // A repeated option is flagged and still read: the last copy wins, as it did before the
        // check and as Linux reads it (skipping it let a client show the box window scale 0
        // and the server 14). Only a copy of valid length counts as seen.
        if kind >= 2 && kind <= 8 && kind != 6 && kind != 7 {
            let bit: UInt16 = 1 << UInt16(kind)
            if seen & bit != 0 { packet.events.insert(.tcpOptionDuplicate) }
            if DecodeEvents.tcpOptionLengthValid(kind: kind, length: length) { seen |= bit }
        }
        switch kind {
        case 2:
            if length == 4, let mss = l4.u16(i &+ 2) { packet.mss = mss } else { packet.events.insert(.tcpOptionInvalid) }
        case 3:
            // RFC 7323: shifts above 14 are treated as 14.
            if length == 3, let shift = l4.u8(i &+ 2) { packet.windowScale = min(shift, 14) } else { packet.events.insert(.tcpOptionInvalid) }
        case 4:
            if length == 2 { packet.sackPermitted = true } else { packet.events.insert(.tcpOptionInvalid) }
        case 5:
            // SACK blocks: 8 bytes each, 1 to 4 of them.
            if length < 10 || length > 34 || (Int(length) &- 2) % 8 != 0 { packet.events.insert(.tcpOptionInvalid) }
        case 8:
            if length == 10, let val = l4.u32(i &+ 2), let ecr = l4.u32(i &+ 6) {
                packet.hasTimestampOption = true
                packet.tsVal = val
                packet.tsEcr = ecr
            } else {
                packet.events.insert(.tcpOptionInvalid)
            }
        default:
            break
        }
        i &+= Int(length)
    }
}

extension DecodeEvents {
    /// Whether a TCP option of `kind` (2-8) has a length its kind allows (the lengths the
    /// switch in `decodeTCPOptions` accepts).
    @inline(__always)
    static func tcpOptionLengthValid(kind: UInt8, length: UInt8) -> Bool {
        switch kind {
        case 2: return length == 4
        case 3: return length == 3
        case 4: return length == 2
        case 5: return length >= 10 && length <= 34 && (Int(length) &- 2) % 8 == 0
        case 8: return length == 10
        default: return true
        }
    }
}
