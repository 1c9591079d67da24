import UTMCore

/// Collects literal patterns for one buffer type (IPS fast patterns, AV body fragments).
///
/// Ids may repeat: several rules often share one fast pattern. Identical patterns are stored
/// once and report every id added for them; an id added twice for the same pattern is reported
/// once. A case-sensitive pattern without ASCII letters is the same as its nocase twin and is
/// stored as one. Empty patterns are ignored.
public struct PatternSetBuilder: Sendable {
    @usableFromInline var entries: [(bytes: [UInt8], nocase: Bool, id: UInt32)] = []

    public init() {}

    public mutating func add(_ bytes: [UInt8], nocase: Bool, id: UInt32) {
        guard !bytes.isEmpty else { return }
        entries.append((bytes, nocase, id))
    }

    public mutating func add(_ bytes: ByteView, nocase: Bool, id: UInt32) {
        add(bytes.bytes, nocase: nocase, id: id)
    }

    /// Patterns added so far (before deduplication).
    public var count: Int { entries.count }

    public func compile() -> CompiledPatternSet {
        // Deduplicate: key is the pattern as its trie sees it.
        var index: [PatternKey: Int] = [:]
        var idLists: [[UInt32]] = []
        var keys: [PatternKey] = []
        for e in entries {
            let letters = e.bytes.contains { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7a }
            let nocase = e.nocase || !letters
            let key = PatternKey(bytes: nocase ? e.bytes.map(asciiLower) : e.bytes, nocase: nocase)
            if let k = index[key] {
                idLists[k].append(e.id)
            } else {
                index[key] = keys.count
                keys.append(key)
                idLists.append([e.id])
            }
        }
        var idStart: [UInt32] = [0]
        var ids: [UInt32] = []
        for var l in idLists {
            l.sort()
            var last: UInt32? = nil
            for id in l where id != last { ids.append(id); last = id }
            idStart.append(UInt32(ids.count))
        }
        var nocaseTexts: [[UInt8]] = [], nocaseIdx: [Int] = []
        var exactTexts: [[UInt8]] = [], exactIdx: [Int] = []
        for (k, key) in keys.enumerated() {
            if key.nocase { nocaseTexts.append(key.bytes); nocaseIdx.append(k) }
            else { exactTexts.append(key.bytes); exactIdx.append(k) }
        }
        let nocase = Trie.build(fold: true, texts: nocaseTexts, indices: nocaseIdx)
        let exact = Trie.build(fold: false, texts: exactTexts, indices: exactIdx)

        // Prefilter, stage 1: bucket bits by byte pair (`pairTables`, held as one `PairFilter`
        // table). Stage 2: a one-word Bloom filter (two bits in one 64-bit word) over the
        // lowercased first four bytes, to spare most trie walks.
        let lowered = keys.map { $0.bytes.map(asciiLower) }
        let (pairA, pairB) = CompiledPatternSet.pairTables(lowered)
        var prefixes = Set<UInt32>()
        for f in lowered where f.count >= 4 {
            prefixes.insert(UInt32(f[0]) << 24 | UInt32(f[1]) << 16 | UInt32(f[2]) << 8 | UInt32(f[3]))
        }
        // About 64 bits per distinct prefix keeps the false-positive rate near 0.1 %.
        var wordBits = 6
        while (1 << wordBits) < prefixes.count && wordBits < 18 { wordBits += 1 }
        var bloom = [UInt64](repeating: 0, count: 1 << wordBits)
        for p in prefixes {
            let (idx, mask) = bloomSlot(p, wordBits: wordBits)
            bloom[idx] |= mask
        }
        return CompiledPatternSet(bloomWordBits: wordBits, bloom: bloom, pairA: pairA, pairB: pairB, idStart: idStart, ids: ids,
                                  nocase: nocase, exact: exact, uniquePatterns: keys.count)
    }
}

extension CompiledPatternSet {
    /// Stage-1 tables, indexed by a raw byte pair (first byte << 8 | second), from the
    /// lowercased patterns (any order: the result depends only on the set of patterns, so the
    /// serializer can rebuild it from the tries). A pattern of four or more bytes sets its
    /// bucket (one of seven, `assignBuckets`) in `pairA` at its first two bytes and in `pairB`
    /// at its third and fourth, in every letter case; position i is a candidate when
    /// pairA[i, i+1] & pairB[i+2, i+3] != 0. Bit 7 marks the starts of patterns of one to three
    /// bytes (`pairB` has it everywhere).
    static func pairTables(_ lowered: [[UInt8]]) -> (pairA: [UInt8], pairB: [UInt8]) {
        var pairA = [UInt8](repeating: 0, count: 65536)
        var pairB = [UInt8](repeating: 0x80, count: 65536)
        func variants(_ c: UInt8) -> [UInt8] { c >= 0x61 && c <= 0x7a ? [c, c - 0x20] : [c] }
        let bucketOf = assignBuckets(lowered)
        for f in lowered {
            if f.count >= 4 {
                let bit = UInt8(1) << bucketOf[Int(f[0]) << 8 | Int(f[1])]
                for x in variants(f[0]) { for y in variants(f[1]) { pairA[Int(x) << 8 | Int(y)] |= bit } }
                for x in variants(f[2]) { for y in variants(f[3]) { pairB[Int(x) << 8 | Int(y)] |= bit } }
            } else if f.count >= 2 {
                for x in variants(f[0]) { for y in variants(f[1]) { pairA[Int(x) << 8 | Int(y)] |= 0x80 } }
            } else {
                for x in variants(f[0]) { for y in 0 ..< 256 { pairA[Int(x) << 8 | y] |= 0x80 } }
            }
        }
        return (pairA, pairB)
    }

    /// Stage-1 buckets by (lowercased) first byte pair, balanced greedily by the number of
    /// distinct third-fourth byte pairs each bucket must accept.
    ///
    /// Why: with a bucket per pattern (by prefix hash), a pair that starts many patterns ("GE",
    /// "/w", "Us") lights up all seven bits of `pairA`, and then nearly any following pair lets
    /// the position through. With one bucket per first pair, `pairA` has a single bit and the
    /// position passes only if its next pair follows that first pair's group of patterns.
    /// Returns the bucket (0...6) for each of the 65536 first pairs (0 where none starts).
    static func assignBuckets(_ lowered: [[UInt8]]) -> [UInt8] {
        // (first pair << 16 | second pair), sorted and unique: each first pair's group is a run.
        // Flat arrays and bitsets, no per-group sets: this runs for every set built at load.
        var keys: [UInt32] = []
        keys.reserveCapacity(lowered.count)
        for f in lowered where f.count >= 4 {
            keys.append(UInt32(f[0]) << 24 | UInt32(f[1]) << 16 | UInt32(f[2]) << 8 | UInt32(f[3]))
        }
        keys.sort()
        var unique = 0
        for k in keys.indices where unique == 0 || keys[unique - 1] != keys[k] { keys[unique] = keys[k]; unique += 1 }
        keys.removeLast(keys.count - unique)
        var runs: [(start: Int, count: Int)] = []
        var k = 0
        while k < keys.count {
            var e = k + 1
            while e < keys.count, keys[e] >> 16 == keys[k] >> 16 { e += 1 }
            runs.append((k, e - k))
            k = e
        }
        // Heaviest groups first, each to the bucket whose union of second pairs grows least.
        runs.sort { $0.count != $1.count ? $0.count > $1.count : keys[$0.start] < keys[$1.start] }
        var unions = [UInt64](repeating: 0, count: 7 * 1024)
        var sizes = [Int](repeating: 0, count: 7)
        var out = [UInt8](repeating: 0, count: 65536)
        for run in runs {
            var best = 0, bestSize = Int.max
            for b in 0 ..< 7 {
                var size = sizes[b]
                for q in keys[run.start ..< run.start + run.count] {
                    let bit = Int(q & 0xffff)
                    if unions[b * 1024 + bit >> 6] & (1 << UInt64(bit & 63)) == 0 { size += 1 }
                }
                if size < bestSize { best = b; bestSize = size }
            }
            for q in keys[run.start ..< run.start + run.count] {
                let bit = Int(q & 0xffff)
                let w = best * 1024 + bit >> 6, m = UInt64(1) << UInt64(bit & 63)
                if unions[w] & m == 0 { unions[w] |= m; sizes[best] += 1 }
            }
            out[Int(keys[run.start] >> 16)] = UInt8(best)
        }
        return out
    }
}

struct PatternKey: Hashable {
    var bytes: [UInt8]
    var nocase: Bool
}

@inline(__always) @usableFromInline
func bloomSlot(_ key: UInt32, wordBits: Int) -> (Int, UInt64) {
    let h = UInt64(key) &* 0x9E37_79B9_7F4A_7C15
    let idx = Int(truncatingIfNeeded: h >> UInt64(64 &- wordBits))
    let mask = (1 as UInt64) << ((h >> 38) & 63) | (1 as UInt64) << ((h >> 44) & 63)
    return (idx, mask)
}

/// ASCII-lowercases eight bytes at once (SWAR): adds 0x20 to each byte in 'A'...'Z'.
@inline(__always) @usableFromInline
func foldASCII(_ x: UInt64) -> UInt64 {
    let low7 = x & 0x7f7f_7f7f_7f7f_7f7f
    let geA = low7 &+ 0x3f3f_3f3f_3f3f_3f3f      // high bit set when byte >= 0x41
    let gtZ = low7 &+ 0x2525_2525_2525_2525      // high bit set when byte >= 0x5b
    let upper = geA & ~gtZ & ~x & 0x8080_8080_8080_8080
    return x | (upper >> 2)
}

/// Per flow direction: where the stream is and which partial patterns straddle the last chunk
/// end. 16 bytes, no heap. Only meaningful with the `CompiledPatternSet` that produced it.
public struct MatchState: Sendable, Equatable {
    /// Stream offset of the next chunk's first byte.
    public private(set) var offset: Int = 0
    @usableFromInline var nocaseNode: UInt32 = 0
    @usableFromInline var exactNode: UInt32 = 0

    public init() {}

    /// For a new stream (or after a gap: patterns do not match across missing bytes).
    public mutating func reset() { self = MatchState() }

    /// Skips `bytes` of the stream that will not be scanned (a gap); partial matches are lost.
    public mutating func skip(_ bytes: Int) {
        offset += max(0, bytes)
        nocaseNode = 0
        exactNode = 0
    }

    mutating func advance(_ n: Int, nocase: UInt32, exact: UInt32) {
        offset &+= n
        nocaseNode = nocase
        exactNode = exact
    }
}

/// The compiled, immutable matcher, shared by all worker threads.
///
/// Scanning is a prefilter over every input position (one 8-byte load covers five positions,
/// each tested against a Bloom word and a two-byte bitmap), confirmed by walking the keyword
/// trie from that position. Streaming scans additionally keep the Aho-Corasick state of the
/// pattern prefixes that straddle the chunk end. See README.md for the measurements.
public final class CompiledPatternSet: Sendable {
    let bloomWordBits: Int
    let bloom: [UInt64]
    /// Stage 1 (PairFilter.swift), built from the two pair tables of the serialized form.
    let filter: PairFilter
    let idStart: [UInt32]
    let ids: [UInt32]
    let nocase: Trie
    let exact: Trie
    /// Confirm-step tables derived from the tries (ConfirmTables.swift; not serialized).
    let short: ShortTable
    let nocasePrefix: HashTable32
    let exactPrefix: HashTable32
    /// Distinct patterns after deduplication.
    public let uniquePatterns: Int

    convenience init(bloomWordBits: Int, bloom: [UInt64], pairA: [UInt8], pairB: [UInt8], idStart: [UInt32], ids: [UInt32],
                     nocase: Trie, exact: Trie, uniquePatterns: Int) {
        self.init(bloomWordBits: bloomWordBits, bloom: bloom, filter: PairFilter(pairA: pairA, pairB: pairB), idStart: idStart,
                  ids: ids, nocase: nocase, exact: exact, uniquePatterns: uniquePatterns)
    }

    init(bloomWordBits: Int, bloom: [UInt64], filter: PairFilter, idStart: [UInt32], ids: [UInt32],
         nocase: Trie, exact: Trie, uniquePatterns: Int) {
        self.bloomWordBits = bloomWordBits
        self.bloom = bloom
        self.filter = filter
        self.idStart = idStart
        self.ids = ids
        self.nocase = nocase
        self.exact = exact
        self.short = ShortTable([nocase, exact])
        self.nocasePrefix = nocase.prefixTable()
        self.exactPrefix = exact.prefixTable()
        self.uniquePatterns = uniquePatterns
    }

    /// The same set with the stage-1 table forced direct or hashed (tests run both loops on
    /// the same patterns).
    func withFilter(hashed: Bool) -> CompiledPatternSet {
        let (pairA, pairB) = CompiledPatternSet.pairTables(patternTexts())
        let f = PairFilter(pairA: pairA, pairB: pairB, hashing: hashed ? .always : .never)
        return CompiledPatternSet(bloomWordBits: bloomWordBits, bloom: bloom, filter: f, idStart: idStart, ids: ids,
                                  nocase: nocase, exact: exact, uniquePatterns: uniquePatterns)
    }

    /// Heap bytes of the tables the scan reads.
    public var memoryBytes: Int {
        bloom.count * 8 + filter.memoryBytes + idStart.count * 4 + ids.count * 4 + nocase.memoryBytes + exact.memoryBytes
            + short.memoryBytes + nocasePrefix.memoryBytes + exactPrefix.memoryBytes
    }

    // MARK: Scanning

    /// The largest id any pattern reports, -1 when empty (loaders check it against their tables).
    public var maxID: Int { ids.max().map { Int($0) } ?? -1 }

    /// Reports every occurrence of every pattern in `data` as (id, end offset exclusive).

    public func scan(_ data: ByteView, _ onMatch: (_ id: UInt32, _ endOffset: Int) -> Void) {
        var state = MatchState()
        scanChunk(data, state: &state, streaming: false, onMatch)
    }

    /// Scans the next chunk of a stream: matches spanning earlier chunks are found too, and
    /// offsets count from the start of the stream.
    public func scan(_ data: ByteView, state: inout MatchState,
                     _ onMatch: (_ id: UInt32, _ endOffset: Int) -> Void) {
        scanChunk(data, state: &state, streaming: true, onMatch)
    }

    @inline(__always)
    func report(_ pattern: UInt32, _ end: Int, _ onMatch: (UInt32, Int) -> Void) {
        CompiledPatternSet.report(idStart, ids, pattern, end, onMatch)
    }

    @inline(__always)
    static func report(_ idStart: borrowing [UInt32], _ ids: borrowing [UInt32], _ pattern: UInt32, _ end: Int,
                       _ onMatch: (UInt32, Int) -> Void) {
        var k = Int(idStart[Int(pattern) &- 1])
        let e = Int(idStart[Int(pattern)])
        while k < e {
            onMatch(ids[k], end)
            k &+= 1
        }
    }

    func scanChunk(_ data: ByteView, state: inout MatchState, streaming: Bool,
                   _ onMatch: (UInt32, Int) -> Void) {
        let n = data.count
        let base = state.offset
        var nocaseEnd: UInt32 = 0, exactEnd: UInt32 = 0
        var nocaseAlive = false, exactAlive = false
        if streaming {
            // Patterns that began in earlier chunks: plain Aho-Corasick until the state no
            // longer reaches back before this chunk (usually within a few bytes).
            let s0 = Int(state.nocaseNode), s1 = Int(state.exactNode)
            if s0 != 0 && s0 < nocase.nodeCount {
                (nocaseAlive, nocaseEnd) = resume(nocase, from: s0, data, base: base, onMatch)
            }
            if s1 != 0 && s1 < exact.nodeCount {
                (exactAlive, exactEnd) = resume(exact, from: s1, data, base: base, onMatch)
            }
        }
        var partialNocase: UInt32 = 0, partialExact: UInt32 = 0
        let nocase = self.nocase, exact = self.exact
        let idStart = self.idStart, ids = self.ids
        let hasExact = !exact.isEmpty
        // Stage 1 runs in C (CUTMMatch) over the positions with four bytes left; the last
        // three positions (and buffers under four bytes) are walked in the tries directly.
        // The table pointer is lent to the C loop only, which keeps its slots within the
        // table (PairFilter); packet bytes are read there without per-byte checks.
        var i = 0
        if n >= 4 {
            let filter = self.filter
            data.withUnsafeBytes { raw in
            filter.table.withUnsafeBufferPointer { table in
                let d = raw.baseAddress!, t = table.baseAddress!
                var at = 0
                while true {
                    var masks: UInt64 = 0
                    at = filter.next(d, n, at, t, &masks)
                    if masks == 0 { break }
                    confirm(masks, at: at, data, base, &partialNocase, &partialExact, onMatch)
                    at &+= 8
                }
            }
            }
            i = n &- 3
        }
        while i < n {
            CompiledPatternSet.walk(nocase, idStart, ids, data, i, base, &partialNocase, onMatch)
            if hasExact { CompiledPatternSet.walk(exact, idStart, ids, data, i, base, &partialExact, onMatch) }
            i &+= 1
        }
        if streaming {
            state.advance(n, nocase: nocaseAlive ? nocaseEnd : partialNocase,
                          exact: exactAlive ? exactEnd : partialExact)
        }
    }

    /// Confirms the candidate positions of one prefilter block (out of line: keeps the filter
    /// loop's registers free); byte k of `masks` is the stage-1 mask of position `i + k`.
    /// Patterns of one to three bytes come from `short` (bit 7 of the mask), longer ones from
    /// the depth-4 node of the position's four bytes, found in `nocasePrefix` / `exactPrefix`
    /// once the Bloom word lets the position through; the trie walk starts there. Candidate
    /// positions have four bytes left in the chunk (the C loop's contract).
    @inline(never)
    func confirm(_ masks: UInt64, at i: Int, _ data: ByteView, _ base: Int,
                 _ partialNocase: inout UInt32, _ partialExact: inout UInt32, _ onMatch: (UInt32, Int) -> Void) {
        let hasExact = !exact.isEmpty
        let shift = UInt64(64 &- bloomWordBits)
        var packed = masks
        while packed != 0 {
            let k = packed.trailingZeroBitCount >> 3
            let m = UInt8(truncatingIfNeeded: packed &>> UInt64(8 &* k))
            packed &= ~((0xff as UInt64) &<< UInt64(8 &* k))
            let at = i &+ k
            guard let x = data.u32(at) else { continue }
            if m & 0x80 != 0 { confirmShort(x, at &+ base, onMatch) }
            if m & 0x7f != 0 {
                // Stage 2: Bloom word of the lowercased four bytes.
                let w = UInt32(truncatingIfNeeded: foldASCII(UInt64(x)))
                let h = UInt64(w) &* 0x9E37_79B9_7F4A_7C15
                let mask = (1 as UInt64) &<< (h &>> 38) | (1 as UInt64) &<< (h &>> 44)
                guard bloom[Int(truncatingIfNeeded: h &>> shift)] & mask == mask else { continue }
                let nn = nocasePrefix.find(w)
                if nn != 0 {
                    CompiledPatternSet.descend(nocase, idStart, ids, data, Int(nn), at &+ 4, base, &partialNocase, onMatch)
                }
                if hasExact {
                    let en = exactPrefix.find(x)
                    if en != 0 {
                        CompiledPatternSet.descend(exact, idStart, ids, data, Int(en), at &+ 4, base, &partialExact, onMatch)
                    }
                }
            }
        }
    }

    /// The one- to three-byte patterns at stream offset `start`, whose first four bytes are
    /// `x` (big-endian).
    @inline(__always)
    func confirmShort(_ x: UInt32, _ start: Int, _ onMatch: (UInt32, Int) -> Void) {
        let pair = x &>> 16
        if short.hasSingles {
            let b0 = Int(pair &>> 8)
            var s = Int(short.singleStart[b0])
            let e = Int(short.singleStart[b0 &+ 1])
            while s < e {
                report(short.singles[s], start &+ 1, onMatch)
                s &+= 1
            }
        }
        let r = short.pairs.find(pair)
        guard r != 0 else { return }
        let third = UInt8(truncatingIfNeeded: x &>> 8)
        let thirdLower = asciiLower(third)
        let entries = short.entries
        var e = Int(r) &- 1
        while true {
            let en = entries[e]
            let p = UInt32(truncatingIfNeeded: en)
            if en & (1 << 40) == 0 {
                report(p, start &+ 2, onMatch)
            } else if (en & (1 << 41) != 0 ? thirdLower : third) == UInt8(truncatingIfNeeded: en &>> 32) {
                report(p, start &+ 3, onMatch)
            }
            if en & (1 << 42) != 0 { return }
            e &+= 1
        }
    }

    /// Continues a walk of `t` at `node`, whose last byte is just before `j`: every pattern
    /// through it and below. Reaching the chunk end inside the trie records the resume state
    /// (see `walk`).
    @inline(__always)
    static func descend(_ t: borrowing Trie, _ idStart: borrowing [UInt32], _ ids: borrowing [UInt32], _ data: ByteView,
                        _ start: Int, _ j0: Int, _ base: Int, _ partial: inout UInt32, _ onMatch: (UInt32, Int) -> Void) {
        let n = data.count
        let fold = t.fold
        var node = start
        var j = j0
        while true {
            let p = t.pattern[node]
            if p != 0 { report(idStart, ids, p, base &+ j, onMatch) }
            if j >= n {
                if partial == 0 { partial = UInt32(node) }
                return
            }
            var b = data[checked: j]
            if fold { b = asciiLower(b) }
            node = t.child(node, b)
            if node == 0 { return }
            j &+= 1
        }
    }

    /// Every pattern of `t` that starts at `i`. When the walk reaches the end of the data still
    /// inside the trie, the first such node is the longest suffix of the chunk that is a pattern
    /// prefix: the state the next chunk resumes from.
    @inline(__always)
    static func walk(_ t: borrowing Trie, _ idStart: borrowing [UInt32], _ ids: borrowing [UInt32], _ data: ByteView, _ i: Int, _ base: Int, _ partial: inout UInt32,
              _ onMatch: (UInt32, Int) -> Void) {
        let n = data.count
        let fold = t.fold
        var b = data[checked: i]
        var node = Int(t.root[Int(b)])
        var j = i &+ 1
        while node != 0 {
            let p = t.pattern[node]
            if p != 0 { report(idStart, ids, p, base &+ j, onMatch) }
            if j == n {
                // The walk reached the chunk end inside the trie.
                if partial == 0 { partial = UInt32(node) }
                return
            }
            b = data[checked: j]
            if fold { b = asciiLower(b) }
            node = t.child(node, b)
            j &+= 1
        }
    }

    /// Continues the Aho-Corasick state of an earlier chunk, reporting only matches that began
    /// before this chunk. Returns whether the state still reaches back at the chunk end.
    func resume(_ t: borrowing Trie, from start: Int, _ data: ByteView, base: Int,
                _ onMatch: (UInt32, Int) -> Void) -> (Bool, UInt32) {
        var s = start
        var j = 0
        let n = data.count
        while j < n {
            var b = data[checked: j]
            if t.fold { b = asciiLower(b) }
            s = t.next(s, b)
            j &+= 1
            if Int(t.depth[s]) <= j { return (false, 0) }
            var o = t.pattern[s] != 0 ? s : Int(t.dict[s])
            while o != 0 && Int(t.depth[o]) > j {
                report(t.pattern[o], base &+ j, onMatch)
                o = Int(t.dict[o])
            }
        }
        return (true, UInt32(s))
    }
}
