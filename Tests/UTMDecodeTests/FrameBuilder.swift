import UTMCore
@testable import UTMDecode

/// Builds frames by hand for the decoder tests: every header is written field by field so a
/// test states exactly which bytes it feeds.
enum Build {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static let macA: [UInt8] = [0x02, 0, 0, 0, 0, 1]
    static let macB: [UInt8] = [0x02, 0, 0, 0, 0, 2]

    /// Ethernet II; each VLAN entry is (TPID, VLAN id).
    static func ethernet(_ type: UInt16, vlans: [(UInt16, UInt16)] = [], _ payload: [UInt8]) -> [UInt8] {
        var f = macA + macB
        for (tpid, id) in vlans { f += be16(tpid) + be16(0x2000 | id) }
        return f + be16(type) + payload
    }

    static func sll(_ proto: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(0) + be16(1) + be16(6) + macA + [0, 0] + be16(proto) + payload
    }

    static func sll2(_ proto: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(proto) + be16(0) + be32(3) + be16(1) + [0, 6] + macA + [0, 0] + payload
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i < bytes.count {
            sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static let src4: [UInt8] = [192, 168, 1, 10]
    static let dst4: [UInt8] = [93, 184, 216, 34]

    static func ipv4(proto: UInt8, _ payload: [UInt8], src: [UInt8] = src4, dst: [UInt8] = dst4,
                     id: UInt16 = 0x1234, ttl: UInt8 = 64, tos: UInt8 = 0, df: Bool = false,
                     more: Bool = false, fragmentOffset: Int = 0, options: [UInt8] = [],
                     totalLength: Int? = nil, ihl: Int? = nil) -> [UInt8] {
        let hlen = 20 + options.count
        let total = totalLength ?? (hlen + payload.count)
        let frag = UInt16(fragmentOffset / 8) | (more ? 0x2000 : 0) | (df ? 0x4000 : 0)
        var h: [UInt8] = [UInt8(0x40 | (ihl ?? hlen / 4)), tos] + be16(UInt16(total)) + be16(id)
            + be16(frag) + [ttl, proto, 0, 0] + src + dst + options
        let c = checksum(h)
        h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xFF)
        return h + payload
    }

    static let src6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
    static let dst6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2]

    /// IPv6 with `payload` (extension headers included) after the fixed header.
    static func ipv6(next: UInt8, _ payload: [UInt8], hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
                     flowLabel: UInt32 = 0, payloadLength: Int? = nil) -> [UInt8] {
        let vtf = UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xFFFFF)
        return be32(vtf) + be16(UInt16(payloadLength ?? payload.count)) + [next, hopLimit]
            + src6 + dst6 + payload
    }

    /// A generic extension header ((len+1)*8 bytes) padded with PadN.
    static func ext(next: UInt8, units: Int = 0) -> [UInt8] {
        let total = (units + 1) * 8
        return [next, UInt8(units), 1, UInt8(total - 4)] + [UInt8](repeating: 0, count: total - 4)
    }

    static func fragment6(next: UInt8, offset: Int, more: Bool, id: UInt32) -> [UInt8] {
        [next, 0] + be16(UInt16(offset) & 0xFFF8 | (more ? 1 : 0)) + be32(id)
    }

    static func tcp(sport: UInt16 = 49152, dport: UInt16 = 443, seq: UInt32 = 1000, ack: UInt32 = 0,
                    flags: UInt8 = 0x02, window: UInt16 = 64240, options: [UInt8] = [],
                    dataOffset: Int? = nil, _ payload: [UInt8] = []) -> [UInt8] {
        let hlen = 20 + options.count
        return be16(sport) + be16(dport) + be32(seq) + be32(ack)
            + [UInt8((dataOffset ?? hlen / 4) << 4), flags] + be16(window) + [0, 0, 0, 0]
            + options + payload
    }

    /// MSS 1460, SACK permitted, timestamps, NOP, window scale 7: what Linux sends in a SYN.
    static let synOptions: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + be32(0x01020304) + be32(0x0A0B0C0D)
        + [1, 3, 3, 7]

    static func udp(sport: UInt16 = 53000, dport: UInt16 = 53, length: Int? = nil,
                    _ payload: [UInt8]) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(length ?? 8 + payload.count)) + [0, 0] + payload
    }

    static func icmp(type: UInt8, code: UInt8 = 0, id: UInt16 = 7, seq: UInt16 = 9,
                     _ payload: [UInt8]) -> [UInt8] {
        [type, code, 0, 0] + be16(id) + be16(seq) + payload
    }

    static func bytes(_ n: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
    }
}

/// A decoded packet with copies of the borrowed views, so tests can look at them after the
/// frame's buffer is gone.
struct Decoded {
    var result: DecodeResult
    var packet: DecodedPacket
    var payload: [UInt8]
    var ipPacket: [UInt8]
}

extension Decoder {
    mutating func run(_ frame: [UInt8], _ linkType: LinkType = .ethernet,
                      at seconds: Int64 = 1_700_000_000) -> Decoded {
        var p = DecodedPacket()
        return frame.withByteView { view in
            let r = decode(view, linkType: linkType, timestamp: Timestamp(seconds: seconds, micros: 0), into: &p)
            return Decoded(result: r, packet: p, payload: p.payload.bytes, ipPacket: p.ipPacket.bytes)
        }
    }
}
