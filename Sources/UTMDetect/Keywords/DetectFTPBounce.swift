/// `ftpbounce` — Suricata's FTP bounce check: the flow's current FTP command is PORT and the
/// address it names is not the client's own (RFC 2577's bounce attack: the server is told to
/// connect to a third host). The engine's FTP parser decides it per flow
/// (`PacketFacts.ftpBounce`); the keyword makes the rule an FTP rule, like Suricata's, and
/// conflicts with another app protocol. EPRT is not checked (Suricata does not either).
enum DetectFTPBounce {
    @Sendable static func ftpbounce(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "ftpbounce")
        if let app = b.signature.proto.app, app != .ftp {
            throw .invalid("ftpbounce: the rule is already for \(app.eveName), not ftp")
        }
        b.signature.proto.app = .ftp
        b.signature.headerMatches.append(.ftpBounce)
    }
}
