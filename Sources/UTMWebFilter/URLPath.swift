import UTMCore

/// The canonical form URL paths are compared in, produced one byte at a time so the lookup
/// never copies a path:
///   - ASCII letters are folded to lower case (UT1 entries mix cases; squidGuard-style lists
///     are matched case-insensitively);
///   - `%XX` escapes are decoded, except those that would change the URL's structure
///     (`/ ? # % & = + ;`, controls, space and DEL) which stay escaped with lower-case hex; raw
///     controls and spaces are escaped the same way, so both spellings compare equal;
///   - the fragment (`#...`) is dropped; the query stays (UT1 has entries with queries).
/// The compiler runs list entries through the same cursor.
public struct URLPathCursor {
    @usableFromInline let view: ByteView
    @usableFromInline var index: Int
    /// Up to two bytes of a re-escaped sequence still to deliver.
    @usableFromInline var pending: UInt16
    @usableFromInline var pendingCount: UInt8

    @inlinable
    public init(_ path: ByteView) {
        view = path; index = 0; pending = 0; pendingCount = 0
    }

    @inlinable @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        if (b &- 0x30) < 10 { return b &- 0x30 }
        let l = b | 0x20
        if (l &- 0x61) < 6 { return l &- 0x61 &+ 10 }
        return nil
    }

    @inlinable @inline(__always)
    static func keepsEscaped(_ d: UInt8) -> Bool {
        switch d {
        case 0x00...0x20, 0x7f, UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "%"),
             UInt8(ascii: "&"), UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: ";"):
            return true
        default:
            return false
        }
    }

    /// The next canonical byte, or nil at the end of the path (or at a fragment).
    @inlinable
    public mutating func next() -> UInt8? {
        if pendingCount > 0 {
            pendingCount &-= 1
            let b = UInt8(truncatingIfNeeded: pending >> 8)
            pending <<= 8
            return b
        }
        guard let b = view.u8(index) else { return nil }
        if b == UInt8(ascii: "#") { index = view.count; return nil }
        index &+= 1
        var d = b
        if b == UInt8(ascii: "%"), let h1 = view.u8(index).flatMap(URLPathCursor.hexValue),
           let h2 = view.u8(index &+ 1).flatMap(URLPathCursor.hexValue) {
            d = h1 << 4 | h2
            index &+= 2
            if URLPathCursor.keepsEscaped(d) { return escape(d) }
            return asciiLower(d)
        }
        if d <= 0x20 || d == 0x7f { return escape(d) }
        return asciiLower(d)
    }

    @inlinable
    mutating func escape(_ d: UInt8) -> UInt8 {
        pending = UInt16(hexDigit(d >> 4)) << 8 | UInt16(hexDigit(d & 0xf))
        pendingCount = 2
        return UInt8(ascii: "%")
    }

    /// Whether a canonical entry `prefix` matches this path at a segment boundary: the entry is
    /// a prefix of the path and either ends with `/ ? & =` or the path continues with
    /// `/ ? & ;` or ends. So `host/foo` matches `/foo`, `/foo/bar`, `/foo?x` but not `/foobar`.
    @inlinable
    public static func matches(prefix: ByteView, path: ByteView) -> Bool {
        compare(prefix: prefix, path: path).matches
    }

    /// `matches`, and whether `prefix` sorts after the path's canonical form (bytewise), in
    /// which case no entry sorted after `prefix` can be a prefix of the path either.
    @inlinable
    public static func compare(prefix: ByteView, path: ByteView) -> (matches: Bool, after: Bool) {
        // Fast path: up to the first escape, fragment or control byte the canonical form is the
        // path byte for byte (letters folded), so compare in place; the cursor takes over there.
        var i = 0
        let plain = min(prefix.count, path.count)
        while i < plain {
            let b = path[checked: i]
            if b == UInt8(ascii: "%") || b == UInt8(ascii: "#") || b <= 0x20 || b == 0x7f { break }
            let l = asciiLower(b), e = prefix[checked: i]
            if l != e { return (false, l < e) }
            i &+= 1
        }
        var c = URLPathCursor(path)
        c.index = i
        while i < prefix.count {
            guard let b = c.next() else { return (false, true) }
            let e = prefix[checked: i]
            if b != e { return (false, b < e) }
            i &+= 1
        }
        if let last = prefix.u8(prefix.count - 1),
           last == UInt8(ascii: "/") || last == UInt8(ascii: "?") || last == UInt8(ascii: "&") || last == UInt8(ascii: "=") {
            return (true, false)
        }
        guard let n = c.next() else { return (true, false) }
        return (n == UInt8(ascii: "/") || n == UInt8(ascii: "?") || n == UInt8(ascii: "&") || n == UInt8(ascii: ";"), false)
    }

    /// The canonical form as an array (compiler, customer lists).
    public static func canonical(_ path: ByteView) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        var c = URLPathCursor(path)
        while let b = c.next() { out.append(b) }
        return out
    }
}

/// Splits text a person typed or a list holds — `http://user@host:port/path?q`, `host/path`,
/// `host` — into host and path views (path starts at the first '/', or is empty).
public enum URLText {
    @inlinable
    public static func split(_ text: ByteView) -> (host: ByteView, path: ByteView) {
        var v = text
        if let sep = v.firstIndex(of: StaticString("://").byteView), sep < 16 { v = v.dropFirst(sep + 3) }
        var end = v.count
        if let s = v.firstIndex(of: UInt8(ascii: "/")) { end = s }
        if let q = v.firstIndex(of: UInt8(ascii: "?")), q < end { end = q }
        var authority = v.prefix(end)
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) { authority = authority.dropFirst(at + 1) }
        // "host?q" keeps "?q" as its path so query prefixes still see it.
        return (authority, v.dropFirst(end))
    }
}
