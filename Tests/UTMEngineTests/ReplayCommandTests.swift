import Foundation
import Testing

/// The command-line contract of `utmctl replay` (DESIGN.md): bad input gives a one-line reason
/// and a non-zero exit, never a crash; a good capture gives events and a JSON summary line.
@Suite struct ReplayCommandTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sample = root.appendingPathComponent("Tests/Fixtures/sample-office.pcap").path

    struct Run { var status: Int32; var reason: Process.TerminationReason; var stdout: String; var stderr: String }

    /// The utmctl that `swift build` made next to this test binary.
    static func utmctl() throws -> String {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("utmctl").path,
                          root.appendingPathComponent(".build/debug/utmctl").path]
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

    static func temp(_ name: String, _ bytes: Data) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-\(getpid())-\(name)")
        try bytes.write(to: url)
        return url.path
    }

    /// A failure is one line on stderr naming the file, exit status 1, and no signal.
    func expectOneLineFailure(_ r: Run, mentioning: String) {
        #expect(r.reason == .exit, "utmctl died from a signal")
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("utmctl: ") }
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(lines.first?.contains(mentioning) == true, "stderr: \(r.stderr)")
    }

    @Test func goodCaptureWritesEventsAndSummary() throws {
        let r = try Self.run(["replay", Self.sample, "--eve", "-"])
        #expect(r.status == 0 && r.reason == .exit)
        #expect(r.stdout.split(separator: "\n").count == 11)
        let summaryLine = try #require(r.stderr.split(separator: "\n").last)
        let summary = try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any]
        for key in ["packets", "bytes", "seconds", "load_seconds", "alerts", "peak_rss_bytes"] {
            #expect(summary?[key] != nil, "summary lacks \(key)")
        }
        #expect(summary?["packets"] as? Int == 34)
    }

    @Test func missingFile() throws {
        expectOneLineFailure(try Self.run(["replay", "/nonexistent/capture.pcap"]), mentioning: "/nonexistent/capture.pcap")
    }

    @Test func garbageFile() throws {
        let path = try Self.temp("garbage.pcap", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        expectOneLineFailure(try Self.run(["replay", path]), mentioning: path)
    }

    @Test func unknownLinkType() throws {
        var header = Data([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0])
        header.append(contentsOf: [147, 0, 0, 0]) // LINKTYPE_USER0
        let path = try Self.temp("user0.pcap", header)
        expectOneLineFailure(try Self.run(["replay", path]), mentioning: "link type")
    }

    /// Cut the sample at many lengths: the run ends with events for what was readable and a
    /// one-line error for the damage, or succeeds when the cut falls between records.
    @Test func truncatedCaptures() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.sample))
        for cut in stride(from: 1, to: whole.count, by: 97) {
            let path = try Self.temp("cut\(cut).pcap", whole.prefix(cut))
            let r = try Self.run(["replay", path, "--eve", "/dev/null"])
            #expect(r.reason == .exit, "signal at cut \(cut)")
            if r.status != 0 { expectOneLineFailure(r, mentioning: path) }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func unwritableEveOutput() throws {
        expectOneLineFailure(try Self.run(["replay", Self.sample, "--eve", "/nonexistent/dir/eve.json"]),
                             mentioning: "/nonexistent/dir/eve.json")
    }
}
