/// `ja4.hash` (Suricata 7.0.5+): sticky buffer of the ClientHello's JA4 fingerprint
/// ("t13d1516h2_8daaf6152771_b186095e22b6"; "q..." on QUIC), as Suricata's `ja4.hash` which
/// serves TLS and QUIC rules alike. Only the client sends it: to-server inspections.
enum DetectJA4Hash {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ja4.hash")
        if let have = b.signature.proto.app, have != .tls && have != .quic {
            throw .invalid("'ja4.hash' needs tls or quic but the rule is for \(have.eveName)")
        }
        b.sticky = .ja4Hash
    }
}
