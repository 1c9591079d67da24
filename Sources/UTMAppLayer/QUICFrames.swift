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

/// The frames of Google QUIC versions with IETF packet protection (Q050, T050, T051): these
/// keep Google's own frame encoding, not RFC 9000's. Only what their Initial packets carry is
/// understood: PADDING (0x00, runs to the end of the packet), PING (0x07), CRYPTO (0x08, with
/// IETF varint offset and length), CONNECTION_CLOSE (0x02: error code (4), reason length (2),
/// reason) and ACK (0x40-0x7f: the type byte's bit 5 says whether there are several ack
/// blocks, bits 2-3 the size of Largest Acked and bits 0-1 the size of an ack block length,
/// each coding 1, 2, 4 or 6 bytes; then ack delay (2), [block count (1)], first block length,
/// count x (gap (1), block length), timestamp count (1), and the timestamps: the first as
/// delta (1) + time (4), the others as delta (1) + time (2)).
///
/// Written from Chromium's published wire layout and checked on the nDPI Q050, T050 and T051
/// captures; anything else stops the walk like an unknown frame.
func walkGoogleQUICFrames(_ payload: ByteView, onCrypto: (UInt64, ByteView) -> Void) -> QUICFrameWalkResult {
    @inline(__always) func size(_ bits: UInt8) -> Int { [1, 2, 4, 6][Int(bits & 3)] }
    var off = 0
    while off < payload.count {
        let type = payload[checked: off]
        off &+= 1
        switch type {
        case 0x00:
            return .complete
        case 0x07:
            break
        case 0x08:
            guard let offset = quicVarint(payload, off) else { return .malformed }
            off &+= offset.length
            guard let length = quicVarint(payload, off) else { return .malformed }
            off &+= length.length
            guard length.value <= UInt64(payload.count &- off),
                  let data = payload.slice(off, Int(length.value)),
                  offset.value <= (UInt64(1) << 62) &- 1 &- length.value else { return .malformed }
            onCrypto(offset.value, data)
            off &+= Int(length.value)
        case 0x02:
            guard let reasonLength = payload.u16(off &+ 4) else { return .malformed }
            off &+= 6
            guard Int(reasonLength) <= payload.count &- off else { return .malformed }
            off &+= Int(reasonLength)
        case 0x40 ... 0x7f:
            let blockSize = size(type)
            var need = size(type >> 2) &+ 2 // largest acked, ack delay
            guard need <= payload.count &- off else { return .malformed }
            off &+= need
            var blocks = 0
            if type & 0x20 != 0 {
                guard let n = payload.u8(off) else { return .malformed }
                blocks = Int(n)
                off &+= 1
            }
            need = blockSize &+ blocks &* (1 &+ blockSize) &+ 1 // first block, blocks, timestamp count
            guard need <= payload.count &- off else { return .malformed }
            off &+= need &- 1
            let timestamps = Int(payload[checked: off])
            off &+= 1
            if timestamps > 0 {
                need = 5 &+ (timestamps &- 1) &* 3
                guard need <= payload.count &- off else { return .malformed }
                off &+= need
            }
        default:
            return .unexpectedFrame
        }
    }
    return .complete
}
