// Compiled into the list-file fuzz targets (FuzzDatasetList, FuzzFileHashList; tools/fuzz.sh
// extra_sources). Not a target itself: it has no LLVMFuzzerTestOneInput.
import UTMDetect

/// The list-file targets' input: the first byte picks the list's kind (`Kind.allCases`, the
/// byte modulo their count; the byte is handed back too, for targets that read its high bits),
/// the rest is the file. Nil for an empty input. Why one copy: both targets (and their seeds in
/// `Fuzz/seeds.py`) use this format, so a mutation of the first byte means the same in each.
func listFileInput<Kind: CaseIterable>(_ data: UnsafePointer<UInt8>, _ size: Int,
                                       _: Kind.Type) -> (kind: Kind, control: UInt8, file: [UInt8])? {
    guard size > 0 else { return nil }
    let kinds = Array(Kind.allCases)
    return (kinds[Int(data[0]) % kinds.count], data[0], Array(UnsafeBufferPointer(start: data + 1, count: size - 1)))
}

/// Loads `rule` from a rule file in /r/ with every file it names (dataset lists, hash lists)
/// read as `file`, through the one reader the loaders give (`RuleParser.fileReader`). It must
/// load or fail with a one-line error: errors go to logs and update reports.
@discardableResult
func loadRuleOverList(_ rule: String, _ file: [UInt8]) -> RuleSet {
    var parser = RuleParser()
    parser.fileReader = { _ in file }
    parser.load(text: rule, file: "/r/fuzz.rules")
    let set = parser.finish()
    for e in set.report.errors + set.report.skipped {
        precondition(!e.description.contains("\n"), "a multi-line error")
    }
    return set
}
