/// `email.to` (Suricata 7): sticky buffer of the message's To header value (unfolded; one buffer
/// with all the addresses, as Suricata).
/// Makes the rule an SMTP rule.
enum DetectEmailTo {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.to")
        try b.requireApp(.smtp, keyword: "email.to")
        b.sticky = .emailTo
    }
}
