import UTMCore

/// How a walk over the frames of one decrypted Initial payload ended.
enum QUICFrameWalkResult: Equatable {
    /// Every frame was understood.
    case complete
    /// A frame type that may not appear in an Initial packet (or is unknown): the rest of the
    /// payload is ignored, the frames before it still count.
    case unexpectedFrame
    /// A frame ran past the end of the payload, or a varint was cut.
    case malformed
}

/// Walks the frames of an Initial (or Handshake) payload: PADDING, PING, ACK (with ECN),
/// CRYPTO and CONNECTION_CLOSE, the only frames RFC 9000 section 12.4 allows there. Calls
/// `onCrypto(offset, data)` for each CRYPTO frame, in packet order (not stream order).
///
/// Hostile input: every length is checked against the payload before use; an ACK's range count
/// is bounded by the bytes left (each range takes at least two), so the walk always ends.
func walkQUICFrames(_ payload: ByteView, onCrypto: (UInt64, ByteView) -> Void) -> QUICFrameWalkResult {
    var off = 0
    while off < payload.count {
        guard let type = quicVarint(payload, off) else { return .malformed }
        off &+= type.length
        switch type.value {
        case 0x00: // PADDING: usually hundreds of zero bytes; skip the run at once
            while off < payload.count, payload[checked: off] == 0 { off &+= 1 }
        case 0x01: // PING
            break
        case 0x02, 0x03: // ACK, ACK with ECN counts
            // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
            guard let largest = quicVarint(payload, off) else { return .malformed }
            off &+= largest.length
            guard let delay = quicVarint(payload, off) else { return .malformed }
            off &+= delay.length
            guard let rangeCount = quicVarint(payload, off) else { return .malformed }
            off &+= rangeCount.length
            guard let firstRange = quicVarint(payload, off) else { return .malformed }
            off &+= firstRange.length
            // A range is Gap + ACK Range Length, two varints of at least one byte each.
            guard rangeCount.value <= UInt64(payload.count &- off) / 2 else { return .malformed }
            var remaining = rangeCount.value
            while remaining > 0 {
                guard let gap = quicVarint(payload, off) else { return .malformed }
                off &+= gap.length
                guard let length = quicVarint(payload, off) else { return .malformed }
                off &+= length.length
                remaining &-= 1
            }
            if type.value == 0x03 { // ECT0, ECT1, ECN-CE counts
                var counts = 0
                while counts < 3 {
                    guard let c = quicVarint(payload, off) else { return .malformed }
                    off &+= c.length
                    counts &+= 1
                }
            }
        case 0x06: // CRYPTO: Offset, Length, Crypto Data
            guard let offset = quicVarint(payload, off) else { return .malformed }
            off &+= offset.length
            guard let length = quicVarint(payload, off) else { return .malformed }
            off &+= length.length
            guard length.value <= UInt64(payload.count &- off),
                  let data = payload.slice(off, Int(length.value)) else { return .malformed }
            // RFC 9000 19.6: offset + length may not exceed 2^62 - 1.
            guard offset.value <= (UInt64(1) << 62) &- 1 &- length.value else { return .malformed }
            onCrypto(offset.value, data)
            off &+= Int(length.value)
        case 0x1c, 0x1d: // CONNECTION_CLOSE (transport; 0x1d application variant has no Frame Type)
            guard let code = quicVarint(payload, off) else { return .malformed }
            off &+= code.length
            if type.value == 0x1c {
                guard let frameType = quicVarint(payload, off) else { return .malformed }
                off &+= frameType.length
            }
            guard let reasonLength = quicVarint(payload, off) else { return .malformed }
            off &+= reasonLength.length
            guard reasonLength.value <= UInt64(payload.count &- off) else { return .malformed }
            off &+= Int(reasonLength.value)
        default:
            return .unexpectedFrame
        }
    }
    return off == payload.count ? .complete : .malformed
}
