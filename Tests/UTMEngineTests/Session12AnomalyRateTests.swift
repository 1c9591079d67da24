import Foundation
import Testing
@testable import UTMEngine

/// Session 12: the anomaly log's records per event and second are a setting: `--set
/// anomaly-log.rate=N` for replay and utmd.conf's `anomaly_log_rate`; a bad value is one line
/// naming the key.
@Suite struct Session12AnomalyRateTests {
    typealias R = ReplayCommandTests
    typealias L = AnomalyLogTests

    @Test func setKeyParses() throws {
        var c = EngineConfig()
        var explicit = false
        #expect(try ReplaySettings.apply("anomaly-log.rate=3", to: &c, explicitMidstreamPolicy: &explicit) == nil)
        #expect(c.anomalyLog.perEventPerSecond == 3)
        #expect(try ReplaySettings.apply("anomaly-log.rate=0", to: &c, explicitMidstreamPolicy: &explicit) == nil)
        #expect(c.anomalyLog.perEventPerSecond == 0)
        for bad in ["", "-1", "ten", "1000001", "2.5", "0x10"] {
            #expect(throws: ReplaySettings.Failure.self, "\(bad)") {
                try ReplaySettings.apply("anomaly-log.rate=\(bad)", to: &c, explicitMidstreamPolicy: &explicit)
            }
        }
        #expect(c.anomalyLog.perEventPerSecond == 0, "a refused value changes nothing")
        #expect(ReplaySettings.keys.contains { $0.key == "anomaly-log.rate" })
    }

    /// The setting reaches the log: rate 2 writes two `z_flag_set` records of two new flows a
    /// second where the default writes ten.
    @Test func rateBoundsTheRecords() throws {
        var c = EngineConfig()
        var explicit = false
        _ = try ReplaySettings.apply("anomaly-log.rate=2", to: &c, explicitMidstreamPolicy: &explicit)
        let frames = (0 ..< 12).map { AppLayerEventRulesTests.zFlagDNS(sport: UInt16(45000 + $0))[0] }
        let (engine, events) = L.run(frames, types: nil, flowless: c.anomalyLog.perEventPerSecond)
        #expect(L.named(events, "z_flag_set").count == 2 && engine.anomalyLog.suppressed == 10)
    }

    /// `utmctl replay --set anomaly-log.rate=x`: exit 1, one line naming the key.
    @Test func replayBadRateIsOneLine() throws {
        let r = try R.run(["replay", R.sample, "--set", "anomaly-log.rate=lots"])
        let lines = r.stderr.split(separator: "\n")
        #expect(r.status != 0 && lines.count == 1 && lines[0].contains("anomaly-log.rate"), "\(r.stderr)")
        let ok = try R.run(["replay", R.sample, "--set", "anomaly-log.rate=5"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    /// `utmd --config FILE --check` on `text` (written to a temporary file `name`): its exit
    /// status and standard error; nil (recorded as an issue) when utmd was not built.
    static func utmdCheck(_ text: String, name: String) throws -> (status: Int32, stderr: String)? {
        let utmd = (try R.utmctl() as NSString).deletingLastPathComponent + "/utmd"
        guard FileManager.default.isExecutableFile(atPath: utmd) else {
            Issue.record("utmd not built next to utmctl")
            return nil
        }
        let path = try R.temp(name, Data(text.utf8))
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

    /// utmd.conf's `anomaly_log_rate`: a bad value fails the configuration on its line, naming
    /// the key as the file spells it; a good one is taken.
    @Test func utmdKey() throws {
        guard let (status, err) = try Self.utmdCheck("eve = -\nanomaly_log_rate = -3\n", name: "utmd-anomaly-rate.conf"),
              let (status2, err2) = try Self.utmdCheck("eve = -\nanomaly_log_rate = 50\n", name: "utmd-anomaly-rate.conf")
        else { return }
        let lines = err.split(separator: "\n").filter { $0.contains("utmd-anomaly-rate.conf:2") }
        #expect(status != 0 && lines.count == 1 && lines[0].contains("anomaly_log_rate")
                && !lines[0].contains("--set"), "\(err)")
        #expect(status2 == 0 && !err2.contains("anomaly_log_rate"), "\(err2)")
    }
}
