import UTMCore

// Binary form of a compiled set, for the definitions bundle: loading it is a copy of flat
// arrays and a validation pass, no recompilation.
//
//   "MMPM"  u32 version  u32 bloomWordBits  u32 uniquePatterns
//   arrays (u32 count, then little-endian elements): bloom(u64) pairA(u8) pairB(u8) idStart ids
//   two tries (nocase, exact): u8 fold, arrays root childStart label(u8) depth fail dict pattern
//   u64 FNV-1a of everything before it
//
// A truncated, tampered or foreign blob makes `init?(serialized:)` return nil; after the
// checksum, `Trie.validate` proves the structure the scan relies on, so a blob crafted with a
// correct checksum cannot make the scan trap or loop either.

extension CompiledPatternSet {
    static let magic: [UInt8] = Array("MMPM".utf8)
    /// Bump on any change of the layout above.
    public static let formatVersion: UInt32 = 1

    public func serialized() -> [UInt8] {
        var w = BlobWriter()
        w.out.append(contentsOf: CompiledPatternSet.magic)
        w.u32(CompiledPatternSet.formatVersion)
        w.u32(UInt32(bloomWordBits))
        w.u32(UInt32(uniquePatterns))
        w.array64(bloom)
        // The scan keeps only the merged (possibly hashed) stage-1 table; the two tables of
        // this format are rebuilt from the patterns (the builder's result, same bytes).
        let (pairA, pairB) = CompiledPatternSet.pairTables(patternTexts())
        w.u32(UInt32(pairA.count)); w.out.append(contentsOf: pairA)
        w.u32(UInt32(pairB.count)); w.out.append(contentsOf: pairB)
        w.array32(idStart)
        w.array32(ids)
        for t in [nocase, exact] {
            w.out.append(t.fold ? 1 : 0)
            w.array32(t.root)
            w.array32(t.childStart)
            w.u32(UInt32(t.label.count))
            w.out.append(contentsOf: t.label)
            w.array32(t.depth.array32)
            w.array32(t.fail)
            w.array32(t.dict)
            w.array32(t.pattern)
        }
        w.u64(fnv1a(w.out))
        return w.out
    }

    /// Loads a blob made by `serialized()`; nil when it is truncated, altered, or of another
    /// format version.
    public convenience init?(serialized blob: ByteView) {
        guard blob.count >= 16 + 8 else { return nil }
        let body = blob.prefix(blob.count - 8)
        guard let sum = blob.u32le(blob.count - 8), let sumHi = blob.u32le(blob.count - 4),
              UInt64(sumHi) << 32 | UInt64(sum) == fnv1a(body) else { return nil }
        var r = BlobReader(view: body)
        guard r.bytes(4) == CompiledPatternSet.magic,
              r.u32() == CompiledPatternSet.formatVersion,
              let wb = r.u32(), wb <= 24, let unique = r.u32(),
              let bloom = r.array64(), bloom.count == 1 << Int(wb),
              r.u32() == 65536, let pairA = r.bytes(65536), r.u32() == 65536, let pairB = r.bytes(65536),
              let idStart = r.array32(), let ids = r.array32() else { return nil }
        // Id table: monotonic ranges covering `ids`.
        guard idStart.count == Int(unique) + 1, idStart.first == 0, Int(idStart.last!) == ids.count else { return nil }
        for k in 1 ..< idStart.count { guard idStart[k] >= idStart[k - 1] else { return nil } }
        var tries: [Trie] = []
        for expectFold in [true, false] {
            guard let f = r.u8(), f == (expectFold ? 1 : 0),
                  let root = r.array32(), let childStart = r.array32(),
                  let nl = r.u32(), let label = r.bytes(Int(nl)),
                  let depth = r.array32(), let fail = r.array32(), let dict = r.array32(),
                  let pattern = r.array32() else { return nil }
            let t = Trie(fold: expectFold, root: root, childStart: childStart, label: label, depth: depth,
                         fail: fail, dict: dict, pattern: pattern)
            guard t.validate(patternCount: Int(unique)) else { return nil }
            tries.append(t)
        }
        guard r.offset == body.count else { return nil }
        self.init(bloomWordBits: Int(wb), bloom: bloom, pairA: pairA, pairB: pairB, idStart: idStart, ids: ids,
                  nocase: tries[0], exact: tries[1], uniquePatterns: Int(unique))
    }
}

func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    bytes.withByteView { fnv1a($0) }
}

func fnv1a(_ v: ByteView) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    v.forEachByte { b in
        h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
    }
    return h
}

struct BlobWriter {
    var out: [UInt8] = []
    mutating func u32(_ v: UInt32) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v >> 16)); out.append(UInt8(truncatingIfNeeded: v >> 24))
    }
    mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v)); u32(UInt32(truncatingIfNeeded: v >> 32))
    }
    mutating func array32(_ a: [UInt32]) {
        u32(UInt32(a.count)); out.reserveCapacity(out.count + a.count * 4)
        for v in a { u32(v) }
    }
    mutating func array64(_ a: [UInt64]) {
        u32(UInt32(a.count)); for v in a { u64(v) }
    }
}

struct BlobReader {
    let view: ByteView
    var offset = 0

    mutating func u8() -> UInt8? {
        guard let v = view.u8(offset) else { return nil }
        offset += 1
        return v
    }
    mutating func u32() -> UInt32? {
        guard let v = view.u32le(offset) else { return nil }
        offset += 4
        return v
    }
    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard let s = view.slice(offset, n) else { return nil }
        offset += n
        return s.bytes
    }
    /// Count first; refuses counts that would run past the blob before allocating.
    mutating func array32() -> [UInt32]? {
        guard let n = u32(), Int(n) <= (view.count - offset) / 4 else { return nil }
        var a = [UInt32](); a.reserveCapacity(Int(n))
        for _ in 0 ..< Int(n) { a.append(view.u32le(offset)!); offset += 4 }
        return a
    }
    mutating func array64() -> [UInt64]? {
        guard let n = u32(), Int(n) <= (view.count - offset) / 8 else { return nil }
        var a = [UInt64](); a.reserveCapacity(Int(n))
        for _ in 0 ..< Int(n) {
            let lo = view.u32le(offset)!, hi = view.u32le(offset + 4)!
            a.append(UInt64(hi) << 32 | UInt64(lo)); offset += 8
        }
        return a
    }
}

extension CompiledPatternSet {
    /// Every distinct pattern of both tries, lowercased (what `pairTables` is built from).
    func patternTexts() -> [[UInt8]] {
        var out: [[UInt8]] = []
        for t in [nocase, exact] where !t.isEmpty {
            // Depth-first; each stack entry carries the path length of its parent.
            var stack: [(node: Int, length: Int)] = t.children(0).map { ($0, 0) }
            var path: [UInt8] = []
            while let (node, length) = stack.popLast() {
                path.removeSubrange(length...)
                path.append(t.label[node])
                if t.pattern[node] != 0 { out.append(t.fold ? path : path.map(asciiLower)) }
                for c in t.children(node) { stack.append((c, path.count)) }
            }
        }
        return out
    }
}
