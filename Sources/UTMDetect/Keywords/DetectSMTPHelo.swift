/// `smtp.helo` (Suricata 8): sticky buffer of the session's HELO/EHLO argument (the name the
/// client gave), inspected with each mail transaction.
/// Makes the rule an SMTP rule.
enum DetectSMTPHelo {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "smtp.helo")
        try b.requireApp(.smtp, keyword: "smtp.helo")
        b.sticky = .smtpHelo
    }
}
