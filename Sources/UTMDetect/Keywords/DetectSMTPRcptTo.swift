/// `smtp.rcpt_to` (Suricata 8): multi-buffer, one RCPT TO path per inspection (every recipient
/// the client named, refused ones too, as Suricata).
/// Makes the rule an SMTP rule.
enum DetectSMTPRcptTo {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "smtp.rcpt_to")
        try b.requireApp(.smtp, keyword: "smtp.rcpt_to")
        b.sticky = .smtpRcptTo
    }
}
