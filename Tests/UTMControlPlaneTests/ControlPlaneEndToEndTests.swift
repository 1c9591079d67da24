import Foundation
import Testing
import UTMBoxAgent
import UTMCloudClient
import UTMCloudService
import UTMCrypto
import UTMStore
import UTMUpdate
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7 end to end, in one box's life: activation → alerts uploaded → the cloud away for a
/// while (events queue up) → back (each delivered once, in order) → definitions commanded by the
/// cloud (a good set installs; a tampered one is refused; one that fails the self-test rolls
/// back) → firmware staged and a reboot scheduled by the cloud, kept when healthy, rolled back
/// by the bootloader when not → wipe: the box is unactivated and its data gone. Real TLS on
/// loopback, real SQLite, real Ed25519 signatures, the real boot-environment code.
@Suite(.serialized) struct ControlPlaneEndToEndTests {
    @Test func boxLifeFromActivationToWipe() throws {
        let cloud = try TestCloud("e2e")
        let paths = cloud.paths
        try Data("customer settings".utf8).write(to: URL(fileURLWithPath: paths.configDirectory + "/webfilter.json"))
        let keyring = cloud.keyring
        func sign(_ kind: ArtifactKind, _ seq: UInt64, _ payload: [UInt8]) throws -> [UInt8] { try cloud.sign(kind, seq, payload) }
        func rules(_ seq: UInt64, _ text: String) throws -> [UInt8] { try cloud.rules(seq, text) }

        // Factory firmware: slot a holds version 1; the box has booted it.
        let layout = paths.firmware
        let factory = Array("factory image v1".utf8)
        try Data(factory).write(to: URL(fileURLWithPath: layout.slotA))
        var env = BootEnvironment.load(primary: layout.envPrimary, redundant: layout.envRedundant)
        try env.update(["fw_version_a": "1", "fw_sha256_a": hex(OneShotSHA256.hash(factory)), "fw_size_a": "\(factory.count)"])
        let bootloader = BootloaderSimulator(layout: layout)
        #expect(try bootloader.boot() == "a")

        // The cloud, and the activation: credentials land where the wipe will look for them.
        let service = cloud.service
        try cloud.start()
        let serial = "MMR-0700"
        try cloud.activate(serial)
        #expect(FactoryReset.isActivated(paths))

        // The box's client with the real command handler.
        let boxLog = Lines()
        let eve = paths.logDirectory + "/eve.json"
        var config = CloudClientConfig()
        config.credentialsDirectory = paths.credentialsDirectory
        config.storePath = paths.eventStore
        config.evePath = eve
        config.heartbeatSeconds = 0.3
        config.backoffBase = 0.05
        config.backoffCap = 0.4
        config.timeout = 2
        config.tick = 0.05
        let handler = BoxCommandHandler(paths: paths, keyring: keyring, log: boxLog.sink)
        let client = try CloudClient(config: config, handler: handler, log: boxLog.sink)
        handler.transport = client.transport
        client.start()
        defer { client.stop(wait: 5) }

        // Alerts 1-5 while the cloud is up.
        try append(eve, (1 ... 5).map(alert))
        #expect(eventually { try service.alerts(serial: serial).count == 5 })

        // The cloud goes away; 6-9 wait in the store; it comes back on the same port.
        cloud.stop()
        try append(eve, (6 ... 9).map(alert))
        #expect(eventually { boxLog.count("retry in") >= 2 })
        try cloud.start()
        #expect(eventually { try service.alerts(serial: serial).count == 9 })
        usleep(300_000)
        #expect(try service.alerts(serial: serial).map(\.name) == (1 ... 9).map { "rule \($0)" })

        // Definitions: a good set from the cloud is installed and becomes current.
        let store = paths.definitionStore
        try service.publish(try rules(1, Self.goodRules), kind: "ips", sequence: 1)
        _ = try service.queueCommand(serial: serial, kind: .updateDefinitions)
        #expect(eventually { store.current(.ips)?.sequence == 1 && !handler.isBusy })
        #expect(handler.lastResults.map(\.outcome) == ["installed"])

        // A tampered set (one payload byte flipped after signing) is refused; v1 stays.
        var tampered = try rules(2, Self.goodRules + "\n# more\n")
        tampered[tampered.count - 3] ^= 0x20
        try service.publish(tampered, kind: "ips", sequence: 2)
        _ = try service.queueCommand(serial: serial, kind: .updateDefinitions)
        #expect(eventually { handler.lastResults.first?.sequence == 2 && !handler.isBusy })
        #expect(handler.lastResults.map(\.outcome) == ["refused"])
        #expect(store.current(.ips)?.sequence == 1)

        // An authentic set that drops every connection fails the engine self-test: rolled back.
        try service.publish(try rules(3, Self.dropAllRules), kind: "ips", sequence: 3)
        _ = try service.queueCommand(serial: serial, kind: .updateDefinitions)
        #expect(eventually { handler.lastResults.first?.sequence == 3 && !handler.isBusy })
        #expect(handler.lastResults.map(\.outcome) == ["rolled back"])
        #expect(store.current(.ips)?.sequence == 1)

        // Firmware v2 from the cloud: staged in slot b, reboot at the commanded time; healthy
        // after the reboot, so it is kept.
        try service.publish(try sign(.firmware, 2, Array("rootfs v2".utf8) + [UInt8](repeating: 2, count: 4096)),
                            kind: "firmware", sequence: 2)
        _ = try service.queueCommand(serial: serial, kind: .reboot, at: "2030-01-01T03:00:00+09:00")
        let firmware = FirmwareUpdater(layout: layout, keyring: keyring)
        #expect(eventually { firmware.scheduledReboot() != nil && !handler.isBusy })
        #expect(firmware.scheduledReboot() == 1_893_434_400)
        #expect(handler.lastResults.map(\.outcome) == ["staged", "reboot scheduled"])
        #expect(firmware.takeDueReboot(now: 1_893_434_400))
        #expect(try bootloader.boot() == "b")
        #expect(try firmware.markGood())
        #expect(try bootloader.boot() == "b")

        // Firmware v3 never becomes healthy: the bootloader goes back to v2 in slot b.
        try service.publish(try sign(.firmware, 3, Array("rootfs v3".utf8)), kind: "firmware", sequence: 3)
        _ = try service.queueCommand(serial: serial, kind: .reboot)
        #expect(eventually { handler.lastResults.map(\.outcome) == ["staged", "reboot scheduled"]
                && firmware.environment()["fw_version_a"] == "3" && !handler.isBusy })
        var booted: [String] = []
        for _ in 0 ..< 5 { booted.append(try bootloader.boot()) }
        #expect(booted == ["a", "a", "a", "b", "b"])
        #expect(firmware.runningSlot() == "b" && firmware.environment()["fw_version_b"] == "2")

        // Every outcome is in the update history the report shows.
        let history = try EventStore(path: paths.eventStore).updates(from: 0, to: .max).map { "\($0.kind) \($0.version) \($0.result)" }
        #expect(history == ["ips 1 installed", "ips 2 refused", "ips 3 rolled back", "firmware 2 staged", "firmware 3 staged"])

        // Contract end: the cloud commands a wipe. Credentials, events and settings are gone,
        // the client stops, the box is unactivated.
        _ = try service.queueCommand(serial: serial, kind: .wipe)
        #expect(eventually { !FactoryReset.isActivated(paths) })
        #expect(eventually { boxLog.count("the cloud client stops") == 1 })
        #expect(!FileManager.default.fileExists(atPath: paths.configDirectory + "/webfilter.json"))
        #expect(!FileManager.default.fileExists(atPath: eve))
        for suffix in ["", "-wal", "-shm", ".eve-position"] {
            #expect(!FileManager.default.fileExists(atPath: paths.eventStore + suffix), "\(paths.eventStore + suffix) survived the wipe")
        }
        #expect(store.current(.ips) == nil)
    }

    static let goodRules = """
        alert http any any -> any any (msg:"control plane test: evil path"; content:"/evil"; http_uri; sid:7200001; rev:1;)
        """
    static let dropAllRules = """
        drop tcp any any -> any any (msg:"control plane test: drop everything"; sid:7200002; rev:1;)
        """

    static func alertLine(_ n: Int) -> String {
        #"{"timestamp":"2026-12-06T10:00:0\#(n % 10).000000+0900","event_type":"alert","src_ip":"192.168.10.\#(n)","dest_ip":"203.0.113.7","proto":"TCP","alert":{"signature_id":\#(9000 + n),"signature":"rule \#(n)","severity":2,"category":"test"}}"#
    }
    func alert(_ n: Int) -> String { Self.alertLine(n) }

    func append(_ path: String, _ lines: [String]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw CloudError("\(path): cannot open") }
        defer { close(fd) }
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
