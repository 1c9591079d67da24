/// `smtp.mail_from` (Suricata 8): sticky buffer of the transaction's MAIL FROM path as sent,
/// angle brackets included, ESMTP parameters (`SIZE=`) not.
/// Makes the rule an SMTP rule.
enum DetectSMTPMailFrom {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "smtp.mail_from")
        try b.requireApp(.smtp, keyword: "smtp.mail_from")
        b.sticky = .smtpMailFrom
    }
}
