import UTMCore

/// MQTT: a CONNECT packet naming MQTT/MQIsdp.
enum AppMQTT {
    static let descriptor = AppDescriptor(
        id: .mqtt, name: "MQTT", kind: .proto, category: "IoT",
        tcpPorts: [1883, 8883],
        dissector: Dissector([.tcp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.u8(0) == 0x10 else { return .no }
        // Remaining length (1-4 bytes varint), then protocol name "MQTT" or "MQIsdp".
        var o = 1
        while let b = v.u8(o), b & 0x80 != 0, o < 4 { o += 1 }
        o += 1
        guard let rest = v.suffix(from: o) else { return .needMore }
        if rest.has("\u{0}\u{4}MQTT") || rest.has("\u{0}\u{6}MQIsdp") { return .match(.mqtt) }
        return rest.count < 6 ? .needMore : .no
    }
}
