import UTMCore
import UTMCrypto

/// Why a signature line was not loaded. Never fatal: the line is counted and skipped.
public enum AVLoadError: Error, Sendable, Equatable {
    /// The line does not follow the format.
    case malformed(String)
    /// The line is valid ClamAV but needs something this engine does not do (PE offsets, PCRE,
    /// icon groups, ...).
    case unsupported(String)

    public var reason: String {
        switch self {
        case .malformed(let s): return "malformed: " + s
        case .unsupported(let s): return "unsupported: " + s
        }
    }
}

/// ClamAV database formats, by file extension.
public enum AVSignatureFormat: String, Sendable, CaseIterable {
    /// Whole-file hashes `hash:size:name` (MD5, SHA-1 or SHA-256 by length).
    case hdb, hsb
    /// Body signatures `name:target:offset:hexsig`.
    case ndb
    /// Logical signatures `name;target-description;expression;subsig;...`.
    case ldb
    /// PE-section hashes, import hashes: need a PE parser; every line is reported unsupported.
    case mdb, msb, imp

    /// The format of a database file from its name (`.hdb`, `.hsb`, `.ndb`, `.ldb`; `.hdu` etc.
    /// count as their non-"u" forms); nil when the extension is not one of them.
    public static func from(fileName: String) -> AVSignatureFormat? {
        guard let dot = fileName.lastIndex(of: ".") else { return nil }
        var ext = String(fileName[fileName.index(after: dot)...]).lowercased()
        if ext.count == 3, ext.hasSuffix("u") { ext = String(ext.dropLast()) + "b" }
        return AVSignatureFormat(rawValue: ext)
    }
}

/// What loading one or more database texts did.
public struct AVLoadReport: Sendable {
    public var loaded: [AVSignatureFormat: Int] = [:]
    public var unsupportedCount = 0
    public var malformedCount = 0
    /// The first `maxRecorded` skipped lines: source, line number, reason.
    public var skipped: [(source: String, line: Int, reason: String)] = []
    public var maxRecorded = 200
    /// Skipped lines per reason.
    public var reasons: [String: Int] = [:]

    public var totalLoaded: Int { loaded.values.reduce(0, +) }

    mutating func skip(_ source: String, _ line: Int, _ error: AVLoadError) {
        switch error {
        case .malformed: malformedCount += 1
        case .unsupported: unsupportedCount += 1
        }
        reasons[error.reason, default: 0] += 1
        if skipped.count < maxRecorded { skipped.append((source, line, error.reason)) }
    }
}

/// Which hash a hash signature is.
enum HashKind: UInt8, Sendable { case md5 = 16, sha1 = 20, sha256 = 32 }

struct HashKey: Hashable, Sendable {
    var kind: UInt8
    var d: Bytes32
    static func == (a: HashKey, b: HashKey) -> Bool { a.kind == b.kind && a.d == b.d }
    func hash(into h: inout Hasher) {
        h.combine(kind)
        h.combine(d.raw.0)
    }
}

struct HashEntry: Sendable {
    /// -1 for `*` (any size).
    var size: Int64
    var name: Int32
}

/// A logical (.ldb) signature: an expression over counts of its subsignatures.
struct LogicalSig: Sendable {
    var name: Int32
    var target: UInt8
    var minSize: Int64 = 0
    var maxSize: Int64 = Int64.max
    var firstSubsig: Int32
    var subsigCount: Int32
    var root: Int32
}

/// A node of a logical expression.
struct ExprNode: Sendable {
    enum Op: UInt8, Sendable { case leaf, and, or, eq, gt, lt }
    var op: Op
    /// leaf: local subsignature; eq/gt/lt: the count compared with.
    var value: Int32 = 0
    var left: Int32 = -1
    var right: Int32 = -1
}

/// Settings for loading and compiling a database.
public struct AVDatabaseConfig: Sendable {
    public var patternLimits = PatternLimits()
    /// Ring window kept per scan level for body matching (bytes). Default 16 KiB.
    public var windowSize = 16 << 10
    public init() {}
}

/// Loads ClamAV signature texts; `build()` freezes them into an `AVDatabase`.
///
/// Loading allocates freely (it runs when definitions are installed, not per packet); the
/// built database is immutable and shared by every scanner thread.
public struct AVDatabaseBuilder {
    public private(set) var report = AVLoadReport()
    var config: AVDatabaseConfig
    var names: [String] = []
    var hashes: [HashKey: [HashEntry]] = [:]
    var hashSizes: Set<Int64> = []
    var anySizeHashes = false
    var hashKinds: DigestKinds = []
    var matcher = BodyMatcher()
    var logical: [LogicalSig] = []
    var exprNodes: [ExprNode] = []
    var subsigOwner: [Int32] = []

    public init(config: AVDatabaseConfig = .init(), builtins: Bool = true) {
        self.config = config
        if builtins { addBuiltins() }
    }

    /// The signatures every database has: the EICAR test file, checked by the scanner itself
    /// (exact 68-byte string at offset 0, then only whitespace up to 128 bytes, as ClamAV
    /// accepts). It needs no hash, so a database without hash signatures hashes nothing.
    mutating func addBuiltins() {
        names.append(AVDatabase.eicarName)
    }

    /// Loads one database text. Lines that cannot be used are counted in `report`.
    public mutating func load(_ text: [UInt8], format: AVSignatureFormat, source: String = "") {
        var lineNo = 0
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != 0x0a { end += 1 }
            lineNo += 1
            var line = Array(text[start..<end])
            start = end + 1
            while let l = line.last, l == 0x0d || l == 0x20 || l == 0x09 { line.removeLast() }
            while let f = line.first, f == 0x20 || f == 0x09 { line.removeFirst() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            let result: AVLoadError?
            switch format {
            case .hdb, .hsb: result = loadHash(line)
            case .ndb: result = loadNDB(line)
            case .ldb: result = loadLDB(line)
            case .mdb, .msb: result = .unsupported("PE section hash (needs a PE parser)")
            case .imp: result = .unsupported("PE import hash (needs a PE parser)")
            }
            if let result { report.skip(source, lineNo, result) } else { report.loaded[format, default: 0] += 1 }
        }
    }

    public mutating func load(_ text: String, format: AVSignatureFormat, source: String = "") {
        load(Array(text.utf8), format: format, source: source)
    }

    public func build() -> AVDatabase {
        var m = matcher
        m.finalize(windowSize: config.windowSize)
        return AVDatabase(names: names, hashes: hashes, hashSizes: hashSizes, anySizeHashes: anySizeHashes,
                          hashKinds: hashKinds, matcher: m, logical: logical, exprNodes: exprNodes,
                          subsigOwner: subsigOwner, report: report)
    }

    // MARK: Formats

    static func split(_ line: [UInt8], _ sep: UInt8) -> [[UInt8]] {
        line.split(separator: sep, omittingEmptySubsequences: false).map { Array($0) }
    }

    static func parseHex(_ s: [UInt8]) -> (Bytes32, HashKind)? {
        let kind: HashKind
        switch s.count {
        case 32: kind = .md5
        case 40: kind = .sha1
        case 64: kind = .sha256
        default: return nil
        }
        var d = Bytes32()
        var ok = true
        withUnsafeMutableBytes(of: &d.raw) { dst in
            for i in 0..<(s.count / 2) {
                guard let h = HexPatternParser.hexValue(s[2 * i]), let l = HexPatternParser.hexValue(s[2 * i + 1]) else { ok = false; return }
                dst[i] = h << 4 | l
            }
        }
        return ok ? (d, kind) : nil
    }

    mutating func intern(_ name: [UInt8]) -> Int32 {
        names.append(String(decoding: name, as: UTF8.self))
        return Int32(names.count - 1)
    }

    mutating func loadHash(_ line: [UInt8]) -> AVLoadError? {
        let f = Self.split(line, UInt8(ascii: ":"))
        guard f.count >= 3, !f[2].isEmpty else { return .malformed("want hash:size:name") }
        guard let (d, kind) = Self.parseHex(f[0]) else { return .malformed("hash is not 32/40/64 hex digits") }
        var size: Int64 = -1
        if f[1] != [UInt8(ascii: "*")] {
            guard let n = HexPatternParser.number(f[1], 0, f[1].count) else { return .malformed("bad size") }
            size = n
            hashSizes.insert(n)
        } else {
            anySizeHashes = true
        }
        hashes[HashKey(kind: kind.rawValue, d: d), default: []].append(HashEntry(size: size, name: intern(f[2])))
        switch kind {
        case .md5: hashKinds.insert(.md5)
        case .sha1: hashKinds.insert(.sha1)
        case .sha256: hashKinds.insert(.sha256)
        }
        return nil
    }

    mutating func loadNDB(_ line: [UInt8]) -> AVLoadError? {
        let f = Self.split(line, UInt8(ascii: ":"))
        guard f.count >= 4, !f[0].isEmpty else { return .malformed("want name:target:offset:hexsig") }
        guard let target = HexPatternParser.number(f[1], 0, f[1].count), target < 256 else { return .malformed("bad target") }
        guard AVFileType.unknown.matchesTarget(UInt8(target)) || [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12].contains(target) else {
            return .unsupported("target type \(target)")
        }
        let offset: SignatureOffset
        switch parseSignatureOffset(f[2]) {
        case .success(let o): offset = o
        case .failure(let e): return e
        }
        let pattern: ParsedPattern
        switch HexPatternParser.parse(f[3], caseless: false, wide: false, limits: config.patternLimits) {
        case .success(let p): pattern = p
        case .failure(let e): return e
        }
        let name = Int32(names.count)
        let sig = CompiledBodySig(offset: offset, target: UInt8(target), name: name)
        if let e = matcher.add(pattern, sig: sig, limits: config.patternLimits) { return e }
        _ = intern(f[0])
        return nil
    }

    mutating func loadLDB(_ line: [UInt8]) -> AVLoadError? {
        let f = Self.split(line, UInt8(ascii: ";"))
        guard f.count >= 4, !f[0].isEmpty else { return .malformed("want name;tdb;expr;subsig...") }
        var target: UInt8 = 0
        var minSize: Int64 = 0, maxSize: Int64 = Int64.max
        for attr in Self.split(f[1], UInt8(ascii: ",")) {
            let kv = Self.split(attr, UInt8(ascii: ":"))
            guard kv.count == 2 else { return .malformed("bad target description") }
            let key = String(decoding: kv[0], as: UTF8.self)
            switch key {
            case "Engine": continue
            case "Target":
                guard let t = HexPatternParser.number(kv[1], 0, kv[1].count), t < 256 else { return .malformed("bad Target") }
                target = UInt8(t)
            case "FileSize":
                let r = Self.split(kv[1], UInt8(ascii: "-"))
                guard r.count == 2, let a = HexPatternParser.number(r[0], 0, r[0].count),
                      let b = HexPatternParser.number(r[1], 0, r[1].count) else { return .malformed("bad FileSize") }
                minSize = a; maxSize = b
            default:
                return .unsupported("target description \(key)")
            }
        }
        let subs = Array(f[3...])
        guard subs.count <= 64 else { return .unsupported("more than 64 subsignatures") }
        // Expression first: it must only name existing subsignatures.
        var nodes: [ExprNode] = []
        var parser = LogicalExpressionParser(text: f[2], subsigCount: subs.count)
        guard let root = parser.parse(into: &nodes) else { return .malformed("bad logical expression") }
        // Compile subsignatures into a scratch copy so a bad one leaves nothing behind.
        var m = matcher
        let firstSub = Int32(subsigOwner.count)
        for (k, sub) in subs.enumerated() {
            var body = sub
            var caseless = false, wide = false, ascii = false, fullword = false
            if let mod = Self.findDoubleColon(sub) {
                body = Array(sub[..<mod])
                for c in sub[(mod + 2)...] {
                    switch c {
                    case UInt8(ascii: "i"): caseless = true
                    case UInt8(ascii: "w"): wide = true
                    case UInt8(ascii: "a"): ascii = true
                    case UInt8(ascii: "f"): fullword = true
                    default: return .unsupported("subsignature modifier")
                    }
                }
            }
            if body.contains(UInt8(ascii: "/")) { return .unsupported("PCRE subsignature") }
            if body.contains(UInt8(ascii: "#")) || body.starts(with: Array("${".utf8)) { return .unsupported("byte-compare or macro subsignature") }
            var offset: SignatureOffset = .any
            if let colon = body.firstIndex(of: UInt8(ascii: ":")) {
                switch parseSignatureOffset(Array(body[..<colon])) {
                case .success(let o): offset = o
                case .failure(let e): return e
                }
                body = Array(body[(colon + 1)...])
            }
            var variants: [Bool] = []
            if wide { variants.append(true) }
            if !wide || ascii { variants.append(false) }
            for w in variants {
                let pattern: ParsedPattern
                switch HexPatternParser.parse(body, caseless: caseless, wide: w, limits: config.patternLimits) {
                case .success(let p): pattern = p
                case .failure(let e): return e
                }
                let sig = CompiledBodySig(offset: offset, target: target, name: -1, subsig: firstSub + Int32(k), fullword: fullword)
                if let e = m.add(pattern, sig: sig, limits: config.patternLimits) { return e }
            }
        }
        matcher = m
        let ldbIndex = Int32(logical.count)
        for _ in subs { subsigOwner.append(ldbIndex) }
        let base = Int32(exprNodes.count)
        for var n in nodes {
            if n.left >= 0 { n.left += base }
            if n.right >= 0 { n.right += base }
            exprNodes.append(n)
        }
        logical.append(LogicalSig(name: intern(f[0]), target: target, minSize: minSize, maxSize: maxSize,
                                  firstSubsig: firstSub, subsigCount: Int32(subs.count), root: base + root))
        return nil
    }

    static func findDoubleColon(_ s: [UInt8]) -> Int? {
        guard s.count >= 2 else { return nil }
        for i in 0..<(s.count - 1) where s[i] == UInt8(ascii: ":") && s[i + 1] == UInt8(ascii: ":") { return i }
        return nil
    }
}

/// Recursive-descent parser for .ldb logical expressions: indexes, `&`, `|`, parentheses, and
/// count conditions `=n`, `>n`, `<n` (optionally `,m`, whose unique-count part is ignored).
struct LogicalExpressionParser {
    let text: [UInt8]
    let subsigCount: Int
    var i = 0
    var depth = 0

    init(text: [UInt8], subsigCount: Int) {
        self.text = text.filter { $0 != 0x20 }
        self.subsigCount = subsigCount
    }

    mutating func parse(into nodes: inout [ExprNode]) -> Int32? {
        guard let r = parseOr(&nodes), i == text.count else { return nil }
        return r
    }

    mutating func parseOr(_ nodes: inout [ExprNode]) -> Int32? {
        guard var left = parseAnd(&nodes) else { return nil }
        while i < text.count && text[i] == UInt8(ascii: "|") {
            i += 1
            guard let right = parseAnd(&nodes) else { return nil }
            nodes.append(ExprNode(op: .or, left: left, right: right))
            left = Int32(nodes.count - 1)
        }
        return left
    }

    mutating func parseAnd(_ nodes: inout [ExprNode]) -> Int32? {
        guard var left = parseCount(&nodes) else { return nil }
        while i < text.count && text[i] == UInt8(ascii: "&") {
            i += 1
            guard let right = parseCount(&nodes) else { return nil }
            nodes.append(ExprNode(op: .and, left: left, right: right))
            left = Int32(nodes.count - 1)
        }
        return left
    }

    mutating func parseCount(_ nodes: inout [ExprNode]) -> Int32? {
        guard let inner = parsePrimary(&nodes) else { return nil }
        guard i < text.count else { return inner }
        let c = text[i]
        let op: ExprNode.Op
        switch c {
        case UInt8(ascii: "="): op = .eq
        case UInt8(ascii: ">"): op = .gt
        case UInt8(ascii: "<"): op = .lt
        default: return inner
        }
        i += 1
        guard let n = number() else { return nil }
        if i < text.count && text[i] == UInt8(ascii: ",") {
            i += 1
            guard number() != nil else { return nil }
        }
        nodes.append(ExprNode(op: op, value: Int32(n), left: inner))
        return Int32(nodes.count - 1)
    }

    mutating func parsePrimary(_ nodes: inout [ExprNode]) -> Int32? {
        guard i < text.count else { return nil }
        if text[i] == UInt8(ascii: "(") {
            depth += 1
            guard depth < 32 else { return nil }
            i += 1
            guard let r = parseOr(&nodes), i < text.count, text[i] == UInt8(ascii: ")") else { return nil }
            i += 1
            depth -= 1
            return r
        }
        guard let n = number(), n < subsigCount else { return nil }
        nodes.append(ExprNode(op: .leaf, value: Int32(n)))
        return Int32(nodes.count - 1)
    }

    mutating func number() -> Int? {
        var v = 0
        let start = i
        while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9"), i - start < 9 {
            v = v * 10 + Int(text[i] - UInt8(ascii: "0"))
            i += 1
        }
        return i > start ? v : nil
    }
}

/// A loaded, compiled signature database. Immutable; share one between all scanners.
public final class AVDatabase: Sendable {
    public static let eicarName = "Eicar-Test-Signature"
    public let names: [String]
    let hashes: [HashKey: [HashEntry]]
    let hashSizes: Set<Int64>
    let anySizeHashes: Bool
    /// Digests the hash signatures need.
    public let hashKinds: DigestKinds
    public let matcher: BodyMatcher
    let logical: [LogicalSig]
    let exprNodes: [ExprNode]
    let subsigOwner: [Int32]
    public let report: AVLoadReport

    init(names: [String], hashes: [HashKey: [HashEntry]], hashSizes: Set<Int64>, anySizeHashes: Bool,
         hashKinds: DigestKinds, matcher: BodyMatcher, logical: [LogicalSig], exprNodes: [ExprNode],
         subsigOwner: [Int32], report: AVLoadReport) {
        self.names = names
        self.hashes = hashes
        self.hashSizes = hashSizes
        self.anySizeHashes = anySizeHashes
        self.hashKinds = hashKinds
        self.matcher = matcher
        self.logical = logical
        self.exprNodes = exprNodes
        self.subsigOwner = subsigOwner
        self.report = report
    }

    /// An empty database with only the built-in signatures.
    public static func builtinOnly() -> AVDatabase { AVDatabaseBuilder().build() }

    public var hashSignatureCount: Int { hashes.values.reduce(0) { $0 + $1.count } }
    public var bodySignatureCount: Int { matcher.sigs.filter { $0.subsig < 0 }.count }
    public var logicalSignatureCount: Int { logical.count }
    var subsigTotal: Int { subsigOwner.count }

    /// Whether some hash signature could match a file of `size` bytes.
    public func mayMatchHash(size: Int64) -> Bool { anySizeHashes || hashSizes.contains(size) }

    /// The hash signature matching these digests and size, as an index into `names`.
    func lookup(_ digests: FileDigests, size: Int64) -> Int32? {
        guard mayMatchHash(size: size) else { return nil }
        func find(_ kind: HashKind, _ d: Bytes32) -> Int32? {
            guard let list = hashes[HashKey(kind: kind.rawValue, d: d)] else { return nil }
            for e in list where e.size < 0 || e.size == size { return e.name }
            return nil
        }
        if digests.kinds.contains(.md5), let n = find(.md5, digests.md5) { return n }
        if digests.kinds.contains(.sha1), let n = find(.sha1, digests.sha1) { return n }
        if digests.kinds.contains(.sha256), let n = find(.sha256, digests.sha256) { return n }
        return nil
    }

    /// Evaluates the logical signatures whose subsignatures matched in `state`.
    func evaluateLogical(_ state: BodyMatchState, size: Int64, type: AVFileType) -> Int32? {
        for t in 0..<state.touchedCount {
            let owner = subsigOwner[Int(state.touched[t])]
            let l = logical[Int(owner)]
            guard type.matchesTarget(l.target), size >= l.minSize, size <= l.maxSize else { continue }
            if eval(l.root, l, state).0 { return l.name }
        }
        return nil
    }

    private func eval(_ n: Int32, _ l: LogicalSig, _ state: BodyMatchState) -> (Bool, Int) {
        let node = exprNodes[Int(n)]
        switch node.op {
        case .leaf:
            let c = Int(state.subsigCounts[Int(l.firstSubsig + node.value)])
            return (c > 0, c)
        case .and:
            let a = eval(node.left, l, state), b = eval(node.right, l, state)
            return (a.0 && b.0, a.1 + b.1)
        case .or:
            let a = eval(node.left, l, state), b = eval(node.right, l, state)
            return (a.0 || b.0, a.1 + b.1)
        case .eq: let a = eval(node.left, l, state); return (a.1 == Int(node.value), a.1)
        case .gt: let a = eval(node.left, l, state); return (a.1 > Int(node.value), a.1)
        case .lt: let a = eval(node.left, l, state); return (a.0 && a.1 < Int(node.value), a.1)
        }
    }
}
