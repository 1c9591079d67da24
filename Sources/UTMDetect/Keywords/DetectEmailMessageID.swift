/// `email.message_id` (Suricata 8): sticky buffer of the message's Message-ID header value.
/// Makes the rule an SMTP rule.
enum DetectEmailMessageID {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.message_id")
        try b.requireApp(.smtp, keyword: "email.message_id")
        b.sticky = .emailMessageID
    }
}
