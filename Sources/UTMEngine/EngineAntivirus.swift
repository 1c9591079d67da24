import UTMCore
import UTMDecode
import UTMFlow
import UTMAppLayer
import UTMOutput
import UTMAntivirus

// Antivirus in the packet path: files from HTTP bodies (both directions) and mail messages
// (SMTP 25/587, POP3 110) are scanned while they stream through, and an infected file is never
// delivered whole ("無害化" [000 2.1]).
//
// Blocking before delivery, and how it maps onto NFQUEUE. The engine is synchronous: a packet's
// in-order bytes (and any queued out-of-order bytes it releases) are parsed and scanned while
// the packet is processed, before its decision is returned. The packet whose bytes complete a
// file (Content-Length reached; the terminating 0-chunk of a chunked body; the end of a gzip
// stream, which the parser decodes in the same call; the `CRLF.CRLF` of a mail message) ends
// the scan in that call, so hash, EICAR and logical signatures are decided before the packet
// is released: an infected file's last packet gets `.reject` + `.tcpResetBoth` (source
// `.antivirus`), and the flow is marked blocked, so every later packet is dropped. Body
// signatures that match earlier reject the packet that carried the match at once. The live
// source holds each packet in the kernel queue until `process` returns and then issues exactly
// that verdict (NF_DROP and an RST to both ends for `.reject`), so the client never receives the
// final bytes; nothing is held for clean files beyond the scan of the packet itself, which is
// the same work the engine does for every packet. Limits, stated: an out-of-order segment that
// carries the tail before a hole is accepted (it is queued here, not scanned); the hole-filling
// packet is then the one that completes the file and is rejected, so the client still cannot
// assemble it. A chunked body whose last data chunk and terminating `0\r\n\r\n` arrive in
// different packets delivers all file bytes but not the end of the message (browsers discard
// it on the reset). A body delimited only by the connection's close ends at flow end, after
// delivery: it is logged with `alert.action` "allowed".

/// Antivirus settings: the database and scan limits. `EngineConfig.antivirus` nil: no AV.
public struct EngineAntivirusConfig: Sendable {
    public var database: AVDatabase
    public var scan: AVScanConfig
    /// Files scanned at once per worker; a file beyond them passes unscanned (counted). Each
    /// session holds `scan.maxDepth + 1` levels of ~80 KiB. Default 32.
    public var sessions = 32
    /// SMTP/POP3 flows followed at once. Default 256.
    public var maxMailStates = 256
    /// Server ports of SMTP (submission included) and POP3.
    public var smtpPorts: [UInt16] = [25, 587]
    public var pop3Ports: [UInt16] = [110]

    public init(database: AVDatabase, scan: AVScanConfig = .init()) {
        self.database = database
        self.scan = scan
    }
}

extension EngineConfig {
    /// Turns the antivirus on: bodies are delivered to the scanner up to its file limit (the
    /// HTTP parser's `maxBodyInspect` and the stream depth are raised to it; a longer file is
    /// scanned up to the limit and reported TRUNCATED).
    public mutating func applyAntivirus(_ av: EngineAntivirusConfig) {
        antivirus = av
        http.maxBodyInspect = Swift.max(http.maxBodyInspect, av.scan.maxFileBytes)
        http2.maxBodyInspect = Swift.max(http2.maxBodyInspect, av.scan.maxFileBytes)
        let depth = Int(Swift.min(av.scan.maxFileBytes, Int64(Int32.max))) + (64 << 10)
        flow.streamDepth = Swift.max(flow.streamDepth, depth)
    }
}

/// Counters of the antivirus stage.
public struct EngineAVStats: Sendable {
    public var files: UInt64 = 0
    public var infected: UInt64 = 0
    public var blocked: UInt64 = 0
    /// Files that passed unscanned: no free session.
    public var sessionsExhausted: UInt64 = 0
    public var mailStatesExhausted: UInt64 = 0
    public init() {}
}

/// Per flow-table slot: the files in progress of one flow.
struct AVFlowFiles {
    /// Sessions of the file in progress, to server (upload, mail) and to client (download).
    var up: FileScanSession?
    var down: FileScanSession?
    /// Latest `HTTPBodyChunk.transaction` of each direction (fresh until the feed returns).
    var upTx: Int32 = -1
    var downTx: Int32 = -1
    /// Direction bits (1 up, 2 down): the rest of this body is not scanned (no session, or
    /// already decided by an early body match).
    var skipping: UInt8 = 0
    /// Files seen in the flow (`fileinfo.file_id`).
    var fileCount: UInt32 = 0
    /// 0 undecided, 1 SMTP, 2 POP3, 255 not mail.
    var mailKind: UInt8 = 0
    var mailSlot: Int32 = -1
    /// `mailKind` of an FTP data connection (EngineFTPData.swift), its expectation and the
    /// bytes of the file in progress.
    static let ftpData: UInt8 = 3
    var ftpEntry: Int32 = -1
    var ftpBytes: Int64 = 0

    func session(_ d: Int) -> FileScanSession? { d == 0 ? up : down }
    mutating func set(_ d: Int, _ s: FileScanSession?) { if d == 0 { up = s } else { down = s } }
}

/// A file whose end was seen during a feed; finished (verdict, events) once the feed returns,
/// when its transaction's headers can be read.
struct AVEndedFile {
    var session: FileScanSession
    var direction: Int
    var tx: Int32
    var truncated: Bool
}

/// One SMTP or POP3 flow's framer; created per pool slot at warm-up, never per packet. A class
/// so its extractor can be fed while the engine's AV state is updated from the callback.
final class AVMailFlow {
    var smtp = SMTPFileExtractor()
    var pop3 = POP3FileExtractor()
}

/// The engine's antivirus state (nil scanner: AV off, nothing here is used).
struct EngineAVStage {
    let scanner: AVScanner?
    let smtpPorts: [UInt16]
    let pop3Ports: [UInt16]
    var files: [AVFlowFiles]
    var mail: SlotPool<AVMailFlow>
    var ended: [AVEndedFile]
    var stats = EngineAVStats()
    /// HTTP/2 bodies in progress: one session per parser slot, stream slot and direction
    /// (EngineAntivirusHTTP2.swift), sized by the engine; HTTP/2 interleaves its streams.
    var h2Sessions: [FileScanSession?] = []

    init(config: EngineAntivirusConfig?, flowCapacity: Int) {
        if let config {
            scanner = AVScanner(database: config.database, config: config.scan, sessions: config.sessions)
            files = Array(repeating: AVFlowFiles(), count: flowCapacity)
            mail = SlotPool(limit: config.maxMailStates) { AVMailFlow() }
            smtpPorts = config.smtpPorts
            pop3Ports = config.pop3Ports
        } else {
            scanner = nil
            files = []
            mail = SlotPool(limit: 0) { AVMailFlow() }
            smtpPorts = []
            pop3Ports = []
        }
        ended = []
        ended.reserveCapacity(64)
    }
}

extension Engine {
    /// Antivirus counters of this worker.
    public var antivirusStats: EngineAVStats { av.stats }

    // MARK: HTTP

    /// Feeds HTTP stream bytes to the flow's parser; with AV on, body chunks go to scan
    /// sessions, and files that ended or matched are decided before the packet is.
    func feedHTTP(_ ref: FlowRef, _ slot: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints) {
        // Body chunks go to the IPS (file_data, http.request_body) and to the antivirus.
        guard av.scanner != nil else {
            http.items[slot].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { body in
                if self.detect != nil { self.detectHTTPBody(body) }
            }
            return
        }
        let k = Int(ref.index)
        let gap = chunk.gapBefore
        http.items[slot].feed(data, direction: chunk.direction, gap: gap) { body in
            if self.detect != nil { self.detectHTTPBody(body) }
            self.avHTTPBody(k, body, gap: gap)
        }
        avSettleHTTP(k, slot, m, time: packet.timestamp, enforce: true)
    }

    /// The flow ends: bodies still open are ended by the parser (complete when delimited by the
    /// close, else truncated) and decided; nothing can be blocked any more.
    /// `ips`: the IPS inspects what the end delivers (EngineBodyEnd.swift).
    func finishHTTP(_ ref: FlowRef, _ slot: Int, _ m: EVEEndpoints, time: Timestamp, ips: Bool = false) {
        guard av.scanner != nil else {
            if ips { http.items[slot].finish { body in self.detectHTTPBody(body) } } else { http.items[slot].finish() }
            return
        }
        let k = Int(ref.index)
        http.items[slot].finish { body in
            if ips { self.detectHTTPBody(body) }
            self.avHTTPBody(k, body, gap: false)
        }
        avSettleHTTP(k, slot, m, time: time, enforce: false)
    }

    /// One body chunk (called from inside the HTTP parser: must not touch `http`).
    func avHTTPBody(_ k: Int, _ body: HTTPBodyChunk, gap: Bool) {
        guard let scanner = av.scanner else { return }
        let d = body.direction == .toServer ? 0 : 1
        let bit: UInt8 = d == 0 ? 1 : 2
        if d == 0 { av.files[k].upTx = Int32(body.transaction) } else { av.files[k].downTx = Int32(body.transaction) }
        if av.files[k].skipping & bit != 0 {
            if body.isLast { av.files[k].skipping &= ~bit }
            return
        }
        var s = av.files[k].session(d)
        if s == nil {
            if body.isLast && body.data.isEmpty { return }  // an empty body: no file
            s = scanner.begin()
            av.files[k].fileCount &+= 1
            av.stats.files &+= 1
            guard s != nil else {
                av.stats.sessionsExhausted &+= 1
                if !body.isLast { av.files[k].skipping |= bit }
                return
            }
            av.files[k].set(d, s)
        }
        guard let session = s else { return }
        if !body.data.isEmpty { session.feed(body.data) }
        if body.isLast {
            av.files[k].set(d, nil)
            avQueueEnded(session, d, tx: Int32(body.transaction), truncated: gap)
        }
    }

    /// A file that ended in this feed waits in `av.ended` (reserved capacity, no allocation) to
    /// be decided after the feed; past that capacity it is scanned but not logged.
    func avQueueEnded(_ session: FileScanSession, _ d: Int, tx: Int32, truncated: Bool) {
        if av.ended.count < av.ended.capacity {
            av.ended.append(AVEndedFile(session: session, direction: d, tx: tx, truncated: truncated))
        } else {
            _ = session.end(truncated: truncated)  // too many files in one packet: scanned, not logged
            session.release()
        }
    }

    /// After a feed: decide the files that ended, and block at once on a body match in a file
    /// still streaming.
    func avSettleHTTP(_ k: Int, _ slot: Int, _ m: EVEEndpoints, time: Timestamp, enforce: Bool) {
        var j = 0
        while j < av.ended.count {
            let e = av.ended[j]
            avDecideHTTP(k, slot, e.session, e.direction, tx: Int(e.tx), truncated: e.truncated, m, time: time, enforce: enforce)
            j += 1
        }
        av.ended.removeAll(keepingCapacity: true)
        for d in 0 ..< 2 {
            guard let s = av.files[k].session(d), s.detection != nil else { continue }
            av.files[k].set(d, nil)
            av.files[k].skipping |= d == 0 ? 1 : 2
            let tx = Int(d == 0 ? av.files[k].upTx : av.files[k].downTx)
            avDecideHTTP(k, slot, s, d, tx: tx, truncated: true, m, time: time, enforce: enforce)
        }
    }

    /// Ends one HTTP file: verdict, `fileinfo` (and `alert`), and the packet's decision.
    func avDecideHTTP(_ k: Int, _ slot: Int, _ s: FileScanSession, _ d: Int, tx txIndex: Int, truncated: Bool,
                      _ m: EVEEndpoints, time: Timestamp, enforce: Bool) {
        let tx = http.items[slot].ready(txIndex)
        let headers = d == 0 ? tx.requestHeaders : tx.responseHeaders
        var cut = truncated || tx.flags.contains(.gap) || tx.flags.contains(.bodyInspectLimited)
            || tx.flags.contains(.decodeError)
            || tx.flags.contains(d == 0 ? .requestBodyTruncated : .responseBodyTruncated)
        let gaps = tx.flags.contains(.gap) || truncated
        let result: AVScanResult = http.items[slot].withField(headers) { h in
            if d == 1 {
                let range = AVHeaders.value(h, "content-range")
                if HTTPFileInfo.isPartial(status: tx.status, contentRange: range) { cut = true }
            }
            return s.end(truncated: cut)
        }
        s.release()
        var f = EVEFile()
        f.fileID = UInt64(av.files[k].fileCount)
        f.gaps = gaps
        let e = d == 0 ? m : m.reversed
        http.items[slot].withField(tx.host) { host in
            http.items[slot].withField(tx.uri) { uri in
                http.items[slot].withField(headers) { h in
                    f.hostname = host
                    f.url = uri
                    f.filename = AVHeaders.value(h, "content-disposition").flatMap { HTTPFileInfo.fileName(contentDisposition: $0) }
                        ?? AVHeaders.lastPathSegment(uri)
                    avReport(result, &f, e, time: time, enforce: enforce)
                }
            }
        }
    }

    // MARK: Mail

    /// Stream bytes of any TCP flow (called for every in-order chunk, before the parsers): SMTP
    /// and POP3 flows, recognised by server port, go through the mail extractors.
    func avMailData(_ ref: FlowRef, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints) {
        guard av.scanner != nil else { return }
        let k = Int(ref.index)
        var kind = av.files[k].mailKind
        if kind == 255 { return }
        if kind == AVFlowFiles.ftpData { avFTPData(k, data, chunk, m); return }
        if kind == 0 {
            kind = av.smtpPorts.contains(m.dstPort) ? 1 : av.pop3Ports.contains(m.dstPort) ? 2 : 255
            if kind != 255 {
                if let s = av.mail.acquire() {
                    av.files[k].mailSlot = s
                    av.mail.items[Int(s)].smtp.reset()
                    av.mail.items[Int(s)].pop3.reset()
                } else {
                    av.stats.mailStatesExhausted &+= 1
                    kind = 255
                }
            }
            av.files[k].mailKind = kind
            if kind == 255 { return }
        }
        let state = av.mail.items[Int(av.files[k].mailSlot)]
        if kind == 1 {
            state.smtp.feed(data, direction: chunk.direction, gap: chunk.gapBefore) { ev in self.avMailEvent(k, 0, ev) }
        } else {
            state.pop3.feed(data, direction: chunk.direction, gap: chunk.gapBefore) { ev in self.avMailEvent(k, 1, ev) }
        }
        avSettleMail(k, m, time: packet.timestamp, enforce: true)
    }

    /// STARTTLS was accepted (EngineSMTP.swift): the rest of the flow is TLS, which the mail
    /// framer must not read as mail. A message in progress ends truncated, as at the flow's end.
    func avMailStop(_ ref: FlowRef, _ m: EVEEndpoints, time: Timestamp) {
        guard av.scanner != nil else { return }
        let k = Int(ref.index)
        let ms = av.files[k].mailSlot
        guard ms >= 0, av.files[k].mailKind == 1 else { return }
        av.mail.items[Int(ms)].smtp.finish { ev in self.avMailEvent(k, 0, ev) }
        avSettleMail(k, m, time: time, enforce: false)
        for d in 0 ..< 2 {
            guard let s = av.files[k].session(d) else { continue }
            av.files[k].set(d, nil)
            avDecideMail(k, s, d, truncated: true, m, time: time, enforce: false)
        }
        av.mail.release(ms)
        av.files[k].mailSlot = -1
        av.files[k].mailKind = 255
    }

    /// Whether the flow must stay reassembled for the antivirus (a mail flow).
    func avFollowsStream(_ ref: FlowRef) -> Bool {
        av.scanner != nil && (av.files[Int(ref.index)].mailSlot >= 0 || av.files[Int(ref.index)].mailKind == AVFlowFiles.ftpData)
    }

    /// A mail message event; `d` is the direction the message travels (0 SMTP, 1 POP3).
    func avMailEvent(_ k: Int, _ d: Int, _ ev: MailEvent) {
        guard let scanner = av.scanner else { return }
        let bit: UInt8 = d == 0 ? 1 : 2
        switch ev {
        case .begin:
            if let old = av.files[k].session(d) { _ = old.end(truncated: true); old.release() }
            av.files[k].skipping &= ~bit
            av.files[k].fileCount &+= 1
            av.stats.files &+= 1
            let s = scanner.begin(type: .mail)
            if s == nil { av.stats.sessionsExhausted &+= 1 }
            av.files[k].set(d, s)
        case .data(let v):
            av.files[k].session(d)?.feed(v)
        case .end(let truncated):
            guard let s = av.files[k].session(d) else { return }
            av.files[k].set(d, nil)
            if av.ended.count < av.ended.capacity {
                av.ended.append(AVEndedFile(session: s, direction: d, tx: -1, truncated: truncated))
            } else {
                _ = s.end(truncated: truncated)
                s.release()
            }
        }
    }

    func avSettleMail(_ k: Int, _ m: EVEEndpoints, time: Timestamp, enforce: Bool) {
        var j = 0
        while j < av.ended.count {
            let e = av.ended[j]
            avDecideMail(k, e.session, e.direction, truncated: e.truncated, m, time: time, enforce: enforce)
            j += 1
        }
        av.ended.removeAll(keepingCapacity: true)
        for d in 0 ..< 2 {
            guard let s = av.files[k].session(d), s.detection != nil else { continue }
            av.files[k].set(d, nil)
            avDecideMail(k, s, d, truncated: true, m, time: time, enforce: enforce)
        }
    }

    func avDecideMail(_ k: Int, _ s: FileScanSession, _ d: Int, truncated: Bool, _ m: EVEEndpoints,
                      time: Timestamp, enforce: Bool) {
        let result = s.end(truncated: truncated)
        var f = EVEFile()
        f.fileID = UInt64(av.files[k].fileCount)
        f.gaps = truncated
        f.mailProto = av.files[k].mailKind == 1 ? "smtp" : "pop3"
        // The attachment's name (RFC 2047/2231 decoded), lent by the session until `release`.
        s.withMemberName { name in
            f.filename = name
            avReport(result, &f, d == 0 ? m : m.reversed, time: time, enforce: enforce)
        }
        f.filename = .empty
        s.release()
    }

    // MARK: Verdict and events

    /// Writes `fileinfo` for a scanned file and, for a detection, the `alert`; with `enforce`
    /// the current packet is rejected with resets both ways (the flow is then blocked).
    func avReport(_ result: AVScanResult, _ f: inout EVEFile, _ e: EVEEndpoints, time: Timestamp, enforce: Bool) {
        f.magic = result.info.type.name
        f.size = result.info.size
        f.truncated = result.info.truncated
        if case .infected(let name) = result.verdict {
            f.virus = name
            av.stats.infected &+= 1
        }
        let digests = result.info.digests
        withUnsafeBytes(of: digests.md5.raw) { md5 in
            withUnsafeBytes(of: digests.sha256.raw) { sha in
                if digests.kinds.contains(.md5) { f.md5 = ByteView(md5).prefix(16) }
                if digests.kinds.contains(.sha256) { f.sha256 = ByteView(sha).prefix(32) }
                eve.writeFileinfo(f, time: time, e)
                let block = enforce && result.shouldBlock
                if let v = f.virus { eve.writeAntivirusAlert(virus: v, blocked: block, file: f, time: time, e) }
                if block {
                    av.stats.blocked &+= 1
                    refuse(PacketDecision(verdict: .reject, response: .tcpResetBoth, source: .antivirus),
                           reason: "antivirus", e, webFilter: nil)
                }
            }
        }
        f.md5 = .empty
        f.sha256 = .empty
    }

    // MARK: Flow end

    /// The flow ended: mail in progress is ended as truncated, files still open are logged
    /// TRUNCATED, the mail slot is given back and the flow's slot cleared for the next flow.
    func avFlowEnded(_ ref: FlowRef, _ m: EVEEndpoints, time: Timestamp) {
        guard av.scanner != nil else { return }
        let k = Int(ref.index)
        let ms = av.files[k].mailSlot
        if ms >= 0 {
            let state = av.mail.items[Int(ms)]
            if av.files[k].mailKind == 1 {
                state.smtp.finish { ev in self.avMailEvent(k, 0, ev) }
            } else {
                state.pop3.finish { ev in self.avMailEvent(k, 1, ev) }
            }
            avSettleMail(k, m, time: time, enforce: false)
            av.mail.release(ms)
        }
        for d in 0 ..< 2 {
            guard let s = av.files[k].session(d) else { continue }
            av.files[k].set(d, nil)
            if ms >= 0 {
                avDecideMail(k, s, d, truncated: true, m, time: time, enforce: false)
            } else if av.files[k].mailKind == AVFlowFiles.ftpData {
                // An FTP data connection ends its file by closing: complete, already delivered.
                avDecideFTPData(k, s, d, truncated: false, m, time: time, enforce: false)
            } else {
                let result = s.end(truncated: true)
                s.release()
                var f = EVEFile()
                f.fileID = UInt64(av.files[k].fileCount)
                f.gaps = true
                avReport(result, &f, d == 0 ? m : m.reversed, time: time, enforce: false)
            }
        }
        av.files[k] = AVFlowFiles()
    }
}

/// Header lookups over a stored header block ("Name: value\r\n" lines).
enum AVHeaders {
    /// The value of the first header called `name` (lower case), trimmed; nil when absent.
    static func value(_ block: ByteView, _ name: StaticString) -> ByteView? {
        let n = name.byteView
        var pos = 0
        while pos < block.count {
            let eol = block.firstIndex(of: 0x0a, from: pos) ?? block.count
            let line = block.dropFirst(pos).prefix(eol - pos)
            pos = eol + 1
            guard line.count > n.count, line.startsCaseInsensitive(with: n), line.u8(n.count) == UInt8(ascii: ":") else { continue }
            var v = line.dropFirst(n.count + 1)
            while let c = v.u8(0), c == 0x20 || c == 0x09 { v = v.dropFirst(1) }
            while let c = v.u8(v.count - 1), c == 0x20 || c == 0x09 || c == 0x0d { v = v.prefix(v.count - 1) }
            return v
        }
        return nil
    }

    /// The last segment of a URL path (query and fragment cut), as Suricata names HTTP files.
    static func lastPathSegment(_ uri: ByteView) -> ByteView {
        var path = uri
        if let q = path.firstIndex(of: UInt8(ascii: "?")) { path = path.prefix(q) }
        if let h = path.firstIndex(of: UInt8(ascii: "#")) { path = path.prefix(h) }
        var start = 0
        var i = 0
        path.forEachByte { b in
            i += 1
            if b == UInt8(ascii: "/") { start = i }
        }
        return path.dropFirst(start)
    }
}

extension EngineAntivirusConfig {
    /// Builds the database from ClamAV signature files already read (`utmctl replay --av-db`:
    /// the engine reads no files). The format comes from each name's extension. Lines that
    /// cannot be used are never fatal: each comes back as a warning "path:line: reason" (the
    /// first 200; then a count), like a rule that does not parse.
    public static func load(_ files: [(path: String, bytes: [UInt8])], scan: AVScanConfig = .init())
        -> (config: EngineAntivirusConfig, warnings: [String], loaded: Int)
    {
        var builder = AVDatabaseBuilder()
        var warnings: [String] = []
        for (path, bytes) in files {
            guard let format = AVSignatureFormat.from(fileName: path) else {
                warnings.append("\(path): not a ClamAV signature file this engine reads (.hdb .hsb .ndb .ldb .mdb .msb .imp); skipped")
                continue
            }
            builder.load(bytes, format: format, source: path)
        }
        let db = builder.build()
        let report = db.report
        for s in report.skipped { warnings.append("\(s.source):\(s.line): \(s.reason)") }
        let skipped = report.unsupportedCount + report.malformedCount
        if skipped > report.skipped.count {
            warnings.append("\(skipped - report.skipped.count) more lines skipped (\(report.unsupportedCount) unsupported, \(report.malformedCount) malformed in all)")
        }
        return (EngineAntivirusConfig(database: db, scan: scan), warnings, report.totalLoaded)
    }
}
