import Synchronization
import UTMCore

/// The bits `xbits` and `hostbits` keep per host or per IP pair (Suricata's host and ippair
/// tables), one entry per (host or pair, name): a fixed-capacity table built once, so setting
/// and testing bits never allocates.
///
/// Bounds: `capacity` entries (a power of two, at least `window`). An entry lives until its
/// expiry (the rule's `expire`, from the packet time); a key is looked up among the `window`
/// slots from its hash. A new entry takes a free or expired slot of its window, else evicts
/// the least recently used one there (`evictions` counts them): under pressure the oldest
/// bits go first and a check then reads "not set", the way a full Suricata host table drops
/// hosts. Memory: `memoryBytes` (about 72 bytes per entry; 16,384 entries ≈ 1.2 MB,
/// allocated only when a rule uses xbits or hostbits; one table for all of utmd's workers).
///
/// Why a class: the verifier that owns it is a value copied into each worker's engine; the
/// table is shared by reference by all the workers of one definitions set
/// (`SharedHostState`: a host's flows are spread over the workers) and mutated in place under
/// its lock, taken only by rules that use xbits or hostbits.
public final class HostBitTable: @unchecked Sendable {
    /// A host (`b` is `.none`) or an unordered pair (`a` < `b`), and the interned bit name.
    struct Key: Equatable {
        var a: IPAddress
        var b: IPAddress
        var name: UInt16
        var pair: Bool
    }

    /// Slots probed per key.
    public static let window = 8
    public let capacity: Int
    let mask: Int
    var keys: [Key]
    /// Expiry time in seconds; `Int64.min` marks a free slot.
    var expires: [Int64]
    /// Last-use stamps, for eviction.
    var used: [UInt32]
    var clock: UInt32 = 0
    /// Live entries that were evicted to make room.
    public private(set) var evictions = 0
    let lock = Mutex(())

    public init(capacity requested: Int) {
        var c = HostBitTable.window
        while c < requested && c < 1 << 24 { c <<= 1 }
        capacity = c
        mask = c - 1
        keys = Array(repeating: Key(a: .none, b: .none, name: 0, pair: false), count: c)
        expires = Array(repeating: Int64.min, count: c)
        used = Array(repeating: 0, count: c)
    }

    /// Bytes the table holds (its three arrays).
    public var memoryBytes: Int {
        capacity * (MemoryLayout<Key>.stride + MemoryLayout<Int64>.stride + MemoryLayout<UInt32>.stride)
    }

    /// Entries not expired at `now` (tests and stats; walks the table).
    public func live(now: Int64) -> Int {
        lock.withLock { _ in
            var n = 0
            for i in 0 ..< capacity where expires[i] != Int64.min && now <= expires[i] { n += 1 }
            return n
        }
    }

    static func key(_ op: HostBitOp, _ p: PacketFacts) -> Key {
        switch op.track {
        case .source: return Key(a: p.source, b: .none, name: op.name, pair: false)
        case .destination: return Key(a: p.destination, b: .none, name: op.name, pair: false)
        case .pair:
            let (x, y) = p.source < p.destination ? (p.source, p.destination) : (p.destination, p.source)
            return Key(a: x, b: y, name: op.name, pair: true)
        }
    }

    @inline(__always)
    func bucket(_ k: Key) -> Int {
        var h = k.a.hi &* 0x9E37_79B9_7F4A_7C15 ^ k.a.lo &* 0xC2B2_AE3D_27D4_EB4F
        h ^= k.b.hi &* 0x1656_67B1_9E37_79F9 ^ k.b.lo &* 0x85EB_CA77_C2B2_AE63
        h ^= UInt64(k.name) &* 0x27D4_EB2F_1656_67C5 ^ (k.pair ? 0xFF51_AFD7_ED55_8CCD : 0)
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The slot holding `k` (expired or not), or -1.
    func find(_ k: Key) -> Int {
        let start = bucket(k)
        var j = 0
        while j < HostBitTable.window {
            let i = (start &+ j) & mask
            if expires[i] != Int64.min && keys[i] == k { return i }
            j &+= 1
        }
        return -1
    }

    func isSet(_ k: Key, now: Int64) -> Bool {
        let i = find(k)
        guard i >= 0 else { return false }
        if now > expires[i] { expires[i] = Int64.min; return false }
        clock &+= 1
        used[i] = clock
        return true
    }

    func set(_ k: Key, now: Int64, expire: Int) {
        put(k, until: now &+ Int64(expire), now: now)
    }

    /// `k` until `until`: its slot, else a free or (at `now`) expired slot of its window, else
    /// the window's least recently used one (an eviction).
    private func put(_ k: Key, until: Int64, now: Int64) {
        clock &+= 1
        var i = find(k)
        if i < 0 {
            let start = bucket(k)
            var oldest = -1
            var j = 0
            while j < HostBitTable.window {
                let s = (start &+ j) & mask
                if expires[s] == Int64.min || now > expires[s] { i = s; break }
                if oldest < 0 || used[s] &- used[oldest] > UInt32.max / 2 { oldest = s }
                j &+= 1
            }
            if i < 0 { i = oldest; evictions &+= 1 }
            keys[i] = k
        }
        expires[i] = until
        used[i] = clock
    }

    func unset(_ k: Key) {
        let i = find(k)
        if i >= 0 { expires[i] = Int64.min }
    }

    /// Suricata's toggle: a bit that is set goes, one that is not is set.
    func toggle(_ k: Key, now: Int64, expire: Int) {
        if isSet(k, now: now) { unset(k) } else { set(k, now: now, expire: expire) }
    }

    /// Takes over the entries of `old` (a reload's running table) still live at `now` whose
    /// bit name `rename` maps into this table's names, with their expiry and recency. The old
    /// table's lock is held only to copy its slots into arrays reserved beforehand; the copy is
    /// not counted as evictions.
    func carry(from old: HostBitTable, now: Int64, rename: (UInt16) -> UInt16?) {
        guard old !== self else { return }
        var k = [Key](repeating: Key(a: .none, b: .none, name: 0, pair: false), count: old.capacity)
        var e = [Int64](repeating: Int64.min, count: old.capacity)
        var u = [UInt32](repeating: 0, count: old.capacity)
        var oldClock: UInt32 = 0
        old.lock.withLock { _ in
            for i in 0 ..< old.capacity { k[i] = old.keys[i]; e[i] = old.expires[i]; u[i] = old.used[i] }
            oldClock = old.clock
        }
        // Oldest first, so that under pressure a window keeps its most recently used bits.
        let order = (0 ..< old.capacity).filter { e[$0] != Int64.min && now <= e[$0] }
            .sorted { oldClock &- u[$0] > oldClock &- u[$1] }
        lock.withLock { _ in
            let before = evictions
            clock = oldClock &- UInt32(truncatingIfNeeded: order.count)
            for i in order {
                guard let name = rename(k[i].name) else { continue }
                var key = k[i]
                key.name = name
                put(key, until: e[i], now: now)
            }
            clock = oldClock
            evictions = before
        }
    }

    /// A check (`isset`/`isnotset`) against the packet.
    public func check(_ op: HostBitOp, _ p: PacketFacts) -> Bool {
        // Only plain values enter the locked closure: capturing `p` made every caller that
        // inlines this copy its PacketFacts on entry (~3 M instructions on the 10 MB capture).
        let k = HostBitTable.key(op, p), now = p.time
        let set = lock.withLock { _ in isSet(k, now: now) }
        return op.kind == .isSet ? set : !set
    }

    /// A change (`set`/`unset`/`toggle`) of a matching rule.
    public func apply(_ op: HostBitOp, _ p: PacketFacts) {
        let k = HostBitTable.key(op, p), now = p.time, kind = op.kind, expire = op.expire
        lock.withLock { _ in
            switch kind {
            case .set: set(k, now: now, expire: expire)
            case .unset: unset(k)
            case .toggle: toggle(k, now: now, expire: expire)
            case .isSet, .isNotSet: break
            }
        }
    }
}
