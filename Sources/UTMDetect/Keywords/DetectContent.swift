/// `content` and `uricontent`, plus the modifiers that change how a content compares:
/// `nocase`, `rawbytes`, `startswith`, `endswith`. Position modifiers are in
/// `DetectContentPosition.swift`, `fast_pattern` in `DetectFastPattern.swift`.
enum DetectContent {
    @Sendable static func content(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let (pattern, negated) = try decode(try KW.require(v, "content"), keyword: "content")
        var c = ContentMatch(pattern: pattern)
        c.negated = negated
        b.append(.content(c), to: b.currentBuffer)
    }

    /// Suricata 4's `uricontent`: a content in the normalized URI.
    @Sendable static func uricontent(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let (pattern, negated) = try decode(try KW.require(v, "uricontent"), keyword: "uricontent")
        var c = ContentMatch(pattern: pattern)
        c.negated = negated
        b.append(.content(c), to: .httpURI)
    }

    /// Decodes `[!]"text|hex|text"`: `|..|` hex bytes (blanks allowed between pairs), `\` escapes.
    static func decode(_ raw: Substring, keyword: String) throws(RuleError) -> ([UInt8], Bool) {
        var t = raw.trimmingSpaces
        var negated = false
        if t.utf8.first == 0x21 {
            negated = true
            t = Substring(t.utf8.dropFirst()).trimmingSpaces
        }
        let body = try KW.unquote(t)
        var out: [UInt8] = []
        out.reserveCapacity(body.utf8.count)
        var hex = false
        var escaped = false
        var nibble: UInt8?
        for c in body.utf8 {
            if hex {
                if c == UInt8(ascii: "|") {
                    if nibble != nil { throw .invalid("\(keyword): odd number of hex digits in |...|") }
                    hex = false
                    continue
                }
                if c == 0x20 || c == 0x09 { continue }
                guard let d = hexValue(c) else {
                    throw .invalid("\(keyword): bad hex character '\(Character(Unicode.Scalar(c)))' in |...|")
                }
                if let hi = nibble { out.append(hi << 4 | d); nibble = nil } else { nibble = d }
                continue
            }
            if escaped {
                out.append(c)
                escaped = false
            } else if c == UInt8(ascii: "\\") {
                escaped = true
            } else if c == UInt8(ascii: "|") {
                hex = true
            } else {
                out.append(c)
            }
        }
        if hex { throw .invalid("\(keyword): unterminated |...| hex block") }
        if escaped { throw .invalid("\(keyword): dangling backslash") }
        if out.isEmpty { throw .invalid("\(keyword): empty pattern") }
        return (out, negated)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: return c - 0x30
        case 0x41 ... 0x46: return c - 0x41 + 10
        case 0x61 ... 0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    @Sendable static func nocase(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "nocase")
        try b.modifyLastContent("nocase") { (c: inout ContentMatch) throws(RuleError) in
            c.nocase = true
            c.folded = c.pattern.map(asciiLowerByte)
        }
    }

    @Sendable static func rawbytes(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try b.modifyLastContent("rawbytes") { (c: inout ContentMatch) throws(RuleError) in c.rawbytes = true }
    }

    @Sendable static func startswith(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "startswith")
        try b.modifyLastContent("startswith") { (c: inout ContentMatch) throws(RuleError) in
            if c.isRelative || c.offset != nil || c.depth != nil {
                throw .invalid("startswith cannot be combined with offset, depth, distance or within")
            }
            c.startsWith = true
        }
    }

    @Sendable static func endswith(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "endswith")
        try b.modifyLastContent("endswith") { (c: inout ContentMatch) throws(RuleError) in
            if c.negated { throw .invalid("endswith cannot be used with a negated content") }
            c.endsWith = true
        }
    }
}

@inline(__always)
func asciiLowerByte(_ b: UInt8) -> UInt8 { (b &- 0x41) < 26 ? b | 0x20 : b }
