/// `entropy: [bytes N,] [offset N,] value [OP]X` (Suricata 8): the Shannon entropy (bits per
/// byte, 0...8) of the buffer the rule is filling (the payload, or the sticky buffer before
/// it), from `offset` (default 0) over `bytes` (default: to the end). OP is `=` (default),
/// `!=`, `<`, `<=`, `>`, `>=`; X a decimal number. As in Suricata: the window must lie inside
/// the buffer (otherwise no match), `offset` is -65535...65535 and only a positive one moves
/// the window, each option at most once, `value` required. Packed or encrypted payloads score
/// near 8, text 4-5: rules use it to flag exfiltration or tunnels on a port that should carry
/// text. An `.entropy` element (position-free, like `bsize`), computed in `EntropyMatch.matches`
/// with a 256-entry count table on the stack (no allocation).
enum DetectEntropy {
    @Sendable static func entropy(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let text = try KW.require(v, "entropy")
        var m = EntropyMatch(mode: .equal, value: 0)
        var seen: Set<String> = []
        for part in KW.commas(text) {
            let t = part.trimmingSpaces
            guard let space = t.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw .invalid("entropy: expected 'bytes N', 'offset N' or 'value X', got '\(t)'")
            }
            let name = String(t[..<space]), arg = t[space...].trimmingSpaces
            guard seen.insert(name).inserted else { throw .invalid("entropy: \(name) given twice") }
            switch name {
            case "bytes":
                guard let n = Int(arg), n >= 0, n <= Int(Int32.max) else { throw .invalid("entropy: bad bytes '\(arg)'") }
                m.bytes = n
            case "offset":
                guard let n = Int(arg), n >= -65535, n <= 65535 else {
                    throw .invalid("entropy: offset '\(arg)' must be -65535...65535")
                }
                m.offset = n
            case "value":
                var rest = arg
                var mode = EntropyMatch.Mode.equal
                for (op, md) in [("!=", EntropyMatch.Mode.notEqual), ("<=", .lessEqual), (">=", .greaterEqual),
                                 ("<", .less), (">", .greater), ("=", .equal)] where rest.hasPrefix(op) {
                    mode = md
                    rest = rest.dropFirst(op.count).trimmingSpaces
                    break
                }
                guard let x = Double(rest), x.isFinite else { throw .invalid("entropy: bad value '\(arg)'") }
                m.mode = mode
                m.value = x
            default:
                throw .invalid("entropy: unknown option '\(name)'")
            }
        }
        guard seen.contains("value") else { throw .invalid("entropy: a value is required ('value >= 7.5')") }
        b.append(.entropy(m), to: b.currentBuffer)
    }
}
