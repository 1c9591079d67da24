import UTMCore

/// `compress_whitespace`: each run of whitespace becomes its first byte (as Suricata: the
/// byte is kept, not replaced by a space; leading and trailing runs are kept as one byte too).
enum DetectTransformCompressWhitespace {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "compress_whitespace")
        try b.addTransform(.compressWhitespace, keyword: "compress_whitespace")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var inRun = false
        var i = 0
        while i < input.count {
            let c = input[checked: i]
            if !Transform.isSpace(c) {
                out.put(c)
                inRun = false
            } else if !inRun {
                out.put(c)
                inRun = true
            }
            i &+= 1
        }
    }
}
