/// `flowint: NAME, OP[, VALUE]` (Suricata's per-flow integers): OP is `=` (set), `+`, `-`,
/// a comparison (`<`, `<=`, `==`, `!=`, `>=`, `>`), `isset`, or `notset` / `isnotset`; VALUE
/// a 32-bit number or another flowint's name. Comparisons and `isset`/`notset` gate the rule
/// with its other header tests; `=`, `+`, `-` change the flow once the rule matched, in rule
/// order (Suricata's post-match list), so `flowint:n,+,1; flowint:n,>,5;` compares the count
/// before this packet's increment, as in Suricata. A `HeaderMatch.flowInt`; values per flow
/// in `FlowInts` (Verify/FlowInts.swift).
enum DetectFlowint {
    static let operators: [String: FlowIntOp.Kind] = [
        "=": .set, "+": .add, "-": .sub,
        "<": .less, "<=": .lessEqual, "==": .equal, "!=": .notEqual, ">=": .greaterEqual, ">": .greater,
        "isset": .isSet, "notset": .notSet, "isnotset": .notSet,
    ]

    @Sendable static func flowint(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "flowint"))
        guard parts.count == 2 || parts.count == 3 else { throw .invalid("flowint: expected NAME, OP[, VALUE]") }
        let name = parts[0]
        guard validName(name) else { throw .invalid("flowint: bad name '\(name)'") }
        guard let kind = operators[parts[1].lowercased()] else { throw .invalid("flowint: unknown operator '\(parts[1])'") }
        let id = try b.flowbitNames.intern(String(name))
        if kind == .isSet || kind == .notSet {
            guard parts.count == 2 else { throw .invalid("flowint:\(name),\(parts[1]) takes no value") }
            b.signature.headerMatches.append(.flowInt(FlowIntOp(kind: kind, name: id)))
            return
        }
        guard parts.count == 3, !parts[2].isEmpty else { throw .invalid("flowint:\(name),\(parts[1]) needs a value") }
        let value = parts[2]
        if let first = value.first, first.isNumber {
            guard let n = UInt32(value) else { throw .invalid("flowint: value '\(value)' is not a 32-bit number") }
            b.signature.headerMatches.append(.flowInt(FlowIntOp(kind: kind, name: id, target: n)))
        } else {
            guard validName(value) else { throw .invalid("flowint: bad value '\(value)'") }
            let other = try b.flowbitNames.intern(String(value))
            b.signature.headerMatches.append(.flowInt(FlowIntOp(kind: kind, name: id, target: UInt32(other), targetIsVariable: true)))
        }
    }

    static func validName(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 256 && !s.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == ";" })
    }
}
