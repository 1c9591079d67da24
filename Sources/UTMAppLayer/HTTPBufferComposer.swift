import UTMCore

/// Builds the HTTP inspection buffers Suricata composes from a header block or normalizes
/// (http.header, http.header_names, http.start, joined header values, http.host, http.uri): pure byte work
/// on parser output, kept here beside the parser so the HTTP fuzz target runs it on hostile
/// bytes. The engine (UTMEngine/EngineHTTPBuffers.swift) decides which to build and lends the
/// results to the rules.
///
/// Why one scratch store: the composed bytes exist nowhere contiguous. The store and the span
/// table are reserved in `init` and reset per transaction side, so composing never allocates;
/// a view returned is valid until the next `reset` (or until the store is appended past it —
/// within capacity that never moves it). A full store cuts the buffer short, never grows.
public struct HTTPBufferComposer: Sendable {
    /// Three composed copies of a header block bounded by the HTTP parser's `maxHeaderBlock`
    /// (8 KiB by default: http.header, http.header_names, http.start), their separators (a
    /// normalized line can be one byte longer than sent: "Name:value" gains its space),
    /// joined values, a normalized URI (a line of at most `maxHeaderLine`, 4 KiB) and a host.
    /// A larger block (a bigger `maxHeaderBlock`) does not fit: `composeHeaders` then says so
    /// and the engine inspects the block as sent.
    public static let scratchCapacity = 64 << 10
    /// Header blocks with more lines than this are not merged by name (repeated headers stay
    /// separate): the merge compares line pairs, so it is bounded to keep a hostile block of
    /// thousands of tiny headers cheap.
    public static let mergeLineLimit = 128

    public var scratch: FieldStore
    var spans: [HeaderSpan]
    /// Set by `put` when a piece did not fit: the composition being built is incomplete.
    var overflow = false

    public init(capacity: Int = HTTPBufferComposer.scratchCapacity) {
        scratch = FieldStore(capacity: capacity)
        spans = []
        spans.reserveCapacity(HTTPBufferComposer.mergeLineLimit)
    }

    /// Forgets everything composed (views lent before become invalid).
    public mutating func reset() { scratch.reset() }

    /// Splits `block` into the span table once (the compositions below then compare names
    /// without re-reading lines). False when it has more than `mergeLineLimit` lines: the
    /// table then holds the first ones only and nothing may be merged.
    public mutating func loadSpans(_ block: ByteView) -> Bool {
        spans.removeAll(keepingCapacity: true)
        var pos = 0
        while let h = HeaderSpan(block, pos) {
            pos = h.next
            guard h.isField else { continue }
            guard spans.count < HTTPBufferComposer.mergeLineLimit else { return false }
            spans.append(h)
        }
        return true
    }

    /// "\r\n" + names + "\r\n" each + "\r\n"; nil for an empty block.
    public mutating func composeNames(_ block: ByteView, merge: Bool) -> ByteView? {
        let start = scratch.used
        _ = scratch.append(HTTPBufferComposer.crlf)
        var any = false
        var cursor = 0
        while let (h, _) = nextHeader(block, merge: merge, &cursor) {
            _ = scratch.append(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
            _ = scratch.append(HTTPBufferComposer.crlf)
            any = true
        }
        guard any else {
            scratch.rewind(to: start)
            return nil
        }
        _ = scratch.append(HTTPBufferComposer.crlf)
        return scratchView(from: start)
    }

    /// The next header to compose from `cursor` on. With `merge`: the next span of the table
    /// whose name was not seen before, with its span index (later values join it); `cursor`
    /// counts spans. Without (a block over `mergeLineLimit` lines): the next line that has a
    /// name, index -1 (nothing joins); `cursor` is a byte position in `block`.
    func nextHeader(_ block: ByteView, merge: Bool, _ cursor: inout Int) -> (HeaderSpan, Int)? {
        if merge {
            while cursor < spans.count {
                let k = cursor
                cursor &+= 1
                if !seenBefore(block, k) { return (spans[k], k) }
            }
            return nil
        }
        while let h = HeaderSpan(block, cursor) {
            cursor = h.next
            if h.isField { return (h, -1) }
        }
        return nil
    }

    /// Start line + "\r\n" + "Name: value\r\n" per header (repeats joined) + "\r\n".
    public mutating func composeStart(_ line: ByteView, _ block: ByteView, merge: Bool) -> ByteView? {
        let start = scratch.used
        _ = scratch.append(line)
        _ = scratch.append(HTTPBufferComposer.crlf)
        var any = false
        var cursor = 0
        while let (h, k) = nextHeader(block, merge: merge, &cursor) {
            appendLine(block, h)
            if k >= 0 && !HTTPBufferComposer.isContentLength(block, h) { appendLaterValues(block, k) }
            _ = scratch.append(HTTPBufferComposer.crlf)
            any = true
        }
        // libhtp's composition adds the blank line after the last header only.
        if any { _ = scratch.append(HTTPBufferComposer.crlf) }
        return scratchView(from: start)
    }

    /// What `composeHeaders` built. `header` and `lines` share their bytes: `lines` is
    /// `header` followed by the cookie header, so both cost one composition.
    public struct HeaderComposition {
        /// Suricata's http.header: nil when no header but the cookie one was sent.
        public var header: ByteView?
        /// http.request_header / http.response_header instances, one "Name: value" per line:
        /// every header of the table, the cookie one included (Suricata's multi-buffer reads
        /// the whole table; the order of instances does not matter to it).
        public var lines: ByteView?
        /// False when the scratch store was too small: nothing was kept, inspect the block as
        /// sent instead.
        public var complete: Bool
        /// http.start, when a start line was given and the cookie header (if any) is the last
        /// header name of the table: then http.start is the start line, the same bytes as
        /// `lines` and a blank line, and shares them. Nil otherwise (`composeStart` builds it).
        public var start: ByteView? = nil
    }

    /// Suricata's http.header as it builds it from libhtp's header table: one
    /// "Name: value\r\n" per header name in first-seen order, the name spelled as first sent,
    /// the value trimmed of blanks, a repeated header's values joined into the first with
    /// ", " (Content-Length keeps its first: libhtp does not join it), no blank line at the
    /// end, and the cookie header left out (`cookie` is "cookie" for a request, "set-cookie"
    /// for a response: those are http.cookie's). Folded lines come unfolded from the parser.
    ///
    /// Why: rules are written for this form (`content:"User-Agent|3a 20|Mozilla"`), so the
    /// block as sent lets `User-Agent:Mozilla`, `User-Agent:   Mozilla` or a repeated header
    /// evade them, and a cookie value that spells a rule's header content match falsely.
    /// `merge` is `loadSpans`'s answer: false (a block of more than `mergeLineLimit` lines)
    /// normalizes every line but joins none.
    ///
    /// `startLine` (request or status line; empty for none): written first, so http.start can
    /// share the composition (see `HeaderComposition.start`) instead of copying the headers
    /// a second time: that copy was a third of the composed buffers' cost.
    public mutating func composeHeaders(_ block: ByteView, merge: Bool, cookie: StaticString,
                                        startLine: ByteView = .empty) -> HeaderComposition {
        let begin = scratch.used
        overflow = false
        if !startLine.isEmpty {
            put(startLine)
            put(HTTPBufferComposer.crlf)
        }
        let start = scratch.used
        let cookieName = cookie.byteView
        var cookieSpan = -1
        var lastOther = -1
        var cookies = false
        if merge {
            var k = 0
            while k < spans.count {
                if !seenBefore(block, k) {
                    if HTTPBufferComposer.nameEquals(block, spans[k], cookieName) {
                        cookieSpan = k
                    } else {
                        putHeader(block, k)
                        lastOther = k
                    }
                }
                k &+= 1
            }
        } else {
            cookies = putUnmerged(block, cookieName, cookies: false)
        }
        let headerEnd = scratch.used
        if cookieSpan >= 0 { putHeader(block, cookieSpan) }
        if cookies { _ = putUnmerged(block, cookieName, cookies: true) }
        let linesEnd = scratch.used
        // http.start keeps the table's order: shareable when the cookie header came last.
        let shareStart = !startLine.isEmpty && !cookies && (cookieSpan < 0 || cookieSpan > lastOther)
        // libhtp's composition adds the blank line after the last header only.
        if shareStart && linesEnd > start { put(HTTPBufferComposer.crlf) }
        guard !overflow else {
            scratch.rewind(to: begin)
            overflow = false
            return HeaderComposition(header: nil, lines: nil, complete: false)
        }
        return HeaderComposition(header: scratchView(from: start, to: headerEnd),
                                 lines: scratchView(from: start, to: linesEnd), complete: true,
                                 start: shareStart ? scratchView(from: begin, to: scratch.used) : nil)
    }

    /// "Name: value[, later values]\r\n" for merged span `k`.
    mutating func putHeader(_ block: ByteView, _ k: Int) {
        let h = spans[k]
        put(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
        put(HTTPBufferComposer.colonSpace)
        put(block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty)
        if !HTTPBufferComposer.isContentLength(block, h) {
            var j = k &+ 1
            while j < spans.count {
                let o = spans[j]
                if HTTPBufferComposer.sameName(block, h, o) {
                    put(HTTPBufferComposer.commaSpace)
                    put(block.slice(o.valueStart, o.valueEnd &- o.valueStart) ?? .empty)
                }
                j &+= 1
            }
        }
        put(HTTPBufferComposer.crlf)
    }

    /// Every line of a block too long to merge, normalized, in order: the non-cookie lines
    /// (`cookies` false; returns whether a cookie line was seen) or the cookie lines only.
    mutating func putUnmerged(_ block: ByteView, _ cookieName: ByteView, cookies: Bool) -> Bool {
        var seen = false
        var pos = 0
        while let h = HeaderSpan(block, pos) {
            pos = h.next
            guard h.isField else { continue }
            let isCookie = HTTPBufferComposer.nameEquals(block, h, cookieName)
            if isCookie { seen = true }
            guard isCookie == cookies else { continue }
            put(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
            put(HTTPBufferComposer.colonSpace)
            put(block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty)
            put(HTTPBufferComposer.crlf)
        }
        return seen
    }

    /// Appends `v` whole or not at all (a cut piece would make a header that was not sent).
    @inline(__always)
    mutating func put(_ v: ByteView) {
        guard !overflow, v.count <= scratch.remaining else { overflow = true; return }
        scratch.append(v)
    }

    /// "Name: value" of one header.
    public mutating func appendLine(_ block: ByteView, _ h: HeaderSpan) {
        _ = scratch.append(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
        _ = scratch.append(HTTPBufferComposer.colonSpace)
        _ = scratch.append(block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty)
    }

    /// The value of header `name` (lower case): the first one's, with later ones appended
    /// after ", " when `merge` (the span table is loaded); nil when absent.
    public mutating func mergedValue(_ block: ByteView, _ name: StaticString, merge: Bool) -> ByteView? {
        let want = name.byteView
        if merge {
            var k = 0
            while k < spans.count {
                let h = spans[k]
                if HTTPBufferComposer.nameEquals(block, h, want) {
                    let first = block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty
                    guard hasLater(block, k) else { return first }
                    let start = scratch.used
                    _ = scratch.append(first)
                    appendLaterValues(block, k)
                    return scratchView(from: start)
                }
                k &+= 1
            }
            return nil
        }
        var pos = 0
        while let h = HeaderSpan(block, pos) {
            pos = h.next
            if h.isField && HTTPBufferComposer.nameEquals(block, h, want) {
                return block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty
            }
        }
        return nil
    }

    /// ", " + the value of every header after span `k` with its name.
    public mutating func appendLaterValues(_ block: ByteView, _ k: Int) {
        let h = spans[k]
        var j = k &+ 1
        while j < spans.count {
            let o = spans[j]
            if HTTPBufferComposer.sameName(block, h, o) {
                _ = scratch.append(HTTPBufferComposer.commaSpace)
                _ = scratch.append(block.slice(o.valueStart, o.valueEnd &- o.valueStart) ?? .empty)
            }
            j &+= 1
        }
    }

    public func seenBefore(_ block: ByteView, _ k: Int) -> Bool {
        var j = 0
        while j < k {
            if HTTPBufferComposer.sameName(block, spans[j], spans[k]) { return true }
            j &+= 1
        }
        return false
    }

    public func hasLater(_ block: ByteView, _ k: Int) -> Bool {
        var j = k &+ 1
        while j < spans.count {
            if HTTPBufferComposer.sameName(block, spans[k], spans[j]) { return true }
            j &+= 1
        }
        return false
    }

    public static func sameName(_ block: ByteView, _ a: HeaderSpan, _ b: HeaderSpan) -> Bool {
        let n = a.nameEnd &- a.nameStart
        guard n == b.nameEnd &- b.nameStart else { return false }
        var k = 0
        while k < n {
            guard let x = block.u8(a.nameStart &+ k), let y = block.u8(b.nameStart &+ k),
                  asciiLower(x) == asciiLower(y) else { return false }
            k &+= 1
        }
        return true
    }

    /// Whether `h`'s name is `want` (lower case), any case.
    public static func nameEquals(_ block: ByteView, _ h: HeaderSpan, _ want: ByteView) -> Bool {
        let n = h.nameEnd &- h.nameStart
        guard n == want.count else { return false }
        var k = 0
        while k < n {
            guard let x = block.u8(h.nameStart &+ k), let y = want.u8(k), asciiLower(x) == y else { return false }
            k &+= 1
        }
        return true
    }

    public static func isContentLength(_ block: ByteView, _ h: HeaderSpan) -> Bool {
        nameEquals(block, h, StaticString("content-length").byteView)
    }

    public static let crlf = StaticString("\r\n").byteView
    public static let colonSpace = StaticString(": ").byteView
    public static let commaSpace = StaticString(", ").byteView

    /// The scratch bytes from `start` to `end`, as a view (nil when empty).
    public func scratchView(from start: Int, to end: Int) -> ByteView? {
        let n = end &- start
        guard n > 0, end <= scratch.used else { return nil }
        return scratch.withView(Field(offset: Int32(start), length: Int32(n))) { $0 }
    }

    /// The scratch bytes from `start` to the end, as a view (nil when empty).
    public func scratchView(from start: Int) -> ByteView? {
        let n = scratch.used &- start
        guard n > 0 else { return nil }
        return scratch.withView(Field(offset: Int32(start), length: Int32(n))) { $0 }
    }

    /// `host` lower-cased (and, with `stripPort`, cut at its port: "Host:8080" → "host"),
    /// copied to the scratch store only when it changes.
    /// `trailingDots`: also drop dots at the end ("example.com." → "example.com"), as libhtp's
    /// hostname normalization does (Suricata's HTTP/2 one does not).
    public mutating func lowerHost(_ host: ByteView, stripPort: Bool, trailingDots: Bool = false) -> ByteView? {
        var end = host.count
        if stripPort {
            // "[v6]:port" keeps its brackets; otherwise the first colon starts the port, as
            // Suricata's HTTP/2 host normalization cuts it.
            if host.u8(0) == UInt8(ascii: "[") {
                var k = 0
                while k < end, host.u8(k) != UInt8(ascii: "]") { k &+= 1 }
                end = Swift.min(end, k &+ 1)
            } else {
                var k = 0
                while k < end, host.u8(k) != UInt8(ascii: ":") { k &+= 1 }
                end = k
            }
        }
        if trailingDots {
            while end > 0 && host.u8(end &- 1) == UInt8(ascii: ".") { end &-= 1 }
        }
        guard end > 0, let cut = host.slice(0, end) else { return nil }
        var upper = false
        var k = 0
        while k < end {
            if let c = cut.u8(k), c >= 0x41 && c <= 0x5A { upper = true; break }
            k &+= 1
        }
        guard upper else { return cut }
        let start = scratch.used
        k = 0
        while k < end {
            _ = scratch.appendByte(asciiLower(cut.u8(k) ?? 0))
            k &+= 1
        }
        return scratchView(from: start)
    }

    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c &- 0x30
        case 0x41...0x46: c &- 0x37
        case 0x61...0x66: c &- 0x57
        default: nil
        }
    }

    /// Every Host header of a request block, joined by ", " as libhtp joins repeats: as sent
    /// (`raw`, Suricata's http.host.raw) or each one's host lower-cased without its port and
    /// trailing dots (http.host; libhtp takes its hostname from the joined value, so a rule
    /// for either host matches). Nil without a Host header.
    public mutating func joinedHosts(_ block: ByteView, raw: Bool) -> ByteView? {
        let want = StaticString("host").byteView
        let start = scratch.used
        var n = 0
        var pos = 0
        while let h = HeaderSpan(block, pos) {
            pos = h.next
            guard h.isField, HTTPBufferComposer.nameEquals(block, h, want) else { continue }
            if n > 0 { _ = scratch.append(HTTPBufferComposer.commaSpace) }
            let v = block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty
            if raw {
                _ = scratch.append(v)
            } else {
                var end = v.count
                if v.u8(0) == UInt8(ascii: "[") {
                    var k = 0
                    while k < end, v.u8(k) != UInt8(ascii: "]") { k &+= 1 }
                    end = Swift.min(end, k &+ 1)
                } else {
                    var k = 0
                    while k < end, v.u8(k) != UInt8(ascii: ":") { k &+= 1 }
                    end = k
                }
                while end > 0 && v.u8(end &- 1) == UInt8(ascii: ".") { end &-= 1 }
                var k = 0
                while k < end {
                    _ = scratch.appendByte(asciiLower(v.u8(k) ?? 0))
                    k &+= 1
                }
            }
            n &+= 1
        }
        return n > 0 ? scratchView(from: start) : nil
    }

    /// First position of `pattern` in `v` at or after `from`.
    public static func find(_ v: ByteView, _ pattern: ByteView, _ from: Int) -> Int? {
        let m = pattern.count
        guard m > 0 else { return from }
        var k = from
        while k &+ m <= v.count {
            var j = 0
            while j < m && v.u8(k &+ j) == pattern.u8(j) { j &+= 1 }
            if j == m { return k }
            k &+= 1
        }
        return nil
    }

}


/// One line of an HTTP/1 header block as the parser keeps it ("Name: value\r\n"): the name
/// (blanks before the colon trimmed) and the value (blanks trimmed both sides), as libhtp
/// splits a header line. A line without a colon is, as in libhtp's request parser, a
/// header with an empty name whose value is the whole line (untrimmed); ":value" has an
/// empty name too, so libhtp's table joins them all into one "" entry, and so do we.
public struct HeaderSpan: Sendable {
    public var lineStart: Int
    public var nameStart: Int
    public var nameEnd: Int
    public var valueStart: Int
    public var valueEnd: Int
    /// Where the next line starts.
    public var next: Int
    public var hasName: Bool { nameEnd > nameStart }
    /// Whether the line is a header at all (every non-empty line is one, named or not).
    public var isField: Bool { colon || valueEnd > valueStart }
    /// The line has a colon (a colonless line's value is the whole line).
    public var colon: Bool

    /// The line starting at `s`; nil at the end of the block.
    public init?(_ v: ByteView, _ s: Int) {
        let n = v.count
        guard s >= 0, s < n else { return nil }
        var e = s
        while e < n && v.u8(e) != 0x0A { e &+= 1 }
        next = e &+ 1
        var le = e
        if le > s && v.u8(le &- 1) == 0x0D { le &-= 1 }
        lineStart = s
        nameStart = s
        var colon = s
        while colon < le && v.u8(colon) != UInt8(ascii: ":") { colon &+= 1 }
        guard colon < le else {
            self.colon = false
            nameEnd = s
            valueStart = s
            valueEnd = le
            return
        }
        self.colon = true
        var ne = colon
        while ne > s, let c = v.u8(ne &- 1), c == 0x20 || c == 0x09 { ne &-= 1 }
        nameEnd = ne
        var vs = colon &+ 1
        while vs < le, let c = v.u8(vs), c == 0x20 || c == 0x09 { vs &+= 1 }
        var ve = le
        while ve > vs, let c = v.u8(ve &- 1), c == 0x20 || c == 0x09 { ve &-= 1 }
        valueStart = vs
        valueEnd = ve
    }
}
