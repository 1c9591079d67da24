import Glibc
import UTMCore
import UTMDetect
import UTMSystem

/// Loads IPS definitions for replay: rule files are parsed and compiled, a bundle is mapped
/// as it is. Unsupported or malformed rules are warnings with file:line, never fatal.
func loadDefinitions(rules: [String], bundle: String?, actionOrder: ActionOrder = .standard,
                     filters: RuleFilters? = nil) throws -> DetectDefinitions {
    var files: [String] = []
    var bundles: [String] = bundle.map { [$0] } ?? []
    for r in rules {
        if DefinitionsBundle.looksLikeBundle(path: r) { bundles.append(r) } else { files.append(r) }
    }
    if bundles.count > 1 || (!bundles.isEmpty && !files.isEmpty) {
        throw fail("give either rule files or one definitions bundle")
    }
    if let b = bundles.first {
        // The bundle was compiled with its filters; applying others now is impossible.
        if filters != nil { throw fail("--disable/enable/modify/drop-conf need rule files: \(b) is a compiled bundle (give them to 'utmctl defs compile')") }
        do { return try DefinitionsBundle.load(path: b) } catch { throw fail("\(error)") }
    }
    return DetectDefinitions(ruleSet: try parseRuleFiles(files, filters: filters), actionOrder: actionOrder)
}

/// Parses rule files as the engine loads them, printing each rule that did not load.
func parseRuleFiles(_ files: [String], filters: RuleFilters? = nil) throws -> RuleSet {
    var parser = RuleParser()
    parser.filters = filters
    // Dataset lists and filemd5/sha1/sha256 hash lists, resolved beside the rule file.
    parser.fileReader = { try readWholeFile($0, limit: RuleListFile.maxBytes) }
    for file in files {
        let text: String
        do { text = try readTextFile(file) } catch { throw fail("\(error)") }
        parser.load(text: text, file: file)
    }
    let set = parser.finish()
    let r = set.report
    var shown = 0
    for e in r.errors + r.skipped {
        if shown < 50 { writeStandardError("warning: \(e.description)") }
        shown += 1
    }
    if shown > 50 { writeStandardError("warning: ... \(shown - 50) more rules not loaded") }
    if r.enabledRules > 0 && r.loaded < r.enabledRules {
        writeStandardError("warning: loaded \(r.loaded) of \(r.enabledRules) rules")
    }
    if filters != nil {
        for w in r.warnings where w.contains("modify.conf") { writeStandardError("warning: \(w)") }
        writeStandardError("filters: \(r.filtered.summary)")
    }
    return set
}

/// File access for `DefinitionsBundle` (UTMDetect does no I/O). The file is mapped, not read:
/// the decoder copies only what it keeps, and the mapping goes when the load returns, so the
/// bundle is never held in memory twice.
extension DefinitionsBundle {
    static func looksLikeBundle(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        let v = file.bytes
        return (0 ..< magic.count).allSatisfy { v.u8($0) == magic[$0] }
    }

    static func load(path: String) throws -> DetectDefinitions {
        let parts = try decodeMapped(path: path)
        // The mapping is gone here: the definitions are built without the file resident.
        return parts.definitions()
    }

    static func decodeMapped(path: String) throws -> Decoded {
        let file = try MappedFile(path: path)
        file.willNeed()
        return try withExtendedLifetime(file) { try decodeParts(file.bytes, file: path) }
    }
}

func readBinaryFile(_ path: String) throws -> [UInt8] {
    Array(try readTextFileBytes(path))
}

/// `utmctl defs compile --rules FILE... -o BUNDLE`.
func compileIPSBundle(rules: [String], output: String, filters: RuleFilters? = nil) throws {
    let start = MonotonicClock.nanoseconds()
    var sources: [(String, String)] = []
    for f in rules {
        do { sources.append((f, try readTextFile(f))) } catch { throw fail("\(error)") }
    }
    var parser = RuleParser()
    parser.filters = filters
    // Dataset lists and filemd5/sha1/sha256 hash lists, resolved beside the rule file.
    parser.fileReader = { try readWholeFile($0, limit: RuleListFile.maxBytes) }
    for (name, text) in sources { parser.load(text: text, file: name) }
    let set = parser.finish()
    for e in (set.report.errors + set.report.skipped).prefix(50) { writeStandardError("warning: \(e.description)") }
    if filters != nil {
        for w in set.report.warnings where w.contains("modify.conf") { writeStandardError("warning: \(w)") }
        print("filters: \(set.report.filtered.summary)")
    }
    let defs = DetectDefinitions(ruleSet: set)
    let bytes = DefinitionsBundle.encode(sources: sources, definitions: defs)
    do {
        let out = try OutputFile(path: output)
        try out.write(bytes)
        out.close()
    } catch {
        throw fail("\(error)")
    }
    print("loaded \(set.report.loaded) of \(set.report.enabledRules) rules; wrote \(output): \(bytes.count) bytes in \(fmt(MonotonicClock.seconds(since: start))) s")
}

func readTextFileBytes(_ path: String) throws -> [UInt8] {
    try readWholeFile(path)
}
