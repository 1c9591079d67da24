import UTMCore

/// `strip_pseudo_headers` (Suricata 8): drops the lines that start with `:` (HTTP/2
/// pseudo-headers such as `:method:GET`) from a header block, each with its line feed.
enum DetectTransformStripPseudoHeaders {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "strip_pseudo_headers")
        try b.addTransform(.stripPseudoHeaders, keyword: "strip_pseudo_headers")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var lineStart = 0
        while lineStart < input.count {
            let end = input.firstIndex(of: 0x0A, from: lineStart).map { $0 &+ 1 } ?? input.count
            if input[checked: lineStart] != UInt8(ascii: ":"), let line = input.slice(lineStart, end &- lineStart) {
                out.put(line)
            }
            lineStart = end
        }
    }
}
