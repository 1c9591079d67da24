import UTMCore

/// What the database says about a host (and path).
@frozen
public struct CategoryMatch: Sendable, Equatable {
    /// Every list the host, one of its parent domains, or a URL prefix is in.
    public var categories: CategorySet
    /// How the host was read (name, IP literal, or unusable).
    public var kind: HostKind
    /// Labels of the most specific matching domain entry (0: no domain entry matched).
    /// Equal to the host's label count when the exact host is listed.
    public var domainLabels: UInt8
    /// Labels in the normalised host.
    public var hostLabels: UInt8
    /// Whether a URL (host/path prefix) entry matched.
    public var urlMatched: Bool

    @inlinable
    public init() {
        categories = .empty; kind = .invalid; domainLabels = 0; hostLabels = 0; urlMatched = false
    }
}

/// A compiled category database (see `CategoryFormat`), queried directly in its bytes.
///
/// Loading validates the header, bounds and checksum and keeps views of the sections; it
/// builds no index. Lookups take `ByteView`s from the packet path, allocate nothing and never
/// trap: every read is bounds-checked, so even a file that passes the checksum but lies about
/// its contents can only produce wrong answers, not a crash.
public final class CategoryDatabase: @unchecked Sendable {
    /// The list names, by id (read once at load: up to 128 short strings).
    public let listNames: [String]
    public let domainCount: Int
    public let urlCount: Int
    public let comboCount: Int
    /// The file's size in bytes.
    public let byteCount: Int

    @usableFromInline let combos: ByteView
    @usableFromInline let domainEntries: ByteView
    @usableFromInline let domainShift: UInt64
    @usableFromInline let domainLineMask: Int
    /// Lines after a key's home line that a lookup may have to read (the compiler's maximum).
    @usableFromInline let probeLimit: Int
    @usableFromInline let minLabels: Int
    @usableFromInline let domainFilter: ByteView
    @usableFromInline let filterMask: UInt64
    @usableFromInline let urlBuckets: ByteView
    @usableFromInline let urlKeys: ByteView
    @usableFromInline let urlRecords: ByteView
    @usableFromInline let urlPaths: ByteView
    @usableFromInline let urlShift: UInt64
    /// One bit per value of a URL host key's low 16 bits (8 KiB, built at load from the URL
    /// keys): most lookups' hosts have no URL entry and stop here instead of scanning a bucket.
    @usableFromInline let urlHostBits: [UInt64]

    /// Keeps the bytes alive (a `MappedFile`, or the copy `init(copying:)` made).
    private let owner: AnyObject?
    private let ownedCopy: UnsafeMutableRawPointer?

    /// Validates `bytes` and serves lookups from them. `owner` must keep the bytes valid and
    /// unchanged for the database's lifetime (typically the `MappedFile` they come from).
    public convenience init(bytes: ByteView, owner: AnyObject?) throws(CategoryDatabaseError) {
        try self.init(bytes: bytes, owner: owner, ownedCopy: nil)
    }

    /// Copies `bytes` (a freshly compiled database, tests) into aligned storage it owns.
    public convenience init(copying bytes: [UInt8]) throws(CategoryDatabaseError) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        do {
            try self.init(bytes: ByteView(unsafeStart: p, count: bytes.count), owner: nil, ownedCopy: p)
        } catch {
            p.deallocate()
            throw error
        }
    }

    private init(bytes v: ByteView, owner: AnyObject?, ownedCopy: UnsafeMutableRawPointer?) throws(CategoryDatabaseError) {
        typealias E = CategoryDatabaseError
        guard v.count >= CategoryFormat.headerLength else {
            throw E(.truncated, "\(v.count) bytes, shorter than the \(CategoryFormat.headerLength)-byte header")
        }
        guard v.u64(0) == CategoryFormat.magic else { throw E(.badMagic, "not a Mimamori category database") }
        let version = v.u32(8) ?? 0
        guard version == CategoryFormat.version else {
            throw E(.badVersion, "version \(version), this build reads version \(CategoryFormat.version)")
        }
        guard v.u32(12) == UInt32(CategoryFormat.headerLength) else { throw E(.badHeader, "header length \(v.u32(12) ?? 0)") }
        let fileLength = v.u64(16) ?? 0
        guard fileLength == UInt64(v.count) else {
            throw E(fileLength > UInt64(v.count) ? .truncated : .badHeader,
                    "header says \(fileLength) bytes, file has \(v.count)")
        }
        let stored = v.u64(24) ?? 0
        let actual = FileChecksum.of(v, from: 32)
        guard stored == actual else { throw E(.badChecksum, "checksum mismatch (file damaged or modified)") }

        let listCount = Int(v.u32(32) ?? 0)
        let comboCount = Int(v.u32(36) ?? 0)
        let domainCount = Int(v.u32(40) ?? 0)
        let domainBits = Int(v.u8(44) ?? 0)
        let minLabels = Int(v.u8(45) ?? 0)
        let filterBits = Int(v.u8(46) ?? 0)
        let probeLimit = Int(v.u8(47) ?? 0)
        let urlCount = Int(v.u32(48) ?? 0)
        let urlBits = Int(v.u8(52) ?? 0)
        guard listCount <= CategoryFormat.maxLists else { throw E(.badHeader, "\(listCount) lists, at most 128") }
        guard comboCount <= CategoryFormat.maxCombos else { throw E(.badHeader, "\(comboCount) combinations") }
        guard domainBits >= 1, domainBits <= 30, urlBits >= 1, urlBits <= 30, filterBits >= 6, filterBits <= 34 else {
            throw E(.badHeader, "bucket bits \(domainBits)/\(urlBits)")
        }

        func section(_ s: CategoryFormat.Section, length expected: Int?) throws(E) -> ByteView {
            let base = 64 + 8 * s.rawValue
            let off = Int(v.u32(base) ?? 0), len = Int(v.u32(base + 4) ?? 0)
            guard off >= CategoryFormat.headerLength, off % 8 == 0, let view = v.slice(off, len) else {
                throw E(.badSection, "section \(s) at \(off)+\(len) outside the file")
            }
            if let expected, expected != len {
                throw E(.badSection, "section \(s) is \(len) bytes, expected \(expected)")
            }
            return view
        }
        let names = try section(.names, length: nil)
        let combos = try section(.combos, length: comboCount * 16)
        _ = try section(.domainBuckets, length: 0)
        let domainEntries = try section(.domainEntries, length: (1 << domainBits) * CategoryFormat.lineSlots * 8)
        guard domainCount <= (1 << domainBits) * CategoryFormat.lineSlots else {
            throw E(.badHeader, "\(domainCount) domains do not fit in \(1 << domainBits) lines")
        }
        let urlBuckets = try section(.urlBuckets, length: ((1 << urlBits) + 1) * 4)
        let urlKeys = try section(.urlKeys, length: urlCount * 8)
        let urlRecords = try section(.urlRecords, length: urlCount * 8)
        let urlPaths = try section(.urlPaths, length: nil)
        let domainFilter = try section(.domainFilter, length: (1 << filterBits) / 8)

        // Bucket tables must be monotone and end at the entry count, so scans stay in range.
        func checkBuckets(_ b: ByteView, bits: Int, count: Int, _ what: String) throws(E) {
            var prev: UInt32 = 0
            guard b.u32(0) == 0 else { throw E(.badContent, "\(what) buckets do not start at 0") }
            var i = 1
            while i <= 1 << bits {
                let x = b.u32(i * 4) ?? 0
                guard x >= prev else { throw E(.badContent, "\(what) buckets not sorted at \(i)") }
                prev = x
                i += 1
            }
            guard Int(prev) == count else { throw E(.badContent, "\(what) buckets end at \(prev), not \(count)") }
        }
        try checkBuckets(urlBuckets, bits: urlBits, count: urlCount, "URL")

        var listNames: [String] = []
        var p = 0
        for i in 0..<listCount {
            guard let n = names.u8(p), let s = names.slice(p + 1, Int(n)) else {
                throw E(.badContent, "list name \(i) outside the names section")
            }
            listNames.append(String(decoding: s.bytes, as: UTF8.self))
            p += 1 + Int(n)
        }

        self.listNames = listNames
        self.domainCount = domainCount
        self.urlCount = urlCount
        self.comboCount = comboCount
        self.byteCount = v.count
        self.combos = combos
        self.domainEntries = domainEntries
        self.domainShift = UInt64(64 - domainBits)
        self.domainLineMask = (1 << domainBits) - 1
        self.probeLimit = min(probeLimit, 1 << domainBits)
        self.minLabels = max(1, minLabels)
        self.domainFilter = domainFilter
        self.filterMask = UInt64(1 << filterBits) - 1
        self.urlBuckets = urlBuckets
        self.urlKeys = urlKeys
        self.urlRecords = urlRecords
        self.urlPaths = urlPaths
        self.urlShift = UInt64(64 - urlBits)
        var hostBits = [UInt64](repeating: 0, count: 1024)
        for i in 0..<urlCount {
            let k = urlKeys.u64(i * 8) ?? 0
            hostBits[Int(truncatingIfNeeded: k & 0xffff) >> 6] |= 1 << (k & 63)
        }
        self.urlHostBits = hostBits
        self.owner = owner
        self.ownedCopy = ownedCopy
    }

    deinit { ownedCopy?.deallocate() }

    /// The name of list `id` ("malware"), or nil.
    public func listName(_ id: Int) -> String? {
        id >= 0 && id < listNames.count ? listNames[id] : nil
    }

    /// The id of the list called `name`.
    public func listID(_ name: String) -> Int? { listNames.firstIndex(of: name) }

    // MARK: Lookups

    /// Categories of `host` (an HTTP Host value, an SNI, a DNS name: any case, a port, a trailing
    /// dot, an IP literal or a UTF-8 name) and, when `path` is not empty, of URL entries for
    /// `host` that are prefixes of `path` (the request target, starting with '/').
    @inlinable
    public func lookup(host: ByteView, path: ByteView = .empty) -> CategoryMatch {
        HostName.withNormalised(host) { h, kind in lookupNormalised(h, kind: kind, path: path) }
    }

    /// Same, for a host already normalised with `HostName.withNormalised`.
    @inlinable
    public func lookupNormalised(_ host: ByteView, kind: HostKind, path: ByteView) -> CategoryMatch {
        var m = CategoryMatch()
        m.kind = kind
        guard kind != .invalid else { return m }
        let wantURL = urlCount > 0 && path.count > 0
        let urlOffset = kind == .name && HostKey.hasWWW(host) ? 4 : 0
        let minLabels = self.minLabels
        HostKey.forEachSuffix(host, kind: kind) { key, offset, labels in
            if labels >= minLabels || kind != .name, let c = probeDomain(key) {
                m.categories.formUnion(combo(c))
                m.domainLabels = UInt8(truncatingIfNeeded: labels)
            }
            if offset == 0 { m.hostLabels = UInt8(truncatingIfNeeded: labels) }
            if wantURL && offset == urlOffset { probeURL(key, path: path, into: &m) }
            return true
        }
        return m
    }

    /// The combination id of a domain key, or nil: the prefilter bit, then the key's home
    /// cache line (and, rarely, the following ones while they are full).
    @inlinable
    func probeDomain(_ key: UInt64) -> Int? {
        let bit = key & filterMask
        guard let f = domainFilter.u8(Int(truncatingIfNeeded: bit >> 3)), f >> (bit & 7) & 1 == 1 else { return nil }
        var line = Int(truncatingIfNeeded: key >> domainShift)
        let want = key >> 16
        var distance = 0
        while distance <= probeLimit {
            var i = line &* 64
            let end = i &+ 64
            while i < end {
                guard let x = domainEntries.u64(i) else { return nil }
                if x == 0 { return nil }
                if x >> 16 == want { return Int(x & 0xffff) }
                i &+= 8
            }
            line = (line &+ 1) & domainLineMask
            distance &+= 1
        }
        return nil
    }

    @inlinable
    func probeURL(_ key: UInt64, path: ByteView, into m: inout CategoryMatch) {
        guard urlHostBits[Int(truncatingIfNeeded: key & 0xffff) >> 6] >> (key & 63) & 1 == 1 else { return }
        let b = Int(truncatingIfNeeded: key >> urlShift)
        guard let s = urlBuckets.u32(b &* 4), let e = urlBuckets.u32(b &* 4 &+ 4) else { return }
        var i = Int(s)
        let end = Int(e)
        while i < end {
            guard let k = urlKeys.u64(i &* 8) else { return }
            if k > key { return }
            // A host's entries are sorted by canonical path: past the path, none can match.
            if k == key, let r = urlRecords.u64(i &* 8),
               let p = urlPaths.slice(Int(r >> 32), Int(r >> 16 & 0xffff)) {
                let c = URLPathCursor.compare(prefix: p, path: path)
                if c.matches {
                    m.categories.formUnion(combo(Int(r & 0xffff)))
                    m.urlMatched = true
                } else if c.after {
                    return
                }
            }
            i &+= 1
        }
    }

    @inlinable
    func combo(_ id: Int) -> CategorySet {
        guard let lo = combos.u64(id &* 16), let hi = combos.u64(id &* 16 &+ 8) else { return .empty }
        return CategorySet(lo: lo, hi: hi)
    }
}
