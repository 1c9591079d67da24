import UTMAppLayer

/// `dcerpc.iface:<uuid>[,<op><version>][,any_frag]` (Suricata 4's `dce_iface` too): the
/// DCE/RPC request (or its response) was made on a presentation context bound to this
/// interface, and the server accepted that context in its BIND_ACK (Suricata's rule: a
/// rejected interface never matches). The version compares with the context's major version
/// (`=1`, `<2`, `>1`, `!=3`, `1`). Without `any_frag` the context must come from a bind whose
/// PDU carried PFC_FIRST_FRAG (Suricata's DCERPC_UUID_ENTRY_FLAG_FF). Makes the rule a
/// dcerpc rule. The request and its response are both inspected: without a `flow:` direction
/// the rule can alert on each (as Suricata's dce_generic, registered in both directions).
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

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) as two 64-bit halves: the AppLayer's
    /// parser, so that rules and the wire compare one form.
    static func uuid(_ text: Substring) -> (UInt64, UInt64)? {
        guard let u = DCERPCUUID(text: text) else { return nil }
        return (u.hi, u.lo)
    }

    /// A rule with `dcerpc.iface`/`dcerpc.opnum` or `dcerpc.stub_data` and a payload or packet
    /// header buffer: Suricata inspects the payload on the stream and the call on the
    /// transaction and alerts; Mimamori evaluates a rule at one point, where the other half
    /// is never set, so the rule could never fire. Refused at load with that reason (never a
    /// silent dead rule, review 12A) until the dcerpc point lends the request's bytes as the
    /// payload.
    static func validate(_ s: Signature) throws(RuleError) {
        let call = DetectDefinitions.hasDCERPCCall(s)
        var stub = false, raw = false
        for l in s.lists {
            if l.buffer == .dcerpcStubData { stub = true }
            if l.buffer == .payload || l.buffer.isPacketHeader { raw = true }
        }
        guard (call || stub) && raw else { return }
        throw .unsupported(call ? "dcerpc.iface" : "dcerpc.stub_data",
                           "a DCE/RPC call keyword with payload or packet-header content is not evaluated together (the rule could never fire); use dcerpc.stub_data for the content")
    }
}
