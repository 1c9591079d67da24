import Testing
import UTMCore
@testable import UTMWebFilter

/// Database version 2 keeps domain entries in cache-line buckets with linear probing by line:
/// with tens of thousands of domains some lines overflow into the next ones, and every entry
/// must still be found, and names that are not listed must not be.
@Suite struct DomainLineTests {
    @Test func everyDomainFoundIncludingOverflowedLines() throws {
        var text = ""
        for i in 0..<60_000 { text += "host\(i).zone\(i % 97).example\n" }
        var c = CategoryCompiler()
        try c.addList(name: "malware", domains: Array(text.utf8), urls: [])
        let db = try CategoryDatabase(copying: c.build())
        #expect(db.domainCount == 60_000)
        #expect(db.probeLimit > 0, "expected some overflowing lines with 60k entries")
        var missing = 0, wrong = 0
        for i in 0..<60_000 {
            let host = Array("x.host\(i).zone\(i % 97).example".utf8)
            let hit = host.withUnsafeBytes { db.lookup(host: ByteView($0)) }
            if hit.categories.isEmpty { missing += 1 }
            let other = Array("host\(i).zone\(i % 97).example.net".utf8)
            if !other.withUnsafeBytes({ db.lookup(host: ByteView($0)) }).categories.isEmpty { wrong += 1 }
        }
        #expect(missing == 0)
        #expect(wrong == 0)
    }
}
