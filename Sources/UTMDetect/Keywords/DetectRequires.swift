/// `requires` (Suricata 7.0.3+): `requires: feature geoip, version >= 7.0.3 < 8 | >= 8.0.3`.
/// A rule whose requirements this engine does not meet is left out *silently*, as Suricata
/// does (it is not an error and not an unsupported keyword): rule vendors ship one variant of
/// a rule per engine version and expect each engine to load only its own. `RuleParser` looks
/// for `requires` before it parses the header or any other option (Suricata's pre-scan), so
/// a rule for a newer engine with keywords or protocols we do not know is skipped for its
/// requirements, not reported as unsupported. Counted in `RuleLoadReport.unmetRequirements`.
///
/// Grammar (Suricata's): comma-separated requirements, each `feature NAME` or
/// `version EXPR`; EXPR is alternatives separated by `|`, each one or more `OP VERSION`
/// (`<`, `<=`, `>`, `>=`, `=`) that must all hold; VERSION is 1 to 3 dot-separated numbers,
/// missing parts 0. Every requirement must hold. An unknown requirement key is unmet (a
/// requirement we cannot judge is not one we meet).
enum DetectRequires {
    /// The Suricata version whose rule language we claim: 7.0. We implement Suricata 7's
    /// keywords and protocols (and a few of 8's), not all of 8's, so a rule gated on
    /// `version >= 8` may use an 8 keyword we lack; ET ships such rules with a `< 8` variant
    /// we then load instead. 7.0.10 so rules gated on any 7.0.x fix load.
    static let version: (Int, Int, Int) = (7, 0, 10)

    /// Suricata's feature names this engine provides (`ja3` and `ja4` fingerprints are always
    /// computed). Not provided: `geoip`, `output::file-store`, `lua`, and anything unknown.
    static let features: Set<String> = ["ja3", "ja4"]

    /// Registered as accepted: `RuleParser` has already judged it (`check`) before the keyword
    /// loop reaches it.
    @Sendable static func requires(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        _ = try KW.require(v, "requires")
    }

    /// Whether this engine meets a `requires` value; throws a one-line error when the value
    /// is malformed.
    static func met(_ value: Substring) throws(RuleError) -> Bool {
        var all = true
        for part in KW.commas(value) {
            let words = part.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let key = words.first else { throw .invalid("requires: empty requirement") }
            switch key.lowercased() {
            case "feature":
                guard words.count == 2 else { throw .invalid("requires: feature takes one name") }
                if !features.contains(words[1].lowercased()) { all = false }
            case "version":
                let expr = part.drop(while: { $0 == " " || $0 == "\t" }).dropFirst(7)
                if !(try versionMet(Substring(expr))) { all = false }
            default:
                all = false
            }
        }
        return all
    }

    /// One `version` expression: `|`-separated alternatives of `OP VERSION` terms.
    static func versionMet(_ expr: Substring) throws(RuleError) -> Bool {
        var any = false
        for alternative in expr.split(separator: "|", omittingEmptySubsequences: false) {
            var text = alternative.trimmingSpaces
            guard !text.isEmpty else { throw .invalid("requires: empty version alternative") }
            var holds = true
            while !text.isEmpty {
                let ops = ["<=", ">=", "<", ">", "="]
                guard let op = ops.first(where: { text.hasPrefix($0) }) else {
                    throw .invalid("requires: version needs an operator in '\(alternative.trimmingSpaces)'")
                }
                text = text.dropFirst(op.count).trimmingSpaces
                let numberEnd = text.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? text.endIndex
                let v = try parseVersion(text[..<numberEnd])
                text = text[numberEnd...].trimmingSpaces
                let c = compare(version, v)
                switch op {
                case "<": holds = holds && c < 0
                case "<=": holds = holds && c <= 0
                case ">": holds = holds && c > 0
                case ">=": holds = holds && c >= 0
                default: holds = holds && c == 0
                }
            }
            if holds { any = true }
        }
        return any
    }

    static func parseVersion(_ s: Substring) throws(RuleError) -> (Int, Int, Int) {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1 ... 3).contains(parts.count) else { throw .invalid("requires: bad version '\(s)'") }
        var n: [Int] = []
        for p in parts {
            guard let x = Int(p), x >= 0, x < 1_000_000 else { throw .invalid("requires: bad version '\(s)'") }
            n.append(x)
        }
        while n.count < 3 { n.append(0) }
        return (n[0], n[1], n[2])
    }

    static func compare(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        if a.0 != b.0 { return a.0 < b.0 ? -1 : 1 }
        if a.1 != b.1 { return a.1 < b.1 ? -1 : 1 }
        if a.2 != b.2 { return a.2 < b.2 ? -1 : 1 }
        return 0
    }
}
