import UTMCore
import UTMAppLayer
import UTMCrypto
import UTMInflate

/// Which bound a scan ran into.
public enum AVLimit: UInt8, Sendable, CaseIterable {
    /// A container nested deeper than `maxDepth`.
    case depth
    /// Members expanded to more than `maxExpandedBytes` in total (or one decoder's output cap).
    case expandedSize
    /// Expanded bytes exceeded `maxRatio` times the file's own size (zip bomb shape).
    case ratio
    /// More than `maxMembers` files inside containers.
    case memberCount
    /// The file was longer than `maxFileBytes`; the rest was not scanned.
    case fileSize
    /// No free scan session (the engine's pool was exhausted).
    case sessions
    /// A candidate or partial-match table overflowed (some body matches may be missed).
    case matchState
}

/// A set of `AVLimit`s.
public struct AVLimitSet: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ l: AVLimit) { rawValue = 1 << UInt16(l.rawValue) }
    public func contains(_ l: AVLimit) -> Bool { contains(AVLimitSet(l)) }
    /// The first limit in declaration order.
    /// (By raw value: `allCases` builds an array, and `end()` asks this for every file.)
    public var first: AVLimit? {
        var r: UInt8 = 0
        while let l = AVLimit(rawValue: r) {
            if contains(l) { return l }
            r &+= 1
        }
        return nil
    }
}

/// What to do with a file whose scan hit a limit and found nothing.
public enum AVLimitAction: UInt8, Sendable {
    /// Treat as a detection (the engine blocks the transfer).
    case block
    /// Let it through and record the limit in `fileinfo`.
    case pass
}

public enum AVScanError: UInt8, Sendable {
    /// A container was damaged (bad compressed data, impossible header); scanned as far as possible.
    case damagedContainer
}

public enum AVVerdict: Sendable, Equatable {
    case clean
    case infected(String)
    case limitExceeded(AVLimit)
    case error(AVScanError)

    public var isInfected: Bool { if case .infected = self { return true }; return false }
}

/// Bounds of one scan. Defaults suit a box with about 1 GiB of RAM and ~100 devices.
public struct AVScanConfig: Sendable {
    /// Container levels decoded below the file itself. A .tar.gz costs two (gzip, then tar), so
    /// a file inside a zip inside a .tar.gz is at depth 3 and a .tgz of .tgz files needs 4.
    /// Default 5 (ClamAV's own default is 17); each level costs about 80 KiB per session.
    public var maxDepth = 5
    /// Bytes of one top-level file scanned. Default 64 MiB.
    public var maxFileBytes: Int64 = 64 << 20
    /// Bytes expanded from containers per top-level file, all depths together. Default 64 MiB.
    public var maxExpandedBytes: Int64 = 64 << 20
    /// Expansion ratio (expanded / top-level bytes) beyond which decoding stops, once
    /// `ratioGrace` bytes were expanded. Default 100.
    public var maxRatio: Int64 = 100
    public var ratioGrace: Int64 = 1 << 20
    /// Files inside containers per top-level file. Default 1000.
    public var maxMembers = 1000
    /// Policy for files that hit a limit and matched nothing. Default `.pass` (record it).
    public var limitAction: AVLimitAction = .pass
    /// Digests reported in `fileinfo` for the top-level file. Default MD5 and SHA-256.
    public var fileinfoDigests: DigestKinds = [.md5, .sha256]
    public init() {}
}

/// Facts about one scanned file, for EVE `fileinfo`.
public struct AVFileInfo: Sendable {
    public var size: Int64 = 0
    public var type: AVFileType = .unknown
    public var digests = FileDigests()
    /// The transfer ended early, or scanning stopped at `maxFileBytes`.
    public var truncated = false
    /// Members scanned inside containers.
    public var members = 0

    public init() {}

    /// Lower-case hex of a digest (`md5`, `sha1` or `sha256`); nil when not computed.
    /// Allocates: for EVE output and tests, not for the packet path.
    public func hex(_ kind: DigestKinds) -> String? {
        guard digests.kinds.contains(kind) else { return nil }
        let (d, n): (Bytes32, Int) = kind == .md5 ? (digests.md5, 16) : kind == .sha1 ? (digests.sha1, 20) : (digests.sha256, 32)
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for i in 0..<n { let b = d[i]; out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes a digest as hex into `out` (no allocation once `out` has capacity).
    public func appendHex(_ kind: DigestKinds, to out: inout [UInt8]) {
        guard digests.kinds.contains(kind) else { return }
        let (d, n): (Bytes32, Int) = kind == .md5 ? (digests.md5, 16) : kind == .sha1 ? (digests.sha1, 20) : (digests.sha256, 32)
        for i in 0..<n {
            let b = d[i]
            out.append(b >> 4 < 10 ? 0x30 + b >> 4 : 0x57 + b >> 4)
            out.append(b & 15 < 10 ? 0x30 + b & 15 : 0x57 + b & 15)
        }
    }
}

public struct AVScanResult: Sendable {
    public var verdict: AVVerdict
    public var info: AVFileInfo
    /// Every limit the scan ran into (also when it found a signature).
    public var limits: AVLimitSet
    /// Whether the engine should stop the transfer: infected, or a limit with `.block`.
    public var shouldBlock: Bool
}

/// A pool of scan sessions sharing one database. One per worker thread.
///
/// Sessions are built once (each holds its digest contexts, windows and decoders for every
/// depth) and lent out per file; `begin` returns nil when all are busy, which the engine
/// records as `AVLimit.sessions` and lets the file pass.
public final class AVScanner {
    public let database: AVDatabase
    public let config: AVScanConfig
    private var sessions: [FileScanSession]
    private var free: [Int]

    public init(database: AVDatabase, config: AVScanConfig = .init(), sessions: Int = 16) {
        self.database = database
        self.config = config
        self.sessions = []
        self.free = []
        free.reserveCapacity(sessions)
        for i in 0..<Swift.max(1, sessions) {
            let s = FileScanSession(database: database, config: config)
            s.poolIndex = i
            self.sessions.append(s)
            free.append(i)
        }
    }

    public var available: Int { free.count }

    /// A session for a new file; nil when the pool is exhausted.
    public func begin(name: ByteView = .empty, declaredSize: Int64 = -1, type: AVFileType? = nil) -> FileScanSession? {
        guard let i = free.popLast() else { return nil }
        let s = sessions[i]
        s.owner = self
        s.begin(name: name, declaredSize: declaredSize, type: type)
        return s
    }

    func giveBack(_ s: FileScanSession) {
        guard s.owner === self, s.poolIndex >= 0 else { return }
        s.owner = nil
        free.append(s.poolIndex)
    }
}

/// Scans one file at a time, fed in chunks of any size: begin → feed... → end → (release).
///
/// A detection by body signature is known during `feed` (it returns true), so the engine can
/// cut the transfer before the last bytes; hash signatures and logical signatures are decided
/// at `end`. Containers found inside are unpacked and their members scanned, depth first.
public final class FileScanSession {
    public let database: AVDatabase
    public let config: AVScanConfig
    let levels: [ScanLevel]
    fileprivate var poolIndex = -1
    fileprivate weak var owner: AVScanner?
    var expanded: Int64 = 0
    var members = 0
    var limits: AVLimitSet = []
    var damaged = false
    var active = false

    public init(database: AVDatabase, config: AVScanConfig = .init()) {
        self.database = database
        self.config = config
        var ls: [ScanLevel] = []
        for d in 0...Swift.max(0, config.maxDepth) {
            ls.append(ScanLevel(depth: d, database: database, decodes: d < config.maxDepth))
        }
        levels = ls
        for d in 0..<(ls.count - 1) { ls[d].child = ls[d + 1] }
    }

    /// Starts a file. `name` is the file name if known (Content-Disposition, MIME, archive);
    /// `declaredSize` the announced length or -1; `type` forces the type (mail from SMTP/POP3).
    public func begin(name: ByteView = .empty, declaredSize: Int64 = -1, type: AVFileType? = nil) {
        expanded = 0
        members = 0
        limits = []
        damaged = false
        active = true
        // Deeper levels are begun only when a member starts; a verdict left there by the
        // previous file must not leak into this one (HTML with no data: URI read it back).
        for d in 1 ..< levels.count { levels[d].infected = -1 }
        levels[0].begin(session: self, name: name, declaredSize: declaredSize, forced: type)
    }

    /// Scans the next bytes. Returns true once the file is known to be infected (later bytes
    /// are then ignored).
    @discardableResult
    public func feed(_ chunk: ByteView) -> Bool {
        guard active else { return false }
        let top = levels[0]
        if top.infected >= 0 { return true }
        var data = chunk
        let room = config.maxFileBytes - top.size
        if Int64(data.count) > room {
            data = data.prefix(Int(Swift.max(0, room)))
            limits.insert(AVLimitSet(.fileSize))
            top.truncated = true
        }
        if !data.isEmpty { top.feed(self, data) }
        return top.infected >= 0
    }

    /// The current top-level detection, if any (without ending the file).
    public var detection: String? {
        let n = levels[0].infected
        return n >= 0 ? database.names[Int(n)] : nil
    }

    /// Ends the file and returns the verdict. `truncated` says the transfer was cut (gap, range
    /// request, connection closed): hashes are then of a partial file.
    public func end(truncated: Bool = false) -> AVScanResult {
        let top = levels[0]
        if truncated { top.truncated = true }
        if active { top.end(self) }
        active = false
        var info = AVFileInfo()
        info.size = top.size
        info.type = top.type
        info.digests = top.digests
        info.truncated = top.truncated
        info.members = members
        if top.droppedCandidates > 0 { limits.insert(AVLimitSet(.matchState)) }
        let verdict: AVVerdict
        if top.infected >= 0 {
            verdict = .infected(database.names[Int(top.infected)])
        } else if let l = limits.first {
            verdict = .limitExceeded(l)
        } else if damaged {
            verdict = .error(.damagedContainer)
        } else {
            verdict = .clean
        }
        let block: Bool
        switch verdict {
        case .infected: block = true
        case .limitExceeded: block = config.limitAction == .block
        default: block = false
        }
        return AVScanResult(verdict: verdict, info: info, limits: limits, shouldBlock: block)
    }

    /// Lends the name of the member the detection was made in (the deepest level holding it:
    /// an attachment, an archive entry), or for a clean file the last named member at depth 1
    /// (a mail's last attachment); empty when there is none. Call after `end` and before
    /// `release`: the view points into the session's per-level name slab. Why: a mail is one
    /// file for the engine, but the operator wants the attachment's (decoded) name in fileinfo.
    public func withMemberName<R>(_ body: (ByteView) -> R) -> R {
        var d = levels.count - 1
        while d >= 1 {
            let l = levels[d]
            if l.infected >= 0, l.name != .absent { return l.names.withView(l.name, body) }
            d -= 1
        }
        if members > 0, levels.count > 1, levels[1].name != .absent {
            return levels[1].names.withView(levels[1].name, body)
        }
        return body(.empty)
    }

    /// Returns the session to its scanner's pool (no-op for a session made directly).
    public func release() {
        active = false
        owner?.giveBack(self)
    }

    /// Scans a whole buffer in one go (tests and tools).
    public func scan(_ bytes: [UInt8], name: String = "") -> AVScanResult {
        var nameBytes = Array(name.utf8)
        return nameBytes.withUnsafeMutableBytes { nb in
            begin(name: ByteView(UnsafeRawBufferPointer(nb)))
            bytes.withUnsafeBytes { _ = feed(ByteView($0)) }
            return end()
        }
    }

    // Budget for container output.
    func expandBudget() -> Int64 {
        var left = config.maxExpandedBytes - expanded
        let top = levels[0].size
        if expanded >= config.ratioGrace {
            left = Swift.min(left, top * config.maxRatio - expanded)
        } else {
            left = Swift.min(left, Swift.max(config.ratioGrace, top * config.maxRatio) - expanded)
        }
        return Swift.max(0, left)
    }

    /// Accounts expanded member bytes; false when a limit stops the member.
    func account(_ n: Int) -> Bool {
        expanded += Int64(n)
        if expanded > config.maxExpandedBytes { limits.insert(AVLimitSet(.expandedSize)); return false }
        if expanded > config.ratioGrace && expanded > levels[0].size * config.maxRatio {
            limits.insert(AVLimitSet(.ratio)); return false
        }
        return true
    }
}

/// The state of scanning one file at one depth; reused for every file at that depth.
final class ScanLevel {
    let depth: Int
    let database: AVDatabase
    let digest = StreamingDigest()
    let match: BodyMatchState
    let prefix = ByteSlab(capacity: AVFileType.prefixNeeded)
    var prefixLen = 0
    var decided = false
    var forced: AVFileType?
    var type: AVFileType = .unknown
    var size: Int64 = 0
    var declaredSize: Int64 = -1
    var infected: Int32 = -1
    var truncated = false
    var eicarPos = 0
    var eicarPossible = true
    var digests = FileDigests()
    var names = FieldStore(capacity: 256)
    var name = Field.absent
    var droppedCandidates = 0
    weak var child: ScanLevel?
    // Container decoding.
    let decodes: Bool
    var container = ContainerState()
    let header: ByteSlab
    let inflater: Inflater?
    /// bzip2 (.bz2 files, zip method 12); its C state exists only while a stream is decoded.
    let bunzip: Bunzip2Decoder?
    var mime: MimeDecoder?
    var szdd = SzddDecoder()
    var dataURI = DataURIDecoder()

    init(depth: Int, database: AVDatabase, decodes: Bool) {
        self.depth = depth
        self.database = database
        self.decodes = decodes
        match = BodyMatchState(windowSize: database.matcher.windowSize, subsigs: database.subsigTotal)
        header = ByteSlab(capacity: 512)
        inflater = decodes ? Inflater(bufferCapacity: 16 << 10) : nil
        bunzip = decodes ? Bunzip2Decoder(bufferCapacity: 16 << 10) : nil
        mime = decodes ? MimeDecoder() : nil
    }

    func begin(session: FileScanSession, name nameBytes: ByteView, declaredSize: Int64, forced: AVFileType?) {
        prefixLen = 0
        decided = false
        self.forced = forced
        type = .unknown
        size = 0
        self.declaredSize = declaredSize
        infected = -1
        truncated = false
        eicarPos = 0
        eicarPossible = true
        digests = FileDigests()
        droppedCandidates = 0
        names.reset()
        name = nameBytes.isEmpty ? .absent : names.append(nameBytes.prefix(names.capacity))
        var kinds = database.hashKinds
        if declaredSize >= 0 && !database.mayMatchHash(size: declaredSize) { kinds = [] }
        if depth == 0 { kinds.formUnion(session.config.fileinfoDigests) }
        digest.begin(kinds)
        container = ContainerState()
    }

    func feed(_ session: FileScanSession, _ data: ByteView) {
        guard infected < 0 else { return }
        if !decided {
            let take = Swift.min(data.count, prefix.capacity - prefixLen)
            prefix.write(data.prefix(take), at: prefixLen)
            prefixLen += take
            if prefixLen < prefix.capacity { return }
            decide(session)
            if let p = prefix.view(0, prefixLen) { process(session, p) }
            let rest = data.dropFirst(take)
            if !rest.isEmpty && infected < 0 { process(session, rest) }
            return
        }
        process(session, data)
    }

    private func decide(_ session: FileScanSession) {
        decided = true
        let p = prefix.view(0, prefixLen) ?? .empty
        type = forced ?? AVFileType.detect(p)
        match.reset(type: type)
        if decodes { container.start(type: type, level: self) }
        else if type.isContainer { session.limits.insert(AVLimitSet(.depth)) }
    }

    private func process(_ session: FileScanSession, _ data: ByteView) {
        size &+= Int64(data.count)
        if eicarPossible { checkEicar(data) }
        digest.update(data)
        if database.matcher.feed(match, data), match.matchedName >= 0 {
            infected = match.matchedName
            return
        }
        if decodes && container.kind != .none, let child {
            container.feed(data, level: self, child: child, session: session)
            if child.infected >= 0 && infected < 0 { infected = child.infected }
        }
    }

    func end(_ session: FileScanSession) {
        if !decided {
            decide(session)
            if let p = prefix.view(0, prefixLen), !p.isEmpty { process(session, p) }
        }
        if decodes && container.kind != .none, let child, infected < 0 {
            container.finish(level: self, child: child, session: session)
            if child.infected >= 0 && infected < 0 { infected = child.infected }
        }
        digests = digest.finish()
        droppedCandidates = match.droppedCandidates
        if match.droppedCandidates > 0 { session.limits.insert(AVLimitSet(.matchState)) }
        guard infected < 0 else { return }
        if eicarPossible && eicarPos >= Eicar.bytes.count { infected = database.eicarName; return }
        if database.matcher.finish(match), match.matchedName >= 0 { infected = match.matchedName; return }
        if !truncated, let n = database.lookup(digests, size: size) { infected = n; return }
        if let n = database.evaluateLogical(match, size: size, type: type) { infected = n }
    }

    /// EICAR: the 68-byte string at the start, then at most whitespace up to 128 bytes in all.
    private func checkEicar(_ data: ByteView) {
        let e = Eicar.bytes
        data.forEachByte { b in
            guard eicarPossible else { return }
            if eicarPos < e.count {
                if b != e[eicarPos] { eicarPossible = false }
                eicarPos += 1
            } else {
                eicarPos += 1
                if eicarPos > 128 || !(b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a || b == 0x1a) { eicarPossible = false }
            }
        }
    }

    /// Starts scanning a member in the child level.
    func beginMember(_ child: ScanLevel, _ session: FileScanSession, name: ByteView, size: Int64) -> Bool {
        session.members += 1
        if session.members > session.config.maxMembers {
            session.limits.insert(AVLimitSet(.memberCount))
            return false
        }
        child.begin(session: session, name: name, declaredSize: size, forced: nil)
        return true
    }

    /// Feeds member bytes to the child; false when a limit or a detection says stop.
    func feedMember(_ child: ScanLevel, _ session: FileScanSession, _ data: ByteView) -> Bool {
        guard session.account(data.count) else { return false }
        child.feed(session, data)
        if child.infected >= 0 { infected = child.infected; return false }
        return true
    }

    func endMember(_ child: ScanLevel, _ session: FileScanSession, truncated: Bool) {
        if truncated { child.truncated = true }
        child.end(session)
        if child.infected >= 0 && infected < 0 { infected = child.infected }
    }
}

extension AVDatabase {
    /// The name index of the built-in EICAR signature (always 0).
    var eicarName: Int32 { 0 }
}

enum Eicar {
    static let bytes: [UInt8] = Array("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".utf8)
}
