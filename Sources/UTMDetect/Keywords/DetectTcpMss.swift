/// `tcp.mss:N|<N|>N|<=N|>=N|!N|N-M` — the TCP MSS option's value; a segment without the
/// option (every one but the SYNs, usually) does not match.
enum DetectTcpMss {
    @Sendable static func tcpMSS(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "tcp.mss"), "tcp.mss")
        guard m.a >= 0 && m.a <= 65535 && m.b <= 65535 else { throw .invalid("tcp.mss: value out of range 0...65535") }
        b.signature.headerMatches.append(.tcpMSS(m))
    }
}
