import UTMCore

/// BitTorrent: the peer handshake, DHT bencode, local peer discovery and uTP SYN.
enum AppBitTorrent {
    static let descriptor = AppDescriptor(
        id: .bittorrent, name: "BitTorrent", kind: .proto, category: "P2P",
        tcpPorts: [6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889, 51413],
        udpPorts: [6881, 6771, 51413],
        names: ["bittorrent.com", "utorrent.com"],
        dissector: Dissector([.tcp, .udp], probe: probe))

    @Sendable static func probe(_ p: ProbeInput) -> ProbeResult {
        let v = p.payload
        if v.has("\u{13}BitTorrent protocol") { return .match(.bittorrent) }
        if p.isTCP { return v.isPrefix(of: "\u{13}BitTorrent protocol") ? .needMore : .no }
        // Mainline DHT: a bencoded dictionary with a transaction id and a query or response.
        if v.has("d1:ad2:id20:") || v.has("d1:rd2:id20:") || v.has("d2:ip6:") || v.has("d1:eli20") { return .match(.bittorrent) }
        if v.has("d1:") && v.contains("1:y1:", within: v.count) && v.u8(v.count - 1) == UInt8(ascii: "e") { return .match(.bittorrent) }
        // Local peer discovery.
        if v.has("BT-SEARCH * HTTP/1.1") { return .match(.bittorrent) }
        // uTP SYN (type 4, version 1) with a plausible header.
        if v.count == 20, v.u8(0) == 0x41, let ext = v.u8(1), ext <= 2 { return .match(.bittorrent) }
        return .no
    }
}
