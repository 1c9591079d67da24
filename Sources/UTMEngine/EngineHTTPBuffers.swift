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
/// - http.header (HTTP/1, session 7): "Name: value\r\n" per header name in first-seen order,
///   repeats joined, values trimmed, Cookie (request) / Set-Cookie (response) left out, no
///   blank line at the end; http.request_header / http.response_header instances: the same
///   lines with the cookie one. http.header.raw stays the block as sent.
/// - single-header values (http.user_agent, http.cookie — Set-Cookie on a response —,
///   http.referer, http.content_type, http.server, http.location): repeats joined by ", ".
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

    /// Whether to build buffer `id`: a loaded IPS rule uses it, or firewall rules are loaded
    /// (their rule set does not say which buffers it reads; they share `fillHTTP`).
    @inline(__always)
    func wants(_ id: BufferID) -> Bool { fw.rules != nil || detect?.uses(id) == true }

    // MARK: HTTP/1

    /// The composed buffers of one HTTP/1 transaction side. Views lent by `p` and the scratch
    /// store, valid until either changes.
    func fillHTTPComposed(_ b: inout InspectionBuffers, _ p: HTTPParser, _ tx: HTTPTransaction, response: Bool) {
        guard detect != nil || fw.rules != nil else { return }
        httpCompose.reset()
        // The request's host and URI go with both sides, as the parser's other request fields do.
        if tx.host.isPresent && wants(.httpHost) {
            if let host = httpCompose.lowerHost(p.withField(tx.host) { $0 }, stripPort: false, trailingDots: true) { b[.httpHost] = host }
        }
        if tx.uri.isPresent && wants(.httpURI) {
            if let uri = httpCompose.normalizedURI(p.withField(tx.uri) { $0 }) { b[.httpURI] = uri }
        }
        if wants(.httpRawHost), let raw = rawHost(p, tx) { b[.httpRawHost] = raw }
        // Host sent twice: libhtp joins the values, so Suricata's hosts hold both (the
        // parser's field is the first one's). An absolute-form target's host wins as before.
        if tx.flags.contains(.repeatedHost) && tx.requestHeaders.isPresent && !absoluteTarget(p, tx) {
            let req = p.withField(tx.requestHeaders) { $0 }
            if wants(.httpHost), let v = httpCompose.joinedHosts(req, raw: false) { b[.httpHost] = v }
            if wants(.httpRawHost), let v = httpCompose.joinedHosts(req, raw: true) { b[.httpRawHost] = v }
        }
        let headersField = response ? tx.responseHeaders : tx.requestHeaders
        guard headersField.isPresent else { return }
        let block = p.withField(headersField) { $0 }
        // The span table is built only when a buffer read from the header table is inspected.
        let linesID: BufferID = response ? .httpResponseHeader : .httpRequestHeader
        let wantHeader = wants(.httpHeader)
        let wantLines = wants(linesID)
        guard wantHeader || wantLines || wantsHeaderTable(response) else { return }
        let merge = httpCompose.loadSpans(block)
        if !merge { stats.httpHeaderUnmerged &+= 1 }
        // First, so the buffer most rules read is the last to miss the scratch store.
        let wantStart = wants(.httpStart)
        var startDone = false
        if wantHeader || wantLines {
            // With the start line in front, http.start shares the normalized headers.
            let line = wantStart ? p.withField(response ? tx.statusLine : requestLine(tx)) { $0 } : ByteView.empty
            let c = httpCompose.composeHeaders(block, merge: merge, cookie: response ? "set-cookie" : "cookie",
                                               startLine: line)
            if c.complete {
                if wantHeader { b[.httpHeader] = c.header }
                if wantLines { b[linesID] = c.lines }
                if let start = c.start {
                    b[.httpStart] = start
                    startDone = true
                }
            } else {
                // `fillHTTP` lent the block as sent: inspected so, and counted.
                stats.httpHeaderRawFallback &+= 1
            }
        }
        // Single-header buffers: libhtp joins a repeated header's values (the parser's field
        // holds the first); a header sent once is lent as it lies in the block.
        if response {
            // Suricata's http.cookie on a response is Set-Cookie (the request's Cookie is not).
            if wants(.httpCookie) { b[.httpCookie] = httpCompose.mergedValue(block, "set-cookie", merge: merge) }
            if tx.responseContentType.isPresent && wants(.httpContentType) {
                b[.httpContentType] = httpCompose.mergedValue(block, "content-type", merge: merge)
            }
            if tx.location.isPresent && wants(.httpLocation) {
                b[.httpLocation] = httpCompose.mergedValue(block, "location", merge: merge)
            }
            if wants(.httpServer) { b[.httpServer] = httpCompose.mergedValue(block, "server", merge: merge) }
        } else {
            if tx.userAgent.isPresent && wants(.httpUserAgent) {
                b[.httpUserAgent] = httpCompose.mergedValue(block, "user-agent", merge: merge)
            }
            if tx.cookie.isPresent && wants(.httpCookie) {
                b[.httpCookie] = httpCompose.mergedValue(block, "cookie", merge: merge)
            }
            if tx.referer.isPresent && wants(.httpReferer) {
                b[.httpReferer] = httpCompose.mergedValue(block, "referer", merge: merge)
            }
            if tx.requestContentType.isPresent && wants(.httpContentType) {
                b[.httpContentType] = httpCompose.mergedValue(block, "content-type", merge: merge)
            }
        }
        if wants(.httpHeaderNames) { b[.httpHeaderNames] = httpCompose.composeNames(block, merge: merge) }
        if wantStart && !startDone {
            let line = p.withField(response ? tx.statusLine : requestLine(tx)) { $0 }
            if !line.isEmpty { b[.httpStart] = httpCompose.composeStart(line, block, merge: merge) }
        }
        if !response {
            if wants(.httpRequestLine) {
                let line = p.withField(requestLine(tx)) { $0 }
                if !line.isEmpty { b[.httpRequestLine] = line }
            }
            if wants(.httpAccept) { b[.httpAccept] = httpCompose.mergedValue(block, "accept", merge: merge) }
            if wants(.httpAcceptEnc) { b[.httpAcceptEnc] = httpCompose.mergedValue(block, "accept-encoding", merge: merge) }
            if wants(.httpAcceptLang) { b[.httpAcceptLang] = httpCompose.mergedValue(block, "accept-language", merge: merge) }
            if wants(.httpConnection) { b[.httpConnection] = httpCompose.mergedValue(block, "connection", merge: merge) }
        }
        if wants(.httpContentLen) { b[.httpContentLen] = httpCompose.mergedValue(block, "content-length", merge: false) }
    }

    /// Whether a buffer other than http.header / the header instances that is read from the
    /// header table is inspected (`fillHTTPComposed` then loads the span table).
    func wantsHeaderTable(_ response: Bool) -> Bool {
        if wants(.httpHeaderNames) || wants(.httpStart) || wants(.httpContentLen)
            || wants(.httpCookie) || wants(.httpContentType) { return true }
        if response { return wants(.httpLocation) || wants(.httpServer) }
        return wants(.httpRequestLine) || wants(.httpAccept) || wants(.httpAcceptEnc) || wants(.httpAcceptLang)
            || wants(.httpConnection) || wants(.httpUserAgent) || wants(.httpReferer)
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
        if !absoluteTarget(p, tx), tx.requestHeaders.isPresent,
           let v = p.withField(tx.requestHeaders, { Engine.headerValue($0, "host") }) {
            return v
        }
        return nil
    }

    /// Whether the request target is in absolute form (its host is the request's host).
    func absoluteTarget(_ p: HTTPParser, _ tx: HTTPTransaction) -> Bool {
        let uri = p.withField(tx.uri) { $0 }
        return uri.u8(0).map { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "*") } ?? false
    }

    // MARK: HTTP/2

    /// The composed buffers of one HTTP/2 stream side, from its decoded header list.
    /// `hostOnly`: just the request's normalized http.host (a response is inspected with it).
    func fillHTTP2Composed(_ b: inout InspectionBuffers, _ i: Int, _ s: Int, response: Bool, hostOnly: Bool = false) {
        guard detect != nil || fw.rules != nil else { return }
        let side = response ? http2.items[i].streams[s].response : http2.items[i].streams[s].request
        if !response {
            // Suricata's hosts come from :authority only; a request without one falls back to
            // its `host` header here (Suricata then has no http.host: ours sees more).
            let hostName: StaticString = side.authority.isPresent ? ":authority" : "host"
            if wants(.httpHost) && (side.authority.isPresent || side.host.isPresent) {
                b[.httpHost] = http2Hosts(side, hostName)
            }
            // Single-header buffers: every value of the name joined by ", ", as Suricata's
            // http2_frames_get_header_value joins them (the parser's field is the last one).
            if wants(.httpRawHost) && (side.authority.isPresent || side.host.isPresent) {
                b[.httpRawHost] = http2Value(side, hostName)
            }
            if side.userAgent.isPresent && wants(.httpUserAgent) { b[.httpUserAgent] = http2Value(side, "user-agent") }
            if side.referer.isPresent && wants(.httpReferer) { b[.httpReferer] = http2Value(side, "referer") }
        }
        if hostOnly { return }
        if response {
            // Suricata's http.cookie on a response is set-cookie (the request's cookie is not).
            if wants(.httpCookie) { b[.httpCookie] = http2Value(side, "set-cookie") }
            if side.server.isPresent && wants(.httpServer) { b[.httpServer] = http2Value(side, "server") }
            if side.location.isPresent && wants(.httpLocation) { b[.httpLocation] = http2Value(side, "location") }
        } else if side.cookie.isPresent && wants(.httpCookie) {
            b[.httpCookie] = http2Value(side, "cookie")
        }
        if side.contentType.isPresent && wants(.httpContentType) { b[.httpContentType] = http2Value(side, "content-type") }
        if wants(.httpHeaderNames) {
            let start = httpCompose.scratch.used
            _ = httpCompose.scratch.append(HTTPBufferComposer.crlf)
            var k = 0
            while k < side.headers.count {
                _ = side.store.withView(side.headers[k].name) { httpCompose.scratch.append($0) }
                _ = httpCompose.scratch.append(HTTPBufferComposer.crlf)
                k &+= 1
            }
            if side.headers.isEmpty { httpCompose.scratch.rewind(to: start) } else {
                _ = httpCompose.scratch.append(HTTPBufferComposer.crlf)
                b[.httpHeaderNames] = httpCompose.scratchView(from: start)
            }
        }
        if response {
            if side.status.isPresent && wants(.httpResponseLine) {
                let start = httpCompose.scratch.used
                _ = httpCompose.scratch.append(StaticString("HTTP/2 ").byteView)
                _ = side.store.withView(side.status) { httpCompose.scratch.append($0) }
                b[.httpResponseLine] = httpCompose.scratchView(from: start)
            }
        } else {
            if side.method.isPresent && side.path.isPresent && wants(.httpRequestLine) {
                let start = httpCompose.scratch.used
                _ = side.store.withView(side.method) { httpCompose.scratch.append($0) }
                _ = httpCompose.scratch.appendByte(0x20)
                _ = side.store.withView(side.path) { httpCompose.scratch.append($0) }
                _ = httpCompose.scratch.append(StaticString(" HTTP/2").byteView)
                b[.httpRequestLine] = httpCompose.scratchView(from: start)
            }
            if wants(.httpAccept) { b[.httpAccept] = http2Value(side, "accept") }
            if wants(.httpAcceptEnc) { b[.httpAcceptEnc] = http2Value(side, "accept-encoding") }
            if wants(.httpAcceptLang) { b[.httpAcceptLang] = http2Value(side, "accept-language") }
            if wants(.httpConnection) { b[.httpConnection] = http2Value(side, "connection") }
        }
        if wants(.httpContentLen) { b[.httpContentLen] = http2Value(side, "content-length") }
    }

    /// Suricata's HTTP/2 http.host: each `name` value (":authority", or "host" without one)
    /// without its user info (up to the first "@", as http2_normalize_host) and port,
    /// lower-cased; repeats joined by ", " (Suricata normalizes the joined value, which keeps
    /// only the first host when a port follows it: each is kept here, as for HTTP/1).
    func http2Hosts(_ side: HTTP2Side, _ name: StaticString) -> ByteView? {
        let want = name.byteView
        let start = httpCompose.scratch.used
        var n = 0
        var k = 0
        while k < side.headers.count {
            let h = side.headers[k]
            k &+= 1
            guard side.store.withView(h.name, { $0.count == want.count && $0.starts(with: want) }) else { continue }
            if n > 0 { _ = httpCompose.scratch.append(HTTPBufferComposer.commaSpace) }
            n &+= 1
            var v = side.store.withView(h.value) { $0 }
            // "user:pass@host:port": Suricata's http2_normalize_host drops up to the first "@".
            var at = 0
            while at < v.count, v.u8(at) != UInt8(ascii: "@") { at &+= 1 }
            if at < v.count { v = v.suffix(from: at &+ 1) ?? .empty }
            var end = v.count
            if v.u8(0) == UInt8(ascii: "[") {
                // "[v6]:port" keeps its brackets (Suricata cuts at the first colon: "[").
                var e = 0
                while e < end, v.u8(e) != UInt8(ascii: "]") { e &+= 1 }
                end = Swift.min(end, e &+ 1)
            } else {
                var e = 0
                while e < end, v.u8(e) != UInt8(ascii: ":") { e &+= 1 }
                end = e
            }
            var j = 0
            while j < end {
                _ = httpCompose.scratch.appendByte(asciiLower(v.u8(j) ?? 0))
                j &+= 1
            }
        }
        guard n > 0 else { return nil }
        // An empty host (":authority: :443") is no buffer, as before.
        return httpCompose.scratchView(from: start)
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
        let start = httpCompose.scratch.used
        var n = 0
        k = first
        while k < side.headers.count {
            if side.store.withView(side.headers[k].name, { $0.count == want.count && $0.starts(with: want) }) {
                if n > 0 { _ = httpCompose.scratch.append(HTTPBufferComposer.commaSpace) }
                _ = side.store.withView(side.headers[k].value) { httpCompose.scratch.append($0) }
                n &+= 1
            }
            k &+= 1
        }
        return httpCompose.scratchView(from: start)
    }
}
