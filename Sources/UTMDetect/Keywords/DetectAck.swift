/// `ack:N` — the TCP acknowledgement number, exactly (32 bits). TCP packets only.
enum DetectAck {
    @Sendable static func ack(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let n = try KW.int(try KW.require(v, "ack"), "ack", min: 0, max: Int(UInt32.max))
        b.signature.headerMatches.append(.tcpAck(UInt32(n)))
    }
}
