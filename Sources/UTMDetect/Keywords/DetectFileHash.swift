/// `filemd5:[!]FILE`, `filesha1:[!]FILE`, `filesha256:[!]FILE`: the complete file's digest is
/// in the list FILE holds (`!`: is not in it, an allow list). FILE is resolved as Suricata's
/// DetectLoadCompleteSigPath does against `default-rule-path`: an absolute path as it is, a
/// relative one against the directory of the rule file being loaded (where suricata-update
/// and our loaders keep the rules and their lists). The list is read once per path and kind
/// (`FileHashListCache`), parsed into a sorted table (FileHashList.swift) and compiled into
/// the definitions bundle; a bad line makes the rule fail with `FILE:LINE`.
enum DetectFileHash {
    static func keyword(_ kind: FileHashKind) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in try hash(&b, v, kind) }
    }

    static func hash(_ b: inout SignatureBuilder, _ v: Substring?, _ kind: FileHashKind) throws(RuleError) {
        var name = KW.optionalQuotes(try KW.require(v, kind.keyword))
        var negated = false
        if name.hasPrefix("!") {
            negated = true
            name = name.dropFirst().trimmingSpaces
        }
        guard !name.isEmpty else { throw .invalid("\(kind.keyword): no file name") }
        guard let reader = b.fileReader else {
            throw .unsupported(kind.keyword, "hash lists are read only when loading rule files")
        }
        let path = RuleListFile.resolve(String(name), ruleFile: b.ruleFile)
        let key = "\(kind.rawValue):\(path)"
        let list: FileHashList
        if let cached = b.hashLists?.lists[key] {
            list = cached
        } else {
            let bytes = try RuleListFile.read(path, with: reader, for: kind.keyword)
            list = try FileHashList.parse(bytes, kind: kind, negated: false, path: path)
            b.hashLists?.lists[key] = list
        }
        b.signature.headerMatches.append(.fileHash(
            FileHashList(kind: kind, sortedDigests: list.digests, negated: negated, path: path)))
    }
}
