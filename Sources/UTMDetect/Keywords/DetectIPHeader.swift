/// Packet-header keywords: `flags` (TCP), `itype`, `icode`, `icmp_id`, `id` (IPv4 id),
/// `ip_proto`, `ttl`, and `stream_size` (TCP stream progress, a per-packet fact as well).
enum DetectIPHeader {
    /// TCP flag letters → bits (FIN SYN RST PSH ACK URG ECE CWR; 1/2 are the old names of C/E).
    static func flagBits(_ c: Character) -> UInt8? {
        switch c {
        case "F", "f": return 0x01
        case "S", "s": return 0x02
        case "R", "r": return 0x04
        case "P", "p": return 0x08
        case "A", "a": return 0x10
        case "U", "u": return 0x20
        case "E", "e", "2": return 0x40
        case "C", "c", "1": return 0x80
        default: return nil
        }
    }

    /// `flags:[!|*|+]SAF...[,ignore-mask]`, `0` meaning no flags. Modes: 0 exact, `+` all of
    /// these and maybe others, `*` any of these, `!` not these.
    @Sendable static func flags(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "flags"))
        guard parts.count <= 2 else { throw .invalid("flags: too many fields") }
        var required: UInt8 = 0, mode: UInt8 = 0, ignore: UInt8 = 0
        for c in parts[0] {
            switch c {
            case "+": mode = UInt8(ascii: "+")
            case "*": mode = UInt8(ascii: "*")
            case "!": mode = UInt8(ascii: "!")
            case "0": break
            default:
                guard let bit = flagBits(c) else { throw .invalid("flags: unknown flag '\(c)'") }
                required |= bit
            }
        }
        if parts.count == 2 {
            for c in parts[1] {
                guard let bit = flagBits(c) else { throw .invalid("flags: unknown flag '\(c)' in mask") }
                ignore |= bit
            }
        }
        b.signature.headerMatches.append(.tcpFlags(required: required, mode: mode, ignore: ignore))
    }

    @Sendable static func itype(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.headerMatches.append(.icmpType(try KW.intMatch(try KW.require(v, "itype"), "itype")))
    }

    @Sendable static func icode(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.headerMatches.append(.icmpCode(try KW.intMatch(try KW.require(v, "icode"), "icode")))
    }

    @Sendable static func icmpID(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.headerMatches.append(.icmpID(try KW.int(try KW.unquote(try KW.require(v, "icmp_id")), "icmp_id", min: 0, max: 65535)))
    }

    @Sendable static func id(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.headerMatches.append(.ipID(try KW.int(try KW.unquote(try KW.require(v, "id")), "id", min: 0, max: 65535)))
    }

    @Sendable static func ttl(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        b.signature.headerMatches.append(.ttl(try KW.intMatch(try KW.require(v, "ttl"), "ttl")))
    }

    @Sendable static func ipProto(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var t = try KW.require(v, "ip_proto").trimmingSpaces
        var prefix = ""
        if let f = t.first, f == "!" || f == "<" || f == ">" { prefix = String(f); t = t.dropFirst() }
        let names: [String: Int] = ["icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47, "esp": 50,
                                    "ah": 51, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132]
        let number = names[t.lowercased()].map(String.init) ?? String(t)
        b.signature.headerMatches.append(.ipProto(try KW.intMatch(Substring(prefix + number), "ip_proto")))
    }

    /// `stream_size:server|client|both|either,<op>,N` with op one of > < = != >= <=.
    @Sendable static func streamSize(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "stream_size"))
        guard parts.count == 3 else { throw .invalid("stream_size needs side, operator and value") }
        let side: StreamSide
        switch parts[0] {
        case "server": side = .server
        case "client": side = .client
        case "both": side = .both
        case "either": side = .either
        default: throw .invalid("stream_size: unknown side '\(parts[0])'")
        }
        let n = try KW.int(parts[2], "stream_size", min: 0, max: Int(UInt32.max))
        let mode: IntMatch.Mode
        switch parts[1] {
        case ">": mode = .greater
        case "<": mode = .less
        case "=": mode = .equal
        case "!=": mode = .notEqual
        case ">=": mode = .greaterEqual
        case "<=": mode = .lessEqual
        default: throw .invalid("stream_size: unknown operator '\(parts[1])'")
        }
        b.signature.headerMatches.append(.streamSize(side, IntMatch(mode: mode, a: n)))
    }

    /// `ssl_version:[!]sslv2|sslv3|tls1.0|tls1.1|tls1.2|tls1.3[,...]` (one `!` negates all).
    @Sendable static func sslVersion(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var mask: UInt8 = 0
        var negated = false
        for var p in KW.commas(try KW.require(v, "ssl_version")) {
            if p.first == "!" { negated = true; p = p.dropFirst() }
            switch p.lowercased() {
            case "sslv2": mask |= 1
            case "sslv3": mask |= 2
            case "tls1.0": mask |= 4
            case "tls1.1": mask |= 8
            case "tls1.2": mask |= 16
            case "tls1.3": mask |= 32
            default: throw .invalid("ssl_version: unknown version '\(p)'")
            }
        }
        b.signature.headerMatches.append(.sslVersion(mask: mask, negated: negated))
    }

    /// `ssl_state:[!]client_hello|server_hello|client_keyx|server_keyx|unknown[,...]`: names
    /// joined by `|` mean any of them, comma-separated items must all hold, `!` negates one.
    @Sendable static func sslState(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var all: UInt8 = 0, none: UInt8 = 0, any: UInt8 = 0
        func bit(_ name: Substring) throws(RuleError) -> UInt8 {
            switch name.trimmingSpaces {
            case "client_hello": return TLSStates.clientHello
            case "server_hello": return TLSStates.serverHello
            case "client_keyx": return TLSStates.clientKeyExchange
            case "server_keyx": return TLSStates.serverKeyExchange
            case "unknown": return TLSStates.unknown
            default: throw .invalid("ssl_state: unknown state '\(name)'")
            }
        }
        for item in KW.commas(try KW.require(v, "ssl_state")) {
            let alternatives = item.splitASCII(0x7C)
            if alternatives.count > 1 {
                for a in alternatives {
                    if a.first == "!" { throw .invalid("ssl_state: '!' inside a | list") }
                    any |= try bit(a)
                }
            } else if item.first == "!" {
                none |= try bit(item.dropFirst())
            } else {
                all |= try bit(item)
            }
        }
        b.signature.headerMatches.append(.sslState(all: all, none: none, any: any))
    }
}
