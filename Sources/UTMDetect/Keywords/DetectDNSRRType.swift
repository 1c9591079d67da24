/// Suricata 8's DNS integer keywords, one file: `dns.rrtype:[!]N` (the record types of the
/// message: a request's questions, a response's answers; one matching suffices) and
/// `dns.rcode:[!]N|NAME` (the header's response code, 0...15, or noerror, formerr, servfail,
/// nxdomain, notimp, refused, yxdomain, yxrrset, nxrrset, notauth, notzone). Both make the
/// rule a DNS rule and run like `dns.opcode`: with the requests, with `flow:to_client` with the
/// responses (`DetectDefinitions.hasDNSOpcode`). Facts in `PacketFacts.dnsRRTypes` /
/// `dnsRcode`, filled by the engine's DNS hooks.
enum DetectDNSRRType {
    static let rcodes: [String: Int] = [
        "noerror": 0, "formerr": 1, "servfail": 2, "nxdomain": 3, "notimp": 4, "refused": 5,
        "yxdomain": 6, "yxrrset": 7, "nxrrset": 8, "notauth": 9, "notzone": 10,
    ]

    @Sendable static func rrtype(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "dns.rrtype"), "dns.rrtype")
        guard m.a >= 0 && m.a <= 65535 && m.b >= 0 && m.b <= 65535 else { throw .invalid("dns.rrtype: value out of range 0...65535") }
        try makeDNS(&b, "dns.rrtype")
        b.signature.headerMatches.append(.dnsRRType(m))
    }

    @Sendable static func rcode(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var text = String(try KW.require(v, "dns.rcode").trimmingSpaces).lowercased()
        var negated = false
        if text.hasPrefix("!"), let code = rcodes[String(text.dropFirst().trimmingSpaces)] {
            negated = true
            text = String(code)
        } else if let code = rcodes[text] {
            text = String(code)
        }
        var m = try KW.intMatch(Substring(text), "dns.rcode")
        if negated { m.mode = .notEqual }
        guard m.a >= 0 && m.a <= 255 && m.b >= 0 && m.b <= 255 else { throw .invalid("dns.rcode: value out of range 0...255") }
        try makeDNS(&b, "dns.rcode")
        b.signature.headerMatches.append(.dnsRcode(m))
    }

    static func makeDNS(_ b: inout SignatureBuilder, _ keyword: String) throws(RuleError) {
        if let have = b.signature.proto.app, have != .dns {
            throw .invalid("'\(keyword)' needs dns but the rule is for \(have.eveName)")
        }
        guard b.signature.proto.admits(ipProto: 17) || b.signature.proto.admits(ipProto: 6) else {
            throw .invalid("'\(keyword)' needs a UDP or TCP rule, the header says \(b.signature.proto.name)")
        }
        b.signature.proto.app = .dns
    }
}

/// The distinct record types of the DNS message being inspected (`PacketFacts.dnsRRTypes`):
/// up to eight inline, which covers real messages (one question; answers of a CNAME chain and
/// its A/AAAA records); types past the eighth distinct one are not seen (`dropped` says so).
@frozen
public struct DNSRRTypes: Sendable {
    @usableFromInline var types: InlineArray<8, UInt16>
    public private(set) var count: UInt8
    public private(set) var dropped: Bool

    public init() { types = InlineArray(repeating: 0); count = 0; dropped = false }

    public mutating func add(_ t: UInt16) {
        var i = 0
        while i < Int(count) {
            if types[i] == t { return }
            i &+= 1
        }
        guard count < 8 else { dropped = true; return }
        types[Int(count)] = t
        count &+= 1
    }

    /// One type matching suffices (Suricata's match over the queries / answers).
    public func any(_ m: IntMatch) -> Bool {
        var i = 0
        while i < Int(count) {
            if m.matches(Int(types[i])) { return true }
            i &+= 1
        }
        return false
    }
}
