import UTMCore

/// Storage for out-of-order TCP bytes of all flows: one `ByteSlab` cut into fixed-size chunks,
/// with node metadata in parallel arrays and lists linked by index.
///
/// Why: queued segments must outlive the packet that carried them, but the packet path must not
/// allocate and hostile traffic must not grow memory. Everything is allocated at init; a queue
/// is a sorted list of nodes, each holding up to one chunk of bytes that no other node of the
/// same queue holds (overlaps are trimmed on insert, first data wins).
struct SegmentPool: Sendable {
    let slab: ByteSlab
    let chunkBytes: Int
    let chunkCount: Int
    /// Stream offset of a node's first byte.
    var start: [Int64]
    var length: [Int32]
    /// Stream range (end exclusive) of the segment a node's bytes came from: overlap policies
    /// compare whole segments, not the chunks they were cut into.
    var segStart: [Int64]
    var segEnd: [Int64]
    /// Next node in its queue, or in the free list.
    var next: [Int32]
    var freeHead: Int32
    private(set) var used = 0

    init(totalBytes: Int, chunkBytes: Int) {
        let cb = Swift.min(Swift.max(16, chunkBytes), 1 << 16)
        let n = Swift.min(Swift.max(0, totalBytes) / cb, Int(Int32.max) - 1)
        self.chunkBytes = cb
        chunkCount = n
        slab = ByteSlab(capacity: n * cb)
        start = Array(repeating: 0, count: n)
        length = Array(repeating: 0, count: n)
        segStart = Array(repeating: 0, count: n)
        segEnd = Array(repeating: 0, count: n)
        next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        freeHead = n > 0 ? 0 : -1
    }

    @inline(__always)
    func valid(_ n: Int32) -> Bool { n >= 0 && Int(n) < chunkCount }

    @inline(__always)
    func nodeStart(_ n: Int32) -> Int64 { valid(n) ? start[Int(n)] : .max }

    @inline(__always)
    func nodeEnd(_ n: Int32) -> Int64 { valid(n) ? start[Int(n)] &+ Int64(length[Int(n)]) : .max }

    @inline(__always)
    func nodeNext(_ n: Int32) -> Int32 { valid(n) ? next[Int(n)] : -1 }

    /// The bytes of a node; valid until the node is freed and reused.
    @inline(__always)
    func view(_ n: Int32) -> ByteView {
        guard valid(n) else { return .empty }
        return slab.view(Int(n) * chunkBytes, Int(length[Int(n)])) ?? .empty
    }

    /// A node holding `bytes` (at most one chunk) at stream offset `offset`; nil when the pool
    /// is exhausted.
    mutating func allocate(offset: Int64, bytes: ByteView, segment: (Int64, Int64)) -> Int32? {
        let n = freeHead
        guard valid(n), bytes.count <= chunkBytes else { return nil }
        let i = Int(n)
        freeHead = next[i]
        next[i] = -1
        start[i] = offset
        length[i] = Int32(bytes.count)
        segStart[i] = segment.0
        segEnd[i] = segment.1
        slab.write(bytes, at: i * chunkBytes)
        used += 1
        return n
    }

    @inline(__always)
    func segment(_ n: Int32) -> (Int64, Int64) { valid(n) ? (segStart[Int(n)], segEnd[Int(n)]) : (0, 0) }

    /// Replaces node bytes from `offset` within the node with `bytes` (an overlap policy chose
    /// the newer segment's bytes). Out-of-range writes are ignored.
    mutating func overwrite(_ n: Int32, at offset: Int, _ bytes: ByteView) {
        guard valid(n), offset >= 0, offset + bytes.count <= Int(length[Int(n)]) else { return }
        slab.write(bytes, at: Int(n) * chunkBytes + offset)
    }

    mutating func setNext(_ n: Int32, _ to: Int32) {
        if valid(n) { next[Int(n)] = to }
    }

    /// Frees one node and returns its successor.
    @discardableResult
    mutating func free(_ n: Int32) -> Int32 {
        guard valid(n) else { return -1 }
        let i = Int(n)
        let following = next[i]
        next[i] = freeHead
        length[i] = 0
        freeHead = n
        used -= 1
        return following
    }

    /// Frees a whole queue; returns how many nodes it held.
    @discardableResult
    mutating func freeList(_ head: Int32) -> Int {
        var n = head
        var count = 0
        while valid(n) && count < chunkCount {
            n = free(n)
            count += 1
        }
        return count
    }
}
