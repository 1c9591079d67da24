import UTMCore

// SMTP (RFC 5321) for the IPS: both directions of one mail session, commands matched with
// their replies in order (RFC 2920 pipelining, multi-line replies), the message of each mail
// transaction (DATA with dot-unstuffing, RFC 3030 BDAT chunks) with its headers parsed and
// kept bounded, AUTH exchanges skipped, STARTTLS handed over to TLS. Suricata's
// app-layer-smtp.c is the model (events, what a transaction is); nothing here grows with input.

/// Limits of one SMTP parser. Every buffer is reserved in `init`.
public struct SMTPConfig: Sendable {
    /// Longest command or reply line kept (without CRLF); the rest of a longer line is dropped.
    public var maxLine = 4096
    /// RFC 5321 §4.5.3.1.4/5: 512 bytes with CRLF. Longer lines raise Suricata's
    /// `max_command_line_len_exceeded` / `max_reply_line_len_exceeded`.
    public var maxCommandLine = 510
    public var maxReplyLine = 510
    /// Longest message line kept for header parsing (RFC 5322: 998); longer ones are cut and
    /// raise `truncated_line`.
    public var maxMessageLine = 4096
    /// Commands waiting for their reply (pipelining); when full the oldest is forgotten.
    public var maxPending = 32
    /// Recipients kept per transaction (all are counted).
    public var maxRecipients = 16
    /// `Received:` headers kept per message.
    public var maxReceived = 8
    /// URLs (`http://`, `https://`) kept from the message body, for `email.url` and EVE.
    public var maxURLs = 8
    /// Longest URL kept.
    public var maxURL = 512
    /// Bytes of MAIL FROM, RCPT TO and header values kept per transaction.
    public var maxTransactionBytes = 16384
    /// Bytes kept of one header value (unfolded), so a huge To list cannot starve the Subject
    /// of the store (a 1999 capture's 270-address To did).
    public var maxHeaderValue = 4096
    /// Bytes of the HELO/EHLO argument kept.
    public var maxHelo = 256
    /// Bytes kept of a MAIL FROM / RCPT TO path (RFC 5321 §4.5.3.1.3: 256 octets), so long
    /// (even refused) recipients cannot fill the store before the message's headers.
    public var maxPath = 256
    /// Store bytes held back for each single header (From, To, Cc, Subject, Date, Message-ID,
    /// X-Mailer) not seen yet: nothing else (Received, paths, URLs, another single) takes them.
    public var headerReserve = 256
    /// Part of the store all `Received:` headers together may take (a sender writes them
    /// freely and relays prepend them).
    public var receivedShare = 4
    /// Client bytes held after STARTTLS, AUTH or DATA until its reply (the client waits, so this
    /// is a ClientHello sent early, or lines a refusing server reads as commands). Past it the
    /// parser stops waiting (`hold_overflow`): commands after STARTTLS/AUTH, the message after DATA.
    public var maxHold = 4096

    public init() {}
}

/// The commands the parser gives a meaning to.
public enum SMTPCommand: UInt8, Sendable {
    case other, helo, ehlo, mail, rcpt, data, bdat, rset, quit, auth, starttls
    /// Not sent by the client: the end of a DATA message (its `.`), whose reply comes next.
    case dataEnd
}

/// Where the message of a transaction got to (Suricata's MIME parser status names in EVE).
public enum SMTPMessageState: UInt8, Sendable {
    case none, headers, body, done, error

    public var eveName: StaticString {
        switch self {
        case .none: "UNKNOWN"
        case .headers: "HEADER_READY"
        case .body: "BODY_STARTED"
        case .done: "PARSE_DONE"
        case .error: "PARSE_ERROR"
        }
    }
}

/// One mail transaction: MAIL FROM, its recipients and its message's headers. Text fields
/// live in the transaction's own store.
public struct SMTPTransaction: Sendable {
    public var helo: Field = .absent
    public var mailFrom: Field = .absent
    /// Recipients as sent (`<a@b>`), up to `maxRecipients`; `recipientCount` counts them all.
    public var rcptTo: [Field] = []
    public var recipientCount = 0
    /// Bit k: the server refused recipient k (a 5xx/4xx reply to its RCPT).
    public var rcptRejected: UInt32 = 0
    public var from: Field = .absent
    public var to: Field = .absent
    public var cc: Field = .absent
    public var subject: Field = .absent
    public var date: Field = .absent
    public var messageID: Field = .absent
    public var xMailer: Field = .absent
    public var received: [Field] = []
    /// URLs found in the body's lines as sent (not inside base64 parts), up to `maxURLs`.
    public var urls: [Field] = []
    public var message: SMTPMessageState = .none
    /// Message bytes after dot-unstuffing (headers and body).
    public var messageBytes: Int64 = 0
    /// A field did not fit the store, or there were more recipients/Received than kept.
    public var truncated = false
    public var store: FieldStore

    init(capacity: Int, recipients: Int, received: Int, urls: Int) {
        store = FieldStore(capacity: capacity)
        rcptTo.reserveCapacity(recipients)
        self.received.reserveCapacity(received)
        self.urls.reserveCapacity(urls)
    }

    mutating func reset() {
        helo = .absent; mailFrom = .absent
        rcptTo.removeAll(keepingCapacity: true); recipientCount = 0; rcptRejected = 0
        from = .absent; to = .absent; cc = .absent; subject = .absent; date = .absent
        messageID = .absent; xMailer = .absent
        received.removeAll(keepingCapacity: true)
        urls.removeAll(keepingCapacity: true)
        message = .none; messageBytes = 0; truncated = false
        store.reset()
    }

    /// Lends a stored field (empty when absent).
    public func withField<R>(_ f: Field, _ body: (ByteView) throws -> R) rethrows -> R {
        try store.withView(f, body)
    }
}

/// What `feed` reports: a transaction that ended, and the message as it streams (raw bytes,
/// dot-unstuffed) for a MIME decoder (the IPS's SMTP `file_data`).
public enum SMTPEvent {
    case transaction(SMTPTransaction)
    case messageBegin
    /// Message bytes as the server stores them (dot-unstuffed, line ends kept), in arbitrary
    /// pieces: a line is never cut here, so a one-line base64 part reaches the decoder whole.
    case messageData(ByteView)
    /// `complete`: the message ended at its `.` or BDAT LAST; false when cut (RSET, a gap...).
    case messageEnd(complete: Bool)
}

/// The client side's mode: what its next bytes are.
enum SMTPClientMode: UInt8 {
    case command, data, bdat, auth, tlsPending
    /// An AUTH exchange waits for the server: its next reply says whether the client's next
    /// line is a response (334) or a command (235, 5xx), so the bytes are held until then.
    case authPending
    /// DATA waits for its reply: 354 makes the client's next bytes the message, a refusal
    /// makes them commands (RFC 2920 §3.1: DATA ends a pipelined group, the client waits), so
    /// the bytes are held until then. BDAT needs no reply: its count says where the chunk ends.
    case dataPending
}

/// Which kept header a message header line is (continuations extend it).
enum SMTPHeader: UInt8 {
    case none, from, to, cc, subject, date, messageID, xMailer, received

    static let names: [StaticString] = ["", "from", "to", "cc", "subject", "date", "message-id", "x-mailer", "received"]
}

/// SMTP for one flow. One parser per flow slot, reused with `reset()`; `feed` does not
/// allocate. Completed transactions are lent to the caller's closure.
public struct SMTPParser: Sendable {
    public let config: SMTPConfig
    /// Command (0) and reply (1) lines being received.
    var line: [[UInt8]]
    /// The message line being received (DATA and BDAT share it: a BDAT chunk may end mid-line).
    var msgLine: [UInt8]
    var msgLineCut = false
    /// Bytes of the current message line seen so far (uncapped): 0 at a line start, where
    /// DATA's dot rules apply. A gap sets it to 1: the next bytes are the tail of a line.
    var msgLineRaw = 0
    /// DATA: the current line began with a dot at a true line start (stuffing to undo), and the
    /// line so far is only `.` or `.\r`, held until its end tells the terminator from a line.
    var lineDotted = false
    var heldDot = false
    /// Bit d: direction d drops the rest of its current line (too long, or after a gap).
    var dropping: UInt8 = 0
    var lineLong: UInt8 = 0
    /// Commands waiting for their reply, oldest first (a ring); consecutive identical
    /// commands (40 pipelined RCPTs) share a slot with a repeat count.
    var pending: [SMTPCommand]
    var pendingRepeat: [Int32]
    /// The ring overflowed: replies can no longer be matched for sure, so none of them may
    /// take the parser out of a message (a "refused" DATA) or into TLS on its own.
    public private(set) var repliesUnreliable = false
    /// Client bytes after STARTTLS, waiting for its reply (`held`; `heldSpare` is the second
    /// reserved buffer a replay holds into), and whether some were lost.
    var held: [UInt8]
    var heldSpare: [UInt8]
    public private(set) var heldLost = false
    var head = 0
    var count = 0
    /// A multi-line reply is open with this code (0: none).
    var multiLineCode: UInt16 = 0
    var clientMode: SMTPClientMode = .command
    /// BDAT: chunk bytes still to come, and whether it is the LAST chunk.
    var bdatRemaining: Int64 = 0
    var bdatLast = false
    /// Message parsing: still in the header section, and the header being unfolded.
    var inHeaders = true
    var header: SMTPHeader = .none
    var headerField: Field = .absent
    /// The transaction being built and whether it has begun (MAIL, RCPT, DATA or BDAT seen).
    public private(set) var tx: SMTPTransaction
    var txOpen = false
    /// Bit k: single header k (SMTPHeader.from ... .xMailer) was stored; store bytes taken by
    /// Received headers. Both budget the transaction store (`room`).
    var singlesSeen: UInt8 = 0
    var receivedUsed = 0
    /// RCPT replies read in this transaction (which recipient the next one answers).
    var rcptReplies = 0
    var heloStore: FieldStore
    var helo: Field = .absent
    public private(set) var greetingSeen = false
    /// The EHLO reply advertised PIPELINING (RFC 2920) / was read at all.
    public private(set) var pipelining = false
    var ehloReplied = false
    /// The server accepted STARTTLS (220): the flow carries TLS from the next byte of the
    /// server's stream after the reply line (`tlsStart`) and of the client's next chunk.
    public private(set) var tlsStarted = false
    /// Offset in the bytes of the `feed` call that started TLS where TLS begins (-1: none).
    public private(set) var tlsStart = -1
    public private(set) var transactions = 0
    var events: AppLayerEvents = []

    public init(config: SMTPConfig = .init()) {
        self.config = config
        var l: [UInt8] = []
        l.reserveCapacity(max(1, config.maxLine))
        line = [l, l]
        msgLine = []
        msgLine.reserveCapacity(max(1, config.maxMessageLine))
        pending = [SMTPCommand](repeating: .other, count: max(1, config.maxPending))
        pendingRepeat = [Int32](repeating: 0, count: max(1, config.maxPending))
        held = []
        held.reserveCapacity(max(1, config.maxHold))
        heldSpare = []
        heldSpare.reserveCapacity(max(1, config.maxHold))
        tx = SMTPTransaction(capacity: config.maxTransactionBytes, recipients: config.maxRecipients,
                             received: config.maxReceived, urls: config.maxURLs)
        heloStore = FieldStore(capacity: config.maxHelo)
    }

    public mutating func reset() {
        line[0].removeAll(keepingCapacity: true)
        line[1].removeAll(keepingCapacity: true)
        msgLine.removeAll(keepingCapacity: true)
        msgLineCut = false; msgLineRaw = 0; lineDotted = false; heldDot = false
        dropping = 0; lineLong = 0
        head = 0; count = 0; multiLineCode = 0; repliesUnreliable = false
        held.removeAll(keepingCapacity: true); heldSpare.removeAll(keepingCapacity: true); heldLost = false
        clientMode = .command; bdatRemaining = 0; bdatLast = false
        inHeaders = true; header = .none; headerField = .absent
        tx.reset(); txOpen = false; rcptReplies = 0
        heloStore.reset(); helo = .absent
        greetingSeen = false; pipelining = false; ehloReplied = false
        tlsStarted = false; tlsStart = -1
        transactions = 0
        events = []
    }

    /// The anomalies raised since the last call (Suricata's smtp events).
    public mutating func takeAppEvents() -> AppLayerEvents {
        let e = events
        events = []
        return e
    }

    /// A server's first bytes: `220` then a space or a dash (SMTP greets like FTP; the caller
    /// decides by port, as Suricata's probing parser for the server side does).
    public static func probeGreeting(_ data: ByteView) -> Bool { FTPParser.probeGreeting(data) }

    // MARK: Feeding

    /// Stream bytes of one direction; transactions are lent to `onTransaction` when they end
    /// (message end, RSET, QUIT, a new MAIL, STARTTLS, `finish`).
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onTransaction: (SMTPTransaction) -> Void) {
        feed(data, direction: direction, gap: gap, on: { if case .transaction(let tx) = $0 { onTransaction(tx) } })
    }

    /// The same with the message's lines too.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool, on onTransaction: (SMTPEvent) -> Void) {
        guard !tlsStarted else { return }
        let d = direction == .toServer ? 0 : 1
        if gap { lostBytes(d) }
        var rest = data
        while !rest.isEmpty && !tlsStarted {
            if d == 0 {
                switch clientMode {
                case .tlsPending, .authPending, .dataPending:
                    // RFC 3207: the client waits for the 220, so bytes before it are a
                    // ClientHello sent early, or commands a refusing server reads: held until
                    // the reply says which (the engine hands them to TLS after a 220). AUTH
                    // alike: after a 334 the next line is a response, after a refusal a command.
                    let room = config.maxHold &- held.count
                    if rest.count <= room {
                        rest.withUnsafeBytes { held.append(contentsOf: $0) }
                        return
                    }
                    // More than a ClientHello: not a TLS client waiting; read them as SMTP.
                    // After DATA: a client that does not wait sends its message (the server
                    // would not be refusing a DATA it had no reason to refuse).
                    clientMode = clientMode == .dataPending ? .data : .command
                    events.insert(AppLayerEvents.SMTP.holdOverflow)
                    replayHeld(onTransaction)
                    continue
                case .bdat:
                    let n = Int(Swift.min(bdatRemaining, Int64(rest.count)))
                    messageBytes(rest.prefix(n), dotted: false, onTransaction)
                    rest = rest.dropFirst(n)
                    bdatRemaining &-= Int64(n)
                    if bdatRemaining == 0 {
                        clientMode = .command
                        if bdatLast {
                            if !msgLine.isEmpty || msgLineCut { flushMessageLine(onTransaction) }
                            endMessage(dotted: false, onTransaction)
                        }
                    }
                    continue
                case .data:
                    rest = messageBytes(rest, dotted: true, onTransaction)
                    continue
                case .command, .auth:
                    break
                }
            }
            guard let lf = rest.firstIndex(of: 0x0a) else {
                append(rest, d)
                return
            }
            let piece = rest.prefix(lf)
            let consumed = data.count &- rest.count &+ lf &+ 1
            rest = rest.dropFirst(lf &+ 1)
            if dropping & (1 << UInt8(d)) != 0 {
                dropping &= ~(1 << UInt8(d))
                line[d].removeAll(keepingCapacity: true)
                lineLong &= ~(1 << UInt8(d))
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
            if tlsStarted { tlsStart = consumed }
        }
    }

    /// The flow ended: the open transaction is lent as it stands.
    public mutating func finish(onTransaction: (SMTPTransaction) -> Void) {
        finish(on: { if case .transaction(let tx) = $0 { onTransaction(tx) } })
    }

    public mutating func finish(on onTransaction: (SMTPEvent) -> Void) {
        // No reply came to the command the bytes wait for (a server that reads on and answers
        // nothing, or a capture without it): they are read, not dropped. After STARTTLS or
        // AUTH as commands (a server that answers nothing did not start TLS), after DATA as
        // the message (no refusal came).
        // A replay may hold again (a DATA among the bytes): each round reads at least one line,
        // so the held bytes shrink and the loop ends.
        while !held.isEmpty && !tlsStarted {
            switch clientMode {
            case .tlsPending, .authPending: clientMode = .command
            case .dataPending: clientMode = .data
            default: break
            }
            replayHeld(onTransaction)
        }
        closeTransaction(onTransaction)
        count = 0
    }

    /// Client bytes held after STARTTLS, read as SMTP (the server refused, or they were too
    /// many for a ClientHello). Moved out first: a STARTTLS among them holds into the spare.
    mutating func replayHeld(_ onTransaction: (SMTPEvent) -> Void) {
        guard !held.isEmpty else { return }
        swap(&held, &heldSpare)
        var replay: [UInt8] = []
        swap(&replay, &heldSpare)
        let lost = heldLost
        heldLost = false
        replay.withUnsafeBytes { feed(ByteView($0), direction: .toServer, gap: lost, on: onTransaction) }
        replay.removeAll(keepingCapacity: true)
        swap(&replay, &heldSpare)
    }

    /// The client's bytes held after an accepted STARTTLS (its ClientHello), swapped out for
    /// the engine's TLS parser and back (the buffer stays reserved, nothing is copied).
    public mutating func swapHeld(_ other: inout [UInt8]) {
        swap(&held, &other)
    }

    /// A gap: the line in progress is dropped; a BDAT chunk's count cannot be trusted any more.
    mutating func lostBytes(_ d: Int) {
        line[d].removeAll(keepingCapacity: true)
        dropping |= 1 << UInt8(d)
        if d == 0 {
            if clientMode == .data || clientMode == .bdat {
                msgLine.removeAll(keepingCapacity: true)
                msgLineCut = true
                // The next bytes are a line's tail (never DATA's terminator); the message path
                // resynchronises at the next line end, so the command path must not drop too.
                msgLineRaw = 1
                lineDotted = false; heldDot = false
                if clientMode == .data { dropping &= ~1 }
            }
            if clientMode == .bdat { clientMode = .command; bdatRemaining = 0 }
            if clientMode == .tlsPending || clientMode == .authPending || clientMode == .dataPending { heldLost = true }
            if txOpen { tx.truncated = true }
        } else {
            multiLineCode = 0
        }
    }

    mutating func append(_ v: ByteView, _ d: Int) {
        guard dropping & (1 << UInt8(d)) == 0 else { return }
        let room = config.maxLine &- line[d].count
        if v.count > room {
            v.prefix(max(0, room)).withUnsafeBytes { line[d].append(contentsOf: $0) }
            lineLong |= 1 << UInt8(d)
        } else {
            v.withUnsafeBytes { line[d].append(contentsOf: $0) }
        }
    }

    mutating func lineDone(_ raw: ByteView, _ d: Int, _ onTransaction: (SMTPEvent) -> Void) {
        var l = raw
        var long = lineLong & (1 << UInt8(d)) != 0
        lineLong &= ~(1 << UInt8(d))
        if let last = l.u8(l.count &- 1), last == 0x0d { l = l.prefix(l.count &- 1) }
        if l.count > config.maxLine { l = l.prefix(config.maxLine); long = true }
        if d == 0 {
            if long || l.count > config.maxCommandLine { events.insert(AppLayerEvents.SMTP.maxCommandLineLenExceeded) }
            // An AUTH response (base64) answers the server's 334: one line per challenge.
            // The reply to it says what the next line is: held until then.
            if clientMode == .auth { clientMode = .authPending; return }
            command(l, onTransaction)
        } else {
            if long || l.count > config.maxReplyLine { events.insert(AppLayerEvents.SMTP.maxReplyLineLenExceeded) }
            reply(l, onTransaction)
        }
    }

    // MARK: Commands

    mutating func command(_ l: ByteView, _ onTransaction: (SMTPEvent) -> Void) {
        // An empty line is queued too: servers answer it (Postfix, Exim: 500), and a reply
        // left unmatched shifts every later one onto the wrong command.
        let cmd = Self.lookup(l)
        if count > 0 && ehloReplied && !pipelining && cmd != .other {
            // Suricata's invalid_pipelined_sequence: a command before the previous one's
            // reply while the server did not offer PIPELINING.
            events.insert(AppLayerEvents.SMTP.invalidPipelinedSequence)
        }
        push(cmd)
        switch cmd {
        case .helo, .ehlo:
            heloStore.reset()
            helo = heloStore.append(Self.trimmed(l.dropFirst(5)))
        case .mail:
            // A new transaction: the previous one ends here (RFC 5321 §3.3 needs RSET or an
            // end of message first, but a lenient server takes it).
            closeTransaction(onTransaction)
            openTransaction()
            tx.mailFrom = storeValue(Self.argument(l, after: 4), room: Swift.min(config.maxPath, room(.none)))
        case .rcpt:
            openTransaction()
            if tx.rcptTo.count < config.maxRecipients {
                tx.rcptTo.append(storeValue(Self.argument(l, after: 4), room: Swift.min(config.maxPath, room(.none))))
            } else {
                tx.truncated = true
            }
            tx.recipientCount &+= 1
        case .data:
            openTransaction()
            beginMessage(onTransaction)
            clientMode = .dataPending
        case .bdat:
            openTransaction()
            if tx.message == .none { beginMessage(onTransaction) }
            let (size, last) = Self.bdatArguments(l.dropFirst(5))
            bdatLast = last
            if size > 0 {
                bdatRemaining = size
                clientMode = .bdat
            } else if last {
                if !msgLine.isEmpty || msgLineCut { flushMessageLine(onTransaction) }
                endMessage(dotted: false, onTransaction)
            }
        case .rset, .quit:
            closeTransaction(onTransaction)
        case .auth:
            // The client's next line is a response only after a 334 challenge (`finalReply`):
            // a refused AUTH leaves the pipelined commands after it as commands. Which one is
            // known at the reply: the client's bytes wait for it.
            clientMode = .authPending
        case .starttls:
            closeTransaction(onTransaction)
            clientMode = .tlsPending
        case .other, .dataEnd:
            break
        }
    }

    mutating func push(_ cmd: SMTPCommand) {
        if count > 0 {
            let last = (head &+ count &- 1) % pending.count
            if pending[last] == cmd && pendingRepeat[last] < Int32.max {
                pendingRepeat[last] &+= 1
                return
            }
        }
        if count == pending.count {
            head = (head &+ 1) % pending.count
            count &-= 1
            repliesUnreliable = true
        }
        let at = (head &+ count) % pending.count
        pending[at] = cmd
        pendingRepeat[at] = 1
        count &+= 1
    }

    static let commandNames: [(StaticString, SMTPCommand)] = [
        ("HELO", .helo), ("EHLO", .ehlo), ("MAIL FROM:", .mail), ("RCPT TO:", .rcpt), ("DATA", .data),
        ("BDAT ", .bdat), ("RSET", .rset), ("QUIT", .quit), ("AUTH ", .auth), ("STARTTLS", .starttls),
    ]

    static func lookup(_ l: ByteView) -> SMTPCommand {
        var i = 0
        while i < commandNames.count {
            let n = commandNames[i].0.byteView
            if l.startsCaseInsensitive(with: n) {
                let c = commandNames[i].1
                // HELO/EHLO/DATA/RSET/QUIT/STARTTLS: the word must end there.
                if n.count == 4 || c == .starttls {
                    if let next = l.u8(n.count), next != 0x20 && next != 0x09 { return .other }
                }
                return c
            }
            i &+= 1
        }
        return .other
    }

    /// What follows `MAIL FROM:` / `RCPT TO:` (`after` is the word's length), spaces trimmed:
    /// the path with its angle brackets as Suricata keeps it, without the ESMTP parameters
    /// after it (`SIZE=`, `BODY=` are not part of the address).
    static func argument(_ l: ByteView, after: Int) -> ByteView {
        guard let colon = l.firstIndex(of: UInt8(ascii: ":"), from: after) else { return .empty }
        var v = trimmed(l.dropFirst(colon &+ 1))
        if v.u8(0) == UInt8(ascii: "<"), let close = v.firstIndex(of: UInt8(ascii: ">")) {
            v = v.prefix(close &+ 1)
        } else if let sp = v.firstIndex(of: 0x20) {
            v = v.prefix(sp)
        }
        return v
    }

    static func trimmed(_ v: ByteView) -> ByteView {
        var s = 0
        while let c = v.u8(s), c == 0x20 || c == 0x09 { s &+= 1 }
        var e = v.count
        while e > s, let c = v.u8(e &- 1), c == 0x20 || c == 0x09 { e &-= 1 }
        return v.slice(s, e &- s) ?? .empty
    }

    /// `BDAT <size> [LAST]`: the chunk size (0 when malformed) and whether it is the last.
    /// Read as servers do (Exim's strtoul, Postfix's off_cvt_string): blanks, a `+` and
    /// leading zeros do not count, so `BDAT 000...0100` is a 100-byte chunk.
    static func bdatArguments(_ v: ByteView) -> (Int64, Bool) {
        var at = 0
        while let c = v.u8(at), c == 0x20 || c == 0x09 { at &+= 1 }
        if v.u8(at) == UInt8(ascii: "+") { at &+= 1 }
        var size: Int64 = 0
        var digits = 0, significant = 0
        while let c = v.u8(at), c >= 0x30, c <= 0x39 {
            if significant > 0 || c != 0x30 {
                if significant < 15 { size = size &* 10 &+ Int64(c &- 0x30) }
                significant &+= 1
            }
            digits &+= 1
            at &+= 1
        }
        while let c = v.u8(at), c == 0x20 || c == 0x09 { at &+= 1 }
        let last = v.dropFirst(at).startsCaseInsensitive(with: ("LAST" as StaticString).byteView)
        return (digits > 0 && significant <= 15 ? size : 0, last)
    }

    // MARK: Transactions

    mutating func openTransaction() {
        guard !txOpen else { return }
        tx.reset()
        txOpen = true
        singlesSeen = 0
        receivedUsed = 0
        rcptReplies = 0
        heloStore.withView(helo) { tx.helo = tx.store.append($0) }
    }

    mutating func closeTransaction(_ onTransaction: (SMTPEvent) -> Void) {
        guard txOpen else { return }
        if clientMode == .data || clientMode == .bdat || clientMode == .dataPending {
            clientMode = .command
            if tx.message != .done { tx.message = .error }
            onTransaction(.messageEnd(complete: false))
        }
        txOpen = false
        transactions &+= 1
        onTransaction(.transaction(tx))
    }

    // MARK: The message

    mutating func beginMessage(_ onTransaction: (SMTPEvent) -> Void) {
        onTransaction(.messageBegin)
        inHeaders = true
        header = .none
        headerField = .absent
        msgLine.removeAll(keepingCapacity: true)
        msgLineCut = false; msgLineRaw = 0; lineDotted = false; heldDot = false
        tx.message = .headers
    }

    /// Message bytes: streamed out as they come (dot-unstuffed), each line also kept (capped
    /// at `maxMessageLine`) for the header parser. With `dotted` (DATA) a lone `.` ends the
    /// message and the bytes after it are returned (commands).
    @discardableResult
    mutating func messageBytes(_ v: ByteView, dotted: Bool, _ onTransaction: (SMTPEvent) -> Void) -> ByteView {
        var rest = v
        while !rest.isEmpty {
            let lf = rest.firstIndex(of: 0x0a)
            let complete = lf != nil
            let piece = lf.map { rest.prefix($0) } ?? rest
            let withLF = complete ? rest.prefix(piece.count &+ 1) : piece
            rest = complete ? rest.dropFirst(piece.count &+ 1) : .empty
            var skip = 0
            if dotted && heldDot {
                // The line so far is `.` or `.\r` (in msgLine): the terminator, or a stuffed line.
                let soFar = msgLine.count
                let cr = piece.count == 1 && piece.u8(0) == 0x0d
                if complete && (piece.isEmpty || (soFar == 1 && cr)) {
                    endMessage(dotted: true, onTransaction)
                    return rest
                }
                if !complete && soFar == 1 && cr {
                    appendMessage(piece)
                    msgLineRaw &+= 1
                    continue
                }
                heldDot = false
                if soFar == 2 { emitMessage(Self.cr.byteView, onTransaction) }
            } else if dotted && msgLineRaw == 0 && piece.u8(0) == UInt8(ascii: ".") {
                // RFC 5321 §4.5.2: a line's leading dot is stuffing; a lone one ends the data.
                let short = piece.count == 1 || (piece.count == 2 && piece.u8(1) == 0x0d)
                if short && complete {
                    endMessage(dotted: true, onTransaction)
                    return rest
                }
                lineDotted = true
                if short {
                    heldDot = true
                    appendMessage(piece)
                    msgLineRaw &+= piece.count
                    continue
                }
                skip = 1
            }
            emitMessage(withLF.dropFirst(skip), onTransaction)
            if complete && msgLine.isEmpty && !msgLineCut {
                // The whole line is in this chunk: read in place, nothing copied.
                messageText(piece)
                msgLineRaw = 0
                lineDotted = false
            } else {
                appendMessage(piece)
                msgLineRaw &+= piece.count
                if complete { flushMessageLine(onTransaction) }
            }
        }
        return .empty
    }

    static let cr: StaticString = "\r"

    mutating func emitMessage(_ v: ByteView, _ onTransaction: (SMTPEvent) -> Void) {
        guard !v.isEmpty else { return }
        tx.messageBytes &+= Int64(v.count)
        onTransaction(.messageData(v))
    }

    mutating func appendMessage(_ v: ByteView) {
        let room = config.maxMessageLine &- msgLine.count
        if v.count > room {
            if room > 0 { v.prefix(room).withUnsafeBytes { msgLine.append(contentsOf: $0) } }
            if !msgLineCut { events.insert(AppLayerEvents.SMTP.truncatedLine) }
            msgLineCut = true
        } else {
            v.withUnsafeBytes { msgLine.append(contentsOf: $0) }
        }
    }

    /// The kept message line is complete (its LF came, or a BDAT message ended without one):
    /// its text goes to the header parser (its bytes were streamed already).
    mutating func flushMessageLine(_ onTransaction: (SMTPEvent) -> Void) {
        var buffered: [UInt8] = []
        swap(&buffered, &msgLine)
        buffered.withUnsafeBytes { messageText(ByteView($0)) }
        buffered.removeAll(keepingCapacity: true)
        swap(&buffered, &msgLine)
        msgLineCut = false
        msgLineRaw = 0
        lineDotted = false
        heldDot = false
    }

    /// One message line's text (without LF) for the headers and body URLs.
    mutating func messageText(_ raw: ByteView) {
        var l = raw
        if l.count > config.maxMessageLine {
            l = l.prefix(config.maxMessageLine)
            events.insert(AppLayerEvents.SMTP.truncatedLine)
        }
        if let last = l.u8(l.count &- 1), last == 0x0d { l = l.prefix(l.count &- 1) }
        if lineDotted, l.u8(0) == UInt8(ascii: ".") { l = l.dropFirst(1) }
        if inHeaders { headerLine(l) } else { tx.message = .body; bodyURLs(l) }
    }

    static let http: StaticString = "http://"
    static let https: StaticString = "https://"

    /// `http://` and `https://` URLs of a body line, up to a blank, quote, angle bracket or
    /// parenthesis (Suricata's MIME decoder extracts body URLs for `email.url`; quoted-printable
    /// soft breaks and encoded parts are not undone here).
    mutating func bodyURLs(_ l: ByteView) {
        guard tx.urls.count < config.maxURLs, l.count >= 8 else { return }
        var from = 0
        while tx.urls.count < config.maxURLs, let h = l.firstIndex(ofLetterIgnoringCase: UInt8(ascii: "h"), from: from) {
            let rest = l.dropFirst(h)
            var start = -1
            if rest.startsCaseInsensitive(with: Self.http.byteView) || rest.startsCaseInsensitive(with: Self.https.byteView) { start = h }
            guard start >= 0 else { from = h &+ 1; continue }
            var e = start
            while let c = l.u8(e), c > 0x20, c != 0x22, c != 0x27, c != 0x3c, c != 0x3e, c != 0x28, c != 0x29, c != 0x7f { e &+= 1 }
            if let u = l.slice(start, Swift.min(e &- start, config.maxURL)), u.count > 8 {
                let f = storeValue(u, room: room(.none))
                if f.isPresent { tx.urls.append(f) }
            }
            from = Swift.max(e, h &+ 1)
        }
    }

    mutating func headerLine(_ l: ByteView) {
        if l.isEmpty {
            inHeaders = false
            header = .none
            tx.message = .body
            return
        }
        if let c = l.u8(0), c == 0x20 || c == 0x09 {
            // Folding (RFC 5322 §2.2.3): the CRLF goes, the whitespace stays.
            guard header != .none, headerField.isPresent else { return }
            let room = Swift.min(config.maxHeaderValue &- Int(headerField.length), room(header))
            if l.count > room { tx.truncated = true }
            guard room > 0 else { return }
            let grown = tx.store.extend(headerField, with: l.prefix(room))
            if tx.store.truncated { tx.truncated = true }
            if grown.offset == headerField.offset {
                if header == .received { receivedUsed &+= Int(grown.length &- headerField.length) }
                headerField = grown
                setHeader(grown)
            }
            return
        }
        header = .none
        headerField = .absent
        guard let colon = l.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return }
        // `Subject :` names the Subject too (blanks before the colon, as MIME parsers allow).
        let name = Self.trimmed(l.prefix(colon))
        var h = SMTPHeader.none
        var k = 1
        while k < SMTPHeader.names.count {
            if name.equalsCaseInsensitive(SMTPHeader.names[k].byteView) { h = SMTPHeader(rawValue: UInt8(k)) ?? .none; break }
            k &+= 1
        }
        guard h != .none else { return }
        if h == .received && tx.received.count >= config.maxReceived { tx.truncated = true; return }
        // A second From/To/Subject... : the first is kept (Suricata's MimeDecFindField finds
        // the first field of a name).
        if h != .received && current(h).isPresent { return }
        var value = l.dropFirst(colon &+ 1)
        while let c = value.u8(0), c == 0x20 || c == 0x09 { value = value.dropFirst(1) }
        if value.count > config.maxHeaderValue { tx.truncated = true; value = value.prefix(config.maxHeaderValue) }
        let f = storeValue(value, room: room(h))
        guard f.isPresent else { return }
        if h == .received { receivedUsed &+= Int(f.length) } else { singlesSeen |= 1 << (h.rawValue &- 1) }
        header = h
        headerField = f
        if h == .received { tx.received.append(f) } else { setHeader(f) }
    }

    /// Store bytes a value of header `h` may take (`.none`: a path or a URL): what is free
    /// less the reserve of the single headers not stored yet (other than `h`), and for
    /// Received what is left of their share.
    func room(_ h: SMTPHeader) -> Int {
        var unseen = 7 &- singlesSeen.nonzeroBitCount
        if h != .none && h != .received && singlesSeen & (1 << (h.rawValue &- 1)) == 0 { unseen &-= 1 }
        // A small store (tests, tight configs) reserves at most 1/32 of itself per header.
        let reserve = Swift.min(config.headerReserve, config.maxTransactionBytes / 32)
        var r = tx.store.remaining &- Swift.max(0, unseen) &* reserve
        if h == .received { r = Swift.min(r, config.maxTransactionBytes / Swift.max(1, config.receivedShare) &- receivedUsed) }
        return Swift.max(0, r)
    }

    /// `v` stored, cut to `room` (absent when there is none); a cut marks the transaction.
    mutating func storeValue(_ v: ByteView, room: Int) -> Field {
        if v.count > room { tx.truncated = true }
        guard room > 0 || v.isEmpty else { return .absent }
        let f = tx.store.append(v.prefix(room))
        if tx.store.truncated { tx.truncated = true }
        return f
    }

    func current(_ h: SMTPHeader) -> Field {
        switch h {
        case .from: tx.from
        case .to: tx.to
        case .cc: tx.cc
        case .subject: tx.subject
        case .date: tx.date
        case .messageID: tx.messageID
        case .xMailer: tx.xMailer
        case .received, .none: .absent
        }
    }

    mutating func setHeader(_ f: Field) {
        switch header {
        case .from: tx.from = f
        case .to: tx.to = f
        case .cc: tx.cc = f
        case .subject: tx.subject = f
        case .date: tx.date = f
        case .messageID: tx.messageID = f
        case .xMailer: tx.xMailer = f
        case .received: if !tx.received.isEmpty { tx.received[tx.received.count &- 1] = f }
        case .none: break
        }
    }

    mutating func endMessage(dotted: Bool, _ onTransaction: (SMTPEvent) -> Void) {
        clientMode = .command
        tx.message = .done
        header = .none
        msgLine.removeAll(keepingCapacity: true)
        msgLineCut = false; msgLineRaw = 0; lineDotted = false; heldDot = false
        // DATA: the server's reply to the `.` comes next (BDAT's answers its command).
        if dotted { push(.dataEnd) }
        onTransaction(.messageEnd(complete: true))
        txOpen = true
        closeTransaction(onTransaction)
    }

    // MARK: Replies

    mutating func reply(_ l: ByteView, _ onTransaction: (SMTPEvent) -> Void) {
        let code = FTPParser.code(l)
        let sep = l.u8(3)
        if multiLineCode != 0 {
            guard code == multiLineCode else {
                if code == 0 { events.insert(AppLayerEvents.SMTP.invalidReply) }
                return
            }
            if sep == UInt8(ascii: "-") { ehloLine(l); return }
            multiLineCode = 0
        } else {
            guard code != 0 else { events.insert(AppLayerEvents.SMTP.invalidReply); return }
            if sep == UInt8(ascii: "-") {
                multiLineCode = code
                ehloLine(l)
                return
            }
        }
        ehloLine(l)
        finalReply(code, onTransaction)
    }

    /// EHLO reply lines name the extensions: PIPELINING matters for the pipelining event.
    mutating func ehloLine(_ l: ByteView) {
        guard count > 0, pending[head] == .ehlo else { return }
        if Self.trimmed(l.dropFirst(4)).equalsCaseInsensitive(("PIPELINING" as StaticString).byteView) { pipelining = true }
    }

    mutating func finalReply(_ code: UInt16, _ onTransaction: (SMTPEvent) -> Void) {
        guard count > 0 else {
            if !greetingSeen && code == 220 { greetingSeen = true; return }
            events.insert(AppLayerEvents.SMTP.unableToMatchReplyWithRequest)
            return
        }
        if !greetingSeen {
            greetingSeen = true
            // A 220 is the greeting even when the client's first command was read before it;
            // anything else answers a command: the greeting never came.
            if code == 220 { return }
            events.insert(AppLayerEvents.SMTP.noServerWelcomeMessage)
        }
        let cmd = pending[head]
        // AUTH's 334 challenges keep the exchange (and the command) open: the client's next
        // line is the response, not a command.
        if cmd == .auth && code == 334 {
            if clientMode == .authPending {
                clientMode = .auth
                replayHeld(onTransaction)
            }
            return
        }
        pendingRepeat[head] &-= 1
        if pendingRepeat[head] <= 0 {
            head = (head &+ 1) % pending.count
            count &-= 1
        }
        let ok = code >= 200 && code < 400
        switch cmd {
        case .ehlo:
            ehloReplied = true
        case .auth:
            if clientMode == .auth || clientMode == .authPending {
                clientMode = .command
                replayHeld(onTransaction)
            }
        case .rcpt:
            // Replies come in command order: this one answers the transaction's next RCPT.
            if !ok && txOpen && rcptReplies < 32 { tx.rcptRejected |= 1 << UInt32(rcptReplies) }
            rcptReplies &+= 1
        case .data:
            if code != 354 {
                events.insert(AppLayerEvents.SMTP.dataCommandRejected)
            }
            // No message follows a refused DATA: the client's held bytes are commands. Unless
            // the replies may be matched to the wrong commands (the ring overflowed): then this
            // "refusal" may be an RCPT's 250, and the bytes are read as the message.
            if clientMode == .dataPending {
                if code == 354 || repliesUnreliable {
                    clientMode = .data
                } else {
                    clientMode = .command
                    tx.message = .none
                    onTransaction(.messageEnd(complete: false))
                }
                replayHeld(onTransaction)
            } else if code != 354 && clientMode == .data && tx.messageBytes == 0 && msgLine.isEmpty && !repliesUnreliable {
                // The hold overflowed (the client did not wait) but nothing of the message came.
                clientMode = .command
                tx.message = .none
                onTransaction(.messageEnd(complete: false))
            }
        case .starttls:
            // With unreliable replies a 220 starts TLS only if the client is waiting for it
            // and what it sent since looks like TLS (a handshake record), not commands.
            let waiting = clientMode == .tlsPending && (held.isEmpty || held[0] == 0x16)
            if code == 220 && (!repliesUnreliable || waiting) {
                tlsStarted = true
            } else {
                events.insert(AppLayerEvents.SMTP.tlsRejected)
                // RFC 3207 §4: the session goes on in SMTP; what the client sent after the
                // STARTTLS is read by the server as commands.
                if clientMode == .tlsPending {
                    clientMode = .command
                    replayHeld(onTransaction)
                }
            }
        default:
            break
        }
    }
}
