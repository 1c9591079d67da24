import UTMCore

/// The packet header sticky buffers (Suricata 6+): `ipv4.hdr`, `ipv6.hdr`, `tcp.hdr`, `udp.hdr`,
/// `icmpv4.hdr`, `icmpv6.hdr` — the raw header bytes of the inspected packet, options and IPv6
/// extension headers included, for `content`, `byte_test`, `bsize`, `entropy`... A rule that
/// uses one is a packet rule (`DetectDefinitions.point`): headers exist per packet, not per
/// stream chunk or transaction. No prefilter pattern comes from them (`isPacketHeader`): the
/// rule is verified on each packet its header admits, as Suricata's keyword-only packet rules.
enum DetectHeaderBuffers {
    static let keywords: [(String, BufferID)] = [
        ("ipv4.hdr", .ipv4Header), ("ipv6.hdr", .ipv6Header), ("tcp.hdr", .tcpHeader),
        ("udp.hdr", .udpHeader), ("icmpv4.hdr", .icmpv4Header), ("icmpv6.hdr", .icmpv6Header),
    ]
}

/// Where the decoded packet's headers lie, handed to `DetectEngine.inspectPacket` so the
/// header buffers are lent slices of the packet (no copy). `ip` is the IP header and all that
/// follows; `ipHeaderLength` covers IPv4 options or IPv6 extension headers;
/// `transportHeaderLength` the TCP header with options, UDP's 8 bytes, ICMP's first 8.
public struct PacketHeaderViews: Sendable {
    public var ip: ByteView
    public var ipHeaderLength: Int
    public var transportHeaderLength: Int

    public init(ip: ByteView, ipHeaderLength: Int, transportHeaderLength: Int) {
        self.ip = ip; self.ipHeaderLength = ipHeaderLength; self.transportHeaderLength = transportHeaderLength
    }

    public static let none = PacketHeaderViews(ip: .empty, ipHeaderLength: 0, transportHeaderLength: 0)

    /// Lends the header buffers this packet has into `buffers`: the IP version's and the
    /// transport protocol's (ICMP by version). A length past the captured bytes (a decoder
    /// anomaly) lends nothing: the buffer is absent and rules on it do not match.
    public func fill(_ buffers: inout InspectionBuffers, ipVersion: UInt8, ipProto: UInt8) {
        guard ipHeaderLength > 0, let l3 = ip.slice(0, ipHeaderLength) else { return }
        if ipVersion == 4 { buffers[.ipv4Header] = l3 } else if ipVersion == 6 { buffers[.ipv6Header] = l3 }
        guard transportHeaderLength > 0, let l4 = ip.slice(ipHeaderLength, transportHeaderLength) else { return }
        switch ipProto {
        case 6: buffers[.tcpHeader] = l4
        case 17: buffers[.udpHeader] = l4
        case 1 where ipVersion == 4: buffers[.icmpv4Header] = l4
        case 58 where ipVersion == 6: buffers[.icmpv6Header] = l4
        default: break
        }
    }
}
