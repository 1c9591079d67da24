import Foundation
import Testing
@testable import UTMCloudClient
import UTMCloudService
import UTMStore

/// The box's control plane against the reference cloud over real TLS on loopback.
@Suite(.serialized) struct CloudEndToEndTests {
    @Test func activationHeartbeatsUploadOutageRestartAndCommands() throws {
        let f = try CloudFixture("e2e")
        try f.start()
        let serial = "MMR-0001"
        let creds = try f.activate(serial)
        // Credentials are private to the daemon.
        let fm = FileManager.default
        #expect((try fm.attributesOfItem(atPath: creds.keyPath)[.posixPermissions] as? Int) == 0o600)
        #expect((try fm.attributesOfItem(atPath: creds.certificatePath)[.posixPermissions] as? Int) == 0o600)
        #expect((try fm.attributesOfItem(atPath: f.credentialsDir)[.posixPermissions] as? Int) == 0o700)
        #expect(creds.info.settings.upload_batch == 4 && creds.info.host == "127.0.0.1")
        // An activation code works once.
        #expect(throws: CloudError.self) {
            _ = try CloudActivation.activate(host: "127.0.0.1", port: f.port, caFile: f.ca.caPath, serial: serial, code: "WRONG",
                                             directory: f.dir + "/other", timeout: 3)
        }
        #expect(!CloudCredentials.isActivated(f.dir + "/other"))

        // Phase 1: cloud up. Alerts 1-6 (two batches of 4 at most) and heartbeats.
        try f.appendEVE((1 ... 6).map { EVE.alert($0) } + [#"{"event_type":"stats","timestamp":"2026-01-01T00:00:00.000000+0000"}"#])
        let handler = RecordingHandler()
        let boxLog = LogLines()
        var client: CloudClient? = try CloudClient(config: f.clientConfig(), handler: handler, log: boxLog.sink)
        client!.start()
        #expect(eventually { try f.service.alerts(serial: serial).count == 6 })
        #expect(eventually { try f.service.lastStatus(serial: serial) != nil })
        let status = try #require(try f.service.lastStatus(serial: serial))
        #expect(status.disk_total_bytes > 0 && status.uptime_seconds > 0 && status.counters["uploads_pending"] != nil)

        // Phase 2: the cloud goes away. Events queue up; the client backs off and says why.
        f.stop()
        try f.appendEVE((7 ... 12).map { EVE.alert($0) })
        #expect(eventually { boxLog.count("retry in") >= 2 })
        // The daemon restarts while the cloud is still away: nothing queued is lost.
        client!.stop()
        client = nil
        let peek = try EventStore(path: f.storePath)
        #expect(try peek.pendingUploads() == 6)
        try f.appendEVE((13 ... 14).map { EVE.alert($0) })
        client = try CloudClient(config: f.clientConfig(), handler: handler, log: boxLog.sink)
        client!.start()
        #expect(eventually { try peek.pendingUploads() == 8 })

        // Phase 3: the cloud is back (same port). Everything arrives once, in order.
        try f.start()
        #expect(eventually { try f.service.alerts(serial: serial).count == 14 })
        usleep(400_000) // a few more rounds: nothing may arrive twice
        let got = try f.service.alerts(serial: serial)
        #expect(got.map(\.name) == (1 ... 14).map { "rule \($0)" })
        #expect(got.map(\.seq) == got.map(\.seq).sorted() && Set(got.map(\.seq)).count == 14)
        #expect(try peek.pendingUploads() == 0)

        // Phase 4: commands ride on the heartbeat answer, reach the handler once, are acknowledged.
        let c1 = try f.service.queueCommand(serial: serial, kind: .updateDefinitions)
        let c2 = try f.service.queueCommand(serial: serial, kind: .reboot, at: "2026-12-07T03:00:00+09:00")
        #expect(eventually { handler.commands.count == 2 })
        #expect(eventually { try f.service.pendingCommands(serial: serial).isEmpty })
        usleep(400_000)
        #expect(handler.commands == [CloudCommand(id: c1, kind: .updateDefinitions),
                                     CloudCommand(id: c2, kind: .reboot, at: "2026-12-07T03:00:00+09:00")])
        client!.stop()
    }

    @Test func aBatchSentTwiceCountsOnce() throws {
        let f = try CloudFixture("dedupe")
        try f.start()
        let creds = try f.activate()
        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        let transport = CloudTransport(host: "127.0.0.1", port: f.port, context: context, timeout: 3)
        let records = try (1 ... 3).map { n in
            try JSONDecoder().decode(UploadRecord.self, from: Data(#"{"seq":\#(n),"time":"2026-01-01T00:00:0\#(n).000000+0000","type":"alert","name":"r\#(n)","severity":2}"#.utf8))
        }
        let epoch = creds.info.settings.epoch
        let first = try transport.post(CloudAPI.alertsPath, AlertBatch(epoch: epoch, records: records), as: AlertAck.self)
        let again = try transport.post(CloudAPI.alertsPath, AlertBatch(epoch: epoch, records: records), as: AlertAck.self)
        #expect(first.acknowledged == 3 && first.duplicates == 0)
        #expect(again.acknowledged == 3 && again.duplicates == 3)
        #expect(try f.service.alerts(serial: "MMR-0001").count == 3)
        // Another activation's numbering is not a replay: a wrong epoch is refused.
        #expect(throws: CloudError.self) {
            _ = try transport.post(CloudAPI.alertsPath, AlertBatch(epoch: "other", records: records), as: AlertAck.self)
        }
    }

    /// Everything the box sends, decrypted at the server, carries metadata only: no byte of a
    /// payload, header, body or file from the inspected traffic.
    @Test func uploadsCarryMetadataOnly() throws {
        let f = try CloudFixture("meta")
        let bodies = LockedBodies()
        f.service.onRequest = { _, request in bodies.add(request.encode()) } // head and body, as decrypted
        try f.start()
        _ = try f.activate()
        try f.appendEVE(EVE.marked)
        let client = try CloudClient(config: f.clientConfig(), handler: LoggingCommandHandler(log: { _ in }), log: { _ in })
        client.start()
        #expect(eventually { try f.service.alerts(serial: "MMR-0001").count == 3 })
        #expect(eventually { bodies.all.count >= 3 })
        client.stop()
        let everything = bodies.all.flatMap { $0 }
        let text = String(decoding: everything, as: UTF8.self)
        #expect(!text.contains("MARKER"), "inspected-traffic bytes reached the cloud")
        #expect(!text.contains("TUFSS0VS"), "a base64 payload reached the cloud")
        let alerts = try f.service.alerts(serial: "MMR-0001")
        #expect(alerts.map(\.type) == ["alert", "virus", "web_filter"])
        #expect(alerts[0].url == "http://evil.example/gate.php?id=7" && alerts[0].src_mac == "aa:bb:cc:00:00:30")
        #expect(alerts[1].name == "Eicar-Test-Signature" && alerts[2].sni == "login.phish.example")
        // The records on the wire have only the allow-listed keys.
        var recordsSeen = 0
        for request in bodies.all {
            let body = request.split(separator: Array("\r\n\r\n".utf8), maxSplits: 1).last.map(Array.init) ?? []
            guard let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let records = obj["records"] as? [[String: Any]] else { continue }
            for r in records { #expect(Set(r.keys).isSubset(of: UploadRecord.allowedKeys), "\(r.keys)") }
            recordsSeen += records.count
        }
        #expect(recordsSeen == 3)
    }
}

final class LockedBodies: @unchecked Sendable {
    private let lock = NSLock()
    private var bodies: [[UInt8]] = []
    var all: [[UInt8]] { lock.withLock { bodies } }
    func add(_ b: [UInt8]) { lock.withLock { bodies.append(b) } }
}
