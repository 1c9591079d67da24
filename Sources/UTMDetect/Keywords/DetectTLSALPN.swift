/// `tls.alpn` (Suricata 8): multi-buffer of the ALPN protocol names: each one the client
/// offers (to-server, with the ClientHello) and the one the server selects (to-client, with the
/// ServerHello). Inspected one name per call in TLS phase 4; a rule alerts once per hello.
/// Makes the rule a TLS rule.
enum DetectTLSALPN {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.alpn")
        try b.requireApp(.tls, keyword: "tls.alpn")
        b.sticky = .tlsALPN
    }
}
