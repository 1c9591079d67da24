import Foundation
import Testing
import UTMStore

/// Wrong arguments, a daemon that is not running, an empty or missing store: one clear line on
/// standard error and a non-zero status (or zero with a note for an empty result), never a trace.
@Suite struct CommandMessageTests {
    @Test func daemonNotRunning() {
        guard Op.require(Op.binaries) else { return }
        for cmd in [["status"], ["flows"], ["status", "--json"]] {
            let r = Op.ctl(cmd + ["--socket", "/tmp/op-no-such-dir/utmd.sock"])
            #expect(r.status == 1)
            #expect(Op.isOneCleanLine(r.err), "\(r.err)")
            #expect(r.err.contains("utmd is not running"))
        }
    }

    @Test func emptyAndMissingStore() throws {
        guard Op.require(Op.binaries) else { return }
        let d = Op.tempDir("msg")
        defer { try? FileManager.default.removeItem(atPath: d) }
        _ = try EventStore(path: "\(d)/empty.db")
        let alerts = Op.ctl(["alerts", "--store", "\(d)/empty.db"])
        #expect(alerts.status == 0 && Op.isOneCleanLine(alerts.err) && alerts.err.contains("no alerts"))
        let report = Op.ctl(["report", "--store", "\(d)/empty.db", "--month", "2026-11"])
        #expect(report.status == 0 && report.out.contains("この期間の記録はありません"))
        let en = Op.ctl(["report", "--store", "\(d)/empty.db", "--month", "2026-11", "--lang", "en"])
        #expect(en.out.contains("Nothing was recorded in this period"))
        let missing = Op.ctl(["report", "--store", "\(d)/none.db", "--month", "2026-11"])
        #expect(missing.status == 1 && Op.isOneCleanLine(missing.err) && missing.err.contains("no event store"))
        let missingAlerts = Op.ctl(["alerts", "--store", "\(d)/none.db"])
        #expect(missingAlerts.status == 1 && Op.isOneCleanLine(missingAlerts.err))
    }

    @Test func wrongArguments() {
        guard Op.require(Op.binaries) else { return }
        let cases: [([String], String)] = [
            (["report", "--store", "x.db", "--month", "2026-13"], "not YYYY-MM"),
            (["report", "--store", "x.db"], "exactly one of"),
            (["report", "--store", "x.db", "--month", "2026-11", "--lang", "fr"], "ja or en"),
            (["flows", "--top", "0"], "between 1 and 100"),
            (["diag", "--timeout", "1"], "--timeout"),
            (["alerts", "--store", "x.db", "--ip", "nope"], "not an IPv4"),
        ]
        for (args, text) in cases {
            let r = Op.ctl(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.err.contains(text), "\(args): \(r.err)")
            #expect(!r.err.contains("Fatal error"))
        }
    }
}

/// diag's DHCP line from dhclient's lease format, without root: the leased address is the
/// loopback one (it is on an interface), and the other checks point at closed local ports.
@Suite struct DiagLeaseTests {
    func diag(_ lease: String) throws -> [[String: Any]] {
        let d = Op.tempDir("lease")
        defer { try? FileManager.default.removeItem(atPath: d) }
        try lease.write(toFile: "\(d)/dhclient.leases", atomically: true, encoding: .utf8)
        let r = Op.ctl(["diag", "--lease-file", "\(d)/dhclient.leases", "--dns", "127.0.0.1", "--ntp", "127.0.0.1",
                        "--gateway", "127.0.0.1", "--cloud", "127.0.0.1", "--timeout", "200", "--json"])
        #expect(r.status == 1) // the closed local ports fail
        let o = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [String: Any]
        return o?["checks"] as? [[String: Any]] ?? []
    }

    @Test func dhclientLeaseValidAndExpired() throws {
        guard Op.require(Op.binaries) else { return }
        let block = { (expire: String) in """
            lease {
              interface "eth0";
              fixed-address 127.0.0.1;
              option routers 127.0.0.1;
              option domain-name-servers 127.0.0.1, 127.0.0.2;
              renew 4 2099/12/10 10:00:00;
              expire \(expire);
            }

            """ }
        let good = try diag("lease {\n  fixed-address 10.99.99.99;\n  expire 1 2001/01/01 00:00:00;\n}\n" + block("4 2099/12/10 10:00:00"))
        let dhcp = try #require(good.first)
        #expect(dhcp["service"] as? String == "DHCP")
        #expect(dhcp["ok"] as? Bool == true, "\(dhcp)")
        #expect((dhcp["detail"] as? String)?.contains("127.0.0.1") == true)
        let bad = try diag(block("2 2020/01/01 00:00:00"))
        #expect(bad.first?["ok"] as? Bool == false)
        #expect((bad.first?["detail"] as? String)?.contains("expired") == true)
        let truncated = try diag("lease {\n  fixed-addr")
        #expect(truncated.first?["ok"] as? Bool == false)
        #expect((truncated.first?["detail"] as? String)?.contains("no address") == true)
    }
}
