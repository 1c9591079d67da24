import ArgumentParser
import Glibc
import UTMDetect
import UTMSystem

/// `utmctl rules`: work with Suricata rule files.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Suricata rule files.",
        subcommands: [Check.self]
    )

    /// `utmctl rules check FILE...`: load the files as the engine would and say what loaded.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load rule files and report unsupported keywords and malformed rules.",
            discussion: """
                Prints each unsupported keyword with the number of rules it made us skip, the \
                malformed and invalid rules with file:line, and ends with 'loaded N of M rules' \
                (M counts enabled, i.e. non-comment, rules). Exit status is non-zero only when a \
                file cannot be read.
                """
        )

        @Argument(help: "Rule files.")
        var files: [String]

        @Flag(name: .long, help: "List every skipped rule with its file and line.")
        var verbose = false

        @Option(name: .long, help: "How many malformed/invalid rules to list (default 20; --verbose lists all).")
        var maxErrors = 20

        @OptionGroup var filterOptions: RuleFilterOptions

        func run() throws {
            var parser = RuleParser()
            parser.filters = try filterOptions.load()
            // Dataset lists and filemd5/sha1/sha256 hash lists, resolved beside the rule file.
            parser.fileReader = { try readWholeFile($0, limit: RuleListFile.maxBytes) }
            var parseSeconds = 0.0
            for file in files {
                let text: String
                do { text = try readTextFile(file) } catch { throw fail("\(error)") }
                let start = MonotonicClock.nanoseconds()
                parser.load(text: text, file: file)
                parseSeconds += MonotonicClock.seconds(since: start)
            }
            let set = parser.finish()
            let r = set.report
            if !r.unsupportedKeywords.isEmpty {
                print("unsupported keywords (rules skipped):")
                for (k, n) in r.unsupportedKeywords.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                    print("  \(k): \(n)")
                }
            }
            if verbose { for s in r.skipped { print(s.description) } }
            // Left out silently by Suricata too (`requires`): their own line, not an error.
            if !r.unmetRequirements.isEmpty {
                print("rules for another engine version or feature set (requires, skipped): \(r.unmetRequirements.count)")
                if verbose { for s in r.unmetRequirements { print(s.description) } }
            }
            let limit = verbose ? Int.max : maxErrors
            for e in r.errors.prefix(limit) { print(e.description) }
            if r.errors.count > limit { print("... \(r.errors.count - limit) more") }
            if verbose {
                for w in r.warnings { print("warning: \(w)") }
            } else {
                // A modification that could not be applied is the vendor's bug to see at once.
                for w in r.warnings where w.contains("modify.conf") { print("warning: \(w)") }
            }
            print("malformed rules: \(r.malformedCount), invalid rules: \(r.invalidCount), skipped for unsupported keywords: \(r.skipped.count)")
            print("flowbits: \(set.flowbitNames.count) names; prefilter patterns: \(set.signatures.filter { $0.prefilter != nil }.count); parse time: \(formatSeconds(parseSeconds)) s")
            if parser.filters != nil { print("filters: \(r.filtered.summary)") }
            // Datasets (README "Datasets, session 9"): each set with its type, members and list.
            for d in parser.datasets.all {
                print("dataset \(d.name): type \(d.type.name), members \(d.count)\(d.load.isEmpty ? "" : ", from \(d.load)")")
            }
            print("loaded \(r.loaded) of \(r.enabledRules) rules")
        }
    }
}

private func formatSeconds(_ s: Double) -> String {
    let ms = Int((s * 1000).rounded())
    let frac = ms % 1000
    return "\(ms / 1000).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
}

/// Reads a whole file as UTF-8 (invalid bytes are repaired, as rules are ASCII).
func readTextFile(_ path: String) throws -> String {
    String(decoding: try readWholeFile(path), as: UTF8.self)
}
