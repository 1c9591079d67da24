/// `fragoffset:[!|<|>]N` — the IP fragment offset field (8-byte units, 0-8191).
enum DetectFragoffset {
    @Sendable static func fragoffset(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "fragoffset"), "fragoffset")
        switch m.mode {
        case .equal, .notEqual, .less, .greater: break
        default: throw .invalid("fragoffset: only N, !N, <N and >N")
        }
        guard m.a >= 0 && m.a <= 8191 else { throw .invalid("fragoffset: \(m.a) is out of range 0...8191") }
        b.signature.headerMatches.append(.fragOffset(m))
    }
}
