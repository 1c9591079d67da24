/// `dcerpc.opnum:<n>[,<n>|<a>-<b>...]` (Suricata 4's `dce_opnum` too): the DCE/RPC request's
/// operation number is one of these (ranges inclusive), or, Suricata 7's other form, satisfies
/// one integer comparison (`>5`, `<=10`, `!=3`). Makes the rule a dcerpc rule.
public struct DCERPCOpnumMatch: Sendable, Equatable {
    /// Inclusive ranges, `lo << 16 | hi`.
    public var ranges: [UInt32]
    /// The comparison form, when not a list.
    public var compare: IntMatch?

    @inlinable
    public func matches(_ opnum: UInt16) -> Bool {
        if let c = compare { return c.matches(Int(opnum)) }
        var i = 0
        while i < ranges.count {
            let r = ranges[i]
            if opnum >= UInt16(r >> 16) && opnum <= UInt16(r & 0xffff) { return true }
            i &+= 1
        }
        return false
    }
}

enum DetectDCERPCOpnum {
    static func opnum(_ name: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            let m = try parse(try KW.require(v, name), name)
            try b.requireApp(.dcerpc, keyword: name)
            b.signature.headerMatches.append(.dcerpcOpnum(m))
        }
    }

    static func parse(_ raw: Substring, _ name: String) throws(RuleError) -> DCERPCOpnumMatch {
        let t = raw.trimmingSpaces
        if let c = t.first, c == "<" || c == ">" || c == "!" || c == "=" {
            let m = try KW.intMatch(t, name)
            guard m.a >= 0 && m.a <= 0xffff && m.b <= 0xffff else { throw .invalid("\(name): '\(t)' out of range 0...65535") }
            return DCERPCOpnumMatch(ranges: [], compare: m)
        }
        var ranges: [UInt32] = []
        for p in KW.commas(t) {
            let ends = p.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, let a = UInt16(ends[0].trimmingSpaces), let b = ends.count == 2 ? UInt16(ends[1].trimmingSpaces) : a else {
                throw .invalid("\(name): '\(p)' (expected an opnum 0...65535 or a range a-b)")
            }
            guard a <= b else { throw .invalid("\(name): empty range \(a)-\(b)") }
            ranges.append(UInt32(a) << 16 | UInt32(b))
        }
        guard !ranges.isEmpty else { throw .invalid("\(name): no opnum") }
        return DCERPCOpnumMatch(ranges: ranges, compare: nil)
    }
}
