import Foundation
import Testing
@testable import UTMUpdate

@Suite struct FactoryResetTests {
    @Test func wipeLeavesTheUnactivatedFactoryState() throws {
        let f = try UpdateFixture()
        defer { f.cleanup() }
        let paths = BoxPaths(root: f.dir + "/box")
        let fm = FileManager.default
        for d in [paths.configDirectory, paths.factoryConfigDirectory, paths.logDirectory, paths.credentialsDirectory,
                  paths.factoryDefinitionsDirectory + "/ips"] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        func put(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
        try put(paths.factoryConfigDirectory + "/webfilter.json", "{}")
        try put(paths.factoryDefinitionsDirectory + "/ips/factory.rules", UpdateFixture.goodRules)
        // A box in service: activated, customer settings, logs, events, updated definitions.
        try put(paths.credentialsDirectory + "/client.key", "-----BEGIN PRIVATE KEY-----secret")
        try put(paths.credentialsDirectory + "/client.crt", "cert")
        try put(paths.configDirectory + "/webfilter.json", "{\"level\":\"strict\",\"deny\":[\"customer.example\"]}")
        try put(paths.logDirectory + "/eve.json", "{\"event_type\":\"alert\"}\n")
        try put(paths.eventStore, "sqlite"); try put(paths.eventStore + "-wal", "wal")
        let updater = DefinitionUpdater(store: paths.definitionStore, keyring: f.keyring)
        _ = try updater.install(f.definitions(.ips, 20, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
        #expect(FactoryReset.isActivated(paths))

        let report = try FactoryReset.wipe(paths)
        #expect(!FactoryReset.isActivated(paths))
        #expect(!fm.fileExists(atPath: paths.credentialsDirectory + "/client.key"))
        #expect(!fm.fileExists(atPath: paths.eventStore) && !fm.fileExists(atPath: paths.eventStore + "-wal"))
        #expect(try fm.contentsOfDirectory(atPath: paths.logDirectory).isEmpty)
        #expect(try String(contentsOfFile: paths.configDirectory + "/webfilter.json", encoding: .utf8) == "{}")
        // Definitions are back to the factory set, and an update can follow.
        #expect(paths.definitionStore.current(.ips)?.sequence == 0)
        #expect(paths.definitionStore.current(.av) == nil)
        #expect(try DefinitionLoader.load(store: paths.definitionStore).detection?.count == 2)
        #expect(report.removed.contains(paths.credentialsDirectory + "/client.key"))
        let status = UpdateStatus.collect(paths, now: f.now)
        #expect(status.activated == false && status.definitions.first { $0.kind == "ips" }?.sequence == 0)
        #expect(try updater.install(f.definitions(.ips, 1, [("a.rules", UpdateFixture.goodRules)]), now: f.now)
                == .installed(kind: .ips, sequence: 1, previous: 0))
    }
}
