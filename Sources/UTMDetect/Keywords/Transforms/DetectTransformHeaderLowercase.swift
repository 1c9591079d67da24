import UTMCore

/// `header_lowercase` (Suricata 8): in a header block (`Name: value` lines), the names are
/// lower-cased and the values kept, so HTTP/1 and HTTP/2 header names compare alike.
enum DetectTransformHeaderLowercase {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "header_lowercase")
        try b.addTransform(.headerLowercase, keyword: "header_lowercase")
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var inValue = false
        var i = 0
        while i < input.count {
            let c = input[checked: i]
            if !inValue {
                if c == UInt8(ascii: ":") { inValue = true; out.put(c) } else { out.put(asciiLower(c)) }
            } else {
                out.put(c)
                if c == 0x0A { inValue = false }
            }
            i &+= 1
        }
    }
}
