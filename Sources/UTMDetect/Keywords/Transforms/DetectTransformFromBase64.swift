import UTMCore

/// `from_base64` (Suricata 8): the buffer's base64 decoded, options `bytes N`, `offset N`
/// (0...65535) and `mode rfc4648|rfc2045|strict` (default rfc4648), comma-separated, each at
/// most once. As Suricata: an offset at or past the end, or `bytes` covering all the rest,
/// leaves the buffer unchanged; a decode that yields nothing makes the buffer absent (the
/// transform "can fail"). rfc4648 stops at the first byte outside the alphabet, rfc2045 skips
/// such bytes, strict fails on them; `=` ends the data in every mode.
enum DetectTransformFromBase64 {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try b.addTransform(.fromBase64(try parse(v)), keyword: "from_base64")
    }

    static func parse(_ v: Substring?) throws(RuleError) -> Base64Options {
        var o = Base64Options()
        guard let v, !v.trimmingSpaces.isEmpty else { return o }
        let parts = KW.commas(v)
        guard parts.count <= 3 else { throw .invalid("from_base64: at most 3 options (bytes, offset, mode)") }
        var seen = Set<String>()
        for part in parts {
            let t = part.trimmingSpaces
            let words = t.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2 else { throw .invalid("from_base64: expected 'NAME VALUE', got '\(t.prefix(40))'") }
            let name = String(words[0]), value = words[1]
            guard seen.insert(name).inserted else { throw .invalid("from_base64: \(name) already set") }
            switch name {
            case "bytes": o.bytes = try KW.int(value, "from_base64 bytes", min: 0, max: 65535)
            case "offset": o.offset = try KW.int(value, "from_base64 offset", min: 0, max: 65535)
            case "mode":
                switch value {
                case "rfc4648": o.mode = .rfc4648
                case "rfc2045": o.mode = .rfc2045
                case "strict": o.mode = .strict
                default: throw .invalid("from_base64: invalid mode value '\(value)'")
                }
            default: throw .invalid("from_base64: unknown option '\(name)'")
            }
        }
        return o
    }

    static func sextet(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x41 ... 0x5A: return c &- 0x41
        case 0x61 ... 0x7A: return c &- 0x61 &+ 26
        case 0x30 ... 0x39: return c &- 0x30 &+ 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    static func apply(_ input: ByteView, _ o: Base64Options, _ out: inout TransformOutput) {
        var data = input
        if o.offset > 0 {
            if o.offset >= data.count { out.put(input); return }
            data = data.dropFirst(o.offset)
        }
        if o.bytes > 0 {
            if o.bytes >= data.count { out.put(input); return }
            data = data.prefix(o.bytes)
        }
        var acc: UInt32 = 0
        var bits = 0
        var i = 0
        while i < data.count {
            let c = data[checked: i]
            i &+= 1
            if c == UInt8(ascii: "=") { break }
            guard let s = sextet(c) else {
                switch o.mode {
                case .rfc4648: i = data.count; continue
                case .rfc2045: continue
                case .strict: out.fail(); return
                }
            }
            acc = acc << 6 | UInt32(s)
            bits &+= 6
            if bits >= 8 {
                bits &-= 8
                out.put(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) &- 1
            }
        }
        if out.count == 0 { out.fail() }
    }
}
