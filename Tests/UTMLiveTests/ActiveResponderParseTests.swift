import Testing
import UTMCore
@testable import UTMCapture

/// The refused packet as the active responder reads it (no sockets needed): IPv4 and IPv6,
/// TCP and UDP, and every truncation of each reads as nil or as consistent fields, never a trap.
@Suite struct ActiveResponderParseTests {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xffff)) }

    static func tcp(payload: Int) -> [UInt8] {
        be16(40000) + be16(443) + be32(1000) + be32(2000) + [0x50, 0x18] + be16(512) + [0, 0, 0, 0]
            + [UInt8](repeating: 0x41, count: payload)
    }

    static func v4(_ proto: UInt8, _ l4: [UInt8]) -> [UInt8] {
        [0x45, 0] + be16(UInt16(20 + l4.count)) + [0, 1, 0x40, 0, 64, proto, 0, 0] + [10, 74, 0, 10] + [10, 74, 0, 2] + l4
    }

    static func v6(_ proto: UInt8, _ l4: [UInt8]) -> [UInt8] {
        let a: [UInt8] = [0xfd, 0, 0, 0x74] + [UInt8](repeating: 0, count: 11) + [0x10]
        let b: [UInt8] = [0xfd, 0, 0, 0x74] + [UInt8](repeating: 0, count: 11) + [0x02]
        return be32(6 << 28) + be16(UInt16(l4.count)) + [proto, 64] + a + b + l4
    }

    @Test func fieldsOfIPv4AndIPv6() throws {
        let r4 = try #require([UInt8](Self.v4(6, Self.tcp(payload: 100))).withByteView { ActiveResponder.parse($0) })
        #expect(!r4.v6 && r4.proto == 6 && r4.sport == 40000 && r4.dport == 443 && r4.seq == 1000 && r4.ack == 2000)
        #expect(r4.payloadLength == 100 && r4.src.lo == 0x0a4a_000a && r4.dst.lo == 0x0a4a_0002)
        let r6 = try #require([UInt8](Self.v6(6, Self.tcp(payload: 7))).withByteView { ActiveResponder.parse($0) })
        #expect(r6.v6 && r6.headerLength == 40 && r6.payloadLength == 7 && r6.src.hi == 0xfd00_0074_0000_0000 && r6.src.lo == 0x10)
        let udp = Self.be16(5353) + Self.be16(53) + Self.be16(12) + [0, 0] + [1, 2, 3, 4]
        let u6 = try #require([UInt8](Self.v6(17, udp)).withByteView { ActiveResponder.parse($0) })
        #expect(u6.proto == 17 && u6.payloadOffset == 48 && u6.payloadLength == 4)
        // Other protocols and IPv4 fragments get no answer.
        #expect([UInt8](Self.v6(58, udp)).withByteView { ActiveResponder.parse($0) } == nil)
        var fragment = Self.v4(17, udp)
        fragment[7] = 8
        #expect(fragment.withByteView { ActiveResponder.parse($0) } == nil)
    }

    @Test func everyTruncationIsSafe() {
        for packet in [Self.v4(6, Self.tcp(payload: 30)), Self.v6(6, Self.tcp(payload: 30)),
                       Self.v4(17, Self.be16(1) + Self.be16(53) + Self.be16(8)), Self.v6(17, Self.be16(1) + Self.be16(53))] {
            for n in 0 ... packet.count {
                let cut = Array(packet.prefix(n))
                if let r = cut.withByteView({ ActiveResponder.parse($0) }) {
                    // Whatever is read lies inside the bytes there are.
                    #expect(r.payloadOffset + r.payloadLength <= max(n, r.payloadOffset), "length \(n)")
                }
            }
        }
    }

    @Test func pseudoHeaderMatchesAByHandSum() {
        // IPv4 10.74.0.10 → 10.74.0.2, TCP, 20 bytes: 0x0a4a + 0x000a + 0x0a4a + 0x0002 + 6 + 20.
        let a = ActiveResponder.Address(lo: 0x0a4a_000a), b = ActiveResponder.Address(lo: 0x0a4a_0002)
        #expect(ActiveResponder.pseudoHeader(false, src: a, dst: b, proto: 6, length: 20) == 0x0a4a + 0x000a + 0x0a4a + 0x0002 + 6 + 20)
        let c = ActiveResponder.Address(hi: 0xfd00_0074_0000_0000, lo: 0x10)
        let d = ActiveResponder.Address(hi: 0xfd00_0074_0000_0000, lo: 0x02)
        // The IPv6 sum exceeds 16 bits and comes back folded (end-around carry).
        let sum: UInt32 = 2 * (0xfd00 + 0x0074) + 0x10 + 0x02 + 58 + 8
        #expect(ActiveResponder.pseudoHeader(true, src: c, dst: d, proto: 58, length: 8) == (sum & 0xffff) + (sum >> 16))
    }
}
