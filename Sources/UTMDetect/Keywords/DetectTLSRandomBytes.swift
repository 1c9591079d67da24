/// `tls.random_bytes` (Suricata 7): the last 28 bytes of the hello's random, same side rules
/// as `tls.random`.
enum DetectTLSRandomBytes {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.random_bytes")
        try b.requireApp(.tls, keyword: "tls.random_bytes")
        b.sticky = .tlsRandomBytes
    }
}
