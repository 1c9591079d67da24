import UTMCore

/// `to_lowercase`: ASCII letters to lower case (other bytes unchanged). A content with an
/// upper-case letter in such a buffer can never match and makes the rule invalid.
enum DetectTransformToLowercase {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "to_lowercase")
        try b.addTransform(.toLowercase, keyword: "to_lowercase")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var i = 0
        while i < input.count {
            out.put(asciiLower(input[checked: i]))
            i &+= 1
        }
    }
}
