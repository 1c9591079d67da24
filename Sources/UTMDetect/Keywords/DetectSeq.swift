/// `seq:N` — the TCP sequence number, exactly (32 bits). TCP packets only.
enum DetectSeq {
    @Sendable static func seq(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let n = try KW.int(try KW.require(v, "seq"), "seq", min: 0, max: Int(UInt32.max))
        b.signature.headerMatches.append(.tcpSeq(UInt32(n)))
    }
}
