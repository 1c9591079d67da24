import UTMCore

/// `url_decode`: `%XX` to its byte and `+` to a space, as Suricata: an invalid or truncated
/// escape (`%ZZ`, `%4` at the end, a lone `%`) is kept literally.
enum DetectTransformURLDecode {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "url_decode")
        try b.addTransform(.urlDecode, keyword: "url_decode")
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: return c &- 0x30
        case 0x41 ... 0x46: return c &- 0x41 &+ 10
        case 0x61 ... 0x66: return c &- 0x61 &+ 10
        default: return nil
        }
    }

    static func apply(_ input: ByteView, _ out: inout TransformOutput) {
        var i = 0
        let n = input.count
        while i < n {
            let c = input[checked: i]
            if c == UInt8(ascii: "%") {
                // Both digits must be hex; otherwise the `%` and what was read stay as they are
                // and decoding goes on after them.
                if i &+ 1 < n, let hi = hexValue(input[checked: i &+ 1]) {
                    if i &+ 2 < n, let lo = hexValue(input[checked: i &+ 2]) {
                        out.put(hi << 4 | lo)
                        i &+= 3
                        continue
                    }
                    out.put(c)
                    out.put(input[checked: i &+ 1])
                    if i &+ 2 < n { out.put(input[checked: i &+ 2]) }
                    i &+= 3
                    continue
                }
                out.put(c)
                if i &+ 1 < n { out.put(input[checked: i &+ 1]) }
                i &+= 2
                continue
            }
            out.put(c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
            i &+= 1
        }
    }
}
