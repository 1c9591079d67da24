import UTMCore
import UTMAppLayer
import UTMCrypto
import UTMAntivirus
import UTMDetect

// File keywords (session 9): the IPS follows HTTP/1 files itself, with or without the
// antivirus. A file is an HTTP body with at least one byte, per transaction and direction (a
// download or an upload), named as Suricata names HTTP files: the response's
// Content-Disposition filename, else the request URI's path (query cut). Its size and the
// digests the loaded rules need are computed from the decoded body bytes as they pass (the
// same `HTTPBodyChunk`s the antivirus and file_data get; nothing is held). Rules are judged at
// two HTTP phases (DetectDefinitions.fileOpenPhase / fileClosePhase): name rules with the
// body's first inspection (so a drop can stop a download on its first bytes, and
// `file_data` is lent with it), size and hash rules when the body ends, with the
// transaction's header buffers and the name. What it shares with the antivirus: the parser's
// decoded body chunks and the AV's name helpers (HTTPFileInfo, AVHeaders); what it does not:
// the AV's scan sessions (they exist only with AV configured and hold ~80 KiB each), so the
// digests here come from a pool of their own.

/// Per-worker file tracking for detection: fixed tables sized when rules with file keywords
/// are loaded (empty, and every hook a no-op, otherwise).
struct EngineFileDetectStage {
    /// Per flow-table slot and direction (index `slot * 2 + direction.index`).
    struct Track {
        var flowID: UInt64 = 0
        var file = FileDigestTrack()
        /// `HTTPTransaction.sequence` of the open file (valid while `state == 1`): not the
        /// parser's position (`ready(k)`), which shifts when an earlier finished transaction is
        /// removed at the end of a packet (pipelining).
        var tx: UInt32 = 0
        /// 0 idle, 1 open (an ended file moves to `ended` and the track is idle again).
        var state: UInt8 = 0
        /// The open phase (name rules) ran for this file.
        var openInspected = false
    }

    /// A file that ended during a feed, waiting for its close inspection after the feed
    /// (several can end in one packet: pipelined responses, each of its own transaction).
    struct Ended {
        var track: Int32
        /// `HTTPTransaction.sequence` of the file's transaction.
        var tx: UInt32
        var flowID: UInt64
        var file: FileDigestTrack
        var openInspected: Bool
    }

    var tracks: [Track] = []
    /// HTTP/2 stream sides (EngineFileDetectH2): one entry per (HTTP/2 parser slot, stream
    /// slot, side), `h2Index`, so every stream the parsers can hold has its entry.
    var h2: [EngineFileDetectH2] = []
    /// `HTTP2Config.maxStreams`: stream slots per parser in `h2`.
    var h2Streams = 0
    /// Reserved at load (`endedCapacity`); beyond it a file's close inspection is lost, counted.
    var ended: [Ended] = []
    static let endedCapacity = 32
    var pool: [StreamingDigest] = []
    var results: [FileDigests] = []
    var free: [Int32] = []
    var kinds: DigestKinds = []
    var openRules = false
    var closeRules = false
    var stats = EngineFileDetectStats()

    /// Digest contexts per worker: one per file that can be open at once, 2 per HTTP/1 parser
    /// (a download and an upload) plus one per HTTP/2 entry (`h2`), so stalled transfers
    /// cannot starve other files' hash rules. A context is ~400 B (the three OpenSSL states),
    /// allocated at load and only when a hash rule is loaded: 2 x 4096 + 512 contexts,
    /// ~3.5 MiB per worker with the default configuration. `digestPoolExhausted` still
    /// counts a file that found none (it cannot happen with these sizes unless `contexts` is
    /// given smaller).
    static func digestContexts(httpParsers: Int, h2Entries: Int) -> Int {
        Swift.max(1, 2 &* Swift.max(0, httpParsers) &+ h2Entries)
    }

    /// The definitions the tables were sized for: a reload that hands the engine other
    /// definitions (`Engine.adopt`) is noticed by `fileDetectSync` at the next body chunk.
    var defs: DetectDefinitions?

    init() {}

    init(flowCapacity: Int, defs: DetectDefinitions, httpParsers: Int, http2Parsers: Int, http2Streams: Int,
         contexts: Int? = nil) {
        self.defs = defs
        openRules = defs.hasFileOpenRules
        closeRules = defs.hasFileCloseRules
        guard openRules || closeRules else { return }
        tracks = Array(repeating: Track(), count: flowCapacity * 2)
        ended.reserveCapacity(EngineFileDetectStage.endedCapacity)
        h2Streams = Swift.max(1, http2Streams)
        h2 = Array(repeating: EngineFileDetectH2(), count: Swift.max(0, http2Parsers) &* h2Streams &* 2)
        kinds = defs.fileDigests
        if !kinds.isEmpty {
            let contexts = contexts ?? EngineFileDetectStage.digestContexts(httpParsers: httpParsers, h2Entries: h2.count)
            pool = (0 ..< contexts).map { _ in StreamingDigest() }
            results = Array(repeating: FileDigests(), count: contexts)
            free = (0 ..< contexts).reversed().map { Int32($0) }
            free.reserveCapacity(contexts)
        }
    }

    var active: Bool { !tracks.isEmpty }

    mutating func release(_ t: Int) {
        let g = tracks[t].file.digest
        if g >= 0 {
            free.append(g)
            tracks[t].file.digest = -1
        }
    }

    /// A file's first bytes (HTTP/1 track or HTTP/2 entry): counts the file and, when hash
    /// rules are loaded, takes a digest context from the pool and begins it (none left:
    /// counted, the file's hash rules cannot match). Returns the record the caller keeps.
    mutating func openFile() -> FileDigestTrack {
        stats.files &+= 1
        var file = FileDigestTrack()
        if !kinds.isEmpty && closeRules {
            if let g = free.popLast() {
                file.digest = g
                pool[Int(g)].begin(kinds)
            } else {
                stats.digestPoolExhausted &+= 1
            }
        }
        return file
    }

    /// Bytes of the open file `file`: counted, fed to its digest, and the digest finished into
    /// `results` with the file's last bytes (`last`). The caller copies the record out of its
    /// table and back: `file` cannot be an element of this stage's own tables while `self` is
    /// being mutated (overlapping access).
    mutating func addToFile(_ file: inout FileDigestTrack, _ data: ByteView, last: Bool) {
        file.size &+= Int64(data.count)
        let g = Int(file.digest)
        if g >= 0 { pool[g].update(data) }
        if last { finishFile(file) }
    }

    /// The file ended (its last bytes, or cut at the flow's end): its digests go to `results`,
    /// where the close inspection reads them; the context stays the file's until released.
    mutating func finishFile(_ file: FileDigestTrack) {
        let g = Int(file.digest)
        if g >= 0 { results[g] = pool[g].finish() }
    }

    mutating func releaseEnded(_ e: Int) {
        let g = ended[e].file.digest
        if g >= 0 { free.append(g) }
        ended.remove(at: e)
    }
}

/// What an HTTP/1 track and an HTTP/2 entry share about their open file: the bytes counted so
/// far and the digest context. One record so the begin / add / finish steps are written once
/// (`EngineFileDetectStage.openFile`, `addToFile`, `finishFile`) for both protocols.
struct FileDigestTrack {
    var size: Int64 = 0
    /// Digest context from the stage's `pool`, -1: none (no hash rule, or the pool was empty).
    var digest: Int32 = -1
}

/// File tracking counters, in the stats event's `detect` object.
public struct EngineFileDetectStats: Sendable {
    /// Files followed (bodies with at least one byte, in flows with a rule that needs them).
    public var files: UInt64 = 0
    /// Close inspections (size and hash rules judged).
    public var closeInspections: UInt64 = 0
    /// Files that found no free digest context (their hash rules could not match).
    public var digestPoolExhausted: UInt64 = 0
    /// Open files given up because their transaction's body never ended (a new body started).
    public var abandoned: UInt64 = 0
    /// HTTP/2 stream sides with no entry in the table (a parser or stream slot beyond the
    /// sizes it was built for; not expected: it has one per stream a parser can hold).
    public var h2TracksExhausted: UInt64 = 0
    /// Files that ended when the per-packet queue of ended files was full (not judged).
    public var endedOverflow: UInt64 = 0
}

extension Engine {
    public var fileDetectStats: EngineFileDetectStats { fileDetect.stats }

    /// Sizes the file tracking for definitions `defs` (at rule load, never per packet).
    func loadFileDetection(_ defs: DetectDefinitions) {
        fileDetect = EngineFileDetectStage(flowCapacity: flows.capacity, defs: defs, httpParsers: config.maxHTTPStates,
                                           http2Parsers: config.maxHTTP2States, http2Streams: config.http2.maxStreams)
    }

    /// The tables follow the engine's current definitions: sized again when they changed (a
    /// definitions update adopted by a running engine); files in progress then start over.
    /// Allocates once per update, on the first body chunk after it, never per packet.
    @inline(__always)
    func fileDetectSync(_ d: DetectEngine) {
        // The detector's flow capacity, not `flows.capacity`: this runs inside the stream stage,
        // which holds the flow table exclusively.
        if fileDetect.defs !== d.defs {
            fileDetect = EngineFileDetectStage(flowCapacity: d.config.flowCapacity, defs: d.defs, httpParsers: config.maxHTTPStates,
                                               http2Parsers: config.maxHTTP2States, http2Streams: config.http2.maxStreams)
        }
    }

    /// One body chunk of the packet's flow (from inside the HTTP parser's feed: `http` is not
    /// touched here). Counts the size, feeds the digests, and marks the file ended on the
    /// body's last chunk.
    func fileDetectBody(_ chunk: HTTPBodyChunk) {
        guard fileDetect.active, detectCursor.slot >= 0 else { return }
        let t = Int(detectCursor.ref.index) &* 2 &+ chunk.direction.index
        guard t >= 0 && t < fileDetect.tracks.count else { return }
        let flowID = detectCursor.flow.id
        if fileDetect.tracks[t].flowID != flowID || (fileDetect.tracks[t].state == 1 && fileDetect.tracks[t].tx != chunk.sequence) {
            // A reused flow slot, or a body that never ended: start over.
            if fileDetect.tracks[t].state == 1 { fileDetect.stats.abandoned &+= 1 }
            fileDetect.release(t)
            fileDetect.tracks[t] = EngineFileDetectStage.Track()
            fileDetect.tracks[t].flowID = flowID
        }
        if fileDetect.tracks[t].state == 0 {
            // An empty body is no file.
            if chunk.data.isEmpty { return }
            fileDetect.tracks[t].state = 1
            fileDetect.tracks[t].tx = chunk.sequence
            fileDetect.tracks[t].openInspected = false
            fileDetect.tracks[t].file = fileDetect.openFile()
        }
        guard fileDetect.tracks[t].state == 1 else { return }
        var file = fileDetect.tracks[t].file
        fileDetect.addToFile(&file, chunk.data, last: chunk.isLast)
        fileDetect.tracks[t].file = file
        if chunk.isLast {
            let tr = fileDetect.tracks[t]
            if fileDetect.ended.count < EngineFileDetectStage.endedCapacity {
                fileDetect.ended.append(EngineFileDetectStage.Ended(track: Int32(t), tx: tr.tx, flowID: flowID, file: tr.file,
                                                                    openInspected: tr.openInspected))
                fileDetect.tracks[t].file.digest = -1
            } else {
                fileDetect.stats.endedOverflow &+= 1
                fileDetect.release(t)
            }
            fileDetect.tracks[t].state = 0
        }
    }

    /// The ended file of track `t` and transaction sequence `seq` waiting in the queue, or -1.
    func fileDetectEnded(_ t: Int, _ seq: UInt32) -> Int {
        var e = 0
        while e < fileDetect.ended.count {
            let x = fileDetect.ended[e]
            if Int(x.track) == t && x.tx == seq && x.flowID == detectCursor.flow.id { return e }
            e &+= 1
        }
        return -1
    }

    /// The file name Suricata gives an HTTP file: a response's Content-Disposition filename,
    /// else the request URI's path (without query or fragment; an absolute URI's path).
    func fileDetectName(_ i: Int, _ tx: HTTPTransaction, _ direction: Direction) -> ByteView? {
        let p = http.items[i]
        if direction == .toClient && tx.responseHeaders.isPresent {
            let h = p.withField(tx.responseHeaders) { $0 }
            if let cd = AVHeaders.value(h, "content-disposition"),
               let n = HTTPFileInfo.fileName(contentDisposition: cd), !n.isEmpty {
                return n
            }
        }
        guard tx.uri.isPresent else { return nil }
        var u = p.withField(tx.uri) { $0 }
        if let q = u.firstIndex(of: UInt8(ascii: "?")) { u = u.prefix(q) }
        if let h = u.firstIndex(of: UInt8(ascii: "#")) { u = u.prefix(h) }
        // "http://host/path" (a proxy request): the path.
        if u.u8(0) != UInt8(ascii: "/"), let colon = u.firstIndex(of: UInt8(ascii: ":")),
           u.u8(colon &+ 1) == UInt8(ascii: "/"), u.u8(colon &+ 2) == UInt8(ascii: "/") {
            let rest = u.dropFirst(colon &+ 3)
            u = rest.firstIndex(of: UInt8(ascii: "/")).map { rest.dropFirst($0) } ?? .empty
        }
        return u.isEmpty ? nil : u
    }

    /// With a body inspection of transaction `tx` (parser position `k`, detectHTTPInspect;
    /// the file is matched by `tx.sequence`): the file's open phase,
    /// once per file, lending its name. Returns the phase bits to add.
    func fileDetectOpen(_ buffers: inout InspectionBuffers, _ i: Int, _ k: Int, _ tx: HTTPTransaction,
                        _ direction: Direction, file: FileFacts) -> UInt8 {
        guard fileDetect.active, fileDetect.openRules, detectCursor.slot >= 0 else { return 0 }
        let t = Int(detectCursor.ref.index) &* 2 &+ direction.index
        guard t >= 0 && t < fileDetect.tracks.count else { return 0 }
        var size: Int64
        if fileDetect.tracks[t].state == 1 && fileDetect.tracks[t].tx == tx.sequence {
            guard !fileDetect.tracks[t].openInspected else { return 0 }
            fileDetect.tracks[t].openInspected = true
            size = fileDetect.tracks[t].file.size
        } else {
            // Ended in this feed before its first inspection (a small body).
            let e = fileDetectEnded(t, tx.sequence)
            guard e >= 0, !fileDetect.ended[e].openInspected else { return 0 }
            fileDetect.ended[e].openInspected = true
            size = fileDetect.ended[e].file.size
        }
        if let n = fileDetectName(i, tx, direction) { buffers[.fileName] = n }
        // Name rules are judged here; size and hash wait for the close phase.
        file.state = .open
        file.size = size
        return 1 << DetectDefinitions.fileOpenPhase
    }

    /// After the feed's inspections of transaction `k` (detectHTTP): a file of it that ended
    /// is judged (close phase; the open phase too if no body inspection ran it), then forgotten.
    func fileDetectClose(_ d: DetectEngine, _ i: Int, _ k: Int, _ tx: HTTPTransaction, _ direction: Direction) {
        guard fileDetect.active, !fileDetect.ended.isEmpty, detectCursor.slot >= 0 else { return }
        let t = Int(detectCursor.ref.index) &* 2 &+ direction.index
        let e = fileDetectEnded(t, tx.sequence)
        guard e >= 0 else { return }
        let x = fileDetect.ended[e]
        let mask = fileDetectCloseMask(openInspected: x.openInspected)
        if mask != 0 {
            fileDetect.stats.closeInspections &+= 1
            var buffers = InspectionBuffers()
            fillHTTP(&buffers, i, tx, response: direction == .toClient)
            if let n = fileDetectName(i, tx, direction) { buffers[.fileName] = n }
            let file = d.fileFacts
            // Fewer bytes than the parser delivered: the file was picked up mid-body (a
            // definitions update reset the tables), so its size and digests are partial.
            let delivered = direction == .toServer ? tx.requestBodyDelivered : tx.responseBodyDelivered
            fileDetectCloseFacts(file, x.file, truncated: fileDetectTruncated(tx, direction) || x.file.size != delivered)
            let f = detectFacts(direction, app: .http, stream: false)
            d.beginTransaction()
            detectCursor.httpParser = i
            detectCursor.httpReady = k
            d.inspectApp(.http, phaseMask: mask, f, buffers: buffers, slot: detectCursor.slot, time: detectCursor.time) { s, alert in
                self.detectMatched(s, alert, f)
            }
            detectCursor.httpParser = -1
            file.clear()
        }
        fileDetect.releaseEnded(e)
    }

    /// The phases an ended file's close inspection runs (HTTP/1 and HTTP/2 alike): the close
    /// phase (size and hash rules), and the open phase (name rules) when no body inspection
    /// ran it; 0 when neither kind of rule is loaded.
    func fileDetectCloseMask(openInspected: Bool) -> UInt8 {
        var mask: UInt8 = 0
        if fileDetect.closeRules { mask |= 1 << DetectDefinitions.fileClosePhase }
        if fileDetect.openRules && !openInspected { mask |= 1 << DetectDefinitions.fileOpenPhase }
        return mask
    }

    /// An ended file's facts for its close inspection (HTTP/1 and HTTP/2 alike): its size,
    /// whether it is whole, and the digests its context finished (none without a context).
    func fileDetectCloseFacts(_ file: FileFacts, _ track: FileDigestTrack, truncated: Bool) {
        file.size = track.size
        file.state = truncated ? .truncated : .closed
        if track.digest >= 0 { file.digests = fileDetect.results[Int(track.digest)] } else { file.digests.kinds = [] }
    }

    /// After a feed's inspections: ended files no transaction claimed (their transaction was
    /// not among the parser's pending ones) are dropped, so the queue never carries them over.
    func fileDetectSweep(_ direction: Direction) {
        guard fileDetect.active, !fileDetect.ended.isEmpty else { return }
        let t = Int32(truncatingIfNeeded: Int(detectCursor.ref.index) &* 2 &+ direction.index)
        var e = fileDetect.ended.count &- 1
        while e >= 0 {
            if fileDetect.ended[e].track == t { fileDetect.releaseEnded(e) }
            e &-= 1
        }
    }

    /// A body that did not end where its framing said: a gap, a cut at the flow's end, the
    /// parser's delivery limit, a decoding failure, or a partial (206) response.
    func fileDetectTruncated(_ tx: HTTPTransaction, _ direction: Direction) -> Bool {
        let f = tx.flags
        if f.contains(.gap) || f.contains(.bodyInspectLimited) || f.contains(.decodeError) { return true }
        if f.contains(direction == .toServer ? .requestBodyTruncated : .responseBodyTruncated) { return true }
        return direction == .toClient && tx.status == 206
    }
}

// MARK: HTTP/2

/// HTTP/2 files: one per stream side with body bytes, named by the request's `:path` (query
/// cut), as Suricata's HTTP/2 files. Streams of a connection interleave, so each (parser slot,
/// stream slot, side) has its own entry in `EngineFileDetectStage.h2` (sized at load from
/// `maxHTTP2States` x `http2.maxStreams` x 2, indexed directly, the flow id as check): every
/// stream a parser can hold is followed, whatever other connections do. Its bodies reach the
/// IPS body inspection only up to the inspect limit, so the size and digests are taken here
/// from every decoded DATA chunk the parser delivers (up to its 1 MiB bound).
struct EngineFileDetectH2 {
    var flowID: UInt64 = 0
    var response = false
    /// 0 free, 1 open, 2 ended (waiting for its close inspection after the feed).
    var state: UInt8 = 0
    var openInspected = false
    var truncated = false
    var file = FileDigestTrack()
}

extension Engine {
    /// The entry of parser slot `i`, stream slot `stream`, side `response`; -1: out of range.
    @inline(__always)
    func fileDetectH2Index(_ i: Int, _ stream: Int, _ response: Bool) -> Int {
        guard stream >= 0 && stream < fileDetect.h2Streams else { return -1 }
        let e = (i &* fileDetect.h2Streams &+ stream) &* 2 &+ (response ? 1 : 0)
        return e >= 0 && e < fileDetect.h2.count ? e : -1
    }

    /// The entry in use by this flow for the stream side, or -1.
    func fileDetectH2Find(_ i: Int, _ stream: Int, _ response: Bool) -> Int {
        let e = fileDetectH2Index(i, stream, response)
        guard e >= 0, fileDetect.h2[e].state != 0, fileDetect.h2[e].flowID == detectCursor.flow.id else { return -1 }
        return e
    }

    /// One decoded DATA chunk of an HTTP/2 stream side of parser slot `i` (inside the
    /// parser's feed).
    func fileDetectHTTP2Body(_ i: Int, _ body: HTTP2BodyChunk) {
        guard fileDetect.active, detectCursor.slot >= 0 else { return }
        let e = fileDetectH2Index(i, body.stream, body.response)
        guard e >= 0 else { fileDetect.stats.h2TracksExhausted &+= 1; return }
        if fileDetect.h2[e].state != 0 && fileDetect.h2[e].flowID != detectCursor.flow.id {
            // Left by an earlier flow of this parser slot that ended without its close.
            fileDetectH2Free(e)
        }
        if fileDetect.h2[e].state == 1 && body.offset == 0 && !body.data.isEmpty && fileDetect.h2[e].file.size > 0 {
            // The stream slot carries a new stream: the old side never ended.
            fileDetect.stats.abandoned &+= 1
            fileDetectH2Free(e)
        }
        if fileDetect.h2[e].state == 0 {
            if body.data.isEmpty { return }
            // Opened past the body's first byte (the tables were reset by a definitions update):
            // size and digests are partial, so the file counts as truncated.
            fileDetect.h2[e] = EngineFileDetectH2(flowID: detectCursor.flow.id, response: body.response,
                                                  state: 1, truncated: body.offset > 0)
            fileDetect.h2[e].file = fileDetect.openFile()
        }
        guard fileDetect.h2[e].state == 1 else { return }
        var file = fileDetect.h2[e].file
        fileDetect.addToFile(&file, body.data, last: body.isLast)
        fileDetect.h2[e].file = file
        if body.isLast {
            fileDetect.h2[e].state = 2
            if body.truncated { fileDetect.h2[e].truncated = true }
        }
    }

    func fileDetectH2Free(_ e: Int) {
        let g = fileDetect.h2[e].file.digest
        if g >= 0 { fileDetect.free.append(g) }
        fileDetect.h2[e] = EngineFileDetectH2()
    }

    /// The name of stream `s`'s file: its request's `:path` without the query.
    func fileDetectH2Name(_ i: Int, _ s: Int) -> ByteView? {
        let f = http2.items[i].streams[s].request.path
        guard f.isPresent else { return nil }
        var u = http2.items[i].withField(s, response: false, f) { $0 }
        if let q = u.firstIndex(of: UInt8(ascii: "?")) { u = u.prefix(q) }
        return u.isEmpty ? nil : u
    }

    /// With a body inspection of stream `s` (detectHTTP2Body): the open phase, once per file.
    func fileDetectHTTP2Open(_ b: inout InspectionBuffers, _ i: Int, _ s: Int, _ response: Bool, file: FileFacts) -> UInt8 {
        guard fileDetect.active, fileDetect.openRules, detectCursor.slot >= 0 else { return 0 }
        let e = fileDetectH2Find(i, s, response)
        guard e >= 0, !fileDetect.h2[e].openInspected else { return 0 }
        fileDetect.h2[e].openInspected = true
        if let n = fileDetectH2Name(i, s) { b[.fileName] = n }
        file.state = .open
        file.size = fileDetect.h2[e].file.size
        return 1 << DetectDefinitions.fileOpenPhase
    }

    /// After a feed of HTTP/2 parser `i` (and at the flow's end, `flowEnd`: open sides are cut
    /// there, the parser delivers no end): the stream sides that ended are judged. Only the
    /// parser's own entries are visited.
    func fileDetectHTTP2Close(_ i: Int, flowEnd: Bool = false) {
        guard fileDetect.active, let d = detect, detectCursor.slot >= 0, i >= 0 else { return }
        let id = detectCursor.flow.id
        let first = i &* fileDetect.h2Streams &* 2
        let end = Swift.min(fileDetect.h2.count, first &+ fileDetect.h2Streams &* 2)
        var e = first
        while e < end {
            defer { e &+= 1 }
            guard fileDetect.h2[e].flowID == id, fileDetect.h2[e].state != 0 else { continue }
            if flowEnd && fileDetect.h2[e].state == 1 {
                fileDetect.finishFile(fileDetect.h2[e].file)
                fileDetect.h2[e].state = 2
                fileDetect.h2[e].truncated = true
            }
            guard fileDetect.h2[e].state == 2 else { continue }
            let x = fileDetect.h2[e]
            let s = (e &- first) >> 1
            if s < http2.items[i].streams.count && http2.items[i].streams[s].isActive {
                let mask = fileDetectCloseMask(openInspected: x.openInspected)
                if mask != 0 {
                    fileDetect.stats.closeInspections &+= 1
                    var b = InspectionBuffers()
                    fillStreamHTTP2(&b, i, s, response: x.response)
                    if let n = fileDetectH2Name(i, s) { b[.fileName] = n }
                    let file = d.fileFacts
                    fileDetectCloseFacts(file, x.file, truncated: x.truncated)
                    let direction: Direction = x.response ? .toClient : .toServer
                    let f = detectFacts(direction, app: .http2, stream: false)
                    d.beginTransaction()
                    detectCursor.http2Parser = i
                    detectCursor.http2Stream = s
                    d.inspectApp(.http, phaseMask: mask, f, buffers: b, slot: detectCursor.slot, time: detectCursor.time) { sig, alert in
                        self.detectMatched(sig, alert, f)
                    }
                    detectCursor.http2Parser = -1
                    file.clear()
                }
            }
            fileDetectH2Free(e)
        }
    }
}
