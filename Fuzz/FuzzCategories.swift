// libFuzzer target: the input as a host and path against a small built category database and
// policy, then the same bytes loaded as a database file. Must never trap.
import UTMCore
import UTMWebFilter

private let fuzzDatabase: CategoryDatabase = {
    var c = CategoryCompiler()
    try! c.addList(name: "malware", domains: Array("evil.example\n192.0.2.1\nxn--bcher-kva.example\n".utf8),
                   urls: Array("files.example/payload\n".utf8))
    try! c.addList(name: "gambling", domains: Array("casino.example\n".utf8), urls: [])
    return try! CategoryDatabase(copying: c.build())
}()

private let fuzzPolicy: WebFilterPolicy = try! WebFilterPolicy(
    config: WebFilterConfig(allow: ["casino.example"], deny: ["files.example/x"]), database: fuzzDatabase)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCategories(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    // Split at the first '/' into host and path, as a URL would be.
    let (host, path) = URLText.split(all)
    _ = fuzzDatabase.lookup(host: host, path: path)
    _ = fuzzPolicy.decide(host: host, path: path)
    _ = fuzzDatabase.lookup(host: all)
    // The same bytes as a database file: must be refused or served, never crash.
    if let db = try? CategoryDatabase(copying: all.bytes) {
        _ = db.lookup(host: host, path: path)
    }
    return 0
}
