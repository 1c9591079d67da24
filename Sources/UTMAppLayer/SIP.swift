import UTMCore

/// One SIP message (RFC 3261): the start line split into its parts, the headers the event and
/// an operator want (From, To, Call-ID, CSeq, the first Via, User-Agent, Content-Type,
/// Content-Length), and where the body starts.
///
/// Why a value parsed in one call: over UDP a SIP message is one datagram (RFC 3261 section
/// 18.1.1 keeps them under the path MTU or moves them to TCP), so like DHCP there is no state
/// between packets. Every field is a `Field` range into the datagram the caller passed
/// (`field(_:in:)`): parsing allocates nothing and the ranges are valid as long as that
/// datagram is. Every read is bounds-checked; a message cut anywhere gives what was read before
/// the cut with `headersComplete` false.
public struct SIPMessage: Sendable {
    /// A request (`INVITE sip:bob@example.com SIP/2.0`) or a response (`SIP/2.0 200 OK`).
    public var isRequest = false
    /// The whole start line without its line end (EVE `request_line` / `response_line`).
    public var startLine = Field.absent
    /// Requests: method and Request-URI.
    public var method = Field.absent
    public var uri = Field.absent
    /// `SIP/2.0` (from either kind of start line).
    public var version = Field.absent
    /// Responses: the three-digit status code as text, its value, and the reason phrase.
    public var code = Field.absent
    public var statusCode: UInt16 = 0
    public var reason = Field.absent
    /// Header values, leading blanks removed; the first occurrence of each (the topmost Via is
    /// the last hop). Compact forms (`f`, `t`, `i`, `v`, `c`, `l`) count as their long names.
    public var from = Field.absent
    public var to = Field.absent
    public var callID = Field.absent
    public var cseq = Field.absent
    public var via = Field.absent
    public var userAgent = Field.absent
    public var contentType = Field.absent
    /// Content-Length when present and a plain decimal number.
    public var contentLength: Int?
    /// Header lines read (including the ones not kept).
    public var headerCount = 0
    /// The empty line ending the headers was seen; `bodyOffset` is then where the body starts.
    public var headersComplete = false
    public var bodyOffset = 0

    public init() {}

    /// The bytes of a field of this message, from the datagram it was parsed from.
    public func field(_ f: Field, in datagram: ByteView) -> ByteView {
        guard f.isPresent else { return .empty }
        return datagram.slice(Int(f.offset), Int(f.length)) ?? .empty
    }
}

public enum SIP {
    /// IANA's SIP ports (5061 is SIP over TLS on TCP, but UDP 5061 carries plain SIP too, which
    /// Suricata's default `detection-ports` also assume).
    @inlinable
    public static func isSIPPort(_ p: UInt16) -> Bool { p == 5060 || p == 5061 }

    /// Request methods of RFC 3261 and its extensions (RFC 3262 PRACK, 3265 SUBSCRIBE/NOTIFY,
    /// 3311 UPDATE, 3428 MESSAGE, 3515 REFER, 3903 PUBLISH, 6086 INFO). The probe only accepts
    /// these, so a text protocol that merely looks like `WORD uri VERSION` is not taken for SIP.
    static let methods: [StaticString] = [
        "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
        "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
    ]

    /// Headers longer than this are still walked but not one more byte is looked at for a
    /// name; the whole message is bounded by the datagram anyway.
    static let maxHeaders = 256

    /// Whether a datagram (or the first bytes of a stream) starts like SIP: `SIP/2.0 NNN ` or a
    /// known method, a space, and a URI scheme SIP uses. Content only, so it works off the
    /// well-known ports (Suricata's probing parser does the same).
    public static func probe(_ v: ByteView) -> Bool {
        if v.starts(with: ("SIP/2.0 " as StaticString).byteView) {
            guard let a = v.u8(8), let b = v.u8(9), let c = v.u8(10) else { return false }
            return isDigit(a) && isDigit(b) && isDigit(c)
        }
        // Indices, not `for m in methods`: the generic iterator allocates in debug builds.
        for i in methods.indices {
            let m = methods[i].byteView
            guard v.starts(with: m), v.u8(m.count) == UInt8(ascii: " "),
                  let rest = v.suffix(from: m.count + 1) else { continue }
            return rest.startsCaseInsensitive(with: ("sip:" as StaticString).byteView)
                || rest.startsCaseInsensitive(with: ("sips:" as StaticString).byteView)
                || rest.startsCaseInsensitive(with: ("tel:" as StaticString).byteView)
        }
        return false
    }

    /// Parses one message; nil when the start line is not SIP (or has no line end).
    public static func parse(_ v: ByteView) -> SIPMessage? {
        // Ranges are Int32; a datagram is far below that, a stream caller passes one message.
        guard v.count < Int(Int32.max), let lineEnd = v.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let lineLen = lineEnd > 0 && v.u8(lineEnd - 1) == UInt8(ascii: "\r") ? lineEnd - 1 : lineEnd
        guard let line = v.slice(0, lineLen), var m = startLine(line) else { return nil }
        m.startLine = range(0, lineLen)
        var off = lineEnd + 1
        while m.headerCount <= maxHeaders {
            guard let nl = v.firstIndex(of: UInt8(ascii: "\n"), from: off) else { break }   // cut short
            var end = nl
            if end > off, v.u8(end - 1) == UInt8(ascii: "\r") { end -= 1 }
            if end == off {
                m.headersComplete = true
                m.bodyOffset = nl + 1
                break
            }
            m.headerCount += 1
            header(v, off, end, &m)
            off = nl + 1
        }
        return m
    }

    /// `SIP/2.0 200 OK` or `METHOD uri SIP/2.0`.
    static func startLine(_ line: ByteView) -> SIPMessage? {
        var m = SIPMessage()
        if line.starts(with: ("SIP/" as StaticString).byteView) {
            guard let sp = line.firstIndex(of: UInt8(ascii: " ")),
                  let a = line.u8(sp + 1), let b = line.u8(sp + 2), let c = line.u8(sp + 3),
                  isDigit(a), isDigit(b), isDigit(c) else { return nil }
            if let after = line.u8(sp + 4), after != UInt8(ascii: " ") { return nil }
            m.version = range(0, sp)
            m.code = range(sp + 1, 3)
            m.statusCode = UInt16(a - 48) * 100 + UInt16(b - 48) * 10 + UInt16(c - 48)
            let reasonStart = sp + 5
            if reasonStart < line.count { m.reason = range(reasonStart, line.count - reasonStart) }
            return m
        }
        guard let sp1 = line.firstIndex(of: UInt8(ascii: " ")), sp1 > 0,
              let sp2 = line.firstIndex(of: UInt8(ascii: " "), from: sp1 + 1), sp2 > sp1 + 1,
              let version = line.suffix(from: sp2 + 1),
              version.starts(with: ("SIP/" as StaticString).byteView) else { return nil }
        // A method is an RFC 3261 token: letters (any case), digits and a few marks; no controls.
        var i = 0
        while i < sp1 {
            guard let b = line.u8(i), b > 0x20, b < 0x7f else { return nil }
            i += 1
        }
        m.isRequest = true
        m.method = range(0, sp1)
        m.uri = range(sp1 + 1, sp2 - sp1 - 1)
        m.version = range(sp2 + 1, version.count)
        return m
    }

    /// One header line `[start, end)` of `v`: keeps the value of the ones we report.
    static func header(_ v: ByteView, _ start: Int, _ end: Int, _ m: inout SIPMessage) {
        guard let line = v.slice(start, end - start),
              let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        var nameEnd = colon
        while nameEnd > 0, let b = line.u8(nameEnd - 1), b == 0x20 || b == 0x09 { nameEnd -= 1 }
        let name = line.prefix(nameEnd)
        var vs = colon + 1
        while let b = line.u8(vs), b == 0x20 || b == 0x09 { vs += 1 }
        let value = range(start + vs, line.count - vs)
        if isHeader(name, "From", "f") { if !m.from.isPresent { m.from = value } }
        else if isHeader(name, "To", "t") { if !m.to.isPresent { m.to = value } }
        else if isHeader(name, "Call-ID", "i") { if !m.callID.isPresent { m.callID = value } }
        else if isHeader(name, "CSeq") { if !m.cseq.isPresent { m.cseq = value } }
        else if isHeader(name, "Via", "v") { if !m.via.isPresent { m.via = value } }
        else if isHeader(name, "User-Agent") { if !m.userAgent.isPresent { m.userAgent = value } }
        else if isHeader(name, "Content-Type", "c") { if !m.contentType.isPresent { m.contentType = value } }
        else if isHeader(name, "Content-Length", "l") {
            guard m.contentLength == nil, let digits = line.suffix(from: vs) else { return }
            var n = 0, any = false
            var k = 0
            while let b = digits.u8(k), isDigit(b) {
                n = n &* 10 &+ Int(b - 48)
                if n > 1 << 30 { return }      // absurd: not a length we believe
                any = true
                k += 1
            }
            if any { m.contentLength = n }
        }
    }

    /// A header name, long or compact form, in any case.
    @inline(__always)
    static func isHeader(_ name: ByteView, _ long: StaticString, _ short: StaticString = "") -> Bool {
        name.equalsCaseInsensitive(long.byteView) || (short.utf8CodeUnitCount > 0 && name.equalsCaseInsensitive(short.byteView))
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    @inline(__always) static func range(_ offset: Int, _ length: Int) -> Field {
        Field(offset: Int32(truncatingIfNeeded: offset), length: Int32(truncatingIfNeeded: max(0, length)))
    }
}

/// SIP over TCP (RFC 3261 section 18.3): messages follow each other on the stream, each framed
/// by its empty line and Content-Length (required over TCP; absent means no body). One per flow
/// slot, reused with `reset()`; the buffers are reserved in `init`.
///
/// Each direction collects one message (head and body) and lends it whole to `onMessage`,
/// which parses it with `SIP.parse`. A body longer than the buffer is skipped past (the message
/// is lent cut, `oversized` counts it); a head that does not end within the buffer, or a gap,
/// stops that direction (the framing is lost). CRLF keep-alives between messages (RFC 5626) are
/// skipped.
public struct SIPStream: Sendable {
    public let maxMessage: Int
    var bufToServer: [UInt8] = []
    var bufToClient: [UInt8] = []
    var dirs = (SIPStreamDirection(), SIPStreamDirection())
    /// Messages lent, and messages whose body was cut to the buffer.
    public private(set) var messages: UInt64 = 0
    public private(set) var oversized: UInt64 = 0

    public init(maxMessage: Int = 8192) {
        self.maxMessage = max(64, maxMessage)
        bufToServer.reserveCapacity(self.maxMessage)
        bufToClient.reserveCapacity(self.maxMessage)
    }

    public mutating func reset() {
        bufToServer.removeAll(keepingCapacity: true)
        bufToClient.removeAll(keepingCapacity: true)
        dirs = (SIPStreamDirection(), SIPStreamDirection())
        messages = 0
        oversized = 0
    }

    /// Feeds in-order stream bytes of one direction; each complete message is lent to
    /// `onMessage` (non-escaping: no allocation) as a view valid during the call.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool,
                              onMessage: (Direction, ByteView) -> Void) {
        if gap { withDir(direction) { $0.stopped = true } }
        var rest = data
        while !rest.isEmpty {
            var st = dir(direction)
            if st.stopped { return }
            if st.inBody {
                let n = Swift.min(st.bodyRemaining, rest.count)
                let room = maxMessage - count(direction)
                if room > 0 { append(direction, rest.prefix(Swift.min(n, room))) }
                if n > room { st.cut = true }
                rest = rest.dropFirst(n)
                st.bodyRemaining -= n
                if st.bodyRemaining == 0 {
                    withDir(direction) { $0 = SIPStreamDirection() }
                    deliver(direction, cut: st.cut, onMessage)
                } else {
                    withDir(direction) { $0 = st }
                }
                continue
            }
            // Between messages: skip keep-alive line ends.
            if count(direction) == 0, let b = rest.u8(0), b == 0x0d || b == 0x0a {
                rest = rest.dropFirst(1)
                continue
            }
            let before = count(direction)
            let room = maxMessage - before
            append(direction, rest.prefix(room))
            let headEnd = findHeadEnd(direction, from: Swift.max(0, before - 3))
            guard let headEnd else {
                if count(direction) >= maxMessage {
                    withDir(direction) { $0.stopped = true }
                    return
                }
                rest = rest.dropFirst(room)
                continue
            }
            // Keep only this message's head; what followed it is fed again.
            let consumed = Swift.max(0, headEnd - before)
            truncate(direction, to: headEnd)
            rest = rest.dropFirst(consumed)
            let length = withBuffer(direction) { SIP.parse($0)?.contentLength ?? 0 }
            if length == 0 {
                deliver(direction, cut: false, onMessage)
            } else {
                st.inBody = true
                st.bodyRemaining = length
                withDir(direction) { $0 = st }
            }
        }
    }

    private mutating func deliver(_ d: Direction, cut: Bool, _ onMessage: (Direction, ByteView) -> Void) {
        messages &+= 1
        if cut { oversized &+= 1 }
        // Swapping with an empty array neither copies nor allocates.
        var buf = [UInt8]()
        if d == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
        buf.withByteView { onMessage(d, $0) }
        buf.removeAll(keepingCapacity: true)
        if d == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
    }

    /// The index just past the first CRLFCRLF (or LFLF) at or after `from`, if any.
    private func findHeadEnd(_ d: Direction, from: Int) -> Int? {
        withBuffer(d) { v in
            var i = from
            while let b = v.u8(i) {
                if b == 0x0a {
                    if v.u8(i + 1) == 0x0a { return i + 2 }
                    if v.u8(i + 1) == 0x0d, v.u8(i + 2) == 0x0a { return i + 3 }
                }
                i += 1
            }
            return nil
        }
    }

    private func dir(_ d: Direction) -> SIPStreamDirection { d == .toServer ? dirs.0 : dirs.1 }
    private mutating func withDir(_ d: Direction, _ body: (inout SIPStreamDirection) -> Void) {
        if d == .toServer { body(&dirs.0) } else { body(&dirs.1) }
    }
    private func count(_ d: Direction) -> Int { d == .toServer ? bufToServer.count : bufToClient.count }
    private mutating func append(_ d: Direction, _ v: ByteView) {
        if d == .toServer { v.append(to: &bufToServer) } else { v.append(to: &bufToClient) }
    }
    private mutating func truncate(_ d: Direction, to n: Int) {
        if d == .toServer {
            if n < bufToServer.count { bufToServer.removeLast(bufToServer.count - n) }
        } else {
            if n < bufToClient.count { bufToClient.removeLast(bufToClient.count - n) }
        }
    }
    private func withBuffer<R>(_ d: Direction, _ body: (ByteView) -> R) -> R {
        d == .toServer ? bufToServer.withByteView(body) : bufToClient.withByteView(body)
    }
}

/// One direction of a `SIPStream`.
struct SIPStreamDirection: Sendable {
    var inBody = false
    var bodyRemaining = 0
    /// The body did not fit the buffer.
    var cut = false
    var stopped = false
}
