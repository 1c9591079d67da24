/// `flowbits:set|unset|toggle|isset|isnotset,name` and `flowbits:noalert`. Names are interned
/// into the rule set's `FlowbitNames`; `a|b` means any of them, `a&b` all of them.
enum DetectFlowbits {
    @Sendable static func flowbits(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let value = try KW.require(v, "flowbits")
        let parts = KW.commas(value)
        let command = parts[0].lowercased()
        if command == "noalert" {
            guard parts.count == 1 else { throw .invalid("flowbits:noalert takes no name") }
            b.signature.noalert = true
            return
        }
        guard parts.count == 2, !parts[1].isEmpty else { throw .invalid("flowbits:\(command) needs one name") }
        let kind: FlowbitOp.Kind
        switch command {
        case "set": kind = .set
        case "unset": kind = .unset
        case "toggle": kind = .toggle
        case "isset": kind = .isSet
        case "isnotset": kind = .isNotSet
        default: throw .invalid("flowbits: unknown command '\(parts[0])'")
        }
        let nameText = parts[1]
        let hasOr = nameText.contains("|"), hasAnd = nameText.contains("&")
        if hasOr && hasAnd { throw .invalid("flowbits: cannot mix | and & in '\(nameText)'") }
        let names = nameText.split(whereSeparator: { $0 == "|" || $0 == "&" }).map { $0.trimmingSpaces }
        if names.contains(where: { $0.isEmpty || $0.contains(" ") }) { throw .invalid("flowbits: bad name '\(nameText)'") }
        if names.count > 1 && (kind == .set || kind == .unset || kind == .toggle) && hasOr {
            throw .invalid("flowbits:\(command) cannot take an | list")
        }
        var bits: [UInt16] = []
        for n in names { bits.append(try b.flowbitNames.intern(String(n))) }
        b.signature.flowbits.append(FlowbitOp(kind: kind, bits: bits, any: hasOr))
    }
}
