import UTMCore

/// Builds a category database file from lists in UT1's format: per list, a `domains` text
/// (one domain or IP per line; the entry covers the host and every subdomain) and a `urls` text
/// (one "host/path" prefix per line). Empty lines and `#` comments are skipped; malformed lines
/// are counted, a few kept as examples, and skipped.
///
/// Entries are normalised like lookups (`HostName`, `URLPathCursor`); URL entries also drop a
/// leading "www.", as UT1 writes them and as lookups do for the request host.
public struct CategoryCompiler {
    public struct ListStats: Sendable {
        public var name: String
        public var domainLines = 0
        public var urlLines = 0
        public var malformed = 0
    }

    public struct Stats: Sendable {
        public var lists: [ListStats] = []
        /// Distinct domain keys and URL entries written.
        public var domains = 0
        public var urls = 0
        public var combinations = 0
        public var malformed = 0
        /// Distinct names whose 48-bit keys collided; their lists were merged (expected 0).
        public var keyCollisions = 0
        /// Up to 20 "list/file:line: text" examples of malformed lines.
        public var malformedExamples: [String] = []
    }

    public struct TooManyLists: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "category list \(name): more than \(CategoryFormat.maxLists) lists" }
    }

    public private(set) var listNames: [String] = []
    public private(set) var stats = Stats()

    struct DomainValue { var set: CategorySet; var check: UInt64 }
    struct URLKey: Hashable { var key: UInt64; var path: [UInt8] }

    var domains: [UInt64: DomainValue] = [:]   // by top 48 bits of the key
    var urls: [URLKey: CategorySet] = [:]
    /// Fewest labels of a domain entry: lookups skip shorter suffixes (usually the TLD probe).
    var minDomainLabels = 255
    /// Every domain key as lookups compute it (the filter is indexed by its low bits).
    var fullDomainKeys: [UInt64] = []

    public init() {}

    /// Adds one list. Lists get ids in the order they are added (the directory reader sorts
    /// them by name so ids are stable across builds of the same data).
    public mutating func addList(name: String, domains domainText: [UInt8], urls urlText: [UInt8]) throws {
        guard listNames.count < CategoryFormat.maxLists else { throw TooManyLists(name: name) }
        let id = listNames.count
        listNames.append(name)
        var ls = ListStats(name: name)
        domainText.withByteView { text in
            forEachLine(text) { line, number in
                ls.domainLines += 1
                if !addDomain(line, id: id) { noteMalformed(name, "domains", number, line, &ls) }
            }
        }
        urlText.withByteView { text in
            forEachLine(text) { line, number in
                ls.urlLines += 1
                if !addURL(line, id: id) { noteMalformed(name, "urls", number, line, &ls) }
            }
        }
        stats.lists.append(ls)
    }

    mutating func noteMalformed(_ list: String, _ file: String, _ number: Int, _ line: ByteView, _ ls: inout ListStats) {
        ls.malformed += 1
        stats.malformed += 1
        if stats.malformedExamples.count < 20 {
            stats.malformedExamples.append("\(list)/\(file):\(number): \(String(decoding: line.prefix(120).bytes, as: UTF8.self))")
        }
    }

    /// Lines without surrounding spaces; empty lines and comments are skipped.
    func forEachLine(_ text: ByteView, _ body: (ByteView, Int) -> Void) {
        var start = 0, number = 0
        while start < text.count {
            let end = text.firstIndex(of: UInt8(ascii: "\n"), from: start) ?? text.count
            number += 1
            var line = text.slice(start, end - start) ?? .empty
            while let b = line.u8(0), b == 0x20 || b == 0x09 || b == 0x0d { line = line.dropFirst(1) }
            while let b = line.u8(line.count - 1), b == 0x20 || b == 0x09 || b == 0x0d { line = line.prefix(line.count - 1) }
            if line.count > 0, line.u8(0) != UInt8(ascii: "#") { body(line, number) }
            start = end + 1
        }
    }

    /// A normalised name is letters, digits, '-', '_' and dots between non-empty labels of at
    /// most 63 bytes. Returns the label count, or nil.
    static func validName(_ h: ByteView) -> Int? {
        guard h.count > 0, h.count <= HostName.maxLength else { return nil }
        var labels = 1, labelLength = 0
        var i = 0
        while i < h.count {
            let b = asciiLower(h[checked: i])
            if b == UInt8(ascii: ".") {
                guard labelLength > 0 else { return nil }
                labels += 1; labelLength = 0
            } else {
                guard (b &- 0x61) < 26 || (b &- 0x30) < 10 || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") else { return nil }
                labelLength += 1
                guard labelLength <= 63 else { return nil }
            }
            i += 1
        }
        return labelLength > 0 ? labels : nil
    }

    /// Second, independent hash of a normalised host, to tell real key collisions from duplicates.
    static func checkHash(_ h: ByteView) -> UInt64 {
        var x: UInt64 = 0x84222325cbf29ce4
        h.forEachByte { x = (x ^ UInt64(asciiLower($0))) &* 0x9e3779b97f4a7c15; x ^= x >> 29 }
        return x
    }

    mutating func addDomain(_ line: ByteView, id: Int) -> Bool {
        // squidGuard-style ".example.com" means the same as "example.com" (domain and subdomains).
        let line = line.u8(0) == UInt8(ascii: ".") ? line.dropFirst(1) : line
        if line.firstIndex(of: UInt8(ascii: " ")) != nil || line.firstIndex(of: UInt8(ascii: "/")) != nil { return false }
        return HostName.withNormalised(line) { h, kind -> Bool in
            switch kind {
            case .invalid: return false
            case .name:
                guard let labels = CategoryCompiler.validName(h) else { return false }
                minDomainLabels = min(minDomainLabels, labels)
            case .ipv4, .ipv6: break
            }
            let full = HostKey.of(h)
            fullDomainKeys.append(full)
            let key = full >> 16
            let check = CategoryCompiler.checkHash(h)
            if var v = domains[key] {
                if v.check != check { stats.keyCollisions += 1 }
                v.set.insert(id)
                domains[key] = v
            } else {
                var s = CategorySet(); s.insert(id)
                domains[key] = DomainValue(set: s, check: check)
            }
            return true
        }
    }

    mutating func addURL(_ line: ByteView, id: Int) -> Bool {
        if line.firstIndex(of: UInt8(ascii: " ")) != nil { return false }
        let (host, rawPath) = URLText.split(line)
        var path = URLPathCursor.canonical(rawPath)
        if path.isEmpty { path = [UInt8(ascii: "/")] }
        guard path.count <= 0xffff else { return false }
        return HostName.withNormalised(host) { h, kind -> Bool in
            var h = h
            switch kind {
            case .invalid: return false
            case .name:
                if HostKey.hasWWW(h) { h = h.dropFirst(4) }
                guard CategoryCompiler.validName(h) != nil else { return false }
            case .ipv4, .ipv6: break
            }
            let k = URLKey(key: HostKey.of(h), path: path)
            var s = urls[k] ?? CategorySet()
            s.insert(id)
            urls[k] = s
            return true
        }
    }

    /// The database file.
    public mutating func build() -> [UInt8] {
        // Combinations of lists, numbered in a stable order.
        var comboSet = Set<CategorySet>()
        for v in domains.values { comboSet.insert(v.set) }
        for v in urls.values { comboSet.insert(v) }
        let combos = comboSet.sorted { ($0.hi, $0.lo) < ($1.hi, $1.lo) }
        precondition(combos.count <= CategoryFormat.maxCombos, "more than 65536 list combinations")
        var comboID: [CategorySet: Int] = [:]
        for (i, c) in combos.enumerated() { comboID[c] = i }
        let minLabels = min(minDomainLabels, 255)

        var entries: [UInt64] = domains.map { k, v in k << 16 | UInt64(comboID[v.set]!) }
        entries.sort()
        let domainBits = CategoryCompiler.bucketBits(entries.count)
        // Cache-line buckets: each entry in its home line (top key bits) or the next with room.
        let lineCount = 1 << domainBits, slots = CategoryFormat.lineSlots
        var lines = [UInt64](repeating: 0, count: lineCount * slots)
        var used = [UInt8](repeating: 0, count: lineCount)
        var probeLimit = 0
        for e in entries where e != 0 {  // 0 marks an empty slot (a 2^-48 key is dropped)
            var line = Int(e >> UInt64(64 - domainBits))
            var distance = 0
            while Int(used[line]) == slots {
                line = (line + 1) & (lineCount - 1)
                distance += 1
            }
            lines[line * slots + Int(used[line])] = e
            used[line] += 1
            probeLimit = max(probeLimit, distance)
        }
        precondition(probeLimit <= 255, "domain lines overfull")

        let urlList = urls.sorted { a, b in
            a.key.key != b.key.key ? a.key.key < b.key.key : a.key.path.lexicographicallyPrecedes(b.key.path)
        }
        let urlBits = CategoryCompiler.bucketBits(urlList.count)

        stats.domains = entries.count
        stats.urls = urlList.count
        stats.combinations = combos.count

        var w = ByteWriter()
        w.zeros(CategoryFormat.headerLength)
        var table: [(Int, Int)] = []

        // names
        var start = w.begin()
        for n in listNames {
            let b = Array(n.utf8.prefix(255))
            w.u8(UInt8(b.count)); w.bytes(b)
        }
        table.append((start, w.count - start))
        // combos
        start = w.begin()
        for c in combos { w.u64(c.lo); w.u64(c.hi) }
        table.append((start, w.count - start))
        // domain buckets (none since version 2) and entry lines
        start = w.begin()
        table.append((start, 0))
        start = w.begin()
        for e in lines { w.u64(e) }
        table.append((start, w.count - start))
        // URL buckets, keys, records, paths
        start = w.begin()
        w.buckets(urlList.map { $0.key.key }, bits: urlBits)
        table.append((start, w.count - start))
        start = w.begin()
        for u in urlList { w.u64(u.key.key) }
        table.append((start, w.count - start))
        start = w.begin()
        var pathOffset = 0
        for u in urlList {
            w.u64(UInt64(pathOffset) << 32 | UInt64(u.key.path.count) << 16 | UInt64(comboID[u.value]!))
            pathOffset += u.key.path.count
        }
        table.append((start, w.count - start))
        start = w.begin()
        for u in urlList { w.bytes(u.key.path) }
        table.append((start, w.count - start))
        // domain filter
        var filterBits = 6
        while filterBits < 34 && (1 << filterBits) < entries.count * 8 { filterBits += 1 }
        var filter = [UInt8](repeating: 0, count: (1 << filterBits) / 8)
        for full in fullDomainKeys {
            let bit = full & (UInt64(1 << filterBits) - 1)
            filter[Int(bit >> 3)] |= 1 << UInt8(bit & 7)
        }
        start = w.begin()
        w.bytes(filter)
        table.append((start, w.count - start))
        _ = w.begin()

        // Header.
        w.put64(0, CategoryFormat.magic)
        w.put32(8, CategoryFormat.version)
        w.put32(12, UInt32(CategoryFormat.headerLength))
        w.put64(16, UInt64(w.count))
        w.put32(32, UInt32(listNames.count))
        w.put32(36, UInt32(combos.count))
        w.put32(40, UInt32(entries.count))
        w.out[44] = UInt8(domainBits)
        w.out[45] = UInt8(minLabels)
        w.out[46] = UInt8(filterBits)
        w.out[47] = UInt8(probeLimit)
        w.put32(48, UInt32(urlList.count))
        w.out[52] = UInt8(urlBits)
        for (i, (o, l)) in table.enumerated() {
            w.put32(64 + 8 * i, UInt32(o))
            w.put32(68 + 8 * i, UInt32(l))
        }
        let sum = w.out.withByteView { FileChecksum.of($0, from: 32) }
        w.put64(24, sum)
        return w.out
    }

    /// About four entries per bucket: the bucket table stays small enough for the L2 cache and a
    /// probe reads one or two cache lines of entries.
    static func bucketBits(_ n: Int) -> Int {
        var bits = 1
        while bits < 30 && (1 << (bits + 1)) * 4 <= n { bits += 1 }
        return bits
    }
}

/// Big-endian output for the compiler.
struct ByteWriter {
    var out: [UInt8] = []
    var count: Int { out.count }

    mutating func zeros(_ n: Int) { out.append(contentsOf: repeatElement(0, count: n)) }
    /// Pads to 8 bytes and returns the offset of what comes next.
    mutating func begin() -> Int {
        while out.count % 8 != 0 { out.append(0) }
        return out.count
    }
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
    mutating func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { out[at + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) } }
    mutating func put64(_ at: Int, _ v: UInt64) { for i in 0..<8 { out[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) } }

    /// Start indexes of 2^bits buckets over sorted keys (bucket = top `bits` bits), then the total.
    mutating func buckets(_ sortedKeys: [UInt64], bits: Int) {
        let n = 1 << bits
        var counts = [UInt32](repeating: 0, count: n)
        for k in sortedKeys { counts[Int(k >> UInt64(64 - bits))] += 1 }
        var acc: UInt32 = 0
        for c in counts { u32(acc); acc += c }
        u32(acc)
    }
}
