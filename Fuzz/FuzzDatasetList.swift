// libFuzzer target: a dataset list file (session 9) on hostile bytes. The first byte picks the
// type (string, md5, sha256, ipv4, ip); the rest is the file. When it parses, every member is
// inserted into a set and must then be found (normalized IPv4-mapped addresses included), the
// set is reserved and a few `set`/`unset` runs go through the no-growth path; then the same
// bytes are loaded through a rule (`load` via a reader), which must load or fail with one line
// naming the file:line. Must never trap. Input format and rule loading: Fuzz/Shared/FuzzListInput.swift.
import UTMCore
import UTMDetect

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasetList(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = listFileInput(data, size, DatasetType.self) else { return 0 }
    let type = input.kind, file = input.file
    let set = Dataset(name: "fuzz", type: type)
    var keys: [[UInt8]] = []
    do {
        try DatasetList.parse(file, type: type) { k, rep in
            precondition(type.admits(length: k.count), "a parsed key of the wrong length")
            precondition(rep <= 65535, "a reputation out of range")
            keys.append(k.bytes)
            set.insertLoaded(k, rep: rep)
        }
    } catch {
        precondition(error.line >= 1, "a list error without a line")
    }
    for k in keys { precondition(set.contains(k), "a loaded member is not found") }
    set.markMutable()
    set.reserve()
    for k in keys.prefix(8) {
        _ = k.withByteView { DatasetMatch(set: set, op: .unset).matches($0) }
        precondition(!set.contains(k) || set.count > 0)
        _ = k.withByteView { DatasetMatch(set: set, op: .set).matches($0) }
    }
    _ = file.withByteView { DatasetMatch(set: set, op: .isSet).matches($0) }
    loadRuleOverList("alert dns any any -> any any (msg:\"f\"; dns.query; dataset:isset,f,type \(type.name),load f.lst; sid:1;)", file)
    return 0
}
