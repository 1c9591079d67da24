/// `sameip` — the packet's source and destination addresses are the same.
enum DetectSameip {
    @Sendable static func sameip(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "sameip")
        b.signature.headerMatches.append(.sameIP)
    }
}
