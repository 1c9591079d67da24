import UTMCore

/// IPsec: IKEv1/v2 on 500/4500 and ESP in UDP; ESP/AH themselves by IP protocol.
enum AppIPsec {
    static let descriptor = AppDescriptor(
        id: .ipsec, name: "IPSec", kind: .proto, category: "VPN",
        udpPorts: [500, 4500],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        var v = p.payload
        if p.onPort(4500) {
            if v.count == 1 && v.u8(0) == 0xff { return .match(.ipsec) }     // NAT keepalive
            guard let marker = v.u32(0) else { return .no }
            if marker != 0 { return v.count >= 16 ? .match(.ipsec) : .no }   // ESP in UDP
            v = v.dropFirst(4)                                                // non-ESP marker + IKE
        }
        // IKE header: 28 bytes, version 1.0 or 2.0, known exchange type, exact length.
        guard v.count >= 28, let ver = v.u8(17), ver == 0x10 || ver == 0x20, let ex = v.u8(18),
              let len = v.u32(24), Int(len) == v.count else { return .no }
        return (ex >= 1 && ex <= 5) || (ex >= 32 && ex <= 37) ? .match(.ipsec) : .no
    }
}
