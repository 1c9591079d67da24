import UTMCore

/// Where the MIME decoder's parts go: the antivirus' scan levels (AVContainers.swift) and the
/// IPS's SMTP `file_data` (EngineSMTPFiles.swift). Session 12 moved the decoder here from
/// UTMAntivirus so both use the one decoder; generic, so no existential box per call.
public protocol MimeSink {
    /// False once the consumer wants no more of this message (the antivirus found it infected).
    var wantsMore: Bool { get }
    /// A part opens, with its decoded file name (empty when it has none). False: stop decoding.
    func beginPart(name: ByteView) -> Bool
    /// Decoded bytes of the open part. False: the part is refused (decoding stops unless
    /// `wantsMore` says the consumer is done anyway).
    func feedPart(_ data: ByteView) -> Bool
    func endPart()
    /// Whether the open part's decoded bytes are still wanted. False (the IPS has inspected
    /// the part's window, or the part is no attachment): its body lines are only scanned for
    /// the boundary that ends it, not decoded. Why: decoding is most of the cost of a mail,
    /// and an attachment is usually much larger than the window the rules read.
    var wantsPartData: Bool { get }
}

extension MimeSink {
    /// The antivirus scans every byte of every part.
    public var wantsPartData: Bool { true }
}

/// Streaming MIME decoder: a mail message in, each part (and each uuencoded block) out as a
/// member file of the scan, decoded from base64 / quoted-printable / uuencode.
///
/// Line based with a fixed 1 KiB line buffer: longer lines are passed on in pieces (they cannot
/// be boundaries). Multipart boundaries nest up to `maxBoundaries`; `message/rfc822` parts are
/// parsed as messages in place. Why a class: it owns its slabs and is created once per scan
/// level, then `reset` per message.
public final class MimeDecoder {
    enum Encoding: UInt8 { case none, base64, quotedPrintable, uuencode }
    enum Kind: UInt8 { case leaf, multipart, message }

    static let maxBoundaries = 8
    static let boundaryCap = 80

    let line = ByteSlab(capacity: 1024)
    var lineLen = 0
    var midLine = false
    let headerBuf = ByteSlab(capacity: 2048)
    var headerLen = 0
    let fileName = ByteSlab(capacity: 256)
    var fileNameLen = 0
    let boundaries = ByteSlab(capacity: MimeDecoder.maxBoundaries * MimeDecoder.boundaryCap)
    var boundaryLens = [Int](repeating: 0, count: MimeDecoder.maxBoundaries)
    var boundaryCount = 0
    let pendingBoundary = ByteSlab(capacity: MimeDecoder.boundaryCap)
    var pendingBoundaryLen = 0
    let out = ByteSlab(capacity: 1024)

    var inHeaders = true
    var kind: Kind = .leaf
    var encoding: Encoding = .none
    var isText = true
    var memberOpen = false
    var pendingEOL = 0  // 0 none, 1 LF, 2 CRLF
    var inUU = false
    var uuOnly = false
    var stopped = false
    // base64 state
    var b64Acc: UInt32 = 0
    var b64Count = 0
    var b64Done = false

    public init() {}

    public func reset(uuOnly: Bool) {
        lineLen = 0
        midLine = false
        headerLen = 0
        fileNameLen = 0
        boundaryCount = 0
        pendingBoundaryLen = 0
        inHeaders = !uuOnly
        kind = .leaf
        encoding = .none
        isText = true
        memberOpen = false
        pendingEOL = 0
        inUU = false
        self.uuOnly = uuOnly
        stopped = false
        b64Acc = 0
        b64Count = 0
        b64Done = false
    }

    public func feed<S: MimeSink>(_ data: ByteView, _ sink: S) {
        var rest = data
        while !rest.isEmpty && !stopped && sink.wantsMore {
            if let nl = rest.firstIndex(of: 0x0a) {
                let piece = rest.prefix(nl)
                rest = rest.dropFirst(nl + 1)
                append(piece, sink)
                var crlf = false
                if lineLen > 0, line.read(lineLen - 1) == 0x0d { lineLen -= 1; crlf = true }
                let l = line.view(0, lineLen) ?? .empty
                handleLine(l, eol: crlf ? 2 : 1, sink)
                lineLen = 0
                midLine = false
            } else {
                append(rest, sink)
                rest = .empty
            }
        }
    }

    private func append<S: MimeSink>(_ piece: ByteView, _ sink: S) {
        var p = piece
        while !p.isEmpty {
            let room = line.capacity - lineLen
            if room == 0 {
                // Over-long line: keep one byte back (a CR may end it), pass the rest on.
                let keep = line.read(lineLen - 1) ?? 0
                if let v = line.view(0, lineLen - 1) { handleLine(v, eol: 0, sink) }
                line.write(keep, at: 0)
                lineLen = 1
                midLine = true
                continue
            }
            let take = Swift.min(room, p.count)
            line.write(p.prefix(take), at: lineLen)
            lineLen += take
            p = p.dropFirst(take)
        }
    }

    public func finish<S: MimeSink>(_ sink: S) {
        if lineLen > 0, !stopped, let l = line.view(0, lineLen) {
            handleLine(l, eol: 0, sink)
            lineLen = 0
        }
        if inHeaders && headerLen > 0 { headerDone() }
        flushBase64Tail(sink)
        closeMember(sink)
    }

    // MARK: Lines

    /// `eol`: 0 = no line end (a piece of a long line or the last line), 1 = LF, 2 = CRLF.
    private func handleLine<S: MimeSink>(_ l: ByteView, eol: Int, _ sink: S) {
        if inHeaders && !midLine {
            if l.isEmpty {
                if headerLen > 0 { headerDone() }
                startBody(sink)
                return
            }
            if let c = l.u8(0), c == 0x20 || c == 0x09 {
                appendHeader(l)
            } else {
                if headerLen > 0 { headerDone() }
                appendHeader(l)
            }
            if eol == 0 && lineLen >= line.capacity { midLine = true }
            return
        }
        if inHeaders { return }  // rest of an over-long header line
        if !midLine && boundaryCount > 0 && l.count >= 2 && l.u8(0) == 0x2d && l.u8(1) == 0x2d {
            if checkBoundary(l, sink) { return }
        }
        bodyLine(l, eol: eol, sink)
    }

    private func checkBoundary<S: MimeSink>(_ l: ByteView, _ sink: S) -> Bool {
        var i = boundaryCount - 1
        while i >= 0 {
            let n = boundaryLens[i]
            if let b = boundaries.view(i * MimeDecoder.boundaryCap, n), l.count >= 2 + n, l.dropFirst(2).starts(with: b) {
                let tail = l.dropFirst(2 + n)
                var closing = false
                if tail.count >= 2 && tail.u8(0) == 0x2d && tail.u8(1) == 0x2d { closing = true }
                else {
                    var onlySpace = true
                    tail.forEachByte { if $0 != 0x20 && $0 != 0x09 { onlySpace = false } }
                    if !onlySpace { i -= 1; continue }
                }
                pendingEOL = 0
                flushBase64Tail(sink)
                closeMember(sink)
                boundaryCount = closing ? i : i + 1
                if !closing {
                    inHeaders = true
                    resetPart()
                } else {
                    inHeaders = false
                    kind = .multipart  // epilogue: ignored until an outer boundary
                }
                return true
            }
            i -= 1
        }
        return false
    }

    private func resetPart() {
        kind = .leaf
        encoding = .none
        isText = true
        fileNameLen = 0
        pendingBoundaryLen = 0
        headerLen = 0
        inUU = false
    }

    private func appendHeader(_ l: ByteView) {
        let take = Swift.min(l.count, headerBuf.capacity - headerLen)
        headerBuf.write(l.prefix(take), at: headerLen)
        headerLen += take
    }

    private func headerDone() {
        defer { headerLen = 0 }
        guard let h = headerBuf.view(0, headerLen), let colon = h.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = h.prefix(colon)
        let value = trimmed(h.dropFirst(colon + 1))
        if name.equalsCaseInsensitive(Lit.contentType.byteView) {
            if value.startsCaseInsensitive(with: Lit.multipart.byteView) { kind = .multipart }
            else if value.startsCaseInsensitive(with: Lit.message.byteView) { kind = .message }
            else { kind = .leaf }
            isText = value.startsCaseInsensitive(with: Lit.text.byteView)
            if let b = parameter(value, Lit.boundary) {
                pendingBoundaryLen = Swift.min(b.count, MimeDecoder.boundaryCap)
                pendingBoundary.write(b.prefix(pendingBoundaryLen), at: 0)
            }
            // RFC 2047 / 2231 names are decoded (`MimeFileName`).
            if fileNameLen == 0, let n = MimeFileName.decode(value, key: Lit.name.byteView, into: fileName) { fileNameLen = n }
        } else if name.equalsCaseInsensitive(Lit.cte.byteView) {
            if value.startsCaseInsensitive(with: Lit.base64.byteView) { encoding = .base64 }
            else if value.startsCaseInsensitive(with: Lit.qp.byteView) { encoding = .quotedPrintable }
            else if value.startsCaseInsensitive(with: Lit.xuue.byteView) || value.startsCaseInsensitive(with: Lit.uue.byteView) { encoding = .uuencode }
            else { encoding = .none }
        } else if name.equalsCaseInsensitive(Lit.disposition.byteView) {
            if let n = MimeFileName.decode(value, key: Lit.filename.byteView, into: fileName) { fileNameLen = n }
        }
    }

    private func setFileName(_ n: ByteView) {
        fileNameLen = Swift.min(n.count, fileName.capacity)
        fileName.write(n.prefix(fileNameLen), at: 0)
    }

    private func trimmed(_ v: ByteView) -> ByteView {
        var s = v
        while let c = s.u8(0), c == 0x20 || c == 0x09 { s = s.dropFirst(1) }
        return s
    }

    /// `key=value` or `key="value"` (also `key*=charset''value`, RFC 2231, taken raw).
    private func parameter(_ value: ByteView, _ key: StaticString) -> ByteView? {
        var from = 0
        while from < value.count {
            guard let semi = value.firstIndex(of: UInt8(ascii: ";"), from: from) else { return nil }
            var p = trimmed(value.dropFirst(semi + 1))
            from = semi + 1
            guard p.startsCaseInsensitive(with: key.byteView) else { continue }
            p = p.dropFirst(key.utf8CodeUnitCount)
            if p.u8(0) == UInt8(ascii: "*") {
                p = p.dropFirst(1)
                if p.u8(0) != UInt8(ascii: "=") { continue }
                p = p.dropFirst(1)
                if let q = p.firstIndex(of: UInt8(ascii: "'"), from: 0), let q2 = p.firstIndex(of: UInt8(ascii: "'"), from: q + 1) { p = p.dropFirst(q2 + 1) }
            } else {
                while let c = p.u8(0), c == 0x20 { p = p.dropFirst(1) }
                guard p.u8(0) == UInt8(ascii: "=") else { continue }
                p = trimmed(p.dropFirst(1))
            }
            if p.u8(0) == UInt8(ascii: "\"") {
                p = p.dropFirst(1)
                let end = p.firstIndex(of: UInt8(ascii: "\"")) ?? p.count
                return p.prefix(end)
            }
            var end = 0
            while let c = p.u8(end), c != UInt8(ascii: ";"), c != 0x20, c != 0x09 { end += 1 }
            return p.prefix(end)
        }
        return nil
    }

    private func startBody<S: MimeSink>(_ sink: S) {
        inHeaders = false
        switch kind {
        case .multipart:
            if pendingBoundaryLen > 0 && boundaryCount < MimeDecoder.maxBoundaries,
               let b = pendingBoundary.view(0, pendingBoundaryLen) {
                boundaries.write(b, at: boundaryCount * MimeDecoder.boundaryCap)
                boundaryLens[boundaryCount] = pendingBoundaryLen
                boundaryCount += 1
            } else {
                kind = .leaf
                openMember(sink)
            }
        case .message:
            inHeaders = true
            resetPart()
        case .leaf:
            if encoding == .uuencode { encoding = .none; return }  // the "begin" line opens the member
            openMember(sink)
        }
    }

    private func openMember<S: MimeSink>(_ sink: S) {
        guard !memberOpen else { return }
        b64Acc = 0; b64Count = 0; b64Done = false
        pendingEOL = 0
        let n = fileName.view(0, fileNameLen) ?? .empty
        if sink.beginPart(name: n) { memberOpen = true } else { stopped = true }
    }

    private func closeMember<S: MimeSink>(_ sink: S) {
        guard memberOpen else { return }
        memberOpen = false
        sink.endPart()
    }

    private func emit<S: MimeSink>(_ v: ByteView, _ sink: S) {
        guard memberOpen, !v.isEmpty else { return }
        if !sink.feedPart(v) {
            if sink.wantsMore { stopped = true }
        }
    }

    private func emitEOL<S: MimeSink>(_ sink: S) {
        guard pendingEOL > 0 else { return }
        let crlf: StaticString = "\r\n"
        out.write(crlf.byteView.suffix(from: 2 - pendingEOL) ?? .empty, at: 0)
        if let v = out.view(0, pendingEOL) { emit(v, sink) }
        pendingEOL = 0
    }

    // MARK: Body

    private func bodyLine<S: MimeSink>(_ l: ByteView, eol: Int, _ sink: S) {
        if kind == .multipart { return }  // preamble or epilogue
        if inUU {
            if !midLine && (l.starts(with: Lit.end.byteView) || l.starts(with: Lit.backtick.byteView)) && l.count <= 4 {
                inUU = false
                closeMember(sink)
                return
            }
            if sink.wantsPartData { uudecode(l, sink) }
            return
        }
        if encoding != .base64 && !midLine && l.starts(with: Lit.begin.byteView) && isUUBegin(l) {
            closeMember(sink)
            // "begin 644 name": the name is after the second space.
            var name = ByteView.empty
            if let sp = l.firstIndex(of: 0x20, from: 6) { name = l.dropFirst(sp + 1) }
            setFileName(name.prefix(fileName.capacity))
            openMember(sink)
            inUU = true
            return
        }
        if uuOnly { return }
        if memberOpen && !sink.wantsPartData { return }
        switch encoding {
        case .base64:
            base64(l, sink)
        case .quotedPrintable:
            emitEOL(sink)
            quotedPrintable(l, eol: eol, sink)
        case .none, .uuencode:
            emitEOL(sink)
            emit(l, sink)
            pendingEOL = eol
        }
    }

    private func isUUBegin(_ l: ByteView) -> Bool {
        // "begin " then 3 or 4 octal digits and a space.
        var i = 6
        var digits = 0
        while let c = l.u8(i), c >= 0x30, c <= 0x37 { i += 1; digits += 1 }
        return digits >= 3 && digits <= 4 && l.u8(i) == 0x20
    }

    private func uudecode<S: MimeSink>(_ l: ByteView, _ sink: S) {
        guard let first = l.u8(0) else { return }
        let n = Int((first &- 0x20) & 0x3f)
        var o = 0
        var i = 1
        while o < n {
            var q: UInt32 = 0
            for k in 0..<4 { q = q << 6 | UInt32(((l.u8(i + k) ?? 0x20) &- 0x20) & 0x3f) }
            i += 4
            for k in 0..<3 where o < n {
                out.write(UInt8(truncatingIfNeeded: q >> UInt32(16 - 8 * k)), at: o)
                o += 1
            }
        }
        if let v = out.view(0, o) { emit(v, sink) }
    }

    private func base64<S: MimeSink>(_ l: ByteView, _ sink: S) {
        guard !b64Done else { return }
        var o = 0
        var acc = b64Acc
        var count = b64Count
        var done = false
        l.forEachByte { c in
            guard !done else { return }
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c + 4)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): done = true; return
            default: return
            }
            acc = acc << 6 | v
            count += 1
            if count == 4 {
                out.write(UInt8(truncatingIfNeeded: acc >> 16), at: o)
                out.write(UInt8(truncatingIfNeeded: acc >> 8), at: o + 1)
                out.write(UInt8(truncatingIfNeeded: acc), at: o + 2)
                o += 3
                count = 0
                acc = 0
            }
        }
        b64Acc = acc
        b64Count = count
        if let v = out.view(0, o) { emit(v, sink) }
        if done { flushBase64Tail(sink); b64Done = true }
    }

    /// Bytes of an unfinished base64 quantum (padding `=` or the end of the part).
    private func flushBase64Tail<S: MimeSink>(_ sink: S) {
        guard encoding == .base64, memberOpen, b64Count >= 2 else { b64Count = 0; b64Acc = 0; return }
        let acc = b64Acc << UInt32(6 * (4 - b64Count))
        let n = b64Count - 1
        out.write(UInt8(truncatingIfNeeded: acc >> 16), at: 0)
        out.write(UInt8(truncatingIfNeeded: acc >> 8), at: 1)
        b64Count = 0
        b64Acc = 0
        if let v = out.view(0, n) { emit(v, sink) }
    }

    private func quotedPrintable<S: MimeSink>(_ l: ByteView, eol: Int, _ sink: S) {
        var o = 0
        var i = 0
        var soft = false
        while i < l.count {
            let c = l.u8(i) ?? 0
            if c == UInt8(ascii: "=") {
                if i + 1 == l.count { soft = true; break }
                if let h = l.u8(i + 1).flatMap(mimeHexValue), let lo = l.u8(i + 2).flatMap(mimeHexValue) {
                    out.write(h << 4 | lo, at: o); o += 1; i += 3; continue
                }
            }
            out.write(c, at: o)
            o += 1
            i += 1
        }
        if let v = out.view(0, o) { emit(v, sink) }
        pendingEOL = soft ? 0 : eol
    }
}

/// Byte literals the MIME decoder compares against (allocated once).
enum Lit {
    static let contentType: StaticString = "content-type"
    static let cte: StaticString = "content-transfer-encoding"
    static let disposition: StaticString = "content-disposition"
    static let multipart: StaticString = "multipart/"
    static let message: StaticString = "message/rfc822"
    static let text: StaticString = "text/"
    static let boundary: StaticString = "boundary"
    static let name: StaticString = "name"
    static let filename: StaticString = "filename"
    static let base64: StaticString = "base64"
    static let qp: StaticString = "quoted-printable"
    static let xuue: StaticString = "x-uuencode"
    static let uue: StaticString = "uuencode"
    static let begin: StaticString = "begin "
    static let end: StaticString = "end"
    static let backtick: StaticString = "`"
}

/// A hex digit's value (quoted-printable `=XX`, RFC 2231 `%XX`); the antivirus has its own in
/// its pattern parser, which stayed there.
@inline(__always)
func mimeHexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
    default: return nil
    }
}
