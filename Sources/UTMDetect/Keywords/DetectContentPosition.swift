/// Where a content may match: `offset`/`depth` (absolute, from the buffer start) and
/// `distance`/`within` (relative to the end of the previous match in the same buffer).
/// Suricata rejects mixing the two kinds on one content, and a window shorter than the content.
enum DetectContentPosition {
    @Sendable static func depth(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try b.valueRef(try KW.require(v, "depth"), keyword: "depth")
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
        let r = try b.valueRef(try KW.require(v, "offset"), keyword: "offset")
        try b.modifyLastContent("offset") { (c: inout ContentMatch) throws(RuleError) in
            if c.isRelative { throw .invalid("offset cannot be used with distance or within on the same content") }
            if c.offset != nil { throw .invalid("offset given twice for one content") }
            if c.startsWith { throw .invalid("offset cannot be combined with startswith") }
            if case .constant(let n) = r, n < 0 { throw .invalid("offset must not be negative (got \(n))") }
            c.offset = r
        }
    }

    @Sendable static func distance(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try b.valueRef(try KW.require(v, "distance"), keyword: "distance")
        try b.modifyLastContent("distance") { (c: inout ContentMatch) throws(RuleError) in
            if c.offset != nil || c.depth != nil { throw .invalid("distance cannot be used with offset or depth on the same content") }
            if c.distance != nil { throw .invalid("distance given twice for one content") }
            if c.startsWith { throw .invalid("distance cannot be combined with startswith") }
            c.distance = r
        }
    }

    @Sendable static func within(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let r = try b.valueRef(try KW.require(v, "within"), keyword: "within")
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
