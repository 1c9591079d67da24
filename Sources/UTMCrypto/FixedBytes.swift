import UTMCore

// Fixed-size key material as plain values: a per-flow key must not be an `[UInt8]` (a heap
// allocation per flow and an indirection per packet). Stored as integer tuples so the layout is
// contiguous bytes in memory order; `withUnsafeBytes(of:)` lends them to OpenSSL.

/// 16 bytes: an AES-128 key, a header-protection key, a sample or a mask.
@frozen
public struct Bytes16: Sendable, Equatable {
    public var raw: (UInt64, UInt64)

    @inlinable public init() { raw = (0, 0) }

    /// Copies exactly 16 bytes; nil when `view` has another length.
    @inlinable
    public init?(_ view: ByteView) {
        guard view.count == 16 else { return nil }
        raw = (0, 0)
        Swift.withUnsafeMutableBytes(of: &raw) { dst in
            view.withUnsafeBytes { dst.copyMemory(from: $0) }
        }
    }

    /// Byte `i` (0..<16) in memory order; 0 out of range.
    @inlinable
    public subscript(_ i: Int) -> UInt8 {
        guard i >= 0, i < 16 else { return 0 }
        return Swift.withUnsafeBytes(of: raw) { $0[i] }
    }

    @inlinable
    public static func == (a: Bytes16, b: Bytes16) -> Bool { a.raw == b.raw }

    /// A copy as an array: tests and diagnostics only.
    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: raw) { Array($0) } }
}

/// 12 bytes: an AEAD IV or nonce.
@frozen
public struct Bytes12: Sendable, Equatable {
    public var raw: (UInt64, UInt32)

    @inlinable public init() { raw = (0, 0) }

    /// Copies exactly 12 bytes; nil when `view` has another length.
    @inlinable
    public init?(_ view: ByteView) {
        guard view.count == 12 else { return nil }
        raw = (0, 0)
        Swift.withUnsafeMutableBytes(of: &raw) { dst in
            view.withUnsafeBytes { dst.copyMemory(from: $0) }
        }
    }

    @inlinable
    public subscript(_ i: Int) -> UInt8 {
        guard i >= 0, i < 12 else { return 0 }
        return Swift.withUnsafeBytes(of: raw) { $0[i] }
    }

    /// The nonce for one packet: the IV with `counter` xored into its last 8 bytes, big-endian
    /// (TLS 1.3 section 5.3, RFC 9001 section 5.3: the packet number is the counter).
    @inlinable
    public func xoringCounter(_ counter: UInt64) -> Bytes12 {
        var out = self
        Swift.withUnsafeMutableBytes(of: &out.raw) { p in
            var i = 0
            while i < 8 {
                p[4 &+ i] ^= UInt8(truncatingIfNeeded: counter >> UInt64(56 &- 8 &* i))
                i &+= 1
            }
        }
        return out
    }

    @inlinable
    public static func == (a: Bytes12, b: Bytes12) -> Bool { a.raw == b.raw }

    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: raw) { Array($0.prefix(12)) } }
}

/// 32 bytes: a SHA-256 sized secret (HKDF pseudorandom key, traffic secret).
@frozen
public struct Bytes32: Sendable, Equatable {
    public var raw: (UInt64, UInt64, UInt64, UInt64)

    @inlinable public init() { raw = (0, 0, 0, 0) }

    /// Copies exactly 32 bytes; nil when `view` has another length.
    @inlinable
    public init?(_ view: ByteView) {
        guard view.count == 32 else { return nil }
        raw = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &raw) { dst in
            view.withUnsafeBytes { dst.copyMemory(from: $0) }
        }
    }

    @inlinable
    public subscript(_ i: Int) -> UInt8 {
        guard i >= 0, i < 32 else { return 0 }
        return Swift.withUnsafeBytes(of: raw) { $0[i] }
    }

    @inlinable
    public static func == (a: Bytes32, b: Bytes32) -> Bool { a.raw == b.raw }

    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: raw) { Array($0) } }
}
