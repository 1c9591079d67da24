import UTMCore

/// `dotprefix`: a `.` before the buffer, so `content:".example.com"; endswith;` matches the
/// domain and its subdomains but not `notexample.com`.
enum DetectTransformDotPrefix {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "dotprefix")
        try b.addTransform(.dotprefix, keyword: "dotprefix")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        out.put(UInt8(ascii: "."))
        out.put(input)
    }
}
