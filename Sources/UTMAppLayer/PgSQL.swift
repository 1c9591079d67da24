import UTMCore

/// PostgreSQL's frontend/backend protocol, version 3 (PostgreSQL docs, "Frontend/Backend
/// Protocol", chapter 55): enough to log each request with what the server answered, the way
/// Suricata's `pgsql` events do.
///
/// Framing: every message is a type byte and a 4-byte length that counts itself, except the
/// frontend's first messages (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), which
/// have no type byte, and the server's one-byte answer to SSLRequest/GSSENCRequest.
///
/// Transactions, as Suricata counts them: a transaction is a frontend request (consecutive
/// frontend messages before the server answers belong to one, so an extended-query batch
/// Parse/Bind/Execute/Sync is one) and the backend messages that answer it, up to
/// ReadyForQuery, an authentication request that waits for the client, or the SSL answer.
public struct PgSQLConfig: Sendable {
    /// Bytes of one message body kept to read its fields (query text, error fields, startup
    /// parameters). A longer body is read from this prefix (its fields are cut) and the rest is
    /// skipped, so a huge DataRow or COPY costs nothing.
    public var maxMessageBuffer = 16 * 1024
    /// Bytes of one transaction's strings (query, parameter names/values, error fields).
    public var maxTransactionBytes = 8 * 1024
    /// Startup parameters plus ParameterStatus entries kept per transaction.
    public var maxParameters = 32
    public init() {}
}

/// What the frontend asked: the kind of its first message (later messages of the same batch
/// only add to it).
public enum PgSQLRequestKind: UInt8, Sendable {
    /// No request seen (the capture started after it, or the server spoke first).
    case none
    case sslRequest, gssEncRequest, cancelRequest, startup
    case simpleQuery
    /// `p` answering AuthenticationCleartextPassword/MD5Password: never logged.
    case password
    case saslInitialResponse, saslResponse
    /// Extended query: Parse (its query text is kept), Bind, Execute, Describe, Close, Sync, Flush.
    case parse, bind, execute, describe, close, sync, flush
    case functionCall, copyData, copyDone, copyFail
    case terminate
    /// A typed message we do not name (`requestType` holds the byte).
    case other
}

/// The fields of an ErrorResponse or NoticeResponse we keep (the letters are the protocol's).
public struct PgSQLErrorFields: Sendable {
    /// S, V, C, M, D, H, P, F, L, R.
    public var severity = Field.absent
    public var severityNonLocalized = Field.absent
    public var code = Field.absent
    public var message = Field.absent
    public var detail = Field.absent
    public var hint = Field.absent
    public var position = Field.absent
    public var file = Field.absent
    public var line = Field.absent
    public var routine = Field.absent
    public init() {}
}

/// One request and its answer; strings are fields of the parser's `store`, valid until the
/// next transaction starts (the parser hands each one out when it completes).
public struct PgSQLTransaction: Sendable {
    /// 1 for the flow's first transaction (EVE `pgsql.tx_id`).
    public var id: UInt64 = 0
    public var request: PgSQLRequestKind = .none
    public var requestType: UInt8 = 0
    /// StartupMessage's protocol version (3.0 today).
    public var protocolMajor: UInt16 = 0
    public var protocolMinor: UInt16 = 0
    /// Simple query text, or the first Parse's query.
    public var query = Field.absent
    /// SASLInitialResponse: the mechanism chosen, and the data (SCRAM's client-first message).
    public var saslMechanism = Field.absent
    public var saslData = Field.absent
    /// Frontend messages in this request (a batch counts each).
    public var requestMessages = 0
    /// StartupMessage parameters: `parameters[startupParameters]` of the parser.
    public var startupParameters = 0 ..< 0
    /// CancelRequest's target.
    public var cancelProcessID: UInt32 = 0
    public var cancelSecretKey: UInt32 = 0

    /// Backend answer. `responseMessages` is 0 while none came.
    public var responseMessages = 0
    /// The server's byte after SSLRequest/GSSENCRequest: `S`/`G` accepted, `N` refused, 0 none.
    public var sslAnswer: UInt8 = 0
    /// The last Authentication message's code (0 ok, 3 cleartext, 5 MD5, 10 SASL, 11 SASL
    /// continue, 12 SASL final) and whether AuthenticationOk came.
    public var authCode: UInt32?
    public var authOK = false
    /// SASL mechanisms offered (NUL-separated), SASL continue/final data, MD5 salt.
    public var authData = Field.absent
    /// ParameterStatus entries: `parameters[parameterStatus]` of the parser.
    public var parameterStatus = 0 ..< 0
    /// BackendKeyData.
    public var processID: UInt32?
    public var secretKey: UInt32 = 0
    /// CommandComplete's tag (`SELECT 8`, `DELETE 1`): the last one of the answer.
    public var commandCompleted = Field.absent
    /// RowDescription's column count, DataRow count and the bytes of their non-NULL values.
    public var fieldCount: Int?
    public var dataRows: UInt64 = 0
    public var dataSize: UInt64 = 0
    /// ErrorResponse (or, when there is none, NoticeResponse) fields.
    public var error = PgSQLErrorFields()
    public var hasError = false
    public var hasNotice = false
    /// ReadyForQuery's status: `I` idle, `T` in a transaction block, `E` failed block; 0 none.
    public var readyStatus: UInt8 = 0
    /// A message body was longer than `maxMessageBuffer`, or the store filled: fields are cut.
    public var truncated = false

    public init() {}
}

/// One direction's framing state.
struct PgSQLFraming: Sendable {
    /// Header bytes read so far and their values (type byte, then the big-endian length).
    var headerBytes = 0
    var type: UInt8 = 0
    var length: UInt32 = 0
    /// Body bytes still to come for the message being read; `bodyLength` its full size.
    var remaining = 0
    var bodyLength = 0
    var inBody = false
    /// Frontend only: the next message has no type byte (startup phase).
    var untyped = false
    /// Framing lost (gap, impossible length): this direction is no longer parsed.
    var stopped = false
}

/// The parser of one flow, reused from a pool with `reset()`; all memory is reserved in `init`.
public struct PgSQLParser: Sendable {
    public let config: PgSQLConfig
    /// Strings of the current transaction.
    public private(set) var store: FieldStore
    /// Name/value pairs (startup parameters and ParameterStatus) of the current transaction.
    public private(set) var parameterNames: [Field] = []
    public private(set) var parameterValues: [Field] = []
    public private(set) var tx = PgSQLTransaction()
    /// Whether `tx` holds anything (a request or an answer) not yet handed out.
    public private(set) var open = false
    var nextID: UInt64 = 1
    var toServer = PgSQLFraming()
    var toClient = PgSQLFraming()
    /// Message bodies that span segments (up to `maxMessageBuffer` bytes each).
    var buffers: DirectionalBuffers
    /// The frontend asked for SSL/GSS: the server's next byte is the one-byte answer.
    var awaitingSSLAnswer = false
    /// The session switched to TLS/GSS encryption: nothing more can be read.
    public private(set) var encrypted = false
    /// Messages whose length or content made no sense (the direction stopped or the message
    /// was ignored).
    public private(set) var malformed: UInt64 = 0
    /// Transactions handed out.
    public private(set) var transactions: UInt64 = 0

    public init(config: PgSQLConfig = .init()) {
        self.config = config
        store = FieldStore(capacity: config.maxTransactionBytes)
        parameterNames.reserveCapacity(config.maxParameters)
        parameterValues.reserveCapacity(config.maxParameters)
        buffers = DirectionalBuffers(capacity: config.maxMessageBuffer)
        toServer.untyped = true
    }

    /// Ready for a new flow; keeps every reserved buffer.
    public mutating func reset() {
        clearTransaction()
        open = false
        nextID = 1
        toServer = PgSQLFraming()
        toServer.untyped = true
        toClient = PgSQLFraming()
        buffers.clearAll()
        awaitingSSLAnswer = false
        encrypted = false
        malformed = 0
        transactions = 0
    }

    /// A parameter pair of the current transaction as views of the store.
    public func withParameter<R>(_ i: Int, _ body: (ByteView, ByteView) -> R) -> R? {
        guard i >= 0, i < parameterNames.count, i < parameterValues.count else { return nil }
        return store.withView(parameterNames[i]) { n in store.withView(parameterValues[i]) { v in body(n, v) } }
    }

    // MARK: Probing

    /// SSLRequest, GSSENCRequest and CancelRequest codes, and protocol 3.0's startup code.
    static let sslRequestCode: UInt32 = 80_877_103
    static let gssEncRequestCode: UInt32 = 80_877_104
    static let cancelRequestCode: UInt32 = 80_877_102
    static let protocol3: UInt32 = 0x0003_0000

    /// Whether the first bytes a client sends are a PostgreSQL startup-phase message (any
    /// port), or, on the server port 5432, a typed frontend message of a session picked up
    /// midway; for data from the server, a typed backend message on port 5432.
    public static func probe(_ v: ByteView, toServer: Bool, serverPort: UInt16) -> Bool {
        if toServer, let len = v.u32(0), let code = v.u32(4) {
            if (code == sslRequestCode || code == gssEncRequestCode) && len == 8 { return true }
            if code == cancelRequestCode && len == 16 { return true }
            if code == protocol3 && len >= 8 && len <= 10_000 { return true }
        }
        guard serverPort == 5432, let t = v.u8(0), let len = v.u32(1), len >= 4, len < 1 << 24 else { return false }
        let typed: StaticString = toServer ? "QPBEDCSHFpfcdX" : "RSKZCTDEN123sntIAGHWdcV"
        var hit = false
        typed.withUTF8Buffer { buf in for b in buf where b == t { hit = true } }
        return hit
    }

    // MARK: Feeding

    /// Feeds in-order stream bytes of one direction. Each transaction that completes is lent to
    /// `onTransaction` (the parser, borrowed: its store holds the strings), before the next one
    /// starts. `gap`: bytes were lost before `data`, the framing cannot be recovered, so this
    /// direction stops. Non-escaping closure: no allocation.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onTransaction: (borrowing PgSQLParser) -> Void) {
        if gap { withFraming(direction) { $0.stopped = true } }
        var rest = data
        while !rest.isEmpty && !encrypted {
            var f = framing(direction)
            if f.stopped { return }
            if direction == .toClient && awaitingSSLAnswer && f.headerBytes == 0 && !f.inBody {
                let b = rest.u8(0) ?? 0
                // A server too old for SSLRequest answers with an ErrorResponse: a typed message.
                if b == UInt8(ascii: "E") {
                    awaitingSSLAnswer = false
                    continue
                }
                sslAnswer(b, onTransaction)
                rest = rest.dropFirst(1)
                continue
            }
            if !f.inBody {
                let typed = !(direction == .toServer && f.untyped)
                // A frontend in the startup phase that sends a letter was picked up midway.
                if !typed, f.headerBytes == 0, let b = rest.u8(0), b != 0 {
                    f.untyped = false
                    withFraming(direction) { $0.untyped = false }
                    continue
                }
                let need = typed ? 5 : 4
                while f.headerBytes < need, let b = rest.u8(0) {
                    if typed && f.headerBytes == 0 { f.type = b } else { f.length = f.length << 8 | UInt32(b) }
                    f.headerBytes += 1
                    rest = rest.dropFirst(1)
                }
                if f.headerBytes < need { withFraming(direction) { $0 = f }; return }
                let minLength: UInt32 = typed ? 4 : 8
                guard f.length >= minLength, f.length <= 0x7fff_ffff else {
                    malformed &+= 1
                    f.stopped = true
                    withFraming(direction) { $0 = f }
                    return
                }
                f.bodyLength = Int(f.length) - 4
                f.remaining = f.bodyLength
                f.inBody = true
                buffers.clear(direction)
            }
            let n = Swift.min(f.remaining, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            f.remaining -= n
            let complete = f.remaining == 0
            let type = f.type, bodyLength = f.bodyLength, untyped = direction == .toServer && f.untyped
            if complete {
                let keepUntyped = f.untyped
                f = PgSQLFraming()
                f.untyped = keepUntyped
            }
            withFraming(direction) { $0 = f }
            let messageType = untyped ? 0 : type
            var held = buffers.moveOut()
            held.collect(chunk, direction, complete: complete, whole: n == bodyLength) { body in
                message(direction, messageType, body, fullLength: bodyLength, onTransaction)
            }
            buffers = held
        }
    }

    /// The flow ended: hands out the transaction still open (a request with no answer, an
    /// answer cut short).
    public mutating func finish(onTransaction: (borrowing PgSQLParser) -> Void) {
        if open { complete(onTransaction) }
    }

    // MARK: Messages

    /// One whole message (its body, possibly cut to `maxMessageBuffer`). `type` 0: untyped.
    mutating func message(_ d: Direction, _ type: UInt8, _ body: ByteView, fullLength: Int,
                          _ onTransaction: (borrowing PgSQLParser) -> Void) {
        if body.count < fullLength { tx.truncated = true }
        if d == .toServer {
            frontend(type, body, onTransaction)
        } else {
            backend(type, body, fullLength: fullLength, onTransaction)
        }
    }

    mutating func frontend(_ type: UInt8, _ body: ByteView, _ onTransaction: (borrowing PgSQLParser) -> Void) {
        // A request after an answer starts the next transaction.
        if open && tx.responseMessages > 0 { complete(onTransaction) }
        if !open { begin() }
        tx.requestMessages += 1
        let k = frontendKind(type, body)
        if tx.requestMessages == 1 { tx.request = k; tx.requestType = type }
    }

    /// Reads one frontend message into the transaction and names it.
    mutating func frontendKind(_ type: UInt8, _ body: ByteView) -> PgSQLRequestKind {
        if type == 0 {
            guard let code = body.u32(0) else { malformed &+= 1; return .other }
            switch code {
            case Self.sslRequestCode:
                awaitingSSLAnswer = true
                return .sslRequest
            case Self.gssEncRequestCode:
                awaitingSSLAnswer = true
                return .gssEncRequest
            case Self.cancelRequestCode:
                tx.cancelProcessID = body.u32(4) ?? 0
                tx.cancelSecretKey = body.u32(8) ?? 0
                toServer.untyped = false
                return .cancelRequest
            default:
                tx.protocolMajor = UInt16(code >> 16)
                tx.protocolMinor = UInt16(code & 0xffff)
                tx.startupParameters = pairs(body.suffix(from: 4) ?? .empty)
                toServer.untyped = false
                return .startup
            }
        }
        switch type {
        case UInt8(ascii: "Q"):
            if !tx.query.isPresent { tx.query = keep(cstring(body, 0)) }
            return .simpleQuery
        case UInt8(ascii: "P"):
            // Statement name, then the query.
            let name = cstring(body, 0)
            if !tx.query.isPresent { tx.query = keep(cstring(body, name.count + 1)) }
            return .parse
        case UInt8(ascii: "p"):
            switch tx.authCode ?? lastAuthCode {
            case 10:
                let mech = cstring(body, 0)
                tx.saslMechanism = keep(mech)
                if let n = body.u32(mech.count + 1), n != 0xffff_ffff,
                   let data = body.suffix(from: mech.count + 5) {
                    tx.saslData = keep(data.prefix(Int(n)))
                }
                return .saslInitialResponse
            case 11:
                tx.saslData = keep(body)
                return .saslResponse
            default:
                return .password
            }
        case UInt8(ascii: "B"): return .bind
        case UInt8(ascii: "E"): return .execute
        case UInt8(ascii: "D"): return .describe
        case UInt8(ascii: "C"): return .close
        case UInt8(ascii: "S"): return .sync
        case UInt8(ascii: "H"): return .flush
        case UInt8(ascii: "F"): return .functionCall
        case UInt8(ascii: "d"): return .copyData
        case UInt8(ascii: "c"): return .copyDone
        case UInt8(ascii: "f"): return .copyFail
        case UInt8(ascii: "X"): return .terminate
        default: return .other
        }
    }

    /// The authentication code of the previous transaction, to read the next `p` message
    /// (SASL messages and passwords share the type byte).
    var lastAuthCode: UInt32 = 0

    mutating func backend(_ type: UInt8, _ body: ByteView, fullLength: Int,
                          _ onTransaction: (borrowing PgSQLParser) -> Void) {
        if !open { begin() }
        tx.responseMessages += 1
        switch type {
        case UInt8(ascii: "R"):
            guard let code = body.u32(0) else { malformed &+= 1; return }
            tx.authCode = code
            lastAuthCode = code
            switch code {
            case 0:
                tx.authOK = true
            case 5:
                tx.authData = keep(body.slice(4, 4) ?? .empty)
                complete(onTransaction)
            case 10, 11, 12:
                tx.authData = keep(body.suffix(from: 4) ?? .empty)
                // SASL final is followed by AuthenticationOk in the same answer.
                if code != 12 { complete(onTransaction) }
            default:
                complete(onTransaction)
            }
        case UInt8(ascii: "S"):
            let r = pairs(body)
            if tx.parameterStatus.isEmpty { tx.parameterStatus = r } else { tx.parameterStatus = tx.parameterStatus.lowerBound ..< r.upperBound }
        case UInt8(ascii: "K"):
            tx.processID = body.u32(0)
            tx.secretKey = body.u32(4) ?? 0
        case UInt8(ascii: "C"):
            tx.commandCompleted = keep(cstring(body, 0))
        case UInt8(ascii: "T"):
            if let n = body.u16(0) { tx.fieldCount = Int(n) }
        case UInt8(ascii: "D"):
            tx.dataRows &+= 1
            tx.dataSize &+= UInt64(Self.rowValueBytes(body, fullLength: fullLength))
        case UInt8(ascii: "E"):
            if !tx.hasError { tx.error = PgSQLErrorFields(); errorFields(body) }
            tx.hasError = true
        case UInt8(ascii: "N"):
            if !tx.hasError && !tx.hasNotice { errorFields(body) }
            tx.hasNotice = true
        case UInt8(ascii: "Z"):
            tx.readyStatus = body.u8(0) ?? 0
            complete(onTransaction)
        default:
            break
        }
    }

    /// The server's one byte after SSLRequest/GSSENCRequest.
    mutating func sslAnswer(_ b: UInt8, _ onTransaction: (borrowing PgSQLParser) -> Void) {
        awaitingSSLAnswer = false
        if !open { begin() }
        tx.responseMessages += 1
        tx.sslAnswer = b
        complete(onTransaction)
        if b == UInt8(ascii: "S") || b == UInt8(ascii: "G") {
            encrypted = true
        } else if b != UInt8(ascii: "N") {
            // Not an answer: a server that does not know the request sent a message instead.
            malformed &+= 1
            toClient.stopped = true
        }
    }

    /// Bytes of a DataRow's non-NULL values (Suricata's `data_size`). A row longer than the
    /// buffer is counted from its length: past the cut, the rest of the body less a 4-byte
    /// length per remaining column counts as values (exact unless some of them are NULL).
    static func rowValueBytes(_ body: ByteView, fullLength: Int) -> Int {
        guard let n = body.u16(0) else { return 0 }
        var off = 2, total = 0
        for column in 0 ..< Int(n) {
            guard let len = body.u32(off) else {
                return total + Swift.max(0, fullLength - off - 4 * (Int(n) - column))
            }
            off += 4
            if len == 0xffff_ffff { continue }
            let l = Int(len)
            if l > fullLength - off { return total + Swift.max(0, fullLength - off) }
            total += l
            off += l
        }
        return total
    }

    /// ErrorResponse/NoticeResponse: (code byte, C string) pairs up to a 0 byte.
    mutating func errorFields(_ body: ByteView) {
        var off = 0
        while let code = body.u8(off), code != 0 {
            let s = cstring(body, off + 1)
            let f = keep(s)
            switch code {
            case UInt8(ascii: "S"): tx.error.severity = f
            case UInt8(ascii: "V"): tx.error.severityNonLocalized = f
            case UInt8(ascii: "C"): tx.error.code = f
            case UInt8(ascii: "M"): tx.error.message = f
            case UInt8(ascii: "D"): tx.error.detail = f
            case UInt8(ascii: "H"): tx.error.hint = f
            case UInt8(ascii: "P"): tx.error.position = f
            case UInt8(ascii: "F"): tx.error.file = f
            case UInt8(ascii: "L"): tx.error.line = f
            case UInt8(ascii: "R"): tx.error.routine = f
            default: break
            }
            off += 1 + s.count + 1
        }
    }

    // MARK: Transactions

    mutating func begin() {
        clearTransaction()
        tx.id = nextID
        nextID &+= 1
        open = true
    }

    mutating func complete(_ onTransaction: (borrowing PgSQLParser) -> Void) {
        guard open else { return }
        if store.truncated { tx.truncated = true }
        transactions &+= 1
        onTransaction(self)
        open = false
        clearTransaction()
    }

    mutating func clearTransaction() {
        tx = PgSQLTransaction()
        store.reset()
        parameterNames.removeAll(keepingCapacity: true)
        parameterValues.removeAll(keepingCapacity: true)
    }

    /// Name/value C-string pairs (StartupMessage after its code, ParameterStatus) up to a 0
    /// byte or the end, into the parameter arrays; the range of the pairs added.
    mutating func pairs(_ v: ByteView) -> Range<Int> {
        let start = parameterNames.count
        var off = 0
        while let b = v.u8(off), b != 0 {
            let name = cstring(v, off)
            off += name.count + 1
            let value = cstring(v, off)
            off += value.count + 1
            guard parameterNames.count < config.maxParameters else { tx.truncated = true; break }
            parameterNames.append(keep(name))
            parameterValues.append(keep(value))
        }
        return start ..< parameterNames.count
    }

    /// Stores a value of the current transaction.
    mutating func keep(_ v: ByteView) -> Field { store.append(v) }

    /// The C string at `offset` without its NUL (to the end when there is none).
    func cstring(_ v: ByteView, _ offset: Int) -> ByteView {
        guard let rest = v.suffix(from: offset) else { return .empty }
        if let z = rest.firstIndex(of: 0) { return rest.prefix(z) }
        return rest
    }

    // MARK: Direction helpers

    private func framing(_ d: Direction) -> PgSQLFraming { d == .toServer ? toServer : toClient }

    private mutating func withFraming(_ d: Direction, _ body: (inout PgSQLFraming) -> Void) {
        if d == .toServer { body(&toServer) } else { body(&toClient) }
    }
}
