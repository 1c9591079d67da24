/// `tls.subjectaltname` (Suricata 7.0.4+): multi-buffer of the server certificate's
/// subjectAltName DNS names, one per inspection with its Certificate message (TLS phase 3);
/// a rule matching several names alerts once. Makes the rule a TLS rule.
enum DetectTLSSubjectAltName {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.subjectaltname")
        try b.requireApp(.tls, keyword: "tls.subjectaltname")
        b.sticky = .tlsSubjectAltName
    }
}
