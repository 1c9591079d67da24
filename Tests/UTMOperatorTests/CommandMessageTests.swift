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
