import UTMCore

/// One keyword trie with Aho-Corasick failure links, stored flat in breadth-first order.
///
/// Why breadth-first: the children of a node get consecutive ids, so a node's children are the
/// id range `childStart[n] ..< childStart[n + 1]` and only their labels need storing; and every
/// failure or output link points to a smaller id, which is what makes a deserialized trie
/// provably loop-free (see `validate`).
///
/// Node 0 is the root. `pattern[n]` is the internal pattern index + 1 whose whole text is node
/// `n` (0 = none); `dict[n]` is the nearest proper suffix node that has a pattern (0 = none).
/// The nocase trie stores ASCII-lowercased labels and is walked with lowercased bytes.
@usableFromInline
struct Trie: Sendable {
    let fold: Bool
    /// Dense first level: root child for each input byte (upper case too in a folding trie).
    let root: [UInt32]
    let childStart: [UInt32]
    let label: [UInt8]
    /// Node depths, 16 bits each unless a pattern is longer than 65,535 bytes (then 32).
    let depth: Depths
    let fail: [UInt32]
    let dict: [UInt32]
    let pattern: [UInt32]

    init(fold: Bool, root: [UInt32], childStart: [UInt32], label: [UInt8], depth: [UInt32], fail: [UInt32],
         dict: [UInt32], pattern: [UInt32]) {
        self.fold = fold
        self.root = root
        self.childStart = childStart
        self.label = label
        self.depth = Depths(depth)
        self.fail = fail
        self.dict = dict
        self.pattern = pattern
    }

    var nodeCount: Int { label.count }
    var isEmpty: Bool { label.count <= 1 }

    var memoryBytes: Int {
        root.count * 4 + childStart.count * 4 + label.count + depth.memoryBytes + (fail.count + dict.count + pattern.count) * 4
    }

    /// The child of `node` labelled `b`, or 0.
    @inline(__always)
    func child(_ node: Int, _ b: UInt8) -> Int {
        var lo = Int(childStart[node])
        var hi = Int(childStart[node &+ 1])
        if hi &- lo <= 8 {
            while lo < hi {
                if label[lo] == b { return lo }
                lo &+= 1
            }
            return 0
        }
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            let m = label[mid]
            if m == b { return mid }
            if m < b { lo = mid &+ 1 } else { hi = mid }
        }
        return 0
    }

    /// Aho-Corasick transition: used only where a match may span a chunk boundary.
    @inline(__always)
    func next(_ state: Int, _ b: UInt8) -> Int {
        var s = state
        while s != 0 {
            let c = child(s, b)
            if c != 0 { return c }
            s = Int(fail[s])  // strictly smaller id: terminates
        }
        return Int(root[Int(b)])
    }

    // MARK: Building

    /// Builds from patterns already in this trie's alphabet (lowercased for a folding trie).
    /// `texts[k]` belongs to internal pattern `indices[k]`; texts are distinct and non-empty.
    static func build(fold: Bool, texts: [[UInt8]], indices: [Int]) -> Trie {
        // Insert in lexicographic order: the byte that diverges from the previous pattern is
        // always greater than any existing sibling, so children arrive sorted and the edge to
        // follow is always the most recently added one (no per-node dictionaries).
        let order = texts.indices.sorted { texts[$0].lexicographicallyPrecedes(texts[$1]) }
        var firstChild: [Int32] = [-1]
        var lastChild: [Int32] = [-1]
        var sibling: [Int32] = [-1]
        var lab: [UInt8] = [0]
        var pat: [UInt32] = [0]
        for k in order {
            var node = 0
            for b in texts[k] {
                let last = Int(lastChild[node])
                if last >= 0, lab[last] == b {
                    node = last
                    continue
                }
                let new = lab.count
                lab.append(b); pat.append(0)
                firstChild.append(-1); lastChild.append(-1); sibling.append(-1)
                if last >= 0 { sibling[last] = Int32(new) } else { firstChild[node] = Int32(new) }
                lastChild[node] = Int32(new)
                node = new
            }
            pat[node] = UInt32(indices[k] + 1)
        }
        // Breadth-first renumbering.
        let n = lab.count
        var newID = [Int32](repeating: 0, count: n)
        var queue = [Int32](); queue.reserveCapacity(n)
        queue.append(0)
        var head = 0
        var childStart = [UInt32](); childStart.reserveCapacity(n + 1)
        var label = [UInt8](); label.reserveCapacity(n)
        var pattern = [UInt32](); pattern.reserveCapacity(n)
        var depth = [UInt32](repeating: 0, count: n)
        var parent = [UInt32](repeating: 0, count: n)
        label.append(0); pattern.append(0)
        while head < queue.count {
            let old = Int(queue[head])
            let me = head
            head += 1
            childStart.append(UInt32(queue.count))
            var c = Int(firstChild[old])
            while c >= 0 {
                let id = queue.count
                newID[c] = Int32(id)
                queue.append(Int32(c))
                label.append(lab[c]); pattern.append(pat[c])
                depth[id] = depth[me] + 1
                parent[id] = UInt32(me)
                c = Int(sibling[c])
            }
        }
        childStart.append(UInt32(n))
        var root = [UInt32](repeating: 0, count: 256)
        var c = Int(childStart[0])
        while c < Int(childStart[1]) {
            root[Int(label[c])] = UInt32(c)
            if fold, label[c] >= 0x61, label[c] <= 0x7a { root[Int(label[c] - 0x20)] = UInt32(c) }
            c += 1
        }
        var t = Trie(fold: fold, root: root, childStart: childStart, label: label, depth: depth,
                     fail: [UInt32](repeating: 0, count: n), dict: [UInt32](repeating: 0, count: n),
                     pattern: pattern)
        var fail = [UInt32](repeating: 0, count: n)
        var dict = [UInt32](repeating: 0, count: n)
        if n > 1 {
            for id in 1 ..< n {
                let p = Int(parent[id])
                var f = 0
                if p != 0 {
                    var s = Int(fail[p])
                    let b = label[id]
                    while true {
                        let ch = s == 0 ? Int(root[Int(b)]) : t.child(s, b)
                        if ch != 0 && ch != id { f = ch; break }
                        if s == 0 { break }
                        s = Int(fail[s])
                    }
                }
                fail[id] = UInt32(f)
                dict[id] = pattern[f] != 0 ? UInt32(f) : dict[f]
            }
        }
        t = Trie(fold: fold, root: root, childStart: childStart, label: label, depth: depth,
                 fail: fail, dict: dict, pattern: pattern)
        return t
    }

    static var empty: Trie { build(fold: false, texts: [], indices: []) }

    // MARK: Validation of deserialized tries

    /// Everything the scan relies on to never trap and never loop: ids in range, children
    /// after their parent, failure and output links strictly backwards, depths consistent.
    func validate(patternCount: Int) -> Bool {
        let n = label.count
        guard n >= 1, root.count == 256, childStart.count == n + 1, depth.count == n,
              fail.count == n, dict.count == n, pattern.count == n else { return false }
        guard depth[0] == 0, fail[0] == 0, dict[0] == 0, pattern[0] == 0 else { return false }
        guard Int(childStart[n]) == n else { return false }
        var prev = 1
        for node in 0 ..< n {
            let lo = Int(childStart[node]), hi = Int(childStart[node + 1])
            guard lo == prev, hi >= lo, hi <= n else { return false }
            if hi > lo { guard lo > node else { return false } }
            var c = lo
            while c < hi {
                guard depth[c] == depth[node] &+ 1 else { return false }
                if c > lo { guard label[c] > label[c - 1] else { return false } }
                c += 1
            }
            prev = hi
        }
        for node in 1 ..< max(n, 1) {
            guard Int(fail[node]) < node, Int(dict[node]) < node,
                  depth[Int(fail[node])] < depth[node], depth[Int(dict[node])] < depth[node],
                  Int(pattern[node]) <= patternCount else { return false }
            if dict[node] != 0 { guard pattern[Int(dict[node])] != 0 else { return false } }
        }
        for r in root { guard Int(r) < n, r == 0 || depth[Int(r)] == 1 else { return false } }
        return true
    }
}

/// Trie node depths in the narrowest width that holds them. Why: depth is read only where a
/// match may span a chunk boundary, and at 4 bytes per node it was ~1.2 MB of the ET sets
/// (peak RSS with ET is at its 128 MB target).
struct Depths: Sendable {
    let narrow: [UInt16]
    let wide: [UInt32]

    init(_ a: [UInt32]) {
        if a.allSatisfy({ $0 <= UInt32(UInt16.max) }) {
            narrow = a.map { UInt16(truncatingIfNeeded: $0) }
            wide = []
        } else {
            narrow = []
            wide = a
        }
    }

    var count: Int { wide.isEmpty ? narrow.count : wide.count }

    @inline(__always)
    subscript(_ i: Int) -> UInt32 { wide.isEmpty ? UInt32(narrow[i]) : wide[i] }

    /// The serialized form (always 32-bit).
    var array32: [UInt32] { wide.isEmpty ? narrow.map { UInt32($0) } : wide }

    var memoryBytes: Int { narrow.count * 2 + wide.count * 4 }
}
