/// A pool of parser states reused across flows.
///
/// Why: a parser state holds reserved buffers; creating one per flow would allocate on the
/// packet path. States are created on first need up to `limit` (warm-up), then recycled through
/// a free list whose capacity was reserved up front, so steady state allocates nothing.
struct SlotPool<State> {
    var items: [State] = []
    private var free: [Int32] = []
    let limit: Int
    private let make: () -> State
    /// Times a flow wanted a state and none was left.
    private(set) var exhausted: UInt64 = 0

    init(limit: Int, make: @escaping () -> State) {
        self.limit = max(0, limit)
        self.make = make
        items.reserveCapacity(self.limit)
        free.reserveCapacity(self.limit)
    }

    var inUse: Int { items.count - free.count }

    /// A slot for a new flow, or nil when the pool is exhausted (the flow goes unparsed).
    mutating func acquire() -> Int32? {
        if let slot = free.popLast() { return slot }
        guard items.count < limit else { exhausted &+= 1; return nil }
        items.append(make())
        return Int32(items.count - 1)
    }

    mutating func release(_ slot: Int32) {
        guard slot >= 0, Int(slot) < items.count, free.count < limit else { return }
        free.append(slot)
    }
}
