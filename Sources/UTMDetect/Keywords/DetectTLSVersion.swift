/// `tls.version:1.0|1.1|1.2|1.3|0xNNNN` (optionally quoted) — the TLS version of the hello
/// being inspected: the ClientHello's version on the client's side, the negotiated one
/// (supported_versions, else the ServerHello's) on the server's, which a rule with
/// `flow:to_client` inspects. The named versions count TLS 1.3 drafts as 1.3; `0x` values
/// compare raw. Makes the rule a TLS rule (`SignatureBuilder.requireApp`).
enum DetectTLSVersion {
    @Sendable static func tlsVersion(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let t = try KW.unquote(try KW.require(v, "tls.version")).trimmingSpaces
        let version: UInt16
        var raw = false
        switch t {
        case "1.0": version = 0x0301
        case "1.1": version = 0x0302
        case "1.2": version = 0x0303
        case "1.3": version = 0x0304
        default:
            guard t.count == 6, t.hasPrefix("0x") || t.hasPrefix("0X"), let n = UInt16(t.dropFirst(2), radix: 16) else {
                throw .invalid("tls.version: '\(t)' (expected 1.0, 1.1, 1.2, 1.3 or 0xNNNN)")
            }
            version = n
            raw = true
        }
        try b.requireApp(.tls, keyword: "tls.version")
        b.signature.headerMatches.append(.tlsVersion(version: version, raw: raw))
    }
}
