import Foundation
import LiveTestSupport
import Testing

/// The live inline path end to end, on real kernel NFQUEUE traffic (issue 6). Three network
/// namespaces joined by veth pairs:
///
///     mm-lan (client, 10.203.1.2) ── mm-box (utmd, router 10.203.1.1 / 10.203.0.1) ── mm-wan (HTTP server, 10.203.0.2)
///
/// Routes exist only between the two /24s inside these namespaces: nothing can leave them.
/// Needs root and `ip netns`; skipped with a note elsewhere, a failure when CI=true.
@Suite(.serialized) struct LiveNFQueueTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let namespaces = ["mm-lan", "mm-box", "mm-wan"]
    /// The LAN host curl runs from (mm-lan).
    static let client = "10.203.1.2"
    static let server = "10.203.0.2"
    static let port = 8080

    typealias Run = Shell.Run

    @discardableResult
    static func sh(_ command: String, seconds: Int = 20) -> Run { Shell.sh(command, seconds: seconds) }
    static func spawn(_ args: [String], log: String) throws -> Process { try Shell.spawn(args, log: log) }
    static func teardown() { Shell.deleteNamespaces(namespaces) }
    static func unavailable() -> String? { Shell.liveUnavailable(tools: ["curl", "python3"], probe: "mm-probe", queue: 0) }

    static let utmd = root.appendingPathComponent(".build/debug/utmd").path
    static let utmctl = root.appendingPathComponent(".build/debug/utmctl").path

    static func curl(_ args: String, seconds: Int = 15) -> Run {
        sh("ip netns exec mm-lan curl -sS -m \(seconds) \(args)", seconds: seconds + 5)
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool { Shell.waitFor(seconds, condition) }

    @Test func inlineVerdictsBlockPageBypassAndRestart() throws {
        guard Shell.mayRun(Self.unavailable(), "LiveNFQueueTests") else { return }
        Self.teardown()
        defer { Self.teardown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-live-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("www/secret"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path

        // Topology: two veth pairs, the box forwards (router mode).
        let setup = Self.sh("""
            set -e
            for n in mm-wan mm-box mm-lan; do ip netns add $n; ip -n $n link set lo up; done
            ip link add mm-w0 netns mm-wan type veth peer name mm-bw netns mm-box
            ip link add mm-l0 netns mm-lan type veth peer name mm-bl netns mm-box
            ip -n mm-wan addr add 10.203.0.2/24 dev mm-w0
            ip -n mm-box addr add 10.203.0.1/24 dev mm-bw
            ip -n mm-box addr add 10.203.1.1/24 dev mm-bl
            ip -n mm-lan addr add 10.203.1.2/24 dev mm-l0
            for l in mm-wan:mm-w0 mm-box:mm-bw mm-box:mm-bl mm-lan:mm-l0; do ip -n ${l%%:*} link set ${l#*:} up; done
            ip -n mm-wan route add 10.203.1.0/24 via 10.203.0.1
            ip -n mm-lan route add 10.203.0.0/24 via 10.203.1.1
            ip netns exec mm-box sysctl -qw net.ipv4.ip_forward=1
            """)
        try #require(setup.status == 0, "namespace setup failed: \(setup.err)")

        // Content, categories (one blocked host), web filter settings, rules, configuration.
        let clean = (0 ..< 3_000_000).map { i in UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        try Data(clean).write(to: dir.appendingPathComponent("www/clean.bin"))
        try Data("<html>secret</html>\n".utf8).write(to: dir.appendingPathComponent("www/secret/page.html"))
        try Data("<html>ips</html>\n".utf8).write(to: dir.appendingPathComponent("www/ips-drop.html"))
        try FileManager.default.createDirectory(atPath: "\(d)/ut1/gambling", withIntermediateDirectories: true)
        try Data("casino.example\n".utf8).write(to: URL(fileURLWithPath: "\(d)/ut1/gambling/domains"))
        let compile = Self.sh("\(Self.utmctl) defs compile --categories \(d)/ut1 -o \(d)/categories.db")
        try #require(compile.status == 0, "defs compile failed: \(compile.err)")
        try Data(#"{"level": "standard", "deny": ["files.example/secret"]}"#.utf8)
            .write(to: URL(fileURLWithPath: "\(d)/webfilter.json"))
        try Data("<html>known false positive</html>\n".utf8).write(to: dir.appendingPathComponent("www/suppressed.html"))
        try Data("<html>et</html>\n".utf8).write(to: dir.appendingPathComponent("www/et-alert.html"))
        try Data(#"""
            drop http any any -> any any (msg:"live test drop"; content:"/ips-drop"; http_uri; sid:1000001; rev:1;)
            drop http any any -> any any (msg:"live test suppressed"; content:"/suppressed"; http_uri; sid:1000002; rev:1;)
            alert http any any -> any any (msg:"ET TROJAN live test alert rule"; content:"/et-alert"; http_uri; sid:1000003; rev:1;)
            """#.utf8).write(to: URL(fileURLWithPath: "\(d)/local.rules"))
        // The customer's exception: rule 1000002 never fires for the LAN client.
        try Data("suppress gen_id 1, sig_id 1000002, track by_src, ip \(Self.client)\n".utf8)
            .write(to: URL(fileURLWithPath: "\(d)/threshold.config"))
        // The vendor's drop.conf turns the ET-style alert rule 1000003 into a block.
        try Data("re:msg:\"ET TROJAN \n".utf8).write(to: URL(fileURLWithPath: "\(d)/drop.conf"))
        let conf = """
            # LiveNFQueueTests
            queues = 0-1
            mode = router
            zone.wan = mm-bw
            zone.lan = mm-bl
            rules = \(d)/local.rules
            threshold_file = \(d)/threshold.config
            ips_drop_conf = \(d)/drop.conf
            categories = \(d)/categories.db
            webfilter = \(d)/webfilter.json
            eve = \(d)/eve.json
            """
        try Data(conf.utf8).write(to: URL(fileURLWithPath: "\(d)/utmd.conf"))

        // The server binds to its own address only.
        let server = try Self.spawn(["/usr/sbin/ip", "netns", "exec", "mm-wan", "python3", "-m", "http.server", "\(Self.port)",
                                     "--bind", Self.server, "--directory", "\(d)/www"], log: "\(d)/server.log")
        defer { server.terminate() }
        let base = "http://files.example:\(Self.port)"
        let resolve = "--resolve files.example:\(Self.port):\(Self.server) --resolve casino.example:\(Self.port):\(Self.server)"
        #expect(Self.waitFor(10) { Self.curl("-o /dev/null \(resolve) \(base)/secret/page.html", seconds: 2).status == 0 },
                "server not reachable without utmd")

        // utmd in the box.
        func startUtmd(_ log: String) throws -> Process {
            let p = try Self.spawn(["/usr/sbin/ip", "netns", "exec", "mm-box", Self.utmd, "--config", "\(d)/utmd.conf"], log: log)
            let up = Self.waitFor(15) {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("utmd: running") ?? false || !p.isRunning
            }
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try #require(up && p.isRunning, "utmd did not start: \(text)")
            return p
        }
        var daemon = try startUtmd("\(d)/utmd.log")
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let chain = Self.sh("ip netns exec mm-box iptables -S MIMAMORI")
        #expect(chain.out.contains("NFQUEUE") && chain.out.contains("queue-bypass"), "rules: \(chain.out)")

        // 1. A clean download arrives byte-identical.
        let got = Self.curl("-o \(d)/got.bin -w '%{http_code}' \(resolve) \(base)/clean.bin")
        #expect(got.out == "200", "clean download: \(got.out) \(got.err)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: "\(d)/got.bin"))) == Data(clean), "clean file differs")

        // 2. A blocked category gets the block page over HTTP.
        let blocked = Self.curl("-o \(d)/page.html -w '%{http_code}' \(resolve) http://casino.example:\(Self.port)/clean.bin")
        let page = (try? String(contentsOfFile: "\(d)/page.html", encoding: .utf8)) ?? ""
        #expect(blocked.out == "403" && page.contains("casino.example") && page.contains("gambling"),
                "block page: status \(blocked.out) \(blocked.err) body \(page.prefix(200))")

        // 3. A customer-denied URL is refused (block page), the rest of the host is not.
        let denied = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) \(base)/secret/page.html")
        #expect(denied.out == "403", "denied URL: \(denied.out) \(denied.err)")

        // 4. The IPS drop rule: the request never completes, and EVE shows the rule's alert.
        let dropped = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) \(base)/ips-drop.html", seconds: 4)
        #expect(dropped.status != 0 && dropped.out != "200", "IPS drop: \(dropped.out)")
        #expect(Self.waitFor(3) {
            let eve = (try? String(contentsOfFile: "\(d)/eve.json", encoding: .utf8)) ?? ""
            return eve.contains("\"signature_id\":1000001")
        }, "EVE has no alert for the IPS drop rule")
        #expect(Self.waitFor(3) {
            let eve = (try? String(contentsOfFile: "\(d)/eve.json", encoding: .utf8)) ?? ""
            return eve.contains("\"event_type\":\"drop\"") && eve.contains("\"category\":\"gambling\"")
        }, "EVE has no drop event for the gambling category: \((try? String(contentsOfFile: "\(d)/eve.json", encoding: .utf8))?.suffix(3000) ?? "no file")")

        // 4b. The suppressed drop rule: the page arrives and no alert names the rule.
        let suppressed = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) \(base)/suppressed.html")
        #expect(suppressed.out == "200", "suppressed rule still blocked: \(suppressed.out) \(suppressed.err)")
        #expect(!((try? String(contentsOfFile: "\(d)/eve.json", encoding: .utf8)) ?? "").contains("\"signature_id\":1000002"),
                "suppressed rule alerted")

        // 4c. An `alert` rule named by drop.conf blocks, and EVE says so.
        let etDrop = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) \(base)/et-alert.html", seconds: 4)
        #expect(etDrop.status != 0 && etDrop.out != "200", "drop.conf rule: \(etDrop.out)")
        #expect(Self.waitFor(3) {
            let eve = (try? String(contentsOfFile: "\(d)/eve.json", encoding: .utf8)) ?? ""
            return eve.split(separator: "\n").contains { $0.contains("\"signature_id\":1000003") && $0.contains("\"action\":\"blocked\"") }
        }, "EVE has no blocked alert for the drop.conf rule")

        // 5. SIGHUP during a download: definitions swap, the download completes intact.
        let slow = try Self.spawn(["/usr/sbin/ip", "netns", "exec", "mm-lan", "curl", "-sS", "-m", "20", "--limit-rate", "1000k",
                                   "-o", "\(d)/hup.bin"] + resolve.split(separator: " ").map(String.init) + ["\(base)/clean.bin"],
                                  log: "\(d)/curl-hup.log")
        usleep(800_000)
        kill(daemon.processIdentifier, SIGHUP)
        slow.waitUntilExit()
        #expect(slow.terminationStatus == 0 && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/hup.bin"))) == Data(clean),
                "download across SIGHUP failed or differs")
        #expect(Self.waitFor(3) { ((try? String(contentsOfFile: "\(d)/utmd.log", encoding: .utf8)) ?? "").contains("definitions reloaded") },
                "no reload: \((try? String(contentsOfFile: "\(d)/utmd.log", encoding: .utf8)) ?? "")")

        // 6. SIGKILL under traffic: queue bypass keeps traffic flowing.
        let during = try Self.spawn(["/usr/sbin/ip", "netns", "exec", "mm-lan", "curl", "-sS", "-m", "20", "--limit-rate", "1000k",
                                     "-o", "\(d)/kill.bin"] + resolve.split(separator: " ").map(String.init) + ["\(base)/clean.bin"],
                                    log: "\(d)/curl-kill.log")
        usleep(800_000)
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        during.waitUntilExit()
        #expect(during.terminationStatus == 0 && (try? Data(contentsOf: URL(fileURLWithPath: "\(d)/kill.bin"))) == Data(clean),
                "download across SIGKILL failed or differs: \((try? String(contentsOfFile: "\(d)/curl-kill.log", encoding: .utf8)) ?? "")")
        let bypassed = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) http://casino.example:\(Self.port)/secret/page.html")
        #expect(bypassed.out == "200", "without utmd traffic should pass uninspected: \(bypassed.out) \(bypassed.err)")

        // 7. Restarting resumes inspection (the rules left behind are refreshed, not doubled).
        daemon = try startUtmd("\(d)/utmd2.log")
        let jumps = Self.sh("ip netns exec mm-box iptables -S FORWARD").out.components(separatedBy: "-j MIMAMORI").count - 1
        #expect(jumps == 1, "FORWARD should jump to MIMAMORI once, not \(jumps) times")
        let again = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) http://casino.example:\(Self.port)/clean.bin")
        #expect(again.out == "403", "after restart: \(again.out) \(again.err)")

        // 8. SIGTERM: exit 0, rules removed, traffic flows.
        kill(daemon.processIdentifier, SIGTERM)
        #expect(Self.waitFor(10) { !daemon.isRunning }, "utmd did not stop on SIGTERM")
        #expect(daemon.terminationStatus == 0, "utmd exit status \(daemon.terminationStatus)")
        #expect(Self.sh("ip netns exec mm-box iptables -S MIMAMORI").status != 0, "MIMAMORI chain left behind")
        let after = Self.curl("-o /dev/null -w '%{http_code}' \(resolve) http://casino.example:\(Self.port)/secret/page.html")
        #expect(after.out == "200", "after SIGTERM: \(after.out) \(after.err)")
    }
}
