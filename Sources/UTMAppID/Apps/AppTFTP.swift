import UTMCore

/// TFTP read/write requests on 69.
enum AppTFTP {
    static let descriptor = AppDescriptor(
        id: .tftp, name: "TFTP", kind: .proto, category: "FileTransfer",
        udpPorts: [69],
        dissector: Dissector([.udp], portsOnly: true, probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        guard v.u8(0) == 0, let op = v.u8(1), op == 1 || op == 2, v.count > 4 else { return .no }
        // filename NUL mode NUL, mode one of octet/netascii/mail (any case).
        guard let z = v.firstIndex(of: 0, from: 2), z > 2, let mode = v.suffix(from: z + 1) else { return .no }
        return mode.hasCI("octet") || mode.hasCI("netascii") || mode.hasCI("mail") ? .match(.tftp) : .no
    }
}
