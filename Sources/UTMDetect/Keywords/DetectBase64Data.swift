/// `base64_data` — the sticky buffer of what the rule's `base64_decode` decoded: the content,
/// pcre, isdataat and byte_* options after it inspect the decoded bytes. Suricata's rules:
/// it needs a `base64_decode` before it, and its contents cannot be the fast pattern (the
/// decoded bytes exist only while the rule is verified, so the prefilter never sees them).
enum DetectBase64Data {
    @Sendable static func base64Data(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "base64_data")
        guard b.base64DecodeBuffer != nil else { throw .invalid("base64_data needs a base64_decode before it") }
        b.sticky = .base64Data
    }
}
