/// `asn1:[bitstring_overflow][, double_overflow][, oversize_length N][, absolute_offset N |
/// relative_offset N]` — decodes the payload as BER (ASN1Decoder.swift) and matches when any
/// element trips one of the checks (Snort's asn1 options; Suricata's detect-asn1). Options are
/// separated by commas or spaces, in any order; with both offsets the absolute one wins, as in
/// Suricata.
///
/// Like Suricata (its packet match list), the keyword reads the payload whatever sticky buffer
/// is set, after the payload's contents: `relative_offset` counts from the end of the previous
/// payload match. It does not make an earlier content retry at a later occurrence.
enum DetectASN1 {
    @Sendable static func asn1(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "asn1")
        var tokens: [Substring] = []
        for part in KW.commas(text) {
            for word in part.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) {
                tokens.append(word)
            }
        }
        guard !tokens.isEmpty else { throw .invalid("'asn1' needs at least one option") }
        var o = ASN1Options()
        var i = 0
        func number(_ name: String, min: Int, max: Int) throws(RuleError) -> Int {
            i += 1
            guard i < tokens.count else { throw .invalid("asn1: \(name) needs a number") }
            return try KW.int(tokens[i], "asn1 \(name)", min: min, max: max)
        }
        while i < tokens.count {
            switch tokens[i] {
            case "bitstring_overflow": o.bitstringOverflow = true
            case "double_overflow": o.doubleOverflow = true
            case "oversize_length": o.oversizeLength = UInt32(try number("oversize_length", min: 0, max: Int(UInt32.max)))
            case "absolute_offset": o.absoluteOffset = try number("absolute_offset", min: 0, max: 65535)
            case "relative_offset": o.relativeOffset = try number("relative_offset", min: -65535, max: 65535)
            default: throw .invalid("asn1: unknown option '\(tokens[i].prefix(40))'")
            }
            i += 1
        }
        b.append(.asn1(o), to: .payload)
    }
}
