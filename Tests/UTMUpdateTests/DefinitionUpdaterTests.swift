import Foundation
import Testing
import UTMDetect
@testable import UTMUpdate

@Suite struct DefinitionUpdaterTests {
    @Test func installsAndKeepsPrevious() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let r1 = try f.updater.install(f.definitions(.ips, 10, [("et.rules", UpdateFixture.goodRules)]), now: f.now)
        #expect(r1 == .installed(kind: .ips, sequence: 10, previous: nil))
        let r2 = try f.updater.install(f.definitions(.ips, 11, [("et.rules", UpdateFixture.goodRules + "\n# v11\n")]), now: f.now)
        #expect(r2 == .installed(kind: .ips, sequence: 11, previous: 10))
        #expect(f.store.current(.ips)?.sequence == 11 && f.store.previous(.ips)?.sequence == 10)
        // The live set loads with the real loaders.
        let loaded = try DefinitionLoader.load(store: f.store)
        #expect(loaded.detection?.count == 2)
        // Rollback by hand, then nothing further to roll back to.
        #expect(try f.updater.rollback(.ips).sequence == 10)
        #expect(f.store.current(.ips)?.sequence == 10 && f.store.previous(.ips) == nil)
        #expect(throws: UpdateError.self) { try f.updater.rollback(.ips) }
    }

    @Test func antivirusSetPassesTheEICARSelfTest() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let r = try f.updater.install(f.definitions(.av, 1, [("main.hdb", UpdateFixture.goodHDB)]), now: f.now)
        #expect(r == .installed(kind: .av, sequence: 1, previous: nil))
        // And the self-test really looks: an engine with that set alerts on EICAR.
        let loaded = try DefinitionLoader.load(store: f.store)
        #expect(loaded.engineConfig.antivirus != nil)
        try EngineSelfTest.run(loaded)
    }

    @Test func downgradeIsRefused() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        _ = try f.updater.install(f.definitions(.ips, 5, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        for seq: UInt64 in [4, 5] {
            let e = #expect(throws: ArtifactError.self) {
                try f.updater.install(f.definitions(.ips, seq, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
            }
            #expect(e?.code == .downgrade && e?.description.contains("downgrade refused") == true)
        }
        // Also after a manual rollback: the rolled-back sequence stays burnt.
        _ = try f.updater.install(f.definitions(.ips, 6, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        _ = try f.updater.rollback(.ips)
        #expect(throws: ArtifactError.self) { try f.updater.install(f.definitions(.ips, 6, [("a.rules", UpdateFixture.goodRules)]), now: f.now) }
        #expect(f.store.current(.ips)?.sequence == 5)
    }

    @Test func tamperedOrExpiredChangesNothing() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        _ = try f.updater.install(f.definitions(.ips, 1, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        var tampered = f.definitions(.ips, 2, [("a.rules", UpdateFixture.goodRules)])
        tampered[tampered.count - 3] ^= 0x20
        #expect(throws: ArtifactError.self) { try f.updater.install(tampered, now: f.now) }
        let expired = f.artifact(.ips, 3, payload: PayloadArchive.encode([("a.rules", Array(UpdateFixture.goodRules.utf8))]),
                                 created: f.now - 100, expires: f.now - 1)
        #expect(throws: ArtifactError.self) { try f.updater.install(expired, now: f.now) }
        #expect(throws: ArtifactError.self) { try f.updater.install(f.artifact(.firmware, 9, payload: [1]), now: f.now) }
        #expect(f.store.current(.ips)?.sequence == 1)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: f.store.kindDirectory(.ips)).filter { $0.hasPrefix("v") }
        #expect(dirs == ["v1"])
    }

    /// Authentic but broken sets (a corrupt IPS bundle, a category database that is not one,
    /// AV files without one usable signature): refused after unpacking, `current` unchanged.
    @Test func brokenSetRollsBack() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        _ = try f.updater.install(f.definitions(.ips, 1, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        var parser = RuleParser()
        parser.load(text: UpdateFixture.goodRules, file: "a.rules")
        var bundle = DefinitionsBundle.encode(sources: [("a.rules", UpdateFixture.goodRules)],
                                              definitions: DetectDefinitions(ruleSet: parser.finish()))
        bundle[bundle.count / 2] ^= 0xff
        let r = try f.updater.install(f.artifact(.ips, 2, payload: PayloadArchive.encode([("ips.bundle", bundle)])), now: f.now)
        guard case let .rolledBack(kind, seq, kept, reason) = r else { Issue.record("installed a corrupt bundle"); return }
        #expect(kind == .ips && seq == 2 && kept == 1 && reason.contains("ips v2"), "\(reason)")
        #expect(f.store.current(.ips)?.sequence == 1)
        #expect(!FileManager.default.fileExists(atPath: f.store.kindDirectory(.ips) + "/v2"))

        let cat = try f.updater.install(f.definitions(.categories, 1, [("categories.db", "not a category database")]), now: f.now)
        guard case .rolledBack = cat else { Issue.record("installed a bad category database"); return }
        #expect(f.store.current(.categories) == nil)

        let av = try f.updater.install(f.definitions(.av, 1, [("main.hdb", "garbage line\nmore garbage\n")]), now: f.now)
        guard case let .rolledBack(_, _, _, why) = av else { Issue.record("installed an unusable AV set"); return }
        #expect(why.contains("no usable signature"), "\(why)")
    }

    /// A set that loads but makes the engine drop ordinary traffic fails the self-test.
    @Test func failedSelfTestRollsBack() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        _ = try f.updater.install(f.definitions(.ips, 1, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        let r = try f.updater.install(f.definitions(.ips, 2, [("a.rules", UpdateFixture.dropAllRules)]), now: f.now)
        guard case let .rolledBack(_, _, kept, reason) = r else { Issue.record("a drop-everything set was installed"); return }
        #expect(kept == 1 && reason.contains("self-test: clean HTTP flow"), "\(reason)")
        #expect(f.store.current(.ips)?.sequence == 1)
        #expect(r.description.contains("v1 stays current"))
    }

    /// A reader resolving `current` while sets are swapped in always finds a complete set whose
    /// file matches its version: never a missing link, never a mix.
    @Test func swapIsAtomicForAConcurrentReader() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        func rules(_ seq: UInt64) -> String { UpdateFixture.goodRules + "\n# set \(seq)\n" }
        _ = try f.updater.install(f.definitions(.ips, 1, [("a.rules", rules(1))]), now: f.now)
        let store = f.store
        let stop = Flag()
        let reads = Counter(), problems = Counter()
        let reader = Thread {
            while !stop.value {
                guard let v = store.current(.ips) else { problems.add(); continue }
                guard let text = try? String(contentsOfFile: v.directory + "/a.rules", encoding: .utf8) else {
                    // The previous-but-one set may be pruned right after we resolved it: re-resolve.
                    if store.current(.ips)?.directory == v.directory { problems.add() }
                    continue
                }
                if !text.hasSuffix("# set \(v.sequence)\n") { problems.add() }
                reads.add()
            }
        }
        reader.start()
        for seq: UInt64 in 2 ... 12 {
            #expect(try f.updater.install(f.definitions(.ips, seq, [("a.rules", rules(seq))]), now: f.now)
                    == .installed(kind: .ips, sequence: seq, previous: seq - 1))
        }
        stop.value = true
        while !reader.isFinished { usleep(1000) }
        #expect(problems.value == 0)
        #expect(reads.value > 0)
        #expect(f.store.current(.ips)?.sequence == 12)
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    var value: Bool {
        get { lock.withLock { v } }
        set { lock.withLock { v = newValue } }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var v = 0
    func add() { lock.withLock { v += 1 } }
    var value: Int { lock.withLock { v } }
}
