import UTMCore

/// Session Initiation Protocol: a request line with a sip: URI or a SIP/2.0 status line.
enum AppSIP {
    static let descriptor = AppDescriptor(
        id: .sip, name: "SIP", kind: .proto, category: "VoIP",
        tcpPorts: [5060, 5061],
        udpPorts: [5060],
        dissector: Dissector([.tcp, .udp], probe: probe))

    /// A literal array in the probe would be allocated on every call.
    static let methods: [StaticString] = ["INVITE sip:", "REGISTER sip:", "OPTIONS sip:", "ACK sip:", "BYE sip:",
                                "CANCEL sip:", "SUBSCRIBE sip:", "NOTIFY sip:", "MESSAGE sip:", "INFO sip:",
                                "PUBLISH sip:", "REFER sip:", "PRACK sip:", "UPDATE sip:"]

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if v.has("SIP/2.0 ") { return .match(.sip) }
        if v.hasAny(methods) {
            return .match(.sip)
        }
        if v.count < 14 && v.isText(v.count) && p.packetIndex == 0 { return .needMore }
        return .no
    }
}
