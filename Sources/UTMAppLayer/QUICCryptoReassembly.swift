import UTMCore

/// One direction's CRYPTO stream (RFC 9000 section 19.6), put back in order from frames that
/// arrive out of order, across packets and within one packet (Chrome scatters its ClientHello
/// in many small frames and sends them shuffled).
///
/// Bounded: bytes at stream offsets past `capacity` are dropped (`truncated` is set), so a
/// hostile offset cannot make it grow. First write wins: a byte already received is never
/// overwritten, so data already handed on cannot change under the reader and a duplicate or
/// conflicting retransmission is ignored. Storage is one slab of `capacity` data bytes followed
/// by a bitmap (one bit per byte) of what has arrived; it is allocated once, in `init`.
struct QUICCryptoStream {
    let slab: ByteSlab
    let capacity: Int
    /// Bytes [0, contiguous) have all arrived.
    private(set) var contiguous = 0
    /// Bytes [0, delivered) have been handed to the reader.
    private(set) var delivered = 0
    /// Some frame reached past `capacity`.
    private(set) var truncated = false

    init(capacity: Int) {
        self.capacity = Swift.max(0, capacity)
        slab = ByteSlab(capacity: self.capacity &+ (self.capacity &+ 7) / 8)
        clearBitmap()
    }

    private func clearBitmap() {
        var i = capacity
        let end = capacity &+ (capacity &+ 7) / 8
        while i < end { slab.write(UInt8(0), at: i); i &+= 1 }
    }

    mutating func reset() {
        clearBitmap()
        contiguous = 0
        delivered = 0
        truncated = false
    }

    @inline(__always)
    private func hasByte(_ p: Int) -> Bool {
        guard let bits = slab.read(capacity &+ (p >> 3)) else { return true }
        return bits & (1 << UInt8(p & 7)) != 0
    }

    /// Stores the bytes of one CRYPTO frame that fall inside the buffer and were not seen yet.
    mutating func insert(offset: UInt64, data: ByteView) {
        guard data.count > 0 else { return }
        let end = offset &+ UInt64(data.count) // cannot wrap: offset + length < 2^62
        if end > UInt64(capacity) { truncated = true }
        guard offset < UInt64(capacity) else { return }
        let start = Int(offset)
        let stop = Int(Swift.min(end, UInt64(capacity)))
        var p = Swift.max(start, contiguous)
        while p < stop {
            let bitmapIndex = capacity &+ (p >> 3)
            let bit = UInt8(1) << UInt8(p & 7)
            if let bits = slab.read(bitmapIndex), bits & bit == 0, let b = data.u8(p &- start) {
                slab.write(b, at: p)
                slab.write(bits | bit, at: bitmapIndex)
            }
            p &+= 1
        }
        while contiguous < capacity, hasByte(contiguous) { contiguous &+= 1 }
    }

    /// The bytes that became contiguous since the last call, or nil when there are none. The
    /// view stays valid for as long as the stream lives: delivered bytes are never rewritten.
    mutating func takeNew() -> ByteView? {
        guard contiguous > delivered, let v = slab.view(delivered, contiguous &- delivered) else { return nil }
        delivered = contiguous
        return v
    }

    /// Everything received in order so far.
    var received: ByteView { slab.view(0, contiguous) ?? .empty }
}
