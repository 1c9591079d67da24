import UTMCore

// TLS: the parser's public face, its configuration, events and per-direction state.
// The record layer is in TLSRecord.swift, handshake reassembly in TLSHandshake.swift, the hello
// messages in TLSClientHello.swift / TLSServerHello.swift and the fingerprints in Fingerprint*.swift.

/// Limits for one TLS parser. Everything is reserved in `TLSParser.init`, never later.
public struct TLSConfig: Sendable {
    /// QUIC carries TLS in CRYPTO frames; JA4 then starts with "q" instead of "t".
    public var isQUIC: Bool = false
    /// Bytes kept for SNI, ALPN, JA3/JA4 strings and hashes. A field that does not fit is cut and
    /// `TLSEvents.fieldTruncated` is raised: hostile hellos cannot make the parser grow.
    public var fieldCapacity: Int = 4096
    /// Largest ClientHello/ServerHello buffered per direction. Hellos with post-quantum key
    /// shares are about 1.8 KiB and span records and segments, so they must be reassembled;
    /// larger messages are skipped with `TLSEvents.handshakeTooLarge`. Of a larger server
    /// Certificate message the first this many bytes are kept (`certificatePartial`): a
    /// server padding its chain cannot hide its leaf certificate from the cert rules.
    public var maxHandshakeSize: Int = 16 * 1024
    /// Cipher suites / extensions kept for sorting into JA4. More than this is hostile; the
    /// fingerprint is then computed over the first entries and `fieldTruncated` is raised.
    public var maxSortedEntries: Int = 1024
    /// Certificates of the server's chain lent for inspection (`withCertificate`); the
    /// count covers them all. A chain of more is hostile or broken.
    public var maxCertificates: Int = 16

    public init() {}
}

/// What happened since the events were last taken: lets the engine react to a completed hello
/// (web filter on SNI, EVE tls event) without polling every field after every segment.
public struct TLSEvents: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let clientHelloDone = TLSEvents(rawValue: 1 << 0)
    public static let serverHelloDone = TLSEvents(rawValue: 1 << 1)
    /// Bytes that are not TLS (bad content type, version, length) or an inconsistent hello.
    public static let malformed = TLSEvents(rawValue: 1 << 2)
    /// An SSLv2-compatible ClientHello (0x80 header): legacy clients and scanners.
    public static let sslv2ClientHello = TLSEvents(rawValue: 1 << 3)
    public static let helloRetryRequest = TLSEvents(rawValue: 1 << 4)
    /// Nothing more to parse: the engine may stop feeding this flow.
    public static let encrypted = TLSEvents(rawValue: 1 << 5)
    public static let gap = TLSEvents(rawValue: 1 << 6)
    public static let handshakeTooLarge = TLSEvents(rawValue: 1 << 7)
    public static let fieldTruncated = TLSEvents(rawValue: 1 << 8)
    /// A TLS alert record was seen (the handshake may have failed).
    public static let alert = TLSEvents(rawValue: 1 << 9)
    /// The server's Certificate message was parsed (`certificateCount`, `withCertificate`).
    public static let certificateDone = TLSEvents(rawValue: 1 << 10)
    /// The Certificate message was larger than `maxHandshakeSize`: only the certificates
    /// whole within its first `maxHandshakeSize` bytes are lent (the leaf comes first);
    /// `certificateCount` still counts every entry.
    public static let certificatePartial = TLSEvents(rawValue: 1 << 11)
}

/// Per-direction record and handshake reassembly state: plain integers, no buffers.
struct TLSDirectionState: Sendable {
    /// Record header bytes collected so far (big-endian accumulator) and how many.
    var recordHeader: UInt64 = 0
    var recordHeaderCount: Int = 0
    var recordType: UInt8 = 0
    var recordRemaining: Int = 0
    var recordsSeen: Int = 0
    /// Handshake header (type + 24-bit length) collected so far.
    var hsHeader: UInt32 = 0
    var hsHeaderCount: Int = 0
    var hsType: UInt8 = 0
    var hsRemaining: Int = 0
    /// Whether the current handshake message is being kept (a hello) or skipped.
    var hsBuffering: Bool = false
    /// The current message's declared body length, and how many of its bytes are still to be
    /// kept: all of them, except for a Certificate message larger than the buffer, whose
    /// first `maxHandshakeSize` bytes are kept (`hsPartial`) while its entries are counted
    /// from the framing as the rest streams by (`certWalk*`).
    var hsLength: Int = 0
    var hsKeep: Int = 0
    var hsPartial: Bool = false
    /// Message-body offset of the next length byte of a partial Certificate message (the
    /// list's, then each entry's), the length bytes collected (big-endian) and how many, where
    /// the list ends (-1 before its length was read), the entries counted, and whether a length
    /// ran past the message or the list (`malformed`, as for a whole message).
    var certWalkNext: Int = 0
    var certWalkHeader: Int = 0
    var certWalkHeaderCount: Int = 0
    var certWalkListEnd: Int = -1
    var certWalkCount: Int = 0
    var certWalkMalformed: Bool = false
    var sawChangeCipherSpec: Bool = false
    var sawApplicationData: Bool = false
    /// Gap, malformed record or SSLv2: nothing more is parsed in this direction.
    var stopped: Bool = false

    mutating func reset() { self = TLSDirectionState() }
}

public struct TLSParser: Sendable {
    public let config: TLSConfig
    var store: FieldStore
    /// Handshake message buffers per direction, reserved to `maxHandshakeSize` in init.
    var bufToServer: [UInt8]
    var bufToClient: [UInt8]
    /// Scratch for sorting cipher suites and extensions into JA4.
    var sortScratch: [UInt16]
    var dirs: (TLSDirectionState, TLSDirectionState) = (.init(), .init())

    public internal(set) var clientHello: TLSClientHello?
    public internal(set) var serverHello: TLSServerHello?
    /// Certificates in the server's Certificate message (TLS 1.2 and earlier), -1 before one
    /// was parsed. Its certificate_list stays in `bufToClient`, which nothing after it in that
    /// direction needs (TLSCertificate.swift).
    public internal(set) var certificateCount: Int = -1
    /// Bytes of the certificate_list kept at the start of `bufToClient` (0: none).
    var certificateListLength: Int = 0
    /// True once nothing more can be parsed: ChangeCipherSpec or ApplicationData both ways, or a
    /// TLS 1.3 ServerHello. The engine stops feeding the flow then.
    public internal(set) var encrypted: Bool = false
    public var events: TLSEvents = []
    /// Suricata's TLS anomaly events (`app-layer-event:tls.*`) raised since the last
    /// `takeAppEvents()`: one bit OR where the condition is found.
    public var appEvents = AppLayerEvents()
    /// Records begun during the current `feed` call (`too_many_records_in_packet`).
    var recordsThisFeed = 0

    public init(config: TLSConfig = .init()) {
        self.config = config
        store = FieldStore(capacity: Swift.max(0, config.fieldCapacity))
        let hs = Swift.max(64, config.maxHandshakeSize)
        bufToServer = []
        bufToServer.reserveCapacity(hs)
        bufToClient = []
        bufToClient.reserveCapacity(hs)
        sortScratch = [UInt16](repeating: 0, count: Swift.max(1, config.maxSortedEntries))
    }

    /// Forgets the flow, keeping every reserved buffer: parsers are reused from a pool.
    public mutating func reset() {
        store.reset()
        bufToServer.removeAll(keepingCapacity: true)
        bufToClient.removeAll(keepingCapacity: true)
        dirs = (.init(), .init())
        clientHello = nil
        serverHello = nil
        certificateCount = -1
        certificateListLength = 0
        encrypted = false
        events = []
        appEvents = []
    }

    /// Returns the anomaly events raised since the last call and clears them.
    public mutating func takeAppEvents() -> AppLayerEvents {
        let e = appEvents
        appEvents = []
        return e
    }

    /// Returns the events raised since the last call and clears them.
    public mutating func takeEvents() -> TLSEvents {
        let e = events
        events = []
        return e
    }

    /// Lends a field of `clientHello`/`serverHello` (SNI, JA3...) as bytes.
    public func withField<R>(_ f: Field, _ body: (ByteView) -> R) -> R {
        store.withView(f, body)
    }

    /// A field as a String: tests and slow paths only.
    public func string(_ f: Field) -> String? { store.string(f) }

    @inline(__always)
    func dir(_ d: Direction) -> TLSDirectionState { d == .toServer ? dirs.0 : dirs.1 }

    @inline(__always)
    mutating func withDir<R>(_ d: Direction, _ body: (inout TLSDirectionState) -> R) -> R {
        d == .toServer ? body(&dirs.0) : body(&dirs.1)
    }

    mutating func stop(_ d: Direction, _ event: TLSEvents) {
        events.insert(event)
        withDir(d) { $0.stopped = true }
    }

    mutating func setEncrypted() {
        if !encrypted {
            encrypted = true
            events.insert(.encrypted)
        }
    }

    mutating func noteFieldTruncation() {
        if store.truncated { events.insert(.fieldTruncated) }
    }
}

/// GREASE (RFC 8701) values are 0x?a?a with equal bytes; fingerprints ignore them because
/// clients randomise them per connection.
@inline(__always)
func isGREASE(_ v: UInt16) -> Bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}
