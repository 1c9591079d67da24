import UTMCore

/// A half-open range of bytes in a head buffer; `start < 0` means absent.
struct HTTPRange: Sendable {
    var start: Int = -1
    var end: Int = -1
    var isSet: Bool { start >= 0 && end >= start }
    static let none = HTTPRange()
}

/// One direction's start line and header block while it is being received.
///
/// Why not `FieldStore`: folding a continuation line into its header means deleting the line
/// break in place, which the append-only store cannot do. Reserved once; never grows past
/// `capacity` (every write is checked).
struct HTTPHeadBuffer {
    private(set) var bytes: [UInt8]
    let capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(16, capacity)
        bytes = []
        bytes.reserveCapacity(self.capacity)
    }

    var count: Int { bytes.count }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Appends as much of `v` as fits; returns how many bytes were kept.
    @discardableResult
    mutating func append(_ v: ByteView) -> Int {
        let n = Swift.min(v.count, capacity &- bytes.count)
        if n > 0 { v.prefix(n).withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return Swift.max(0, n)
    }

    mutating func appendCRLF() {
        if bytes.count <= capacity &- 2 { bytes.append(13); bytes.append(10) }
    }

    mutating func truncate(to n: Int) {
        if n >= 0 && n < bytes.count { bytes.removeLast(bytes.count &- n) }
    }

    mutating func remove(from start: Int, count n: Int) {
        guard start >= 0, n > 0, start <= bytes.count &- n else { return }
        bytes.removeSubrange(start ..< start &+ n)
    }

    mutating func set(_ i: Int, _ b: UInt8) {
        if i >= 0 && i < bytes.count { bytes[i] = b }
    }

    func u8(_ i: Int) -> UInt8? { i >= 0 && i < bytes.count ? bytes[i] : nil }

    func withView<R>(_ body: (ByteView) -> R) -> R { bytes.withByteView(body) }
}

/// Pure helpers over a head buffer's bytes. Static functions on a `ByteView` so they can run
/// inside `withView` without touching parser state.
enum HTTPLex {
    @inline(__always) static func isWS(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    /// RFC 9110 tchar.
    static func isTChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
             UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func skipWS(_ h: ByteView, _ i: Int, _ end: Int) -> Int {
        var i = i
        while i < end, let b = h.u8(i), isWS(b) { i &+= 1 }
        return i
    }

    static func trimEnd(_ h: ByteView, _ start: Int, _ end: Int) -> Int {
        var e = end
        while e > start, let b = h.u8(e &- 1), isWS(b) { e &-= 1 }
        return e
    }

    static func tokenEnd(_ h: ByteView, _ i: Int, _ end: Int) -> Int {
        var i = i
        while i < end, let b = h.u8(i), !isWS(b) { i &+= 1 }
        return i
    }

    static func find(_ h: ByteView, _ byte: UInt8, _ start: Int, _ end: Int) -> Int? {
        var i = start
        while i < end, let b = h.u8(i) {
            if b == byte { return i }
            i &+= 1
        }
        return nil
    }

    /// Case-insensitive comparison of `h[s..<e]` with a literal.
    static func equals(_ h: ByteView, _ s: Int, _ e: Int, _ lit: StaticString) -> Bool {
        guard let v = h.slice(s, e &- s) else { return false }
        return v.equalsCaseInsensitive(lit.byteView)
    }

    static func hasPrefix(_ h: ByteView, _ s: Int, _ e: Int, _ lit: StaticString) -> Bool {
        guard let v = h.slice(s, e &- s) else { return false }
        return v.startsCaseInsensitive(with: lit.byteView)
    }

    /// Whether `lit` occurs in `h[s..<e]`, ignoring case (Connection: keep-alive, close).
    static func contains(_ h: ByteView, _ s: Int, _ e: Int, _ lit: StaticString) -> Bool {
        let n = lit.utf8CodeUnitCount
        var i = s
        while i <= e &- n {
            if hasPrefix(h, i, e, lit) { return true }
            i &+= 1
        }
        return false
    }

    /// A decimal number of at most 18 digits (no sign, no spaces), else nil: overflow-safe.
    static func decimal(_ h: ByteView, _ s: Int, _ e: Int) -> Int64? {
        guard e > s, e &- s <= 18 else { return nil }
        var v: Int64 = 0
        var i = s
        while i < e {
            guard let b = h.u8(i), b >= 0x30, b <= 0x39 else { return nil }
            v = v &* 10 &+ Int64(b &- 0x30)
            i &+= 1
        }
        return v
    }

    /// Content-Length value: digits, or a list of identical numbers ("5, 5", RFC 9110 §8.6).
    static func contentLength(_ h: ByteView, _ s: Int, _ e: Int) -> Int64? {
        var result: Int64? = nil
        var i = s
        while i < e {
            let a = skipWS(h, i, e)
            let comma = find(h, UInt8(ascii: ","), a, e) ?? e
            let b = trimEnd(h, a, comma)
            guard let v = decimal(h, a, b) else { return nil }
            if let r = result, r != v { return nil }
            result = v
            i = comma &+ 1
        }
        return result
    }

    /// The last comma-separated token of a Transfer-Encoding value is "chunked".
    static func endsWithChunked(_ h: ByteView, _ s: Int, _ e: Int) -> Bool {
        var a = e
        while a > s, let b = h.u8(a &- 1), b != UInt8(ascii: ",") { a &-= 1 }
        let t0 = skipWS(h, a, e)
        let t1 = trimEnd(h, t0, e)
        return equals(h, t0, t1, "chunked")
    }

    struct RequestLine {
        var method = HTTPRange.none
        var uri = HTTPRange.none
        var proto = HTTPRange.none
        var http09 = false
        var malformed = false
        /// A version that is not HTTP/1.0 or HTTP/1.1 (`request_line_invalid`).
        var invalidProtocol = false
        /// The method or the target ended with a tab, not a space (libhtp's
        /// `method_delim_non_compliant` / `uri_delim_non_compliant`).
        var methodDelimTab = false
        var uriDelimTab = false
    }

    /// Parses `METHOD SP target SP HTTP/x.y`, tolerating extra spaces and spaces inside the
    /// target (the way servers do). A line that is not a request is nil. `strict` (after a
    /// gap) wants an upper-case method and a version, so body text is not taken for requests.
    static func requestLine(_ h: ByteView, _ s: Int, _ e: Int, cut: Bool, strict: Bool) -> RequestLine? {
        var r = RequestLine()
        let m1 = tokenEnd(h, s, e)
        guard m1 > s, m1 &- s <= 32 else { return nil }
        var i = s
        while i < m1 {
            guard let b = h.u8(i), isTChar(b) else { return nil }
            if strict && !(b >= 0x41 && b <= 0x5a) { return nil }
            i &+= 1
        }
        r.method = HTTPRange(start: s, end: m1)
        r.methodDelimTab = h.u8(m1) == 0x09
        let u0 = skipWS(h, m1, e)
        guard u0 < e else { return nil }
        // The version is the last token, if it looks like one.
        let lastEnd = trimEnd(h, u0, e)
        var v0 = lastEnd
        while v0 > u0, let b = h.u8(v0 &- 1), !isWS(b) { v0 &-= 1 }
        if v0 > u0, hasPrefix(h, v0, lastEnd, "HTTP/") {
            r.proto = HTTPRange(start: v0, end: lastEnd)
            r.uri = HTTPRange(start: u0, end: trimEnd(h, u0, v0))
            if tokenEnd(h, u0, r.uri.end) != r.uri.end { r.malformed = true }
            if !equals(h, v0, lastEnd, "HTTP/1.1") && !equals(h, v0, lastEnd, "HTTP/1.0") {
                r.malformed = true
                r.invalidProtocol = true
            }
            r.uriDelimTab = h.u8(v0 &- 1) == 0x09
            return r
        }
        if strict { return nil }
        if cut {
            // The line was longer than we keep: the version was cut off, not missing.
            r.uri = HTTPRange(start: u0, end: lastEnd)
            return r
        }
        // HTTP/0.9: only "GET target".
        guard v0 == u0, equals(h, s, m1, "GET") else { return nil }
        r.uri = HTTPRange(start: u0, end: lastEnd)
        r.http09 = true
        return r
    }

    struct StatusLine {
        var proto = HTTPRange.none
        var message = HTTPRange.none
        var status = 0
        var malformed = false
        /// Not HTTP/1.0 or HTTP/1.1, a status below 100 (libhtp's `response_invalid_*`).
        var invalidProtocol = false
        var invalidStatus = false
    }

    /// Parses `HTTP/x.y SP 3DIGIT [SP reason]`; anything else is nil.
    static func statusLine(_ h: ByteView, _ s: Int, _ e: Int) -> StatusLine? {
        guard hasPrefix(h, s, e, "HTTP/") else { return nil }
        var r = StatusLine()
        let p1 = tokenEnd(h, s, e)
        r.proto = HTTPRange(start: s, end: p1)
        let c0 = skipWS(h, p1, e)
        let c1 = tokenEnd(h, c0, e)
        guard c1 &- c0 == 3, let code = decimal(h, c0, c1) else { return nil }
        r.status = Int(code)
        if r.status < 100 { r.malformed = true; r.invalidStatus = true }
        let m0 = skipWS(h, c1, e)
        r.message = HTTPRange(start: m0, end: trimEnd(h, m0, e))
        if !equals(h, s, p1, "HTTP/1.1") && !equals(h, s, p1, "HTTP/1.0") { r.malformed = true; r.invalidProtocol = true }
        return r
    }

    /// Where an authority's host begins: after the userinfo, which ends at the last '@'.
    static func afterUserinfo(_ h: ByteView, _ s: Int, _ e: Int) -> Int {
        var a = s
        var i = s
        while i < e {
            if h.u8(i) == UInt8(ascii: "@") { a = i &+ 1 }
            i &+= 1
        }
        return a
    }

    /// Splits an authority (`host`, `host:port`, `[v6]:port`, `user@host`) into host and port.
    static func hostPort(_ h: ByteView, _ s: Int, _ e: Int) -> (HTTPRange, Int?) {
        let a = afterUserinfo(h, s, e)
        if h.u8(a) == UInt8(ascii: "[") {
            guard let close = find(h, UInt8(ascii: "]"), a, e) else { return (HTTPRange(start: a, end: e), nil) }
            var port: Int? = nil
            if h.u8(close &+ 1) == UInt8(ascii: ":"), let p = decimal(h, close &+ 2, e), p <= 65535 { port = Int(p) }
            return (HTTPRange(start: a &+ 1, end: close), port)
        }
        var c = e
        while c > a, let b = h.u8(c &- 1), b != UInt8(ascii: ":") { c &-= 1 }
        if c > a {
            // "host:" keeps an empty port; a non-numeric port leaves the value alone.
            if c == e { return (HTTPRange(start: a, end: c &- 1), nil) }
            if let p = decimal(h, c, e) {
                return (HTTPRange(start: a, end: c &- 1), p <= 65535 ? Int(p) : nil)
            }
        }
        return (HTTPRange(start: a, end: e), nil)
    }

    /// Whether an authority (`host:port`, `[v6]:port`, `user@host:port`) has a port that is
    /// not a decimal number up to 65535. No colon, or an empty port, is not invalid.
    static func invalidPort(_ h: ByteView, _ s: Int, _ e: Int) -> Bool {
        var a = afterUserinfo(h, s, e)
        if h.u8(a) == UInt8(ascii: "[") {
            guard let close = find(h, UInt8(ascii: "]"), a, e) else { return false }
            a = close &+ 1
        }
        guard let colon = find(h, UInt8(ascii: ":"), a, e), colon &+ 1 < e else { return false }
        guard let p = decimal(h, colon &+ 1, e) else { return true }
        return p > 65535
    }

    /// The authority of an absolute-form target (`http://host:port/path`), if it is one.
    static func absoluteAuthority(_ h: ByteView, _ s: Int, _ e: Int) -> HTTPRange? {
        var a: Int
        if hasPrefix(h, s, e, "http://") { a = s &+ 7 } else if hasPrefix(h, s, e, "https://") { a = s &+ 8 } else { return nil }
        var b = a
        while b < e, let c = h.u8(b), c != UInt8(ascii: "/"), c != UInt8(ascii: "?"), c != UInt8(ascii: "#") { b &+= 1 }
        if b == a { a = b }
        return HTTPRange(start: a, end: b)
    }
}
