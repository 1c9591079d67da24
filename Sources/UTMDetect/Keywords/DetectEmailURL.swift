/// `email.url` (Suricata 8): multi-buffer, one URL of the message body per inspection
/// (`http://` / `https://` as written in the body's lines, scheme included).
/// Makes the rule an SMTP rule.
enum DetectEmailURL {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "email.url")
        try b.requireApp(.smtp, keyword: "email.url")
        b.sticky = .emailURL
    }
}
