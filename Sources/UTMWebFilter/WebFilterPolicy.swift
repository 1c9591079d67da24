import UTMCore

/// The customer's web-filter settings. Plain values with documented defaults; the text form is
/// JSON (`WebFilterConfig.parse(json:)` in WebFilterConfigLoader.swift):
///
///     { "level": "standard",
///       "allow": ["intranet.example.jp", "example.com/docs", "category:gambling"],
///       "deny":  ["example.org", "category:games", "list:strict_redirector"],
///       "groups": { "games": "other" } }
public struct WebFilterConfig: Codable, Sendable, Equatable {
    /// Off means: look up and record, never block. Default on.
    public var enabled: Bool = true
    /// Starting profile. Default `.standard`.
    public var level: SecurityLevel = .standard
    /// Entries that allow: "host" (and its subdomains), "host/path" (prefix), "category:GROUP"
    /// or "category:LIST", "list:LIST". Default none.
    public var allow: [String] = []
    /// Entries that block, same forms. Default none.
    public var deny: [String] = []
    /// Overrides of the taxonomy: list name → group. A list that is in a never-allowable group by
    /// default cannot be moved out of it. Default none.
    public var groups: [String: WebCategoryGroup] = [:]
    /// DNS queries for blocked names: false (default) records them only (the HTTP/TLS/QUIC
    /// connection that follows is blocked anyway); true makes the engine reject the query so the
    /// live source answers NXDOMAIN.
    public var answerBlockedDNSWithNXDOMAIN: Bool = false
    /// Applications refused whatever their URL, by App-ID's (nDPI's) names: "BitTorrent",
    /// "TeamViewer". The engine resolves and checks the names. Default none.
    public var blockedApps: [String] = []

    public init(enabled: Bool = true, level: SecurityLevel = .standard, allow: [String] = [], deny: [String] = [],
                groups: [String: WebCategoryGroup] = [:], answerBlockedDNSWithNXDOMAIN: Bool = false,
                blockedApps: [String] = []) {
        self.enabled = enabled; self.level = level; self.allow = allow; self.deny = deny; self.groups = groups
        self.answerBlockedDNSWithNXDOMAIN = answerBlockedDNSWithNXDOMAIN; self.blockedApps = blockedApps
    }

    enum CodingKeys: String, CodingKey { case enabled, level, allow, deny, groups, answerBlockedDNSWithNXDOMAIN, blockedApps }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        level = try c.decodeIfPresent(SecurityLevel.self, forKey: .level) ?? .standard
        allow = try c.decodeIfPresent([String].self, forKey: .allow) ?? []
        deny = try c.decodeIfPresent([String].self, forKey: .deny) ?? []
        groups = try c.decodeIfPresent([String: WebCategoryGroup].self, forKey: .groups) ?? [:]
        answerBlockedDNSWithNXDOMAIN = try c.decodeIfPresent(Bool.self, forKey: .answerBlockedDNSWithNXDOMAIN) ?? false
        blockedApps = try c.decodeIfPresent([String].self, forKey: .blockedApps) ?? []
    }
}

/// A configuration the policy refuses, with the entry at fault. One line.
public struct WebFilterConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var entry: String
    public var reason: String
    public init(entry: String, reason: String) { self.entry = entry; self.reason = reason }
    public var description: String { "web filter config: \(entry): \(reason)" }
}

public enum WebFilterAction: UInt8, Sendable {
    case allow, block, record

    public var name: String {
        switch self {
        case .allow: return "allowed"
        case .block: return "blocked"
        case .record: return "recorded"
        }
    }
}

/// Which rule decided. Small values only, so a verdict never allocates; `WebFilterPolicy.describe`
/// turns it into text for logs.
public enum WebFilterRule: Sendable, Equatable {
    /// Nothing matched.
    case uncategorised
    /// The host is in a list of a never-allowable group (list id).
    case protectedCategory(Int)
    /// The customer's deny entry (index into `config.deny`).
    case denyEntry(Int)
    /// The customer's allow entry (index into `config.allow`).
    case allowEntry(Int)
    /// A list the customer denied (list id).
    case deniedCategory(Int)
    /// A list the security level blocks (list id).
    case levelCategory(Int)
    /// Categorised, nothing blocks it: recorded (list id).
    case recorded(Int)
    /// The filter is disabled: recorded only.
    case disabled
}

@frozen
public struct WebFilterVerdict: Sendable, Equatable {
    public var action: WebFilterAction
    /// Reportable lists the host or URL is in (allow lists of the source removed).
    public var categories: CategorySet
    public var rule: WebFilterRule
    public var match: CategoryMatch

    @inlinable
    public init(action: WebFilterAction, categories: CategorySet, rule: WebFilterRule, match: CategoryMatch) {
        self.action = action; self.categories = categories; self.rule = rule; self.match = match
    }
}

/// A configuration bound to a database: decides allow / block / record per request.
///
/// Order of precedence (most specific wins, protection first):
/// 1. a list of a never-allowable group (security, illegal) → block, whatever else says;
/// 2. the customer's URL entries: the longest match wins (a host/path entry beats a host entry,
///    a deeper domain beats its parent); deny wins a tie → block or allow;
/// 3. a list the customer denied → block;
/// 4. a list the level blocks and the customer did not allow → block;
/// 5. any other reportable list → record; nothing → allow.
public final class WebFilterPolicy: @unchecked Sendable {
    public let config: WebFilterConfig
    public let database: CategoryDatabase?
    public let taxonomy: WebFilterTaxonomy

    @usableFromInline let reportable: CategorySet
    @usableFromInline let protected: CategorySet
    @usableFromInline let customerDenied: CategorySet
    @usableFromInline let levelBlocked: CategorySet
    @usableFromInline let rules: CustomerRules

    /// Binds `config` to `database` (nil when no category data could be loaded: customer URL
    /// entries still apply and traffic keeps flowing). Throws on an entry that tries to allow a
    /// never-allowable category or a URL listed in one, on unknown categories and bad entries.
    public init(config: WebFilterConfig, database: CategoryDatabase?,
                taxonomy base: WebFilterTaxonomy = .ut1) throws(WebFilterConfigError) {
        var taxonomy = base
        for (list, group) in config.groups.sorted(by: { $0.key < $1.key }) {
            let was = base.entry(list)
            if was.group.neverAllowed && was.group != group {
                throw WebFilterConfigError(entry: "groups.\(list)",
                    reason: "list \(list) is in the \(was.group.rawValue) group and cannot be moved to \(group.rawValue)")
            }
            taxonomy.entries[list] = TaxonomyEntry(group, was.label)
        }
        let names = database?.listNames ?? []
        var reportable = CategorySet(), protected = CategorySet(), levelBlocked = CategorySet()
        for (id, name) in names.enumerated() {
            let e = taxonomy.entry(name)
            if e.group != .ignored { reportable.insert(id) }
            if e.group.neverAllowed { protected.insert(id) }
            if config.level.blockedGroups.contains(e.group) || config.level.blockedLists.contains(name) {
                levelBlocked.insert(id)
            }
        }

        // Category entries.
        func categoryIDs(_ entry: String, _ ref: String, allowing: Bool) throws(WebFilterConfigError) -> CategorySet? {
            var spec = Substring(ref)
            let onlyList: Bool
            if spec.hasPrefix("category:") { spec = spec.dropFirst(9); onlyList = false }
            else if spec.hasPrefix("list:") { spec = spec.dropFirst(5); onlyList = true }
            else { return nil }
            let name = String(spec)
            var ids = CategorySet()
            if !onlyList, let group = WebCategoryGroup(rawValue: name) {
                if allowing && group.neverAllowed {
                    throw WebFilterConfigError(entry: entry,
                        reason: "the \(group.rawValue) group can never be allowed")
                }
                for (id, n) in names.enumerated() where taxonomy.entry(n).group == group { ids.insert(id) }
                return ids
            }
            let e = taxonomy.entry(name)
            if allowing && e.group.neverAllowed {
                throw WebFilterConfigError(entry: entry,
                    reason: "list \(name) is in the \(e.group.rawValue) group, which can never be allowed")
            }
            if let database {
                guard let id = database.listID(name) else {
                    throw WebFilterConfigError(entry: entry, reason: "no category or list called \(name)")
                }
                ids.insert(id)
            } else if taxonomy.entries[name] == nil {
                throw WebFilterConfigError(entry: entry, reason: "no category or list called \(name)")
            }
            return ids
        }

        var rules = CustomerRules()
        var allowedCats = CategorySet(), deniedCats = CategorySet()
        for (i, text) in config.deny.enumerated() {
            let entry = "deny entry \"\(text)\""
            if let ids = try categoryIDs(entry, text, allowing: false) { deniedCats.formUnion(ids); continue }
            try rules.add(text, action: .block, index: i, entry: entry)
        }
        for (i, text) in config.allow.enumerated() {
            let entry = "allow entry \"\(text)\""
            if let ids = try categoryIDs(entry, text, allowing: true) { allowedCats.formUnion(ids); continue }
            try rules.add(text, action: .allow, index: i, entry: entry)
            // A URL entry may not open a site that the data puts in a never-allowable list.
            if let database {
                let found: CategorySet = Array(text.utf8).withByteView { v in
                    let (h, p) = URLText.split(v)
                    return database.lookup(host: h, path: p).categories
                }
                let bad = found.intersection(protected)
                if let id = bad.first {
                    let n = names[id]
                    throw WebFilterConfigError(entry: entry,
                        reason: "it is listed in \(n) (\(taxonomy.entry(n).group.rawValue)), which can never be allowed")
                }
            }
        }
        rules.finish()

        self.config = config
        self.database = database
        self.taxonomy = taxonomy
        self.reportable = reportable
        self.protected = protected
        self.customerDenied = deniedCats.intersection(reportable)
        self.levelBlocked = levelBlocked.subtracting(allowedCats).intersection(reportable)
        self.rules = rules
    }

    /// The verdict for a request: `host` as in `CategoryDatabase.lookup`, `path` the request
    /// target (empty for TLS SNI, QUIC SNI and DNS names). Allocation-free.
    @inlinable
    public func decide(host: ByteView, path: ByteView = .empty) -> WebFilterVerdict {
        HostName.withNormalised(host) { h, kind in
            var m = CategoryMatch()
            m.kind = kind
            if let db = database { m = db.lookupNormalised(h, kind: kind, path: path) }
            let cats = m.categories.intersection(reportable)
            if !config.enabled {
                return WebFilterVerdict(action: cats.isEmpty ? .allow : .record, categories: cats, rule: .disabled, match: m)
            }
            if let id = cats.intersection(protected).first {
                return WebFilterVerdict(action: .block, categories: cats, rule: .protectedCategory(id), match: m)
            }
            if let r = rules.match(h, kind: kind, path: path) {
                if r.action == .block {
                    return WebFilterVerdict(action: .block, categories: cats, rule: .denyEntry(r.index), match: m)
                }
                return WebFilterVerdict(action: .allow, categories: cats, rule: .allowEntry(r.index), match: m)
            }
            if let id = cats.intersection(customerDenied).first {
                return WebFilterVerdict(action: .block, categories: cats, rule: .deniedCategory(id), match: m)
            }
            if let id = cats.intersection(levelBlocked).first {
                return WebFilterVerdict(action: .block, categories: cats, rule: .levelCategory(id), match: m)
            }
            if let id = cats.first {
                return WebFilterVerdict(action: .record, categories: cats, rule: .recorded(id), match: m)
            }
            return WebFilterVerdict(action: .allow, categories: cats, rule: .uncategorised, match: m)
        }
    }

    /// Name of list `id`.
    public func listName(_ id: Int) -> String { database?.listName(id) ?? "#\(id)" }

    /// The group of list `id`.
    public func group(ofList id: Int) -> WebCategoryGroup { taxonomy.entry(listName(id)).group }

    /// "blocked: malware (security: malware)" — for logs, the CLI and block pages.
    public func describe(_ v: WebFilterVerdict) -> String {
        func cat(_ id: Int) -> String {
            let n = listName(id), e = taxonomy.entry(n)
            return "\(n) (\(e.group.rawValue): \(e.label))"
        }
        let why: String
        switch v.rule {
        case .uncategorised: why = "uncategorised"
        case .protectedCategory(let id): why = "category \(cat(id)) is always blocked"
        case .denyEntry(let i): why = "deny entry \"\(config.deny[i])\""
        case .allowEntry(let i): why = "allow entry \"\(config.allow[i])\""
        case .deniedCategory(let id): why = "denied category \(cat(id))"
        case .levelCategory(let id): why = "category \(cat(id)) blocked at level \(config.level.rawValue)"
        case .recorded(let id): why = "category \(cat(id)) recorded"
        case .disabled: why = "filter disabled"
        }
        return "\(v.action.name): \(why)"
    }
}

/// The customer's URL entries, hashed like database entries, kept in small sorted arrays.
@usableFromInline
struct CustomerRules: Sendable {
    @usableFromInline struct Found {
        @usableFromInline var action: WebFilterAction
        @usableFromInline var index: Int
        @inlinable init(action: WebFilterAction, index: Int) { self.action = action; self.index = index }
    }

    /// Host entries (host and subdomains): sorted keys, and per key the action and entry index.
    @usableFromInline var hostKeys: [UInt64] = []
    @usableFromInline var hostRules: [UInt32] = []   // action << 24 | index
    /// Host/path entries (host without "www."): sorted keys; path offset/length into `paths`.
    @usableFromInline var pathKeys: [UInt64] = []
    @usableFromInline var pathRules: [UInt32] = []
    @usableFromInline var pathSpans: [UInt32] = []   // offset << 16 | length
    @usableFromInline var paths: [UInt8] = []

    var pendingHosts: [(UInt64, UInt32)] = []
    var pendingPaths: [(UInt64, [UInt8], UInt32)] = []

    @usableFromInline init() {}

    mutating func add(_ text: String, action: WebFilterAction, index: Int, entry: String) throws(WebFilterConfigError) {
        let packed = UInt32(action.rawValue) << 24 | UInt32(index & 0xff_ffff)
        var t = Substring(text)
        if t.hasPrefix("*.") { t = t.dropFirst(2) }
        let ok: Bool = Array(t.utf8).withByteView { v in
            let (host, rawPath) = URLText.split(v)
            return HostName.withNormalised(host) { h, kind -> Bool in
                var h = h
                switch kind {
                case .invalid: return false
                case .name: if CategoryCompiler.validName(h) == nil { return false }
                case .ipv4, .ipv6: break
                }
                if rawPath.count == 0 {
                    pendingHosts.append((HostKey.of(h), packed))
                } else {
                    if kind == .name && HostKey.hasWWW(h) { h = h.dropFirst(4) }
                    let p = URLPathCursor.canonical(rawPath)
                    guard p.count < 0xffff else { return false }
                    pendingPaths.append((HostKey.of(h), p, packed))
                }
                return true
            }
        }
        guard ok else { throw WebFilterConfigError(entry: entry, reason: "not a host, host/path or category:NAME") }
    }

    mutating func finish() {
        pendingHosts.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        hostKeys = pendingHosts.map { $0.0 }
        hostRules = pendingHosts.map { $0.1 }
        pendingPaths.sort { $0.0 < $1.0 }
        for (k, p, r) in pendingPaths {
            pathKeys.append(k); pathRules.append(r)
            pathSpans.append(UInt32(paths.count) << 16 | UInt32(p.count))
            paths.append(contentsOf: p)
        }
        pendingHosts = []; pendingPaths = []
    }

    @inlinable
    static func lowerBound(_ keys: [UInt64], _ key: UInt64) -> Int {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if keys[mid] < key { lo = mid &+ 1 } else { hi = mid }
        }
        return lo
    }

    /// The most specific matching entry; deny wins a tie.
    @inlinable
    func match(_ host: ByteView, kind: HostKind, path: ByteView) -> Found? {
        if hostKeys.isEmpty && pathKeys.isEmpty { return nil }
        var bestPacked: UInt32 = 0
        var bestScore = -1
        let blockBits = UInt32(WebFilterAction.block.rawValue)
        let urlOffset = kind == .name && HostKey.hasWWW(host) ? 4 : 0
        HostKey.forEachSuffix(host, kind: kind) { key, offset, _ in
            if !hostKeys.isEmpty {
                var i = CustomerRules.lowerBound(hostKeys, key)
                while i < hostKeys.count && hostKeys[i] == key {
                    let packed = hostRules[i], score = host.count - offset
                    if score > bestScore || (score == bestScore && packed >> 24 == blockBits) {
                        bestPacked = packed; bestScore = score
                    }
                    i &+= 1
                }
            }
            if offset == urlOffset && !pathKeys.isEmpty && path.count > 0 {
                var i = CustomerRules.lowerBound(pathKeys, key)
                while i < pathKeys.count && pathKeys[i] == key {
                    let span = pathSpans[i]
                    let off = Int(span >> 16), len = Int(span & 0xffff)
                    let matched = paths.withUnsafeBytes { raw in
                        URLPathCursor.matches(prefix: ByteView(raw).slice(off, len) ?? .empty, path: path)
                    }
                    let packed = pathRules[i], score = 100_000 + len
                    if matched && (score > bestScore || (score == bestScore && packed >> 24 == blockBits)) {
                        bestPacked = packed; bestScore = score
                    }
                    i &+= 1
                }
            }
            return true
        }
        guard bestScore >= 0 else { return nil }
        return Found(action: bestPacked >> 24 == blockBits ? .block : .allow, index: Int(bestPacked & 0xff_ffff))
    }
}
