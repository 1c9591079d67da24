/// `dcerpc.iface:<uuid>[,<op><version>][,any_frag]` (Suricata 4's `dce_iface` too): the
/// DCE/RPC request (or its response) was made on a presentation context bound to this
/// interface, and the server accepted that context in its BIND_ACK (Suricata's rule: a
/// rejected interface never matches). The version compares with the context's major version
/// (`=1`, `<2`, `>1`, `!=3`, `1`). Without `any_frag` the context must come from a bind whose
/// PDU carried PFC_FIRST_FRAG (Suricata's DCERPC_UUID_ENTRY_FLAG_FF). Makes the rule a
/// dcerpc rule.
public struct DCERPCIfaceMatch: Sendable, Equatable {
    /// The UUID in canonical byte order (as written in text).
    public var hi: UInt64
    public var lo: UInt64
    public var version: IntMatch?
    public var anyFrag: Bool
}

enum DetectDCERPCIface {
    static func iface(_ name: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            let m = try parse(try KW.require(v, name), name)
            try b.requireApp(.dcerpc, keyword: name)
            b.signature.headerMatches.append(.dcerpcIface(m))
        }
    }

    static func parse(_ raw: Substring, _ name: String) throws(RuleError) -> DCERPCIfaceMatch {
        let parts = KW.commas(raw)
        guard (1 ... 3).contains(parts.count), let (hi, lo) = uuid(parts[0]) else {
            throw .invalid("\(name): '\(raw.prefix(60))' (expected <uuid>[,<op><version>][,any_frag])")
        }
        var version: IntMatch?
        var anyFrag = false
        for (i, p) in parts.dropFirst().enumerated() {
            if p == "any_frag" {
                anyFrag = true
            } else if i == 0 {
                let m = try KW.intMatch(p, name)
                guard m.a >= 0 && m.a <= 0xffff && m.b <= 0xffff else { throw .invalid("\(name): version '\(p)' out of range 0...65535") }
                version = m
            } else {
                throw .invalid("\(name): '\(p)' (expected any_frag)")
            }
        }
        if parts.count == 3 && (version == nil || !anyFrag) {
            throw .invalid("\(name): '\(raw.prefix(60))' (expected <uuid>,<op><version>,any_frag)")
        }
        return DCERPCIfaceMatch(hi: hi, lo: lo, version: version, anyFrag: anyFrag)
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) as two 64-bit halves.
    static func uuid(_ text: Substring) -> (UInt64, UInt64)? {
        let u = Array(text.utf8)
        guard u.count == 36 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0, n = 0
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let d = UInt8(String(UnicodeScalar(c)), radix: 16) else { return nil }
            if n < 16 { hi = hi << 4 | UInt64(d) } else { lo = lo << 4 | UInt64(d) }
            n += 1
        }
        return (hi, lo)
    }
}
