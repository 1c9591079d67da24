/// Shared helpers for keyword parsers: values, quoting, numbers, comma lists.
enum KW {
    static func require(_ value: Substring?, _ keyword: String) throws(RuleError) -> Substring {
        guard let v = value, !v.isEmpty else { throw .invalid("'\(keyword)' needs a value") }
        return v
    }

    static func noValue(_ value: Substring?, _ keyword: String) throws(RuleError) {
        if let v = value, !v.isEmpty { throw .invalid("'\(keyword)' takes no value (got '\(v.prefix(40))')") }
    }

    /// Strips one pair of surrounding double quotes, if present.
    static func unquote(_ v: Substring) throws(RuleError) -> Substring {
        let t = v.trimmingSpaces
        let u = t.utf8
        if u.first == 0x22 {
            guard u.count >= 2, u.last == 0x22 else { throw .malformed("unterminated quoted string \(t.prefix(40))") }
            return Substring(u.dropFirst().dropLast())
        }
        return t
    }

    /// Suricata's value keywords that take optional quotes (`ssh.protoversion`,
    /// `ssh.softwareversion`): blanks, then one `"` at either end on its own, are dropped; unlike
    /// `unquote`, an unpaired quote is accepted, as Suricata's own pattern for them does.
    static func optionalQuotes(_ raw: Substring) -> Substring {
        var t = raw.trimmingSpaces
        if t.hasPrefix("\"") { t = t.dropFirst().trimmingSpaces }
        if t.hasSuffix("\"") { t = t.dropLast().trimmingSpaces }
        return t
    }

    /// A content that matches only the whole buffer (`startswith` + `endswith`): how the legacy
    /// value keywords compare a field exactly without a verifier of their own.
    static func wholeBuffer(_ value: String) -> ContentMatch {
        var c = ContentMatch(pattern: Array(value.utf8))
        c.startsWith = true
        c.endsWith = true
        return c
    }

    /// Removes backslash escapes (`\"`, `\;`, `\\`, `\:`).
    static func unescape(_ v: Substring) -> String {
        if !v.utf8.contains(0x5C) { return String(v) }
        var out: [UInt8] = []
        out.reserveCapacity(v.utf8.count)
        var escaped = false
        for c in v.utf8 {
            if escaped { out.append(c); escaped = false } else if c == 0x5C { escaped = true } else { out.append(c) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func int(_ v: Substring, _ keyword: String, min: Int = Int.min, max: Int = Int.max) throws(RuleError) -> Int {
        let t = v.trimmingSpaces
        let n: Int?
        if t.hasPrefix("0x") || t.hasPrefix("0X") { n = Int(t.dropFirst(2), radix: 16) } else { n = Int(t) }
        guard let n else { throw .invalid("\(keyword): '\(t)' is not a number") }
        guard n >= min && n <= max else { throw .invalid("\(keyword): \(n) is out of range \(min)...\(max)") }
        return n
    }

    static func commas(_ v: Substring) -> [Substring] {
        v.splitASCII(0x2C)
    }

    /// `N`, `!N`, `!=N`, `<N`, `>N`, `<=N`, `>=N`, `N<>M`, `N-M`, `!N-M` (Suricata's integer
    /// match syntax; the negated range is Suricata 8's).
    static func intMatch(_ v: Substring, _ keyword: String) throws(RuleError) -> IntMatch {
        let t = v.trimmingSpaces.filter { $0 != " " }
        var s = Substring(t)
        if s.hasPrefix("!=") { return IntMatch(mode: .notEqual, a: try int(s.dropFirst(2), keyword)) }
        if s.hasPrefix("!"), s.dropFirst().contains("<>") || s.dropFirst(2).contains("-") {
            s = s.dropFirst()
            var m = try intMatch(s, keyword)
            guard m.mode == .range else { throw .invalid("\(keyword): '!' before '\(s)' is not a range") }
            m.mode = .notRange
            return m
        }
        if let r = s.firstRange(of: "<>") {
            let a = try int(s[..<r.lowerBound], keyword), b = try int(s[r.upperBound...], keyword)
            guard a < b else { throw .invalid("\(keyword): empty range \(a)<>\(b)") }
            return IntMatch(mode: .range, a: a, b: b)
        }
        if s.hasPrefix("<=") { return IntMatch(mode: .lessEqual, a: try int(s.dropFirst(2), keyword)) }
        if s.hasPrefix(">=") { return IntMatch(mode: .greaterEqual, a: try int(s.dropFirst(2), keyword)) }
        if s.hasPrefix("<") { return IntMatch(mode: .less, a: try int(s.dropFirst(), keyword)) }
        if s.hasPrefix(">") { return IntMatch(mode: .greater, a: try int(s.dropFirst(), keyword)) }
        if s.hasPrefix("!") { return IntMatch(mode: .notEqual, a: try int(s.dropFirst(), keyword)) }
        if s.hasPrefix("=") { return IntMatch(mode: .equal, a: try int(s.dropFirst(), keyword)) }
        if let dash = s.dropFirst().firstIndex(of: "-") {
            let a = try int(s[..<dash], keyword), b = try int(s[s.index(after: dash)...], keyword)
            guard a < b else { throw .invalid("\(keyword): empty range \(a)-\(b)") }
            return IntMatch(mode: .range, a: a, b: b)
        }
        return IntMatch(mode: .equal, a: try int(s, keyword))
    }
}
