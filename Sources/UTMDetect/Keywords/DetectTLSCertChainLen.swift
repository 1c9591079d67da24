/// `tls.cert_chain_len:[!]N`, `<N`, `>N`, `N-M`... (Suricata 7): the number of certificates
/// in the server's Certificate message, tested when that message has been parsed (TLS 1.2
/// and earlier). Makes the rule a TLS rule.
enum DetectTLSCertChainLen {
    @Sendable static func certChainLen(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "tls.cert_chain_len"), "tls.cert_chain_len")
        guard m.a >= 0 && m.b >= 0 else { throw .invalid("tls.cert_chain_len: a count cannot be negative") }
        try b.requireApp(.tls, keyword: "tls.cert_chain_len")
        b.signature.headerMatches.append(.tlsCertChainLen(m))
    }
}
