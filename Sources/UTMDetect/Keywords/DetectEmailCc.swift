/// `email.cc` (Suricata 7): sticky buffer of the message's Cc header value (unfolded).
/// Makes the rule an SMTP rule.
enum DetectEmailCc {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.cc")
        try b.requireApp(.smtp, keyword: "email.cc")
        b.sticky = .emailCc
    }
}
