import UTMCore
import UTMInflate

// HTTP/2 (RFC 9113) over cleartext — prior knowledge (the client preface) or an HTTP/1.1
// `Upgrade: h2c` — with HPACK (RFC 7541): the static table, a bounded dynamic table per
// direction and Huffman-coded strings. One stream is one transaction (request and response
// headers, data lengths), which the engine inspects with the HTTP buffers and logs as
// Suricata's `http` event with `http2`.
//
// Hostile input is the normal case: every read is bounds-checked, every buffer is reserved at
// init and never grows, sizes past a bound are cut and flagged; nothing traps. A direction
// whose framing or header compression can no longer be followed is given up (`gaveUp`).

/// Limits of one HTTP/2 parser, reserved once when the parser is made.
public struct HTTP2Config: Sendable {
    /// Streams tracked at once; a new stream past this replaces the oldest finished one, or is
    /// not recorded (`overflow`). Default 8.
    public var maxStreams = 8
    /// Bytes of one frame's payload kept for parsing (HEADERS, CONTINUATION, SETTINGS...);
    /// DATA is never kept, only counted. Default 16 KiB (the protocol's default frame size).
    public var framePayloadCapacity = 16 << 10
    /// Bytes of one header block (HEADERS plus CONTINUATIONs) kept for decoding. Default 16 KiB.
    public var headerBlockCapacity = 16 << 10
    /// Bytes of decoded header names and values kept per stream and side. Default 4 KiB.
    public var fieldCapacity = 4 << 10
    /// Headers recorded per stream and side (more are decoded, for HPACK, but not kept).
    public var maxHeaders = 32
    /// The largest HPACK dynamic table followed per direction (RFC 7541 §4.2), reserved at
    /// init: the table's bytes plus an entry ring of `capacity / 32 + 1` 16-byte slots, so
    /// 96 KiB per direction at the default 64 KiB. An encoder that sets a larger size (its peer's
    /// SETTINGS_HEADER_TABLE_SIZE allowing it) cannot be followed: evicting early would put
    /// our indices out of step with the encoder's and decode other headers than the endpoint
    /// sees, so the direction is given up (`tableTooLarge`). Default 64 KiB, what common
    /// servers and browsers announce at most.
    public var dynamicTableCapacity = 64 << 10
    /// Longest name or value decoded (Huffman output included). Default 8 KiB.
    public var maxStringLength = 8 << 10
    /// Whether DATA is delivered (`feed`'s `onBody`) for file_data and the body buffers.
    public var deliverBodies = true
    /// Body bytes delivered per stream side, decoded (HTTP/1's `maxBodyInspect`). Default 1 MiB.
    public var maxBodyInspect: Int64 = 1 << 20
    /// Streams per direction whose gzip/deflate body is decoded at once: each holds an
    /// inflater (zlib's ~7 KiB state and 32 KiB window, allocated on first use and kept). A
    /// further encoded body interleaved with them is delivered as sent (`bodyNotDecoded`).
    /// Default 2.
    public var bodyDecoders = 2
    /// Output slab of each inflater (decoded bytes come in pieces of this size). Default 8 KiB.
    public var inflateBufferSize = 8 << 10
    /// Largest decoded/encoded ratio before a body is taken for a bomb and cut. Default 100.
    public var inflateMaxRatio: Int64 = 100

    public init() {}
}

/// What happened during the last `feed`/`finish` (detection runs only when there is news).
public struct HTTP2Events: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let requestHeaders = HTTP2Events(rawValue: 1 << 0)
    public static let responseHeaders = HTTP2Events(rawValue: 1 << 1)
    /// A stream finished (both sides ended, or reset): `readyCount` grew.
    public static let streamDone = HTTP2Events(rawValue: 1 << 2)
    /// A frame longer than the receiver's maximum frame size (Suricata's `long_frame_data`
    /// for DATA, `long_frame_header` otherwise).
    public static let longFrame = HTTP2Events(rawValue: 1 << 3)
    /// A frame that breaks the protocol (bad size for its type, stream 0 where a stream is due).
    public static let invalidFrame = HTTP2Events(rawValue: 1 << 4)
    /// A header block HPACK cannot decode (bad index, integer, Huffman code, size update).
    public static let invalidHeader = HTTP2Events(rawValue: 1 << 5)
    /// Stored fields were cut (block or value past its bound, too many headers).
    public static let truncated = HTTP2Events(rawValue: 1 << 6)
    /// A stream could not be recorded: `maxStreams` were in use.
    public static let overflow = HTTP2Events(rawValue: 1 << 7)
    /// A direction stopped being parsed (bad preface, lost framing, HPACK out of sync).
    public static let gaveUp = HTTP2Events(rawValue: 1 << 8)
    public static let gap = HTTP2Events(rawValue: 1 << 9)
    /// An encoder set a dynamic table size the peer allowed but past `dynamicTableCapacity`:
    /// that direction is given up (a bounded table cannot follow its indices).
    public static let tableTooLarge = HTTP2Events(rawValue: 1 << 10)
    /// DATA was delivered (`feed`'s `onBody`).
    public static let bodyData = HTTP2Events(rawValue: 1 << 11)
    /// A gzip/deflate body got no inflater (all `bodyDecoders` busy: delivered as sent) or
    /// failed to decode (delivery stops).
    public static let bodyNotDecoded = HTTP2Events(rawValue: 1 << 12)
}

/// Body bytes of one stream side, lent during `feed` (decoded when the side's
/// content-encoding is gzip or deflate).
public struct HTTP2BodyChunk {
    /// Stream slot (`stream(_:)`), and whether this is the response body.
    public var stream: Int
    public var response: Bool
    /// Bytes of this side's body delivered before this chunk.
    public var offset: Int64
    public var data: ByteView
    /// The side's body ended (an empty chunk after its last bytes); `truncated` when by
    /// RST_STREAM or cut at `maxBodyInspect` / a decode failure.
    public var isLast = false
    public var truncated = false
}

/// One decoded header: name and value in the side's store.
public struct HTTP2Header: Sendable {
    public var name: Field
    public var value: Field
}

/// One side (request or response) of a stream.
public struct HTTP2Side: Sendable {
    public internal(set) var store: FieldStore
    /// Every header kept, pseudo-headers first, in order.
    public internal(set) var headers: [HTTP2Header]
    public internal(set) var method: Field = .absent
    public internal(set) var path: Field = .absent
    public internal(set) var authority: Field = .absent
    public internal(set) var scheme: Field = .absent
    public internal(set) var status: Field = .absent
    public internal(set) var host: Field = .absent
    public internal(set) var userAgent: Field = .absent
    public internal(set) var contentType: Field = .absent
    public internal(set) var cookie: Field = .absent
    public internal(set) var referer: Field = .absent
    public internal(set) var location: Field = .absent
    public internal(set) var server: Field = .absent
    /// The header block was decoded (HEADERS with END_HEADERS, or its last CONTINUATION).
    public internal(set) var headersDone = false
    /// END_STREAM was seen on this side.
    public internal(set) var ended = false
    /// DATA payload bytes (padding excluded).
    public internal(set) var dataBytes: Int64 = 0
    /// Some headers or bytes were not kept.
    public internal(set) var truncated = false
    /// content-encoding: 0 identity (or absent), 1 gzip/deflate (decoded), 2 another coding
    /// (br, zstd: delivered as sent).
    public internal(set) var encoding: UInt8 = 0
    /// Body bytes delivered (decoded), and whether delivery stopped (limit, decode error).
    public internal(set) var bodyDelivered: Int64 = 0
    public internal(set) var bodyStopped = false
    /// Delivery stopped at `maxBodyInspect` (or the inflater's ratio bound).
    public internal(set) var bodyLimited = false
    /// Index of the inflater decoding this side's body, -1 when none.
    var inflater = -1

    init(config: HTTP2Config) {
        store = FieldStore(capacity: config.fieldCapacity)
        headers = []
        headers.reserveCapacity(config.maxHeaders)
    }

    mutating func reset() {
        store.reset()
        headers.removeAll(keepingCapacity: true)
        method = .absent; path = .absent; authority = .absent; scheme = .absent; status = .absent
        host = .absent; userAgent = .absent; contentType = .absent; cookie = .absent
        referer = .absent; location = .absent; server = .absent
        headersDone = false; ended = false; dataBytes = 0; truncated = false
        encoding = 0; bodyDelivered = 0; bodyStopped = false; bodyLimited = false; inflater = -1
    }

    /// The status code as a number (0 when absent or not three digits).
    public var statusCode: Int {
        store.withView(status) { v in
            guard v.count == 3 else { return 0 }
            var n = 0
            for i in 0 ..< 3 {
                guard let b = v.u8(i), b >= 0x30, b <= 0x39 else { return 0 }
                n = n * 10 + Int(b - 0x30)
            }
            return n
        }
    }
}

/// One stream: a request/response exchange.
public struct HTTP2Stream: Sendable {
    public internal(set) var id: UInt32 = 0
    public internal(set) var request: HTTP2Side
    public internal(set) var response: HTTP2Side
    /// RST_STREAM was seen.
    public internal(set) var reset = false
    /// Order of creation in the flow (0, 1, 2, ...).
    public internal(set) var sequence: UInt32 = 0
    var inUse = false
    /// Finished and waiting for the engine to log it.
    var ready = false
    /// Headers decoded since the engine last looked (`takeNewHeaders`).
    var newRequestHeaders = false
    var newResponseHeaders = false

    init(config: HTTP2Config) {
        request = HTTP2Side(config: config)
        response = HTTP2Side(config: config)
    }

    public var finished: Bool { reset || (request.ended && response.ended) }
    /// The slot holds a stream of the current flow (not yet logged and freed).
    public var isActive: Bool { inUse }
}

/// The HTTP/2 parser of one flow. A plain value kept in a pool and reused across flows.
/// Not Sendable: the inflaters are classes (zlib state at a stable address), one per parser
/// slot, reused and never copied to another parser.
public struct HTTP2Parser {
    public let config: HTTP2Config
    public private(set) var events: HTTP2Events = []
    /// Suricata's HTTP/2 anomaly events (`app-layer-event:http2.*`) raised during the last
    /// `feed`: one bit OR where the condition is found.
    public private(set) var appEvents = AppLayerEvents()
    /// Every stream slot; use `stream(_:)` with the indices `readyIndices` and
    /// `takeNewHeaders` hand out.
    public private(set) var streams: [HTTP2Stream]
    var dirs: [HTTP2Direction]
    var decoders: [HPACKDecoder]
    var nextSequence: UInt32 = 0
    /// A scratch store for `buildHeaderLines` (two copies of a side's headers) and Huffman
    /// output.
    var lines: FieldStore
    /// Where http.header begins in `lines` (after the lines as sent).
    var linesRegular = 0
    var scratch: [UInt8]
    /// Frames too long for their receiver, per direction (Suricata's long-frame events).
    public private(set) var longFrames: (UInt32, UInt32) = (0, 0)
    /// `bodyDecoders` inflaters per direction (client's first), and the stream slot using
    /// each (-1: free).
    let inflaters: [Inflater]
    var inflaterOwner: [Int]

    public init(config: HTTP2Config = .init()) {
        self.config = config
        var s: [HTTP2Stream] = []
        s.reserveCapacity(config.maxStreams)
        for _ in 0 ..< max(1, config.maxStreams) { s.append(HTTP2Stream(config: config)) }
        streams = s
        dirs = [HTTP2Direction(config: config, client: true), HTTP2Direction(config: config, client: false)]
        decoders = [HPACKDecoder(capacity: config.dynamicTableCapacity),
                    HPACKDecoder(capacity: config.dynamicTableCapacity)]
        // Two copies of a side's store, each line 4 bytes longer (": " and CRLF).
        lines = FieldStore(capacity: config.fieldCapacity * 2 + config.maxHeaders * 8)
        scratch = []
        scratch.reserveCapacity(config.maxStringLength * 2)
        let limits = InflateLimits(maxOutput: config.maxBodyInspect, maxRatio: config.inflateMaxRatio)
        let n = config.deliverBodies ? 2 * Swift.max(0, config.bodyDecoders) : 0
        var inf: [Inflater] = []
        for _ in 0 ..< n { inf.append(Inflater(bufferCapacity: config.inflateBufferSize, limits: limits)) }
        inflaters = inf
        inflaterOwner = Array(repeating: -1, count: n)
    }

    public mutating func reset() {
        events = []
        appEvents = []
        for i in streams.indices { streams[i].request.reset(); streams[i].response.reset(); clearStream(i) }
        dirs[0].reset(client: true)
        dirs[1].reset(client: false)
        decoders[0].reset()
        decoders[1].reset()
        nextSequence = 0
        longFrames = (0, 0)
        for k in inflaterOwner.indices { inflaterOwner[k] = -1 }
    }

    /// For an `Upgrade: h2c` flow: the HTTP/1.1 request that asked for it is stream 1 (its
    /// response comes as HTTP/2; RFC 7540 §3.2), and the client's next bytes are the preface.
    /// The request's method, target and host are recorded as its pseudo-headers.
    public mutating func startUpgraded(method: ByteView, path: ByteView, authority: ByteView) {
        guard let i = streamIndex(1, create: true) else { return }
        if !method.isEmpty { streams[i].request.add((":method" as StaticString).byteView, method, maxHeaders: config.maxHeaders) }
        if !path.isEmpty { streams[i].request.add((":path" as StaticString).byteView, path, maxHeaders: config.maxHeaders) }
        if !authority.isEmpty {
            streams[i].request.add((":authority" as StaticString).byteView, authority, maxHeaders: config.maxHeaders)
        }
        streams[i].request.headersDone = true
        streams[i].request.ended = true
    }

    /// Whether the client side starts with the connection preface (`PRI * HTTP/2.0...`):
    /// `true` for a complete preface, `nil` while `data` is a shorter prefix of it.
    public static func probePreface(_ data: ByteView) -> Bool? {
        let n = Swift.min(data.count, preface.count)
        for i in 0 ..< n where data.u8(i) != preface[i] { return false }
        return n == preface.count ? true : nil
    }

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    // MARK: Feeding

    /// Parses in-order bytes of one direction. `gap`: bytes were lost before these; HTTP/2
    /// cannot resynchronise, so that direction is given up.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool) {
        feed(data, direction: direction, gap: gap) { _ in }
    }

    /// The same, lending each piece of body (DATA payload, decoded) to `onBody` as it comes.
    /// `onBody` must not touch this parser (it is being mutated).
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool, onBody: (HTTP2BodyChunk) -> Void) {
        events = []
        appEvents = []
        let d = direction == .toServer ? 0 : 1
        if gap && !dirs[d].gaveUp {
            events.insert(.gap)
            giveUp(d)
        }
        guard !dirs[d].gaveUp else { return }
        var pos = 0
        while pos < data.count && !dirs[d].gaveUp {
            pos = step(d, data, pos, onBody)
        }
    }

    /// The flow ended: unfinished streams that have request headers become ready.
    public mutating func finish() {
        events = []
        for i in streams.indices where streams[i].inUse && !streams[i].ready {
            if streams[i].request.headersDone || streams[i].response.headersDone {
                streams[i].ready = true
                events.insert(.streamDone)
            } else {
                clearStream(i)
            }
        }
    }

    // MARK: For the engine

    /// Indices of finished streams, oldest first, into `out` (cleared first).
    public func readyIndices(into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        for i in streams.indices where streams[i].inUse && streams[i].ready { out.append(i) }
        // Oldest first: a few elements, insertion sort (no allocation).
        var a = 1
        while a < out.count {
            var b = a
            while b > 0 && streams[out[b - 1]].sequence > streams[out[b]].sequence {
                out.swapAt(b - 1, b)
                b -= 1
            }
            a += 1
        }
    }

    /// Frees a logged stream's slot.
    public mutating func consume(_ i: Int) {
        guard i >= 0 && i < streams.count else { return }
        clearStream(i)
    }

    /// The next stream side whose headers were decoded since the engine last asked (index,
    /// response side), its mark cleared; nil when none is left.
    public mutating func takeNewHeaders() -> (stream: Int, response: Bool)? {
        for i in streams.indices where streams[i].inUse {
            if streams[i].newRequestHeaders { streams[i].newRequestHeaders = false; return (i, false) }
            if streams[i].newResponseHeaders { streams[i].newResponseHeaders = false; return (i, true) }
        }
        return nil
    }

    public func stream(_ i: Int) -> HTTP2Stream { streams[i] }

    /// Lends a field of a stream side.
    public func withField<R>(_ i: Int, response: Bool, _ f: Field, _ body: (ByteView) -> R) -> R {
        (response ? streams[i].response : streams[i].request).store.withView(f, body)
    }

    /// Builds the side's headers as HTTP/1 lines ("name: value\r\n") into a scratch store lent
    /// until the next build, twice, as Suricata's rust/src/http2/detect.rs builds them:
    /// - every decoded header in order, pseudo-headers and cookie included, values as sent:
    ///   http.header.raw and the instances of http.request_header / http.response_header
    ///   (`withAllHeaderLines`);
    /// - the same without the cookie header (`cookie` on a request, `set-cookie` on a
    ///   response: those are http.cookie's) and with each value trimmed of spaces and tabs:
    ///   http.header (`withHeaderLines`).
    /// Why pseudo-headers in http.header: Suricata's has them (":method: GET\r\n"), so a rule
    /// written against it expects them; this used to hold the regular lines only, untrimmed
    /// and with the cookie, so a cookie spelling a rule's header text matched falsely.
    public mutating func buildHeaderLines(_ i: Int, response: Bool) {
        lines.reset()
        let side = response ? streams[i].response : streams[i].request
        let cookie = response ? StaticString("set-cookie") : StaticString("cookie")
        var pass = 0
        while pass < 2 {
            var k = 0
            while k < side.headers.count {
                let h = side.headers[k]
                k += 1
                if pass == 1 && side.store.withView(h.name, { HTTP2Side.equalsLower($0, cookie) }) { continue }
                _ = side.store.withView(h.name) { lines.append($0) }
                _ = lines.appendByte(UInt8(ascii: ":"))
                _ = lines.appendByte(UInt8(ascii: " "))
                // The side is a copy of the stream's (its store shared, not copied): the view
                // stays valid while `lines` is appended to.
                let v = side.store.withView(h.value) { $0 }
                var a = 0
                var b = v.count
                if pass == 1 {
                    while a < b, let c = v.u8(a), c == 0x20 || c == 0x09 { a += 1 }
                    while b > a, let c = v.u8(b - 1), c == 0x20 || c == 0x09 { b -= 1 }
                }
                _ = lines.append(v.slice(a, b - a) ?? .empty)
                _ = lines.appendByte(0x0D)
                _ = lines.appendByte(0x0A)
            }
            if pass == 0 { linesRegular = lines.used }
            pass += 1
        }
    }

    /// http.header (see `buildHeaderLines`).
    public func withHeaderLines<R>(_ body: (ByteView) -> R) -> R {
        let start = Swift.min(linesRegular, lines.used)
        return lines.withView(Field(offset: Int32(start), length: Int32(lines.used - start)), body)
    }

    /// http.header.raw and the header instances (see `buildHeaderLines`).
    public func withAllHeaderLines<R>(_ body: (ByteView) -> R) -> R {
        lines.withView(Field(offset: 0, length: Int32(Swift.min(linesRegular, lines.used))), body)
    }

    // MARK: Framing

    /// One step of the direction's state machine from `pos`; returns the new position.
    mutating func step(_ d: Int, _ data: ByteView, _ pos: Int, _ onBody: (HTTP2BodyChunk) -> Void) -> Int {
        var p = pos
        if dirs[d].prefaceLeft > 0 {
            let done = HTTP2Parser.preface.count - dirs[d].prefaceLeft
            while p < data.count && dirs[d].prefaceLeft > 0 {
                guard data.u8(p) == HTTP2Parser.preface[done + (p - pos)] else {
                    appEvents.formUnion(AppLayerEvents.HTTP2.invalidClientMagic)
                    giveUp(d)
                    return data.count
                }
                dirs[d].prefaceLeft -= 1
                p += 1
            }
            return p
        }
        if dirs[d].headerHave < 9 {
            while p < data.count && dirs[d].headerHave < 9 {
                dirs[d].header[dirs[d].headerHave] = data.u8(p) ?? 0
                dirs[d].headerHave += 1
                p += 1
            }
            if dirs[d].headerHave == 9 { beginFrame(d, onBody) }
            return p
        }
        // Payload bytes of the current frame.
        let take = Swift.min(dirs[d].remaining, data.count - p)
        if take > 0, let piece = data.slice(p, take) {
            if dirs[d].frameType == FrameType.data {
                dataPayload(d, piece, onBody)
            } else if dirs[d].keep {
                let room = config.framePayloadCapacity - dirs[d].payload.count
                if piece.count > room { dirs[d].payloadTruncated = true }
                piece.prefix(Swift.max(0, room)).withUnsafeBytes { dirs[d].payload.append(contentsOf: $0) }
            }
            dirs[d].remaining -= take
            p += take
        }
        if dirs[d].remaining == 0 { endFrame(d, onBody) }
        return p
    }

    mutating func beginFrame(_ d: Int, _ onBody: (HTTP2BodyChunk) -> Void) {
        let h = dirs[d].header
        let length = Int(h[0]) << 16 | Int(h[1]) << 8 | Int(h[2])
        dirs[d].frameType = h[3]
        dirs[d].flags = h[4]
        dirs[d].streamID = (UInt32(h[5]) << 24 | UInt32(h[6]) << 16 | UInt32(h[7]) << 8 | UInt32(h[8])) & 0x7fff_ffff
        dirs[d].remaining = length
        dirs[d].length = length
        dirs[d].payload.removeAll(keepingCapacity: true)
        dirs[d].payloadTruncated = false
        dirs[d].dataPadLeft = -1
        // The receiver's maximum frame size (its SETTINGS_MAX_FRAME_SIZE, default 16384).
        if length > Int(dirs[1 - d].maxFrameSize) {
            events.insert(.longFrame)
            if h[3] == FrameType.data { appEvents.formUnion(AppLayerEvents.HTTP2.longFrameData) }
            if d == 0 { longFrames.0 &+= 1 } else { longFrames.1 &+= 1 }
        }
        // While a header block is open only its CONTINUATIONs may come (RFC 9113 §6.10).
        if dirs[d].blockOpen && (dirs[d].frameType != FrameType.continuation || dirs[d].streamID != dirs[d].blockStream) {
            events.insert(.invalidFrame)
            giveUp(d)
            return
        }
        dirs[d].keep = dirs[d].frameType != FrameType.data
        if length == 0 { endFrame(d, onBody) }
    }

    /// DATA payload, streamed: padding is the first byte when PADDED, the bytes after the data.
    mutating func dataPayload(_ d: Int, _ piece: ByteView, _ onBody: (HTTP2BodyChunk) -> Void) {
        var start = 0
        var end = piece.count
        if dirs[d].flags & Flag.padded != 0 {
            if dirs[d].dataPadLeft < 0, let pad = piece.u8(0) {
                // The pad length byte is part of the payload the frame length counts.
                dirs[d].dataPadLeft = Int(pad)
                start = 1
            }
            // Bytes at the end of the frame are padding.
            let afterThis = dirs[d].remaining - piece.count
            let padInPiece = Swift.max(0, dirs[d].dataPadLeft - afterThis)
            end = Swift.max(start, end - padInPiece)
        }
        let bytes = end - start
        guard bytes > 0, let i = streamIndex(dirs[d].streamID, create: false) else { return }
        if d == 0 { streams[i].request.dataBytes &+= Int64(bytes) } else { streams[i].response.dataBytes &+= Int64(bytes) }
        guard config.deliverBodies, let body = piece.slice(start, bytes) else { return }
        deliverBody(d, i, body, onBody)
    }

    /// Body bytes of stream `i`'s side `d`: decoded when gzip/deflate, bounded by
    /// `maxBodyInspect`, lent to `onBody`.
    mutating func deliverBody(_ d: Int, _ i: Int, _ v: ByteView, _ onBody: (HTTP2BodyChunk) -> Void) {
        let response = d == 1
        let (stopped, encoding, before, held) = response
            ? (streams[i].response.bodyStopped, streams[i].response.encoding, streams[i].response.bodyDelivered,
               streams[i].response.inflater)
            : (streams[i].request.bodyStopped, streams[i].request.encoding, streams[i].request.bodyDelivered,
               streams[i].request.inflater)
        if stopped { return }
        var delivered: Int64 = 0
        var stop = false, limited = false
        var k = held
        if encoding == 1 && k < 0 {
            k = claimInflater(d, i)
            if k < 0 {
                // Every decoder of this direction is busy with another stream: the body goes out
                // as sent (compressed), so the antivirus still gets the file (it opens gzip
                // itself) and a third interleaved stream is no way around it.
                events.insert(.bodyNotDecoded)
                if response { streams[i].response.encoding = 2 } else { streams[i].request.encoding = 2 }
            } else {
                inflaters[k].reset(format: .auto)
                if response { streams[i].response.inflater = k } else { streams[i].request.inflater = k }
            }
        }
        if k >= 0 {
            let st = inflaters[k].feed(v) { out in
                onBody(HTTP2BodyChunk(stream: i, response: response, offset: before &+ delivered, data: out))
                delivered &+= Int64(out.count)
            }
            if st == .failed {
                events.insert(.bodyNotDecoded)
                appEvents.formUnion(AppLayerEvents.HTTP2.failedDecompression)
                stop = true
            }
            if st == .limited { stop = true; limited = true }
        } else {
            let room = config.maxBodyInspect &- before
            let part = v.prefix(Int(Swift.max(0, Swift.min(room, Int64(v.count)))))
            if part.count > 0 {
                onBody(HTTP2BodyChunk(stream: i, response: response, offset: before, data: part))
                delivered = Int64(part.count)
            }
            if part.count < v.count { stop = true; limited = true }
        }
        if delivered > 0 { events.insert(.bodyData) }
        setBodyState(d, i, delivered: delivered, stop: stop, limited: limited)
    }

    mutating func setBodyState(_ d: Int, _ i: Int, delivered: Int64, stop: Bool, limited: Bool) {
        if d == 1 {
            streams[i].response.bodyDelivered &+= delivered
            if stop { streams[i].response.bodyStopped = true; releaseInflater(i, response: true) }
            if limited { streams[i].response.bodyLimited = true }
        } else {
            streams[i].request.bodyDelivered &+= delivered
            if stop { streams[i].request.bodyStopped = true; releaseInflater(i, response: false) }
            if limited { streams[i].request.bodyLimited = true }
        }
    }

    /// The end of side `d`'s body of stream `i` (END_STREAM, or RST_STREAM: `truncated`):
    /// an empty last chunk, once, for a side that delivered body bytes (the antivirus ends
    /// its file there).
    mutating func endBody(_ d: Int, _ i: Int, truncated: Bool, _ onBody: (HTTP2BodyChunk) -> Void) {
        let response = d == 1
        let (delivered, ended, cut) = response
            ? (streams[i].response.bodyDelivered, streams[i].response.ended, streams[i].response.bodyStopped)
            : (streams[i].request.bodyDelivered, streams[i].request.ended, streams[i].request.bodyStopped)
        guard delivered > 0, !ended, config.deliverBodies else { return }
        onBody(HTTP2BodyChunk(stream: i, response: response, offset: delivered, data: .empty, isLast: true,
                              truncated: truncated || cut))
    }

    /// A free inflater of direction `d` for stream slot `i`, or -1.
    mutating func claimInflater(_ d: Int, _ i: Int) -> Int {
        let per = inflaterOwner.count / 2
        var k = d * per
        while k < (d + 1) * per {
            if inflaterOwner[k] < 0 { inflaterOwner[k] = i; return k }
            k += 1
        }
        return -1
    }

    mutating func releaseInflater(_ i: Int, response: Bool) {
        let k = response ? streams[i].response.inflater : streams[i].request.inflater
        if k >= 0 && k < inflaterOwner.count { inflaterOwner[k] = -1 }
        if response { streams[i].response.inflater = -1 } else { streams[i].request.inflater = -1 }
    }

    mutating func endFrame(_ d: Int, _ onBody: (HTTP2BodyChunk) -> Void) {
        let type = dirs[d].frameType
        let flags = dirs[d].flags
        let sid = dirs[d].streamID
        dirs[d].headerHave = 0
        switch type {
        case FrameType.data:
            if sid == 0 { events.insert(.invalidFrame); appEvents.formUnion(AppLayerEvents.HTTP2.dataStreamIDZero); return }
            if flags & Flag.endStream != 0 { endSide(d, sid, onBody) }
        case FrameType.headers:
            if sid == 0 { events.insert(.invalidFrame); giveUp(d); return }
            var start = 0, end = dirs[d].payload.count
            if flags & Flag.padded != 0 {
                let pad = Int(dirs[d].payload.first ?? 0)
                start = 1
                end = dirs[d].payloadTruncated ? end : dirs[d].length - pad
            }
            if flags & Flag.priority != 0 { start += 5 }
            guard start <= end, end <= dirs[d].payload.count else {
                events.insert(.invalidFrame)
                appEvents.formUnion(AppLayerEvents.HTTP2.invalidFrameData)
                giveUp(d)
                return
            }
            openBlock(d, sid, endStream: flags & Flag.endStream != 0, promised: 0)
            appendBlock(d, start, end)
            if flags & Flag.endHeaders != 0 { closeBlock(d, onBody) }
        case FrameType.continuation:
            guard dirs[d].blockOpen else { events.insert(.invalidFrame); giveUp(d); return }
            appendBlock(d, 0, dirs[d].payload.count)
            if flags & Flag.endHeaders != 0 { closeBlock(d, onBody) }
        case FrameType.pushPromise:
            // The server's promised request: decoded like a request (HPACK state must follow).
            var start = 0, end = dirs[d].payload.count
            if flags & Flag.padded != 0 {
                let pad = Int(dirs[d].payload.first ?? 0)
                start = 1
                end = dirs[d].payloadTruncated ? end : dirs[d].length - pad
            }
            guard start + 4 <= end, end <= dirs[d].payload.count else {
                events.insert(.invalidFrame)
                appEvents.formUnion(AppLayerEvents.HTTP2.invalidFrameData)
                giveUp(d)
                return
            }
            let p = dirs[d].payload
            let promised = (UInt32(p[start]) << 24 | UInt32(p[start + 1]) << 16 | UInt32(p[start + 2]) << 8
                            | UInt32(p[start + 3])) & 0x7fff_ffff
            openBlock(d, sid, endStream: false, promised: promised)
            appendBlock(d, start + 4, end)
            if flags & Flag.endHeaders != 0 { closeBlock(d, onBody) }
        case FrameType.rstStream:
            if dirs[d].length != 4 || sid == 0 {
                events.insert(.invalidFrame)
                if dirs[d].length != 4 { appEvents.formUnion(AppLayerEvents.HTTP2.invalidFrameLength) }
                return
            }
            if let i = streamIndex(sid, create: false) {
                endBody(0, i, truncated: true, onBody)
                endBody(1, i, truncated: true, onBody)
                streams[i].reset = true
                releaseInflater(i, response: false)
                releaseInflater(i, response: true)
                markReady(i)
            }
        case FrameType.settings:
            if sid != 0 || dirs[d].length % 6 != 0 {
                events.insert(.invalidFrame)
                if dirs[d].length % 6 != 0 { appEvents.formUnion(AppLayerEvents.HTTP2.invalidFrameLength) }
                return
            }
            if flags & Flag.ack != 0 { return }
            settings(d)
        case FrameType.goaway, FrameType.ping, FrameType.windowUpdate, FrameType.priority:
            break
        default:
            break // unknown frame types are ignored (RFC 9113 §4.1)
        }
    }

    mutating func settings(_ d: Int) {
        let p = dirs[d].payload
        var k = 0
        while k + 6 <= p.count {
            let id = UInt16(p[k]) << 8 | UInt16(p[k + 1])
            let v = UInt32(p[k + 2]) << 24 | UInt32(p[k + 3]) << 16 | UInt32(p[k + 4]) << 8 | UInt32(p[k + 5])
            switch id {
            case 1:
                // The sender's decoder limit: what the other direction's encoder may use.
                decoders[1 - d].settingsLimit = Int(Swift.min(v, 1 << 24))
            case 5:
                if v >= 16384 && v <= 0xff_ffff { dirs[d].maxFrameSize = v } else { events.insert(.invalidFrame) }
            default:
                break
            }
            k += 6
        }
    }

    // MARK: Header blocks

    mutating func openBlock(_ d: Int, _ sid: UInt32, endStream: Bool, promised: UInt32) {
        dirs[d].block.removeAll(keepingCapacity: true)
        dirs[d].blockTruncated = dirs[d].payloadTruncated
        dirs[d].blockOpen = true
        dirs[d].blockStream = sid
        dirs[d].blockEndStream = endStream
        dirs[d].blockPromised = promised
    }

    mutating func appendBlock(_ d: Int, _ start: Int, _ end: Int) {
        if dirs[d].payloadTruncated { dirs[d].blockTruncated = true }
        let room = config.headerBlockCapacity - dirs[d].block.count
        let n = end - start
        if n > room { dirs[d].blockTruncated = true }
        let take = Swift.max(0, Swift.min(n, room))
        var k = 0
        while k < take { dirs[d].block.append(dirs[d].payload[start + k]); k += 1 }
    }

    mutating func closeBlock(_ d: Int, _ onBody: (HTTP2BodyChunk) -> Void) {
        dirs[d].blockOpen = false
        if dirs[d].blockTruncated {
            // Part of the block is lost: the dynamic table can no longer be followed.
            events.insert(.truncated)
            giveUp(d)
            return
        }
        let promised = dirs[d].blockPromised
        let sid = promised != 0 ? promised : dirs[d].blockStream
        // Requests come from the client (and PUSH_PROMISE's promised requests from the server).
        let response = d == 1 && promised == 0
        let i = streamIndex(sid, create: true)
        if let i {
            // A Bool, not a copy of the side: a copy would share its buffers and make the
            // decode below copy them.
            let done = response ? streams[i].response.headersDone : streams[i].request.headersDone
            if done {
                // Trailers (or a second block): decoded for HPACK, not kept.
                decodeBlock(d, stream: -1, response: response)
            } else {
                decodeBlock(d, stream: i, response: response)
                if response {
                    streams[i].response.headersDone = true
                    streams[i].newResponseHeaders = true
                    events.insert(.responseHeaders)
                } else {
                    streams[i].request.headersDone = true
                    streams[i].newRequestHeaders = true
                    events.insert(.requestHeaders)
                }
            }
        } else {
            decodeBlock(d, stream: -1, response: response)
        }
        if dirs[d].blockEndStream && promised == 0 { endSide(d, sid, onBody) }
    }

    /// Decodes the open block of direction `d` into stream `i`'s side (or nowhere when -1).
    mutating func decodeBlock(_ d: Int, stream i: Int, response: Bool) {
        let block = dirs[d].block
        var pos = 0
        while pos < block.count {
            let b = block[pos]
            if b & 0x80 != 0 {
                guard let index = integer(block, &pos, prefix: 7), emitIndexed(d, index, i, response) else {
                    return hpackFailed(d)
                }
            } else if b & 0xC0 == 0x40 {
                guard let index = integer(block, &pos, prefix: 6), literal(d, block, &pos, nameIndex: index, add: true, i, response) else {
                    return hpackFailed(d)
                }
            } else if b & 0xE0 == 0x20 {
                guard let size = integer(block, &pos, prefix: 5) else { return hpackFailed(d) }
                switch decoders[d].resize(size) {
                case .ok: break
                case .pastSettings: return hpackFailed(d)
                case .pastCapacity:
                    events.insert(.tableTooLarge)
                    return hpackFailed(d)
                }
            } else {
                guard let index = integer(block, &pos, prefix: 4), literal(d, block, &pos, nameIndex: index, add: false, i, response) else {
                    return hpackFailed(d)
                }
            }
        }
    }

    mutating func hpackFailed(_ d: Int) {
        events.insert(.invalidHeader)
        appEvents.formUnion(AppLayerEvents.HTTP2.invalidHeader)
        giveUp(d)
    }

    /// An HPACK integer with an N-bit prefix (RFC 7541 §5.1), bounded to 2^24.
    func integer(_ block: [UInt8], _ pos: inout Int, prefix: Int) -> Int? {
        guard pos < block.count else { return nil }
        let mask = (1 << prefix) - 1
        var value = Int(block[pos]) & mask
        pos += 1
        if value < mask { return value }
        var shift = 0
        while pos < block.count {
            let b = Int(block[pos])
            pos += 1
            value += (b & 0x7f) << shift
            if value > 1 << 24 { return nil }
            if b & 0x80 == 0 { return value }
            shift += 7
            if shift > 28 { return nil }
        }
        return nil
    }

    /// A string literal into `scratch` from `at`; returns its range there.
    mutating func string(_ block: [UInt8], _ pos: inout Int) -> Range<Int>? {
        guard pos < block.count else { return nil }
        let huffman = block[pos] & 0x80 != 0
        guard let n = integer(block, &pos, prefix: 7), n <= block.count - pos else { return nil }
        let start = scratch.count
        if huffman {
            guard HPACKHuffman.decode(block, pos, n, into: &scratch, limit: config.maxStringLength) else { return nil }
        } else {
            let keep = Swift.min(n, config.maxStringLength)
            if keep < n { events.insert(.truncated) }
            var k = 0
            while k < keep { scratch.append(block[pos + k]); k += 1 }
        }
        pos += n
        return start ..< scratch.count
    }

    mutating func emitIndexed(_ d: Int, _ index: Int, _ i: Int, _ response: Bool) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        guard index > 0, let (name, value) = copyEntry(d, index) else { return false }
        emit(i, response, name, value)
        return true
    }

    mutating func literal(_ d: Int, _ block: [UInt8], _ pos: inout Int, nameIndex: Int, add: Bool,
                          _ i: Int, _ response: Bool) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        let name: Range<Int>
        if nameIndex > 0 {
            guard let (n, _) = copyEntry(d, nameIndex) else { return false }
            name = n
            scratch.removeLast(scratch.count - n.upperBound)
        } else {
            guard let n = string(block, &pos) else { return false }
            name = n
        }
        guard let value = string(block, &pos) else { return false }
        if add { decoders[d].insert(scratch, name, value) }
        emit(i, response, name, value)
        return true
    }

    /// Copies table entry `index` (static, then dynamic) into `scratch`: name, then value.
    mutating func copyEntry(_ d: Int, _ index: Int) -> (Range<Int>, Range<Int>)? {
        if index <= HPACKStatic.names.count {
            let k = index - 1
            let n0 = scratch.count
            scratch.append(contentsOf: HPACKStatic.names[k])
            let v0 = scratch.count
            scratch.append(contentsOf: HPACKStatic.values[k])
            return (n0 ..< v0, v0 ..< scratch.count)
        }
        return decoders[d].copy(index - HPACKStatic.names.count, into: &scratch)
    }

    /// Stores one decoded header in stream `i`'s side and picks out the fields rules and EVE use.
    mutating func emit(_ i: Int, _ response: Bool, _ name: Range<Int>, _ value: Range<Int>) {
        guard i >= 0 else { return }
        scratch.withUnsafeBytes { raw in
            let all = ByteView(raw)
            guard let n = all.slice(name.lowerBound, name.count), let v = all.slice(value.lowerBound, value.count) else { return }
            if response { streams[i].response.add(n, v, maxHeaders: config.maxHeaders) } else {
                streams[i].request.add(n, v, maxHeaders: config.maxHeaders)
            }
        }
        if (response ? streams[i].response.truncated : streams[i].request.truncated) { events.insert(.truncated) }
    }

    // MARK: Streams

    mutating func streamIndex(_ id: UInt32, create: Bool) -> Int? {
        var free = -1, oldestDone = -1
        for k in streams.indices {
            if streams[k].inUse {
                if streams[k].id == id { return k }
                if streams[k].ready && (oldestDone < 0 || streams[k].sequence < streams[oldestDone].sequence) { oldestDone = k }
            } else if free < 0 {
                free = k
            }
        }
        guard create, id != 0 else { return nil }
        guard free >= 0 else {
            // Every slot is busy: the new stream is not recorded (a finished one waits for the
            // engine to log it and is never dropped for a newer one).
            _ = oldestDone
            events.insert(.overflow)
            appEvents.formUnion(AppLayerEvents.HTTP2.tooManyStreams)
            return nil
        }
        releaseInflater(free, response: false)
        releaseInflater(free, response: true)
        streams[free].request.reset()
        streams[free].response.reset()
        streams[free].id = id
        streams[free].inUse = true
        streams[free].ready = false
        streams[free].reset = false
        streams[free].newRequestHeaders = false
        streams[free].newResponseHeaders = false
        streams[free].sequence = nextSequence
        nextSequence &+= 1
        return free
    }

    mutating func endSide(_ d: Int, _ sid: UInt32, _ onBody: (HTTP2BodyChunk) -> Void) {
        guard let i = streamIndex(sid, create: false) else { return }
        endBody(d, i, truncated: false, onBody)
        if d == 0 {
            streams[i].request.ended = true
            releaseInflater(i, response: false)
        } else {
            streams[i].response.ended = true
            releaseInflater(i, response: true)
        }
        if streams[i].finished { markReady(i) }
    }

    mutating func markReady(_ i: Int) {
        guard !streams[i].ready else { return }
        streams[i].ready = true
        events.insert(.streamDone)
    }

    mutating func clearStream(_ i: Int) {
        releaseInflater(i, response: false)
        releaseInflater(i, response: true)
        streams[i].inUse = false
        streams[i].ready = false
        streams[i].id = 0
    }

    mutating func giveUp(_ d: Int) {
        guard !dirs[d].gaveUp else { return }
        dirs[d].gaveUp = true
        events.insert(.gaveUp)
    }

    /// Whether direction `d` (0 client, 1 server) stopped being parsed.
    public func gaveUp(_ direction: Direction) -> Bool { dirs[direction == .toServer ? 0 : 1].gaveUp }

    enum FrameType {
        static let data: UInt8 = 0, headers: UInt8 = 1, priority: UInt8 = 2, rstStream: UInt8 = 3
        static let settings: UInt8 = 4, pushPromise: UInt8 = 5, ping: UInt8 = 6, goaway: UInt8 = 7
        static let windowUpdate: UInt8 = 8, continuation: UInt8 = 9
    }

    enum Flag {
        static let endStream: UInt8 = 0x1, ack: UInt8 = 0x1, endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8, priority: UInt8 = 0x20
    }
}

extension HTTP2Side {
    /// content-encoding's value: 1 when it names gzip or deflate (x-gzip too) and nothing we
    /// cannot decode, 2 for another coding (br, zstd, compress), 0 for identity or empty.
    static func coding(_ v: ByteView) -> UInt8 {
        var gz = false, other = false
        var p = 0
        // Comma-separated tokens, any case.
        while p < v.count {
            while p < v.count, let b = v.u8(p), b == 0x20 || b == 0x2c || b == 0x09 { p += 1 }
            let start = p
            while p < v.count, let b = v.u8(p), b != 0x2c && b != 0x20 && b != 0x09 { p += 1 }
            guard p > start, let token = v.slice(start, p - start) else { continue }
            if equalsLower(token, "gzip") || equalsLower(token, "x-gzip") || equalsLower(token, "deflate") {
                gz = true
            } else if !equalsLower(token, "identity") {
                other = true
            }
        }
        return other ? 2 : (gz ? 1 : 0)
    }

    /// `v` equals the lowercase literal `s`, ASCII letters in any case. Only A-Z are folded:
    /// OR-ing 0x20 into every byte also folded CR (0x0D) onto '-' (0x2D) and other controls onto
    /// punctuation, so "set\rcookie" was taken for set-cookie and "x\rgzip" for x-gzip.
    static func equalsLower(_ v: ByteView, _ s: StaticString) -> Bool {
        guard v.count == s.utf8CodeUnitCount else { return false }
        let t = s.byteView
        var k = 0
        while k < v.count {
            guard let a = v.u8(k), let b = t.u8(k) else { return false }
            let lower = a >= 0x41 && a <= 0x5A ? a | 0x20 : a
            guard lower == b else { return false }
            k += 1
        }
        return true
    }

    /// Keeps one header (store and list permitting) and notes the well-known ones.
    mutating func add(_ name: ByteView, _ value: ByteView, maxHeaders: Int) {
        let before = store.truncated
        let n = store.append(name)
        let v = store.append(value)
        if store.truncated && !before { truncated = true }
        if headers.count < maxHeaders { headers.append(HTTP2Header(name: n, value: v)) } else { truncated = true }
        func named(_ s: StaticString) -> Bool { name.count == s.utf8CodeUnitCount && name.starts(with: s.byteView) }
        guard let first = name.u8(0) else { return }
        if first == UInt8(ascii: ":") {
            if named(":method") { method = v } else if named(":path") { path = v } else if named(":authority") {
                authority = v
            } else if named(":scheme") { scheme = v } else if named(":status") { status = v }
            return
        }
        switch first {
        case UInt8(ascii: "h"): if named("host") { host = v }
        case UInt8(ascii: "u"): if named("user-agent") { userAgent = v }
        case UInt8(ascii: "c"):
            if named("content-type") { contentType = v } else if named("cookie") { cookie = v } else if named("content-encoding") {
                encoding = HTTP2Side.coding(value)
            }
        case UInt8(ascii: "r"): if named("referer") { referer = v }
        case UInt8(ascii: "l"): if named("location") { location = v }
        case UInt8(ascii: "s"): if named("server") { server = v }
        default: break
        }
    }
}

/// Framing state of one direction.
struct HTTP2Direction: Sendable {
    var prefaceLeft: Int
    var header: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
    var headerHave = 0
    var frameType: UInt8 = 0
    var flags: UInt8 = 0
    var streamID: UInt32 = 0
    var length = 0
    var remaining = 0
    /// Whether the payload is kept (every type but DATA).
    var keep = false
    var payload: [UInt8]
    var payloadTruncated = false
    /// DATA padding still to come at the end of the frame (-1: pad length not read yet).
    var dataPadLeft = -1
    var block: [UInt8]
    var blockOpen = false
    var blockTruncated = false
    var blockStream: UInt32 = 0
    var blockEndStream = false
    var blockPromised: UInt32 = 0
    /// This endpoint's SETTINGS_MAX_FRAME_SIZE: what the other direction may send.
    var maxFrameSize: UInt32 = 16384
    var gaveUp = false

    init(config: HTTP2Config, client: Bool) {
        prefaceLeft = client ? HTTP2Parser.preface.count : 0
        payload = []
        payload.reserveCapacity(config.framePayloadCapacity)
        block = []
        block.reserveCapacity(config.headerBlockCapacity)
    }

    mutating func reset(client: Bool) {
        prefaceLeft = client ? HTTP2Parser.preface.count : 0
        headerHave = 0; frameType = 0; flags = 0; streamID = 0; length = 0; remaining = 0; keep = false
        payload.removeAll(keepingCapacity: true)
        payloadTruncated = false; dataPadLeft = -1
        block.removeAll(keepingCapacity: true)
        blockOpen = false; blockTruncated = false; blockStream = 0; blockEndStream = false; blockPromised = 0
        maxFrameSize = 16384
        gaveUp = false
    }
}

/// HPACK's dynamic table for one direction (RFC 7541 §2.3.2, §4): newest entry is index 1.
/// Entry bytes live in one fixed buffer in insertion order (oldest first), so eviction moves
/// the start and the buffer is compacted in place when the end is reached. An entry bigger
/// than the buffer keeps its accounted size with its bytes cut, so indices stay in step with
/// the encoder's.
struct HPACKDecoder: Sendable {
    /// 16 bytes: the ring holds one per 32 bytes of table, the smallest entry's size.
    struct Entry: Sendable {
        var start: Int32, nameLength: Int32, valueLength: Int32, size: Int32
        init(start: Int, nameLength: Int, valueLength: Int, size: Int) {
            self.start = Int32(truncatingIfNeeded: start); self.nameLength = Int32(truncatingIfNeeded: nameLength)
            self.valueLength = Int32(truncatingIfNeeded: valueLength); self.size = Int32(truncatingIfNeeded: size)
        }
    }
    enum Resize { case ok, pastSettings, pastCapacity }
    let capacity: Int
    var bytes: [UInt8]
    /// Ring of entries, oldest at `head`.
    var entries: [Entry]
    var head = 0
    var count = 0
    var size = 0
    /// The table size the encoder chose (≤ `settingsLimit`).
    var limit = 4096
    /// The receiving peer's SETTINGS_HEADER_TABLE_SIZE (default 4096).
    var settingsLimit = 4096

    init(capacity: Int) {
        self.capacity = capacity
        bytes = []
        bytes.reserveCapacity(capacity)
        let slots = capacity / 32 + 1
        entries = Array(repeating: Entry(start: 0, nameLength: 0, valueLength: 0, size: 0), count: slots)
        limit = Swift.min(4096, capacity)
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        head = 0; count = 0; size = 0
        limit = Swift.min(4096, capacity)
        settingsLimit = 4096
    }

    /// A dynamic table size update (RFC 7541 §6.3). Past the peer's SETTINGS_HEADER_TABLE_SIZE
    /// it is a decoding error (4096, the initial value, is also taken: the SETTINGS that lowered
    /// it may not be acknowledged yet). Past `capacity` the table cannot be followed exactly:
    /// refused rather than evicting early, which would shift every index after it.
    mutating func resize(_ newLimit: Int) -> Resize {
        guard newLimit <= Swift.max(settingsLimit, 4096) else { return .pastSettings }
        guard newLimit <= capacity else { return .pastCapacity }
        limit = newLimit
        evict(toFit: 0)
        return .ok
    }

    mutating func evict(toFit extra: Int) {
        while count > 0 && size + extra > limit {
            size -= Int(entries[head].size)
            head = (head + 1) % entries.count
            count -= 1
        }
        if count == 0 { bytes.removeAll(keepingCapacity: true) }
    }

    /// Adds name/value (ranges in `source`) as the newest entry.
    mutating func insert(_ source: [UInt8], _ name: Range<Int>, _ value: Range<Int>) {
        let entrySize = name.count + value.count + 32
        evict(toFit: entrySize)
        // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
        guard entrySize <= limit else { return }
        if count == entries.count { evict(toFit: limit) }
        var room = capacity - bytes.count
        let needed = name.count + value.count
        if needed > room && count > 0 {
            // Compact: move the live bytes (oldest entry first) to the front.
            let from = Int(entries[head].start)
            let live = bytes.count - from
            var k = 0
            while k < live { bytes[k] = bytes[from + k]; k += 1 }
            bytes.removeLast(bytes.count - live)
            var e = 0
            while e < count {
                let slot = (head + e) % entries.count
                entries[slot].start -= Int32(from)
                e += 1
            }
            room = capacity - bytes.count
        }
        let start = bytes.count
        let keepName = Swift.min(name.count, room)
        let keepValue = Swift.min(value.count, room - keepName)
        var k = 0
        while k < keepName { bytes.append(source[name.lowerBound + k]); k += 1 }
        k = 0
        while k < keepValue { bytes.append(source[value.lowerBound + k]); k += 1 }
        let slot = (head + count) % entries.count
        entries[slot] = Entry(start: start, nameLength: keepName, valueLength: keepValue, size: entrySize)
        count += 1
        size += entrySize
    }

    /// Copies dynamic entry `index` (1 = newest) into `out`: name range, value range.
    func copy(_ index: Int, into out: inout [UInt8]) -> (Range<Int>, Range<Int>)? {
        guard index >= 1 && index <= count else { return nil }
        let e = entries[(head + count - index) % entries.count]
        let start = Int(e.start), nameLength = Int(e.nameLength), valueLength = Int(e.valueLength)
        let n0 = out.count
        var k = 0
        while k < nameLength { out.append(bytes[start + k]); k += 1 }
        let v0 = out.count
        k = 0
        while k < valueLength { out.append(bytes[start + nameLength + k]); k += 1 }
        return (n0 ..< v0, v0 ..< out.count)
    }
}

/// HPACK's static table (RFC 7541 Appendix A), index 1 ... 61.
enum HPACKStatic {
    static let names: [[UInt8]] = [
        ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status",
        ":status", ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age", "allow",
        "authorization", "cache-control", "content-disposition", "content-encoding", "content-language",
        "content-length", "content-location", "content-range", "content-type", "cookie", "date", "etag",
        "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
        "if-unmodified-since", "last-modified", "link", "location", "max-forwards", "proxy-authenticate",
        "proxy-authorization", "range", "referer", "refresh", "retry-after", "server", "set-cookie",
        "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
    ].map { Array($0.utf8) }
    static let values: [[UInt8]] = {
        var v = [[UInt8]](repeating: [], count: 61)
        let known: [(Int, String)] = [(2, "GET"), (3, "POST"), (4, "/"), (5, "/index.html"), (6, "http"),
                                      (7, "https"), (8, "200"), (9, "204"), (10, "206"), (11, "304"),
                                      (12, "400"), (13, "404"), (14, "500"), (16, "gzip, deflate")]
        for (i, s) in known { v[i - 1] = Array(s.utf8) }
        return v
    }()
}

/// HPACK's Huffman code (RFC 7541 Appendix B). The code is canonical, so the code length of
/// each symbol (0-255, 256 = EOS) defines it; decoding walks lengths with the first code and
/// first symbol of each length.
enum HPACKHuffman {
    static let lengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28,
        28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15,
        6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22,
        20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22,
        23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23,
        20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26,
        27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24,
        26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
    ]

    /// Per code length: the first code, the index of its first symbol in `symbols`, how many.
    struct Tables: Sendable {
        var firstCode = [UInt32](repeating: 0, count: 31)
        var firstIndex = [Int](repeating: 0, count: 31)
        var count = [Int](repeating: 0, count: 31)
        var symbols: [UInt16] = []
    }

    static let tables: Tables = {
        var t = Tables()
        for l in lengths { t.count[Int(l)] += 1 }
        for len in 1 ... 30 {
            for s in 0 ..< lengths.count where Int(lengths[s]) == len { t.symbols.append(UInt16(s)) }
        }
        var code: UInt32 = 0, index = 0
        for len in 1 ... 30 {
            t.firstCode[len] = code
            t.firstIndex[len] = index
            code = (code + UInt32(t.count[len])) << 1
            index += t.count[len]
        }
        return t
    }()

    /// Decodes `n` bytes of `src` at `pos`, appending to `out` (at most `limit` bytes; the rest
    /// is decoded and dropped). False on EOS, a code past 30 bits or bad padding.
    static func decode(_ src: [UInt8], _ pos: Int, _ n: Int, into out: inout [UInt8], limit: Int) -> Bool {
        let t = tables
        var code: UInt32 = 0
        var len = 0
        var written = 0
        var k = pos
        while k < pos + n {
            let byte = src[k]
            var bit = 7
            while bit >= 0 {
                code = code << 1 | UInt32((byte >> UInt8(bit)) & 1)
                len += 1
                let offset = Int(code) - Int(t.firstCode[len])
                if offset >= 0 && offset < t.count[len] {
                    let sym = t.symbols[t.firstIndex[len] + offset]
                    if sym == 256 { return false }
                    if written < limit { out.append(UInt8(sym)); written += 1 }
                    code = 0
                    len = 0
                } else if len >= 30 {
                    return false
                }
                bit -= 1
            }
            k += 1
        }
        // Padding: fewer than 8 bits, all ones (the EOS prefix).
        return len < 8 && code == (UInt32(1) << UInt32(len)) - 1
    }
}
