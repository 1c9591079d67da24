/// `file.name` (Suricata 7 sticky buffer) and the legacy `filename:[!]"text"`: the name of the
/// file being transferred (BufferID.fileName). Suricata 7 compiles `filename:"x"` into
/// `file.name; content:"x"; nocase;` (the docs call the two the same), so it is a content of
/// the `file.name` list, case-insensitive, with `!` for a negated one.
enum DetectFileName {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "file.name")
        b.sticky = .fileName
    }

    @Sendable static func filename(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let (pattern, negated) = try DetectContent.decode(try KW.require(v, "filename"), keyword: "filename")
        guard !pattern.isEmpty else { throw .invalid("filename: empty name") }
        var c = ContentMatch(pattern: pattern)
        c.negated = negated
        c.nocase = true
        c.folded = pattern.map(asciiLowerByte)
        DetectFileSupport.appendName(&b, c)
    }
}
