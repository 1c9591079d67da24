import UTMCore

/// DTLS 1.0/1.2/1.3 records (WebRTC media keys, VPNs).
enum AppDTLS {
    static let descriptor = AppDescriptor(
        id: .dtls, name: "DTLS", kind: .carrier, category: "VoIP",
        dissector: Dissector([.udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.count >= 13, let ct = v.u8(0), ct >= 0x14, ct <= 0x17, v.u8(1) == 0xfe,
              let minor = v.u8(2), minor == 0xff || minor == 0xfd || minor == 0xfc,
              let len = v.u16(11), Int(len) + 13 <= v.count else { return .no }
        return .match(.dtls)
    }
}
