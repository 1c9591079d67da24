import UTMCore

/// QUIC long-header packets of known versions (IETF v1/v2/drafts, Google Q0xx/T0xx); client Initials padded to 1200 bytes.
enum AppQUIC {
    static let descriptor = AppDescriptor(
        id: .quic, name: "QUIC", kind: .carrier, category: "Web",
        udpPorts: [443],
        dissector: Dissector([.udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard let b0 = v.u8(0), b0 & 0xc0 == 0xc0, let version = v.u32(1) else { return .no }
        switch version {
        case 0x0000_0001, 0x6b33_43cf, 0x709a_50c4:   // v1, v2, v2 draft
            break
        default:
            if version & 0xffff_ff00 == 0xff00_0000 { break }          // IETF drafts
            let q = version >> 24                                     // Google QUIC "Q0xx"/"T0xx"
            if (q == 0x51 || q == 0x54) && (version >> 16) & 0xff == 0x30 { break }
            if version & 0x0f0f_0f0f == 0x0a0a_0a0a { break }          // version negotiation grease
            return .no
        }
        // A client Initial is padded to 1200 bytes; a server's long header may be shorter.
        if p.direction == .toServer && v.count < 1200 && (b0 & 0x30) == 0 { return .no }
        return .match(.quic)
    }
}
