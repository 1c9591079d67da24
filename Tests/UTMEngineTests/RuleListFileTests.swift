import Foundation
import Testing
import UTMCore
import UTMSystem
@testable import UTMDetect

/// Files beside the rules (RuleListFile.swift): dataset lists and hash lists are read by the one
/// reader the loaders give (`RuleParser.fileReader`), resolved beside the rule file, bounded in
/// size, and a file that cannot be read fails its rule with one line that never shows its bytes.
@Suite struct RuleListFileTests {
    /// A reader over `files` that records every path asked for.
    final class Served: @unchecked Sendable {
        let files: [String: String]
        var asked: [String] = []
        init(_ files: [String: String]) { self.files = files }
        struct Missing: Error, CustomStringConvertible { var description: String { "no such file" } }
        func read(_ path: String) throws -> [UInt8] {
            asked.append(path)
            guard let t = files[path] else { throw Missing() }
            return Array(t.utf8)
        }
    }

    static func load(_ rules: String, _ served: Served) -> RuleSet {
        var p = RuleParser()
        p.fileReader = { try served.read($0) }
        p.load(text: rules, file: "/etc/mimamori/rules/local.rules")
        return p.finish()
    }

    @Test func bothListKindsGoThroughTheOneReader() {
        let served = Served([
            "/etc/mimamori/rules/c2.lst": "ZXZpbC5leGFtcGxl\n",
            "/etc/mimamori/rules/bad.md5": "0123456789abcdef0123456789abcdef  a.exe\n",
            "/abs/rep.lst": "ZXZpbC5leGFtcGxl,90\n",
        ])
        let set = Self.load("""
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert http any any -> any any (msg:"md5"; filemd5:bad.md5; sid:2;)
            alert dns any any -> any any (msg:"rep"; dns.query; datarep:r,>,50,type string,load /abs/rep.lst; sid:3;)
            """, served)
        #expect(set.signatures.map(\.sid) == [1, 2, 3], "\(set.report.errors + set.report.skipped)")
        #expect(served.asked == ["/etc/mimamori/rules/c2.lst", "/etc/mimamori/rules/bad.md5", "/abs/rep.lst"])
        #expect(RuleListFile.resolve("x.lst", ruleFile: "") == "x.lst")
        #expect(RuleListFile.resolve("x.lst", ruleFile: "a.rules") == "x.lst")
        #expect(RuleListFile.resolve("/x.lst", ruleFile: "/r/a.rules") == "/x.lst")
    }

    /// Missing files: one line naming the path and why, for both kinds; a file whose lines do
    /// not parse: its path and line, never its text (it may be any readable file).
    @Test func unreadableAndBadFilesFailWithOneLine() {
        let secret = "root:$6$SECRETHASHSECRETHASH:19000:0:99999:7:::"
        let served = Served(["/etc/shadow": secret + "\n"])
        let set = Self.load("""
            alert dns any any -> any any (msg:"gone"; dns.query; dataset:isset,g,type string,load gone.lst; sid:1;)
            alert http any any -> any any (msg:"gone"; filesha256:gone.sha256; sid:2;)
            alert http any any -> any any (msg:"shadow"; filemd5:/etc/shadow; sid:3;)
            alert dns any any -> any any (msg:"shadow"; dns.query; dataset:isset,s,type md5,load /etc/shadow; sid:4;)
            """, served)
        let msgs = set.report.errors.map(\.description)
        #expect(set.signatures.isEmpty && msgs.count == 4, "\(msgs)")
        #expect(msgs[0].contains("dataset 'g': cannot read '/etc/mimamori/rules/gone.lst': no such file"), "\(msgs[0])")
        #expect(msgs[1].contains("filesha256: cannot read '/etc/mimamori/rules/gone.sha256': no such file"), "\(msgs[1])")
        #expect(msgs[2].contains("/etc/shadow:1") && msgs[3].contains("/etc/shadow:1"), "\(msgs)")
        for m in msgs { #expect(!m.contains("\n") && !m.contains("SECRET") && !m.contains("$6$"), "\(m)") }
    }

    /// The loaders' reader (`readWholeFile` with `RuleListFile.maxBytes`) stops at its bound:
    /// an endless file fails with one line instead of filling memory.
    @Test func theLoadersReaderIsBounded() throws {
        let limit = 64 << 10
        do {
            _ = try readWholeFile("/dev/zero", limit: limit)
            Issue.record("/dev/zero read to its end")
        } catch {
            let m = "\(error)"
            #expect(m.contains("/dev/zero") && m.contains("not a regular file") && !m.contains("\n"), "\(m)")
        }
        // A FIFO (nobody writing) is refused at once instead of blocking the load.
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("cleanup-fifo-\(getpid())").path
        defer { unlink(fifo) }
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: (any Error).self) { try readWholeFile(fifo, limit: limit) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cleanup-list-\(getpid()).lst").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 0x41, count: 1000).write(to: URL(fileURLWithPath: path))
        #expect(try readWholeFile(path, limit: 1000).count == 1000)
        #expect(throws: (any Error).self) { try readWholeFile(path, limit: 999) }
        #expect(RuleListFile.maxBytes == 128 << 20)
    }
}
