import UTMCore
import UTMAppLayer
import UTMDetect

/// The HTTP buffers Suricata composes from a transaction's header list rather than reading
/// as one field: http.header_names, http.start, http.request_line, the single-header values
/// (http.accept, http.accept_enc, http.accept_lang, http.connection, http.content_len) and
/// the normalized http.host. Rules could use them before (the parser accepted them) but no
/// code filled them, so they never matched.
///
/// Built as libhtp and Suricata's HTTP/2 code build them:
/// - http.header_names: "\r\n" + each name + "\r\n" ... + "\r\n" (no buffer without headers).
///   HTTP/1 names as sent, each once (libhtp keeps one table entry per name, case-blind);
///   HTTP/2 every decoded name in order, pseudo-headers included.
/// - http.start (HTTP/1 only): start line + "\r\n" + "Name: value\r\n" per header + "\r\n".
/// - http.request_line: the request line as sent, without its line end (HTTP/2:
///   "METHOD path HTTP/2"); http.response_line for HTTP/2: "HTTP/2 status".
/// - a header value: trimmed; repeated headers joined by ", " (libhtp; HTTP/2 likewise), but
///   Content-Length keeps its first value (libhtp does not join it).
/// - http.host: lower case, without the port (http.host.raw keeps what was sent).
///
/// Why a scratch store: these bytes exist nowhere contiguous in the parser. The store is
/// reserved once with the engine and reset per transaction side, so nothing is allocated
/// per packet; views into it are valid until the next fill, i.e. for one `inspectApp` call.
/// Each buffer is built only when a loaded rule uses it.
extension Engine {
    /// Scratch bytes: two composed copies of a header block bounded by the HTTP parser's
    /// `maxHeaderBlock` (8 KiB by default), their added separators, joined values, the
    /// normalized URI (a line of at most `maxHeaderLine`, 4 KiB) and host. A fuller store
    /// cuts the buffer short (FieldStore truncates), never grows.
    static let httpScratchCapacity = 48 << 10
    /// Header blocks with more lines than this are not merged by name (repeated headers stay
    /// separate in http.start and http.header_names): the merge compares line pairs, so it is
    /// bounded to keep a hostile block of thousands of tiny headers cheap.
    static let httpMergeLineLimit = 128

    /// Whether to build buffer `id`: a loaded IPS rule uses it, or firewall rules are loaded
    /// (their rule set does not say which buffers it reads; they share `fillHTTP`).
    @inline(__always)
    func wants(_ id: BufferID) -> Bool { fw.rules != nil || detect?.uses(id) == true }

    // MARK: HTTP/1

    /// The composed buffers of one HTTP/1 transaction side. Views lent by `p` and the scratch
    /// store, valid until either changes.
    func fillHTTPComposed(_ b: inout InspectionBuffers, _ p: HTTPParser, _ tx: HTTPTransaction, response: Bool) {
        guard detect != nil || fw.rules != nil else { return }
        httpScratch.reset()
        // The request's host and URI go with both sides, as the parser's other request fields do.
        if tx.host.isPresent && wants(.httpHost) {
            if let host = lowerHost(p.withField(tx.host) { $0 }, stripPort: false, trailingDots: true) { b[.httpHost] = host }
        }
        if tx.uri.isPresent && wants(.httpURI) {
            if let uri = normalizedURI(p.withField(tx.uri) { $0 }) { b[.httpURI] = uri }
        }
        if wants(.httpRawHost), let raw = rawHost(p, tx) { b[.httpRawHost] = raw }
        let headersField = response ? tx.responseHeaders : tx.requestHeaders
        guard headersField.isPresent else { return }
        let block = p.withField(headersField) { $0 }
        let merge = loadSpans(block)
        if wants(.httpHeaderNames) { b[.httpHeaderNames] = composeNames(block, merge: merge) }
        if wants(.httpStart) {
            let line = p.withField(response ? tx.statusLine : requestLine(tx)) { $0 }
            if !line.isEmpty { b[.httpStart] = composeStart(line, block, merge: merge) }
        }
        if !response {
            if wants(.httpRequestLine) {
                let line = p.withField(requestLine(tx)) { $0 }
                if !line.isEmpty { b[.httpRequestLine] = line }
            }
            if wants(.httpAccept) { b[.httpAccept] = mergedValue(block, "accept", merge: merge) }
            if wants(.httpAcceptEnc) { b[.httpAcceptEnc] = mergedValue(block, "accept-encoding", merge: merge) }
            if wants(.httpAcceptLang) { b[.httpAcceptLang] = mergedValue(block, "accept-language", merge: merge) }
            if wants(.httpConnection) { b[.httpConnection] = mergedValue(block, "connection", merge: merge) }
        }
        if wants(.httpContentLen) { b[.httpContentLen] = mergedValue(block, "content-length", merge: false) }
    }

    /// The request line: the stored block up to the CRLF the parser put after it.
    func requestLine(_ tx: HTTPTransaction) -> Field {
        guard tx.requestBlock.isPresent, tx.requestHeaders.isPresent else { return .absent }
        let n = tx.requestHeaders.offset &- 2 &- tx.requestBlock.offset
        guard n > 0, n <= tx.requestBlock.length else { return .absent }
        return Field(offset: tx.requestBlock.offset, length: n)
    }

    /// Suricata's http.host.raw: the Host header as sent (port included), or the authority of
    /// an absolute-form URI when there is one (the parser's host then came from it).
    func rawHost(_ p: HTTPParser, _ tx: HTTPTransaction) -> ByteView? {
        let uri = p.withField(tx.uri) { $0 }
        let absolute = uri.u8(0).map { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "*") } ?? false
        if !absolute, tx.requestHeaders.isPresent,
           let v = p.withField(tx.requestHeaders, { Engine.headerValue($0, "host") }) {
            return v
        }
        return nil
    }

    /// Splits `block` into `httpSpans` once (the compositions below then compare names
    /// without re-reading lines). False when it has more than `httpMergeLineLimit` lines:
    /// the table then holds the first ones only and nothing is merged.
    func loadSpans(_ block: ByteView) -> Bool {
        httpSpans.removeAll(keepingCapacity: true)
        var pos = 0
        while let h = HeaderSpan(block, pos) {
            pos = h.next
            guard h.hasName else { continue }
            guard httpSpans.count < Engine.httpMergeLineLimit else { return false }
            httpSpans.append(h)
        }
        return true
    }

    /// "\r\n" + names + "\r\n" each + "\r\n"; nil for an empty block.
    func composeNames(_ block: ByteView, merge: Bool) -> ByteView? {
        let start = httpScratch.used
        _ = httpScratch.append(Engine.crlf)
        var any = false
        if merge {
            var k = 0
            while k < httpSpans.count {
                let h = httpSpans[k]
                if !seenBefore(block, k) {
                    _ = httpScratch.append(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
                    _ = httpScratch.append(Engine.crlf)
                    any = true
                }
                k &+= 1
            }
        } else {
            var pos = 0
            while let h = HeaderSpan(block, pos) {
                pos = h.next
                guard h.hasName else { continue }
                _ = httpScratch.append(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
                _ = httpScratch.append(Engine.crlf)
                any = true
            }
        }
        guard any else {
            httpScratch.rewind(to: start)
            return nil
        }
        _ = httpScratch.append(Engine.crlf)
        return scratchView(from: start)
    }

    /// Start line + "\r\n" + "Name: value\r\n" per header (repeats joined) + "\r\n".
    func composeStart(_ line: ByteView, _ block: ByteView, merge: Bool) -> ByteView? {
        let start = httpScratch.used
        _ = httpScratch.append(line)
        _ = httpScratch.append(Engine.crlf)
        var any = false
        if merge {
            var k = 0
            while k < httpSpans.count {
                let h = httpSpans[k]
                if !seenBefore(block, k) {
                    appendLine(block, h)
                    if !Engine.isContentLength(block, h) { appendLaterValues(block, k) }
                    _ = httpScratch.append(Engine.crlf)
                    any = true
                }
                k &+= 1
            }
        } else {
            var pos = 0
            while let h = HeaderSpan(block, pos) {
                pos = h.next
                guard h.hasName else { continue }
                appendLine(block, h)
                _ = httpScratch.append(Engine.crlf)
                any = true
            }
        }
        // libhtp's composition adds the blank line after the last header only.
        if any { _ = httpScratch.append(Engine.crlf) }
        return scratchView(from: start)
    }

    /// "Name: value" of one header.
    func appendLine(_ block: ByteView, _ h: HeaderSpan) {
        _ = httpScratch.append(block.slice(h.nameStart, h.nameEnd &- h.nameStart) ?? .empty)
        _ = httpScratch.append(Engine.colonSpace)
        _ = httpScratch.append(block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty)
    }

    /// The value of header `name` (lower case): the first one's, with later ones appended
    /// after ", " when `merge` (the span table is loaded); nil when absent.
    func mergedValue(_ block: ByteView, _ name: StaticString, merge: Bool) -> ByteView? {
        let want = name.byteView
        if merge {
            var k = 0
            while k < httpSpans.count {
                let h = httpSpans[k]
                if Engine.nameEquals(block, h, want) {
                    let first = block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty
                    guard hasLater(block, k) else { return first }
                    let start = httpScratch.used
                    _ = httpScratch.append(first)
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
            if h.hasName && Engine.nameEquals(block, h, want) {
                return block.slice(h.valueStart, h.valueEnd &- h.valueStart) ?? .empty
            }
        }
        return nil
    }

    /// ", " + the value of every header after span `k` with its name.
    func appendLaterValues(_ block: ByteView, _ k: Int) {
        let h = httpSpans[k]
        var j = k &+ 1
        while j < httpSpans.count {
            let o = httpSpans[j]
            if Engine.sameName(block, h, o) {
                _ = httpScratch.append(Engine.commaSpace)
                _ = httpScratch.append(block.slice(o.valueStart, o.valueEnd &- o.valueStart) ?? .empty)
            }
            j &+= 1
        }
    }

    func seenBefore(_ block: ByteView, _ k: Int) -> Bool {
        var j = 0
        while j < k {
            if Engine.sameName(block, httpSpans[j], httpSpans[k]) { return true }
            j &+= 1
        }
        return false
    }

    func hasLater(_ block: ByteView, _ k: Int) -> Bool {
        var j = k &+ 1
        while j < httpSpans.count {
            if Engine.sameName(block, httpSpans[k], httpSpans[j]) { return true }
            j &+= 1
        }
        return false
    }

    static func sameName(_ block: ByteView, _ a: HeaderSpan, _ b: HeaderSpan) -> Bool {
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
    static func nameEquals(_ block: ByteView, _ h: HeaderSpan, _ want: ByteView) -> Bool {
        let n = h.nameEnd &- h.nameStart
        guard n == want.count else { return false }
        var k = 0
        while k < n {
            guard let x = block.u8(h.nameStart &+ k), let y = want.u8(k), asciiLower(x) == y else { return false }
            k &+= 1
        }
        return true
    }

    static func isContentLength(_ block: ByteView, _ h: HeaderSpan) -> Bool {
        nameEquals(block, h, StaticString("content-length").byteView)
    }

    static let crlf = StaticString("\r\n").byteView
    static let colonSpace = StaticString(": ").byteView
    static let commaSpace = StaticString(", ").byteView

    /// The scratch bytes from `start` to the end, as a view (nil when empty).
    func scratchView(from start: Int) -> ByteView? {
        let n = httpScratch.used &- start
        guard n > 0 else { return nil }
        return httpScratch.withView(Field(offset: Int32(start), length: Int32(n))) { $0 }
    }

    /// `host` lower-cased (and, with `stripPort`, cut at its port: "Host:8080" → "host"),
    /// copied to the scratch store only when it changes.
    /// `trailingDots`: also drop dots at the end ("example.com." → "example.com"), as libhtp's
    /// hostname normalization does (Suricata's HTTP/2 one does not).
    func lowerHost(_ host: ByteView, stripPort: Bool, trailingDots: Bool = false) -> ByteView? {
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
        let start = httpScratch.used
        k = 0
        while k < end {
            _ = httpScratch.appendByte(asciiLower(cut.u8(k) ?? 0))
            k &+= 1
        }
        return scratchView(from: start)
    }

    // MARK: URI

    /// Suricata's http.uri for HTTP/1: libhtp's normalized URI without scheme and authority
    /// (an absolute-form target keeps its path on): the path %-decoded, then its dot segments
    /// removed (RFC 3986 §5.2.4); the query as sent; the fragment %-decoded. A request whose
    /// URI needs none of this lends the parser's bytes (nothing copied).
    ///
    /// Kept from libhtp's defaults: invalid %-escapes stay as sent; %2F and %5C stay encoded
    /// (decoding them would make new separators). Not done (see README): %u escapes, UTF-8
    /// best-fit mapping, backslash conversion, separator compression.
    func normalizedURI(_ uri: ByteView) -> ByteView? {
        let n = uri.count
        guard n > 0 else { return nil }
        var s = 0
        if uri.u8(0) != UInt8(ascii: "/") {
            // "scheme://authority/path": the path starts at the first slash after "://".
            guard let sep = Engine.find(uri, StaticString("://").byteView, 0) else { return uri }
            var k = sep &+ 3
            while k < n, let c = uri.u8(k), c != UInt8(ascii: "/"), c != UInt8(ascii: "?"), c != UInt8(ascii: "#") { k &+= 1 }
            s = k
        }
        var pathEnd = s
        while pathEnd < n, let c = uri.u8(pathEnd), c != UInt8(ascii: "?"), c != UInt8(ascii: "#") { pathEnd &+= 1 }
        var needs = s > 0
        var k = s
        while !needs && k < n {
            let c = uri.u8(k)
            if c == UInt8(ascii: "%") { needs = true }
            if k < pathEnd && c == UInt8(ascii: "/") && uri.u8(k &+ 1) == UInt8(ascii: ".") { needs = true }
            k &+= 1
        }
        guard needs else { return uri }
        let start = httpScratch.used
        k = s
        // A path not starting with "/" (rare): its first segment as it comes.
        while k < pathEnd, uri.u8(k) != UInt8(ascii: "/") { k = appendDecoded(uri, k, keepSeparators: true) }
        while k < pathEnd {
            k &+= 1  // the "/"
            let seg = httpScratch.used
            _ = httpScratch.appendByte(UInt8(ascii: "/"))
            while k < pathEnd, uri.u8(k) != UInt8(ascii: "/") { k = appendDecoded(uri, k, keepSeparators: true) }
            let len = httpScratch.used &- seg &- 1
            let last = k >= pathEnd
            // Read in place (no copy of the array is held across the rewind: that would
            // make the store copy its bytes).
            let dot = UInt8(ascii: ".")
            if len == 1 && httpScratch.bytes[seg &+ 1] == dot {
                httpScratch.rewind(to: seg)
                if last { _ = httpScratch.appendByte(UInt8(ascii: "/")) }
            } else if len == 2 && httpScratch.bytes[seg &+ 1] == dot && httpScratch.bytes[seg &+ 2] == dot {
                var p = seg &- 1
                while p >= start && httpScratch.bytes[p] != UInt8(ascii: "/") { p &-= 1 }
                httpScratch.rewind(to: p >= start ? p : seg)
                if last { _ = httpScratch.appendByte(UInt8(ascii: "/")) }
            }
        }
        if s == pathEnd && s > 0 { _ = httpScratch.appendByte(UInt8(ascii: "/")) }
        // Query as sent, up to the fragment; the fragment decoded.
        while k < n, uri.u8(k) != UInt8(ascii: "#") {
            _ = httpScratch.appendByte(uri.u8(k) ?? 0)
            k &+= 1
        }
        while k < n { k = appendDecoded(uri, k, keepSeparators: false) }
        return scratchView(from: start) ?? uri
    }

    /// Appends the byte at `k` of `v`, or the byte a valid "%XX" there encodes (a slash or
    /// backslash stays encoded when `keepSeparators`); returns the next position.
    func appendDecoded(_ v: ByteView, _ k: Int, keepSeparators: Bool) -> Int {
        let c = v.u8(k) ?? 0
        if c == UInt8(ascii: "%"), let h = v.u8(k &+ 1).flatMap(Engine.hexValue), let l = v.u8(k &+ 2).flatMap(Engine.hexValue) {
            let x = h << 4 | l
            if !(keepSeparators && (x == UInt8(ascii: "/") || x == UInt8(ascii: "\\"))) {
                _ = httpScratch.appendByte(x)
                return k &+ 3
            }
        }
        _ = httpScratch.appendByte(c)
        return k &+ 1
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c &- 0x30
        case 0x41...0x46: c &- 0x37
        case 0x61...0x66: c &- 0x57
        default: nil
        }
    }

    /// First position of `pattern` in `v` at or after `from`.
    static func find(_ v: ByteView, _ pattern: ByteView, _ from: Int) -> Int? {
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

    // MARK: HTTP/2

    /// The composed buffers of one HTTP/2 stream side, from its decoded header list.
    /// `hostOnly`: just the request's normalized http.host (a response is inspected with it).
    func fillHTTP2Composed(_ b: inout InspectionBuffers, _ i: Int, _ s: Int, response: Bool, hostOnly: Bool = false) {
        guard detect != nil || fw.rules != nil else { return }
        let side = response ? http2.items[i].streams[s].response : http2.items[i].streams[s].request
        if !response {
            let auth = side.authority.isPresent ? side.authority : side.host
            if auth.isPresent && wants(.httpHost) {
                let v = side.store.withView(auth) { $0 }
                if let host = lowerHost(v, stripPort: true) { b[.httpHost] = host } else { b[.httpHost] = nil }
            }
        }
        if hostOnly { return }
        if wants(.httpHeaderNames) {
            let start = httpScratch.used
            _ = httpScratch.append(Engine.crlf)
            var k = 0
            while k < side.headers.count {
                _ = side.store.withView(side.headers[k].name) { httpScratch.append($0) }
                _ = httpScratch.append(Engine.crlf)
                k &+= 1
            }
            if side.headers.isEmpty { httpScratch.rewind(to: start) } else {
                _ = httpScratch.append(Engine.crlf)
                b[.httpHeaderNames] = scratchView(from: start)
            }
        }
        if response {
            if side.status.isPresent && wants(.httpResponseLine) {
                let start = httpScratch.used
                _ = httpScratch.append(StaticString("HTTP/2 ").byteView)
                _ = side.store.withView(side.status) { httpScratch.append($0) }
                b[.httpResponseLine] = scratchView(from: start)
            }
        } else {
            if side.method.isPresent && side.path.isPresent && wants(.httpRequestLine) {
                let start = httpScratch.used
                _ = side.store.withView(side.method) { httpScratch.append($0) }
                _ = httpScratch.appendByte(0x20)
                _ = side.store.withView(side.path) { httpScratch.append($0) }
                _ = httpScratch.append(StaticString(" HTTP/2").byteView)
                b[.httpRequestLine] = scratchView(from: start)
            }
            if wants(.httpAccept) { b[.httpAccept] = http2Value(side, "accept") }
            if wants(.httpAcceptEnc) { b[.httpAcceptEnc] = http2Value(side, "accept-encoding") }
            if wants(.httpAcceptLang) { b[.httpAcceptLang] = http2Value(side, "accept-language") }
            if wants(.httpConnection) { b[.httpConnection] = http2Value(side, "connection") }
        }
        if wants(.httpContentLen) { b[.httpContentLen] = http2Value(side, "content-length") }
    }

    /// The value of header `name` (HTTP/2 names are lower case): repeats joined by ", " as
    /// Suricata's http2_frames_get_header_value joins them.
    func http2Value(_ side: HTTP2Side, _ name: StaticString) -> ByteView? {
        let want = name.byteView
        var first = -1
        var count = 0
        var k = 0
        while k < side.headers.count {
            if side.store.withView(side.headers[k].name, { $0.count == want.count && $0.starts(with: want) }) {
                if first < 0 { first = k }
                count &+= 1
            }
            k &+= 1
        }
        guard first >= 0 else { return nil }
        if count == 1 { return side.store.withView(side.headers[first].value) { $0 } }
        let start = httpScratch.used
        var n = 0
        k = first
        while k < side.headers.count {
            if side.store.withView(side.headers[k].name, { $0.count == want.count && $0.starts(with: want) }) {
                if n > 0 { _ = httpScratch.append(Engine.commaSpace) }
                _ = side.store.withView(side.headers[k].value) { httpScratch.append($0) }
                n &+= 1
            }
            k &+= 1
        }
        return scratchView(from: start)
    }
}

/// One line of an HTTP/1 header block as the parser keeps it ("Name: value\r\n"): the name
/// (blanks before the colon trimmed) and the value (blanks trimmed both sides), as libhtp
/// splits a header line. A line without a colon has no name.
struct HeaderSpan {
    var lineStart: Int
    var nameStart: Int
    var nameEnd: Int
    var valueStart: Int
    var valueEnd: Int
    /// Where the next line starts.
    var next: Int
    var hasName: Bool { nameEnd > nameStart }

    /// The line starting at `s`; nil at the end of the block.
    init?(_ v: ByteView, _ s: Int) {
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
            nameEnd = s
            valueStart = s
            valueEnd = s
            return
        }
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
