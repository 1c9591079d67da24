/// `email.subject` (Suricata 7): sticky buffer of the message's Subject header value (unfolded,
/// not RFC 2047-decoded, as Suricata).
/// Makes the rule an SMTP rule.
enum DetectEmailSubject {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.subject")
        try b.requireApp(.smtp, keyword: "email.subject")
        b.sticky = .emailSubject
    }
}
