/// `window:[!]N` — the TCP window field as sent (before any window scaling), 0-65535.
enum DetectWindow {
    @Sendable static func window(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let m = try KW.intMatch(try KW.require(v, "window"), "window")
        guard m.mode == .equal || m.mode == .notEqual else { throw .invalid("window: only N or !N") }
        guard m.a >= 0 && m.a <= 65535 else { throw .invalid("window: \(m.a) is out of range 0...65535") }
        b.signature.headerMatches.append(.tcpWindow(m))
    }
}
