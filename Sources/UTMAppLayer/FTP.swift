import UTMCore

/// Limits of one FTP control-channel parser. Every buffer is reserved in `init`.
public struct FTPConfig: Sendable {
    /// Longest line kept (command or reply line, without CRLF); the rest of a longer line is
    /// dropped and the transaction marked truncated (Suricata's ftp max-line-length idea).
    public var maxLine = 1024
    /// Commands waiting for their reply (pipelining); when full, the oldest is lent without one.
    public var maxPending = 4
    /// Reply lines kept per transaction (a multi-line FEAT or HELP reply can be long).
    public var maxReplyLines = 16
    /// Bytes of command name, argument and reply text kept per transaction.
    public var maxTransactionBytes = 2048

    public init() {}
}

/// The commands the parser gives a meaning to; others are `.other` (logged by name).
public enum FTPCommand: UInt8, Sendable {
    case other, user, pass, port, eprt, pasv, epsv, retr, stor, appe, stou, list, nlst, auth, quit

    /// Names as sent on the wire (upper case), indexed by raw value.
    static let names: [StaticString] = ["", "USER", "PASS", "PORT", "EPRT", "PASV", "EPSV", "RETR", "STOR",
                                        "APPE", "STOU", "LIST", "NLST", "AUTH", "QUIT"]
}

/// One command and its reply. Text fields live in the transaction's own store.
public struct FTPTransaction: Sendable {
    public var command: FTPCommand = .other
    /// False for a reply nothing asked for (the server's 220 greeting).
    public var hasCommand = false
    /// The command word, upper-cased, and what followed it after one space.
    public var commandName: Field = .absent
    public var argument: Field = .absent
    public var commandTruncated = false
    /// Every reply line as sent (without CRLF), up to `maxReplyLines`.
    public var replyLines: [Field] = []
    public var replyTruncated = false
    /// A final (non-1xx) reply ended the transaction.
    public var replyReceived = false
    /// The data-channel port the command (PORT/EPRT, `active`) or reply (227/229) named, 0 if none.
    public var dynamicPort: UInt16 = 0
    public var active = false
    /// The IPv4 address a PORT command named (big-endian value), for `ftpbounce`.
    public var portAddress: UInt32?
    /// The final reply code (0 until one arrived).
    public var code: UInt16 = 0
    /// The size a 125/150 reply announces ("… (1048576 bytes)."), -1 when none: the end of
    /// the file on the data connection.
    public var announcedSize: Int64 = -1
    public var store: FieldStore

    init(capacity: Int, lines: Int) {
        store = FieldStore(capacity: capacity)
        replyLines.reserveCapacity(lines)
    }

    mutating func reset() {
        command = .other; hasCommand = false
        commandName = .absent; argument = .absent; commandTruncated = false
        replyLines.removeAll(keepingCapacity: true)
        replyTruncated = false; replyReceived = false
        dynamicPort = 0; active = false; portAddress = nil; code = 0; announcedSize = -1
        store.reset()
    }

    /// Lends a stored field (empty when absent).
    public func withField<R>(_ f: Field, _ body: (ByteView) throws -> R) rethrows -> R {
        try store.withView(f, body)
    }
}

/// What the parser saw that was odd.
public struct FTPEvents: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A line longer than `maxLine` (its rest was dropped).
    public static let longLine = FTPEvents(rawValue: 1)
    /// More commands waited than `maxPending`.
    public static let overflow = FTPEvents(rawValue: 2)
    /// Bytes were lost (a gap): the line in progress was dropped.
    public static let gap = FTPEvents(rawValue: 4)
}

/// The FTP control channel (RFC 959, RFC 2428 EPRT/EPSV, RFC 4217 AUTH TLS) for one flow:
/// client lines are commands, server lines are replies — single-line `NNN text` or multi-line
/// `NNN-text` ... `NNN text` — and a command's transaction ends with its first non-1xx
/// (preliminary) reply. Lines are framed byte-driven in each direction with a fixed buffer, so
/// any split of the stream gives the same result. One parser per flow slot, reused with
/// `reset()`; `feed` does not allocate.
///
/// After a `234` answer to `AUTH` the channel is TLS: `encrypted` is set and the parser reads
/// nothing more.
public struct FTPParser: Sendable {
    public let config: FTPConfig
    /// Per direction (0 to server, 1 to client): the line being received and whether the rest
    /// of it is being dropped (too long, or after a gap).
    var line: [[UInt8]]
    /// Bit d: direction d drops the rest of its current line (after a gap).
    var dropping: UInt8 = 0
    /// The line being buffered was cut at `maxLine`.
    var pendingCommandTruncated = false
    var pendingReplyTruncated = false
    /// Transactions waiting for a reply, oldest first, as a ring over fixed slots.
    var slots: [FTPTransaction]
    var head = 0
    var count = 0
    /// A multi-line reply is open with this code (0: none).
    var multiLineCode: UInt16 = 0
    public private(set) var events: FTPEvents = []
    public private(set) var encrypted = false
    /// The last command the client sent and, if it was PORT, the address it named: what
    /// `ftpbounce` reads (Suricata keeps the current command in the flow's state).
    public private(set) var lastCommand: FTPCommand = .other
    public private(set) var lastPortAddress: UInt32?
    /// Transactions lent so far.
    public private(set) var transactions = 0

    public init(config: FTPConfig = .init()) {
        self.config = config
        var l: [UInt8] = []
        l.reserveCapacity(max(1, config.maxLine))
        line = [l, l]
        let n = max(1, config.maxPending)
        slots = (0 ..< n).map { _ in FTPTransaction(capacity: config.maxTransactionBytes, lines: config.maxReplyLines) }
    }

    public mutating func reset() {
        line[0].removeAll(keepingCapacity: true)
        line[1].removeAll(keepingCapacity: true)
        dropping = 0
        pendingCommandTruncated = false
        pendingReplyTruncated = false
        var i = 0
        while i < slots.count { slots[i].reset(); i &+= 1 }
        head = 0; count = 0; multiLineCode = 0
        events = []; encrypted = false
        lastCommand = .other; lastPortAddress = nil
        transactions = 0
    }

    /// A cheap look at a server's first bytes: an FTP greeting `220` followed by a space or a
    /// dash (the start of a multi-line greeting).
    public static func probeGreeting(_ data: ByteView) -> Bool {
        guard let a = data.u8(0), let b = data.u8(1), let c = data.u8(2), let d = data.u8(3) else { return false }
        return a == UInt8(ascii: "2") && b == UInt8(ascii: "2") && c == UInt8(ascii: "0")
            && (d == 0x20 || d == UInt8(ascii: "-"))
    }

    /// The newest transaction still waiting for its reply (a transfer command in progress).
    public var newest: FTPTransaction? {
        count > 0 ? slots[(head &+ count &- 1) % slots.count] : nil
    }

    // MARK: Feeding

    /// Stream bytes of one direction; completed transactions are lent to `onTransaction`.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onTransaction: (FTPTransaction) -> Void) {
        guard !encrypted else { return }
        let d = direction == .toServer ? 0 : 1
        if gap {
            events.insert(.gap)
            line[d].removeAll(keepingCapacity: true)
            dropping |= 1 << UInt8(d)
        }
        var rest = data
        while !rest.isEmpty && !encrypted {
            guard let lf = rest.firstIndex(of: 0x0a) else {
                append(rest, d)
                return
            }
            let piece = rest.prefix(lf)
            rest = rest.dropFirst(lf &+ 1)
            if dropping & (1 << UInt8(d)) != 0 {
                dropping &= ~(1 << UInt8(d))
                line[d].removeAll(keepingCapacity: true)
                continue
            }
            if line[d].isEmpty {
                lineDone(piece, d, onTransaction)
            } else {
                append(piece, d)
                // Swapped out while the line is read (`lineDone` mutates self), then back
                // emptied: the buffer stays uniquely owned, so nothing is copied.
                var buffered: [UInt8] = []
                swap(&buffered, &line[d])
                buffered.withUnsafeBytes { lineDone(ByteView($0), d, onTransaction) }
                buffered.removeAll(keepingCapacity: true)
                swap(&buffered, &line[d])
            }
        }
    }

    /// The flow ended: commands still waiting are lent without a reply.
    public mutating func finish(onTransaction: (FTPTransaction) -> Void) {
        while count > 0 { popOldest(onTransaction) }
    }

    mutating func append(_ v: ByteView, _ d: Int) {
        guard dropping & (1 << UInt8(d)) == 0 else { return }
        let room = config.maxLine &- line[d].count
        if v.count > room {
            v.prefix(max(0, room)).withUnsafeBytes { line[d].append(contentsOf: $0) }
            events.insert(.longLine)
            // The kept part is still handled at the line's end; mark what it belongs to.
            if d == 0 { pendingCommandTruncated = true } else { pendingReplyTruncated = true }
        } else {
            v.withUnsafeBytes { line[d].append(contentsOf: $0) }
        }
    }

    mutating func lineDone(_ raw: ByteView, _ d: Int, _ onTransaction: (FTPTransaction) -> Void) {
        var l = raw
        if let last = l.u8(l.count &- 1), last == 0x0d { l = l.prefix(l.count &- 1) }
        if l.count > config.maxLine {
            l = l.prefix(config.maxLine)
            events.insert(.longLine)
            if d == 0 { pendingCommandTruncated = true } else { pendingReplyTruncated = true }
        }
        if d == 0 { command(l, onTransaction) } else { reply(l, onTransaction) }
    }

    // MARK: Commands

    mutating func command(_ l: ByteView, _ onTransaction: (FTPTransaction) -> Void) {
        let truncated = pendingCommandTruncated
        pendingCommandTruncated = false
        guard !l.isEmpty else { return }
        if count == slots.count {
            events.insert(.overflow)
            popOldest(onTransaction)
        }
        let i = (head &+ count) % slots.count
        count &+= 1
        slots[i].reset()
        slots[i].hasCommand = true
        slots[i].commandTruncated = truncated
        let space = l.firstIndex(of: 0x20) ?? l.count
        let word = l.prefix(Swift.min(space, 32))
        var name = Field(offset: Int32(slots[i].store.used), length: 0)
        var k = 0
        while k < word.count {
            let c = word[checked: k]
            if slots[i].store.appendByte(c >= 0x61 && c <= 0x7a ? c &- 0x20 : c) { name.length &+= 1 }
            k &+= 1
        }
        slots[i].commandName = name
        let cmd = Self.lookup(word)
        slots[i].command = cmd
        if space < l.count {
            let arg = l.dropFirst(space &+ 1)
            slots[i].argument = slots[i].store.append(arg)
            if slots[i].store.truncated { slots[i].commandTruncated = true }
            switch cmd {
            case .port:
                if let (addr, port) = Self.parseHostPort(arg) {
                    slots[i].portAddress = addr
                    slots[i].dynamicPort = port
                }
                slots[i].active = true
            case .eprt:
                slots[i].dynamicPort = Self.parseEPRTPort(arg)
                slots[i].active = true
            default:
                break
            }
        } else if cmd == .port || cmd == .eprt {
            slots[i].active = true
        }
        lastCommand = cmd
        lastPortAddress = cmd == .port ? slots[i].portAddress : nil
    }

    static func lookup(_ word: ByteView) -> FTPCommand {
        guard word.count == 4 else { return .other }
        var r = 1
        while r < FTPCommand.names.count {
            let n = FTPCommand.names[r].byteView
            var k = 0
            while k < 4, word[checked: k] | 0x20 == n[checked: k] | 0x20 { k &+= 1 }
            if k == 4 { return FTPCommand(rawValue: UInt8(r)) ?? .other }
            r &+= 1
        }
        return .other
    }

    // MARK: Replies

    mutating func reply(_ l: ByteView, _ onTransaction: (FTPTransaction) -> Void) {
        let truncated = pendingReplyTruncated
        pendingReplyTruncated = false
        if count == 0 {
            // A reply nothing asked for: the greeting (or one after a lost command).
            slots[head].reset()
            count = 1
        }
        let i = head
        if truncated { slots[i].replyTruncated = true }
        if slots[i].replyLines.count < config.maxReplyLines {
            let f = slots[i].store.append(l)
            if slots[i].store.truncated { slots[i].replyTruncated = true }
            slots[i].replyLines.append(f)
        } else {
            slots[i].replyTruncated = true
        }
        let code = Self.code(l)
        let sep = l.u8(3)
        if multiLineCode != 0 {
            // Inside a multi-line reply only `NNN ` with the same code ends it.
            guard code == multiLineCode, sep != UInt8(ascii: "-") else { return }
            multiLineCode = 0
        } else {
            guard code != 0 else { return }   // not a reply line: kept as text only
            if sep == UInt8(ascii: "-") {
                multiLineCode = code
                return
            }
        }
        finalReply(code, l, onTransaction)
    }

    mutating func finalReply(_ code: UInt16, _ l: ByteView, _ onTransaction: (FTPTransaction) -> Void) {
        let i = head
        slots[i].code = code
        switch code {
        case 227: if let (_, port) = Self.parseHostPort(l.dropFirst(4)) { slots[i].dynamicPort = port }
        case 229: slots[i].dynamicPort = Self.parseEPSVPort(l.dropFirst(4))
        case 234: if slots[i].command == .auth { encrypted = true }
        case 125, 150: slots[i].announcedSize = Self.parseAnnouncedSize(l)
        default: break
        }
        // A preliminary reply (1xx: "150 Opening data connection") keeps the transaction open
        // for its completion (226), as Suricata does.
        if code >= 100 && code < 200 { return }
        slots[i].replyReceived = true
        popOldest(onTransaction)
    }

    mutating func popOldest(_ onTransaction: (FTPTransaction) -> Void) {
        guard count > 0 else { return }
        transactions &+= 1
        onTransaction(slots[head])
        head = (head &+ 1) % slots.count
        count &-= 1
        multiLineCode = 0
    }

    /// `NNN` at the start of a line (100...599), else 0.
    public static func code(_ l: ByteView) -> UInt16 {
        guard let a = l.u8(0), let b = l.u8(1), let c = l.u8(2),
              a >= 0x31, a <= 0x35, b >= 0x30, b <= 0x39, c >= 0x30, c <= 0x39 else { return 0 }
        if let s = l.u8(3), s != 0x20, s != UInt8(ascii: "-") { return 0 }
        return UInt16(a &- 0x30) &* 100 &+ UInt16(b &- 0x30) &* 10 &+ UInt16(c &- 0x30)
    }

    // MARK: Addresses and ports

    /// `h1,h2,h3,h4,p1,p2` (PORT's argument, or inside a 227 reply after any text): the IPv4
    /// address as a big-endian value and the port. Nil unless six numbers 0...255 are found.
    static func parseHostPort(_ v: ByteView) -> (UInt32, UInt16)? {
        var at = 0
        while at < v.count, let c = v.u8(at), c < 0x30 || c > 0x39 { at &+= 1 }
        var numbers: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0)
        var n = 0
        while n < 6 {
            var value: UInt32 = 0
            var digits = 0
            while let c = v.u8(at), c >= 0x30, c <= 0x39, digits < 4 {
                value = value &* 10 &+ UInt32(c &- 0x30)
                digits &+= 1
                at &+= 1
            }
            guard digits > 0, value <= 255 else { return nil }
            switch n {
            case 0: numbers.0 = value
            case 1: numbers.1 = value
            case 2: numbers.2 = value
            case 3: numbers.3 = value
            case 4: numbers.4 = value
            default: numbers.5 = value
            }
            n &+= 1
            if n < 6 {
                while let c = v.u8(at), c == 0x20 { at &+= 1 }
                guard v.u8(at) == UInt8(ascii: ",") else { return nil }
                at &+= 1
                while let c = v.u8(at), c == 0x20 { at &+= 1 }
            }
        }
        let addr = numbers.0 << 24 | numbers.1 << 16 | numbers.2 << 8 | numbers.3
        return (addr, UInt16(numbers.4 << 8 | numbers.5))
    }

    /// The last `(N bytes` of a line (vsFTPd, ProFTPD, IIS word their 150 replies so), -1 if none.
    static func parseAnnouncedSize(_ l: ByteView) -> Int64 {
        var open = -1
        var i = 0
        while i < l.count { if l[checked: i] == UInt8(ascii: "(") { open = i }; i &+= 1 }
        guard open >= 0 else { return -1 }
        var v: Int64 = 0
        var at = open &+ 1
        var digits = 0
        while let c = l.u8(at), c >= 0x30, c <= 0x39, digits < 15 {
            v = v &* 10 &+ Int64(c &- 0x30)
            digits &+= 1
            at &+= 1
        }
        guard digits > 0, l.u8(at) == 0x20, let b = l.u8(at &+ 1), b | 0x20 == UInt8(ascii: "b") else { return -1 }
        return v
    }

    /// EPRT's `<d>proto<d>address<d>port<d>` (RFC 2428): the port, 0 when malformed.
    static func parseEPRTPort(_ v: ByteView) -> UInt16 {
        guard let delim = v.u8(0) else { return 0 }
        var fields = 0
        var at = 1
        while at < v.count, fields < 2 {
            if v[checked: at] == delim { fields &+= 1 }
            at &+= 1
        }
        return fields == 2 ? decimalPort(v, from: at, until: delim) : 0
    }

    /// 229's `(<d><d><d>port<d>)`: the port, 0 when malformed.
    static func parseEPSVPort(_ v: ByteView) -> UInt16 {
        guard let open = v.firstIndex(of: UInt8(ascii: "(")), let delim = v.u8(open &+ 1),
              v.u8(open &+ 2) == delim, v.u8(open &+ 3) == delim else { return 0 }
        return decimalPort(v, from: open &+ 4, until: delim)
    }

    static func decimalPort(_ v: ByteView, from: Int, until delim: UInt8) -> UInt16 {
        var value: UInt32 = 0
        var at = from
        var digits = 0
        while let c = v.u8(at), c >= 0x30, c <= 0x39, digits < 6 {
            value = value &* 10 &+ UInt32(c &- 0x30)
            digits &+= 1
            at &+= 1
        }
        guard digits > 0, value <= 65535, v.u8(at) == delim else { return 0 }
        return UInt16(value)
    }
}
