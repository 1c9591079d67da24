/// `quic.version` (Suricata 7): sticky buffer of the 4 version bytes of the flow's long-header
/// packets as sent (`|00 00 00 01|` for v1, "Q050" for Google's). Inspected with the client's
/// hello and, for `flow:to_client` rules, the server's. Makes the rule a QUIC (UDP) rule.
enum DetectQUICVersion {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "quic.version")
        try Session7Keyword.requireApp(&b, .quic, udp: true, tcp: false, keyword: "quic.version")
        b.sticky = .quicVersion
    }
}
