/// `ftpdata_command:retr|stor` — Suricata's filter for FTP data connections by the command
/// that used them on the control channel (RETR: a download, STOR: an upload). The engine sets
/// `PacketFacts.ftpDataCommand` on packets of `ftp-data` flows; the keyword makes the rule an
/// ftp-data rule and conflicts with another app protocol.
enum DetectFTPDataCommand {
    /// Values of `PacketFacts.ftpDataCommand`.
    static let retr: UInt8 = 1
    static let stor: UInt8 = 2

    @Sendable static func ftpdataCommand(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let value: UInt8
        switch try KW.require(v, "ftpdata_command").trimmingSpaces.lowercased() {
        case "retr": value = retr
        case "stor": value = stor
        case let other: throw .invalid("ftpdata_command: expected retr or stor, got '\(other.prefix(40))'")
        }
        if let app = b.signature.proto.app, app != .ftpData {
            throw .invalid("ftpdata_command: the rule is already for \(app.eveName), not ftp-data")
        }
        b.signature.proto.app = .ftpData
        b.signature.headerMatches.append(.ftpDataCommand(value))
    }
}
