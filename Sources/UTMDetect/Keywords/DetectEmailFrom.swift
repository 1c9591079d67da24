/// `email.from` (Suricata 7): sticky buffer of the message's From header value (unfolded).
/// Makes the rule an SMTP rule.
enum DetectEmailFrom {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.from")
        try b.requireApp(.smtp, keyword: "email.from")
        b.sticky = .emailFrom
    }
}
