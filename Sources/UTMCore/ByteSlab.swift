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
