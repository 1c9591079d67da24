/// `tls.random_time` (Suricata 7): the first 4 bytes of the hello's random (the gmt_unix_time
/// of TLS 1.2 and earlier), same side rules as `tls.random`.
enum DetectTLSRandomTime {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.random_time")
        try b.requireApp(.tls, keyword: "tls.random_time")
        b.sticky = .tlsRandomTime
    }
}
