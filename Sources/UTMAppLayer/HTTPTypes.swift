import UTMCore

/// Limits of one HTTP parser. Every buffer is sized from these once, when the parser is made,
/// so hostile traffic can fill them (and get flagged) but never grow them.
public struct HTTPConfig: Sendable {
    /// Bytes of the shared store that keeps start lines and header blocks of pending
    /// transactions (a second store of the same size is kept for compaction). Default 16 KiB.
    public var fieldStoreCapacity: Int = 16 << 10
    /// Transactions tracked at once (pipelined requests waiting for responses, plus ready ones
    /// the engine has not consumed yet). More are parsed for framing but not recorded. Default 8.
    public var maxPendingTransactions: Int = 8
    /// Longest start line or header line kept; the rest of the line is skipped and the
    /// transaction flagged `lineTooLong`. Default 4 KiB.
    public var maxHeaderLine: Int = 4 << 10
    /// Most bytes of start line plus headers kept per message; later header lines are still
    /// parsed for framing but not kept (`headersTruncated`). Default 8 KiB.
    public var maxHeaderBlock: Int = 8 << 10
    /// Most decoded body bytes delivered to `onBody` per message (this is what antivirus and
    /// body rules see). Also the inflater's output bound, so a gzip bomb stops here. Default 1 MiB.
    public var maxBodyInspect: Int64 = 1 << 20
    /// Whether gzip/deflate bodies are decompressed before delivery. Default true.
    public var decodeBodies: Bool = true
    /// Size of each direction's decompression output slab. Default 8 KiB.
    public var inflateBufferSize: Int = 8 << 10
    /// Expansion ratio beyond which decoding stops once `maxBodyInspect` allows more than
    /// 1 MiB. Default 100.
    public var inflateMaxRatio: Int64 = 100
    /// Bytes of lines that are not HTTP accepted in one direction before it is given up on
    /// (`gaveUp` event). Default 64 KiB.
    public var maxJunkBytes: Int64 = 64 << 10
    /// Bytes scanned for a request or status line after a gap before giving up. Default 1 MiB.
    public var maxResyncBytes: Int64 = 1 << 20

    public init() {}
}

/// What was odd or notable about one transaction: detection and EVE read these, nothing throws.
public struct HTTPTxFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let requestChunked = HTTPTxFlags(rawValue: 1 << 0)
    public static let responseChunked = HTTPTxFlags(rawValue: 1 << 1)
    public static let requestGzip = HTTPTxFlags(rawValue: 1 << 2)
    public static let requestDeflate = HTTPTxFlags(rawValue: 1 << 3)
    public static let responseGzip = HTTPTxFlags(rawValue: 1 << 4)
    public static let responseDeflate = HTTPTxFlags(rawValue: 1 << 5)
    /// A Content-Encoding other than gzip, deflate or identity (the body is delivered as sent).
    public static let unknownEncoding = HTTPTxFlags(rawValue: 1 << 6)
    /// The field store was full: some fields are cut or absent.
    public static let fieldsTruncated = HTTPTxFlags(rawValue: 1 << 7)
    /// A start or header line was longer than `maxHeaderLine` and was cut.
    public static let lineTooLong = HTTPTxFlags(rawValue: 1 << 8)
    /// Header lines past `maxHeaderBlock` were parsed but not kept.
    public static let headersTruncated = HTTPTxFlags(rawValue: 1 << 9)
    public static let malformedRequest = HTTPTxFlags(rawValue: 1 << 10)
    public static let malformedResponse = HTTPTxFlags(rawValue: 1 << 11)
    /// Request line without a version (HTTP/0.9 style).
    public static let http09 = HTTPTxFlags(rawValue: 1 << 12)
    /// A 1xx response (e.g. 100 Continue) came before the final one.
    public static let interimResponse = HTTPTxFlags(rawValue: 1 << 13)
    /// CONNECT or 101 Switching Protocols: the rest of the flow is not HTTP.
    public static let tunnel = HTTPTxFlags(rawValue: 1 << 14)
    public static let connectionClose = HTTPTxFlags(rawValue: 1 << 15)
    /// The request body ended early (gap, malformed chunking, end of flow).
    public static let requestBodyTruncated = HTTPTxFlags(rawValue: 1 << 16)
    public static let responseBodyTruncated = HTTPTxFlags(rawValue: 1 << 17)
    /// A compressed body could not be decoded (bad data, or cut short).
    public static let decodeError = HTTPTxFlags(rawValue: 1 << 18)
    /// Body delivery stopped at `maxBodyInspect` (or the inflater's ratio limit).
    public static let bodyInspectLimited = HTTPTxFlags(rawValue: 1 << 19)
    /// Bytes were lost in this transaction.
    public static let gap = HTTPTxFlags(rawValue: 1 << 20)
    /// Several Content-Length headers that disagree (request smuggling indicator).
    public static let duplicateContentLength = HTTPTxFlags(rawValue: 1 << 21)
    public static let invalidContentLength = HTTPTxFlags(rawValue: 1 << 22)
    /// Both Content-Length and Transfer-Encoding (request smuggling indicator; TE wins).
    public static let contentLengthAndTransferEncoding = HTTPTxFlags(rawValue: 1 << 23)
    /// A line ended with LF alone.
    public static let bareLF = HTTPTxFlags(rawValue: 1 << 24)
    /// A header was continued on the next line (obs-fold); it is kept unfolded.
    public static let obsFold = HTTPTxFlags(rawValue: 1 << 25)
    /// A response that matched no request.
    public static let noRequest = HTTPTxFlags(rawValue: 1 << 26)
    /// Malformed chunked framing.
    public static let invalidChunking = HTTPTxFlags(rawValue: 1 << 27)
    /// A header line without a colon, or a continuation line with nothing to continue.
    public static let invalidHeader = HTTPTxFlags(rawValue: 1 << 28)
    /// The request had more than one Host header. libhtp joins them (", ") before taking the
    /// hostname, so the engine then builds http.host and http.host.raw from all of them
    /// (the parser's `host` field is the first one's).
    public static let repeatedHost = HTTPTxFlags(rawValue: 1 << 29)
    /// A Content-Length or Transfer-Encoding on a first header line led by blanks: kept in
    /// the header buffers, not used for framing (servers that skip such a line would read the
    /// bytes after the headers as the next request; request smuggling indicator).
    public static let ignoredFraming = HTTPTxFlags(rawValue: 1 << 30)
}

/// What happened during the last `feed`/`finish` call, so detection can run only when there
/// is something new (request headers done: URL filter; response headers done: file start).
public struct HTTPEvents: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let requestLine = HTTPEvents(rawValue: 1 << 0)
    public static let requestHeaders = HTTPEvents(rawValue: 1 << 1)
    public static let requestComplete = HTTPEvents(rawValue: 1 << 2)
    public static let responseLine = HTTPEvents(rawValue: 1 << 3)
    public static let responseHeaders = HTTPEvents(rawValue: 1 << 4)
    public static let responseComplete = HTTPEvents(rawValue: 1 << 5)
    /// `readyCount` grew.
    public static let txReady = HTTPEvents(rawValue: 1 << 6)
    /// Something was not HTTP as RFC 9112 writes it (see the transaction's flags).
    public static let malformed = HTTPEvents(rawValue: 1 << 7)
    public static let gap = HTTPEvents(rawValue: 1 << 8)
    /// A transaction could not be recorded: `maxPendingTransactions` were pending.
    public static let overflow = HTTPEvents(rawValue: 1 << 9)
    public static let tunnel = HTTPEvents(rawValue: 1 << 10)
    /// A direction stopped being parsed (too much junk, or no resync after a gap).
    public static let gaveUp = HTTPEvents(rawValue: 1 << 11)
    public static let bodyData = HTTPEvents(rawValue: 1 << 12)
    /// A framing header was ignored (`HTTPTxFlags.ignoredFraming`): the engine counts these.
    public static let framingIgnored = HTTPEvents(rawValue: 1 << 13)
}

/// One request/response exchange. Plain value: fields are offsets into the parser's store,
/// read with `HTTPParser.withField` until `consumeReady()`.
public struct HTTPTransaction: Sendable {
    // Request side.
    public var method: Field = .absent
    public var uri: Field = .absent
    /// "HTTP/1.1" as sent; absent for HTTP/0.9-style requests.
    public var protocolName: Field = .absent
    /// Host without port, as sent (compare case-insensitively). From an absolute-form URI when
    /// there is one, else the Host header (like Suricata's http.hostname).
    public var host: Field = .absent
    public var hostPort: Int? = nil
    public var userAgent: Field = .absent
    public var referer: Field = .absent
    public var cookie: Field = .absent
    public var requestContentType: Field = .absent
    /// The request's header lines, "Name: value\r\n" each, unfolded, without the request line.
    public var requestHeaders: Field = .absent
    // Response side.
    public var responseProtocol: Field = .absent
    /// The whole status line as sent (without its line end).
    public var statusLine: Field = .absent
    /// The reason phrase.
    public var statusMessage: Field = .absent
    public var responseContentType: Field = .absent
    public var location: Field = .absent
    public var responseHeaders: Field = .absent

    /// Final status code; 0 when no response was seen.
    public var status: Int = 0
    /// Declared lengths; -1 when not declared (or chunked).
    public var requestContentLength: Int64 = -1
    public var responseContentLength: Int64 = -1
    /// Body bytes seen on the wire after de-chunking (before decompression).
    public var requestBodyBytes: Int64 = 0
    public var responseBodyBytes: Int64 = 0
    /// Body bytes delivered to `onBody` (after decompression, up to `maxBodyInspect`).
    public var requestBodyDelivered: Int64 = 0
    public var responseBodyDelivered: Int64 = 0

    public var hasRequest = false
    public var hasResponse = false
    /// The message was seen to its end (false when cut by a gap or the end of the flow).
    public var requestComplete = false
    public var responseComplete = false
    public var flags: HTTPTxFlags = []

    /// Position of this exchange in its flow (0, 1, 2, ...), for FIFO matching.
    public internal(set) var sequence: UInt32 = 0

    // Whole stored blocks: every request field lies inside `requestBlock`, every response
    // field inside `responseBlock`, which is how the store is compacted.
    // Public to read: the engine takes the request line and http.start's start line from them.
    public internal(set) var requestBlock: Field = .absent
    public internal(set) var responseBlock: Field = .absent
    var ready = false
    /// Bit 0: request side done with it; bit 1: response side done (readiness only).
    var flagsInternal: UInt8 = 0

    public init() {}

    mutating func shiftRequestFields(by delta: Int32) {
        Self.shift(&method, delta); Self.shift(&uri, delta); Self.shift(&protocolName, delta)
        Self.shift(&host, delta); Self.shift(&userAgent, delta); Self.shift(&referer, delta)
        Self.shift(&cookie, delta); Self.shift(&requestContentType, delta)
        Self.shift(&requestHeaders, delta); Self.shift(&requestBlock, delta)
    }

    mutating func shiftResponseFields(by delta: Int32) {
        Self.shift(&responseProtocol, delta); Self.shift(&statusLine, delta)
        Self.shift(&statusMessage, delta); Self.shift(&responseContentType, delta)
        Self.shift(&location, delta); Self.shift(&responseHeaders, delta)
        Self.shift(&responseBlock, delta)
    }

    private static func shift(_ f: inout Field, _ delta: Int32) {
        if f.isPresent { f.offset = f.offset &+ delta }
    }
}

/// A piece of a body, de-chunked and decompressed, lent for the duration of the `onBody` call.
public struct HTTPBodyChunk {
    /// Index of the transaction among the parser's pending ones (as `ready(_:)` counts them).
    public var transaction: Int
    /// The transaction's `HTTPTransaction.sequence`: stable for the flow's life, where
    /// `transaction` shifts when an earlier finished transaction is removed between packets.
    public var sequence: UInt32
    public var direction: Direction
    /// Valid only during the callback.
    public var data: ByteView
    /// The body ended; delivered once per body, with empty `data`.
    public var isLast: Bool

    public init(transaction: Int, sequence: UInt32 = 0, direction: Direction, data: ByteView, isLast: Bool) {
        self.transaction = transaction
        self.sequence = sequence
        self.direction = direction
        self.data = data
        self.isLast = isLast
    }
}
