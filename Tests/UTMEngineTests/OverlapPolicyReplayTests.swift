import Foundation
import Testing
import UTMEngine
import UTMFlow
import UTMCore

/// TCP overlap evasion on Suricata's own capture (suricata-verify eve-overlap-payload-*): the
/// client sends "GOOD" and then "EVIL" at the same sequence numbers to 2.2.2.2. What the IPS
/// inspects must be what the receiver keeps: the first copy by default and inline, the second
/// for a receiver whose OS takes it (old-linux) in IDS mode. Reads ../shared (skipped outside
/// CI when absent).
@Suite struct OverlapPolicyReplayTests {
    typealias R = ReplayCommandTests

    var folder: String? {
        guard let shared = CorpusEnv.sharedFolder else {
            if CorpusEnv.isCI { Issue.record("../shared corpus missing") }
            return nil
        }
        return shared + "/corpus/suricata-verify/tests/eve-overlap-payload-01"
    }

    /// sid → alert count: 1 "EVIL" in the stream, 2 "GOOD" in the stream, 3 "EVIL" in a packet,
    /// 4 "GOOD" in a packet.
    func alerts(_ args: [String]) throws -> [Int: Int]? {
        guard let dir = folder else { return nil }
        let r = try R.run(["replay", dir + "/tcp-overlap.pcap", "--rules", dir + "/tcp-overlap.rules",
                           "--eve", "-", "--set", "stream.midstream=false"] + args)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        var out: [Int: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  e["event_type"] as? String == "alert", let a = e["alert"] as? [String: Any],
                  let sid = a["signature_id"] as? Int else { continue }
            out[sid, default: 0] += 1
        }
        return out
    }

    @Test func idsDefaultKeepsTheFirstCopy() throws {
        guard let a = try alerts(["--ids"]) else { return }
        #expect(a == [2: 1, 3: 1, 4: 1])
    }

    @Test func idsOldLinuxReceiverTakesTheSecondCopy() throws {
        guard let a = try alerts(["--ids", "--set", "host-os-policy.windows=[0.0.0.0/0]",
                                  "--set", "host-os-policy.old-linux=2.2.2.2"]) else { return }
        #expect(a == [1: 1, 3: 1, 4: 1], "the stream is EVIL, GOOD never reaches stream inspection")
        // A windows receiver keeps the first copy even while the bytes wait for the ACK.
        guard let w = try alerts(["--ids", "--set", "host-os-policy.windows=0.0.0.0/0"]) else { return }
        #expect(w == [2: 1, 3: 1, 4: 1])
    }

    @Test func inlineRetransmissionIsInspectedAsForwarded() throws {
        // Suricata inline rewrites the EVIL packet with the forwarded GOOD bytes: packet rules
        // see GOOD twice and EVIL never; the stream stays GOOD.
        guard let a = try alerts([]) else { return }
        #expect(a[1] == nil && a[3] == nil)
        #expect(a[4] == 2 && a[2] == 1)
    }

    @Test func hostPolicyKeysAreChecked() throws {
        var c = EngineConfig()
        var explicit = false
        #expect(try ReplaySettings.apply("host-os-policy.old-linux=[2.2.2.2, 10.0.0.0/8]", to: &c,
                                         explicitMidstreamPolicy: &explicit) == nil)
        #expect(c.flow.hostOSPolicies.policy(for: IPAddress(v4: 0x0A01_0203)) == .oldLinux)
        for bad in ["host-os-policy.plan9=1.2.3.4", "host-os-policy.linux=1.2.3.4/40", "host-os-policy.bsd=example"] {
            #expect(throws: ReplaySettings.Failure.self) { try ReplaySettings.apply(bad, to: &c, explicitMidstreamPolicy: &explicit) }
        }
    }

    /// utmd's `host_os_policy.NAME = networks`: a bad line fails the configuration on its line.
    @Test func utmdReadsHostPoliciesAndRefusesBadOnes() throws {
        let utmd = (try R.utmctl() as NSString).deletingLastPathComponent + "/utmd"
        guard FileManager.default.isExecutableFile(atPath: utmd) else {
            Issue.record("utmd not built next to utmctl")
            return
        }
        func check(_ text: String) throws -> (Int32, String) {
            let path = try R.temp("utmd-hostos.conf", Data(text.utf8))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: utmd)
            p.arguments = ["--config", path, "--check"]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: e, as: UTF8.self))
        }
        let (status, err) = try check("eve = -\nhost_os_policy.plan9 = 10.0.0.0/8\n")
        #expect(status != 0 && err.contains("utmd-hostos.conf:2") && err.contains("plan9"), "\(err)")
        let (_, err2) = try check("eve = -\nhost_os_policy.old-linux = [10.85.0.2, fd00:85::/64]\n")
        #expect(!err2.contains("host_os_policy") && !err2.contains("host-os-policy"), "\(err2)")
    }

    /// tools/sv-replay.py passes suricata.yaml's host-os-policy, and IPS for folders named
    /// "ips" as suricata-verify's runner does; it never reads the expected results.
    @Test func svReplayTranslatesTheSettings() throws {
        guard let dir = folder else { return }
        let tests = (dir as NSString).deletingLastPathComponent
        func explain(_ name: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", R.root.appendingPathComponent("tools/sv-replay.py").path, "--explain",
                           "--utmctl", "/bin/true", tests + "/" + name, tests + "/" + name + "/tcp-overlap.pcap",
                           "/dev/null", "/dev/null"]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: e, as: UTF8.self)
        }
        let oldLinux = try explain("eve-overlap-payload-02-policy-oldlinux")
        #expect(oldLinux.contains("--set host-os-policy.old-linux=2.2.2.2") && oldLinux.contains("--ids"), "\(oldLinux)")
        let ips = try explain("eve-overlap-payload-03-ips")
        #expect(!ips.contains("--ids") && !ips.contains("host-os-policy"), "\(ips)")
    }
}
