// libFuzzer target: the input as a hash list of filemd5/filesha1/filesha256 (session 9), by
// the first byte's kind; when it parses, lookups of digests taken from the input, a rule that
// names the list, and the definitions bundle of that rule encoded, decoded (and cut short) again.
// Must never trap; a parsed list is sorted with no duplicate; the bundle round trip is exact.
// Input format and rule loading: Fuzz/Shared/FuzzListInput.swift.
import UTMDetect

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFileHashList(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = listFileInput(data, size, FileHashKind.self) else { return 0 }
    let kind = input.kind, text = input.file
    guard let list = try? FileHashList.parse(text, kind: kind, negated: input.control & 0x80 != 0, path: "fuzz.list") else { return 0 }
    precondition(FileHashList.isSortedUnique(list.digests, length: kind.length) || list.digests.isEmpty)
    var probe = [UInt8](repeating: 0, count: kind.length)
    for i in 0 ..< min(text.count, kind.length) { probe[i] = text[i] }
    _ = probe.withUnsafeBytes { list.matches($0) }
    if list.count > 0 {
        let first = Array(list.digests.prefix(kind.length))
        precondition(first.withUnsafeBytes { list.contains($0) })
    }
    let set = loadRuleOverList("alert http any any -> any any (msg:\"h\"; \(kind.keyword):l; filesize:>1; sid:1;)", text)
    let defs = DetectDefinitions(ruleSet: set)
    let bytes = DefinitionsBundle.encode(definitions: defs)
    if let back = try? DefinitionsBundle.decode(bytes, file: "b") {
        precondition(DefinitionsBundle.encode(definitions: back) == bytes)
    }
    _ = try? DefinitionsBundle.decode(Array(bytes.prefix(bytes.count / 2)), file: "cut")
    return 0
}
