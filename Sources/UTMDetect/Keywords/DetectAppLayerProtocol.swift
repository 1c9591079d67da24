import UTMCore

/// `app-layer-protocol:[!]PROTO[|PROTO...][,MODE]` — Suricata's match on the app protocol its
/// detection found for the flow. `failed` is a flow detection gave up on, `unknown` one not
/// detected yet (never negated: a negated list never matches the undetected state). `http`
/// covers HTTP/1 and HTTP/2 (Suricata's AppProtoEquals), `http1` and `http2` one each.
/// MODE (`direction` by default, `to_server`, `to_client`, `either`, `final`, `original`) is
/// accepted and all modes read the flow's one protocol: the engine detects a flow once and
/// never changes it (no STARTTLS/upgrade switches yet), which is what the modes tell apart.
/// Names Suricata knows that our engine never detects (imap, dcerpc...) are accepted: such
/// flows end `failed`, so a positive match never fires and a negated one does.
enum DetectAppLayerProtocol {
    /// Keyword names → the engine's protocols they cover.
    static let names: [String: [AppProto]] = [
        "http": [.http, .http2], "http1": [.http], "http2": [.http2],
        "tls": [.tls], "ssl": [.tls], "dns": [.dns], "quic": [.quic], "dhcp": [.dhcp], "sip": [.sip],
        "pgsql": [.pgsql], "smb": [.smb], "ssh": [.ssh], "ftp": [.ftp], "ftp-data": [.ftpData],
        "smtp": [.smtp], "failed": [.failed],
        // Suricata's AppProtoEquals: a dcerpc protocol matches SMB flows (DCE/RPC over SMB)
        // as well as DCE/RPC over TCP.
        "dcerpc": [.dcerpc, .smb],
    ]

    /// Suricata's other protocol names: valid, never detected here.
    static let undetected: Set<String> = [
        "imap", "pop3", "nfs", "krb5", "rdp", "snmp", "tftp", "ntp", "enip", "dnp3", "modbus",
        "ikev2", "ike", "mqtt", "rfb", "telnet", "bittorrent-dht", "ldap", "websocket", "doh2", "mdns",
        "msn", "jabber", "irc",
    ]

    static let modes: [String: UInt8] = [
        "direction": 0, "to_server": 1, "to_client": 2, "either": 3, "final": 4, "original": 5,
    ]

    @Sendable static func appLayerProtocol(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        let parts = KW.commas(try KW.require(v, "app-layer-protocol"))
        var list = parts[0]
        var negated = false
        if list.first == "!" { negated = true; list = list.dropFirst().trimmingSpaces }
        var mask: UInt32 = 0
        var unknown = false
        for raw in list.splitASCII(0x7C) {
            let name = raw.lowercased()
            if name == "unknown" {
                if negated { throw .invalid("app-layer-protocol: 'unknown' cannot be negated") }
                unknown = true
            } else if let apps = names[name] {
                for a in apps { mask |= AppProtoMatch.bit(a) }
            } else if !undetected.contains(name) {
                throw .invalid("app-layer-protocol: unknown protocol '\(raw.prefix(40))'")
            }
        }
        var mode: UInt8?
        for p in parts.dropFirst() {
            guard let m = modes[String(p)] else { throw .invalid("app-layer-protocol: unknown mode '\(p.prefix(40))'") }
            if mode != nil { throw .invalid("app-layer-protocol: more than one mode") }
            mode = m
        }
        // Suricata refuses a positive protocol that contradicts the header's (`alert http ...
        // app-layer-protocol:tls` can never match).
        if !negated, !unknown, let app = b.signature.proto.app,
           mask & AppProtoMatch.bit(app) == 0 && !(app == .http && mask & AppProtoMatch.bit(.http2) != 0) {
            throw .invalid("app-layer-protocol: '\(list.prefix(40))' contradicts the rule's protocol \(app.eveName)")
        }
        b.signature.headerMatches.append(.appLayerProtocol(
            AppProtoMatch(mask: mask, negated: negated, unknown: unknown, mode: mode ?? 0)))
    }
}
