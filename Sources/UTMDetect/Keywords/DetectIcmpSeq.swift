/// `icmp_seq:N` (optionally quoted; Suricata 8's `<N`, `>N`, ranges accepted too) — the sequence
/// number of an ICMP or ICMPv6 echo request/reply. Other ICMP messages do not match.
enum DetectIcmpSeq {
    @Sendable static func icmpSeq(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.unquote(try KW.require(v, "icmp_seq")), "icmp_seq")
        guard m.a >= 0 && m.a <= 65535 && m.b <= 65535 else { throw .invalid("icmp_seq: value out of range 0...65535") }
        b.signature.headerMatches.append(.icmpSeq(m))
    }
}
