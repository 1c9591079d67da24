/// `tos:[!]N` — the IPv4 type-of-service byte: decimal, or hex as `xNN` (Suricata) or `0xNN`.
enum DetectTos {
    @Sendable static func tos(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var t = Substring(try KW.require(v, "tos").filter { $0 != " " })
        var negated = false
        if t.hasPrefix("!") { negated = true; t = t.dropFirst() }
        let n: Int?
        if t.hasPrefix("x") || t.hasPrefix("X") { n = Int(t.dropFirst(), radix: 16) }
        else if t.hasPrefix("0x") || t.hasPrefix("0X") { n = Int(t.dropFirst(2), radix: 16) }
        else { n = Int(t) }
        guard let n, n >= 0 && n <= 255 else { throw .invalid("tos: '\(t)' is not a byte value (0-255, xNN or 0xNN)") }
        b.signature.headerMatches.append(.tos(IntMatch(mode: negated ? .notEqual : .equal, a: n)))
    }
}
