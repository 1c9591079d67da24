/// Lookup tables for the confirm step, derived from the two tries when a set is built or
/// loaded (so the serialized form does not change).
///
/// Why: a candidate position used to be confirmed by walking both tries from the root. The
/// first levels of a trie with ~12k patterns are wide (binary search over up to 256 labels per
/// step), and the 2-3-byte patterns, which hit every few dozen bytes of traffic, paid two such
/// walks each time. Now a candidate is confirmed by
/// - `ShortTable`: the patterns of one to three bytes, found by the raw byte pair at the
///   position (one hash probe), no trie walk at all;
/// - `PrefixTable` (one per trie): the depth-4 trie node of the position's four bytes
///   (lowercased for the nocase trie), one hash probe instead of four child searches; the walk
///   continues from there for the longer patterns.
/// Patterns of one byte (never in the IPS sets; possible in general) have a 256-entry list.

/// Open-addressed hash table from a 32-bit key to a nonzero 32-bit value; slot 0 = empty.
/// Load factor at most 3/4 (memory: peak RSS with ET is at its target); lookups happen only
/// after the Bloom word passed, so they are mostly hits.
struct HashTable32: Sendable {
    /// `key << 32 | value`, 0 for an empty slot (values are never 0).
    let slots: [UInt64]
    let shift: UInt32

    init(_ pairs: [(key: UInt32, value: UInt32)]) {
        var bits = 4
        while (1 << bits) * 3 < pairs.count * 4 { bits += 1 }
        var slots = [UInt64](repeating: 0, count: 1 << bits)
        let shift = UInt32(32 - bits)
        for (k, v) in pairs {
            precondition(v != 0)
            var s = Int(HashTable32.hash(k) >> shift)
            while slots[s] != 0 { s = (s + 1) & (slots.count - 1) }
            slots[s] = UInt64(k) << 32 | UInt64(v)
        }
        self.slots = slots
        self.shift = shift
    }

    @inline(__always)
    static func hash(_ k: UInt32) -> UInt32 { k &* 0x9E37_79B1 }

    /// The value stored for `key`, or 0.
    @inline(__always)
    func find(_ key: UInt32) -> UInt32 {
        let mask = slots.count &- 1
        var s = Int(truncatingIfNeeded: HashTable32.hash(key) &>> shift)
        while true {
            let e = slots[s]
            if e == 0 { return 0 }
            if UInt32(truncatingIfNeeded: e &>> 32) == key { return UInt32(truncatingIfNeeded: e) }
            s = (s &+ 1) & mask
        }
    }

    var memoryBytes: Int { slots.count * 8 }
}

/// Patterns of one to three bytes of both tries, by the raw bytes at the position.
struct ShortTable: Sendable {
    /// Raw byte pair → 1 + index of its first entry in `entries`.
    let pairs: HashTable32
    /// Per entry: internal pattern index + 1 (bits 0-31), third byte (32-39), length 2 or 3
    /// (bit 40 set = 3), the third byte is compared lowercased (bit 41), last entry of its
    /// pair (bit 42).
    let entries: [UInt64]
    /// One-byte patterns: `singleStart[b] ..< singleStart[b + 1]` in `singles` (pattern + 1).
    let singleStart: [UInt32]
    let singles: [UInt32]
    var hasSingles: Bool { !singles.isEmpty }

    init(_ tries: [Trie]) {
        var byPair: [UInt32: [UInt64]] = [:]
        var singleLists = [[UInt32]](repeating: [], count: 256)
        func variants(_ c: UInt8, _ fold: Bool) -> [UInt8] {
            fold && c >= 0x61 && c <= 0x7a ? [c, c - 0x20] : [c]
        }
        for t in tries where !t.isEmpty {
            for c1 in t.children(0) {
                let l0 = t.label[c1]
                if t.pattern[c1] != 0 {
                    for v0 in variants(l0, t.fold) { singleLists[Int(v0)].append(t.pattern[c1]) }
                }
                for c2 in t.children(c1) {
                    let l1 = t.label[c2]
                    var found: [UInt64] = []
                    if t.pattern[c2] != 0 { found.append(UInt64(t.pattern[c2])) }
                    for c3 in t.children(c2) where t.pattern[c3] != 0 {
                        found.append(UInt64(t.pattern[c3]) | UInt64(t.label[c3]) << 32 | 1 << 40 | (t.fold ? 1 << 41 : 0))
                    }
                    guard !found.isEmpty else { continue }
                    for v0 in variants(l0, t.fold) {
                        for v1 in variants(l1, t.fold) { byPair[UInt32(v0) << 8 | UInt32(v1), default: []] += found }
                    }
                }
            }
        }
        var entries: [UInt64] = []
        var keyed: [(key: UInt32, value: UInt32)] = []
        for pair in byPair.keys.sorted() {
            keyed.append((pair, UInt32(entries.count + 1)))
            let list = byPair[pair]!
            for (k, e) in list.enumerated() { entries.append(k == list.count - 1 ? e | 1 << 42 : e) }
        }
        pairs = HashTable32(keyed)
        self.entries = entries
        var start: [UInt32] = [0]
        var singles: [UInt32] = []
        for l in singleLists { singles += l; start.append(UInt32(singles.count)) }
        singleStart = start
        self.singles = singles
    }

    var memoryBytes: Int { pairs.memoryBytes + entries.count * 8 + singleStart.count * 4 + singles.count * 4 }
}

extension Trie {
    /// Child id range of `node` (ids are breadth-first, so a node's children are contiguous).
    func children(_ node: Int) -> Range<Int> { Int(childStart[node]) ..< Int(childStart[node + 1]) }

    /// Depth-4 nodes by their four labels (big-endian in one word): where a walk for a pattern
    /// of four or more bytes continues.
    func prefixTable() -> HashTable32 {
        var keyed: [(key: UInt32, value: UInt32)] = []
        if !isEmpty {
            for c1 in children(0) {
                for c2 in children(c1) {
                    for c3 in children(c2) {
                        for c4 in children(c3) {
                            let k = UInt32(label[c1]) << 24 | UInt32(label[c2]) << 16 | UInt32(label[c3]) << 8 | UInt32(label[c4])
                            keyed.append((k, UInt32(c4)))
                        }
                    }
                }
            }
        }
        return HashTable32(keyed)
    }
}
