/// `quic.sni` (Suricata 7): sticky buffer of the server name a QUIC client asks for: the SNI
/// of the TLS ClientHello in its Initial packets' CRYPTO frames (Q050's CHLO is not TLS and is
/// not read for it). To-server only. Makes the rule a QUIC (UDP) rule.
enum DetectQUICSNI {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "quic.sni")
        try Session7Keyword.requireApp(&b, .quic, udp: true, tcp: false, keyword: "quic.sni")
        b.sticky = .quicSNI
    }
}
