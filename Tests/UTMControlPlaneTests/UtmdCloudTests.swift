import Foundation
import LiveTestSupport
import Testing
import UTMCloudClient
import UTMCloudService
import UTMUpdate

/// The real utmd with a cloud link: it reports to the reference cloud, carries out the
/// cloud's "update definitions" command (fetch over mTLS, verify, self-test, install), picks
/// the new set up without a SIGHUP, and `utmctl status` shows the activation and the version.
/// utmd binds NFQUEUE 725 without installing firewall rules (no traffic is queued), so it
/// needs root; skipped elsewhere with a message, a failure when CI=true.
@Suite(.serialized) struct UtmdCloudTests {
    @Test func utmdCarriesOutCloudCommandsAndReportsThem() throws {
        guard Shell.mayRun(Shell.liveUnavailable(tools: [], probe: "cp-probe", queue: 725), "UtmdCloudTests") else { return }
        let cloud = try TestCloud("utmd")
        let paths = cloud.paths
        try cloud.start()
        let serial = "MMR-0725"
        try cloud.activate(serial)
        let socket = cloud.dir + "/utmd.sock"
        let conf = """
            queues = 725
            mode = router
            install_firewall = false
            eve = \(paths.logDirectory)/eve.json
            control_socket = \(socket)
            cloud.credentials = \(paths.credentialsDirectory)
            cloud.store = \(paths.eventStore)
            cloud.heartbeat = 5
            update.definitions = \(paths.definitionsDirectory)
            update.keys = \(paths.keysDirectory)
            update.root = \(cloud.dir)/box
            """
        try Data(conf.utf8).write(to: URL(fileURLWithPath: cloud.dir + "/utmd.conf"))
        let log = cloud.dir + "/utmd.log"
        let daemon = try Shell.spawn([Shell.utmd, "--config", cloud.dir + "/utmd.conf"], log: log)
        defer { if daemon.isRunning { daemon.terminate(); daemon.waitUntilExit() } }
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try #require(eventually(15) { logText().contains("running: queues") } && daemon.isRunning, "utmd: \(logText())")
        #expect(eventually(15) { try cloud.service.lastStatus(serial: serial) != nil }, "no heartbeat: \(logText())")

        // The vendor publishes a rule set; the cloud commands the update.
        try cloud.service.publish(try cloud.rules(1, """
            alert http any any -> any any (msg:"utmd cloud test"; content:"/evil"; http_uri; sid:7250001; rev:1;)
            """), kind: "ips", sequence: 1)
        _ = try cloud.service.queueCommand(serial: serial, kind: .updateDefinitions)
        #expect(eventually(30) { paths.definitionStore.current(.ips)?.sequence == 1 }, "not installed: \(logText())")
        #expect(eventually(10) { logText().contains("current set changed, reloading") }, "no reload: \(logText())")
        // The next heartbeat carries the version.
        #expect(eventually(20) { try cloud.service.lastStatus(serial: serial)?.definitions_version.contains("ips v1") == true })
        // ... and the workers' counters (published snapshots, not the packet path's own).
        let counters = try cloud.service.lastStatus(serial: serial)?.counters ?? [:]
        #expect(counters["packets"] != nil && counters["active_flows"] != nil && counters["uploads_pending"] != nil, "\(counters)")

        // The operator's view: activation and versions from the real services.
        let status = Shell.sh("\(Shell.utmctl) status --socket \(socket) --json", seconds: 20)
        #expect(status.status == 0, "\(status.err)")
        let s = (try? JSONSerialization.jsonObject(with: Data(status.out.utf8))) as? [String: Any] ?? [:]
        #expect((s["activation"] as? String)?.hasPrefix("activated as \(serial)") == true, "\(s["activation"] ?? "none")")
        let versions = (s["definitions"] as? [String: Any])?["versions"] as? [String: Any]
        #expect((versions?["ips"] as? String)?.hasPrefix("v1") == true, "\(versions ?? [:])")
        #expect((s["cloud"] as? [String: Any])?["reachable"] as? String == "yes")

        daemon.terminate()
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0, "\(logText())")
    }
}
