import Foundation
import Testing
import UTMWebFilter
@testable import UTMUpdate

/// Category database updates through the real compiler and web filter.
@Suite struct CategoryUpdateTests {
    static func database(_ lists: [(String, String)]) throws -> [UInt8] {
        var c = CategoryCompiler()
        for (name, domains) in lists { try c.addList(name: name, domains: Array(domains.utf8), urls: []) }
        return c.build()
    }

    @Test func categoryDatabaseInstalls() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let db = try Self.database([("malware", "evil.example\n"), ("gambling", "casino.example\n")])
        let r = try f.updater.install(f.artifact(.categories, 3, payload: PayloadArchive.encode([("categories.db", db)])), now: f.now)
        #expect(r == .installed(kind: .categories, sequence: 3, previous: nil))
        let loaded = try DefinitionLoader.load(store: f.store)
        #expect(loaded.summary.contains { $0.hasPrefix("categories v3: 2 domains") })
    }

    /// A database that puts the self-test's clean host under malware makes the web filter
    /// block ordinary traffic: the self-test refuses it and the old database stays.
    @Test func databaseBlockingTheCleanFlowFailsTheSelfTest() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let good = try Self.database([("malware", "evil.example\n")])
        _ = try f.updater.install(f.artifact(.categories, 1, payload: PayloadArchive.encode([("categories.db", good)])), now: f.now)
        let bad = try Self.database([("malware", "evil.example\nmimamori.invalid\n")])
        let r = try f.updater.install(f.artifact(.categories, 2, payload: PayloadArchive.encode([("categories.db", bad)])), now: f.now)
        guard case let .rolledBack(_, _, kept, reason) = r else { Issue.record("installed a database that blocks everything"); return }
        #expect(kept == 1 && reason.contains("self-test"), "\(reason)")
        #expect(f.store.current(.categories)?.sequence == 1)
    }

    @Test func keyFilesLoad() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let keys = f.dir + "/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        #expect(throws: UpdateError.self) { try Keyring.load(directory: keys) }
        try Data("# release key\n\(hex(f.publicKey))\n".utf8).write(to: URL(fileURLWithPath: keys + "/release.pub"))
        try Data("not hex".utf8).write(to: URL(fileURLWithPath: keys + "/notes.txt"))
        let ring = try Keyring.load(directory: keys)
        #expect(ring.keys == [f.publicKey])
        try Data("abcd".utf8).write(to: URL(fileURLWithPath: keys + "/short.pub"))
        let e = #expect(throws: UpdateError.self) { try Keyring.load(directory: keys) }
        #expect(e?.description.contains("short.pub") == true)
    }
}
