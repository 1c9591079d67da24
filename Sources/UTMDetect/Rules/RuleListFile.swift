/// Reads a file a rule names, given its resolved path (`RuleListFile.resolve`): the list of a
/// dataset `load` / `state`, the hash list of `filemd5` / `filesha1` / `filesha256`. Throws why
/// it cannot; that text goes into the rule's one-line error, so it must never carry the file's
/// contents (`readWholeFile`'s errors name the call, the path and errno). UTMDetect does no
/// I/O: the loaders (utmctl, utmd, the update loader) set `RuleParser.fileReader` to
/// `readWholeFile(_:limit:)` with `RuleListFile.maxBytes`; tests serve files from memory.
public typealias RuleFileReader = @Sendable (String) throws -> [UInt8]

/// A file beside the rules (dataset lists, hash lists): where a rule's name for it points and
/// how it is read, one way for both. Why one place: both kinds are named from a rule, resolved
/// against the rule file, may name any readable file (`/etc/shadow`), and must fail with one
/// line that never echoes what they read.
public enum RuleListFile {
    /// Largest list file a loader reads (`readWholeFile(_:limit:)`): well above real lists (a
    /// million SHA-256 lines is 65 MiB), and it keeps a rule naming an endless file
    /// (`load /dev/zero`) from eating the loader's memory.
    public static let maxBytes = 128 << 20

    /// Suricata's rule (DetectLoadCompleteSigPath for hash lists, SetupLoadPath for datasets):
    /// an absolute path as it is, a relative one in the folder of the rule file (the configured
    /// default rule path, Suricata's second try, is that folder for every tool here since they
    /// are given rule file paths). A rule file given without a folder, or no rule file (a rule
    /// parsed alone), resolves in the current directory.
    public static func resolve(_ name: String, ruleFile: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = ruleFile.lastIndex(of: "/") else { return name }
        return String(ruleFile[...slash]) + name
    }

    /// The bytes of `path` through `reader`, or the rule's one-line error
    /// "`what`: cannot read 'PATH': WHY" (no reader: "(no file access here)").
    static func read(_ path: String, with reader: RuleFileReader?, for what: String) throws(RuleError) -> [UInt8] {
        guard let reader else { throw .invalid("\(what): cannot read '\(path)' (no file access here)") }
        do { return try reader(path) } catch { throw .invalid("\(what): cannot read '\(path)': \(error)") }
    }
}
