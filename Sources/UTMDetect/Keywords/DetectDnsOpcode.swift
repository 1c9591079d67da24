/// `dns.opcode:[!]N` (Suricata 7; Suricata 8's other integer forms too) — the opcode of the DNS
/// message's header flags (0 query, 4 notify, 5 update...). Makes the rule a DNS rule. The rule
/// runs with the DNS requests; with `flow:to_client`, with the responses.
enum DetectDnsOpcode {
    @Sendable static func dnsOpcode(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "dns.opcode"), "dns.opcode")
        guard m.a >= 0 && m.a <= 255 && m.b <= 255 else { throw .invalid("dns.opcode: value out of range 0...255") }
        if let have = b.signature.proto.app, have != .dns {
            throw .invalid("'dns.opcode' needs dns but the rule is for \(have.eveName)")
        }
        guard b.signature.proto.admits(ipProto: 17) || b.signature.proto.admits(ipProto: 6) else {
            throw .invalid("'dns.opcode' needs a UDP or TCP rule, the header says \(b.signature.proto.name)")
        }
        b.signature.proto.app = .dns
        b.signature.headerMatches.append(.dnsOpcode(m))
    }
}
