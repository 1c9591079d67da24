/// `urilen:N|<N|>N|N<>M[,norm|raw]` — the length of the (normalized or raw) request URI.
enum DetectUrilen {
    @Sendable static func urilen(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "urilen"))
        guard parts.count <= 2 else { throw .invalid("urilen: too many options") }
        let m = try KW.intMatch(parts[0], "urilen")
        var buffer = BufferID.httpURI
        if parts.count == 2 {
            switch parts[1] {
            case "norm": buffer = .httpURI
            case "raw": buffer = .httpRawURI
            default: throw .invalid("urilen: expected norm or raw, got '\(parts[1])'")
            }
        }
        b.append(.length(m), to: buffer)
    }
}
