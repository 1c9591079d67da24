import UTMCore
import UTMCrypto

/// Limits of the per-flow QUIC Initial parser. Plain values with documented defaults.
public struct QUICConfig: Sendable {
    /// Bytes of the client's CRYPTO stream kept for reassembly. A ClientHello is 250 bytes to
    /// a few KiB (post-quantum key shares take it past 1 KiB and across two Initial packets);
    /// bytes beyond this are dropped and the flow is marked done.
    public var cryptoCapacity: Int = 16 * 1024
    /// Bytes of the server's CRYPTO stream kept (the ServerHello, for the negotiated ALPN is
    /// not in it but its cipher and key share are; about 100-200 bytes). 0: never open server
    /// Initial packets.
    public var serverCryptoCapacity: Int = 2 * 1024
    /// Datagrams examined per flow, both directions together. After that the flow is done:
    /// a parser gives up early rather than follow a whole connection.
    public var maxPackets: Int = 8
    /// Largest Initial packet opened; larger ones are skipped (the decryption buffer has this
    /// size). Initial datagrams are 1200 bytes to a path MTU in practice.
    public var maxPacketBytes: Int = 4 * 1024

    public init() {}
}

/// Reads the QUIC Initial packets of one UDP flow: removes header protection, opens the AEAD,
/// walks the frames and reassembles the CRYPTO streams, so the engine can read the SNI and ALPN
/// of the TLS ClientHello (and the ServerHello) of QUIC traffic inline.
///
/// Per-flow state: fixed-size values plus buffers allocated once in `init` (the crypto
/// contexts, a decryption buffer and the two reassembly buffers; `init(config:crypto:)` shares
/// one `QUICInitialCrypto` per worker). `feed` allocates nothing and never traps: malformed,
/// truncated or undecryptable packets are skipped and counted.
///
/// The parser holds references to its buffers: a copy shares them, so keep one copy per flow.
public struct QUICParser {
    public let config: QUICConfig
    private let crypto: QUICInitialCrypto?
    private let scratch: ByteSlab
    private var client: QUICCryptoStream
    private var server: QUICCryptoStream

    private var keys: QUICInitialKeys?
    private var quicVersion: QUICVersion?
    private var dcid = Bytes32()
    private var scid = Bytes32()
    private var largestPacketNumber: (Int64, Int64) = (-1, -1)

    /// The version field of the client Initial the keys come from (0 before one was seen).
    public private(set) var version: UInt32 = 0
    /// Length of the client's original Destination Connection ID (what the keys come from).
    public private(set) var dcidLength = 0
    /// Length of the client's Source Connection ID.
    public private(set) var scidLength = 0
    /// A client Initial packet of a known version was opened (its AEAD tag verified): this
    /// flow is QUIC, not UDP that happens to look like it.
    public private(set) var isQUIC = false
    /// Datagrams fed so far.
    public private(set) var datagrams = 0
    /// Initial packets opened, both directions.
    public private(set) var packetsOpened = 0
    /// Initial packets of a known version that could not be opened (wrong keys, bad tag,
    /// too large, too short to sample).
    public private(set) var openFailures = 0
    /// Frames that broke off a packet's walk (malformed or not allowed in Initial packets).
    public private(set) var frameErrors = 0
    /// The first datagram was not a client Initial we can read: nothing more will be learnt.
    public private(set) var failed = false

    /// - Parameter crypto: a crypto context to share (one per worker thread); when nil the
    ///   parser creates its own. If OpenSSL cannot provide one, the parser is `done` at once.
    public init(config: QUICConfig = .init(), crypto: QUICInitialCrypto? = nil) {
        self.config = config
        self.crypto = crypto ?? QUICInitialCrypto()
        scratch = ByteSlab(capacity: Swift.max(64, config.maxPacketBytes))
        client = QUICCryptoStream(capacity: config.cryptoCapacity)
        server = QUICCryptoStream(capacity: config.serverCryptoCapacity)
        if self.crypto == nil { failed = true }
    }

    /// Forgets the flow, keeping every buffer.
    public mutating func reset() {
        client.reset()
        server.reset()
        keys = nil
        quicVersion = nil
        dcid = Bytes32()
        scid = Bytes32()
        largestPacketNumber = (-1, -1)
        version = 0
        dcidLength = 0
        scidLength = 0
        isQUIC = false
        datagrams = 0
        packetsOpened = 0
        openFailures = 0
        frameErrors = 0
        failed = crypto == nil
    }

    // MARK: What the engine reads

    /// The version, classified; nil before a client Initial of a known version was seen.
    public var knownVersion: QUICVersion? { quicVersion }

    /// Lends the client's original Destination Connection ID.
    public func withDCID<R>(_ body: (ByteView) -> R) -> R {
        var copy = dcid
        let n = dcidLength
        return withUnsafeBytes(of: &copy.raw) { body(ByteView(unsafeStart: $0.baseAddress, count: n)) }
    }

    /// Lends the client's Source Connection ID.
    public func withSCID<R>(_ body: (ByteView) -> R) -> R {
        var copy = scid
        let n = scidLength
        return withUnsafeBytes(of: &copy.raw) { body(ByteView(unsafeStart: $0.baseAddress, count: n)) }
    }

    /// The client's CRYPTO bytes received in order so far (the ClientHello, once complete).
    /// Valid until the next `feed` or `reset`.
    public var clientCrypto: ByteView { client.received }
    /// The server's CRYPTO bytes received in order so far.
    public var serverCrypto: ByteView { server.received }

    /// The whole first handshake message of the client is in (ClientHello for TLS versions,
    /// CHLO for Q050), or the buffer is full: the web filter can decide now.
    public var clientHelloComplete: Bool { QUICParser.firstMessageComplete(client, tls: quicVersion?.usesTLS ?? true) }
    /// The server's first handshake message (ServerHello) is in, or its buffer is full.
    public var serverHelloComplete: Bool { QUICParser.firstMessageComplete(server, tls: quicVersion?.usesTLS ?? true) }

    /// The engine stops feeding: nothing readable (`failed`), the packet limit was reached, or
    /// the ClientHello is complete (and the ServerHello too, when server Initials are opened).
    public var done: Bool {
        if failed || datagrams >= config.maxPackets { return true }
        guard clientHelloComplete else { return false }
        return config.serverCryptoCapacity <= 0 || serverHelloComplete
    }

    // MARK: Feeding

    /// One UDP datagram of a QUIC flow (may hold several coalesced long-header packets). Client
    /// Initial packets are opened with keys derived from the DCID of the client's first Initial;
    /// CRYPTO frames are reassembled by offset (out of order across and within packets,
    /// duplicates ignored, bounded); each time more contiguous CRYPTO bytes become available,
    /// `onCrypto` is called with only the new bytes, in order. Server Initials are opened with
    /// the server keys and their CRYPTO bytes passed with direction `.toClient`.
    ///
    /// The view passed to `onCrypto` is valid during the call only.
    public mutating func feed(_ datagram: ByteView, direction: Direction, onCrypto: (ByteView, Direction) -> Void) {
        guard !done else { return }
        datagrams &+= 1
        var sawClientInitial = false
        var off = 0
        while off < datagram.count {
            // A short header (or the zero padding some stacks put after the last packet)
            // runs to the end of the datagram: nothing after it is a long header.
            guard let first = datagram.u8(off), first & 0x80 != 0,
                  let header = QUICLongHeader.parse(datagram, at: off) else { break }
            if header.isRetry { break } // no Length field: the rest of the datagram is the Retry
            if header.isInitial {
                if direction == .toServer { sawClientInitial = true }
                openInitial(header, in: datagram, direction: direction, onCrypto: onCrypto)
            }
            off = header.end
        }
        if datagrams == 1, !sawClientInitial { failed = true }
    }

    /// The frames of an already decrypted Initial payload: the part of `feed` after packet
    /// protection. For fuzzing the frame walk and reassembly without forging AEAD tags.
    @_spi(Testing)
    public mutating func feedDecryptedPayload(_ payload: ByteView, direction: Direction,
                                              onCrypto: (ByteView, Direction) -> Void) {
        handleFrames(payload, direction: direction, onCrypto: onCrypto)
    }

    private mutating func openInitial(_ header: QUICLongHeader, in datagram: ByteView, direction: Direction,
                                      onCrypto: (ByteView, Direction) -> Void) {
        guard let crypto else { return }
        if direction == .toServer {
            // Keys come from the first client Initial. A client that starts again with another
            // version (after Version Negotiation) before any CRYPTO byte arrived starts over.
            if keys == nil || (header.versionWire != version && client.contiguous == 0) {
                guard adoptKeys(from: header, in: datagram, crypto: crypto) else { return }
            }
        } else {
            guard keys != nil, config.serverCryptoCapacity > 0 else { return }
        }
        guard header.versionWire == version, let keys else { return }
        let packetKeys = direction == .toServer ? keys.client : keys.server
        var plaintext = open(header, in: datagram, keys: packetKeys, direction: direction, crypto: crypto)
        if plaintext == nil, direction == .toServer, !sameDCID(header, datagram) {
            // After a Retry, or when a client restarts its handshake, the client's Initial
            // packets carry a new DCID and use keys from it (RFC 9001 5.2); the server answers
            // with keys from it too. Try those, bounded by the packet limit, and keep them only
            // if the packet opens. The CRYPTO stream carries on: after a Retry the client
            // resends the same ClientHello, and bytes already received are kept (first wins).
            let saved = (self.keys, dcid, dcidLength, scid, scidLength)
            if adoptKeys(from: header, in: datagram, crypto: crypto), let k = self.keys {
                plaintext = open(header, in: datagram, keys: k.client, direction: direction, crypto: crypto)
            }
            if plaintext == nil {
                (self.keys, dcid, dcidLength, scid, scidLength) = saved
            } else {
                largestPacketNumber = (largestPacketNumber.0, -1)
            }
        }
        guard let plaintext else { openFailures &+= 1; return }
        packetsOpened &+= 1
        if direction == .toServer { isQUIC = true }
        handleFrames(plaintext, direction: direction, onCrypto: onCrypto)
    }

    private mutating func handleFrames(_ payload: ByteView, direction: Direction,
                                       onCrypto: (ByteView, Direction) -> Void) {
        let result: QUICFrameWalkResult
        let google = quicVersion?.usesGoogleFrames ?? false
        if direction == .toServer {
            result = google
                ? walkGoogleQUICFrames(payload) { offset, data in client.insert(offset: offset, data: data) }
                : walkQUICFrames(payload) { offset, data in client.insert(offset: offset, data: data) }
            if let fresh = client.takeNew() { onCrypto(fresh, .toServer) }
        } else {
            result = google
                ? walkGoogleQUICFrames(payload) { offset, data in server.insert(offset: offset, data: data) }
                : walkQUICFrames(payload) { offset, data in server.insert(offset: offset, data: data) }
            if let fresh = server.takeNew() { onCrypto(fresh, .toClient) }
        }
        if result != .complete { frameErrors &+= 1 }
    }

    private func sameDCID(_ header: QUICLongHeader, _ datagram: ByteView) -> Bool {
        guard header.dcidLength == dcidLength, let d = datagram.slice(header.dcidOffset, header.dcidLength) else {
            return false
        }
        return withDCID { $0 == d }
    }

    /// Derives the Initial keys from this client packet's DCID and remembers its connection IDs.
    private mutating func adoptKeys(from header: QUICLongHeader, in datagram: ByteView,
                                    crypto: QUICInitialCrypto) -> Bool {
        guard let d = datagram.slice(header.dcidOffset, header.dcidLength),
              let s = datagram.slice(header.scidOffset, header.scidLength),
              let derived = QUICInitialKeys.derive(version: header.version, dcid: d, crypto: crypto) else { return false }
        keys = derived
        quicVersion = header.version
        version = header.versionWire
        dcid = QUICParser.store(d)
        dcidLength = d.count
        scid = QUICParser.store(s)
        scidLength = s.count
        return true
    }

    private static func store(_ v: ByteView) -> Bytes32 {
        var out = Bytes32()
        withUnsafeMutableBytes(of: &out.raw) { dst in
            v.prefix(32).withUnsafeBytes { src in
                if src.count > 0 { dst.copyMemory(from: src) }
            }
        }
        return out
    }

    /// Removes header protection (RFC 9001 5.4), rebuilds the packet number (RFC 9000 A.3) and
    /// opens the payload into the scratch buffer. Returns the plaintext, or nil.
    private mutating func open(_ header: QUICLongHeader, in datagram: ByteView, keys: QUICPacketKeys,
                               direction: Direction, crypto: QUICInitialCrypto) -> ByteView? {
        // The sample starts 4 bytes after the packet number offset whatever its length.
        let sampleOffset = header.pnOffset &+ 4
        guard sampleOffset <= header.end &- 16,
              let sampleView = datagram.slice(sampleOffset, 16), let sample = Bytes16(sampleView),
              let mask = crypto.aes128EncryptBlock(key: keys.hp, block: sample) else { return nil }
        let firstByte = header.firstByte ^ (mask[0] & 0x0f)
        let pnLength = Int(firstByte & 0x03) &+ 1
        let headerLength = header.pnOffset &+ pnLength &- header.start
        let sealedOffset = header.pnOffset &+ pnLength
        let sealedLength = header.end &- sealedOffset
        guard sealedLength >= QUICInitialCrypto.tagLength,
              headerLength &+ sealedLength &- QUICInitialCrypto.tagLength <= scratch.capacity,
              let headerBytes = datagram.slice(header.start, headerLength),
              let sealed = datagram.slice(sealedOffset, sealedLength) else { return nil }
        // The AAD is the header with protection removed: copy it and unmask it in place.
        guard scratch.write(headerBytes, at: 0) else { return nil }
        scratch.write(firstByte, at: 0)
        var truncated: UInt64 = 0
        var i = 0
        while i < pnLength {
            let at = header.pnOffset &- header.start &+ i
            let b = (scratch.read(at) ?? 0) ^ mask[1 &+ i]
            scratch.write(b, at: at)
            truncated = truncated << 8 | UInt64(b)
            i &+= 1
        }
        let largest = direction == .toServer ? largestPacketNumber.0 : largestPacketNumber.1
        let packetNumber = QUICParser.decodePacketNumber(truncated: truncated, length: pnLength, largest: largest)
        let nonce = keys.iv.xoringCounter(packetNumber)
        guard let aad = scratch.view(0, headerLength) else { return nil }
        let opened = scratch.withUnsafeMutableBytes(headerLength, scratch.capacity &- headerLength) { out in
            crypto.aes128GCMOpen(key: keys.key, nonce: nonce, aad: aad, sealed: sealed, into: out)
        }
        guard let plainLength = opened ?? nil else { return nil }
        let pn = Int64(bitPattern: packetNumber)
        if direction == .toServer {
            if pn > largestPacketNumber.0 { largestPacketNumber.0 = pn }
        } else if pn > largestPacketNumber.1 {
            largestPacketNumber.1 = pn
        }
        return scratch.view(headerLength, plainLength)
    }

    /// RFC 9000 appendix A.3: the full packet number closest to largest + 1 whose low
    /// `length` bytes are `truncated`.
    static func decodePacketNumber(truncated: UInt64, length: Int, largest: Int64) -> UInt64 {
        let bits = UInt64(Swift.min(Swift.max(length, 1), 4) &* 8)
        let expected = UInt64(Swift.max(largest &+ 1, 0))
        let window: UInt64 = 1 << bits
        let half = window / 2
        let mask = window &- 1
        let candidate = (expected & ~mask) | (truncated & mask)
        if candidate &+ half <= expected && candidate < (UInt64(1) << 62) &- window {
            return candidate &+ window
        }
        if candidate > expected &+ half && candidate >= window {
            return candidate &- window
        }
        return candidate
    }

    /// Whether the first handshake message at the start of `stream` is complete: TLS
    /// (type(1) length(3) body) or Q050's CHLO ('CHLO', entry count(2, LE), padding(2), then
    /// count x (tag(4), end offset(4, LE)) and the values).
    static func firstMessageComplete(_ stream: QUICCryptoStream, tls: Bool) -> Bool {
        let got = stream.received
        if stream.truncated && stream.contiguous >= stream.capacity { return true }
        if tls {
            guard let length = got.u24(1) else { return false }
            return got.count >= 4 &+ Int(length)
        }
        guard let count = got.u16le(4) else { return false }
        let entries = Int(count)
        if entries == 0 { return got.count >= 8 }
        guard let lastEnd = got.u32le(8 &+ 8 &* (entries &- 1) &+ 4) else { return false }
        let total = 8 &+ 8 &* entries &+ Int(lastEnd)
        return got.count >= total
    }

    // MARK: Detection

    /// Cheap probe for protocol detection: does this UDP payload start with a long-header
    /// Initial packet of a version we can read, whose lengths fit the datagram and which is big
    /// enough to carry a header-protection sample? No cryptography.
    public static func probe(_ datagram: ByteView) -> Bool {
        guard let header = QUICLongHeader.parse(datagram, at: 0), header.isInitial else { return false }
        // The fixed bit must be set unless a peer greases it (RFC 9287); clients greasing it
        // in their first Initial would be unusual, so require it to keep false positives low.
        guard header.firstByte & 0x40 != 0 else { return false }
        return header.end &- header.pnOffset >= 4 &+ 16
    }
}
