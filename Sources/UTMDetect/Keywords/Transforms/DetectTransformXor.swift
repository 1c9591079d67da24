import UTMCore

/// `xor:"0d0ac8ff";`: every byte xored with the key, repeated (Suricata 6.0.1+). The key is
/// hex (quotes optional), an even number of digits, 1...255 bytes. Suricata 8's
/// `offset N,KEY` leaves the first N bytes as they are; its `var` key (read from the buffer)
/// is not supported and makes the rule fail to load with that reason.
enum DetectTransformXor {
    @Sendable static func keyword(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let (key, offset) = try parse(try KW.require(v, "xor"))
        try b.addTransform(.xor(key: key, offset: offset), keyword: "xor")
    }

    static func parse(_ raw: Substring) throws(RuleError) -> (key: [UInt8], offset: Int) {
        var t = raw.trimmingSpaces
        var offset = 0
        if t.hasPrefix("offset ") || t.hasPrefix("offset\t") {
            let rest = t.dropFirst(6)
            guard let comma = rest.firstIndex(of: ",") else { throw .invalid("xor: 'offset' needs 'offset N,KEY'") }
            offset = try KW.int(rest[..<comma], "xor offset", min: 0, max: 65535)
            t = rest[rest.index(after: comma)...].trimmingSpaces
        }
        if t.hasPrefix("var ") { throw .invalid("xor: a key read from the buffer ('var') is not supported") }
        let hex = KW.optionalQuotes(t).utf8
        guard !hex.isEmpty else { throw .invalid("xor: missing hex key") }
        guard hex.count % 2 == 0 else { throw .invalid("xor: the key's length must be an even number of hex digits (got \(hex.count))") }
        guard hex.count / 2 <= 255 else { throw .invalid("xor: key longer than 255 bytes") }
        var key: [UInt8] = []
        key.reserveCapacity(hex.count / 2)
        var hi: UInt8?
        for c in hex {
            guard let d = DetectTransformURLDecode.hexValue(c) else {
                throw .invalid("xor: the key must be hexadecimal characters only ('\(t.prefix(40))')")
            }
            if let h = hi { key.append(h << 4 | d); hi = nil } else { hi = d }
        }
        return (key, offset)
    }

    static func apply(_ input: ByteView, key: [UInt8], offset: Int, _ out: inout TransformOutput) {
        // Suricata: an offset past the end leaves the buffer unchanged.
        let skip = offset > input.count ? input.count : offset
        out.put(input.prefix(skip))
        if key.isEmpty || offset > input.count { out.put(input.dropFirst(skip)); return }
        var i = skip
        var k = 0
        while i < input.count {
            out.put(input[checked: i] ^ key[k])
            k &+= 1
            if k == key.count { k = 0 }
            i &+= 1
        }
    }
}
