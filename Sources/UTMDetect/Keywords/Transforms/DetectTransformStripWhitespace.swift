import UTMCore

/// `strip_whitespace`: drops every byte C's `isspace()` accepts (tab, LF, VT, FF, CR, space),
/// so `window.navigate (` matches `content:"window.navigate("`.
enum DetectTransformStripWhitespace {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "strip_whitespace")
        try b.addTransform(.stripWhitespace, keyword: "strip_whitespace")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var i = 0
        while i < input.count {
            let c = input[checked: i]
            if !Transform.isSpace(c) { out.put(c) }
            i &+= 1
        }
    }
}
