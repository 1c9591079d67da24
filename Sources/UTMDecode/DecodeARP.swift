import UTMCore

/// ARP (RFC 826) over Ethernet for IPv4: the 8-byte fixed header (hardware type, protocol
/// type, address sizes, opcode) and the four addresses it announces.
///
/// Why the decoder reads ARP although it is not IP: Suricata 9 decodes it and rules can name
/// it (`alert arp any any -> any any (...)`), which lets the box alert on ARP spoofing from a
/// LAN port. The sender and target protocol addresses go into `src`/`dst` (what address lists
/// in an `arp` rule's header test); `ipVersion` stays 0, so the flow table never tracks ARP.
/// The result stays `.notIP` (nothing for flows, streams or the app layer); `arpOpcode` != 0
/// tells the engine an ARP header was read.
enum ARP {
    /// Fixed header: htype(2) ptype(2) hlen(1) plen(1) opcode(2).
    static let fixedHeaderLength = 8
    static let hardwareEthernet: UInt16 = 1
    /// IEEE 802 networks (token ring, FDDI, Wi-Fi bridged) use 6-byte MACs too.
    static let hardwareIEEE802: UInt16 = 6
    static let protocolIPv4: UInt16 = 0x0800
}

extension Decoder {
    /// `l3` starts at the ARP header. Truncated headers raise `arpTooShort`; a hardware or
    /// protocol other than Ethernet/IPv4 (or address sizes that contradict them), or opcode 0,
    /// raise `arpUnsupported`. Both return `.invalid` with no ARP fields set.
    @inline(never)
    mutating func decodeARP(_ l3: ByteView, _ packet: inout DecodedPacket) -> DecodeResult {
        guard let htype = l3.u16(0), let ptype = l3.u16(2), let hlen = l3.u8(4), let plen = l3.u8(5),
              let opcode = l3.u16(6) else {
            packet.events.insert(.arpTooShort)
            return .invalid
        }
        // The addresses the header announces must all be present before anything is read.
        let needed = ARP.fixedHeaderLength &+ 2 &* (Int(hlen) &+ Int(plen))
        guard l3.count >= needed else {
            packet.events.insert(.arpTooShort)
            return .invalid
        }
        guard htype == ARP.hardwareEthernet || htype == ARP.hardwareIEEE802, ptype == ARP.protocolIPv4,
              hlen == 6, plen == 4, opcode != 0 else {
            packet.events.insert(.arpUnsupported)
            return .invalid
        }
        guard let senderMAC = MACAddress.read(l3, at: 8), let senderIP = IPAddress.read(l3, at: 14, v6: false),
              let targetMAC = MACAddress.read(l3, at: 18), let targetIP = IPAddress.read(l3, at: 24, v6: false) else {
            // Unreachable after the length check; kept so a wrong offset can never trap.
            packet.events.insert(.arpTooShort)
            return .invalid
        }
        packet.arpOpcode = opcode
        packet.arpSenderMAC = senderMAC
        packet.arpTargetMAC = targetMAC
        packet.src = senderIP
        packet.dst = targetIP
        counters.arp &+= 1
        return .notIP
    }
}
