import UTMCore

/// What the session 7 keywords share: making a rule an app-layer rule of a protocol that runs
/// over UDP (QUIC), or over UDP or TCP (DNS), where `SignatureBuilder.requireApp` assumes TCP.
enum Session7Keyword {
    /// The rule becomes a `app` rule; a header naming another app protocol, or a transport
    /// `app` never uses, cannot load.
    static func requireApp(_ b: inout SignatureBuilder, _ app: AppProto, udp: Bool, tcp: Bool,
                           keyword: String) throws(RuleError) {
        if let have = b.signature.proto.app, have != app {
            throw .invalid("'\(keyword)' needs \(app.eveName) but the rule is for \(have.eveName)")
        }
        guard (udp && b.signature.proto.admits(ipProto: 17)) || (tcp && b.signature.proto.admits(ipProto: 6)) else {
            throw .invalid("'\(keyword)' needs a \(udp && tcp ? "UDP or TCP" : udp ? "UDP" : "TCP") rule, the header says \(b.signature.proto.name)")
        }
        b.signature.proto.app = app
    }
}
