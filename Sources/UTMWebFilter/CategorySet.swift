/// A set of category list ids (0..<128): the lists a host or URL is in. Two words, no
/// allocation; list names live in the database (`CategoryDatabase.listName(_:)`).
@frozen
public struct CategorySet: Hashable, Sendable {
    public var lo: UInt64
    public var hi: UInt64

    public static let capacity = 128

    @inlinable public init() { lo = 0; hi = 0 }
    @inlinable public init(lo: UInt64, hi: UInt64) { self.lo = lo; self.hi = hi }
    @inlinable public static var empty: CategorySet { CategorySet() }

    @inlinable public var isEmpty: Bool { lo == 0 && hi == 0 }
    @inlinable public var count: Int { lo.nonzeroBitCount + hi.nonzeroBitCount }

    @inlinable
    public func contains(_ id: Int) -> Bool {
        guard id >= 0, id < 128 else { return false }
        return id < 64 ? lo >> UInt64(id) & 1 == 1 : hi >> UInt64(id - 64) & 1 == 1
    }

    @inlinable
    public mutating func insert(_ id: Int) {
        guard id >= 0, id < 128 else { return }
        if id < 64 { lo |= 1 << UInt64(id) } else { hi |= 1 << UInt64(id - 64) }
    }

    @inlinable public func union(_ o: CategorySet) -> CategorySet { CategorySet(lo: lo | o.lo, hi: hi | o.hi) }
    @inlinable public func intersection(_ o: CategorySet) -> CategorySet { CategorySet(lo: lo & o.lo, hi: hi & o.hi) }
    @inlinable public func subtracting(_ o: CategorySet) -> CategorySet { CategorySet(lo: lo & ~o.lo, hi: hi & ~o.hi) }
    @inlinable public mutating func formUnion(_ o: CategorySet) { lo |= o.lo; hi |= o.hi }

    /// The smallest id in the set, or nil.
    @inlinable
    public var first: Int? {
        if lo != 0 { return lo.trailingZeroBitCount }
        if hi != 0 { return 64 + hi.trailingZeroBitCount }
        return nil
    }

    /// Calls `body` with each id, ascending. Non-escaping, allocation-free.
    @inlinable
    public func forEach(_ body: (Int) -> Void) {
        var w = lo
        while w != 0 { body(w.trailingZeroBitCount); w &= w &- 1 }
        w = hi
        while w != 0 { body(64 + w.trailingZeroBitCount); w &= w &- 1 }
    }

    /// The ids as an array (slow paths, tests).
    public var ids: [Int] {
        var out: [Int] = []
        forEach { out.append($0) }
        return out
    }
}
