/// `hostbits:set|unset|toggle|isset|isnotset,NAME[,src|dst]` and `hostbits:noalert` — the
/// per-host half of xbits (Suricata: "no difference between hostbits and xbits with track
/// ip_src/ip_dst"). The host is the packet's source unless `dst`; `both` is refused, as
/// Suricata does; a set bit lives 300 s (Suricata's fixed hostbits expiry). The Suricata 7
/// spellings `track ip_src|ip_dst` and `expire N` are accepted too.
enum DetectHostbits {
    static let defaultExpire = 300

    @Sendable static func hostbits(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "hostbits"))
        if parts[0] == "noalert" {
            guard parts.count == 1 else { throw .invalid("hostbits:noalert takes nothing else") }
            b.signature.noalert = true
            return
        }
        let kind = try DetectXbits.command(parts[0], "hostbits")
        guard parts.count >= 2 else { throw .invalid("hostbits:\(parts[0]) needs a name") }
        let name = try DetectXbits.name(parts[1], "hostbits")
        var track: HostBitOp.Track?
        var expire: Int?
        for p in parts.dropFirst(2) {
            let words = p.split(separator: " ", maxSplits: 1).map { $0.trimmingSpaces }
            // `track ip_src` is spelled `src` here, `track ip_dst` `dst`.
            var option = words.count == 1 ? words[0] : ""
            if words.count == 2 && words[0] == "track" {
                option = words[1] == "ip_src" ? "src" : words[1] == "ip_dst" ? "dst" : ""
            }
            if words.count == 2 && words[0] == "expire" {
                if expire != nil { throw .invalid("hostbits: expire given twice") }
                expire = try KW.int(words[1], "hostbits expire", min: 1, max: Int(UInt32.max))
                continue
            }
            switch option {
            case "src", "dst":
                if track != nil { throw .invalid("hostbits: direction given twice") }
                track = option == "src" ? .source : .destination
            case "both":
                throw .invalid("hostbits: 'both' is not implemented (Suricata refuses it too)")
            default:
                throw .invalid("hostbits: unknown option '\(p.prefix(40))' (src, dst or expire N)")
            }
        }
        let op = HostBitOp(kind: kind, track: track ?? .source, name: try b.flowbitNames.intern(name),
                           expire: expire ?? defaultExpire)
        b.signature.headerMatches.append(.hostBit(op))
    }
}
