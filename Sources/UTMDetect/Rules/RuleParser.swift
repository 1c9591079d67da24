/// What a load did: how many rules were enabled, how many loaded, and why the others did not.
public struct RuleLoadReport: Sendable {
    /// Non-comment rule lines seen (Suricata's "rules loaded" denominator).
    public var enabledRules = 0
    public var loaded = 0
    /// Unsupported keyword (or protocol) → number of rules skipped because of it.
    public var unsupportedKeywords: [String: Int] = [:]
    /// Malformed and invalid rules, each with file and line.
    public var errors: [RuleError] = []
    /// Rules skipped for an unsupported keyword, each with file and line.
    public var skipped: [RuleError] = []
    /// Rules left out because their `requires` is not met (DetectRequires.swift): silent in
    /// Suricata, so neither an error nor an unsupported keyword; each with file and line.
    public var unmetRequirements: [RuleError] = []
    /// Non-fatal notes (duplicate sid replaced, flowbit checked but never set...).
    public var warnings: [String] = []
    /// What the rule filter files (disable/enable/drop/modify.conf) did, when some were given.
    public var filtered = RuleFilterCounts()

    public init() {}

    public var malformedCount: Int { errors.filter { $0.kind == .malformed }.count }
    public var invalidCount: Int { errors.filter { $0.kind == .invalid }.count }
}

/// A loaded rule set: the signatures in file order and the interned flowbit names.
public struct RuleSet: Sendable {
    public var signatures: [Signature]
    public var flowbitNames: FlowbitNames
    public var report: RuleLoadReport
}

/// Parses Suricata rule text into `Signature`s.
///
/// Entry points: `parseRule(_:)` for one rule, `load(text:file:)` for a whole file (one rule per
/// line, `\` continues a line, `#` comments), then `finish()`. A rule that cannot be loaded is
/// recorded in the report and skipped; loading never stops.
public struct RuleParser: Sendable {
    public var header: HeaderParser
    public var classifications: ClassificationTable
    /// suricata-update's filter files, applied to each rule line before it is parsed
    /// (RuleFilters.swift). Set before `load`.
    public var filters: RuleFilters?
    /// The datasets the rules declare (`dataset`, `datarep`); their list files are read with
    /// `fileReader`.
    public var datasets = DatasetRegistry()
    private var flowbitNames = FlowbitNames()
    private var signatures: [Signature] = []
    private var bySid: [UInt64: Int] = [:]
    private var report = RuleLoadReport()
    /// Rules the filters left out that set a flowbit, and the flowbits the kept rules check:
    /// `finish()` loads the setters of checked bits again (flowbit resolution, RuleFilters).
    private var parkedSetters: [ParkedRule] = []
    private var checkedFlowbits: Set<String> = []
    /// Reads the files rules name beside them (RuleListFile.swift): dataset lists (`load`,
    /// `state`) and the hash lists of `filemd5:FILE` & co. The loader sets it (utmctl, utmd read
    /// files; UTMDetect does no I/O). Nil: hash list rules are skipped with the reason, a
    /// dataset `load` fails.
    public var fileReader: RuleFileReader?
    /// Lists loaded so far, shared by the rules that name them.
    private let hashLists = FileHashListCache()
    /// The file of the rule being parsed (`parseRule(_:file:line:)`): dataset `load` paths and
    /// hash lists are resolved against its folder.
    private var currentFile = ""

    /// A left-out rule that sets a flowbit: its text (after modify.conf), the text before
    /// modify.conf (when a modification applied) and what it sets and checks.
    struct ParkedRule {
        var text: String
        var unmodified: String?
        var file: String
        var line: Int
        var setters: [String]
        var getters: [String]
        /// modify.conf lines that failed on it, reported if it is loaded.
        var modifyFailures: [String]
    }

    public init(variables: RuleVariables = .suricataDefaults, classifications: ClassificationTable = .standard) {
        header = HeaderParser(variables: variables)
        self.classifications = classifications
    }

    /// Parses one rule (no comment, no continuation). Throws why it cannot load.
    public mutating func parseRule(_ text: Substring, file: String = "", line: Int = 0) throws(RuleError) -> Signature {
        currentFile = file
        do {
            var sig = try parseUnlocated(text)
            sig.file = file
            sig.line = line
            return sig
        } catch {
            var e = error
            e.file = file
            e.line = line
            throw e
        }
    }

    public mutating func parseRule(_ text: String, file: String = "", line: Int = 0) throws(RuleError) -> Signature {
        try parseRule(Substring(text), file: file, line: line)
    }

    private mutating func parseUnlocated(_ raw: Substring) throws(RuleError) -> Signature {
        let text = raw.trimmingSpaces
        guard let open = text.utf8.firstIndex(of: 0x28) else { throw .malformed("no '(' starting the options") }
        guard let close = text.utf8.lastIndex(of: 0x29), close > open else { throw .malformed("no ')' closing the options") }
        guard Substring(text.utf8[text.utf8.index(after: close)...]).trimmingSpaces.isEmpty else {
            throw .malformed("text after the closing ')'")
        }
        // Suricata's pre-scan: a rule for another engine version or feature set is left out
        // before anything else in it is parsed (it may use keywords we do not know).
        let options = Self.splitOptions(Substring(text.utf8[text.utf8.index(after: open) ..< close]))
        for option in options where option.hasPrefix("requires") {
            guard let colon = option.utf8.firstIndex(of: 0x3A),
                  Substring(option.utf8[..<colon]).trimmingSpaces == "requires" else { continue }
            let value = Substring(option.utf8[option.utf8.index(after: colon)...]).trimmingSpaces
            if !(try DetectRequires.met(value)) { throw RuleError(.unmetRequirement, "requires: \(value)") }
        }
        let words = try headerWords(text[..<open])
        guard words.count == 7 else {
            throw .malformed("header has \(words.count) fields, expected 7 (action proto src sport dir dst dport)")
        }
        let action = try header.action(words[0])
        let proto = try header.proto(words[1])
        let bidirectional: Bool
        switch words[4] {
        case "->": bidirectional = false
        case "<>": bidirectional = true
        default: throw .malformed("bad direction '\(words[4])' (expected -> or <>)")
        }
        let src = try header.addresses(words[2])
        let sp = try header.ports(words[3])
        let dst = try header.addresses(words[5])
        let dp = try header.ports(words[6])
        var builder = SignatureBuilder(
            signature: Signature(action: action, proto: proto, source: src, sourcePorts: sp,
                                 destination: dst, destinationPorts: dp, bidirectional: bidirectional),
            classifications: classifications, flowbitNames: flowbitNames)
        builder.datasets = datasets
        builder.ruleFile = currentFile
        builder.fileReader = fileReader
        builder.hashLists = hashLists
        let table = KeywordRegistry.table
        for option in options {
            let name: Substring, value: Substring?
            if let colon = option.utf8.firstIndex(of: 0x3A) {
                name = Substring(option.utf8[..<colon]).trimmingSpaces
                value = Substring(option.utf8[option.utf8.index(after: colon)...]).trimmingSpaces
            } else {
                name = option
                value = nil
            }
            var key = String(name)
            var found = table[key]
            if found == nil {
                key = key.lowercased()
                found = table[key]
            }
            guard let entry = found else {
                if key.isEmpty || key.contains(where: { $0 == " " || $0 == "\"" || $0 == "(" }) {
                    throw .malformed("bad option '\(option.prefix(60))'")
                }
                throw .unsupported(key, "unknown keyword")
            }
            switch entry {
            case .parse(let parser): try parser(&builder, value)
            case .unsupported(let why): throw .unsupported(key, why)
            case .ignored: break
            }
        }
        let sig = try builder.finish()
        // bsize/urilen bounds against the contents of each list (transformed lists too).
        for list in sig.lists { try DetectBsize.validate(list.buffer, list.elements) }
        try DetectFileSupport.validate(sig)
        try DetectDCERPCIface.validate(sig)
        flowbitNames = builder.flowbitNames
        datasets = builder.datasets
        return sig
    }

    /// Header fields split on blanks outside `[...]`.
    private func headerWords(_ h: Substring) throws(RuleError) -> [Substring] {
        var out: [Substring] = []
        var depth = 0
        let u = h.utf8
        var start: Substring.UTF8View.Index?
        var i = u.startIndex
        while i < u.endIndex {
            let c = u[i]
            if c == 0x5B { depth += 1 } else if c == 0x5D { depth -= 1 }
            if (c == 0x20 || c == 0x09) && depth <= 0 {
                if let s = start { out.append(Substring(u[s ..< i])); start = nil }
            } else if start == nil {
                start = i
            }
            i = u.index(after: i)
        }
        if let s = start { out.append(Substring(u[s...])) }
        guard depth == 0 else { throw .malformed("unbalanced brackets in the header") }
        return out
    }

    /// Options split at each `;` not escaped by a backslash (Suricata ignores quotes here too).
    static func splitOptions(_ body: Substring) -> [Substring] {
        var out: [Substring] = []
        let u = body.utf8
        var start = u.startIndex
        var i = u.startIndex
        var escaped = false
        while i < u.endIndex {
            let c = u[i]
            if escaped {
                escaped = false
            } else if c == 0x5C {
                escaped = true
            } else if c == 0x3B {
                let o = Substring(u[start ..< i]).trimmingSpaces
                if !o.isEmpty { out.append(o) }
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        let tail = Substring(u[start...]).trimmingSpaces
        if !tail.isEmpty { out.append(tail) }
        return out
    }

    // MARK: Files

    /// Loads every rule in `text`; `file` names it in reports.
    public mutating func load(text: String, file: String) {
        var lineNumber = 0
        var pending = ""
        var pendingLine = 0
        text.withUTF8Lines { rawLine in
            lineNumber += 1
            var line = Substring(rawLine)
            if line.utf8.last == 0x0D { line = Substring(line.utf8.dropLast()) }
            if pending.isEmpty {
                let t = line.trimmingSpaces
                if t.isEmpty { return }
                if t.utf8.first == 0x23 {
                    // A commented-out rule is loaded only when enable.conf names it, or (as a
                    // noalert flowbit setter) when flowbit resolution needs it: only rules that
                    // mention flowbits are looked at for the latter.
                    if let f = filters, !f.isEmpty, let rule = Self.commentedRule(t),
                       !f.enable.isEmpty || Self.mentionsFlowbits(rule) {
                        loadFiltered(rule, enabled: false, filters: f, file: file, line: lineNumber)
                    }
                    return
                }
                pendingLine = lineNumber
            }
            if line.utf8.last == 0x5C {
                pending += Substring(line.utf8.dropLast())
                return
            }
            if pending.isEmpty {
                loadEnabled(line, file: file, line: pendingLine)
                return
            }
            pending += line
            let rule = pending
            pending = ""
            loadEnabled(Substring(rule), file: file, line: pendingLine)
        }
        if !pending.isEmpty { loadEnabled(Substring(pending), file: file, line: pendingLine) }
    }

    /// The rule in a comment line (`# alert ...`, `## drop ...`), or nil when the comment is not
    /// a rule: suricata-update's test is an action word followed by a header and `(...)`.
    static func commentedRule(_ comment: Substring) -> Substring? {
        let t = comment.drop { $0 == "#" || $0 == " " || $0 == "\t" }
        let word = t.prefix { $0 != " " && $0 != "\t" }
        switch word {
        case "alert", "drop", "pass", "reject", "rejectsrc", "rejectdst", "rejectboth": break
        default: return nil
        }
        guard t.utf8.contains(0x28), t.trimmingSpaces.utf8.last == 0x29 else { return nil }
        return t
    }

    /// Whether a left-out rule is one the vendor deleted: from a `*deleted.rules` file, or
    /// named `ET DELETED` (where ET's merged emerging-all.rules keeps them). Flowbit resolution
    /// never brings these back: suricata-update ignores `*deleted.rules` by default (its
    /// `--ignore`), so its resolution never sees them; on ET 2019's merged file they were 150
    /// of the 188 setters it re-enabled. enable.conf can still name one.
    static func isDeleted(_ rule: Substring, file: String) -> Bool {
        let base = file.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? file
        if Glob.matches("*deleted.rules", base) { return true }
        // `"ET DELETED ` right after `msg:` (blanks allowed between).
        let key = Array("\"ET DELETED ".utf8), msg = Array("msg:".utf8)
        let u = Array(rule.utf8)
        var i = 0
        while i + key.count <= u.count {
            if u[i] == 0x22, u[i ..< i + key.count].elementsEqual(key) {
                var j = i
                while j > 0, u[j - 1] == 0x20 || u[j - 1] == 0x09 { j -= 1 }
                if j >= msg.count, u[(j - msg.count) ..< j].elementsEqual(msg) { return true }
            }
            i += 1
        }
        return false
    }

    /// Whether the text holds "flowbits" (ASCII case-insensitive): a cheap test before reading
    /// a rule's flowbits for resolution.
    static func mentionsFlowbits(_ rule: Substring) -> Bool {
        let key = Array("flowbits".utf8)
        let u = Array(rule.utf8)
        guard u.count >= key.count else { return false }
        var i = 0
        while i + key.count <= u.count {
            if u[i] | 0x20 == 0x66 {
                var k = 1
                while k < key.count, u[i + k] | 0x20 == key[k] { k += 1 }
                if k == key.count { return true }
            }
            i += 1
        }
        return false
    }

    private mutating func loadEnabled(_ rule: Substring, file: String, line: Int) {
        if let f = filters, !f.isEmpty {
            loadFiltered(rule, enabled: true, filters: f, file: file, line: line)
        } else {
            loadOne(rule, file: file, line: line)
        }
    }

    /// Runs the filters on one rule, counts what they did and loads the result. A modification
    /// that makes the rule unloadable is a warning naming file:line and the sid, and the rule
    /// loads as it was before modify.conf (suricata-update keeps the original rule too).
    private mutating func loadFiltered(_ rule: Substring, enabled: Bool, filters f: RuleFilters, file: String, line: Int) {
        let out = f.apply(rule: rule, enabled: enabled, file: file)
        guard let text = out.text else {
            if out.disabled { report.filtered.disabled += 1 }
            if let parked = out.parked, Self.mentionsFlowbits(Substring(parked)), !Self.isDeleted(Substring(parked), file: file) {
                let facts = RuleFacts(Substring(parked), metadata: false, flowbits: true)
                if !facts.flowbitSetters.isEmpty {
                    parkedSetters.append(ParkedRule(text: parked, unmodified: out.parkedUnmodified, file: file, line: line,
                                                    setters: facts.flowbitSetters, getters: facts.flowbitGetters,
                                                    modifyFailures: out.modifyFailures))
                }
            }
            return
        }
        if out.disabled { report.filtered.disabled += 1 }
        if out.enabled { report.filtered.enabled += 1 }
        if out.dropped { report.filtered.dropped += 1 }
        reportModifyFailures(out.modifyFailures, rule: text, file: file, line: line)
        // Only a rule that loads checks anything: a checker skipped (unsupported keyword, bad
        // option) must not bring back a setter the user disabled.
        guard let loadedText = loadModified(text, unmodified: out.modified ? out.unmodified : nil, file: file, line: line) else { return }
        if Self.mentionsFlowbits(Substring(loadedText)) {
            checkedFlowbits.formUnion(RuleFacts(Substring(loadedText), metadata: false, flowbits: true).flowbitGetters)
        }
    }

    /// modify.conf substitutions that failed on a rule being loaded: one warning per rule naming
    /// the modify.conf lines, counted as failed modifications (the rule loads without them).
    private mutating func reportModifyFailures(_ failures: [String], rule: String, file: String, line: Int) {
        guard !failures.isEmpty else { return }
        let sid = RuleFacts(Substring(rule), metadata: false).sid.map { "\($0)" } ?? "?"
        report.warnings.append("\(file):\(line): sid \(sid): modify.conf substitution failed (\(failures.joined(separator: "; "))); loaded without that change")
        report.filtered.modifyFailed += 1
    }

    /// Loads `text`; when modify.conf changed it (`unmodified` is the text before) and the
    /// change makes it unloadable, warns and loads the unmodified text instead. Returns the text
    /// that loaded, or nil when the rule did not load.
    @discardableResult
    private mutating func loadModified(_ text: String, unmodified: String?, file: String, line: Int) -> String? {
        if let original = unmodified {
            var probe = self
            do {
                _ = try probe.parseRule(Substring(text), file: file, line: line)
                report.filtered.modified += 1
                return loadOne(Substring(text), file: file, line: line) ? text : nil
            } catch {
                // A rule that does not load without the modification either is the rule's
                // own fault: report it as such.
                if (try? probe.parseRule(Substring(original), file: file, line: line)) == nil {
                    report.filtered.modified += 1
                    return loadOne(Substring(text), file: file, line: line) ? text : nil
                }
                let sid = RuleFacts(Substring(original)).sid.map { "\($0)" } ?? "?"
                report.warnings.append("\(file):\(line): sid \(sid): modify.conf makes the rule unloadable (\(error.message)); loaded unmodified")
                report.filtered.modifyFailed += 1
                return loadOne(Substring(original), file: file, line: line) ? original : nil
            }
        }
        return loadOne(Substring(text), file: file, line: line) ? text : nil
    }

    /// suricata-update's flowbit resolution: when a loaded rule checks a flowbit (isset,
    /// isnotset) that a left-out rule sets, unsets or toggles, that rule is loaded again with
    /// `noalert` (it keeps the flow state the checking rule needs, and says nothing itself),
    /// and what it checks is resolved in turn. As suricata-update, this holds even when a
    /// loaded rule sets the bit too. Why: a disable.conf line (or ET's own
    /// commenting-out) that removes a setter otherwise silently blinds every rule depending on
    /// it. A re-enabled rule always loads as `alert` (`reenabled`): never a silent block or
    /// pass. Only checkers that loaded count (`checkedFlowbits`), a setter counts when it
    /// loads, vendor-deleted rules are never parked (`isDeleted`). A setter whose gid:sid is
    /// already loaded is not loaded twice.
    private mutating func resolveFlowbits() {
        // Setter name -> parked rules, and a work list of names some loaded rule checks: each
        // parked rule and each name is visited once, so a hostile file of long setter chains
        // costs linear time, not a pass per link (suricata-update's loop reaches the same set).
        var bySetter: [String: [Int]] = [:]
        for (i, r) in parkedSetters.enumerated() {
            for name in Set(r.setters) { bySetter[name, default: []].append(i) }
        }
        var queued = checkedFlowbits
        var work = Array(checkedFlowbits).sorted()
        var loaded = [Bool](repeating: false, count: parkedSetters.count)
        while let name = work.popLast() {
            for i in bySetter[name] ?? [] where !loaded[i] {
                loaded[i] = true
                let r = parkedSetters[i]
                let facts = RuleFacts(Substring(r.text), metadata: false)
                if let sid = facts.sid, bySid[UInt64(facts.gid) << 32 | UInt64(sid)] != nil { continue }
                reportModifyFailures(r.modifyFailures, rule: r.text, file: r.file, line: r.line)
                // Counted, and what it checks resolved in turn, only when it loads.
                guard loadModified(Self.reenabled(r.text), unmodified: r.unmodified.map(Self.reenabled),
                                   file: r.file, line: r.line) != nil else { continue }
                report.filtered.flowbitEnabled += 1
                for g in r.getters where !queued.contains(g) {
                    queued.insert(g)
                    work.append(g)
                }
            }
        }
        parkedSetters = []
    }

    /// A left-out rule as flowbit resolution loads it: action `alert` whatever it was (a
    /// disabled local `drop`/`pass`/`reject` rule, or a vendor-commented `# drop`), and
    /// `noalert`. Why: suricata-update keeps the action word, so a drop setter comes back as a
    /// silent block and a pass setter as a silent exception nobody asked for; the rule is
    /// loaded only to keep the flow state a checking rule needs.
    static func reenabled(_ rule: String) -> String {
        let facts = RuleFacts(Substring(rule), metadata: false)
        var text = rule
        if facts.action != "alert" {
            let t = Substring(rule).trimmingSpaces
            text = "alert" + String(Substring(t.utf8.dropFirst(facts.action.utf8.count)))
        }
        return withNoalert(text, already: facts.noalert)
    }

    /// The rule with `flowbits:noalert;` added before its closing `)` (suricata-update adds
    /// `noalert;` before the sid; the flowbits form loads in every Suricata version).
    static func withNoalert(_ rule: String, already: Bool) -> String {
        guard !already, let close = rule.utf8.lastIndex(of: 0x29) else { return rule }
        var head = Substring(rule.utf8[..<close])
        while let c = head.utf8.last, c == 0x20 || c == 0x09 { head = Substring(head.utf8.dropLast()) }
        let sep = head.utf8.last == 0x3B ? " " : "; "
        return String(head) + sep + "flowbits:noalert;)" + String(Substring(rule.utf8[rule.utf8.index(after: close)...]))
    }

    /// Parses and adds one rule; true when it is in the set afterwards (a duplicate sid that
    /// replaced an older rev counts, one that lost does not).
    @discardableResult
    private mutating func loadOne(_ rule: Substring, file: String, line: Int) -> Bool {
        report.enabledRules += 1
        do {
            let sig = try parseRule(rule, file: file, line: line)
            let key = UInt64(sig.gid) << 32 | UInt64(sig.sid)
            if let existing = bySid[key] {
                let old = signatures[existing]
                report.warnings.append("\(file):\(line): duplicate sid \(sig.sid) (also \(old.file):\(old.line)); keeping rev \(max(old.rev, sig.rev))")
                if sig.rev > old.rev { signatures[existing] = sig }
                var e = RuleError.invalid("duplicate signature id \(sig.gid):\(sig.sid)")
                e.file = file; e.line = line
                report.errors.append(e)
                return sig.rev > old.rev
            }
            bySid[key] = signatures.count
            signatures.append(sig)
            report.loaded += 1
            return true
        } catch {
            if case .unsupported(let k) = error.kind {
                report.unsupportedKeywords[k, default: 0] += 1
                report.skipped.append(error)
            } else if error.kind == .unmetRequirement {
                report.unmetRequirements.append(error)
            } else {
                report.errors.append(error)
            }
            return false
        }
    }

    /// The loaded set. Warns about flowbits that are checked but never set by any loaded rule.
    public func finish() -> RuleSet {
        var resolved = self
        if filters.map({ !$0.isEmpty }) ?? false { resolved.resolveFlowbits() }
        return resolved.finishResolved()
    }

    private func finishResolved() -> RuleSet {
        var r = report
        var setBits = Set<UInt16>(), checked = Set<UInt16>()
        for s in signatures {
            for op in s.flowbits {
                switch op.kind {
                case .set, .toggle: setBits.formUnion(op.bits)
                case .isSet: checked.formUnion(op.bits)
                default: break
                }
            }
        }
        for b in checked.subtracting(setBits).sorted() {
            r.warnings.append("flowbit '\(flowbitNames.names[Int(b)])' is checked but never set")
        }
        return RuleSet(signatures: signatures, flowbitNames: flowbitNames, report: r)
    }
}

extension String {
    /// Calls `body` with each line (without its `\n`), without splitting the string up front.
    func withUTF8Lines(_ body: (Substring) -> Void) {
        var start = startIndex
        let u = utf8
        var i = u.startIndex
        while i < u.endIndex {
            if u[i] == 0x0A {
                body(self[start ..< i])
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        if start < endIndex { body(self[start...]) }
    }
}
