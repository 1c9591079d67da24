import Foundation
import Testing

/// The operator's commands against a box in network namespaces (root only):
///
///     op-box (10.73.0.2, utmd, utmctl) ── veth op0/op1 ── op-peer (10.73.0.1: gateway, DNS, NTP, cloud listeners)
///
/// Nothing is routed out of the two namespaces. NFQUEUE 730 (this suite's range is 730-739).
@Suite(.serialized) struct LiveOperatorTests {
    static let namespaces = ["op-box", "op-peer"]

    static func teardown() {
        for ns in namespaces { Op.sh("ip netns pids \(ns) 2>/dev/null | xargs -r kill -9; ip netns del \(ns) 2>/dev/null", seconds: 10) }
    }

    static func setUp(_ dir: String) -> String? {
        teardown()
        let r = Op.sh("""
            set -e
            ip netns add op-box; ip netns add op-peer
            ip link add op0 netns op-box type veth peer name op1 netns op-peer
            ip -n op-box addr add 10.73.0.2/24 dev op0; ip -n op-peer addr add 10.73.0.1/24 dev op1
            for n in op-box op-peer; do ip -n $n link set lo up; done
            ip -n op-box link set op0 up; ip -n op-peer link set op1 up
            ip -n op-box route add default via 10.73.0.1
            """)
        guard r.status == 0 else { return "namespace setup failed: \(r.err.prefix(200))" }
        Op.spawn(["/usr/bin/env", "ip", "netns", "exec", "op-peer", "python3", Op.peerScript, "10.73.0.1"], log: "\(dir)/peer.log")
        guard Op.waitFor(5, { (try? String(contentsOfFile: "\(dir)/peer.log", encoding: .utf8))?.contains("ready") == true }) else {
            return "peer services did not start: \((try? String(contentsOfFile: "\(dir)/peer.log", encoding: .utf8)) ?? "")"
        }
        return nil
    }

    /// Each table 6-1 service made unreachable in turn: its line, and only its line, fails and names it.
    @Test func diagNamesEachUnreachableService() throws {
        guard Op.require(Op.namespaces) else { return }
        let d = Op.tempDir("diag")
        defer { Self.teardown(); try? FileManager.default.removeItem(atPath: d) }
        if let problem = Self.setUp(d) { Issue.record("\(problem)"); return }
        let valid = "ADDRESS=10.73.0.2\nROUTER=10.73.0.1\nDNS=10.73.0.1\nEXPIRES=\(Int(Date().timeIntervalSince1970) + 3600)\n"
        let expired = "ADDRESS=10.73.0.2\nROUTER=10.73.0.1\nDNS=10.73.0.1\nEXPIRES=\(Int(Date().timeIntervalSince1970) - 60)\n"
        try valid.write(toFile: "\(d)/lease", atomically: true, encoding: .utf8)
        func diag() -> (Op.Run, [[String: Any]]) {
            let r = Op.ctl(["diag", "--lease-file", "\(d)/lease", "--ntp", "10.73.0.1", "--cloud", "10.73.0.1", "--timeout", "700", "--json"],
                           netns: "op-box")
            let o = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [String: Any]
            return (r, o?["checks"] as? [[String: Any]] ?? [])
        }
        let (ok, all) = diag()
        #expect(ok.status == 0, "\(ok.out) \(ok.err)")
        #expect(all.count == 7 && all.allSatisfy { $0["ok"] as? Bool == true }, "\(all)")

        // (service in the output, how to break it, how to mend it)
        let breaks: [(String, String, String)] = [
            ("DHCP", "", ""),
            ("DNS", "-p udp --dport 53", "-p udp --dport 53"),
            ("NTP", "-p udp --dport 123", "-p udp --dport 123"),
            ("ICMP to the gateway", "-p icmp", "-p icmp"),
            ("HTTP", "-p tcp --dport 80", "-p tcp --dport 80"),
            ("HTTPS", "-p tcp --dport 443", "-p tcp --dport 443"),
            ("HTTPS cloud management", "-p tcp --dport 8443", "-p tcp --dport 8443"),
        ]
        for (service, rule, _) in breaks {
            if service == "DHCP" {
                try expired.write(toFile: "\(d)/lease", atomically: true, encoding: .utf8)
            } else {
                Op.sh("ip netns exec op-peer iptables -I INPUT \(rule) -j DROP")
            }
            let (r, checks) = diag()
            let failed = checks.filter { $0["ok"] as? Bool == false }.compactMap { $0["service"] as? String }
            #expect(r.status == 1)
            #expect(failed == [service], "breaking \(service): failed \(failed)")
            // The human screen names it too.
            let text = Op.ctl(["diag", "--lease-file", "\(d)/lease", "--ntp", "10.73.0.1", "--cloud", "10.73.0.1", "--timeout", "700"],
                              netns: "op-box")
            let failLines = text.out.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
            #expect(failLines.count == 1 && failLines[0].contains(service), "\(text.out)")
            #expect(text.out.contains("what to do:"))
            if service == "DHCP" {
                try valid.write(toFile: "\(d)/lease", atomically: true, encoding: .utf8)
            } else {
                Op.sh("ip netns exec op-peer iptables -D INPUT \(rule) -j DROP")
            }
        }
    }

    /// status and flows against a real utmd on its control socket, with traffic queued to it.
    @Test func statusAndFlowsFromRunningDaemon() throws {
        guard Op.require(Op.namespaces) else { return }
        let d = Op.tempDir("live")
        defer { Self.teardown(); try? FileManager.default.removeItem(atPath: d) }
        if let problem = Self.setUp(d) { Issue.record("\(problem)"); return }
        let sock = "\(d)/run/utmd.sock"
        try """
            queues = 730
            mode = router
            install_firewall = false
            zone.wan = op0
            eve = \(d)/eve.json
            control_socket = \(sock)
            """.write(toFile: "\(d)/utmd.conf", atomically: true, encoding: .utf8)
        Op.spawn(["/usr/bin/env", "ip", "netns", "exec", "op-box", Op.utmd, "--config", "\(d)/utmd.conf"], log: "\(d)/utmd.log")
        guard Op.waitFor(10, { FileManager.default.fileExists(atPath: sock) }) else {
            Issue.record("utmd did not open its control socket: \((try? String(contentsOfFile: "\(d)/utmd.log", encoding: .utf8)) ?? "")")
            return
        }
        let mode = (try FileManager.default.attributesOfItem(atPath: sock)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)

        // Traffic through queue 730: three downloads from the peer.
        let blob = String(repeating: "mimamori ", count: 200_000)
        try FileManager.default.createDirectory(atPath: "\(d)/www", withIntermediateDirectories: true)
        try blob.write(toFile: "\(d)/www/blob", atomically: true, encoding: .utf8)
        Op.spawn(["/usr/bin/env", "ip", "netns", "exec", "op-peer", "python3", "-m", "http.server", "8080", "--bind", "10.73.0.1",
                  "--directory", "\(d)/www"], log: "\(d)/http.log")
        Op.sh("ip netns exec op-box iptables -A OUTPUT -d 10.73.0.1 -j NFQUEUE --queue-num 730 --queue-bypass; "
              + "ip netns exec op-box iptables -A INPUT -s 10.73.0.1 -j NFQUEUE --queue-num 730 --queue-bypass")
        _ = Op.waitFor(5) { Op.sh("ip netns exec op-box python3 -c \"import socket; socket.create_connection(('10.73.0.1', 8080), 1)\"").status == 0 }
        for _ in 0..<3 {
            let r = Op.sh("ip netns exec op-box python3 -c \"import urllib.request; print(len(urllib.request.urlopen('http://10.73.0.1:8080/blob').read()))\"")
            #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == "\(blob.utf8.count)", "\(r.err)")
        }
        usleep(300_000)

        let status = Op.ctl(["status", "--socket", sock, "--json"], netns: "op-box")
        #expect(status.status == 0, "\(status.err)")
        let s = (try? JSONSerialization.jsonObject(with: Data(status.out.utf8))) as? [String: Any] ?? [:]
        let totals = s["totals"] as? [String: Any] ?? [:]
        #expect(s["running"] as? Bool == true && s["mode"] as? String == "router")
        #expect((totals["packets"] as? Int ?? 0) > 100, "\(totals)")
        #expect((totals["bytes"] as? Int ?? 0) > 3 * blob.utf8.count, "\(totals)")
        #expect((s["queues"] as? [[String: Any]])?.first?["queue"] as? Int == 730)
        // No cloud.* and no update.* keys: the feed says so instead of guessing.
        #expect(s["activation"] as? String == "cloud link not configured (no cloud.* keys)")
        #expect((s["cloud"] as? [String: Any])?["reachable"] as? String == "unknown")
        #expect((s["firmware"] as? [String: Any])?["slots"] as? String == "unknown")
        #expect((s["definitions"] as? [String: Any])?["versions"] as? String == "unknown")
        let human = Op.ctl(["status", "--socket", sock], netns: "op-box")
        #expect(human.out.contains("router mode") && human.out.contains("queue 730") && human.out.contains("activation: cloud link not configured"))

        let flows = Op.ctl(["flows", "--socket", sock, "--top", "5", "--json"], netns: "op-box")
        #expect(flows.status == 0, "\(flows.err)")
        let f = ((try? JSONSerialization.jsonObject(with: Data(flows.out.utf8))) as? [String: Any])?["flows"] as? [[String: Any]] ?? []
        // The three downloads lead (the readiness probe's empty connection may follow them).
        #expect(f.count >= 3, "\(flows.out)")
        #expect(f.prefix(3).allSatisfy {
            $0["dest_port"] as? Int == 8080 && $0["app"] as? String == "HTTP" && ($0["bytes"] as? Int ?? 0) > blob.utf8.count
        }, "\(flows.out)")
        // Locally sent: no input interface, out by op0, which is the WAN zone.
        #expect(f.first?["zone"] as? String == "-→wan", "\(flows.out)")
        let table = Op.ctl(["flows", "--socket", sock], netns: "op-box")
        #expect(table.out.contains("10.73.0.1:8080") && table.out.contains("HTTP"))

        // A malformed request gets an error answer and the daemon stays up.
        let bad = Op.sh("ip netns exec op-box python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('\(sock)'); s.sendall(b'garbage\\n'); print(s.recv(4096).decode())\"")
        #expect(bad.out.contains("\"ok\":false"), "\(bad.out) \(bad.err)")

        // SIGTERM: the socket goes away, and utmctl then says the daemon is not running.
        Op.sh("ip netns pids op-box | xargs -r kill -TERM")
        #expect(Op.waitFor(10) { !FileManager.default.fileExists(atPath: sock) })
        let gone = Op.ctl(["status", "--socket", sock], netns: "op-box")
        #expect(gone.status == 1 && gone.err.contains("utmd is not running"))
    }
}
