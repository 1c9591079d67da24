/// A borrowed view of bytes: a packet, a reassembled stream chunk, a parser field.
///
/// Why this exists: the engine must read hostile bytes without copying them and without ever
/// trapping. `ByteView` is the only engine type that holds a raw pointer; every accessor checks
/// bounds and returns nil (or an empty view) when the read would leave the view.
///
/// Lifetime: a view is lent by whoever owns the bytes (the capture loop, a reassembly buffer, a
/// `FieldStore`) for the duration of a call. It must not be stored beyond that call.
@frozen
public struct ByteView: @unchecked Sendable {
    @usableFromInline internal let base: UnsafeRawPointer
    /// Number of bytes in the view.
    public let count: Int

    /// Only capture sources, buffers and the `withByteView` helpers create views from pointers.
    @inlinable
    public init(unsafeStart start: UnsafeRawPointer?, count: Int) {
        if let start, count > 0 {
            self.base = start
            self.count = count
        } else {
            self.base = ByteView.emptyBase
            self.count = 0
        }
    }

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.init(unsafeStart: buffer.baseAddress, count: buffer.count)
    }

    /// A pointer that is never dereferenced: views of zero bytes never read.
    @usableFromInline
    internal static var emptyBase: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 0x10)! }

    public static var empty: ByteView { ByteView(unsafeStart: nil, count: 0) }

    @inlinable public var isEmpty: Bool { count == 0 }

    // MARK: Integer reads (network byte order unless the name says otherwise)

    @inlinable
    public func u8(_ offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Reads a byte the caller has already bounds-checked (`offset < count` proved by a guard).
    /// Still checks in debug builds.
    @inlinable
    public subscript(checked offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count)
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable
    public func u16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count &- 2 else { return nil }
        return UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public func u24(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count &- 3 else { return nil }
        let b0 = UInt32(base.load(fromByteOffset: offset, as: UInt8.self))
        let b1 = UInt32(base.load(fromByteOffset: offset + 1, as: UInt8.self))
        let b2 = UInt32(base.load(fromByteOffset: offset + 2, as: UInt8.self))
        return b0 << 16 | b1 << 8 | b2
    }

    @inlinable
    public func u32(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count &- 4 else { return nil }
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    public func u64(_ offset: Int) -> UInt64? {
        guard offset >= 0, offset <= count &- 8 else { return nil }
        return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable
    public func u16le(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count &- 2 else { return nil }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public func u32le(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count &- 4 else { return nil }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    // MARK: Sub-views

    /// The `length` bytes at `offset`, or nil when they are not all inside the view.
    @inlinable
    public func slice(_ offset: Int, _ length: Int) -> ByteView? {
        guard offset >= 0, length >= 0, offset <= count, length <= count &- offset else { return nil }
        return ByteView(unsafeStart: base + offset, count: length)
    }

    /// Everything from `offset` on, or nil when `offset` is past the end.
    @inlinable
    public func suffix(from offset: Int) -> ByteView? {
        guard offset >= 0, offset <= count else { return nil }
        return ByteView(unsafeStart: base + offset, count: count &- offset)
    }

    /// At most the first `n` bytes.
    @inlinable
    public func prefix(_ n: Int) -> ByteView {
        ByteView(unsafeStart: base, count: Swift.max(0, Swift.min(n, count)))
    }

    /// Drops up to `n` bytes from the front.
    @inlinable
    public func dropFirst(_ n: Int) -> ByteView {
        let k = Swift.max(0, Swift.min(n, count))
        return ByteView(unsafeStart: base + k, count: count &- k)
    }

    // MARK: Searching and comparing

    /// Index of the first `byte` at or after `from`.
    @inlinable
    public func firstIndex(of byte: UInt8, from: Int = 0) -> Int? {
        firstIndex(of: byte, fold: 0, from: from)
    }

    /// Index of the first byte at or after `from` that equals `lower` or its ASCII upper case
    /// (`lower` must be a lower-case letter, `a`...`z`): nocase content search jumps between
    /// the occurrences of a pattern's first letter.
    @inlinable
    public func firstIndex(ofLetterIgnoringCase lower: UInt8, from: Int = 0) -> Int? {
        firstIndex(of: lower, fold: 0x20, from: from)
    }

    /// Scans eight bytes per step (SWAR: a byte of `word ^ pattern` is zero where the byte
    /// matches): the verifier's content search spent ~4 instructions per byte scanned in the
    /// byte loop. `fold` is OR-ed into every byte before the compare (0x20 folds ASCII case
    /// for a letter, 0 compares exactly).
    @inlinable
    func firstIndex(of byte: UInt8, fold: UInt8, from: Int) -> Int? {
        var i = Swift.max(0, from)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let pattern = UInt64(byte) &* ones
        let foldWord = UInt64(fold) &* ones
        while i &+ 8 <= count {
            let x = (UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) | foldWord) ^ pattern
            // Lowest flagged byte is the first zero byte (borrows only flag bytes above it).
            let t = (x &- ones) & ~x & 0x8080_8080_8080_8080
            if t != 0 { return i &+ (t.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < count {
            if base.load(fromByteOffset: i, as: UInt8.self) | fold == byte { return i }
            i &+= 1
        }
        return nil
    }

    /// Index of the first occurrence of `needle` at or after `from`.
    @inlinable
    public func firstIndex(of needle: ByteView, from: Int = 0) -> Int? {
        let n = needle.count
        if n == 0 { return from <= count ? Swift.max(0, from) : nil }
        guard n <= count else { return nil }
        let first = needle.base.load(as: UInt8.self)
        var i = Swift.max(0, from)
        let last = count &- n
        while i <= last {
            if base.load(fromByteOffset: i, as: UInt8.self) == first,
               memoryEqual(base + i, needle.base, n) {
                return i
            }
            i &+= 1
        }
        return nil
    }

    @inlinable
    public func starts(with prefix: ByteView) -> Bool {
        prefix.count <= count && memoryEqual(base, prefix.base, prefix.count)
    }

    /// ASCII case-insensitive prefix test (header names, methods).
    @inlinable
    public func startsCaseInsensitive(with prefix: ByteView) -> Bool {
        guard prefix.count <= count else { return false }
        var i = 0
        while i < prefix.count {
            if asciiLower(base.load(fromByteOffset: i, as: UInt8.self))
                != asciiLower(prefix.base.load(fromByteOffset: i, as: UInt8.self)) { return false }
            i &+= 1
        }
        return true
    }

    @inlinable
    public func equalsCaseInsensitive(_ other: ByteView) -> Bool {
        count == other.count && startsCaseInsensitive(with: other)
    }

    @inlinable
    public static func == (a: ByteView, b: ByteView) -> Bool {
        a.count == b.count && memoryEqual(a.base, b.base, a.count)
    }

    /// Calls `body` with each byte in order. Non-escaping: no allocation.
    @inlinable
    public func forEachByte(_ body: (UInt8) throws -> Void) rethrows {
        var i = 0
        while i < count {
            try body(base.load(fromByteOffset: i, as: UInt8.self))
            i &+= 1
        }
    }

    /// Lends the bytes as a buffer pointer, for the wrappers of C libraries (hashes, inflate).
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: count == 0 ? nil : base, count: count))
    }

    /// Appends the bytes to an array (tests, slow paths, storing a field).
    @inlinable
    public func append(to array: inout [UInt8]) {
        array.append(contentsOf: UnsafeRawBufferPointer(start: count == 0 ? nil : base, count: count))
    }

    /// A copy as an array: for tests and slow paths only.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        append(to: &out)
        return out
    }
}

@inlinable @inline(__always)
public func asciiLower(_ b: UInt8) -> UInt8 {
    (b &- 0x41) < 26 ? b | 0x20 : b
}

@inlinable
internal func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i &+ 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i &+= 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        i &+= 1
    }
    return true
}

extension Array where Element == UInt8 {
    /// Lends the array's bytes as a `ByteView` for the duration of `body`.
    @inlinable
    public func withByteView<R>(_ body: (ByteView) throws -> R) rethrows -> R {
        try self.withUnsafeBytes { try body(ByteView($0)) }
    }
}

extension ArraySlice where Element == UInt8 {
    @inlinable
    public func withByteView<R>(_ body: (ByteView) throws -> R) rethrows -> R {
        try self.withUnsafeBytes { try body(ByteView($0)) }
    }
}

extension StaticString {
    /// Lends a literal (a method name, a header name) as a `ByteView`.
    @inlinable
    public func withByteView<R>(_ body: (ByteView) throws -> R) rethrows -> R {
        try body(ByteView(unsafeStart: UnsafeRawPointer(utf8Start), count: utf8CodeUnitCount))
    }

    /// The literal as a view. Literals live for the whole program, so this view may be kept.
    @inlinable
    public var byteView: ByteView {
        ByteView(unsafeStart: UnsafeRawPointer(utf8Start), count: utf8CodeUnitCount)
    }
}
