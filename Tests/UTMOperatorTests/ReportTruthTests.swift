import Foundation
import Testing
import UTMReport
import UTMStore

/// A report from a replayed synthetic capture (mktraffic.py, a short "month": one night of an
/// office, 2024-11-15 21:40 to 2024-11-16 05:05 JST) whose numbers are compared with the
/// generator's truth file. Blocked sites are the exception the comparison must allow for: the
/// box cuts them off, so their later transactions never happen.
@Suite(.serialized) struct ReportTruthTests {
    @Test func monthlyReportMatchesTruth() throws {
        guard Op.require(Op.binaries), Op.require(Op.shared == nil ? "../shared (mktraffic.py, UT1) not found" : nil) else { return }
        let shared = Op.shared!
        let d = Op.tempDir("report")
        defer { try? FileManager.default.removeItem(atPath: d) }
        let gen = Op.sh("python3 \(shared)/bench/mktraffic.py \(d)/office.pcap --bytes 3000000 --seed 3 "
                        + "--categories \(shared)/corpus/ut1 --truth \(d)/truth.jsonl", seconds: 120)
        try #require(gen.status == 0, "mktraffic: \(gen.err.suffix(300))")
        // Any signature file switches the antivirus on; the built-in EICAR signature does the rest.
        try "0123456789abcdef0123456789abcdef:1:Mimamori.Test.Unused\n".write(toFile: "\(d)/test.hdb", atomically: true, encoding: .utf8)
        let replay = Op.ctl(["replay", "\(d)/office.pcap", "--categories", "\(shared)/corpus/ut1", "--av-db", "\(d)/test.hdb",
                             "--eve", "\(d)/eve.json"], seconds: 300)
        try #require(replay.status == 0, "replay: \(replay.err.suffix(300))")
        let ingest = Op.ctl(["logs", "ingest", "--store", "\(d)/events.db", "\(d)/eve.json"])
        try #require(ingest.status == 0, "ingest: \(ingest.err)")
        let store = try EventStore(path: "\(d)/events.db")
        try store.recordUpdate(kind: "ips", version: "2024.11.15-1", time: 1_731_600_000_000_000)
        try store.recordUpdate(kind: "firmware", version: "1.4.2", result: "rolled back", detail: "health check failed",
                               time: 1_731_700_000_000_000)

        let truth = try String(contentsOfFile: "\(d)/truth.jsonl", encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let options = ReportOptions(period: .month(year: 2024, month: 11))
        let s = try Report.summary(store: store, options: options)

        // Threats: every EICAR of the truth is blocked — by the antivirus (★★★), or before it
        // is ever downloaded, by the web filter when its site is in the security group.
        let threats = truth.filter { $0["threat"] as? String != nil }
        var blockedAccess = LogQuery(verdict: "blocked")
        blockedAccess.types = [.access]
        let blockedHosts = Set(try store.search(blockedAccess).compactMap(\.host))
        let reachable = threats.filter { !blockedHosts.contains($0["host"] as? String ?? "") }
        #expect(threats.count > 0 && reachable.count > 0 && reachable.count < threats.count)
        #expect(s.threatsByKind["antivirus"] == reachable.count)
        #expect(s.threatsBySeverity[3] == reachable.count)
        let webThreatHosts = Set(s.data.threats.filter { $0.kind == "web" }.map(\.name))
        for t in threats where blockedHosts.contains(t["host"] as? String ?? "") {
            #expect(webThreatHosts.contains(t["host"] as? String ?? ""), "\(t["host"] ?? "")")
        }
        // Flows with a threat are cut: their hosts and devices have fewer transactions than the truth.
        let threatHosts = Set(threats.compactMap { $0["host"] as? String })
        let threatDevices = Set(threats.compactMap { ($0["flow"] as? [String: Any])?["src_ip"] as? String })

        // Top 30 by visits: hosts the filter never blocks (no UT1 category) have exactly the
        // truth's number of HTTP requests, TLS and QUIC handshakes.
        var visits: [String: Int] = [:]
        var categorised = Set<String>()
        for t in truth {
            guard let host = t["host"] as? String, let app = t["app"] as? String, ["http", "tls", "quic"].contains(app) else { continue }
            visits[host, default: 0] += 1
            if t["category"] as? String != nil || threatHosts.contains(host) { categorised.insert(host) }
        }
        #expect(s.data.topByVisits.count == 30)
        var compared = 0
        for site in s.data.topByVisits where !categorised.contains(site.host) {
            #expect(site.visits == visits[site.host], "\(site.host)")
            compared += 1
        }
        #expect(compared >= 10)
        let floor = s.data.topByVisits.last!.visits
        for (host, n) in visits where !categorised.contains(host) && n > floor {
            #expect(s.data.topByVisits.contains { $0.host == host }, "\(host) (\(n) visits) missing from the top 30")
        }

        // After hours (JST): every transaction of a device after 22:00 on Friday or on Saturday,
        // for devices that never hit a blocked site.
        let blockedDevices = Set(try store.search(blockedAccess).compactMap(\.srcIP))
        var afterHours: [String: Int] = [:]
        let hours = AfterHours(years: 2024...2024)
        for t in truth {
            guard let ts = t["ts"] as? Double, let flow = t["flow"] as? [String: Any], let ip = flow["src_ip"] as? String else { continue }
            if hours.reason(Int64(ts * 1e6)) != nil { afterHours[IPText.canonical(ip) ?? ip, default: 0] += 1 }
        }
        var devicesCompared = 0
        for (ip, n) in afterHours where !blockedDevices.contains(ip) && !threatDevices.contains(ip) {
            let got = s.afterHours.first { $0.device == ip }
            #expect(got?.total == n, "\(ip)")
            devicesCompared += 1
        }
        #expect(devicesCompared >= 15)
        #expect(s.afterHours.allSatisfy { $0.holiday == 0 })
        // Devices are the office's clients, never the servers they talked to.
        #expect(s.afterHours.allSatisfy { d in !["93.184.", "198.51.100.", "203.0.113."].contains { d.device.hasPrefix($0) } }) // 2024-11-15/16 are no holidays
        #expect(s.holidays.map(\.1) == ["文化の日", "振替休日", "勤労感謝の日"])

        // Blocked categories: the security group is there, and blocked web threats match it.
        let security = s.data.blockedByCategory.first { $0.category == "security" }?.count ?? 0
        #expect(security > 0)
        #expect(s.threatsByKind["web"] == security)
        #expect(s.data.updates.map(\.version) == ["2024.11.15-1", "1.4.2"])

        // The page itself, in both languages: self-contained, with the numbers in it.
        let ja = Report.html(s, options: options, generatedAt: 1_733_000_000_000_000)
        #expect(ja.contains("<html lang=\"ja\">") && ja.contains("月次セキュリティレポート 2024年11月"))
        #expect(ja.contains("<svg") && !ja.contains("<script") && !ja.contains("src=\"http") && !ja.contains("href=\"http"))
        #expect(ja.contains(">\(s.threatsBlocked)</div>"))
        #expect(ja.contains(s.data.topByVisits[0].host))
        #expect(ja.contains("ロールバック (health check failed)"))
        var en = options
        en.language = "en"
        let english = Report.html(s, options: en, generatedAt: 1_733_000_000_000_000)
        #expect(english.contains("Monthly security report 2024-11") && english.contains("Top 30 sites by visits"))

        // utmctl report writes the same file; a week that holds nothing says so.
        let cli = Op.ctl(["report", "--store", "\(d)/events.db", "--month", "2024-11", "-o", "\(d)/report.html"])
        #expect(cli.status == 0, "\(cli.err)")
        #expect(FileManager.default.fileExists(atPath: "\(d)/report.html"))
        let weekly = Op.ctl(["report", "--store", "\(d)/events.db", "--week", "2024-11-11", "--json"])
        #expect(weekly.status == 0 && weekly.out.contains("\"threats_blocked\""))
        let empty = Op.ctl(["report", "--store", "\(d)/events.db", "--week", "2024-12-02"])
        #expect(empty.status == 0 && empty.out.contains("この期間の記録はありません"))
        #expect(empty.err.contains("no records"))
        let alerts = Op.ctl(["alerts", "--store", "\(d)/events.db", "--days", "10000", "--json"])
        #expect(alerts.status == 0 && alerts.out.split(separator: "\n").count == reachable.count, "\(alerts.err)")
    }
}
