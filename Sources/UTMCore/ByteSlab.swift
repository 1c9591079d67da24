/// Owned bytes at a stable address: reassembly buffers, out-of-order segment storage,
/// decrypted QUIC payloads, decompressed bodies.
///
/// Why a class: views (`ByteView`) of these bytes are lent to later stages until the owner next
/// writes, so the storage must not move the way an `Array`'s may. A slab is allocated once,
/// when a pool is built, never per packet. Like `ByteView`, it is part of the packet-view area
/// where unsafe pointers are allowed; every method checks bounds.
public final class ByteSlab: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = Swift.max(0, capacity)
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, capacity), alignment: 16)
    }

    deinit { base.deallocate() }

    /// A view of `length` bytes at `offset`, or nil when out of range. Valid until the next
    /// write to that range.
    @inlinable
    public func view(_ offset: Int, _ length: Int) -> ByteView? {
        guard offset >= 0, length >= 0, offset <= capacity, length <= capacity &- offset else { return nil }
        return ByteView(unsafeStart: base + offset, count: length)
    }

    /// Copies `bytes` to `offset`. Returns false (and writes nothing) when they do not fit.
    @inlinable
    @discardableResult
    public func write(_ bytes: ByteView, at offset: Int) -> Bool {
        guard offset >= 0, offset <= capacity, bytes.count <= capacity &- offset else { return false }
        if bytes.count > 0 {
            bytes.withUnsafeBytes { src in
                (base + offset).copyMemory(from: src.baseAddress!, byteCount: src.count)
            }
        }
        return true
    }

    /// Writes one byte; false when out of range.
    @inlinable
    @discardableResult
    public func write(_ byte: UInt8, at offset: Int) -> Bool {
        guard offset >= 0, offset < capacity else { return false }
        base.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
        return true
    }

    /// Reads one byte; nil when out of range.
    @inlinable
    public func read(_ offset: Int) -> UInt8? {
        guard offset >= 0, offset < capacity else { return nil }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Moves `count` bytes from `source` to `destination` within the slab (ranges may overlap).
    @inlinable
    @discardableResult
    public func move(from source: Int, to destination: Int, count: Int) -> Bool {
        guard count >= 0, source >= 0, destination >= 0,
              source <= capacity &- count, destination <= capacity &- count else { return false }
        if count > 0 { (base + destination).copyMemory(from: base + source, byteCount: count) }
        return true
    }

    /// Lends writable bytes to a C library wrapper (inflate, decrypt) that fills them.
    /// `body` returns how many bytes it wrote; the result is clamped to the range.
    @inlinable
    public func withUnsafeMutableBytes<R>(_ offset: Int, _ length: Int,
                                          _ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R? {
        guard offset >= 0, length >= 0, offset <= capacity, length <= capacity &- offset else { return nil }
        return try body(UnsafeMutableRawBufferPointer(start: base + offset, count: length))
    }
}

// MARK: Text formatting for writers (EVE JSON)

extension ByteSlab {
    /// Writes `"`, the literal and `"` — or `":` when `colon` — at `offset` with one bounds check:
    /// a JSON key or a literal string value. Returns the bytes written, 0 when they do not fit.
    /// Why here: EVE writes about twenty keys per event; byte-by-byte appends cost ~100
    /// instructions a key, this one check and one copy.
    @inlinable @inline(__always)
    public func writeQuoted(_ s: StaticString, colon: Bool, at offset: Int) -> Int {
        let n = s.utf8CodeUnitCount
        let total = n &+ (colon ? 3 : 2)
        guard offset >= 0, offset <= capacity, total <= capacity &- offset else { return 0 }
        let p = base + offset
        p.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        copySmall(from: UnsafeRawPointer(s.utf8Start), to: p + 1, count: n)
        (p + 1 + n).storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        if colon { (p + 2 + n).storeBytes(of: UInt8(ascii: ":"), as: UInt8.self) }
        return total
    }

    /// Copies `count` bytes; up to 16 with two overlapping loads and stores that stay inside
    /// both ranges (a call to `memmove` cost ~40 instructions for a 9-byte key).
    @inlinable @inline(__always)
    func copySmall(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, count n: Int) {
        if n >= 8 && n <= 16 {
            let a = src.loadUnaligned(as: UInt64.self)
            let b = src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            dst.storeBytes(of: a, as: UInt64.self)
            dst.storeBytes(of: b, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let a = src.loadUnaligned(as: UInt32.self)
            let b = src.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            dst.storeBytes(of: a, as: UInt32.self)
            dst.storeBytes(of: b, toByteOffset: n &- 4, as: UInt32.self)
        } else if n > 16 {
            dst.copyMemory(from: src, byteCount: n)
        } else {
            var i = 0
            while i < n {
                dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
                i &+= 1
            }
        }
    }

    /// Writes the decimal digits of `value` (no leading zeros) at `offset`. Returns the bytes
    /// written, 0 when they do not fit. No intermediate `String` or per-digit division by a
    /// variable divisor.
    @inlinable
    public func writeDecimal(_ value: UInt64, at offset: Int) -> Int {
        var n = 1
        var t = value
        while t >= 10 { t /= 10; n &+= 1 }
        return writeDecimal(value, width: n, at: offset) ? n : 0
    }

    /// Writes exactly `width` decimal digits of `value`, zero-padded on the left (digits above
    /// `width` are dropped): timestamps' fields. False (nothing written) when they do not fit.
    @inlinable
    @discardableResult
    public func writeDecimal(_ value: UInt64, width: Int, at offset: Int) -> Bool {
        guard width >= 0, offset >= 0, offset <= capacity, width <= capacity &- offset else { return false }
        var v = value
        var i = offset &+ width
        while i > offset {
            i &-= 1
            base.storeBytes(of: UInt8(truncatingIfNeeded: v % 10) &+ UInt8(ascii: "0"),
                            toByteOffset: i, as: UInt8.self)
            v /= 10
        }
        return true
    }

    /// Writes the `width` low hex digits of `value` (lower case, zero-padded). False when they
    /// do not fit.
    @inlinable
    @discardableResult
    public func writeHex(_ value: UInt64, width: Int, at offset: Int) -> Bool {
        guard width >= 0, offset >= 0, offset <= capacity, width <= capacity &- offset else { return false }
        var v = value
        var i = offset &+ width
        while i > offset {
            i &-= 1
            base.storeBytes(of: hexDigit(UInt8(truncatingIfNeeded: v & 0xf)), toByteOffset: i, as: UInt8.self)
            v >>= 4
        }
        return true
    }
}

extension ByteSlab {
    /// Stores the 8 bytes of `word`, low byte first, at `offset` (any alignment): a cached
    /// piece of text kept in registers. False when they do not fit.
    @inlinable
    @discardableResult
    public func write(word: UInt64, at offset: Int) -> Bool {
        guard offset >= 0, offset <= capacity, 8 <= capacity &- offset else { return false }
        base.storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt64.self)
        return true
    }
}
