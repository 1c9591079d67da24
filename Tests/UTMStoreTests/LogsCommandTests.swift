import Foundation
import Testing
@testable import UTMStore

/// `utmctl logs` as the support desk uses it, and the store surviving a killed writer.
@Suite struct LogsCommandTests {
    typealias F = StoreFixtures

    func oneLineFailure(_ r: CLI.Run, mentioning: String) {
        #expect(r.reason == .exit && r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("utmctl: ") == true, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(mentioning), "stderr: \(r.stderr)")
    }

    @Test func ingestThenSearchAndExport() throws {
        let eve = F.tempPath("cli") + ".eve"
        try Data((F.all + ["garbage"]).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: eve))
        let db = F.tempPath("cli")
        let ingest = try CLI.run(["logs", "ingest", "--store", db, eve])
        #expect(ingest.status == 0)
        #expect(ingest.stderr.contains("1 malformed skipped (line 10: not JSON)"), "\(ingest.stderr)")

        let table = try CLI.run(["logs", "--store", db, "--around", "2026-01-10T18:30:00+09:00", "--ip", "192.168.10.30"])
        #expect(table.status == 0)
        let rows = table.stdout.split(separator: "\n")
        #expect(rows.count == 3 && rows[0].hasPrefix("TIME (UTC)"), "\(table.stdout)")
        #expect(rows[1].contains("★★★ ET MALWARE Evil CnC Beacon") && rows[2].contains("virus: Eicar-Test-Signature"))

        let csv = try CLI.run(["logs", "--store", db, "--verdict", "blocked", "--format", "csv"])
        let csvLines = csv.stdout.split(separator: "\n")
        #expect(csvLines.count == 4 && csvLines[0] == Substring(LogFormat.columns.joined(separator: ",")))

        let jsonl = try CLI.run(["logs", "--store", db, "--type", "access", "--category", "adult", "--format", "jsonl"])
        let objects = try jsonl.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 1 && objects.first?["host"] as? String == "adult.example")

        let empty = try CLI.run(["logs", "--store", db, "--from", "2030-01-01"])
        #expect(empty.status == 0 && empty.stdout.isEmpty)
        #expect(empty.stderr.hasPrefix("utmctl: no records match (from 2030-01-01"), "\(empty.stderr)")
    }

    @Test func badInputIsOneLine() throws {
        let db = F.tempPath("bad")
        _ = try EventStore(path: db)
        oneLineFailure(try CLI.run(["logs", "--store", F.tempPath("absent")]), mentioning: "no event store here")
        oneLineFailure(try CLI.run(["logs"]), mentioning: "--store DB is required")
        oneLineFailure(try CLI.run(["logs", "--store", db, "--verdict", "maybe"]), mentioning: "--verdict must be allowed or blocked")
        oneLineFailure(try CLI.run(["logs", "--store", db, "--around", "last tuesday"]), mentioning: "is not a time")
        oneLineFailure(try CLI.run(["logs", "--store", db, "--ip", "300.1.1.1"]), mentioning: "is not an IPv4 or IPv6 address")
        oneLineFailure(try CLI.run(["logs", "--store", db, "--format", "xml"]), mentioning: "--format must be")
        oneLineFailure(try CLI.run(["logs", "--store", db, "--from", "2026-01-02", "--to", "2026-01-01"]), mentioning: "before --to")
        oneLineFailure(try CLI.run(["logs", "ingest", "--store", db, F.tempPath("none") + ".eve"]), mentioning: "cannot read EVE file")
        let notStore = F.tempPath("text")
        try Data("hello, this is not sqlite at all, not even close....................................".utf8)
            .write(to: URL(fileURLWithPath: notStore))
        oneLineFailure(try CLI.run(["logs", "--store", notStore]), mentioning: notStore)
    }

    /// A writer killed with SIGKILL in the middle of a long ingest: the file opens, SQLite finds
    /// it sound, and every batch the writer reported committed is there, whole.
    @Test func killedWriterLeavesASoundStore() throws {
        let eve = F.tempPath("kill") + ".eve"
        let total = 150_000
        var text = ""
        text.reserveCapacity(total * 260)
        for i in 0..<total { text += F.dns(i); text += "\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: eve))
        let db = F.tempPath("kill")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: try CLI.utmctl())
        p.arguments = ["logs", "ingest", "--store", db, "--batch", "500", "--progress", eve]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var seen = "", lastCommitted = 0
        while lastCommitted < 5000 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            var complete = seen.split(separator: "\n")
            if !seen.hasSuffix("\n") { complete.removeLast() }
            if let last = complete.last, let n = Int(last.dropFirst("committed ".count)) { lastCommitted = n }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the writer finished before it could be killed")

        let s = try EventStore(path: db)
        #expect(try s.integrityCheck() == "ok")
        let rows = try s.rowCount()
        #expect(rows >= lastCommitted && rows < total, "committed \(lastCommitted), found \(rows)")
        #expect(rows % 500 == 0, "only whole transactions")
        let hosts = try s.search(LogQuery(limit: 1)).map(\.host)
        #expect(hosts == ["host0.example.jp"])
        // The store takes new events after the crash.
        try s.ingest(lines: [F.alert(1, sid: 9)])
        #expect(try s.search(LogQuery(types: [.alert])).count == 1)
    }
}
