import UTMCore

/// SSH's unencrypted start (RFC 4253): each side's identification line
/// (`SSH-protoversion-softwareversion SP comments CR LF`), then binary packets
/// (`uint32 packet_length, byte padding_length, payload, padding`) up to NEWKEYS, after which
/// everything is encrypted and nothing more can be read.
///
/// What we take from it is what Suricata's `ssh` events and rule keywords use: the protocol
/// and software versions of both banners, and the HASSH fingerprints (salesforce/hassh) of
/// both KEXINITs. HASSH is the MD5 of `kex;enc;mac;comp` — the key exchange algorithms and the
/// client-to-server (client's HASSH) or server-to-client (server's HASSH-server) encryption,
/// MAC and compression name-lists of the sender's KEXINIT, joined with `;`.
public struct SSHConfig: Sendable {
    /// Longest identification line kept, CR LF excluded. RFC 4253 §4.2 allows 255 bytes with
    /// CR LF; Suricata keeps 256 and flags longer lines (`long_banner`), parsing their start.
    public var maxBanner = 256
    /// Bytes of each HASSH string kept for the event and for `ssh.hassh.string` (OpenSSH's are
    /// about 600). The MD5 covers the whole string even when the kept copy is cut.
    public var maxHasshString = 2048
    /// Lines the server may send before its identification line (RFC 4253 §4.2) that are
    /// skipped; a client must start with `SSH-`.
    public var maxPreBannerLines = 8
    /// Bytes skipped while waiting for the end of an over-long or pre-banner line before the
    /// direction is given up: a peer that never sends a line end must not be read forever.
    public var maxLineSkip = 8192
    /// Largest `packet_length` accepted before NEWKEYS. RFC 4253 §6.1 requires 35000 to be
    /// handled; anything far beyond is not SSH framing.
    public var maxPacket = 256 * 1024
    public init() {}
}

/// What one `feed` did in the direction it was given (several at once are possible).
public struct SSHEvents: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The identification line of this direction is complete (`protoVersion` and
    /// `softwareVersion` are set).
    public static let banner = SSHEvents(rawValue: 1 << 0)
    /// This direction's KEXINIT was read whole: its HASSH (or HASSH-server) is set.
    public static let kexinit = SSHEvents(rawValue: 1 << 1)
    /// This direction sent NEWKEYS: what follows in it is encrypted.
    public static let newKeys = SSHEvents(rawValue: 1 << 2)
    /// Both directions sent NEWKEYS: the parser has nothing more to read on this flow.
    public static let encrypted = SSHEvents(rawValue: 1 << 3)
    /// A line that is not an identification string where one was due (Suricata's
    /// `invalid_banner`): the direction is given up.
    public static let invalidBanner = SSHEvents(rawValue: 1 << 4)
    /// An identification line longer than `maxBanner` (Suricata's `long_banner`).
    public static let longBanner = SSHEvents(rawValue: 1 << 5)
    /// A binary packet length that cannot be (Suricata's `invalid_record`), or bytes lost
    /// (a gap): the direction is given up.
    public static let invalidRecord = SSHEvents(rawValue: 1 << 6)
}

extension SSHEvents {
    /// Suricata's `ssh.*` anomaly events among these. A gap also gives the direction up as
    /// `invalidRecord` here; Suricata raises no event for lost bytes, so neither does this.
    public func anomalies(gap: Bool) -> AppLayerEvents {
        var e = AppLayerEvents()
        if contains(.invalidBanner) { e.formUnion(AppLayerEvents.SSH.invalidBanner) }
        if contains(.longBanner) { e.formUnion(AppLayerEvents.SSH.longBanner) }
        if contains(.invalidRecord) && !gap { e.formUnion(AppLayerEvents.SSH.invalidRecord) }
        return e
    }
}

/// Where one direction's reading is.
enum SSHStage: UInt8, Sendable {
    /// Reading the identification line (or a line before it).
    case line
    /// Skipping to the end of a line that is too long or not the identification line.
    case skipLine
    /// Reading the 6 bytes `packet_length`, `padding_length`, message code.
    case packetHeader
    /// Reading (or skipping) the rest of a binary packet.
    case packetBody
    /// NEWKEYS sent, or given up: nothing more is read.
    case done
}

/// One direction of an SSH connection: its banner fields and HASSH, as fields of `store`.
public struct SSHSide: Sendable {
    /// The identification line, then the HASSH string, then the hash's hex digits.
    public private(set) var store: FieldStore
    /// `2.0` of `SSH-2.0-OpenSSH_9.6 Ubuntu`.
    public internal(set) var protoVersion = Field.absent
    /// `OpenSSH_9.6` of the same line (may be empty: `SSH-2.0-`).
    public internal(set) var softwareVersion = Field.absent
    /// `kex;enc;mac;comp` of this side's KEXINIT (cut to `maxHasshString`) and its MD5 in hex.
    public internal(set) var hasshString = Field.absent
    public internal(set) var hassh = Field.absent
    public internal(set) var bannerDone = false
    public internal(set) var kexinitDone = false
    public internal(set) var newKeys = false
    /// The identification line was longer than `maxBanner` (its start was parsed).
    public internal(set) var longBanner = false
    /// The direction was given up (garbage, a gap): nothing more is read from it.
    public internal(set) var stopped = false
    /// The HASSH string was longer than the kept copy (the hash is still over all of it).
    public internal(set) var hasshTruncated = false

    var stage = SSHStage.line
    /// The line being read (`stage == .line`): its bytes so far.
    var line = Field.absent
    /// The previous line ended with CR: a LF right after it belongs to it.
    var afterCR = false
    var preLines = 0
    /// Bytes skipped in `skipLine`.
    var skipped = 0
    /// Whether the line being skipped is an over-long identification line (parsed already).
    var skippingBanner = false
    // Binary packet framing.
    var headerBytes = 0
    var packetLength: UInt32 = 0
    var padding: UInt8 = 0
    var code: UInt8 = 0
    var bodyLeft = 0
    // KEXINIT walk: payload bytes after the message code not yet walked (padding excluded),
    // the step (0 cookie, 1 name-list length, 2 name-list bytes) and the name-list index.
    var kexActive = false
    var kexLeft = 0
    var kexStep: UInt8 = 0
    var kexCookieLeft = 0
    var kexList = 0
    var kexLenBytes = 0
    var kexLen: UInt32 = 0
    var kexListLeft = 0
    var md5 = MD5()

    init(config: SSHConfig) {
        store = FieldStore(capacity: config.maxBanner + config.maxHasshString + 32)
    }

    /// Back to a new connection, keeping the store's reserved bytes: the store is moved out
    /// (swapped with an empty one, which reserves nothing) so it is never shared while it is
    /// cleared, which would copy it.
    mutating func reset() {
        var s = FieldStore(capacity: 0)
        swap(&s, &store)
        s.reset()
        self = SSHSide(store: s)
    }

    private init(store: FieldStore) { self.store = store }
}

/// The SSH parser of one flow, reused from a pool with `reset()`; memory is reserved in `init`.
/// Each direction is a byte-driven state machine, so any split of the stream gives the same
/// result; a KEXINIT is walked as it streams by (never buffered whole), only the name-lists
/// HASSH needs are copied.
public struct SSHParser: Sendable {
    public let config: SSHConfig
    /// The client's side (to-server bytes) and the server's.
    public private(set) var client: SSHSide
    public private(set) var server: SSHSide

    public init(config: SSHConfig = .init()) {
        self.config = config
        client = SSHSide(config: config)
        server = SSHSide(config: config)
    }

    public mutating func reset() {
        client.reset()
        server.reset()
    }

    /// The side that sends in `direction`.
    public func side(_ direction: Direction) -> SSHSide { direction == .toServer ? client : server }

    /// Both sides sent NEWKEYS: the rest of the flow is encrypted.
    public var encrypted: Bool { client.newKeys && server.newKeys }

    /// Neither direction will be read any more (NEWKEYS or given up).
    public var finished: Bool { client.stage == .done && server.stage == .done }

    /// Lends a field of the side sending in `direction`.
    public func withField<R>(_ direction: Direction, _ f: Field, _ body: (ByteView) -> R) -> R {
        direction == .toServer ? client.store.withView(f, body) : server.store.withView(f, body)
    }

    /// Detection by content, on any port: the stream starts with `SSH-`. nil while fewer
    /// bytes than that have come and they agree with it.
    public static func probe(_ data: ByteView) -> Bool? {
        let magic = ("SSH-" as StaticString).byteView
        if data.count >= magic.count { return data.starts(with: magic) }
        return magic.starts(with: data) ? nil : false
    }

    /// Feeds in-order stream bytes of one direction. `gap`: bytes were lost before `data`;
    /// the framing cannot be recovered, so that direction is given up.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool) -> SSHEvents {
        var ev: SSHEvents
        if direction == .toServer {
            ev = client.feed(data, gap: gap, isServer: false, config: config)
        } else {
            ev = server.feed(data, gap: gap, isServer: true, config: config)
        }
        if ev.contains(.newKeys) && encrypted { ev.insert(.encrypted) }
        return ev
    }
}

extension SSHSide {
    static let msgKexinit: UInt8 = 20
    static let msgNewKeys: UInt8 = 21

    mutating func feed(_ data: ByteView, gap: Bool, isServer: Bool, config: SSHConfig) -> SSHEvents {
        var ev: SSHEvents = []
        if stage == .done { return ev }
        if gap {
            stop()
            ev.insert(.invalidRecord)
            return ev
        }
        var rest = data
        while !rest.isEmpty && stage != .done {
            switch stage {
            case .line:
                rest = readLine(rest, isServer: isServer, config: config, &ev)
            case .skipLine:
                rest = skipLine(rest, config: config, &ev)
            case .packetHeader:
                rest = readHeader(rest, config: config, &ev)
            case .packetBody:
                rest = readBody(rest, isServer: isServer, config: config, &ev)
            case .done:
                break
            }
        }
        return ev
    }

    mutating func stop() {
        stage = .done
        stopped = true
        kexActive = false
    }

    // MARK: Identification line

    /// Reads bytes of the line until its end (LF, CR LF, or a lone CR as Suricata accepts),
    /// up to `maxBanner` kept.
    mutating func readLine(_ data: ByteView, isServer: Bool, config: SSHConfig, _ ev: inout SSHEvents) -> ByteView {
        var i = 0
        if afterCR {
            afterCR = false
            if data.u8(0) == 0x0a { i = 1 }
        }
        if !line.isPresent { line = store.append(.empty) }
        let start = i
        while i < data.count {
            let b = data[checked: i]
            if b == 0x0a || b == 0x0d {
                line = store.extend(line, with: data.slice(start, i &- start) ?? .empty)
                if b == 0x0d { afterCR = true }
                lineEnded(isServer: isServer, config: config, &ev)
                return data.dropFirst(i &+ 1)
            }
            i &+= 1
            // Not an identification line: known as soon as its first bytes disagree with `SSH-`.
            let kept = Int(line.length) &+ (i &- start)
            if kept <= 4 && !prefixAgrees(data, from: start, to: i) {
                line = store.extend(line, with: data.slice(start, i &- start) ?? .empty)
                notBanner(isServer: isServer, config: config, &ev)
                return data.dropFirst(i)
            }
            if kept >= config.maxBanner {
                line = store.extend(line, with: data.slice(start, i &- start) ?? .empty)
                longBanner = true
                ev.insert(.longBanner)
                parseBanner(&ev)
                if stage == .done { return .empty }
                stage = .skipLine
                skippingBanner = true
                skipped = 0
                return data.dropFirst(i)
            }
        }
        line = store.extend(line, with: data.slice(start, data.count &- start) ?? .empty)
        return .empty
    }

    /// Whether the line so far (stored part plus `data[from..<to]`) is a prefix of `SSH-`.
    func prefixAgrees(_ data: ByteView, from: Int, to: Int) -> Bool {
        let magic = ("SSH-" as StaticString).byteView
        var k = Int(line.length)
        var ok = true
        store.withView(line) { stored in ok = magic.starts(with: stored.prefix(4)) }
        var j = from
        while ok && j < to && k < 4 {
            if data[checked: j] != magic[checked: k] { ok = false }
            j &+= 1
            k &+= 1
        }
        return ok
    }

    /// A line that is not an identification string: the server may send some before its own
    /// (skipped, not kept); anything else gives the direction up.
    mutating func notBanner(isServer: Bool, config: SSHConfig, _ ev: inout SSHEvents) {
        store.rewind(to: Int(line.offset))
        line = .absent
        if isServer && preLines < config.maxPreBannerLines {
            preLines &+= 1
            stage = .skipLine
            skippingBanner = false
            skipped = 0
        } else {
            ev.insert(.invalidBanner)
            stop()
        }
    }

    mutating func lineEnded(isServer: Bool, config: SSHConfig, _ ev: inout SSHEvents) {
        let isBanner = store.withView(line) { $0.starts(with: ("SSH-" as StaticString).byteView) }
        if !isBanner {
            notBanner(isServer: isServer, config: config, &ev)
            return
        }
        parseBanner(&ev)
        if stage != .done { stage = .packetHeader }
    }

    /// Splits the kept line: `SSH-` protoversion `-` softwareversion up to a space. A line
    /// without the second dash, or with an empty protocol version, is not a banner (Suricata
    /// gives up on it too).
    mutating func parseBanner(_ ev: inout SSHEvents) {
        let base = line.offset
        let (dash, space, count): (Int?, Int?, Int) = store.withView(line) { v in
            let d = v.firstIndex(of: UInt8(ascii: "-"), from: 4)
            let s = d.flatMap { v.firstIndex(of: 0x20, from: $0 &+ 1) }
            return (d, s, v.count)
        }
        guard let dash, dash > 4 else {
            ev.insert(.invalidBanner)
            stop()
            return
        }
        protoVersion = Field(offset: base &+ 4, length: Int32(dash &- 4))
        let swEnd = space ?? count
        softwareVersion = Field(offset: base &+ Int32(dash &+ 1), length: Int32(swEnd &- dash &- 1))
        bannerDone = true
        ev.insert(.banner)
    }

    /// Skips to the end of the line; then the banner (if it was the long one) is followed by
    /// packets, a pre-banner line by another line.
    mutating func skipLine(_ data: ByteView, config: SSHConfig, _ ev: inout SSHEvents) -> ByteView {
        var i = 0
        if afterCR {
            afterCR = false
            if data.u8(0) == 0x0a { i = 1 }
        }
        while i < data.count {
            let b = data[checked: i]
            if b == 0x0a || b == 0x0d {
                if b == 0x0d { afterCR = true }
                stage = skippingBanner ? .packetHeader : .line
                return data.dropFirst(i &+ 1)
            }
            i &+= 1
        }
        skipped &+= data.count
        if skipped > config.maxLineSkip {
            ev.insert(skippingBanner ? .longBanner : .invalidBanner)
            stop()
        }
        return .empty
    }

    // MARK: Binary packets

    mutating func readHeader(_ data: ByteView, config: SSHConfig, _ ev: inout SSHEvents) -> ByteView {
        var i = 0
        if afterCR {
            afterCR = false
            if data.u8(0) == 0x0a { i = 1 }
        }
        while i < data.count && headerBytes < 6 {
            let b = data[checked: i]
            switch headerBytes {
            case 0 ... 3: packetLength = packetLength << 8 | UInt32(b)
            case 4: padding = b
            default: code = b
            }
            headerBytes &+= 1
            i &+= 1
        }
        guard headerBytes == 6 else { return .empty }
        headerBytes = 0
        let length = packetLength
        packetLength = 0
        // Suricata refuses 0 and 1 (no room for padding length and code); ours also a length
        // no SSH implementation sends in the clear.
        guard length >= 2, length <= UInt32(config.maxPacket) else {
            ev.insert(.invalidRecord)
            stop()
            return .empty
        }
        bodyLeft = Int(length) &- 2
        if code == SSHSide.msgNewKeys {
            newKeys = true
            ev.insert(.newKeys)
            stage = .done
            return .empty
        }
        if code == SSHSide.msgKexinit && !kexinitDone {
            // Payload after the code = length - padding_length - 1 (RFC 4253 §6).
            let payload = Int(length) &- Int(padding) &- 2
            kexActive = payload > 0
            kexLeft = Swift.max(0, payload)
            kexStep = 0
            kexCookieLeft = 16
            kexList = 0
            kexLenBytes = 0
            kexLen = 0
            md5 = MD5()
        }
        stage = .packetBody
        return data.dropFirst(i)
    }

    mutating func readBody(_ data: ByteView, isServer: Bool, config: SSHConfig, _ ev: inout SSHEvents) -> ByteView {
        let n = Swift.min(bodyLeft, data.count)
        if kexActive {
            let payload = data.prefix(Swift.min(n, kexLeft))
            walkKexinit(payload, isServer: isServer, config: config, &ev)
        }
        bodyLeft &-= n
        if bodyLeft == 0 {
            // The packet ended before the KEXINIT's name-lists did: no HASSH (as Suricata,
            // whose KEXINIT parse fails on a short record).
            if kexActive { abandonKexinit() }
            stage = .packetHeader
        }
        return data.dropFirst(n)
    }

    /// Whether name-list `k` of a KEXINIT goes into this side's HASSH: kex (0), and the
    /// client-to-server (2, 4, 6) or server-to-client (3, 5, 7) encryption, MAC, compression.
    static func hasshList(_ k: Int, isServer: Bool) -> Bool {
        k == 0 || (k >= 2 && k <= 7 && (k & 1 == 1) == isServer)
    }

    mutating func walkKexinit(_ data: ByteView, isServer: Bool, config: SSHConfig, _ ev: inout SSHEvents) {
        var v = data
        while !v.isEmpty && kexActive {
            switch kexStep {
            case 0:
                let m = Swift.min(kexCookieLeft, v.count)
                kexCookieLeft &-= m
                kexLeft &-= m
                v = v.dropFirst(m)
                if kexCookieLeft == 0 { kexStep = 1 }
            case 1:
                kexLen = kexLen << 8 | UInt32(v[checked: 0])
                kexLenBytes &+= 1
                kexLeft &-= 1
                v = v.dropFirst(1)
                if kexLenBytes == 4 {
                    let len = kexLen
                    kexLenBytes = 0
                    kexLen = 0
                    // A name-list longer than what is left of the payload: not a KEXINIT we
                    // can trust, no HASSH.
                    guard len <= UInt32(kexLeft) else { abandonKexinit(); return }
                    kexListLeft = Int(len)
                    if SSHSide.hasshList(kexList, isServer: isServer) {
                        if kexList == 0 {
                            hasshString = store.append(.empty)
                        } else {
                            hasshAppend((";" as StaticString).byteView, config: config)
                        }
                    }
                    kexStep = 2
                    if kexListLeft == 0 { listEnded(isServer: isServer, &ev) }
                }
            default:
                let m = Swift.min(kexListLeft, v.count)
                if SSHSide.hasshList(kexList, isServer: isServer) { hasshAppend(v.prefix(m), config: config) }
                kexListLeft &-= m
                kexLeft &-= m
                v = v.dropFirst(m)
                if kexListLeft == 0 { listEnded(isServer: isServer, &ev) }
            }
        }
    }

    mutating func abandonKexinit() {
        kexActive = false
        hasshString = .absent
        hasshTruncated = false
    }

    mutating func hasshAppend(_ v: ByteView, config: SSHConfig) {
        md5.update(v)
        // The hash's 32 hex digits always fit: the store holds maxBanner + maxHasshString + 32.
        let room = Swift.min(config.maxHasshString &- Int(hasshString.length), store.remaining &- 32)
        if v.count > room { hasshTruncated = true }
        if room > 0 { hasshString = store.extend(hasshString, with: v.prefix(room)) }
    }

    mutating func listEnded(isServer: Bool, _ ev: inout SSHEvents) {
        kexList &+= 1
        kexStep = 1
        if kexList == 8 {
            hassh = appendHex(md5.finish(), count: 16, to: &store)
            kexinitDone = true
            kexActive = false
            ev.insert(.kexinit)
        }
    }
}
