/// One `flowint` operation (Suricata's per-flow integer variables). Names are interned with
/// the flowbit names at load (one table of names; the values live in `FlowInts`).
public struct FlowIntOp: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// Changes, applied once the whole rule matched (Suricata's post-match list).
        case set, add, sub
        /// Comparisons against a number or another flowint (0 while unset); no match while the
        /// compared flowint itself is unset.
        case less, lessEqual, equal, notEqual, greaterEqual, greater
        case isSet, notSet
    }
    public var kind: Kind
    public var name: UInt16
    /// A number, or (`targetIsVariable`) the interned name of another flowint.
    public var target: UInt32
    public var targetIsVariable: Bool

    public init(kind: Kind, name: UInt16, target: UInt32 = 0, targetIsVariable: Bool = false) {
        self.kind = kind; self.name = name; self.target = target; self.targetIsVariable = targetIsVariable
    }

    public var isChange: Bool { kind == .set || kind == .add || kind == .sub }
}

/// The flowints of one flow: a small fixed array of (interned name, value).
///
/// Why sparse and bounded, like `FlowBits`: rules count a handful of things per flow (ET's
/// brute-force and scan counters use one or two names), so eight inline entries (52 bytes)
/// cover them without a per-flow allocation; a `set` of a ninth name is refused and counted
/// (the rule still matches; later checks of that name read "not set").
@frozen
public struct FlowInts: Sendable {
    public static let capacity = 8
    @usableFromInline var names: InlineArray<8, UInt16>
    @usableFromInline var values: InlineArray<8, UInt32>
    @usableFromInline var used: UInt8

    public init() {
        names = InlineArray(repeating: 0)
        values = InlineArray(repeating: 0)
        used = 0
    }

    public var count: Int { Int(used) }

    @inlinable
    public func value(_ name: UInt16) -> UInt32? {
        var i = 0
        while i < Int(used) {
            if names[i] == name { return values[i] }
            i &+= 1
        }
        return nil
    }

    /// Stores `value` under `name`; false when the name is new and all entries are taken.
    @inlinable
    public mutating func store(_ name: UInt16, _ value: UInt32) -> Bool {
        var i = 0
        while i < Int(used) {
            if names[i] == name { values[i] = value; return true }
            i &+= 1
        }
        guard Int(used) < FlowInts.capacity else { return false }
        names[Int(used)] = name
        values[Int(used)] = value
        used &+= 1
        return true
    }

    public mutating func removeAll() { used = 0 }

    /// Whether a comparison, `isset` or `notset` holds (changes always hold).
    public func check(_ op: FlowIntOp) -> Bool {
        let mine = value(op.name)
        switch op.kind {
        case .isSet: return mine != nil
        case .notSet: return mine == nil
        case .set, .add, .sub: return true
        default: break
        }
        guard let a = mine else { return false }
        let b = targetValue(op)
        switch op.kind {
        case .less: return a < b
        case .lessEqual: return a <= b
        case .equal: return a == b
        case .notEqual: return a != b
        case .greaterEqual: return a >= b
        case .greater: return a > b
        default: return false
        }
    }

    /// The value side: a number, or another flowint (0 while it is unset, as in Suricata).
    @inlinable
    func targetValue(_ op: FlowIntOp) -> UInt32 {
        op.targetIsVariable ? value(UInt16(truncatingIfNeeded: op.target)) ?? 0 : op.target
    }

    /// Applies a `set`, `add` or `sub` as Suricata does: 32-bit values that wrap; `+` on an
    /// unset name sets it to the value, `-` on an unset name leaves it unset. False when the
    /// store was full (the caller counts it).
    public mutating func apply(_ op: FlowIntOp) -> Bool {
        let b = targetValue(op)
        switch op.kind {
        case .set: return store(op.name, b)
        case .add: return store(op.name, (value(op.name) ?? 0) &+ b)
        case .sub:
            guard let a = value(op.name) else { return true }
            return store(op.name, a &- b)
        default: return true
        }
    }
}

/// The flowints of every flow slot of one worker, built only when a rule uses `flowint`
/// (`DetectEngine.flowInts`), lent to the worker's verifier. A class so the verifier reads and
/// changes the slot's values in place, without a copy in and out per verification.
public final class FlowIntTable: @unchecked Sendable {
    var flows: [FlowInts]
    /// Changes refused because a flow's entries were all taken (`DetectStats.flowintOverflows`).
    public internal(set) var overflows: UInt64 = 0

    public init(slots: Int) { flows = Array(repeating: FlowInts(), count: Swift.max(1, slots)) }

    /// The slot's flow changed or ended: its values go with it (as its flowbits do).
    @inline(__always)
    public func reset(_ slot: Int) {
        if slot >= 0 && slot < flows.count { flows[slot].removeAll() }
    }

    public func values(_ slot: Int) -> FlowInts { slot >= 0 && slot < flows.count ? flows[slot] : FlowInts() }

    @inline(__always)
    func check(_ op: FlowIntOp, slot: Int) -> Bool {
        guard slot >= 0 && slot < flows.count else { return false }
        return flows[slot].check(op)
    }

    @inline(__always)
    func apply(_ op: FlowIntOp, slot: Int) {
        guard slot >= 0 && slot < flows.count else { return }
        if !flows[slot].apply(op) { overflows &+= 1 }
    }
}

extension DetectDefinitions {
    /// Whether a rule uses `flowint`: only then does a worker build its `FlowIntTable`.
    public var usesFlowInts: Bool {
        boxes.contains { box in box.sig.headerMatches.contains { if case .flowInt = $0 { true } else { false } } }
    }
}

extension FlowIntTable {
    /// A definitions update keeps the flows (DetectEngineHandover.swift): each flow's values
    /// under the new name table (`map`: old interned index → new), a name no new rule uses
    /// dropped as its flowbits are. Allocation-free; runs once per update.
    func take(from old: FlowIntTable, _ map: [UInt16?]) {
        guard old.flows.count == flows.count else { return }
        overflows = old.overflows
        var i = 0
        while i < flows.count {
            var out = FlowInts()
            let was = old.flows[i]
            var k = 0
            while k < was.count {
                let name = Int(was.names[k])
                if name < map.count, let new = map[name] { _ = out.store(new, was.values[k]) }
                k &+= 1
            }
            flows[i] = out
            i &+= 1
        }
    }
}
