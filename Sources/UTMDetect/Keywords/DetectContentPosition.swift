/// Where a content may match: `offset`/`depth` (absolute, from the buffer start) and
/// `distance`/`within` (relative to the end of the previous match in the same buffer).
/// Suricata rejects mixing the two kinds on one content, and a window shorter than the content.
/// Bounds as Suricata stores them: `offset`/`depth` 16-bit, `distance`/`within` 32-bit signed;
/// a larger number is refused with the line (session 8 review: `offset:9223372036854775807;
/// depth:10;` loaded, and position arithmetic on it trapped when the engine was built).
enum DetectContentPosition {
    static func bounded(_ r: ValueRef, _ keyword: String, _ range: ClosedRange<Int>) throws(RuleError) -> ValueRef {
        if case .constant(let n) = r, !range.contains(n) {
            throw .invalid("\(keyword) \(n) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return r
    }

    @Sendable static func depth(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try bounded(try b.valueRef(try KW.require(v, "depth"), keyword: "depth"), "depth", Int.min ... 65535)
        try b.modifyLastContent("depth") { (c: inout ContentMatch) throws(RuleError) in
            if c.isRelative { throw .invalid("depth cannot be used with distance or within on the same content") }
            if c.depth != nil { throw .invalid("depth given twice for one content") }
            if c.startsWith { throw .invalid("depth cannot be combined with startswith") }
            if case .constant(let n) = r {
                if n <= 0 { throw .invalid("depth must be positive (got \(n))") }
                if n < c.pattern.count { throw .invalid("depth \(n) is shorter than the content (\(c.pattern.count) bytes)") }
            }
            c.depth = r
        }
    }

    @Sendable static func offset(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try bounded(try b.valueRef(try KW.require(v, "offset"), keyword: "offset"), "offset", Int.min ... 65535)
        try b.modifyLastContent("offset") { (c: inout ContentMatch) throws(RuleError) in
            if c.isRelative { throw .invalid("offset cannot be used with distance or within on the same content") }
            if c.offset != nil { throw .invalid("offset given twice for one content") }
            if c.startsWith { throw .invalid("offset cannot be combined with startswith") }
            if case .constant(let n) = r, n < 0 { throw .invalid("offset must not be negative (got \(n))") }
            c.offset = r
        }
    }

    @Sendable static func distance(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try bounded(try b.valueRef(try KW.require(v, "distance"), keyword: "distance"), "distance",
                            Int(Int32.min) ... Int(Int32.max))
        try b.modifyLastContent("distance") { (c: inout ContentMatch) throws(RuleError) in
            if c.offset != nil || c.depth != nil { throw .invalid("distance cannot be used with offset or depth on the same content") }
            if c.distance != nil { throw .invalid("distance given twice for one content") }
            if c.startsWith { throw .invalid("distance cannot be combined with startswith") }
            c.distance = r
        }
    }

    @Sendable static func within(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try bounded(try b.valueRef(try KW.require(v, "within"), keyword: "within"), "within",
                            Int(Int32.min) ... Int(Int32.max))
        try b.modifyLastContent("within") { (c: inout ContentMatch) throws(RuleError) in
            if c.offset != nil || c.depth != nil { throw .invalid("within cannot be used with offset or depth on the same content") }
            if c.within != nil { throw .invalid("within given twice for one content") }
            if c.startsWith { throw .invalid("within cannot be combined with startswith") }
            if case .constant(let n) = r {
                if n <= 0 { throw .invalid("within must be positive (got \(n))") }
                if n < c.pattern.count { throw .invalid("within \(n) is shorter than the content (\(c.pattern.count) bytes)") }
            }
            c.within = r
        }
    }
}
