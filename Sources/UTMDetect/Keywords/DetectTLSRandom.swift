/// `tls.random` (Suricata 7): sticky buffer of the 32-byte random of the hello being
/// inspected: the ClientHello's on the client's side, the ServerHello's on the server's
/// (a rule with `flow:to_client` runs with the ServerHello). Makes the rule a TLS rule.
enum DetectTLSRandom {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.random")
        try b.requireApp(.tls, keyword: "tls.random")
        b.sticky = .tlsRandom
    }
}
