import UTMCore
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMDetect

/// Where one stream side's body piece lies in `Engine.http2Body`.
struct HTTP2BodyPiece {
    var stream: Int32
    var response: Bool
    /// Body bytes of that side before this piece.
    var offset: Int64
    var start: Int32
    var count: Int32
    /// The side's body ended with this piece (the parser's empty `isLast` chunk).
    var ended = false
}

/// HTTP/2 on the engine's side: feeds the parser, puts each stream's headers through the
/// firewall (`http2:stream` hooks) and the HTTP rules (http.uri, http.host, http.method ...
/// as for HTTP/1, so `alert http` rules match), inspects DATA as the body buffers (file_data,
/// http.response_body, http.request_body: decoded, bounded per stream side by the detect
/// engine's `bodyInspectLimit`), and logs finished streams as `http` events.
extension Engine {
    /// Body bytes kept per feed for inspection (a feed is one segment's in-order bytes; its
    /// decoded DATA may be more, the excess is not inspected), and pieces (stream sides) per feed.
    static let http2BodyCapacity = 64 << 10
    static let http2BodyPieceCapacity = 64

    func http2Data(_ ref: FlowRef, _ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints,
                   time: Timestamp) {
        http2Body.removeAll(keepingCapacity: true)
        http2BodyPieces.removeAll(keepingCapacity: true)
        let avOn = av.scanner != nil
        if detect != nil || avOn {
            let k = Int(ref.index)
            http2.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { body in
                if let d = self.detect {
                    self.fileDetectSync(d)
                    self.fileDetectHTTP2Body(i, body)
                    self.collectHTTP2Body(body)
                }
                if avOn { self.avHTTP2Body(k, i, body) }
            }
            if avOn { avSettleHTTP2(k, i, m, time: packet.timestamp, enforce: true) }
        } else {
            http2.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore)
        }
        if !http2.items[i].appEvents.isEmpty { raiseAppEvents(http2.items[i].appEvents, .http2) }
        while let (s, response) = http2.items[i].takeNewHeaders() {
            let direction: Direction = response ? .toClient : .toServer
            if fw.rules != nil && !firewallHTTP2(ref, i, s, direction) { return }
            if detect != nil { detectHTTP2(i, s, response: response) }
        }
        if detect != nil && !http2BodyPieces.isEmpty { detectHTTP2Bodies(i) }
        // File rules (EngineDetectFiles.swift): stream sides whose body ended in this feed.
        if detect != nil { fileDetectHTTP2Close(i) }
        if fw.rules != nil {
            // Streams that ended in this chunk reach their closed/complete hooks.
            var k = 0
            while k < http2.items[i].streams.count {
                let st = http2.items[i].streams[k]
                if st.isActive && st.finished && st.request.headersDone {
                    if !firewallHTTP2(ref, i, k, .toServer) || !firewallHTTP2(ref, i, k, .toClient) { return }
                }
                k += 1
            }
        }
        if detect != nil { detectHTTP2Finished(i) }
        logHTTP2(i, time: time, m)
    }

    /// Streams about to be logged and freed: any body accumulator still held for them (its end
    /// marker was not kept) is inspected and released while the stream's buffers still exist.
    func detectHTTP2Finished(_ i: Int) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        http2.items[i].readyIndices(into: &http2Ready)
        var k = 0
        while k < http2Ready.count {
            let s = http2Ready[k]
            k += 1
            let key = http2.items[i].streams[s].sequence | 0x8000_0000
            d.endStreamBody(slot: detectCursor.slot, direction: .toServer, key: key) { v in
                self.detectHTTP2Body(d, i, s, false, v)
            }
            d.endStreamBody(slot: detectCursor.slot, direction: .toClient, key: key) { v in
                self.detectHTTP2Body(d, i, s, true, v)
            }
        }
    }

    /// Writes and frees the finished streams of parser `i`.
    func logHTTP2(_ i: Int, time: Timestamp, _ m: EVEEndpoints) {
        http2.items[i].readyIndices(into: &http2Ready)
        var k = 0
        while k < http2Ready.count {
            eve.writeHTTP2(http2.items[i], stream: http2Ready[k], time: time, m)
            http2.items[i].consume(http2Ready[k])
            k += 1
        }
    }

    /// One side's headers through the HTTP rules (request: phase 1, response: phase 3).
    func detectHTTP2(_ i: Int, _ s: Int, response: Bool) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        var b = InspectionBuffers()
        fillStreamHTTP2(&b, i, s, response: response)
        let direction: Direction = response ? .toClient : .toServer
        // The flow's protocol as rules see it: `http` rules take HTTP/2, `http1` ones do not.
        let f = detectFacts(direction, app: .http2, stream: false)
        let mask: UInt8 = 1 << (response ? 3 : 1)
        detectCursor.http2Parser = i
        detectCursor.http2Stream = s
        // Each stream its own alerts, even when several streams' headers arrive in one packet.
        d.beginTransaction()
        d.inspectApp(.http, phaseMask: mask, f, buffers: b, slot: detectCursor.slot, time: detectCursor.time) { sig, alert in
            self.detectMatched(sig, alert, f)
        }
        detectCursor.http2Parser = -1
    }

    /// One piece of body lent by the parser during a feed (it must not be touched here):
    /// copied to `http2Body` up to the detect engine's per-side `bodyInspectLimit`; a piece
    /// continuing the previous one of the same side extends it.
    func collectHTTP2Body(_ body: HTTP2BodyChunk) {
        guard let d = detect else { return }
        let limit = Int64(d.config.bodyInspectLimit)
        guard body.offset < limit else { return }
        let n = http2BodyPieces.count
        if body.isLast {
            // The end of a body (BodyAccumulators.swift inspects what it held then).
            if n > 0, http2BodyPieces[n - 1].stream == Int32(body.stream), http2BodyPieces[n - 1].response == body.response {
                http2BodyPieces[n - 1].ended = true
            } else if n < Engine.http2BodyPieceCapacity {
                http2BodyPieces.append(HTTP2BodyPiece(stream: Int32(body.stream), response: body.response, offset: body.offset,
                                                      start: Int32(http2Body.count), count: 0, ended: true))
            }
            return
        }
        let room = Engine.http2BodyCapacity - http2Body.count
        let take = Int(Swift.min(Int64(body.data.count), limit &- body.offset, Int64(room)))
        guard take > 0 else { return }
        if n > 0, http2BodyPieces[n - 1].stream == Int32(body.stream), http2BodyPieces[n - 1].response == body.response,
           !http2BodyPieces[n - 1].ended, http2BodyPieces[n - 1].offset &+ Int64(http2BodyPieces[n - 1].count) == body.offset,
           Int(http2BodyPieces[n - 1].start) + Int(http2BodyPieces[n - 1].count) == http2Body.count {
            http2BodyPieces[n - 1].count &+= Int32(take)
        } else {
            guard n < Engine.http2BodyPieceCapacity else { return }
            http2BodyPieces.append(HTTP2BodyPiece(stream: Int32(body.stream), response: body.response, offset: body.offset,
                                                  start: Int32(http2Body.count), count: Int32(take)))
        }
        body.data.prefix(take).withUnsafeBytes { http2Body.append(contentsOf: $0) }
    }

    /// The body pieces of the last feed through the HTTP rules' body phases (2: request body,
    /// 4: response body), each with its stream's header buffers (a rule may test both).
    func detectHTTP2Bodies(_ i: Int) {
        guard detect != nil, detectCursor.slot >= 0 else { return }
        // The bytes are read in place for the whole loop (a view must not outlive the call).
        http2Body.withUnsafeBytes { raw in detectHTTP2Bodies(i, ByteView(raw)) }
    }

    func detectHTTP2Bodies(_ i: Int, _ all: ByteView) {
        guard let d = detect else { return }
        var k = 0
        while k < http2BodyPieces.count {
            let piece = http2BodyPieces[k]
            // Each stream's body its own alerts, even when several end in one packet.
            if k > 0 && http2BodyPieces[k - 1].stream != piece.stream { d.beginTransaction() }
            k += 1
            let s = Int(piece.stream)
            guard s < http2.items[i].streams.count, http2.items[i].streams[s].isActive else { continue }
            guard let body = piece.count == 0 ? ByteView.empty : all.slice(Int(piece.start), Int(piece.count)) else { continue }
            let direction: Direction = piece.response ? .toClient : .toServer
            // Keys the engine's per-transaction body state to this stream (HTTP/1's sequences
            // stay below 2^31).
            let key = http2.items[i].streams[s].sequence | 0x8000_0000
            // Accumulated per stream side as HTTP/1 bodies are (BodyAccumulators.swift).
            d.feedStreamBody(slot: detectCursor.slot, direction: direction, sequence: key, offset: piece.offset, body,
                             ended: piece.ended, client: detectCursor.flow.clientIP) { v in
                self.detectHTTP2Body(d, i, s, piece.response, v)
            }
        }
    }

    /// One inspection of a stream side's body, with the stream's header buffers.
    func detectHTTP2Body(_ d: DetectEngine, _ i: Int, _ s: Int, _ response: Bool, _ body: ByteView) {
        var b = InspectionBuffers()
        fillStreamHTTP2(&b, i, s, response: response)
        if response {
            b[.httpServerBody] = body
            b[.fileData] = body
        } else {
            b[.httpClientBody] = body
        }
        let direction: Direction = response ? .toClient : .toServer
        let f = detectFacts(direction, app: .http2, stream: false)
        var mask: UInt8 = response ? 1 << 4 : 1 << 2
        // A file's name rules with its first body inspection (EngineDetectFiles.swift).
        mask |= fileDetectHTTP2Open(&b, i, s, response, file: d.fileFacts)
        detectCursor.http2Parser = i
        detectCursor.http2Stream = s
        d.inspectApp(.http, phaseMask: mask, f, buffers: b, slot: detectCursor.slot, time: detectCursor.time) { sig, alert in
            self.detectMatched(sig, alert, f)
        }
        if d.fileFacts.state != .none { d.fileFacts.clear() }
        detectCursor.http2Parser = -1
    }

    /// The buffers of stream `s` as seen with its request (`response` false) or its response:
    /// the response is inspected with the request's fields too (http.uri, http.host...), as an
    /// HTTP/1 transaction is, but with its own content type and header lines.
    func fillStreamHTTP2(_ b: inout InspectionBuffers, _ i: Int, _ s: Int, response: Bool) {
        fillHTTP2(&b, i, s, response: false, headerLines: !response)
        // Composed buffers (EngineHTTPBuffers.swift): this side's, plus the request's host.
        httpCompose.reset()
        fillHTTP2Composed(&b, i, s, response: false, hostOnly: response)
        guard response else { return }
        b[.httpContentType] = nil
        fillHTTP2(&b, i, s, response: true)
        fillHTTP2Composed(&b, i, s, response: true)
    }

    /// The HTTP buffers of one stream side (views into the parser, valid until it is fed again).
    /// `headerLines`: http.header from this side (it uses the parser's one scratch store, so only
    /// one side's lines can be lent at a time).
    func fillHTTP2(_ b: inout InspectionBuffers, _ i: Int, _ s: Int, response: Bool, headerLines: Bool = true) {
        let side = response ? http2.items[i].streams[s].response : http2.items[i].streams[s].request
        func put(_ id: BufferID, _ f: Field) {
            guard f.isPresent else { return }
            http2.items[i].withField(s, response: response, f) { b[id] = $0 }
        }
        if response {
            put(.httpStatCode, side.status)
            put(.httpContentType, side.contentType)
            put(.httpServer, side.server)
            put(.httpLocation, side.location)
        } else {
            put(.httpMethod, side.method)
            put(.httpURI, side.path)
            put(.httpRawURI, side.path)
            put(.httpHost, side.authority.isPresent ? side.authority : side.host)
            put(.httpRawHost, side.authority.isPresent ? side.authority : side.host)
            put(.httpUserAgent, side.userAgent)
            put(.httpCookie, side.cookie)
            put(.httpReferer, side.referer)
            put(.httpContentType, side.contentType)
        }
        guard headerLines else { return }
        http2.items[i].buildHeaderLines(s, response: response)
        // Suricata's HTTP/2 buffers (rust/src/http2/detect.rs): http.header every header but
        // the cookie one, values trimmed; http.header.raw and the instances every one as sent.
        http2.items[i].withHeaderLines { v in
            if !v.isEmpty { b[.httpHeader] = v }
        }
        http2.items[i].withAllHeaderLines { v in
            if !v.isEmpty {
                b[.httpRawHeader] = v
                b[response ? .httpResponseHeader : .httpRequestHeader] = v
            }
        }
    }

    // MARK: Upgrade: h2c

    /// A 101 answered a request that asked for `Upgrade: h2c`: an HTTP/2 state is taken from
    /// the pool with that request as stream 1 (read before the transaction is logged and its
    /// fields freed). Nil when there was no such request or no state is left (the flow then
    /// stays an HTTP/1 tunnel, not parsed further).
    func prepareHTTP2Upgrade(_ i: Int) -> Int32? {
        let n = http.items[i].pendingCount
        var k = 0
        while k < n {
            let tx = http.items[i].ready(k)
            k += 1
            guard tx.status == 101 else { continue }
            // The server's `Upgrade: h2c` decides, as in Suricata (a session picked up after
            // the request was lost still switches); the request's asking is enough too.
            let asked = mentionsH2C(i, tx.responseHeaders) || mentionsH2C(i, tx.requestHeaders)
            guard asked, let s = acquire(.http2) else { continue }
            let h2 = Int(s)
            http.items[i].withField(tx.method) { mv in
                http.items[i].withField(tx.uri) { uv in
                    http.items[i].withField(tx.host) { hv in
                        http2.items[h2].startUpgraded(method: mv, path: uv, authority: hv)
                    }
                }
            }
            return s
        }
        return nil
    }

    /// Whether a header block of HTTP parser `i` contains `h2c` (any case).
    func mentionsH2C(_ i: Int, _ block: Field) -> Bool {
        guard block.isPresent else { return false }
        return http.items[i].withField(block) { v -> Bool in
            var p = 0
            while p + 3 <= v.count {
                if let a = v.u8(p), let b = v.u8(p + 1), let c = v.u8(p + 2),
                   asciiLower(a) == UInt8(ascii: "h") && b == UInt8(ascii: "2") && asciiLower(c) == UInt8(ascii: "c") {
                    return true
                }
                p += 1
            }
            return false
        }
    }

    /// Hands the flow from the HTTP/1 parser to HTTP/2 state `s`: the bytes after the 101 in
    /// this chunk are the server's first frames.
    func upgradeToHTTP2(_ ref: FlowRef, _ i: Int, _ s: Int32, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints,
                        time: Timestamp, app: inout AppProto, slot: inout Int32) {
        let rest = http.items[i].tunnelStart
        http.release(slot)
        app = .http2
        slot = s
        stats.appDetected[Int(AppProto.http2.rawValue)] &+= 1
        guard rest >= 0, let tail = data.suffix(from: rest), !tail.isEmpty else { return }
        var m2 = m
        m2.appProto = .http2
        var c = chunk
        c.gapBefore = false
        http2Data(ref, Int(s), tail, c, m2, time: time)
    }
}
