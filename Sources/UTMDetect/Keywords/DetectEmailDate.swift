/// `email.date` (Suricata 8): sticky buffer of the message's Date header value.
/// Makes the rule an SMTP rule.
enum DetectEmailDate {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.date")
        try b.requireApp(.smtp, keyword: "email.date")
        b.sticky = .emailDate
    }
}
