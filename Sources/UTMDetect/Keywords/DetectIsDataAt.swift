/// `isdataat:[!]N[,relative][,rawbytes]`: whether the buffer has data at N (absolute) or N
/// bytes after the previous match (relative).
enum DetectIsDataAt {
    @Sendable static func isdataat(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "isdataat"))
        var first = parts[0]
        var negated = false
        if first.first == "!" { negated = true; first = first.dropFirst().trimmingSpaces }
        let value = try b.valueRef(first, keyword: "isdataat")
        if case .constant(let n) = value, n < 0 || n > 65535 { throw .invalid("isdataat: \(n) out of range 0...65535") }
        var relative = false
        for p in parts.dropFirst() {
            switch p {
            case "relative": relative = true
            case "rawbytes": break
            default: throw .invalid("isdataat: unknown option '\(p)'")
            }
        }
        let target = relative ? b.bufferForRelative() : b.currentBuffer
        b.append(.isDataAt(IsDataAtMatch(value: value, relative: relative, negated: negated)), to: target)
    }
}
