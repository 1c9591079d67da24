import UTMCore

// File extraction from application streams: SMTP (DATA phase), POP3 (RETR responses) and HTTP
// bodies. The extractors only frame the bytes; scanning is the `FileScanSession`'s job. They
// are plain structs with fixed-size state, fed the reassembled stream of each direction like
// the HTTP parser (`feed(data, direction:, gap:)`), and hand message bytes to a callback as
// `MailEvent`s lent for the duration of the call.

/// What a mail extractor reports.
public enum MailEvent {
    /// A message starts (SMTP DATA accepted with 354, or POP3 `+OK` to RETR/TOP).
    case begin
    /// Message bytes, dot-unstuffed, CRLFs kept; valid only during the callback.
    case data(ByteView)
    /// The message ended (`CRLF.CRLF`); `truncated` when a gap or the end of the flow cut it.
    case end(truncated: Bool)
}

/// Line splitter with a fixed buffer shared by the mail framers. Lines longer than the buffer
/// are passed on in pieces (they are message data, never commands or the terminator).
struct LineFramer {
    var buf: [UInt8]
    var len = 0
    var overlong = false

    init(capacity: Int) { buf = [UInt8](repeating: 0, count: capacity) }

    mutating func reset() { len = 0; overlong = false }

    /// Calls `onLine(line including LF, complete)` for each line or piece.
    mutating func feed(_ data: ByteView, _ onLine: (ByteView, Bool) -> Void) {
        var rest = data
        while !rest.isEmpty {
            let nl = rest.firstIndex(of: 0x0a)
            let take = nl.map { $0 + 1 } ?? rest.count
            var piece = rest.prefix(take)
            rest = rest.dropFirst(take)
            while !piece.isEmpty {
                let room = buf.count - len
                let n = Swift.min(room, piece.count)
                piece.prefix(n).forEachByte { b in buf[len] = b; len += 1 }
                piece = piece.dropFirst(n)
                if len == buf.count && (nl == nil || !piece.isEmpty || buf[len - 1] != 0x0a) {
                    buf.withUnsafeBytes { onLine(ByteView($0), false) }
                    len = 0
                    overlong = true
                }
            }
            if nl != nil && len > 0 {
                buf.withUnsafeBytes { raw in onLine(ByteView(raw).prefix(len), true) }
                len = 0
                overlong = false
            } else if nl != nil && len == 0 && overlong {
                overlong = false
            }
        }
    }
}

/// Message-body framer shared by SMTP and POP3: undoes dot-stuffing and stops at `.CRLF`.
struct DotBody {
    var active = false
    var atLineStart = true

    /// Feeds one line (or piece). Returns true when this line was the terminator.
    mutating func line(_ l: ByteView, complete: Bool, wasPiece: Bool, _ onEvent: (MailEvent) -> Void) -> Bool {
        let startOfLine = atLineStart
        atLineStart = complete
        if startOfLine && complete && (l == (".\r\n" as StaticString).byteView || l == (".\n" as StaticString).byteView) {
            active = false
            onEvent(.end(truncated: false))
            return true
        }
        if startOfLine && l.u8(0) == UInt8(ascii: ".") {
            onEvent(.data(l.dropFirst(1)))
        } else {
            onEvent(.data(l))
        }
        return false
    }
}

/// SMTP: finds the DATA phase (client `DATA`, server `354`), and delivers the message the
/// client sends until `CRLF.CRLF`. BDAT (CHUNKING) is not decoded (reported as unsupported
/// through `sawBDAT`).
public struct SMTPFileExtractor {
    enum State: UInt8 { case command, awaitingReply, data }
    var client = LineFramer(capacity: 1024)
    var server = LineFramer(capacity: 512)
    var state: State = .command
    var body = DotBody()
    /// Messages seen in this flow.
    public private(set) var messages = 0
    /// The client used BDAT, which this extractor does not follow.
    public private(set) var sawBDAT = false

    public init() {}

    public mutating func reset() {
        client.reset(); server.reset(); state = .command; body = DotBody(); messages = 0; sawBDAT = false
    }

    /// Feeds stream bytes of one direction. A gap ends a message in progress as truncated.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool = false, _ onEvent: (MailEvent) -> Void) {
        if gap {
            if state == .data { onEvent(.end(truncated: true)) }
            state = .command
            client.reset(); server.reset()
            return
        }
        if direction == .toServer {
            var st = state
            var b = body
            var bdat = false
            client.feed(data) { line, complete in
                switch st {
                case .command:
                    if line.startsCaseInsensitive(with: ("DATA" as StaticString).byteView), line.count <= 7 { st = .awaitingReply }
                    if line.startsCaseInsensitive(with: ("BDAT" as StaticString).byteView) { bdat = true }
                case .awaitingReply:
                    break  // pipelined message bytes before 354 are not expected (RFC 2920 forbids)
                case .data:
                    if b.line(line, complete: complete, wasPiece: !complete, onEvent) { st = .command }
                }
            }
            state = st
            body = b
            if bdat { sawBDAT = true }
        } else {
            var st = state
            var started = false
            server.feed(data) { line, _ in
                if st == .awaitingReply {
                    if line.starts(with: ("354" as StaticString).byteView) { st = .data; started = true }
                    else if let c = line.u8(0), c == UInt8(ascii: "4") || c == UInt8(ascii: "5") { st = .command }
                }
            }
            if started {
                messages += 1
                body = DotBody()
                body.active = true
                onEvent(.begin)
            }
            state = st
        }
    }

    /// The flow ended: a message in progress is truncated.
    public mutating func finish(_ onEvent: (MailEvent) -> Void) {
        if state == .data { onEvent(.end(truncated: true)) }
        state = .command
    }
}

/// POP3: after a client `RETR n` (or `TOP n m`), a server `+OK` line starts a multi-line
/// response holding the message, ended by `CRLF.CRLF`.
public struct POP3FileExtractor {
    enum State: UInt8 { case idle, awaitingStatus, data }
    var client = LineFramer(capacity: 512)
    var server = LineFramer(capacity: 1024)
    var state: State = .idle
    var body = DotBody()
    /// RETR/TOP commands waiting for their response (pipelining, RFC 2449).
    var queued = 0
    public private(set) var messages = 0

    public init() {}

    public mutating func reset() { client.reset(); server.reset(); state = .idle; body = DotBody(); queued = 0; messages = 0 }

    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool = false, _ onEvent: (MailEvent) -> Void) {
        if gap {
            if state == .data { onEvent(.end(truncated: true)) }
            state = .idle
            queued = 0
            client.reset(); server.reset()
            return
        }
        if direction == .toServer {
            var q = queued
            client.feed(data) { line, _ in
                if line.startsCaseInsensitive(with: ("RETR " as StaticString).byteView)
                    || line.startsCaseInsensitive(with: ("TOP " as StaticString).byteView) { q += 1 }
            }
            queued = Swift.min(q, 64)
            if state == .idle && queued > 0 { state = .awaitingStatus }
            return
        }
        var st = state
        var q = queued
        var b = body
        var count = messages
        server.feed(data) { line, complete in
            switch st {
            case .idle:
                break
            case .awaitingStatus:
                if line.starts(with: ("+OK" as StaticString).byteView) {
                    st = .data
                    b = DotBody()
                    b.active = true
                    count += 1
                    onEvent(.begin)
                } else {
                    q -= 1
                    st = q > 0 ? .awaitingStatus : .idle
                }
            case .data:
                if b.line(line, complete: complete, wasPiece: !complete, onEvent) {
                    q -= 1
                    st = q > 0 ? .awaitingStatus : .idle
                }
            }
        }
        state = st
        queued = Swift.max(0, q)
        body = b
        messages = count
    }

    public mutating func finish(_ onEvent: (MailEvent) -> Void) {
        if state == .data { onEvent(.end(truncated: true)) }
        state = .idle
    }
}

/// HTTP side of file extraction: what the engine needs from response (or request) headers to
/// start a scan, and how to end it. The HTTP parser already de-chunks and decompresses; the
/// engine forwards each `HTTPBodyChunk` (`data`, `isLast`) to the session.
public enum HTTPFileInfo {
    /// The file name from a `Content-Disposition` value (`filename*=` preferred, then
    /// `filename=`), as a view into `value`; nil when there is none.
    public static func fileName(contentDisposition value: ByteView) -> ByteView? {
        var best: ByteView?
        var i = 0
        while i < value.count {
            guard let semi = value.firstIndex(of: UInt8(ascii: ";"), from: i) else { break }
            var p = value.dropFirst(semi + 1)
            i = semi + 1
            while let c = p.u8(0), c == 0x20 || c == 0x09 { p = p.dropFirst(1) }
            let star = p.startsCaseInsensitive(with: ("filename*=" as StaticString).byteView)
            let plain = p.startsCaseInsensitive(with: ("filename=" as StaticString).byteView)
            guard star || plain else { continue }
            p = p.dropFirst(star ? 10 : 9)
            if star, let q = p.firstIndex(of: UInt8(ascii: "'")), let q2 = p.firstIndex(of: UInt8(ascii: "'"), from: q + 1) {
                p = p.dropFirst(q2 + 1)
            }
            var v: ByteView
            if p.u8(0) == UInt8(ascii: "\"") {
                p = p.dropFirst(1)
                v = p.prefix(p.firstIndex(of: UInt8(ascii: "\"")) ?? p.count)
            } else {
                v = p.prefix(p.firstIndex(of: UInt8(ascii: ";")) ?? p.count)
                while v.count > 0, let c = v.u8(v.count - 1), c == 0x20 || c == 0x09 { v = v.prefix(v.count - 1) }
            }
            if star { return v }
            if best == nil { best = v }
        }
        return best
    }

    /// Whether a response carries only part of a file (status 206, or a `Content-Range` that
    /// does not start at 0): hashes of such a body are not the file's, and the engine marks
    /// `fileinfo.state` partial. A 206 starting at byte 0 is still scanned for body signatures.
    public static func isPartial(status: Int, contentRange: ByteView?) -> Bool {
        if status == 206 { return true }
        guard let cr = contentRange, !cr.isEmpty else { return false }
        // "bytes 0-99/1000" covering the whole file is not partial.
        guard cr.startsCaseInsensitive(with: ("bytes " as StaticString).byteView) else { return true }
        let r = cr.dropFirst(6)
        return r.u8(0) != UInt8(ascii: "0") || r.u8(1) != UInt8(ascii: "-")
    }
}
