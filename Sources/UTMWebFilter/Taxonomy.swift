/// The product's category groups ([001 3.4.5]). Lists from the database map onto these; the
/// policy reasons in groups, the records keep list names.
public enum WebCategoryGroup: String, CaseIterable, Codable, Sendable {
    /// 不法: illegal acts, copyright infringement, illegal drugs. Never allowable.
    case illegal
    /// セキュリティ: malware, phishing, drive-by download, cracking, open proxy, filter
    /// circumvention. Never allowable.
    case security
    /// アダルト・フェティシズム.
    case adult
    /// 出会い系.
    case dating
    /// ギャンブル.
    case gambling
    /// 過激な表現: violent organisations and cults, hate, shocking content.
    case extreme
    /// Everything else: recorded for the monthly report, not blocked unless the level or the
    /// customer says so.
    case other
    /// Allow lists and exam-specific lists shipped with UT1: never reported, never blocked.
    case ignored

    /// Groups no configuration may allow [001 3.4.5(5)].
    public var neverAllowed: Bool { self == .illegal || self == .security }
}

/// One row of the mapping from a list name to the product taxonomy.
public struct TaxonomyEntry: Sendable, Equatable {
    public var group: WebCategoryGroup
    /// The product's finer label within the group ("phishing", "open proxy", ...).
    public var label: String

    public init(_ group: WebCategoryGroup, _ label: String) { self.group = group; self.label = label }
}

/// The mapping from list names to groups. Lists the table does not name are `other`.
public struct WebFilterTaxonomy: Sendable {
    public var entries: [String: TaxonomyEntry]

    public init(entries: [String: TaxonomyEntry]) { self.entries = entries }

    public func entry(_ list: String) -> TaxonomyEntry {
        entries[list] ?? TaxonomyEntry(.other, list)
    }

    /// The default table for UT1's lists (see README for the reasoning).
    public static let ut1 = WebFilterTaxonomy(entries: [
        // security
        "malware": .init(.security, "malware"),
        "stalkerware": .init(.security, "malware"),
        "dialer": .init(.security, "malware"),
        "phishing": .init(.security, "phishing"),
        "cryptojacking": .init(.security, "drive-by download"),
        "hacking": .init(.security, "cracking"),
        "ddos": .init(.security, "cracking"),
        "redirector": .init(.security, "open proxy"),
        "residential-proxies": .init(.security, "open proxy"),
        "vpn": .init(.security, "filter circumvention"),
        // illegal
        "warez": .init(.illegal, "copyright infringement"),
        "drogue": .init(.illegal, "illegal drugs"),
        "dangerous_material": .init(.illegal, "illegal acts"),
        // adult
        "adult": .init(.adult, "adult"),
        "mixed_adult": .init(.adult, "adult"),
        "lingerie": .init(.adult, "fetishism"),
        // dating, gambling, extreme
        "dating": .init(.dating, "dating"),
        "gambling": .init(.gambling, "gambling"),
        "arjel": .init(.gambling, "gambling"),
        "agressif": .init(.extreme, "hate"),
        "sect": .init(.extreme, "cult"),
        // UT1 allow lists and lists its authors say not to use outside French exams
        "liste_blanche": .init(.ignored, "allow list"),
        "liste_bu": .init(.ignored, "allow list"),
        "exceptions_liste_bu": .init(.ignored, "allow list"),
        "examen_pix": .init(.ignored, "exam list"),
        "tricheur_pix": .init(.ignored, "exam list"),
    ])
}

/// Starting profiles. Every level blocks the never-allowable groups.
public enum SecurityLevel: String, CaseIterable, Codable, Sendable {
    /// Illegal and security only.
    case relaxed
    /// The fixed category block list of [001 3.4.5]: illegal, security, adult, dating,
    /// gambling, extreme.
    case standard
    /// Standard plus lists that defeat other controls or waste the office's time.
    case strict

    public var blockedGroups: Set<WebCategoryGroup> {
        switch self {
        case .relaxed: return [.illegal, .security]
        case .standard, .strict: return [.illegal, .security, .adult, .dating, .gambling, .extreme]
        }
    }

    /// Lists of the `other` group that this level blocks too.
    public var blockedLists: Set<String> {
        switch self {
        case .relaxed, .standard: return []
        case .strict:
            return ["doh", "strict_redirector", "strong_redirector", "remote-control", "dynamic-dns",
                    "tricheur", "marketingware", "fakenews"]
        }
    }
}
