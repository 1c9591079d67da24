/// `base64_decode:[bytes N][,offset N][,relative]` — decodes base64 from the current buffer
/// (the sticky buffer, else the payload; after the previous content/pcre with `relative`) for
/// the `base64_data` elements that follow (`DetectBase64Data`). Suricata's limits: `bytes`
/// 1...65535 (absent: 65535), `offset` 0...65535. One per rule: its `base64_data` list is the
/// rule's only one. Without `base64_data` the rule never matches (as in Suricata).
enum DetectBase64Decode {
    static let maxBytes = 65535

    @Sendable static func base64Decode(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        if b.base64DecodeBuffer != nil { throw .invalid("base64_decode: only one per rule") }
        if b.sticky == .base64Data { throw .invalid("base64_decode cannot follow base64_data") }
        var m = Base64DecodeMatch(bytes: maxBytes, offset: 0, relative: false)
        var seen: Set<Substring> = []
        if let v, !v.trimmingSpaces.isEmpty {
            for p in KW.commas(v) {
                let words = p.split(separator: " ", maxSplits: 1).map { $0.trimmingSpaces }
                guard let key = words.first else { throw .invalid("base64_decode: empty option") }
                if seen.contains(key) { throw .invalid("base64_decode: '\(key)' given twice") }
                seen.insert(key)
                switch key {
                case "bytes":
                    guard words.count == 2 else { throw .invalid("base64_decode: 'bytes' needs a number") }
                    let n = try KW.int(words[1], "base64_decode bytes", min: 0, max: maxBytes)
                    m.bytes = n == 0 ? maxBytes : n
                case "offset":
                    guard words.count == 2 else { throw .invalid("base64_decode: 'offset' needs a number") }
                    m.offset = try KW.int(words[1], "base64_decode offset", min: 0, max: maxBytes)
                case "relative":
                    guard words.count == 1 else { throw .invalid("base64_decode: 'relative' takes no value") }
                    m.relative = true
                default:
                    throw .invalid("base64_decode: unknown option '\(p.prefix(40))'")
                }
            }
        }
        let target = m.relative ? b.bufferForRelative() : b.currentBuffer
        b.append(.base64Decode(m), to: target)
        b.base64DecodeBuffer = target
    }
}
