/// `fast_pattern`, `fast_pattern:only`, `fast_pattern:offset,length` (chop): marks the content
/// the prefilter should use. One per rule.
enum DetectFastPattern {
    @Sendable static func fastPattern(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        if b.fastPatternSet { throw .invalid("fast_pattern given twice in one rule") }
        b.fastPatternSet = true
        let value = v?.trimmingSpaces
        try b.modifyLastContent("fast_pattern") { (c: inout ContentMatch) throws(RuleError) in
            c.fastPattern = true
            guard let value, !value.isEmpty else { return }
            if value == "only" {
                if c.negated { throw .invalid("fast_pattern:only cannot be used on a negated content") }
                if c.isRelative || c.offset != nil || c.depth != nil {
                    throw .invalid("fast_pattern:only cannot be used with offset, depth, distance or within")
                }
                c.fastPatternOnly = true
                return
            }
            let parts = KW.commas(value)
            guard parts.count == 2 else { throw .invalid("fast_pattern: expected 'only' or 'offset,length', got '\(value)'") }
            let o = try KW.int(parts[0], "fast_pattern", min: 0, max: 65535)
            let l = try KW.int(parts[1], "fast_pattern", min: 1, max: 65535)
            if o + l > c.pattern.count {
                throw .invalid("fast_pattern \(o),\(l) runs past the content (\(c.pattern.count) bytes)")
            }
            c.fastPatternChop = (o, l)
        }
    }
}
