import UTMCore
import UTMInflate

/// What one direction of the parser is waiting for.
enum HTTPSideState: UInt8 {
    case startLine, headers, bodyLength, bodyClose
    case chunkSize, chunkExt, chunkData, chunkDataEnd, trailers
    /// CONNECT or 101: the rest is not HTTP.
    case tunnel
    /// Given up on (junk, no resync, or the flow ended).
    case dead
}

/// Header names the parser acts on or keeps a field for.
enum HTTPHeaderKind: UInt8 {
    case none = 0, host, userAgent, referer, cookie, contentType, location, other
    case contentLength, transferEncoding, contentEncoding, connection
}

/// One direction's parse state. Values only, plus the head buffer reserved once.
struct HTTPSide {
    var state: HTTPSideState = .startLine
    var head: HTTPHeadBuffer
    // The line being received.
    var lineStart = 0
    var lineLen = 0
    var lineCut = false
    var lastWasCR = false
    /// After a gap: only well-formed start lines end the search, and junk is not an event.
    var resync = false
    /// Bytes looked at while waiting for a start line.
    var scanned: Int64 = 0
    var nextSeq: UInt32 = 0
    // The message being received.
    var seq: UInt32 = 0
    var inMessage = false
    var committed = false
    var a = HTTPRange.none   // method | protocol
    var b = HTTPRange.none   // uri
    var c = HTTPRange.none   // protocol | reason phrase
    var line = HTTPRange.none
    var headerStart = -1
    var host = HTTPRange.none
    var userAgent = HTTPRange.none
    var referer = HTTPRange.none
    var cookie = HTTPRange.none
    var contentType = HTTPRange.none
    var location = HTTPRange.none
    var lastHeader: HTTPHeaderKind = .none
    /// The last header line when it is one that frames or decodes the message (Content-Length,
    /// Transfer-Encoding, Content-Encoding, Connection), read only once the next line shows it
    /// is not folded: libhtp unfolds a header before reading its value, so
    /// "Content-Length:\r\n 31" frames a 31-byte body. `.none` when nothing is pending.
    var pendingKind: HTTPHeaderKind = .none
    /// Its value in `head`; a fold moves the end to the continuation's.
    var pendingValue = HTTPRange.none
    var contentLength: Int64 = -1
    var chunked = false
    var otherTransferEncoding = false
    var connectionClose = false
    /// 0 identity, 1 gzip, 2 deflate.
    var encoding: UInt8 = 0
    var status = 0
    var interim = false
    // Body framing.
    var remaining: Int64 = 0
    var chunkDigits = 0
    var extBytes = 0
    var hasBody = false
    var decoding = false
    var bodyStopped = false
    var delivered: Int64 = 0

    init(headCapacity: Int) { head = HTTPHeadBuffer(capacity: headCapacity) }

    mutating func resetLine() {
        lineStart = head.count
        lineLen = 0
        lineCut = false
        lastWasCR = false
    }

    mutating func resetMessage() {
        head.reset()
        resetLine()
        inMessage = false
        committed = false
        a = .none; b = .none; c = .none; line = .none
        headerStart = -1
        host = .none; userAgent = .none; referer = .none; cookie = .none
        contentType = .none; location = .none
        lastHeader = .none
        pendingKind = .none; pendingValue = .none
        contentLength = -1
        chunked = false; otherTransferEncoding = false; connectionClose = false
        encoding = 0
        status = 0
        interim = false
        remaining = 0; chunkDigits = 0; extBytes = 0
        hasBody = false; decoding = false; bodyStopped = false
        delivered = 0
    }
}

/// Per-transaction progress that only readiness needs.
extension HTTPTransaction {
    var requestDone: Bool {
        get { flagsInternal & 1 != 0 }
        set { flagsInternal = newValue ? flagsInternal | 1 : flagsInternal & ~1 }
    }
    var responseDone: Bool {
        get { flagsInternal & 2 != 0 }
        set { flagsInternal = newValue ? flagsInternal | 2 : flagsInternal & ~2 }
    }
}

/// Incremental HTTP/1.x parser for one flow, for inline inspection.
///
/// Why it is shaped like this: it sits on the packet path of every HTTP flow, so it owns all
/// its memory from `init` (head buffers, a field store and its compaction twin, the pending
/// transaction queue, one inflater per direction) and never allocates in `feed`. Hostile
/// input becomes flags and events, never a trap or a throw. Each direction is a byte-driven
/// state machine whose only memory of earlier bytes is its state, so any split of a stream
/// gives the same transactions and the same body bytes.
///
/// The one exception to split independence: how many transactions fit in the queue depends on
/// when the engine calls `consumeReady()`, so once more than `maxPendingTransactions` are
/// outstanding (flagged `.overflow`) results may depend on the split.
///
/// Parsers live in a pool and are `reset()` per flow; do not copy one (the inflaters are
/// shared references).
public struct HTTPParser {
    public let config: HTTPConfig
    var sides: [HTTPSide]
    var txs: [HTTPTransaction]
    var fields: FieldStore
    var spare: FieldStore
    let inflaters: [Inflater]
    /// One bit per request sequence number (mod 64): HEAD (no response body) and CONNECT.
    var headBits: UInt64 = 0
    var connectBits: UInt64 = 0
    var readyStored = 0
    var ended = false
    /// Response bytes were lost in a gap: responses may never come for pending requests.
    var responsesLost = false
    /// What happened during the last `feed` or `finish`.
    public private(set) var events: HTTPEvents = []
    /// Suricata's HTTP anomaly events (`app-layer-event:http.*`) raised during the last
    /// `feed` or `finish`: one bit OR where the parser finds the condition, read by the engine
    /// after each call (the packet that carried the bytes raised them).
    public private(set) var appEvents = AppLayerEvents()
    /// libhtp's soft field limit as Suricata configures it (9000 bytes): a start or header line
    /// longer is `request_field_too_long` / `response_field_too_long`. Our own line limit
    /// (`maxHeaderLine`, 4 KiB) is lower; a line between the two is cut here (`lineTooLong`)
    /// but is no anomaly for Suricata (long cookies are common).
    static let fieldSoftLimit = 9000
    /// The response sequence a 100 Continue was seen for (-1: none), for
    /// `100_continue_already_seen`.
    var continueSeq: Int64 = -1
    /// Where, in the bytes of the last `feed`, the direction's tunnel began (after a 101 or
    /// a CONNECT's 2xx); -1 when the feed did not reach tunnel bytes. An `Upgrade: h2c`
    /// hands those bytes to the HTTP/2 parser.
    public private(set) var tunnelStart = -1
    /// Transactions parsed but not recorded because the queue was full.
    public private(set) var droppedTransactions = 0

    public init(config: HTTPConfig = .init()) {
        self.config = config
        let line = Swift.max(64, config.maxHeaderLine)
        let block = Swift.max(line, config.maxHeaderBlock)
        // Room for a full block plus one more line, so a line past the block budget can
        // still be parsed for framing headers before it is dropped.
        let headCapacity = block &+ line &+ 8
        sides = [HTTPSide(headCapacity: headCapacity), HTTPSide(headCapacity: headCapacity)]
        txs = []
        txs.reserveCapacity(Swift.max(1, config.maxPendingTransactions))
        fields = FieldStore(capacity: Swift.max(256, config.fieldStoreCapacity))
        spare = FieldStore(capacity: Swift.max(256, config.fieldStoreCapacity))
        let limits = InflateLimits(maxOutput: config.maxBodyInspect, maxRatio: config.inflateMaxRatio)
        inflaters = [Inflater(bufferCapacity: config.inflateBufferSize, limits: limits),
                     Inflater(bufferCapacity: config.inflateBufferSize, limits: limits)]
    }

    /// Reuse for a new flow, keeping every buffer.
    public mutating func reset() {
        for d in 0 ..< 2 {
            sides[d].resetMessage()
            sides[d].state = .startLine
            sides[d].resync = false
            sides[d].scanned = 0
            sides[d].nextSeq = 0
            sides[d].seq = 0
        }
        txs.removeAll(keepingCapacity: true)
        fields.reset()
        spare.reset()
        responsesLost = false
        headBits = 0
        connectBits = 0
        readyStored = 0
        ended = false
        events = []
        appEvents = []
        continueSeq = -1
        droppedTransactions = 0
    }

    // MARK: Reading results

    /// Transactions complete (request and response done, or ended), oldest first.
    public var readyCount: Int { readyStored }
    /// Transactions held: the ready ones first, then those still in progress.
    public var pendingCount: Int { txs.count }

    /// The sequence (0-based, libhtp's transaction index) of the message being received in
    /// `direction`, or the last one: the transaction whose anomalies a feed raised, for the
    /// anomaly log's `tx_id` (a response has its request's sequence).
    public func messageSequence(_ direction: Direction) -> UInt32 { sides[direction.index].seq }

    /// The sequence of the message a feed in `direction` starts in: the one in progress, or
    /// the next. Compared with `messageSequence` after the feed, it tells whether the feed
    /// crossed a message boundary (pipelined messages in one segment), when its events cannot
    /// be given one transaction.
    public func feedStartSequence(_ direction: Direction) -> UInt32 {
        let s = sides[direction.index]
        return s.inMessage ? s.seq : s.nextSeq
    }

    /// Transaction `i` (ready ones are `0 ..< readyCount`; in-progress ones follow, which is
    /// what `HTTPBodyChunk.transaction` points at). Out of range gives an empty transaction.
    public func ready(_ i: Int) -> HTTPTransaction {
        i >= 0 && i < txs.count ? txs[i] : HTTPTransaction()
    }

    /// Lends a field's bytes; valid until `consumeReady()`, `reset()` or the next `feed`.
    public func withField<R>(_ f: Field, _ body: (ByteView) -> R) -> R {
        fields.withView(f, body)
    }

    /// The engine logged the ready transactions: forget them and compact their space.
    public mutating func consumeReady() {
        let n = Swift.min(readyStored, txs.count)
        guard n > 0 else { return }
        txs.removeFirst(n)
        readyStored = 0
        compact()
    }

    // MARK: Feeding

    /// Streams bytes of one direction, in order. Any split of the same bytes gives the same
    /// result. `gap`: bytes were lost before this chunk; the message in progress is closed as
    /// truncated and the direction resyncs at the next request/status line (or gives up after
    /// `maxResyncBytes`).
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onBody: (HTTPBodyChunk) -> Void) {
        events = []
        appEvents = []
        tunnelStart = -1
        let d = direction.index
        if gap { handleGap(d, onBody) }
        var pos = 0
        let end = data.count
        while pos < end {
            switch sides[d].state {
            case .startLine, .headers:
                pos = lineBytes(d, data, pos, onBody)
            case .bodyLength, .chunkData:
                let n = Int(Swift.max(0, Swift.min(Int64(end &- pos), sides[d].remaining)))
                if let v = data.slice(pos, n) { body(d, v, onBody) }
                pos &+= n
                sides[d].remaining &-= Int64(n)
                if sides[d].remaining <= 0 {
                    if sides[d].state == .chunkData {
                        sides[d].state = .chunkDataEnd
                    } else {
                        messageDone(d, truncated: false, onBody)
                    }
                }
            case .bodyClose:
                if let v = data.suffix(from: pos) { body(d, v, onBody) }
                pos = end
            case .chunkSize:
                pos = chunkSizeBytes(d, data, pos, onBody)
            case .chunkExt:
                if let lf = data.firstIndex(of: 10, from: pos) {
                    sides[d].extBytes &+= lf &- pos
                    pos = lf &+ 1
                    chunkSizeDone(d)
                } else {
                    sides[d].extBytes &+= end &- pos
                    pos = end
                }
                if sides[d].extBytes > config.maxHeaderLine { abortChunked(d, onBody) }
            case .chunkDataEnd:
                guard let b = data.u8(pos) else { pos = end; break }
                if b == 13 {
                    pos &+= 1
                } else if b == 10 {
                    pos &+= 1
                    sides[d].state = .chunkSize
                } else {
                    // Data longer than its size line said: read it as the next size line.
                    mark(d, .invalidChunking)
                    sides[d].state = .chunkSize
                }
            case .trailers:
                while pos < end, sides[d].state == .trailers, let b = data.u8(pos) {
                    pos &+= 1
                    if b == 10 {
                        if sides[d].extBytes == 0 { messageDone(d, truncated: false, onBody) }
                        sides[d].extBytes = 0
                    } else if b != 13 {
                        sides[d].extBytes = Swift.min(sides[d].extBytes &+ 1, Int(Int32.max))
                    }
                }
            case .tunnel, .dead:
                if sides[d].state == .tunnel && tunnelStart < 0 { tunnelStart = pos }
                pos = end
            }
        }
        updateReady()
    }

    /// The flow ended: bodies delimited by the close end here, anything else in progress is
    /// truncated, and every pending transaction becomes ready.
    public mutating func finish() {
        finish(onBody: { _ in })
    }

    /// `finish()` that also delivers the last body chunks (close-delimited bodies end here).
    public mutating func finish(onBody: (HTTPBodyChunk) -> Void) {
        events = []
        appEvents = []
        for d in 0 ..< 2 {
            switch sides[d].state {
            case .bodyClose:
                messageDone(d, truncated: false, onBody)
            case .headers, .bodyLength, .chunkSize, .chunkExt, .chunkData, .chunkDataEnd, .trailers:
                if sides[d].state == .headers { commitHead(d) }
                messageDone(d, truncated: true, onBody)
            case .startLine, .tunnel, .dead:
                break
            }
            sides[d].state = .dead
        }
        ended = true
        updateReady()
    }

    // MARK: Lines

    /// Collects bytes of the current line (cut at `maxHeaderLine`) and handles it at its LF.
    mutating func lineBytes(_ d: Int, _ data: ByteView, _ pos: Int, _ onBody: (HTTPBodyChunk) -> Void) -> Int {
        let end = data.count
        let lf = data.firstIndex(of: 10, from: pos)
        let stop = lf ?? end
        if stop > pos, let seg = data.slice(pos, stop &- pos) {
            let room = Swift.max(0, config.maxHeaderLine &- sides[d].lineLen)
            sides[d].head.append(seg.prefix(room))
            if seg.count > room { sides[d].lineCut = true }
            // Counted past what is kept, up to libhtp's soft field limit, for `*_field_too_long`.
            sides[d].lineLen = Swift.min(sides[d].lineLen &+ seg.count,
                                         Swift.max(config.maxHeaderLine, HTTPParser.fieldSoftLimit) &+ 1)
            sides[d].lastWasCR = seg.u8(seg.count &- 1) == 13
            if sides[d].state == .startLine {
                sides[d].scanned &+= Int64(seg.count)
                let limit = sides[d].resync ? config.maxResyncBytes : config.maxJunkBytes
                if sides[d].scanned > limit {
                    giveUp(d)
                    return end
                }
            }
        }
        guard let lf else { return end }
        if sides[d].state == .startLine { sides[d].scanned &+= 1 }
        let s = sides[d].lineStart
        var e = sides[d].head.count
        let cut = sides[d].lineCut
        let crlf = sides[d].lastWasCR
        if crlf && !cut && e > s && sides[d].head.u8(e &- 1) == 13 {
            e &-= 1
            sides[d].head.truncate(to: e)
        }
        let empty = sides[d].lineLen == 0 || (crlf && sides[d].lineLen == 1)
        if sides[d].lineLen > HTTPParser.fieldSoftLimit {
            appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.requestFieldTooLong : AppLayerEvents.HTTP.responseFieldTooLong)
        }
        if sides[d].state == .startLine {
            startLine(d, s, e, cut: cut, empty: empty, onBody)
        } else {
            if !crlf { mark(d, .bareLF) }
            if cut { mark(d, .lineTooLong) }
            headerLine(d, s, e, empty: empty, onBody)
        }
        sides[d].resetLine()
        return lf &+ 1
    }

    mutating func startLine(_ d: Int, _ s: Int, _ e: Int, cut: Bool, empty: Bool, _ onBody: (HTTPBodyChunk) -> Void) {
        if empty {
            // Blank lines between messages are allowed (RFC 9112 §2.2).
            sides[d].head.truncate(to: s)
            return
        }
        let strict = sides[d].resync
        if d == 0 {
            guard let r = sides[0].head.withView({ HTTPLex.requestLine($0, s, e, cut: cut, strict: strict) }) else {
                junkLine(d, s)
                return
            }
            startRequest(r, s, e, cut: cut, onBody)
        } else {
            guard let r = sides[1].head.withView({ HTTPLex.statusLine($0, s, e) }) else {
                junkLine(d, s)
                return
            }
            startResponse(r, s, e, cut: cut)
        }
    }

    mutating func junkLine(_ d: Int, _ s: Int) {
        sides[d].head.truncate(to: s)
        if !sides[d].resync { events.insert(.malformed) }
    }

    mutating func giveUp(_ d: Int) {
        sides[d].resetMessage()
        sides[d].state = .dead
        events.insert(.gaveUp)
        if !sides[d].resync { events.insert(.malformed) }
    }

    mutating func startRequest(_ r: HTTPLex.RequestLine, _ s: Int, _ e: Int, cut: Bool, _ onBody: (HTTPBodyChunk) -> Void) {
        let seq = sides[0].nextSeq
        sides[0].nextSeq &+= 1
        sides[0].seq = seq
        sides[0].inMessage = true
        sides[0].resync = false
        sides[0].scanned = 0
        sides[0].a = r.method
        sides[0].b = r.uri
        sides[0].c = r.proto
        sides[0].line = HTTPRange(start: s, end: e)
        let m = r.method
        let (isHead, isConnect) = sides[0].head.withView { v in
            (HTTPLex.equals(v, m.start, m.end, "HEAD"), HTTPLex.equals(v, m.start, m.end, "CONNECT"))
        }
        let bit: UInt64 = 1 << UInt64(seq & 63)
        headBits = isHead ? headBits | bit : headBits & ~bit
        connectBits = isConnect ? connectBits | bit : connectBits & ~bit
        if let i = createTx(seq) { txs[i].hasRequest = true }
        events.insert(.requestLine)
        if r.http09 { mark(0, .http09); appEvents.formUnion(AppLayerEvents.HTTP.requestLineMissingProtocol) }
        if r.malformed { mark(0, .malformedRequest) }
        if r.invalidProtocol { appEvents.formUnion(AppLayerEvents.HTTP.requestLineInvalid) }
        if r.methodDelimTab { appEvents.formUnion(AppLayerEvents.HTTP.methodDelimNonCompliant) }
        if r.uriDelimTab { appEvents.formUnion(AppLayerEvents.HTTP.uriDelimNonCompliant) }
        if cut { mark(0, .lineTooLong) }
        if r.http09 {
            commitHead(0)
            events.insert(.requestHeaders)
            messageDone(0, truncated: false, onBody)
            return
        }
        sides[0].head.appendCRLF()
        sides[0].headerStart = sides[0].head.count
        sides[0].state = .headers
    }

    mutating func startResponse(_ r: HTTPLex.StatusLine, _ s: Int, _ e: Int, cut: Bool) {
        let interim = r.status >= 100 && r.status < 200 && r.status != 101
        let seq = sides[1].nextSeq
        if !interim { sides[1].nextSeq &+= 1 }
        sides[1].seq = seq
        sides[1].inMessage = true
        sides[1].resync = false
        sides[1].scanned = 0
        sides[1].interim = interim
        sides[1].status = r.status
        sides[1].a = r.proto
        sides[1].c = r.message
        sides[1].line = HTTPRange(start: s, end: e)
        if let i = createTx(seq) {
            txs[i].hasResponse = true
            if interim { txs[i].flags.insert(.interimResponse) }
        }
        if r.status == 100 {
            // libhtp: a second 100 Continue for the same request.
            if continueSeq == Int64(seq) { appEvents.formUnion(AppLayerEvents.HTTP.continueAlreadySeen) }
            continueSeq = Int64(seq)
        }
        events.insert(.responseLine)
        if r.malformed { mark(1, .malformedResponse) }
        if r.invalidProtocol { appEvents.formUnion(AppLayerEvents.HTTP.responseInvalidProtocol) }
        if r.invalidStatus { appEvents.formUnion(AppLayerEvents.HTTP.responseInvalidStatus) }
        if cut { mark(1, .lineTooLong) }
        sides[1].head.appendCRLF()
        sides[1].headerStart = sides[1].head.count
        sides[1].state = .headers
    }

    /// What one header line says, read from the head buffer without touching parser state.
    struct HeaderLine {
        var kind: HTTPHeaderKind = .none
        var value = HTTPRange.none
        var invalid = false
        /// No colon (or an empty name): libhtp's `*_field_missing_colon`; else an invalid
        /// line is a name with blanks before its colon (`*_header_invalid`).
        var missingColon = false
    }

    static func readHeader(_ v: ByteView, _ s: Int, _ e: Int) -> HeaderLine {
        var h = HeaderLine()
        guard let colon = HTTPLex.find(v, UInt8(ascii: ":"), s, e), colon > s else {
            // No colon, or an empty name: kept as libhtp keeps it (a header with an empty
            // name, the whole line its value when there is no colon), so Suricata's
            // http.header holds ": line" and a rule for the line's bytes still sees them.
            h.invalid = true
            h.missingColon = true
            h.kind = .other
            return h
        }
        let nameEnd = HTTPLex.trimEnd(v, s, colon)
        if nameEnd != colon { h.invalid = true }  // "Name : value" (RFC 9112 §5.1 forbids it)
        let v0 = HTTPLex.skipWS(v, colon &+ 1, e)
        let v1 = HTTPLex.trimEnd(v, v0, e)
        h.value = HTTPRange(start: v0, end: v1)
        func named(_ lit: StaticString) -> Bool { HTTPLex.equals(v, s, nameEnd, lit) }
        if named("host") { h.kind = .host }
        else if named("user-agent") { h.kind = .userAgent }
        else if named("referer") { h.kind = .referer }
        else if named("cookie") { h.kind = .cookie }
        else if named("content-type") { h.kind = .contentType }
        else if named("location") { h.kind = .location }
        else if named("content-length") { h.kind = .contentLength }
        else if named("transfer-encoding") { h.kind = .transferEncoding }
        else if named("content-encoding") { h.kind = .contentEncoding }
        else if named("connection") { h.kind = .connection }
        else { h.kind = .other }
        return h
    }

    /// What a framing/decoding header's value (`r` in `head`, blanks around it allowed) means
    /// for the message, read without touching parser state.
    struct HeaderValue {
        var contentLength: Int64 = -1
        var chunked = false
        var nonEmpty = false
        var encoding: UInt8 = 0
        var unknownEncoding = false
        var close = false
        /// Transfer-Encoding ends in chunked but is not just "chunked" ("gzip, chunked").
        var abnormalChunked = false
    }

    static func readValue(_ v: ByteView, _ kind: HTTPHeaderKind, _ r: HTTPRange) -> HeaderValue {
        var h = HeaderValue()
        let v0 = HTTPLex.skipWS(v, r.start, r.end)
        let v1 = HTTPLex.trimEnd(v, v0, r.end)
        h.nonEmpty = v1 > v0
        switch kind {
        case .contentLength: h.contentLength = HTTPLex.contentLength(v, v0, v1) ?? -2
        case .transferEncoding:
            h.chunked = HTTPLex.endsWithChunked(v, v0, v1)
            h.abnormalChunked = h.chunked && v1 &- v0 != 7
        case .contentEncoding:
            if HTTPLex.equals(v, v0, v1, "gzip") || HTTPLex.equals(v, v0, v1, "x-gzip") {
                h.encoding = 1
            } else if HTTPLex.equals(v, v0, v1, "deflate") {
                h.encoding = 2
            } else if v1 > v0 && !HTTPLex.equals(v, v0, v1, "identity") {
                h.unknownEncoding = true
            }
        case .connection: h.close = HTTPLex.contains(v, v0, v1, "close")
        default: break
        }
        return h
    }

    /// Applies a framing/decoding header of kind `kind`, value `r` in `head`, to side `d`.
    mutating func applyHeader(_ d: Int, _ kind: HTTPHeaderKind, _ r: HTTPRange) {
        let malformed: HTTPTxFlags = d == 0 ? .malformedRequest : .malformedResponse
        let h = sides[d].head.withView { Self.readValue($0, kind, r) }
        switch kind {
        case .contentLength:
            if h.contentLength < 0 {
                mark(d, HTTPTxFlags.invalidContentLength.union(malformed))
                appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.invalidContentLengthInRequest : AppLayerEvents.HTTP.invalidContentLengthInResponse)
            } else if sides[d].contentLength >= 0 && sides[d].contentLength != h.contentLength {
                mark(d, HTTPTxFlags.duplicateContentLength.union(malformed))
                appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.duplicateContentLengthInRequest : AppLayerEvents.HTTP.duplicateContentLengthInResponse)
            } else {
                sides[d].contentLength = h.contentLength
            }
        case .transferEncoding:
            if h.chunked { sides[d].chunked = true } else if h.nonEmpty { sides[d].otherTransferEncoding = true }
            if h.abnormalChunked && d == 1 { appEvents.formUnion(AppLayerEvents.HTTP.responseAbnormalTransferEncoding) }
            if !h.chunked && h.nonEmpty {
                appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.invalidTransferEncodingInRequest : AppLayerEvents.HTTP.invalidTransferEncodingInResponse)
            }
        case .contentEncoding:
            if h.encoding != 0 { sides[d].encoding = h.encoding }
            if h.unknownEncoding { mark(d, .unknownEncoding); appEvents.formUnion(AppLayerEvents.HTTP.abnormalCEHeader) }
        case .connection:
            if h.close { sides[d].connectionClose = true }
        default:
            break
        }
    }

    /// The pending framing header (see `HTTPSide.pendingKind`) is complete: apply it.
    mutating func applyPending(_ d: Int) {
        let kind = sides[d].pendingKind
        guard kind != .none else { return }
        sides[d].pendingKind = .none
        applyHeader(d, kind, sides[d].pendingValue)
    }

    /// `blankLed`: the line is a first header line that began with blanks (see `fold`).
    mutating func headerLine(_ d: Int, _ s: Int, _ e: Int, empty: Bool, blankLed: Bool = false,
                             _ onBody: (HTTPBodyChunk) -> Void) {
        if empty {
            applyPending(d)
            sides[d].head.truncate(to: s)
            headersDone(d, onBody)
            return
        }
        let malformed: HTTPTxFlags = d == 0 ? .malformedRequest : .malformedResponse
        if let first = sides[d].head.u8(s), HTTPLex.isWS(first) {
            fold(d, s, e, onBody)
            return
        }
        // Not a continuation: the previous framing header is whole.
        applyPending(d)
        let h = sides[d].head.withView { Self.readHeader($0, s, e) }
        if h.invalid {
            mark(d, HTTPTxFlags.invalidHeader.union(malformed))
            if h.missingColon {
                appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.requestFieldMissingColon : AppLayerEvents.HTTP.responseFieldMissingColon)
            } else {
                appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.requestHeaderInvalid : AppLayerEvents.HTTP.responseHeaderInvalid)
            }
        }
        if h.kind == .none {
            sides[d].head.truncate(to: s)
            sides[d].lastHeader = .none
            return
        }
        let kept = sides[d].head.count <= config.maxHeaderBlock
        switch h.kind {
        case .contentLength where blankLed, .transferEncoding where blankLed:
            // RFC 9112 §2.2: a recipient rejects such a line or consumes it "without further
            // processing" (Python's http.server, nginx before 1.21.1); libhtp takes it as a
            // header. Framing the body by it would hide the bytes such servers read as the
            // next request (request smuggling): they are parsed as one here too. The line
            // stays in the header buffers (libhtp's view for rules) and is flagged.
            mark(d, HTTPTxFlags.ignoredFraming.union(malformed))
            events.insert(.framingIgnored)
        case .contentLength, .transferEncoding, .contentEncoding, .connection:
            if kept {
                // Read once the next line shows whether it is folded.
                sides[d].pendingKind = h.kind
                sides[d].pendingValue = h.value
            } else {
                // Framing headers count even when the line is not kept (nothing can fold
                // onto a dropped line).
                applyHeader(d, h.kind, h.value)
            }
        default:
            break
        }
        if !kept {
            sides[d].head.truncate(to: s)
            sides[d].lastHeader = .none
            mark(d, .headersTruncated)
            return
        }
        sides[d].lastHeader = h.kind
        switch h.kind {
        case .host:
            if !sides[d].host.isSet { sides[d].host = h.value } else {
                sides[d].lastHeader = .other
                if d == 0 { mark(d, .repeatedHost) }
            }
        case .userAgent: if !sides[d].userAgent.isSet { sides[d].userAgent = h.value } else { sides[d].lastHeader = .other }
        case .referer: if !sides[d].referer.isSet { sides[d].referer = h.value } else { sides[d].lastHeader = .other }
        case .cookie: if !sides[d].cookie.isSet { sides[d].cookie = h.value } else { sides[d].lastHeader = .other }
        case .contentType: if !sides[d].contentType.isSet { sides[d].contentType = h.value } else { sides[d].lastHeader = .other }
        case .location: if !sides[d].location.isSet { sides[d].location = h.value } else { sides[d].lastHeader = .other }
        default: sides[d].lastHeader = .other
        }
        sides[d].head.appendCRLF()
    }

    /// obs-fold (RFC 9112 §5.2): the continuation joins the previous header as libhtp joins
    /// it: only the line break goes, the continuation's blanks stay ("a\r\n  b" is "a  b").
    /// Why not RFC 9112's one space: Suricata's buffers hold libhtp's value, and rules are
    /// written for them; trailing blanks are trimmed from the value as on any line.
    /// A first header line that starts with blanks continues nothing: libhtp takes it,
    /// blanks cut, as a header of its own; so does this parser (it was dropped before).
    mutating func fold(_ d: Int, _ s: Int, _ e: Int, _ onBody: (HTTPBodyChunk) -> Void) {
        let malformed: HTTPTxFlags = d == 0 ? .malformedRequest : .malformedResponse
        guard sides[d].lastHeader != .none, s >= 2, sides[d].head.u8(s &- 2) == 13,
              sides[d].head.u8(s &- 1) == 10 else {
            mark(d, HTTPTxFlags.invalidHeader.union(malformed))
            appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.invalidRequestFieldFolding : AppLayerEvents.HTTP.invalidResponseFieldFolding)
            let ws = sides[d].head.withView { HTTPLex.skipWS($0, s, e) }
            if s == sides[d].headerStart && ws < e {
                sides[d].head.remove(from: s, count: ws &- s)
                headerLine(d, s, e &- (ws &- s), empty: false, blankLed: true, onBody)
                return
            }
            // Nothing to continue (blanks only, or the previous line was dropped).
            sides[d].head.truncate(to: s)
            return
        }
        mark(d, .obsFold)
        // A `let`: `extend` below captures it, and a captured `var` is boxed on the heap in
        // debug builds (an allocation per folded line).
        let lineEnd = e &- 2
        sides[d].head.remove(from: s &- 2, count: 2)
        // A folded framing header is read with its continuation (libhtp unfolds first).
        if sides[d].pendingKind != .none { sides[d].pendingValue.end = lineEnd }
        func extend(_ r: HTTPRange, _ v: ByteView) -> HTTPRange {
            HTTPRange(start: r.start, end: HTTPLex.trimEnd(v, r.start, lineEnd))
        }
        switch sides[d].lastHeader {
        case .host: sides[d].host = sides[d].head.withView { [r = sides[d].host] in extend(r, $0) }
        case .userAgent: sides[d].userAgent = sides[d].head.withView { [r = sides[d].userAgent] in extend(r, $0) }
        case .referer: sides[d].referer = sides[d].head.withView { [r = sides[d].referer] in extend(r, $0) }
        case .cookie: sides[d].cookie = sides[d].head.withView { [r = sides[d].cookie] in extend(r, $0) }
        case .contentType: sides[d].contentType = sides[d].head.withView { [r = sides[d].contentType] in extend(r, $0) }
        case .location: sides[d].location = sides[d].head.withView { [r = sides[d].location] in extend(r, $0) }
        default: break
        }
        sides[d].head.appendCRLF()
    }

    mutating func headersDone(_ d: Int, _ onBody: (HTTPBodyChunk) -> Void) {
        let seq = sides[d].seq
        let bit: UInt64 = 1 << UInt64(seq & 63)
        if d == 0 {
            events.insert(.requestHeaders)
            if !sides[0].host.isSet {
                // RFC 9112 §3.2: an HTTP/1.1 request must carry Host (libhtp's event).
                let p = sides[0].c
                if sides[0].head.withView({ HTTPLex.equals($0, p.start, p.end, "HTTP/1.1") }) {
                    appEvents.formUnion(AppLayerEvents.HTTP.missingHostHeader)
                }
            }
            commitHead(0)
            if connectBits & bit != 0 {
                messageDone(0, truncated: false, onBody)
                tunnel(0)
                return
            }
            if sides[0].chunked {
                if sides[0].contentLength >= 0 { mark(0, HTTPTxFlags.contentLengthAndTransferEncoding.union(HTTPTxFlags.malformedRequest)) }
                startBody(0, .chunkSize)
            } else if sides[0].otherTransferEncoding {
                // A request body must be chunked if it has a transfer coding (RFC 9112 §6.3).
                mark(0, .malformedRequest)
                messageDone(0, truncated: false, onBody)
            } else if sides[0].contentLength > 0 {
                startBody(0, .bodyLength)
            } else {
                messageDone(0, truncated: false, onBody)
            }
            return
        }
        events.insert(.responseHeaders)
        let status = sides[1].status
        if sides[1].interim {
            // 100 Continue and friends: the final response follows for the same request.
            sides[1].resetMessage()
            sides[1].state = .startLine
            return
        }
        commitHead(1)
        if status == 101 || (connectBits & bit != 0 && status >= 200 && status < 300) {
            messageDone(1, truncated: false, onBody)
            tunnel(1)
            tunnel(0)
            return
        }
        if headBits & bit != 0 || status == 204 || status == 304 || (status >= 100 && status < 200) {
            messageDone(1, truncated: false, onBody)
        } else if sides[1].chunked {
            let p = sides[1].a
            if sides[1].head.withView({ HTTPLex.equals($0, p.start, p.end, "HTTP/1.0") }) {
                appEvents.formUnion(AppLayerEvents.HTTP.responseChunkedOldProto)
            }
            if sides[1].contentLength >= 0 { mark(1, HTTPTxFlags.contentLengthAndTransferEncoding.union(HTTPTxFlags.malformedResponse)) }
            startBody(1, .chunkSize)
        } else if sides[1].otherTransferEncoding {
            startBody(1, .bodyClose)
        } else if sides[1].contentLength > 0 {
            startBody(1, .bodyLength)
        } else if sides[1].contentLength == 0 {
            messageDone(1, truncated: false, onBody)
        } else {
            startBody(1, .bodyClose)
        }
    }

    mutating func tunnel(_ d: Int) {
        if let i = index(of: sides[d].seq) { txs[i].flags.insert(.tunnel) }
        sides[d].resetMessage()
        sides[d].state = .tunnel
        events.insert(.tunnel)
    }

    // MARK: Storing fields

    static func store(_ head: HTTPHeadBuffer, _ fields: inout FieldStore) -> Field {
        head.withView { fields.append($0) }
    }

    /// Copies the message's start line and headers into the store and points the
    /// transaction's fields at them. Once per message.
    mutating func commitHead(_ d: Int) {
        guard !sides[d].committed else { return }
        sides[d].committed = true
        guard let i = index(of: sides[d].seq) else { return }
        let stored = Self.store(sides[d].head, &fields)
        let total = sides[d].head.count
        var t = txs[i]
        if Int(stored.length) < total { t.flags.insert(.fieldsTruncated) }
        let base = stored.offset
        let len = Int(stored.length)
        func map(_ r: HTTPRange) -> Field {
            guard r.isSet, stored.isPresent, r.start < len || (r.start == len && r.end == r.start) else { return .absent }
            let e = Swift.min(r.end, len)
            return Field(offset: base &+ Int32(truncatingIfNeeded: r.start),
                         length: Int32(truncatingIfNeeded: e &- r.start))
        }
        let side = d
        let headers = sides[side].headerStart >= 0 ? HTTPRange(start: sides[side].headerStart, end: total) : HTTPRange.none
        if d == 0 {
            t.requestBlock = stored
            t.method = map(sides[0].a)
            t.uri = map(sides[0].b)
            t.protocolName = map(sides[0].c)
            t.userAgent = map(sides[0].userAgent)
            t.referer = map(sides[0].referer)
            t.cookie = map(sides[0].cookie)
            t.requestContentType = map(sides[0].contentType)
            t.requestHeaders = map(headers)
            let uri = sides[0].b
            let hostHeader = sides[0].host
            let (hr, port) = sides[0].head.withView { v -> (HTTPRange, Int?) in
                if uri.isSet, let auth = HTTPLex.absoluteAuthority(v, uri.start, uri.end) {
                    return HTTPLex.hostPort(v, auth.start, auth.end)
                }
                if hostHeader.isSet { return HTTPLex.hostPort(v, hostHeader.start, hostHeader.end) }
                return (.none, nil)
            }
            t.host = map(hr)
            t.hostPort = port
            checkAuthority(isConnect: connectBits & (1 << UInt64(sides[0].seq & 63)) != 0)
            t.requestContentLength = sides[0].chunked ? -1 : sides[0].contentLength
            if sides[0].chunked { t.flags.insert(.requestChunked) }
            if sides[0].encoding == 1 { t.flags.insert(.requestGzip) }
            if sides[0].encoding == 2 { t.flags.insert(.requestDeflate) }
        } else {
            t.responseBlock = stored
            t.responseProtocol = map(sides[1].a)
            t.statusMessage = map(sides[1].c)
            t.statusLine = map(sides[1].line)
            t.responseContentType = map(sides[1].contentType)
            t.location = map(sides[1].location)
            t.responseHeaders = map(headers)
            t.status = sides[1].status
            t.responseContentLength = sides[1].chunked ? -1 : sides[1].contentLength
            if sides[1].chunked { t.flags.insert(.responseChunked) }
            if sides[1].encoding == 1 { t.flags.insert(.responseGzip) }
            if sides[1].encoding == 2 { t.flags.insert(.responseDeflate) }
        }
        if sides[d].connectionClose { t.flags.insert(.connectionClose) }
        txs[i] = t
    }

    /// Moves the fields of transactions still pending to the front of the spare store and
    /// swaps the stores. Both were reserved in `init`, so nothing is allocated.
    mutating func compact() {
        if txs.isEmpty {
            fields.reset()
            return
        }
        var old = FieldStore(capacity: 0)
        swap(&old, &fields)
        var fresh = FieldStore(capacity: 0)
        swap(&fresh, &spare)
        fresh.reset()
        var i = 0
        while i < txs.count {
            var t = txs[i]
            if t.requestBlock.isPresent {
                let moved = old.withView(t.requestBlock) { fresh.append($0) }
                if moved.length < t.requestBlock.length { t.flags.insert(.fieldsTruncated) }
                t.shiftRequestFields(by: moved.offset &- t.requestBlock.offset)
            }
            if t.responseBlock.isPresent {
                let moved = old.withView(t.responseBlock) { fresh.append($0) }
                if moved.length < t.responseBlock.length { t.flags.insert(.fieldsTruncated) }
                t.shiftResponseFields(by: moved.offset &- t.responseBlock.offset)
            }
            txs[i] = t
            i &+= 1
        }
        old.reset()
        swap(&fields, &fresh)
        swap(&spare, &old)
    }

    // MARK: Bodies

    mutating func startBody(_ d: Int, _ state: HTTPSideState) {
        sides[d].hasBody = true
        sides[d].state = state
        sides[d].remaining = state == .bodyLength ? sides[d].contentLength : 0
        sides[d].chunkDigits = 0
        sides[d].extBytes = 0
        if config.decodeBodies && sides[d].encoding != 0 && index(of: sides[d].seq) != nil {
            inflaters[d].reset(format: .auto)
            sides[d].decoding = true
        }
    }

    /// Body bytes (already de-chunked) of direction `d`: counted, decoded, delivered.
    mutating func body(_ d: Int, _ v: ByteView, _ onBody: (HTTPBodyChunk) -> Void) {
        guard v.count > 0, let i = index(of: sides[d].seq) else { return }
        events.insert(.bodyData)
        let n = Int64(v.count)
        if d == 0 { txs[i].requestBodyBytes &+= n } else { txs[i].responseBodyBytes &+= n }
        if sides[d].bodyStopped { return }
        let dir: Direction = d == 0 ? .toServer : .toClient
        var delivered: Int64 = 0
        if sides[d].decoding {
            let st = inflaters[d].feed(v) { out in
                delivered &+= Int64(out.count)
                onBody(HTTPBodyChunk(transaction: i, sequence: txs[i].sequence, direction: dir, data: out, isLast: false))
            }
            if st == .failed {
                mark(d, .decodeError)
                appEvents.formUnion(AppLayerEvents.HTTP.gzipDecompressionFailed)
                sides[d].bodyStopped = true
            }
            if st == .limited { mark(d, .bodyInspectLimited); sides[d].bodyStopped = true }
        } else {
            let room = config.maxBodyInspect &- sides[d].delivered
            let part = v.prefix(Int(Swift.max(0, Swift.min(room, n))))
            if part.count > 0 {
                onBody(HTTPBodyChunk(transaction: i, sequence: txs[i].sequence, direction: dir, data: part, isLast: false))
                delivered = Int64(part.count)
            }
            if part.count < v.count { mark(d, .bodyInspectLimited); sides[d].bodyStopped = true }
        }
        sides[d].delivered &+= delivered
        if d == 0 { txs[i].requestBodyDelivered &+= delivered } else { txs[i].responseBodyDelivered &+= delivered }
    }

    /// Reads chunk-size digits; the size line ends at LF, or goes on as an extension.
    mutating func chunkSizeBytes(_ d: Int, _ data: ByteView, _ start: Int, _ onBody: (HTTPBodyChunk) -> Void) -> Int {
        var pos = start
        while sides[d].state == .chunkSize, let b = data.u8(pos) {
            let hex: Int64
            switch b {
            case 0x30 ... 0x39: hex = Int64(b &- 0x30)
            case 0x41 ... 0x46: hex = Int64(b &- 0x37)
            case 0x61 ... 0x66: hex = Int64(b &- 0x57)
            default: hex = -1
            }
            if hex >= 0 {
                // 15 hex digits is 2^60 bytes: more can only be an attack on the arithmetic.
                guard sides[d].chunkDigits < 15 else { abortChunked(d, onBody); return pos }
                sides[d].remaining = sides[d].remaining &* 16 &+ hex
                sides[d].chunkDigits &+= 1
                pos &+= 1
            } else if b == 13 {
                pos &+= 1
            } else if b == 10 {
                pos &+= 1
                if sides[d].chunkDigits == 0 {
                    mark(d, .invalidChunking)  // a blank line where a size belongs: skip it
                } else {
                    chunkSizeDone(d)
                }
            } else if (b == UInt8(ascii: ";") || HTTPLex.isWS(b)) && sides[d].chunkDigits > 0 {
                pos &+= 1
                sides[d].extBytes = 0
                sides[d].state = .chunkExt
            } else {
                abortChunked(d, onBody)
                return pos
            }
        }
        return pos
    }

    mutating func chunkSizeDone(_ d: Int) {
        sides[d].chunkDigits = 0
        sides[d].extBytes = 0
        if sides[d].remaining == 0 {
            sides[d].state = .trailers
        } else {
            sides[d].state = .chunkData
        }
    }

    /// Broken chunked framing: the body ends here, and the direction looks for the next
    /// message as after a gap.
    mutating func abortChunked(_ d: Int, _ onBody: (HTTPBodyChunk) -> Void) {
        mark(d, HTTPTxFlags.invalidChunking.union((d == 0 ? .malformedRequest : .malformedResponse)))
        appEvents.formUnion(d == 0 ? AppLayerEvents.HTTP.invalidRequestChunkLen : AppLayerEvents.HTTP.invalidResponseChunkLen)
        messageDone(d, truncated: true, onBody)
        sides[d].resync = true
    }

    /// The message of direction `d` ended (or was cut): last body chunk, completion, and back
    /// to waiting for a start line.
    mutating func messageDone(_ d: Int, truncated: Bool, _ onBody: (HTTPBodyChunk) -> Void) {
        let seq = sides[d].seq
        if let i = index(of: seq) {
            if sides[d].hasBody {
                if sides[d].decoding && !sides[d].bodyStopped && inflaters[d].finish() == .failed {
                    mark(d, .decodeError)
                }
                onBody(HTTPBodyChunk(transaction: i, sequence: txs[i].sequence, direction: d == 0 ? .toServer : .toClient,
                                     data: .empty, isLast: true))
            }
            if d == 0 {
                txs[i].requestComplete = !truncated
                txs[i].requestDone = true
                if truncated && sides[d].hasBody { txs[i].flags.insert(.requestBodyTruncated) }
                events.insert(.requestComplete)
            } else {
                txs[i].responseComplete = !truncated
                txs[i].responseDone = true
                if truncated && sides[d].hasBody { txs[i].flags.insert(.responseBodyTruncated) }
                if !txs[i].hasRequest {
                    // Either no request was seen for it, or it was not recorded (overflow).
                    if sides[0].nextSeq <= seq { txs[i].flags.insert(.noRequest) }
                    txs[i].requestDone = true
                }
                events.insert(.responseComplete)
            }
        }
        if d == 1 && sides[0].nextSeq <= seq {
            appEvents.formUnion(AppLayerEvents.HTTP.unableToMatchResponse)
            // A response no request was seen for: the next request answers to the next one.
            sides[0].nextSeq = seq &+ 1
        }
        sides[d].resetMessage()
        sides[d].state = .startLine
    }

    mutating func handleGap(_ d: Int, _ onBody: (HTTPBodyChunk) -> Void) {
        events.insert(.gap)
        if d == 1 { responsesLost = true }
        switch sides[d].state {
        case .tunnel, .dead:
            return
        case .startLine:
            sides[d].head.truncate(to: sides[d].lineStart)
            sides[d].resetLine()
        case .bodyClose:
            // Still body until the close, but with a hole: stop delivering it.
            mark(d, .gap)
            if sides[d].decoding { mark(d, .decodeError) }
            sides[d].bodyStopped = true
            return
        case .headers, .bodyLength, .chunkSize, .chunkExt, .chunkData, .chunkDataEnd, .trailers:
            if sides[d].state == .headers { commitHead(d) }
            mark(d, .gap)
            messageDone(d, truncated: true, onBody)
        }
        sides[d].resync = true
        sides[d].scanned = 0
    }

    // MARK: Transactions

    func index(of seq: UInt32) -> Int? {
        var i = 0
        while i < txs.count {
            if txs[i].sequence == seq { return i }
            i &+= 1
        }
        return nil
    }

    /// The transaction for `seq`, made if needed; nil when the queue is full.
    mutating func createTx(_ seq: UInt32) -> Int? {
        if let i = index(of: seq) { return i }
        guard txs.count < Swift.max(1, config.maxPendingTransactions) else {
            droppedTransactions &+= 1
            events.insert(.overflow)
            return nil
        }
        var t = HTTPTransaction()
        t.sequence = seq
        var at = txs.count
        while at > 0 && txs[at &- 1].sequence > seq && !txs[at &- 1].ready { at &-= 1 }
        // append and shift rather than `insert(_:at:)`, whose generic path (replaceSubrange
        // with CollectionOfOne) allocates in debug builds even within capacity.
        txs.append(t)
        var j = txs.count &- 1
        while j > at {
            txs[j] = txs[j &- 1]
            j &-= 1
        }
        txs[at] = t
        return at
    }

    /// A constant, not a local literal: an OptionSet array literal allocates per call in debug.
    static let malformedFlags: HTTPTxFlags = [.malformedRequest, .malformedResponse, .invalidChunking,
                                              .invalidHeader, .invalidContentLength, .duplicateContentLength,
                                              .contentLengthAndTransferEncoding, .decodeError]

    /// Sets flags on the message in progress in direction `d`.
    /// Callers pass `A.union(B)`, not `[A, B]`: an option-set array literal builds an array,
    /// a heap allocation per invalid line in debug builds.
    mutating func mark(_ d: Int, _ f: HTTPTxFlags) {
        if !f.isDisjoint(with: Self.malformedFlags) { events.insert(.malformed) }
        if let i = index(of: sides[d].seq), sides[d].inMessage || sides[d].hasBody { txs[i].flags.insert(f) }
    }

    mutating func updateReady() {
        let reqOver = sides[0].state == .dead || sides[0].state == .tunnel
        let respOver = sides[1].state == .dead || sides[1].state == .tunnel
        // After response bytes were lost in a gap, a full queue whose oldest request is
        // complete is waiting for a response that may never come: hand that request out
        // without it, one per call, so the requests that follow are recorded, not dropped.
        // (Without a gap the queue keeps its documented overflow behaviour.)
        let full = responsesLost && txs.count >= Swift.max(1, config.maxPendingTransactions)
        var i = readyStored
        while i < txs.count {
            let t = txs[i]
            let evict = full && i == readyStored && t.requestDone
            guard ended || evict || ((t.requestDone || reqOver) && (t.responseDone || respOver)) else { break }
            txs[i].ready = true
            i &+= 1
        }
        if i > readyStored { events.insert(.txReady) }
        readyStored = i
    }
}

// MARK: Authority events

extension HTTPParser {
    /// libhtp's checks of the request's authority, run once per request when its head is
    /// committed (a few bytes of the target and the Host value, no pass over the message):
    /// a port that is not a number up to 65535, an empty Host, and a Host that disagrees with
    /// an absolute-form target's host (two hosts: which one the server uses is ambiguous).
    mutating func checkAuthority(isConnect: Bool) {
        let uri = sides[0].b
        let header = sides[0].host
        let found = sides[0].head.withView { v -> AppLayerEvents in
            var e = AppLayerEvents()
            if isConnect && uri.isSet {
                // CONNECT's authority-form target is host:port.
                if HTTPLex.invalidPort(v, uri.start, uri.end) { e.formUnion(AppLayerEvents.HTTP.invalidServerPortInRequest) }
            }
            var uriHost = HTTPRange.none
            if !isConnect && uri.isSet, let auth = HTTPLex.absoluteAuthority(v, uri.start, uri.end) {
                if HTTPLex.invalidPort(v, auth.start, auth.end) { e.formUnion(AppLayerEvents.HTTP.invalidAuthorityPort) }
                uriHost = HTTPLex.hostPort(v, auth.start, auth.end).0
                if !uriHost.isSet || uriHost.end <= uriHost.start { e.formUnion(AppLayerEvents.HTTP.requestURIHostInvalid) }
            }
            if header.isSet {
                let hh = HTTPLex.hostPort(v, header.start, header.end).0
                if header.end <= header.start || HTTPLex.invalidPort(v, header.start, header.end) {
                    e.formUnion(AppLayerEvents.HTTP.requestHeaderHostInvalid)
                }
                if uriHost.isSet && hh.isSet,
                   let a = v.slice(uriHost.start, uriHost.end &- uriHost.start),
                   let b = v.slice(hh.start, hh.end &- hh.start), !a.equalsCaseInsensitive(b) {
                    e.formUnion(AppLayerEvents.HTTP.hostHeaderAmbiguous)
                }
            }
            return e
        }
        appEvents.formUnion(found)
    }
}
