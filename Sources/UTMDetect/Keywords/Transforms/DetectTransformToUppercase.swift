import UTMCore

/// `to_uppercase`: ASCII letters to upper case (other bytes unchanged).
enum DetectTransformToUppercase {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "to_uppercase")
        try b.addTransform(.toUppercase, keyword: "to_uppercase")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var i = 0
        while i < input.count {
            let c = input[checked: i]
            out.put(c >= 0x61 && c <= 0x7A ? c &- 0x20 : c)
            i &+= 1
        }
    }
}
