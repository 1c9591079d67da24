/// The flowbits set on one flow: a small fixed array of interned flowbit indices.
///
/// Why sparse and not a bitset: ET Open names about 240 flowbits, but a flow rarely carries more
/// than two or three at once. Sixteen slots of two bytes keep the per-flow state at 34 bytes
/// whatever the rule set; a `set` beyond the capacity is refused and counted in `overflows`
/// (the rule still matches; only the later `isset` may then miss).
@frozen
public struct FlowBits: Sendable {
    public static let capacity = 16
    @usableFromInline var slots: InlineArray<16, UInt16>
    @usableFromInline var used: UInt8
    /// How many `set` operations were refused because all slots were taken.
    public var overflows: UInt16

    public init() {
        slots = InlineArray(repeating: 0)
        used = 0
        overflows = 0
    }

    public var count: Int { Int(used) }

    @inlinable
    public func isSet(_ bit: UInt16) -> Bool {
        var i = 0
        while i < Int(used) {
            if slots[i] == bit { return true }
            i &+= 1
        }
        return false
    }

    @inlinable
    public mutating func set(_ bit: UInt16) {
        if isSet(bit) { return }
        guard Int(used) < FlowBits.capacity else { overflows &+= 1; return }
        slots[Int(used)] = bit
        used &+= 1
    }

    @inlinable
    public mutating func unset(_ bit: UInt16) {
        var i = 0
        while i < Int(used) {
            if slots[i] == bit {
                used &-= 1
                slots[i] = slots[Int(used)]
                return
            }
            i &+= 1
        }
    }

    @inlinable
    public mutating func toggle(_ bit: UInt16) {
        if isSet(bit) { unset(bit) } else { set(bit) }
    }

    public mutating func removeAll() { used = 0 }

    /// Whether an `isset` (`wantSet`) or `isnotset` condition holds: for `a|b` lists one name
    /// suffices, otherwise every name must agree.
    public func satisfies(_ op: FlowbitOp, wantSet: Bool) -> Bool {
        var i = 0
        let n = op.bits.count
        while i < n {
            let isSet = self.isSet(op.bits[i])
            if op.any && isSet == wantSet { return true }
            if !op.any && isSet != wantSet { return false }
            i &+= 1
        }
        return !op.any
    }

    /// Applies a `set`, `unset` or `toggle` (conditions are ignored here).
    public mutating func apply(_ op: FlowbitOp) {
        var i = 0
        let n = op.bits.count
        while i < n {
            switch op.kind {
            case .set: set(op.bits[i])
            case .unset: unset(op.bits[i])
            case .toggle: toggle(op.bits[i])
            case .isSet, .isNotSet: return
            }
            i &+= 1
        }
    }
}

/// Values read by `byte_extract`, one slot per variable of the rule being verified.
@frozen
public struct ExtractedVariables: Sendable {
    public static let capacity = 8
    @usableFromInline var values: InlineArray<8, Int>

    public init() { values = InlineArray(repeating: 0) }

    @inlinable
    public subscript(i: Int) -> Int {
        get { i >= 0 && i < ExtractedVariables.capacity ? values[i] : 0 }
        set { if i >= 0 && i < ExtractedVariables.capacity { values[i] = newValue } }
    }
}
