/// `email.x_mailer` (Suricata 8): sticky buffer of the message's X-Mailer header value.
/// Makes the rule an SMTP rule.
enum DetectEmailXMailer {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.x_mailer")
        try b.requireApp(.smtp, keyword: "email.x_mailer")
        b.sticky = .emailXMailer
    }
}
