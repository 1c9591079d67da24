import UTMCore
import UTMRegex

/// suricata-update's rule filter files, applied where rules are loaded: `disable.conf`,
/// `enable.conf`, `drop.conf` and `modify.conf`.
///
/// Why: every Emerging Threats rule is written `alert`, and a box that only drops what a rule's
/// action says never blocks an intrusion. Deployments of Suricata turn chosen rules into `drop`
/// and switch noisy ones off with these files, without editing the vendor's rule file (which the
/// next update would overwrite). The syntax and the order are suricata-update's:
///
///     2019401                      # a sid (gid 1)
///     1:2019401, 1:2019402:3       # gid:sid, gid:sid:rev, comma-separated lists
///     re:ET TROJAN                 # a regex searched in the whole rule text, case-insensitive
///     group:emerging-trojan*       # the rule file's base name, with or without extension (fnmatch glob)
///     emerging-scan.rules          # the same, without the prefix
///     filename:rules/*.rules       # the rule file name as given (fnmatch glob)
///     metadata: signature_severity critical   # a metadata key and value, case-insensitive
///     *                            # every rule
///
/// modify.conf lines are `MATCHER "FROM" "TO"` (shell quoting; also Oinkmaster's
/// `modifysid MATCHER "FROM" | "TO"`): every match of the regex FROM in the rule text is replaced
/// by TO, where `\1`, `\g<1>` and `${1}` are the groups.
///
/// Order, as suricata-update applies them to each rule: disable (an enabled rule matching a
/// disable matcher is commented out), enable (a commented-out rule matching an enable matcher
/// is loaded), drop (the action word becomes `drop`), modify. Deliberate differences from
/// suricata-update, both for a box that blocks: drop rewrites only `alert` rules (suricata-update
/// rewrites any action, so a `pass` exception would become a block), and never a `noalert` rule
/// (a flowbit setter that turned into a drop would block silently, as suricata-update also
/// refuses); and the counts only count rules that end up loaded.
public struct RuleFilters: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case disable, enable, drop, modify
    }

    /// One way of choosing rules.
    public enum Matcher: Sendable {
        case all
        /// (gid, sid, rev or nil) entries.
        case ids([(UInt32, UInt32, UInt32?)])
        case regex(Regex)
        /// fnmatch glob on the rule file name as given.
        case filename(String)
        /// fnmatch glob on the base name, with or without its extension.
        case group(String)
        /// Lowercased key and value.
        case metadata(String, String)
    }

    public struct Modify: Sendable {
        public var matcher: Matcher
        /// The FROM regex, case-sensitive as suricata-update compiles it.
        public var pattern: [UInt8]
        /// TO in PCRE2's replacement syntax (converted from Python's).
        public var replacement: [UInt8]
        /// Where it was read, for warnings.
        public var origin: String
    }

    public var disable: [Matcher] = []
    public var enable: [Matcher] = []
    public var drop: [Matcher] = []
    public var modify: [Modify] = []

    public init() {}

    public var isEmpty: Bool { disable.isEmpty && enable.isEmpty && drop.isEmpty && modify.isEmpty }

    /// Rules longer than this are not filtered by regex (Suricata's own limit on a rule is 8 KiB):
    /// a hostile rule file cannot make a substitution grow without bound.
    static let maxRuleBytes = 1 << 16

    // MARK: Parsing the files

    /// Adds the lines of one filter file of `kind`; `name` names it in errors. A bad line (bad
    /// regex, unknown matcher, bad quoting) is an error `name:line: reason`: a block or an
    /// exception silently lost would change what the box lets through.
    public mutating func add(_ text: String, kind: Kind, name: String) throws(RuleError) {
        var lineNumber = 0
        // Split on the byte: "\r\n" is one Character, so a String split on "\n" would miss CRLF.
        for bytes in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Self.trim(Substring(bytes))
            if line.isEmpty || line.first == "#" { continue }
            do throws(RuleError) {
                switch kind {
                case .modify: modify.append(try Self.parseModify(line, origin: "\(name):\(lineNumber)"))
                case .disable: disable.append(try Self.parseMatcher(line))
                case .enable: enable.append(try Self.parseMatcher(line))
                case .drop: drop.append(try Self.parseMatcher(line))
                }
            } catch {
                var e = error
                e.file = name
                e.line = lineNumber
                throw e
            }
        }
    }

    /// One file of `kind` parsed on its own.
    public static func parse(_ text: String, kind: Kind, name: String) throws(RuleError) -> RuleFilters {
        var f = RuleFilters()
        try f.add(text, kind: kind, name: name)
        return f
    }

    static func trim(_ s: Substring) -> Substring {
        var t = s
        while let c = t.first, c == " " || c == "\t" || c == "\r" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\t" || c == "\r" { t = t.dropLast() }
        return t
    }

    /// A matcher, tried in suricata-update's order: `*`, ids, `re:`, `filename:`, `group:` or
    /// `*.rules`, `metadata:`.
    static func parseMatcher(_ text: Substring) throws(RuleError) -> Matcher {
        let t = trim(text)
        if t == "*" { return .all }
        if let first = t.utf8.first, first >= 0x30 && first <= 0x39 { return try parseIDs(t) }
        if t.hasPrefix("re:") {
            let p = trim(t.dropFirst(3))
            guard !p.isEmpty else { throw .invalid("re: needs a regular expression") }
            do {
                return .regex(try Regex(pattern: Array(p.utf8), options: [.caseless]))
            } catch {
                throw .invalid("re: bad regular expression '\(p.prefix(80))': \(error)")
            }
        }
        if t.hasPrefix("filename:") {
            let g = trim(t.dropFirst(9))
            guard !g.isEmpty else { throw .invalid("filename: needs a file name pattern") }
            return .filename(String(g))
        }
        if t.hasPrefix("group:") {
            let g = trim(t.dropFirst(6))
            guard !g.isEmpty else { throw .invalid("group: needs a rule file name pattern") }
            return .group(String(g))
        }
        if t.hasSuffix(".rules") { return .group(String(t)) }
        if t.hasPrefix("metadata:") {
            let kv = trim(t.dropFirst(9))
            guard let space = kv.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw .invalid("metadata: needs a key and a value, e.g. 'metadata: signature_severity critical'")
            }
            let key = String(kv[..<space]).lowercased()
            let value = String(trim(kv[space...])).lowercased()
            return .metadata(key, value)
        }
        throw .invalid("'\(t.prefix(80))' is not a matcher (sid, gid:sid, re:, group:, filename:, metadata:, *)")
    }

    /// `sid`, `gid:sid`, `gid:sid:rev`, comma-separated.
    static func parseIDs(_ t: Substring) throws(RuleError) -> Matcher {
        var out: [(UInt32, UInt32, UInt32?)] = []
        for entry in t.split(separator: ",", omittingEmptySubsequences: false) {
            let e = trim(entry)
            let parts = e.split(separator: ":", omittingEmptySubsequences: false).map { UInt32(trim($0)) }
            guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil }) else {
                throw .invalid("'\(e.prefix(80))' is not sid, gid:sid or gid:sid:rev")
            }
            switch parts.count {
            case 1: out.append((1, parts[0]!, nil))
            case 2: out.append((parts[0]!, parts[1]!, nil))
            default: out.append((parts[0]!, parts[1]!, parts[2]!))
            }
        }
        return .ids(out)
    }

    /// `MATCHER "FROM" "TO"` or `modifysid MATCHER "FROM" | "TO"`.
    static func parseModify(_ line: Substring, origin: String) throws(RuleError) -> Modify {
        let tokens = try shellWords(line)
        let match: String, from: String, to: String
        if tokens.count == 3 {
            (match, from, to) = (tokens[0], tokens[1], tokens[2])
        } else if tokens.count == 5 && tokens[0] == "modifysid" && tokens[3] == "|" {
            (match, from, to) = (tokens[1], tokens[2], tokens[4])
        } else {
            throw .invalid("expected MATCHER \"FROM\" \"TO\", got \(tokens.count) words")
        }
        let matcher = try parseMatcher(Substring(match))
        guard !from.isEmpty else { throw .invalid("modify: FROM is empty") }
        if let e = Regex.compileError(pattern: Array(from.utf8)) {
            throw .invalid("modify: bad regular expression '\(from.prefix(80))': \(e)")
        }
        return Modify(matcher: matcher, pattern: Array(from.utf8), replacement: try pcreReplacement(to, groups: Regex.captureCount(pattern: Array(from.utf8)),
                                                                                     pattern: Array(from.utf8)),
                      origin: origin)
    }

    /// Words as Python's `shlex.split` makes them (POSIX mode): blanks separate, '...' is
    /// literal, "..." keeps a backslash unless it escapes `"` or `\`, a backslash outside quotes
    /// escapes the next character.
    static func shellWords(_ line: Substring) throws(RuleError) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var quote: UInt8 = 0
        var escaped = false
        let u = Array(line.utf8)
        var i = 0
        while i < u.count {
            let c = u[i]
            i += 1
            if escaped {
                if quote == 0x22 && c != 0x22 && c != 0x5C { current.append(0x5C) }
                current.append(c)
                escaped = false
                continue
            }
            if quote == 0x27 {
                if c == 0x27 { quote = 0 } else { current.append(c) }
                continue
            }
            if quote == 0x22 {
                if c == 0x22 { quote = 0 } else if c == 0x5C { escaped = true } else { current.append(c) }
                continue
            }
            switch c {
            case 0x20, 0x09:
                if inWord { words.append(String(decoding: current, as: UTF8.self)); current = []; inWord = false }
            case 0x27, 0x22:
                quote = c
                inWord = true
            case 0x5C:
                escaped = true
                inWord = true
            default:
                current.append(c)
                inWord = true
            }
        }
        if quote != 0 { throw .invalid("unclosed quote") }
        if escaped { throw .invalid("a backslash ends the line") }
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }

    /// Python's `re.sub` replacement template in PCRE2's syntax (`${N}`, `${name}`, `$$`), with
    /// suricata-update's exact meaning: it first turns Oinkmaster's `${N}` into `\N` (so `${1}0`
    /// is group 10, as there), then Python reads the template: `\N` and `\NN` are groups,
    /// `\g<N>` / `\g<name>` groups (`\g<0>` the whole match), `\0` and three octal digits
    /// (`\101`) a character, `\a \b \f \n \r \t \v \\` their characters, another letter an
    /// error, any other escaped character stays with its backslash. `\0` is NOT the whole match
    /// (a NUL, as in Python): a modify line written for sed would otherwise silently differ.
    /// A group the FROM pattern does not have is an error here (Python raises it on the first
    /// match, which stops suricata-update); `groups` is FROM's capture count when known, and
    /// `pattern` (FROM) checks `\g<name>` against its group names: an unknown name would make
    /// PCRE2 refuse every substitution, leaving every rule unmodified.
    static func pcreReplacement(_ text: String, groups: Int? = nil, pattern: [UInt8]? = nil) throws(RuleError) -> [UInt8] {
        let u = oinkmasterGroups(Array(text.utf8))
        var out: [UInt8] = []
        var i = 0
        func isOctal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        while i < u.count {
            let c = u[i]
            if c == 0x24 { out += [0x24, 0x24]; i += 1; continue }
            guard c == 0x5C else { out.append(c); i += 1; continue }
            guard i + 1 < u.count else { throw .invalid("modify: TO ends with a backslash") }
            let n = u[i + 1]
            if n == 0x67 {  // \g<...>
                guard i + 2 < u.count, u[i + 2] == 0x3C, let close = u[(i + 3)...].firstIndex(of: 0x3E), close > i + 3 else {
                    throw .invalid("modify: bad group reference in TO")
                }
                let name = u[(i + 3) ..< close]
                if name.allSatisfy(isDigit) {
                    try checkGroup(Int(String(decoding: name, as: UTF8.self)) ?? Int.max, groups)
                } else if !name.allSatisfy({ $0 == 0x5F || isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }) || isDigit(name.first!) {
                    throw .invalid("modify: bad group name in TO")
                } else if let p = pattern, Regex.groupNumber(pattern: p, name: Array(name)) == nil {
                    throw .invalid("modify: TO refers to group '\(String(decoding: name, as: UTF8.self).prefix(80))' but FROM has no group of that name")
                }
                out += Array("${".utf8) + name + [0x7D]
                i = close + 1
            } else if n == 0x30 {  // \0, \0o, \0oo: a character
                var j = i + 2, value = 0
                while j < u.count, j < i + 4, isOctal(u[j]) { value = value * 8 + Int(u[j] - 0x30); j += 1 }
                appendCharacter(value, to: &out)
                i = j
            } else if isDigit(n) {
                if i + 2 < u.count, isDigit(u[i + 2]) {
                    if isOctal(n), isOctal(u[i + 2]), i + 3 < u.count, isOctal(u[i + 3]) {
                        let value = Int(n - 0x30) * 64 + Int(u[i + 2] - 0x30) * 8 + Int(u[i + 3] - 0x30)
                        guard value <= 0o377 else { throw .invalid("modify: octal escape out of range in TO") }
                        appendCharacter(value, to: &out)
                        i += 4
                        continue
                    }
                    try checkGroup(Int(n - 0x30) * 10 + Int(u[i + 2] - 0x30), groups)
                    out += Array("${".utf8) + [n, u[i + 2], 0x7D]
                    i += 3
                } else {
                    try checkGroup(Int(n - 0x30), groups)
                    out += Array("${".utf8) + [n, 0x7D]
                    i += 2
                }
            } else {
                switch n {
                case 0x5C: out.append(0x5C)
                case 0x61: out.append(0x07)  // \a
                case 0x62: out.append(0x08)  // \b
                case 0x66: out.append(0x0C)  // \f
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x76: out.append(0x0B)  // \v
                default:
                    if (n >= 0x41 && n <= 0x5A) || (n >= 0x61 && n <= 0x7A) {
                        throw .invalid("modify: bad escape '\\\(Character(UnicodeScalar(n)))' in TO")
                    }
                    // PCRE2 (without the extended syntax) keeps a backslash literally, as Python does here.
                    out += [0x5C, n]
                }
                i += 2
            }
        }
        return out
    }

    /// suricata-update's first step on TO: `${N}` (any number of digits) becomes `\N`.
    /// Linear: after `${` only digits are read and `}` must follow them at once (searching the
    /// rest of TO for `}` at every `${` made a 64 KB hostile TO take 43 s).
    static func oinkmasterGroups(_ u: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if u[i] == 0x24, i + 1 < u.count, u[i + 1] == 0x7B {
                var j = i + 2
                while j < u.count, u[j] >= 0x30 && u[j] <= 0x39 { j += 1 }
                if j > i + 2, j < u.count, u[j] == 0x7D {
                    out.append(0x5C)
                    out += u[(i + 2) ..< j]
                    i = j + 1
                    continue
                }
            }
            out.append(u[i])
            i += 1
        }
        return out
    }

    static func checkGroup(_ n: Int, _ groups: Int?) throws(RuleError) {
        if let g = groups, n > g { throw .invalid("modify: TO refers to group \(n) but FROM has \(g)") }
    }

    /// A character given by its code (at most 0o377), UTF-8 encoded as Python writes it; `$`
    /// doubled for PCRE2.
    static func appendCharacter(_ value: Int, to out: inout [UInt8]) {
        if value == 0x24 { out += [0x24, 0x24]; return }
        out += Array(String(Character(UnicodeScalar(UInt8(value & 0xFF)))).utf8)
    }

    // MARK: Applying them

    /// What the filters decided for one rule.
    struct Outcome {
        /// nil: the rule is not loaded (disabled, or commented out and not enabled).
        var text: String?
        /// The text before modify.conf ran (the rule loaded when a modification breaks it).
        var unmodified: String?
        /// For a rule left out (disabled or commented out): its text after modify.conf and
        /// without the drop rewrite, kept when it sets a flowbit (flowbit resolution may load it).
        var parked: String?
        var parkedUnmodified: String?
        var disabled = false
        var enabled = false
        var dropped = false
        var modified = false
        /// modify.conf lines whose substitution failed on this rule (`file:line: why`): the
        /// rule went on without that change.
        var modifyFailures: [String] = []
    }

    /// Applies the filters to one rule. `enabled` is false for a commented-out rule; `file` is
    /// the rule file's name as given (group and filename matchers).
    func apply(rule: Substring, enabled wasEnabled: Bool, file: String) -> Outcome {
        var out = Outcome()
        guard rule.utf8.count <= Self.maxRuleBytes else {
            out.text = wasEnabled ? String(rule) : nil
            return out
        }
        let facts = RuleFacts(rule, metadata: needsMetadata)
        var on = wasEnabled
        if on {
            for m in disable where matches(m, rule: rule, facts: facts, file: file) {
                on = false
                out.disabled = true
                break
            }
        }
        if !on {
            for m in enable where matches(m, rule: rule, facts: facts, file: file) {
                on = true
                out.enabled = true
                break
            }
        }
        var text = String(rule)
        if on && facts.action == "alert" && !facts.noalert {
            for m in drop where matches(m, rule: rule, facts: facts, file: file) {
                text = "drop" + String(Substring(rule.trimmingSpaces.utf8.dropFirst(5)))
                out.dropped = true
                break
            }
        }
        if !modify.isEmpty {
            let before = text
            // suricata-update runs FROM on `rule.format()`: a left-out rule's text with "# " in
            // front. So `^alert` (the Oinkmaster idiom for a drop) never matches a disabled or
            // vendor-commented rule, and flowbit resolution cannot bring it back as a block.
            var work = on ? text : "# " + text
            for f in modify {
                // Matchers see the rule without its comment mark (suricata-update's rule.raw).
                let current = RuleParser.commentedRule(Substring(work)) ?? Substring(work)
                guard matches(f.matcher, rule: current, facts: RuleFacts(current, metadata: needsMetadata), file: file) else { continue }
                let changed: [UInt8]
                do {
                    changed = try Regex.substituteAll(pattern: f.pattern, in: Array(work.utf8), replacement: f.replacement,
                                                      maxOutput: Self.maxRuleBytes)
                } catch {
                    // Never silent: the rule goes on without this line's change, and says so.
                    out.modifyFailures.append("\(f.origin): \(error.message)")
                    continue
                }
                let s = String(decoding: changed, as: UTF8.self)
                // A left-out rule whose changed text is no commented-out rule any more keeps its
                // text: a comment that is no rule is what suricata-update's parse refuses (it
                // keeps the rule as it was); a FROM that takes the "# " away would enable the
                // rule there, but commented-out rules reach modify.conf here only when they
                // mention flowbits, so that is refused too (enable.conf enables rules).
                if !on, Substring(s).trimmingSpaces.utf8.first != 0x23 || RuleParser.commentedRule(Substring(s)) == nil {
                    out.modifyFailures.append("\(f.origin): the change leaves no commented-out rule (enable.conf enables rules)")
                    continue
                }
                if s != work { work = s; out.modified = true }
            }
            text = on ? work : RuleParser.commentedRule(Substring(work)).map(String.init) ?? text
            if out.modified { out.unmodified = before }
        }
        if on {
            out.text = text
        } else {
            // Left out: kept only for flowbit resolution (RuleParser), never as a drop.
            out.parked = text
            out.parkedUnmodified = out.unmodified
            out.unmodified = nil
            out.modified = false
        }
        return out
    }

    /// Whether a metadata matcher is present (the pairs are read only then).
    var needsMetadata: Bool {
        func has(_ ms: [Matcher]) -> Bool { ms.contains { if case .metadata = $0 { return true } else { return false } } }
        return has(disable) || has(enable) || has(drop) || modify.contains { if case .metadata = $0.matcher { return true } else { return false } }
    }

    func matches(_ m: Matcher, rule: Substring, facts: RuleFacts, file: String) -> Bool {
        switch m {
        case .all: return true
        case .ids(let list):
            guard let sid = facts.sid else { return false }
            return list.contains { $0.0 == facts.gid && $0.1 == sid && ($0.2 == nil || $0.2 == facts.rev) }
        case .regex(let r):
            return Array(rule.utf8).withByteView { r.matches($0) }
        case .filename(let glob):
            return Glob.matches(glob, file)
        case .group(let glob):
            let base = file.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? file
            if Glob.matches(glob, base) { return true }
            if let dot = base.lastIndex(of: "."), dot != base.startIndex {
                return Glob.matches(glob, String(base[..<dot]))
            }
            return false
        case .metadata(let key, let value):
            return facts.metadata.contains { $0.0 == key && $0.1 == value }
        }
    }
}

/// Counts of what the filters did to a load (`utmctl rules check` prints them).
public struct RuleFilterCounts: Sendable, Equatable {
    public var disabled = 0
    public var enabled = 0
    public var dropped = 0
    public var modified = 0
    /// Modifications that broke their rule: the rule loaded unmodified.
    public var modifyFailed = 0
    /// Rules left out (disabled, or commented out in the rule file) loaded again as `noalert`
    /// because they set a flowbit that a loaded rule checks (suricata-update's flowbit resolution).
    public var flowbitEnabled = 0
    public init() {}
}

/// The few facts of a rule the matchers need, read from its text without parsing it: the
/// action word, gid/sid/rev, metadata pairs (only when a metadata matcher needs them), and
/// whether it is `noalert`. One pass over the rule's bytes: splitting the options as the parser
/// does made the filters cost more than the parse itself on ET (0.9 s against 0.6 s).
struct RuleFacts {
    var action: Substring = ""
    var gid: UInt32 = 1
    var sid: UInt32?
    var rev: UInt32?
    var metadata: [(String, String)] = []
    var noalert = false
    /// Flowbit names set, set with an expiry, unset or toggled (suricata-update's "setters"),
    /// read only when asked for.
    var flowbitSetters: [String] = []
    /// Flowbit names checked by isset/isnotset (its "getters"); `a|b` and `a&b` give both names.
    var flowbitGetters: [String] = []

    init(_ rule: Substring, metadata wantMetadata: Bool = true, flowbits wantFlowbits: Bool = false) {
        let t = rule.trimmingSpaces
        let b = Array(t.utf8)
        var w = 0
        while w < b.count, b[w] != 0x20, b[w] != 0x09, b[w] != 0x28 { w += 1 }
        action = Substring(t.utf8.prefix(w))
        guard let open = b.firstIndex(of: 0x28), let close = b.lastIndex(of: 0x29), open < close else { return }
        var i = open + 1
        while i < close {
            while i < close, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            let nameStart = i
            while i < close, b[i] != 0x3A, b[i] != 0x3B { i += 1 }
            var nameEnd = i
            while nameEnd > nameStart, b[nameEnd - 1] == 0x20 || b[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            var valueStart = i, valueEnd = i
            if i < close, b[i] == 0x3A {
                i += 1
                valueStart = i
                // The value ends at a `;` not escaped by a backslash (RuleParser.splitOptions).
                var escaped = false
                while i < close {
                    if escaped { escaped = false } else if b[i] == 0x5C { escaped = true } else if b[i] == 0x3B { break }
                    i += 1
                }
                valueEnd = i
            }
            i += 1
            while valueStart < valueEnd, b[valueStart] == 0x20 || b[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, b[valueEnd - 1] == 0x20 || b[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let name = b[nameStart ..< nameEnd], value = b[valueStart ..< valueEnd]
            if Self.equal(name, "sid") {
                sid = Self.number(value)
            } else if Self.equal(name, "gid") {
                gid = Self.number(value) ?? 1
            } else if Self.equal(name, "rev") {
                rev = Self.number(value)
            } else if Self.equal(name, "noalert") {
                noalert = true
            } else if Self.equal(name, "flowbits") || Self.equal(name, "xbits") {
                var e = value.startIndex
                while e < value.endIndex, value[e] != 0x2C, value[e] != 0x20 { e += 1 }
                if Self.equal(value[value.startIndex ..< e], "noalert") { noalert = true }
                if wantFlowbits && Self.equal(name, "flowbits") { readFlowbit(value) }
            } else if wantMetadata && Self.equal(name, "metadata") {
                for entry in Substring(String(decoding: value, as: UTF8.self)).splitASCII(0x2C) {
                    guard let space = entry.utf8.firstIndex(where: { $0 == 0x20 || $0 == 0x09 }) else { continue }
                    metadata.append((Substring(entry.utf8[..<space]).lowercased(),
                                     Substring(entry.utf8[space...]).trimmingSpaces.lowercased()))
                }
            }
        }
    }

    /// `OP,NAME`: the name goes to the setters or the getters, as suricata-update's
    /// FlowbitResolver sorts them (setters: set, setx, unset, toggle; getters: isset, isnotset).
    /// Unlike it, a getter's `a|b` / `a&b` (Suricata 7's OR/AND forms) names both bits: the
    /// whole string is no bit any rule sets, so suricata-update would resolve nothing for it.
    mutating func readFlowbit(_ value: ArraySlice<UInt8>) {
        guard let comma = value.firstIndex(of: 0x2C) else { return }
        var opEnd = comma
        while opEnd > value.startIndex, value[opEnd - 1] == 0x20 || value[opEnd - 1] == 0x09 { opEnd -= 1 }
        let op = value[value.startIndex ..< opEnd]
        let names = Substring(String(decoding: value[(comma + 1)...], as: UTF8.self)).trimmingSpaces
        guard !names.isEmpty else { return }
        if Self.equal(op, "set") || Self.equal(op, "setx") || Self.equal(op, "unset") || Self.equal(op, "toggle") {
            // setx (Suricata 8) carries an expiry after a second comma.
            let name = names.split(separator: ",", maxSplits: 1).first.map { String($0.trimmingSpaces) } ?? ""
            if !name.isEmpty { flowbitSetters.append(name) }
        } else if Self.equal(op, "isset") || Self.equal(op, "isnotset") {
            for n in names.split(whereSeparator: { $0 == "|" || $0 == "&" }) {
                let t = String(n.trimmingSpaces)
                if !t.isEmpty { flowbitGetters.append(t) }
            }
        }
    }

    /// ASCII case-insensitive comparison with a lower-case keyword.
    static func equal(_ bytes: ArraySlice<UInt8>, _ keyword: String) -> Bool {
        guard bytes.count == keyword.utf8.count else { return false }
        for (c, k) in zip(bytes, keyword.utf8) where (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) != k { return false }
        return true
    }

    /// A decimal UInt32, or nil.
    static func number(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        guard !bytes.isEmpty, bytes.count <= 10 else { return nil }
        var v: UInt64 = 0
        for c in bytes {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v <= UInt64(UInt32.max) ? UInt32(v) : nil
    }
}

/// fnmatch-style globs (`*`, `?`, `[abc]`, `[!a-z]`), as Python's fnmatch on POSIX (case-sensitive).
/// Iterative with one star backtrack point: linear-ish time on hostile names.
enum Glob {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(name.utf8)
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                let c = p[pi]
                if c == 0x2A {
                    starP = pi
                    starS = si
                    pi += 1
                    continue
                }
                if c == 0x3F {
                    pi += 1; si += 1
                    continue
                }
                if c == 0x5B, let (ok, next) = bracket(p, pi, s[si]) {
                    if ok { pi = next; si += 1; continue }
                } else if c == s[si] {
                    pi += 1; si += 1
                    continue
                }
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count && p[pi] == 0x2A { pi += 1 }
        return pi == p.count
    }

    /// A `[...]` set at `at`: whether `c` is in it and the index after it, or nil when the
    /// bracket is not closed (then `[` is a literal, as in fnmatch).
    static func bracket(_ p: [UInt8], _ at: Int, _ c: UInt8) -> (Bool, Int)? {
        var i = at + 1
        var negate = false
        if i < p.count && p[i] == 0x21 { negate = true; i += 1 }
        var found = false
        var first = true
        while i < p.count {
            if p[i] == 0x5D && !first { return (found != negate, i + 1) }
            first = false
            if i + 2 < p.count && p[i + 1] == 0x2D && p[i + 2] != 0x5D {
                if c >= p[i] && c <= p[i + 2] { found = true }
                i += 3
            } else {
                if c == p[i] { found = true }
                i += 1
            }
        }
        return nil
    }
}
