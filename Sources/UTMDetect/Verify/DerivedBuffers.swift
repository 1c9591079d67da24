import UTMCore
import UTMCrypto

/// The transformed buffers of one inspection (Suricata's per-(buffer, transform chain)
/// inspection buffers), computed on first use into a per-worker arena and kept until the next
/// inspection: the prefilter scan of a derived buffer and every candidate rule's verification
/// of it read the same bytes, computed once.
///
/// Why an arena: a chain's output length depends on the input (`dotprefix` adds a byte,
/// `url_decode` and `strip_whitespace` shrink it, the hashes are fixed), and the engine must
/// not allocate per packet. Each step writes after the previous step's output, which is then
/// moved down in its place, so a chain needs room for one input and one output and an
/// inspection holds only the results. A chain whose
/// result does not fit is treated as absent (its rules do not match) and counted in `overflows`.
///
/// One instance per worker (owned by its `Verifier`); not thread-safe.
public final class DerivedBuffers: @unchecked Sendable {
    /// Default arena: the HTTP body inspection limit (100 KiB) transformed twice over, plus the
    /// small header, SNI and DNS buffers.
    public static let defaultArenaBytes = 256 * 1024
    /// Derived slots that are cached (the definitions number their distinct chains 1...).
    public static let maxSlots = 256

    let arena: ByteSlab
    var used = 0
    var epoch: UInt32 = 1
    var slotEpoch: [UInt32]
    var slotStart: [Int32]
    /// -1: computed and absent (overflow).
    var slotLength: [Int32]
    let digest = StreamingDigest()
    /// Chains whose result did not fit the arena.
    public private(set) var overflows = 0

    /// A worker's arena: the default size when `signatures` has a transformed list, else
    /// none (a heap block carved from pages the rule load dirtied stays resident: two unused
    /// 256 KiB arenas per worker showed as +0.9 MB of peak RSS with ET, which has no transforms).
    public static func forRules<S: Sequence>(_ signatures: S) -> DerivedBuffers where S.Element == Signature {
        let any = signatures.contains { s in s.lists.contains { !$0.transforms.isEmpty } }
        return DerivedBuffers(arenaBytes: any ? defaultArenaBytes : 0)
    }

    public init(arenaBytes: Int = DerivedBuffers.defaultArenaBytes) {
        arena = ByteSlab(capacity: arenaBytes)
        slotEpoch = [UInt32](repeating: 0, count: DerivedBuffers.maxSlots &+ 1)
        slotStart = [Int32](repeating: 0, count: DerivedBuffers.maxSlots &+ 1)
        slotLength = [Int32](repeating: 0, count: DerivedBuffers.maxSlots &+ 1)
    }

    /// Starts a new inspection: every derived buffer is computed again on its next use.
    @inline(__always)
    public func begin() {
        used = 0
        epoch &+= 1
        if epoch == 0 {
            var i = 0
            while i < slotEpoch.count { slotEpoch[i] = 0; i &+= 1 }
            epoch = 1
        }
    }

    /// The derived buffer of `slot` (1...`maxSlots`, 0 = not cached) made from `base` by
    /// `chain`: cached for the rest of the inspection.
    public func view(slot: Int, base: ByteView, chain: [Transform]) -> ByteView? {
        if chain.isEmpty { return base }
        guard slot > 0 && slot <= DerivedBuffers.maxSlots else { return compute(base: base, chain: chain) }
        if slotEpoch[slot] == epoch {
            let len = Int(slotLength[slot])
            return len < 0 ? nil : arena.view(Int(slotStart[slot]), len)
        }
        let start = used
        let v = compute(base: base, chain: chain)
        slotEpoch[slot] = epoch
        slotStart[slot] = Int32(truncatingIfNeeded: start)
        slotLength[slot] = Int32(truncatingIfNeeded: v?.count ?? -1)
        return v
    }

    /// Applies `chain` to `base` into the arena (no caching).
    func compute(base: ByteView, chain: [Transform]) -> ByteView? {
        // Suricata leaves an empty buffer unchanged by every transform.
        if base.isEmpty || chain.isEmpty { return base }
        let first = used
        var input = base
        var cursor = used
        var i = 0
        while i < chain.count {
            let t = chain[i]
            i &+= 1
            if input.isEmpty { continue }
            var out = TransformOutput(slab: arena, start: cursor, limit: arena.capacity)
            t.apply(input, &out, digest: digest)
            if out.overflow || out.failed {
                if out.overflow { overflows &+= 1 }
                used = first
                return nil
            }
            // Keep only this step's output, moved down over the previous one: a chain needs
            // room for one input and one output at a time, not for every intermediate.
            if cursor != first { arena.move(from: cursor, to: first, count: out.count) }
            input = arena.view(first, out.count) ?? .empty
            cursor = first &+ out.count
        }
        used = cursor
        return input
    }
}
