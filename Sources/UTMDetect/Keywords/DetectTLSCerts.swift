/// `tls.certs` (Suricata 6+): multi-buffer, one instance per DER certificate of the server's
/// Certificate message (TLS 1.2 and earlier; TLS 1.3 encrypts it, as Suricata sees it too).
/// The engine inspects each certificate in turn (TLS phase 3) and alerts once per message
/// when several match. Makes the rule a TLS rule.
enum DetectTLSCerts {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "tls.certs")
        try b.requireApp(.tls, keyword: "tls.certs")
        b.sticky = .tlsCerts
    }
}
