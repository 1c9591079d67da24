/// A reference to bytes kept in a `FieldStore`: an offset and a length, so parser state stays
/// a plain value with no pointers or `String`s.
@frozen
public struct Field: Sendable, Equatable {
    public var offset: Int32
    public var length: Int32

    public init(offset: Int32, length: Int32) {
        self.offset = offset
        self.length = length
    }

    public static let absent = Field(offset: -1, length: 0)
    public var isPresent: Bool { offset >= 0 }
}

/// Fixed-capacity byte storage for parser fields that must outlive one packet (a header line
/// split over two segments, the URI of a request whose response has not come yet).
///
/// Why: the per-packet path must not allocate. The storage is reserved once, when the parser
/// state is created in its pool; `reset()` keeps the capacity. Appends past the capacity are
/// cut and `truncated` is set, so hostile input cannot make it grow.
public struct FieldStore: Sendable {
    public private(set) var bytes: [UInt8]
    public let capacity: Int
    /// Set when an append was cut short; cleared by `reset()`.
    public private(set) var truncated: Bool = false

    public init(capacity: Int) {
        self.capacity = capacity
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var used: Int { bytes.count }
    public var remaining: Int { capacity &- bytes.count }

    /// Forgets every field, keeping the storage.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        truncated = false
    }

    /// Drops everything stored after `used` bytes (to undo a field being built).
    public mutating func rewind(to used: Int) {
        if used < bytes.count { bytes.removeLast(bytes.count &- used) }
    }

    /// Stores `v` (cut to the remaining capacity) and returns its field.
    @discardableResult
    public mutating func append(_ v: ByteView) -> Field {
        let start = bytes.count
        let n = Swift.min(v.count, remaining)
        if n < v.count { truncated = true }
        v.prefix(n).withUnsafeBytes { bytes.append(contentsOf: $0) }
        return Field(offset: Int32(start), length: Int32(n))
    }

    /// Extends `field`, which must be the last one stored, with more bytes: a value that arrives
    /// in pieces. Returns the grown field.
    public mutating func extend(_ field: Field, with v: ByteView) -> Field {
        guard field.isPresent, Int(field.offset) &+ Int(field.length) == bytes.count else {
            return field.isPresent ? field : append(v)
        }
        let added = append(v)
        return Field(offset: field.offset, length: field.length &+ added.length)
    }

    public mutating func appendByte(_ b: UInt8) -> Bool {
        guard bytes.count < capacity else { truncated = true; return false }
        bytes.append(b)
        return true
    }

    /// Lends a stored field as a view; an absent field is an empty view.
    public func withView<R>(_ field: Field, _ body: (ByteView) throws -> R) rethrows -> R {
        guard field.isPresent else { return try body(.empty) }
        return try bytes.withUnsafeBytes { raw in
            let all = ByteView(raw)
            return try body(all.slice(Int(field.offset), Int(field.length)) ?? .empty)
        }
    }

    /// A stored field as an array: tests and slow paths only.
    public func copy(_ field: Field) -> [UInt8] {
        withView(field) { $0.bytes }
    }

    /// A stored field as a string: tests and slow paths only.
    public func string(_ field: Field) -> String? {
        guard field.isPresent else { return nil }
        return String(decoding: copy(field), as: UTF8.self)
    }
}
