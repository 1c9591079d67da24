import Foundation
import Testing
@testable import UTMStore

@Suite struct EventStoreTests {
    typealias F = StoreFixtures

    func store(_ name: String, _ config: EventStoreConfig = EventStoreConfig()) throws -> (EventStore, String) {
        let path = F.tempPath(name)
        return (try EventStore(path: path, config: config), path)
    }

    /// The engine's alert of a `dns.query` rule names the queried host (the report's "site").
    @Test func dnsRuleAlertKeepsTheQueriedName() throws {
        let (s, _) = try store("dnsalert")
        let line = #"{"timestamp":"2026-01-10T09:02:00.000000+0000","flow_id":103,"event_type":"alert","src_ip":"192.168.10.32","src_port":50020,"dest_ip":"192.168.10.1","dest_port":53,"proto":"UDP","app_proto":"dns","alert":{"action":"allowed","gid":1,"signature_id":2027863,"rev":1,"signature":"ET INFO Observed DNS Query to .cloud TLD","category":"Potentially Bad Traffic","severity":2},"dns":{"query":[{"type":"query","id":4660,"rrname":"c2.evil.cloud","rrtype":"A"}]}}"#
        let r = try s.ingest(lines: [line])
        #expect(r.alerts == 1 && r.malformed == 0)
        let a = try #require(try s.search(LogQuery(types: [.alert])).first)
        #expect(a.host == "c2.evil.cloud" && a.signatureID == 2027863)
    }

    @Test func handWrittenEventsLandInTheirTables() throws {
        let (s, _) = try store("hand")
        let r = try s.ingest(lines: F.all)
        #expect(r.alerts == 2 && r.files == 2 && r.malformed == 0)
        #expect(r.access == 3, "tls block + adult http + old dns; the drop duplicates the tls block")
        #expect(r.flowsMerged == 1)

        let alerts = try s.search(LogQuery(types: [.alert]))
        let a = try #require(alerts.first)
        #expect(a.severity == 3 && a.stars == "★★★")
        #expect(a.verdict == "blocked" && a.signatureID == 2019401 && a.name == "ET MALWARE Evil CnC Beacon")
        #expect(a.srcMAC == "aa:bb:cc:00:00:30" && a.destMAC == "aa:bb:cc:00:00:01")
        #expect(a.url == "http://evil.example/gate.php?id=7")
        #expect(alerts[1].severity == 1 && alerts[1].verdict == "allowed" && alerts[1].host == "api.example")

        let files = try s.search(LogQuery(types: [.file]))
        #expect(files.map(\.name) == ["Eicar-Test-Signature", nil])
        #expect(files.map(\.verdict) == ["blocked", "allowed"])
        #expect(files[0].sha256?.count == 64 && files[0].fileSize == 68 && files[0].fileName == "/eicar.com")

        let access = try s.search(LogQuery(types: [.access]))
        #expect(access.map(\.host) == ["old.example", "login.phish.example", "adult.example"])
        #expect(access[1].verdict == "blocked" && access[1].category == "security" && access[1].eventType == "tls")
        #expect(access[2].verdict == "allowed" && access[2].category == "adult")
        #expect(access[2].app == "HTTP" && access[2].bytesToServer == 400 && access[2].bytesToClient == 9000)
        #expect(access[0].srcMAC == nil, "MAC stays null until the live path reports it")
    }

    @Test func searchesByWindowDeviceCategoryAndVerdict() throws {
        let (s, _) = try store("search")
        try s.ingest(lines: F.all)
        let incident = try #require(EventTime.parse("2026-01-10T18:30:00+09:00"))
        let w = LogQuery.around(incident)
        #expect(w.from == EventTime.parse("2026-01-07T09:30:00Z"))
        let inWindow = try s.search(LogQuery(from: w.from, to: w.to))
        #expect(inWindow.count == 6 && !inWindow.contains { $0.host == "old.example" })
        #expect(try s.search(LogQuery()).count == 7)

        let device = try s.search(LogQuery(ip: "192.168.10.30"))
        #expect(Set(device.map(\.type)) == [.alert, .file, .access], "either end of the traffic matches")
        #expect(try s.search(LogQuery(mac: "AA-BB-CC-00-00-30")).count == 1)
        #expect(try s.search(LogQuery(category: "SECURITY")).map(\.host) == ["login.phish.example"])
        let blocked = try s.search(LogQuery(verdict: "blocked"))
        #expect(blocked.map(\.type) == [.alert, .file, .access])
        #expect(try s.search(LogQuery(verdict: "allowed", types: [.access])).count == 2)
        #expect(try s.search(LogQuery(limit: 2)).count == 2)
        #expect(try s.search(LogQuery(from: EventTime.parse("2030-01-01"))).isEmpty)
    }

    @Test func malformedLinesAreCountedAndSkipped() throws {
        let (s, _) = try store("malformed")
        let lines = [F.alert, "not json at all", "{\"event_type\":\"alert\"}", "[1,2]",
                     "{\"timestamp\":\"yesterday\",\"event_type\":\"dns\"}", "", F.virus,
                     "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"alert\"}"]
        let r = try s.ingest(lines: lines)
        #expect(r.malformed == 5 && r.alerts == 1 && r.files == 1)
        #expect(r.problems.count == 3)
        #expect(r.problems[0] == "line 2: not JSON")
        #expect(r.problems[1] == "line 3: no timestamp")
        #expect(r.summary.contains("5 malformed skipped (line 2: not JSON; line 3: no timestamp; line 4: not a JSON object)"))
    }

    @Test func replayOfTheSampleCaptureIsSearchable() throws {
        let eve = F.tempPath("sample") + ".eve"
        let run = try CLI.run(["replay", F.root.appendingPathComponent("Tests/Fixtures/sample-office.pcap").path, "--eve", eve])
        #expect(run.status == 0)
        let (s, _) = try store("replay")
        let r = try s.ingest(file: eve)
        #expect(r.malformed == 0 && r.access == 5 && r.flowsMerged == 4 && r.alerts == 0)
        let all = try s.search(LogQuery())
        #expect(all.map(\.eventType) == ["dns", "http", "http", "tls", "http"])
        #expect(all[3].host == "portal.example.jp" && all[3].app == "TLS")
        // Bytes go to the first transaction of a flow only, so sums count each byte once.
        #expect(all[1].bytesToServer == 601 && all[2].bytesToServer == nil)
        #expect(try s.search(LogQuery(ip: "2001:0db8:0000:0000:0000:0000:0000:0020")).map(\.url)
                == ["http://files.example.jp:8080/upload"])
        #expect(all[4].srcIP == "2001:db8::20")
        // The capture is Ethernet: every record carries the MACs, and the device table pairs them
        // with the private addresses (the DNS server's side is 192.168.10.1; the web servers are public).
        #expect(all.allSatisfy { $0.srcMAC == "02:00:00:00:00:01" && $0.destMAC == "02:00:00:00:00:02" })
        #expect(try s.search(LogQuery(mac: "02:00:00:00:00:01")).count == 5)
        let devices = try s.devices()
        #expect(Set(devices.map { "\($0.mac) \($0.ip ?? "-")" }) == ["02:00:00:00:00:01 192.168.10.20", "02:00:00:00:00:02 192.168.10.1"])
    }

    @Test func rowCapPrunesOldestFirst() throws {
        var c = EventStoreConfig()
        c.maxRows = 100
        c.batchLines = 30
        let (s, _) = try store("rows", c)
        try s.ingest(lines: (0..<250).map { F.dns($0) })
        #expect(try s.rowCount() == 100)
        let left = try s.search(LogQuery())
        #expect(left.first?.host == "host150.example.jp" && left.last?.host == "host249.example.jp")
        // Alerts compete in the same order: older alerts go before newer access rows.
        try s.ingest(lines: [F.alert(10, sid: 1), F.alert(400, sid: 2)])
        #expect(try s.search(LogQuery(types: [.alert])).map(\.signatureID) == [2])
    }

    @Test func byteCapHolds() throws {
        var c = EventStoreConfig()
        c.maxBytes = 256 << 10
        let (s, _) = try store("bytes", c)
        try s.ingest(lines: (0..<6000).map { F.dns($0) })
        #expect(try s.usedBytes() <= c.maxBytes)
        let n = try s.rowCount()
        #expect(n > 100 && n < 6000)
        #expect(try s.search(LogQuery()).last?.host == "host5999.example.jp", "the newest rows stay")
        #expect(try s.integrityCheck() == "ok")
    }

    @Test func fileIsPrivateVersionedAndReopens() throws {
        let (s, path) = try store("schema")
        try s.ingest(lines: [F.alert])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try s.db.scalar("PRAGMA user_version") == Int64(EventStore.schemaVersion))
        let jm = try s.db.prepare("PRAGMA journal_mode")
        try jm.bind([])
        _ = try jm.step()
        #expect(jm.text(0) == "wal")

        let again = try EventStore(path: path)
        #expect(try again.search(LogQuery()).count == 1)
        try again.db.exec("PRAGMA user_version=99")
        #expect(throws: StoreError.self) { try EventStore(path: path) }
        do { _ = try EventStore(path: path, readOnly: true) } catch let e as StoreError {
            #expect(e.description.contains("newer than this software"))
            #expect(!e.description.contains("\n"))
        }
        #expect(throws: StoreError.self) { try EventStore(path: F.tempPath("missing"), readOnly: true) }
    }

    @Test func exportShapes() throws {
        let (s, _) = try store("export")
        try s.ingest(lines: F.all + [F.dns(1, host: 50).replacingOccurrences(of: "host1.example.jp", with: "=cmd|calc")])
        let records = try s.search(LogQuery())
        let header = try #require(LogFormat.csv.header())
        #expect(header.split(separator: ",").count == LogFormat.columns.count)
        for r in records {
            let line = LogFormat.csv.line(r)
            #expect(csvFields(line).count == LogFormat.columns.count, "\(line)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(LogFormat.jsonl.line(r).utf8)) as? [String: Any])
            #expect(Set(json.keys).isSubset(of: Set(LogFormat.columns)))
            #expect(json["time"] as? String == EventTime.format(r.time) && json["type"] as? String == r.type.rawValue)
            #expect(!LogFormat.table.line(r).contains("\n"))
        }
        let adult = try #require(records.first { $0.host == "adult.example" })
        #expect(csvFields(LogFormat.csv.line(adult))[12] == "http://adult.example/a,b", "quoted comma")
        let formula = try #require(records.first { $0.host == "=cmd|calc" })
        #expect(LogFormat.csv.line(formula).contains("\"'=cmd|calc\""), "no spreadsheet formula from a hostname")
    }

    /// RFC 4180 split, enough for the test.
    func csvFields(_ line: String) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = Array(line), i = 0
        while i < it.count {
            let c = it[i]
            if quoted {
                if c == "\"" { if i + 1 < it.count && it[i + 1] == "\"" { cur.append("\""); i += 1 } else { quoted = false } }
                else { cur.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { out.append(cur); cur = "" }
            else { cur.append(c) }
            i += 1
        }
        out.append(cur)
        it.removeAll()
        return out
    }
}

/// Runs the utmctl that `swift build` made next to the test binary.
enum CLI {
    struct Run { var status: Int32; var reason: Process.TerminationReason; var stdout: String; var stderr: String }

    static func utmctl() throws -> String {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("utmctl").path,
                          StoreFixtures.root.appendingPathComponent(".build/debug/utmctl").path]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("utmctl not built; run swift build first (looked in \(candidates))")
            throw CocoaError(.fileNoSuchFile)
        }
        return found
    }

    static func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try utmctl())
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, reason: p.terminationReason,
                   stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
