/// A 48-bit Ethernet address in one word, so packets and flow records carry it without storage
/// of their own.
///
/// Why a presence bit (bit 48) instead of "zero means none": 00:00:00:00:00:00 is a real (if odd)
/// address on the wire, and events must say "no Ethernet header" apart from it.
@frozen
public struct MACAddress: Hashable, Sendable {
    public var raw: UInt64

    /// No address: the frame had no Ethernet header (raw IP, NFQUEUE, SLL, loopback).
    public static let none = MACAddress(raw: 0)

    @inlinable public init(raw: UInt64) { self.raw = raw }

    /// From the 48-bit value (first octet in the high byte).
    @inlinable public init(value: UInt64) { raw = (1 << 48) | (value & 0xFFFF_FFFF_FFFF) }

    /// Reads six bytes at `offset`; nil when the view is too short.
    @inlinable
    public static func read(_ v: ByteView, at offset: Int) -> MACAddress? {
        guard let a = v.u32(offset), let b = v.u16(offset &+ 4) else { return nil }
        return MACAddress(value: UInt64(a) << 16 | UInt64(b))
    }

    @inlinable public var isPresent: Bool { raw & (1 << 48) != 0 }
    /// The 48-bit value; 0 when absent.
    @inlinable public var value: UInt64 { raw & 0xFFFF_FFFF_FFFF }

    /// Octet `i` (0 = first on the wire).
    @inlinable public func octet(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * i)) }

    /// "aa:bb:cc:dd:ee:ff" (slow paths and tests; EVE writes it with `JSONWriter.mac`).
    public var description: String {
        guard isPresent else { return "" }
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        for i in 0..<6 {
            if i > 0 { s.append(":") }
            let o = octet(i)
            s.append(digits[Int(o >> 4)])
            s.append(digits[Int(o & 0xf)])
        }
        return s
    }
}

extension JSONWriter {
    /// A quoted lower-case "aa:bb:cc:dd:ee:ff", as Suricata writes `ether.src_mac`.
    public mutating func mac(_ m: MACAddress) {
        valueStart()
        reserve(19) // 17 characters and the quotes: one capacity check
        put(UInt8(ascii: "\""))
        for i in 0..<6 {
            if i > 0 { put(UInt8(ascii: ":")) }
            if slab.writeHex(UInt64(m.octet(i)), width: 2, at: count) { used &+= 2 }
        }
        put(UInt8(ascii: "\""))
    }
}
