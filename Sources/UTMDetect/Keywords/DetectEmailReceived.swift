/// `email.received` (Suricata 8): multi-buffer, one Received header value per inspection.
/// Makes the rule an SMTP rule.
enum DetectEmailReceived {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.received")
        try b.requireApp(.smtp, keyword: "email.received")
        b.sticky = .emailReceived
    }
}
