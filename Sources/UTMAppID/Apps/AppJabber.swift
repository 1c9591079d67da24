import UTMCore

/// XMPP (Jabber): a stream header in the jabber: namespace.
enum AppJabber {
    static let descriptor = AppDescriptor(
        id: .jabber, name: "Jabber", kind: .proto, category: "Chat",
        tcpPorts: [5222, 5269],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.has("<?xml") || v.has("<stream:stream") else { return .no }
        if v.contains("jabber:", within: 512) || v.contains("xmpp", within: 512) { return .match(.jabber) }
        return v.count < 64 ? .needMore : .no
    }
}
