/// `dsize:` — payload size of the packet (`N`, `<N`, `>N`, `N<>M`, `!N`). Suricata checks it
/// against the packet payload, never a reassembled stream.
enum DetectDsize {
    @Sendable static func dsize(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        if b.signature.dsize != nil { throw .invalid("dsize given twice") }
        let m = try KW.intMatch(try KW.require(v, "dsize"), "dsize")
        if m.a < 0 || m.a > 65535 || m.b > 65535 { throw .invalid("dsize: value out of range 0...65535") }
        b.signature.dsize = m
    }
}
