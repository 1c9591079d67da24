/// `fragbits:[+*!]<M|D|R...>` — the IPv4 flags: M more fragments, D don't fragment, R reserved.
/// No modifier: exactly these bits; `+` these and at least one other; `*` any of these; `!`
/// not all of these (Suricata's four tests). IPv4 only. The modifier goes before the letters
/// (Suricata's syntax; Snort's trailing form is refused rather than read differently).
enum DetectFragbits {
    @Sendable static func fragbits(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var t = try KW.require(v, "fragbits").trimmingSpaces
        var modifier: UInt8 = 0
        if let f = t.utf8.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "*") || f == UInt8(ascii: "!") {
            modifier = f
            t = Substring(t.utf8.dropFirst()).trimmingSpaces
        }
        var bits: UInt8 = 0
        for c in t.utf8 {
            switch c {
            case UInt8(ascii: "M"), UInt8(ascii: "m"): bits |= IPFragBits.moreFragments
            case UInt8(ascii: "D"), UInt8(ascii: "d"): bits |= IPFragBits.dontFragment
            case UInt8(ascii: "R"), UInt8(ascii: "r"): bits |= IPFragBits.reserved
            default:
                throw .invalid("fragbits: '\(t)' is not [+*!] followed by M, D, R")
            }
        }
        guard bits != 0 else { throw .invalid("fragbits: no bits given (expected M, D and/or R)") }
        b.signature.headerMatches.append(.fragBits(bits: bits, modifier: modifier))
    }
}
