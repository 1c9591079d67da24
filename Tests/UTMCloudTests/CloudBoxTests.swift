import Foundation
import Testing
@testable import UTMCloudClient
import UTMCloudService
import UTMStore

/// Wipes the activation the way the factory-wipe code will.
struct WipingHandler: CloudCommandHandler {
    let directory: String
    func handle(_ command: CloudCommand) -> String {
        guard command.kind == .wipe else { return "ignored" }
        try? CloudCredentials.wipe(directory)
        return "wiped"
    }
}

@Suite(.serialized) struct CloudBoxTests {
    /// A wipe command ends the link: the credentials are gone, the client stops, and the old
    /// certificate no longer gets anything in once the cloud resets the box.
    @Test func wipeCommandEndsTheLink() throws {
        let f = try CloudFixture("wipe")
        try f.start()
        let creds = try f.activate("MMR-0400")
        try FileManager.default.copyItem(atPath: creds.certificatePath, toPath: f.dir + "/kept.pem")
        try FileManager.default.copyItem(atPath: creds.keyPath, toPath: f.dir + "/kept.key")
        let log = LogLines()
        let client = try CloudClient(config: f.clientConfig(), handler: WipingHandler(directory: f.credentialsDir), log: log.sink)
        client.start()
        _ = try f.service.queueCommand(serial: "MMR-0400", kind: .wipe)
        #expect(eventually { log.count("the cloud client stops") == 1 })
        client.stop()
        #expect(!CloudCredentials.isActivated(f.credentialsDir))
        #expect(!FileManager.default.fileExists(atPath: creds.keyPath))
        // Once the wipe is on its way the cloud refuses the old certificate (a kept copy of the
        // key gets nothing in), and still after the serial is provisioned again.
        let old = try TLSContext(clientCA: f.ca.caPath, certificate: f.dir + "/kept.pem", key: f.dir + "/kept.key")
        for reprovision in [false, true] {
            if reprovision { _ = try f.service.provision(serial: "MMR-0400") }
            do {
                _ = try CloudTransport(host: "127.0.0.1", port: f.port, context: old, timeout: 3)
                    .post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self)
                Issue.record("a wiped box's certificate was accepted (re-provisioned: \(reprovision))")
            } catch let e as CloudError {
                #expect(e.description.contains("HTTP 401"), "\(e)")
            }
        }
        // And the box itself has nothing to start a client with.
        #expect(throws: CloudError.self) {
            _ = try CloudClient(config: f.clientConfig(), handler: LoggingCommandHandler(log: { _ in }), log: { _ in })
        }
    }

    /// The EVE follower takes complete lines only, resumes from its saved position after a
    /// restart, and reads a rotated file from its start.
    @Test func eveTailResumesAndFollowsRotation() throws {
        let f = try CloudFixture("tail")
        try FileManager.default.createDirectory(atPath: f.dir + "/box", withIntermediateDirectories: true)
        let store = try EventStore(path: f.storePath)
        var tail = EVETail(path: f.evePath, store: store)
        #expect(try tail.poll(into: store, log: { _ in }) == nil, "no file yet")
        let partial = EVE.alert(2)
        try f.appendEVE([EVE.alert(1)])
        try Data(partial.prefix(40).utf8).append(to: f.evePath)
        #expect(try tail.poll(into: store, log: { _ in })?.alerts == 1)
        #expect(try tail.poll(into: store, log: { _ in }) == nil, "half a line waits")
        try Data((partial.dropFirst(40) + "\n").utf8).append(to: f.evePath)
        // The position is in the store, committed with the lines: a restart (a new store
        // connection, a new follower) resumes exactly after the last committed line.
        let reopened = try EventStore(path: f.storePath)
        #expect(try reopened.counter("eve_position_offset") == Int64(EVE.alert(1).utf8.count + 1))
        var restarted = EVETail(path: f.evePath, store: reopened)
        #expect(try restarted.poll(into: store, log: { _ in })?.alerts == 1, "resumed at the saved position")
        #expect(try store.pendingUploads() == 2)
        // Rotation: a new file with one line.
        try FileManager.default.removeItem(atPath: f.evePath)
        try f.appendEVE([EVE.alert(3)])
        var lines: [String] = []
        #expect(try restarted.poll(into: store, log: { lines.append($0) })?.alerts == 1)
        #expect(lines.count == 1 && lines[0].contains("rotated"))
        #expect(try store.nextBatch(limit: 10).map(\.name) == ["rule 1", "rule 2", "rule 3"])
    }
}

extension Data {
    func append(to path: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: self)
    }
}

@Suite(.serialized) struct CloudRetentionTests {
    /// Alerts wait while the cloud is away, but not for ever: after two weeks they are dropped,
    /// oldest first, and the next heartbeat says how many.
    @Test func alertsOlderThanTwoWeeksAreDroppedAndCounted() throws {
        let f = try CloudFixture("retention")
        try f.start()
        _ = try f.activate("MMR-0500")
        f.stop() // the cloud is unreachable from here on
        let clock = MovableClock()
        var config = f.clientConfig()
        config.store.clock = { clock.now }
        config.evePath = f.evePath
        try f.appendEVE([EVE.alert(1), EVE.alert(2)])
        let log = LogLines()
        var client: CloudClient? = try CloudClient(config: config, handler: LoggingCommandHandler(log: { _ in }), log: log.sink)
        client!.runOnce()
        let peek = try EventStore(path: f.storePath)
        #expect(try peek.pendingUploads() == 2)
        // Fifteen days later, a restarted box still has them queued, then drops them.
        clock.advance(seconds: 15 * 86_400)
        try f.appendEVE([EVE.alert(3)])
        client = try CloudClient(config: config, handler: LoggingCommandHandler(log: { _ in }), log: log.sink)
        client!.runOnce()
        #expect(try peek.nextBatch(limit: 10).map(\.name) == ["rule 3"])
        #expect(try peek.uploadsDropped() == 2)
        #expect(log.count("waited more than 14 days") == 1)
        // The cloud is back: the heartbeat reports the loss, the fresh alert arrives.
        try f.start()
        client!.nextAttempt = 0
        client!.runOnce()
        #expect(try f.service.lastStatus(serial: "MMR-0500")?.counters["uploads_dropped"] == 2)
        #expect(try f.service.alerts(serial: "MMR-0500").map(\.name) == ["rule 3"])
    }
}
