import CUTMMatch

/// Stage 1 of the prefilter: one 16-bit entry per raw byte pair, low byte = the bucket bits of
/// `pairA` (patterns starting with the pair), high byte = those of `pairB` (patterns whose third
/// and fourth bytes are the pair). The loop itself is C (`CUTMMatch`): it loads each pair of
/// the buffer once, as one 16-bit read, and tests eight positions per step.
///
/// Why one table instead of two: a pair is the "A" of position p and the "B" of position p - 2,
/// so one load serves both (ten table loads per eight positions instead of sixteen), and a hot
/// pair costs one cache line instead of two.
///
/// Why hashed tables for small sets: the IPS has ~43 sets and most are small, but a direct
/// table is 128 KiB whatever the set (5.6 MB in all, more than L2); random payload bytes (QUIC,
/// compressed bodies) touch all of it. A set with few pairs gets 2^bits entries (at least 16
/// slots per lit pair) indexed by a multiplicative hash of the pair: collisions only add
/// candidates, which the confirm step rejects, never lose one.
struct PairFilter: Sendable {
    /// Indexed by the little-endian pair (first byte in the low bits) or by its hash slot.
    let table: [UInt16]
    /// 0: direct table of 65,536 entries. Otherwise the table has 2^(32 - shift) entries and
    /// the slot is `(pair &* 0x9E3779B1) >> shift` (same as `utm_mpm_slot`).
    let shift: UInt32

    /// Lit pairs per table slot at most 1/`slotsPerPair`; a set needing 2^15 or more slots
    /// keeps the direct table (no hash in its loop).
    static let slotsPerPair = 16
    static let minBits = 10
    static let directBits = 15

    enum Hashing { case bySize, always, never }

    /// From the serialized form's two tables (indexed big-endian: first byte << 8 | second).
    /// `hashing` other than `.bySize` is for tests (both loops on the same set).
    init(pairA: [UInt8], pairB: [UInt8], hashing: Hashing = .bySize) {
        precondition(pairA.count == 65536 && pairB.count == 65536)
        var lit = 0
        for k in 0 ..< 65536 where pairA[k] != 0 || pairB[k] & 0x7f != 0 { lit += 1 }
        var bits = PairFilter.minBits
        while (1 << bits) < lit * PairFilter.slotsPerPair && bits < 16 { bits += 1 }
        let hashed = hashing == .always || (hashing == .bySize && bits < PairFilter.directBits)
        var t = [UInt16](repeating: 0, count: hashed ? 1 << bits : 65536)
        let shift = hashed ? UInt32(32 - bits) : 0
        for k in 0 ..< 65536 {
            let a = pairA[k], b = pairB[k]
            guard a != 0 || b != 0 else { continue }
            let le = UInt32(k & 0xff) << 8 | UInt32(k >> 8)
            let slot = hashed ? Int((le &* 0x9E37_79B1) >> shift) : Int(le)
            t[slot] |= UInt16(a) | UInt16(b) << 8
        }
        table = t
        self.shift = shift
    }

    var memoryBytes: Int { table.count * 2 }

    /// The first block at or after `i` with a candidate position (positions p with p + 4 <= n)
    /// and its masks (byte k for position block + k); masks 0 when none is left. `d` holds `n`
    /// readable bytes and `t` is `table`'s storage: the C loop's slots are below its size by
    /// construction (16-bit pairs, or hashes shifted down to the table's bits).
    @inline(__always)
    func next(_ d: UnsafeRawPointer, _ n: Int, _ i: Int, _ t: UnsafePointer<UInt16>, _ masks: inout UInt64) -> Int {
        shift == 0 ? utm_mpm_filter_direct(d, n, i, t, &masks) : utm_mpm_filter_hashed(d, n, i, t, shift, &masks)
    }
}
