/// Flowbit names interned to small integers at load time, so per-flow storage holds indices.
public struct FlowbitNames: Sendable {
    public private(set) var names: [String] = []
    private var index: [String: UInt16] = [:]

    public init() {}

    public var count: Int { names.count }

    public mutating func intern(_ name: String) throws(RuleError) -> UInt16 {
        if let i = index[name] { return i }
        guard names.count < Int(UInt16.max) else { throw .invalid("too many distinct flowbits") }
        let i = UInt16(names.count)
        names.append(name)
        index[name] = i
        return i
    }

    public func lookup(_ name: String) -> UInt16? { index[name] }
}
