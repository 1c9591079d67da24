/// `xbits:set|unset|toggle|isset|isnotset,NAME[,track ip_src|ip_dst|ip_pair][,expire N]` and
/// `xbits:noalert` — bits kept per host or per IP pair across flows (`HostBitTable`), as
/// Suricata: `track` defaults to ip_src, `expire` (seconds, 1...2^32-1) to 30 and is what a
/// `set`/`toggle` gives the bit; checks gate the rule, changes apply when it matched; `track
/// tx` (Suricata 8's per-transaction bits) is refused.
enum DetectXbits {
    static let defaultExpire = 30

    @Sendable static func xbits(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "xbits"))
        if parts[0] == "noalert" {
            guard parts.count == 1 else { throw .invalid("xbits:noalert takes nothing else") }
            b.signature.noalert = true
            return
        }
        let kind = try DetectXbits.command(parts[0], "xbits")
        guard parts.count >= 2 else { throw .invalid("xbits:\(parts[0]) needs a name") }
        let name = try DetectXbits.name(parts[1], "xbits")
        var track: HostBitOp.Track?
        var expire: Int?
        for p in parts.dropFirst(2) {
            let words = p.split(separator: " ", maxSplits: 1).map { $0.trimmingSpaces }
            guard words.count == 2 else { throw .invalid("xbits: '\(p.prefix(40))' is not 'track X' or 'expire N'") }
            switch words[0] {
            case "track":
                if track != nil { throw .invalid("xbits: track given twice") }
                switch words[1] {
                case "ip_src": track = .source
                case "ip_dst": track = .destination
                case "ip_pair": track = .pair
                case "tx": throw .unsupported("xbits track tx", "per-transaction xbits are not implemented")
                default: throw .invalid("xbits: unknown track '\(words[1].prefix(40))'")
                }
            case "expire":
                if expire != nil { throw .invalid("xbits: expire given twice") }
                expire = try KW.int(words[1], "xbits expire", min: 1, max: Int(UInt32.max))
            default:
                throw .invalid("xbits: unknown option '\(words[0].prefix(40))'")
            }
        }
        let op = HostBitOp(kind: kind, track: track ?? .source, name: try b.flowbitNames.intern(name),
                           expire: expire ?? defaultExpire)
        b.signature.headerMatches.append(.hostBit(op))
    }

    static func command(_ word: Substring, _ keyword: String) throws(RuleError) -> HostBitOp.Kind {
        switch word {
        case "set": return .set
        case "unset": return .unset
        case "toggle": return .toggle
        case "isset": return .isSet
        case "isnotset": return .isNotSet
        default: throw .invalid("\(keyword): unknown command '\(word.prefix(40))'")
        }
    }

    static func name(_ word: Substring, _ keyword: String) throws(RuleError) -> String {
        guard !word.isEmpty, !word.contains(" "), word.utf8.count <= 255 else {
            throw .invalid("\(keyword): bad name '\(word.prefix(40))'")
        }
        return String(word)
    }
}
