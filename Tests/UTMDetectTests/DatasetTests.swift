import Foundation
import Testing
import UTMCore
@testable import UTMDetect

/// `dataset` / `datarep` (session 9): list files, keyword options and their errors, the table
/// (set/unset, memcap full), the bundle carrying the sets' contents, and two engines sharing
/// their sets as utmd's workers do.
@Suite struct DatasetTests {
    /// A rule parser whose list files are `files` (path → text), rule files under /rules/.
    static func parser(_ files: [String: String]) -> RuleParser {
        var p = RuleParser()
        let copy = files
        p.fileReader = { path in
            guard let t = copy[path] else { throw FileMissing(path: path) }
            return Array(t.utf8)
        }
        return p
    }

    struct FileMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "no such file" }
    }

    static func load(_ rules: String, _ files: [String: String]) -> RuleSet {
        var p = parser(files)
        p.load(text: rules, file: "/rules/local.rules")
        return p.finish()
    }

    static func dataset(_ sig: Signature?) -> DatasetMatch? {
        for l in sig?.lists ?? [] { for case .dataset(let m) in l.elements { return m } }
        return nil
    }

    // MARK: List files

    @Test func listFilesOfEveryType() throws {
        var got: [[UInt8]] = []
        var reps: [UInt32] = []
        try DatasetList.parse(Array("ZXZpbC5leGFtcGxl\r\n\nYzIuYmFkLmNvbQ==,77\nYQ\n".utf8), type: .string) { k, r in
            got.append(k.bytes); reps.append(r)
        }
        #expect(got == [Array("evil.example".utf8), Array("c2.bad.com".utf8), Array("a".utf8)])
        #expect(reps == [0, 77, 0])
        got = []
        try DatasetList.parse(Array("d7e6c9a88a1b87f555809153562ff93a\nD7E6C9A88A1B87F555809153562FF93B,5\n".utf8), type: .md5) { k, _ in got.append(k.bytes) }
        #expect(got.count == 2 && got[0].count == 16 && got[0][0] == 0xd7 && got[1][15] == 0x3b)
        got = []
        try DatasetList.parse(Array("95a828a32d3362bf2c83c63cb90b010622ffd143c1a56f477ac2d6b9e82591d3".utf8), type: .sha256) { k, _ in got.append(k.bytes) }
        #expect(got.count == 1 && got[0].count == 32 && got[0].last == 0xd3, "a last line without LF counts")
        got = []
        try DatasetList.parse(Array("10.81.0.1\n0.0.0.0,9\n".utf8), type: .ipv4) { k, _ in got.append(k.bytes) }
        #expect(got == [[10, 81, 0, 1], [0, 0, 0, 0]])
        got = []
        try DatasetList.parse(Array("fd00:81::1\n10.81.0.2\n::ffff:10.81.0.3,40\n".utf8), type: .ip) { k, _ in got.append(k.bytes) }
        #expect(got.count == 3 && got[0].count == 16 && got[0][0] == 0xfd && got[0][15] == 1)
        #expect(got[1] == [10, 81, 0, 2])
        #expect(got[2].count == 16, "the parser keeps the mapped form; the set stores it as 4 bytes (normalized)")
    }

    /// Every bad line is an error naming its line; truncated lines too.
    @Test func badListLinesNameTheirLine() {
        func error(_ text: String, _ type: DatasetType) -> DatasetListError? {
            do { try DatasetList.parse(Array(text.utf8), type: type) { _, _ in }; return nil } catch { return error }
        }
        #expect(error("ZXZp\n!!!\n", .string)?.line == 2)
        #expect(error("ZXZpbC5leGFtcGxl,\n", .string)?.line == 1, "empty reputation")
        #expect(error("ZXZpbC5leGFtcGxl,65536\n", .string)?.reason.contains("reputation") == true)
        #expect(error("ZXZpbC5leGFtcGxl,-1\n", .string) != nil)
        #expect(error("Z===\n", .string) != nil && error("Z\n", .string) != nil && error("ZX=Z\n", .string) != nil)
        #expect(error("\n\nd7e6c9a88a1b87f555809153562ff93\n", .md5)?.line == 3, "31 digits: a truncated hash")
        #expect(error("d7e6c9a88a1b87f555809153562ff93az\n", .md5) != nil)
        #expect(error("95a828a32d3362bf2c83c63cb90b010622ffd143c1a56f477ac2d6b9e82591d\n", .sha256) != nil)
        #expect(error("10.81.0\n", .ipv4) != nil && error("10.81.0.256\n", .ipv4) != nil && error("10.81.00.1\n", .ipv4) != nil)
        #expect(error("10.81.0.1.\n", .ipv4) != nil && error("+1.2.3.4\n", .ipv4) != nil && error("fd00::1\n", .ipv4) != nil)
        #expect(error("fd00:::1\n", .ip) != nil && error("10.81.0.x\n", .ip) != nil)
        #expect(error("", .md5) == nil && error("\n \n", .sha256) == nil, "an empty list is an empty set")
        // Every prefix of a good file either parses or fails with a line number, never traps.
        let good = Array("ZXZpbC5leGFtcGxl,90\nYzIuYmFkLmNvbQ==\r\nb2suZXhhbXBsZQ==,10\n".utf8)
        for n in 0 ... good.count {
            do { try DatasetList.parse(Array(good.prefix(n)), type: .string) { _, _ in } } catch { #expect(error.line >= 1 && error.line <= 3) }
        }
    }

    // MARK: Keywords and their errors

    @Test func keywordsResolveLoadBesideTheRuleFile() throws {
        let set = Self.load("""
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2-domains,type string,load lists/c2.lst; sid:1;)
            alert dns any any -> any any (msg:"same set by name"; dns.query; dataset:isnotset,C2-Domains; sid:2;)
            alert dns any any -> any any (msg:"rep"; dns.query; to_lowercase; datarep:rep, >, 50, type string, load /abs/rep.lst; sid:3;)
            alert ip any any -> any any (msg:"ips"; ip.src; dataset:isset,bad-ips,type ip,load ips.lst,memcap 1mb,hashsize 1024; sid:4;)
            alert http any any -> any any (msg:"seen"; http.user_agent; dataset:set,ua-seen,type string,state ua.lst; sid:5;)
            """, ["/rules/lists/c2.lst": "ZXZpbC5leGFtcGxl\n", "/abs/rep.lst": "ZXZpbC5leGFtcGxl,90\n",
                  "/rules/ips.lst": "10.81.0.66\n"])
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors) \(set.report.skipped)")
        #expect(set.signatures.count == 5)
        let m1 = try #require(Self.dataset(set.signatures[0])), m2 = try #require(Self.dataset(set.signatures[1]))
        #expect(m1.set === m2.set && m1.op == .isSet && m2.op == .isNotSet, "one set, named case-insensitively")
        #expect(m1.set.load == "/rules/lists/c2.lst" && m1.set.count == 1)
        let m3 = try #require(Self.dataset(set.signatures[2]))
        #expect(m3.op == .repGreater && m3.value == 50 && m3.set.load == "/abs/rep.lst")
        #expect(set.signatures[2].lists.first?.transforms == [.toLowercase], "datarep goes to the transformed list")
        let m4 = try #require(Self.dataset(set.signatures[3]))
        #expect(set.signatures[3].lists.first?.buffer == .ipSrc && m4.set.type == .ip && m4.set.memcap == 1 << 20)
        let m5 = try #require(Self.dataset(set.signatures[4]))
        #expect(m5.op == .set && m5.set.isMutable && m5.set.count == 0, "a missing state file is an empty set")
        #expect(RuleListFile.resolve("x.lst", ruleFile: "local.rules") == "x.lst")
        #expect(RuleListFile.resolve("x.lst", ruleFile: "/etc/mimamori/rules/a.rules") == "/etc/mimamori/rules/x.lst")
    }

    @Test func keywordErrorsAreOneLineWithFileAndLine() {
        let files = ["/rules/c2.lst": "ZXZpbC5leGFtcGxl\n!!bad\n", "/rules/ok.lst": "ZXZpbC5leGFtcGxl\n"]
        let set = Self.load("""
            alert dns any any -> any any (msg:"no type"; dns.query; dataset:isset,nothing; sid:1;)
            alert dns any any -> any any (msg:"bad line"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:2;)
            alert dns any any -> any any (msg:"ok"; dns.query; dataset:isset,ok,type string,load ok.lst; sid:3;)
            alert dns any any -> any any (msg:"other type"; dns.query; dataset:isset,ok,type md5; sid:4;)
            alert dns any any -> any any (msg:"other file"; dns.query; dataset:isset,ok,type string,load other.lst; sid:5;)
            alert dns any any -> any any (msg:"missing file"; dns.query; dataset:isset,gone,type string,load gone.lst; sid:6;)
            alert tcp any any -> any any (msg:"no sticky buffer"; dataset:isset,ok; sid:7;)
            alert dns any any -> any any (msg:"bad op"; dns.query; dataset:check,ok; sid:8;)
            alert dns any any -> any any (msg:"bad type"; dns.query; dataset:isset,x,type sha1; sid:9;)
            alert dns any any -> any any (msg:"state and load"; dns.query; dataset:set,y,type string,state a.lst,load b.lst; sid:10;)
            alert dns any any -> any any (msg:"absolute state"; dns.query; dataset:set,y,type string,state /etc/passwd; sid:11;)
            alert dns any any -> any any (msg:"traversal"; dns.query; dataset:set,y,type string,save ../x.lst; sid:12;)
            alert dns any any -> any any (msg:"datarep op"; dns.query; datarep:ok,>=,5; sid:13;)
            alert dns any any -> any any (msg:"datarep value"; dns.query; datarep:ok,>,70000; sid:14;)
            alert dns any any -> any any (msg:"datarep load without type"; dns.query; datarep:z,>,1,load ok.lst; sid:15;)
            alert dns any any -> any any (msg:"space in name"; dns.query; dataset:isset,a b,type string; sid:16;)
            alert dns any any -> any any (msg:"format"; dns.query; dataset:isset,j,type string,format json; sid:17;)
            alert dns any any -> any any (msg:"bad memcap"; dns.query; dataset:set,m,type string,memcap lots; sid:18;)
            alert dns any any -> any any (msg:"option without value"; dns.query; dataset:isset,ok,load; sid:19;)
            alert dns any any -> any any (msg:"memcap too large"; dns.query; dataset:set,big,type string,memcap 100gb; sid:20;)
            """, files)
        #expect(set.signatures.map(\.sid) == [3])
        let all = set.report.errors + set.report.skipped
        func message(_ line: Int) -> String { all.first { $0.line == line }?.description ?? "(loaded)" }
        #expect(message(1).contains("local.rules:1") && message(1).contains("no type"))
        #expect(message(2).contains("/rules/c2.lst:2") && message(2).contains("not valid base64"), "\(message(2))")
        #expect(message(4).contains("declared as type string, here as md5"))
        #expect(message(5).contains("/rules/other.lst"))
        #expect(message(6).contains("cannot read '/rules/gone.lst'"))
        #expect(message(7).contains("sticky buffer"))
        #expect(message(8).contains("isset, isnotset, set or unset"))
        #expect(message(9).contains("bad type"))
        #expect(message(10).contains("can not be mixed"))
        #expect(message(11).contains("absolute") && message(12).contains("absolute paths and '..'"))
        #expect(message(13).contains("operator") && message(14).contains("reputation value"))
        #expect(message(15).contains("type must be set"))
        #expect(message(16).contains("spaces"))
        #expect(set.report.unsupportedKeywords["dataset"] == 1 && message(17).contains("format"))
        #expect(message(18).contains("memcap") && message(19).contains("needs a value"))
        #expect(message(20).contains("over the 64 MiB"), "room is reserved up front: \(message(20))")
        for e in all { #expect(!e.description.contains("\n")) }
    }

    /// A bad list line's error names the file, the line and why, never the line's text: a
    /// `load` may name any readable file (Suricata takes absolute and `..` load paths too), and
    /// the message goes to logs, `utmctl` and update reports (review 9b: `/etc/shadow`).
    @Test func listErrorsNeverEchoTheFile() {
        let secret = "root:$6$SECRETHASHSECRETHASH:19000:0:99999:7:::"
        var p = RuleParser()
        p.fileReader = { _ in Array("\(secret)\n".utf8) }
        p.load(text: """
            alert dns any any -> any any (dns.query; dataset:isset,x,type string,load ../../etc/shadow; sid:1;)
            alert dns any any -> any any (dns.query; dataset:isset,y,type md5,load /etc/shadow; sid:2;)
            alert ip any any -> any any (ip.src; dataset:isset,z,type ip,load /etc/shadow; sid:3;)
            alert ip any any -> any any (ip.src; dataset:isset,w,type ipv4,load /etc/shadow; sid:4;)
            alert dns any any -> any any (dns.query; datarep:r,>,1,type sha256,load /etc/shadow; sid:5;)
            """, file: "/rules/a.rules")
        let set = p.finish()
        let msgs = set.report.errors.map(\.description)
        #expect(msgs.count == 5, "\(msgs)")
        #expect(msgs[0].contains("/rules/../../etc/shadow:1: not valid base64 (47 bytes)"), "\(msgs[0])")
        #expect(msgs[1].contains("/etc/shadow:1: not a md5 (32 hex digits; 47 bytes)"), "\(msgs[1])")
        for m in msgs { #expect(!m.contains("SECRET") && !m.contains("root") && !m.contains("$6$"), "\(m)") }
        // The reputation field is not echoed either.
        do {
            try DatasetList.parse(Array("ZXZpbC5leGFtcGxl,SECRET\n".utf8), type: .string) { _, _ in }
            Issue.record("a bad reputation loaded")
        } catch { #expect(!error.reason.contains("SECRET") && error.reason.contains("reputation")) }
    }

    // MARK: The table

    @Test func setUnsetAndMemcapFull() throws {
        let d = Dataset(name: "seen", type: .string, memcap: 200)
        d.markMutable()
        d.reserve()
        func run(_ op: DatasetOp, _ s: String) -> Bool { Array(s.utf8).withByteView { DatasetMatch(set: d, op: op).matches($0) } }
        #expect(run(.isSet, "a.example") == false && run(.isNotSet, "a.example"))
        #expect(run(.set, "a.example"), "set matches when it added the value")
        #expect(run(.set, "a.example") == false, "and not when it was there")
        #expect(run(.isSet, "a.example") && !run(.isNotSet, "a.example"))
        #expect(run(.isSet, "A.example") == false, "bytes, not case-folded")
        #expect(run(.unset, "a.example") && !run(.unset, "a.example") && !run(.isSet, "a.example"))
        #expect(run(.isNotSet, "") == false && run(.set, "") == false, "an empty buffer never matches")
        // memcap 200: 200 / (32 + 24) = 3 entries of room, one used by a.example (an unset does
        // not give its room back): two more are added, the rest refused and counted.
        var added = 0
        for i in 0 ..< 10 where run(.set, "host\(i).example") { added += 1 }
        #expect(added == 2 && d.full == 8, "added \(added), full \(d.full)")
        #expect(run(.isSet, "host0.example") && !run(.isSet, "host5.example"))
        // A set no rule changes gets no room: a stray insert is refused, not allocated.
        let ro = Dataset(name: "ro", type: .md5)
        _ = [UInt8](repeating: 1, count: 16).withByteView { ro.insertLoaded($0, rep: 0) }
        ro.reserve()
        let key = [UInt8](repeating: 2, count: 16)
        #expect(key.withByteView { DatasetMatch(set: ro, op: .set).matches($0) } == false && ro.full == 1)
        #expect(ro.contains([UInt8](repeating: 1, count: 16)) && !ro.contains(Array(repeating: 1, count: 15)))
    }

    @Test func ipSetsHoldBothFamilies() throws {
        let d = Dataset(name: "ips", type: .ip)
        try DatasetList.parse(Array("10.81.0.1\nfd00:81::1,7\n::ffff:10.81.0.2\n".utf8), type: .ip) { k, r in d.insertLoaded(k, rep: r) }
        d.reserve()
        #expect(d.count == 3)
        #expect(d.contains([10, 81, 0, 1]) && d.contains([10, 81, 0, 2]))
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 81, 0, 1]
        #expect(d.contains(mapped), "an IPv4-mapped IPv6 address is the IPv4 member")
        #expect(d.contains([0xfd, 0, 0, 0x81] + [UInt8](repeating: 0, count: 11) + [1]))
        #expect(!d.contains([10, 81, 0, 3]) && !d.contains([10, 81, 0]))
        let v4 = Dataset(name: "v4", type: .ipv4)
        _ = [UInt8]([10, 81, 0, 1]).withByteView { v4.insertLoaded($0, rep: 0) }
        #expect(!v4.contains(mapped), "an ipv4 set takes 4-byte keys only")
    }

    /// Many keys with colliding probe windows, then every lookup still finds its own.
    @Test func manyMembersAndTombstones() {
        let d = Dataset(name: "many", type: .string)
        for i in 0 ..< 5000 { Array("k\(i)".utf8).withByteView { _ = d.insertLoaded($0, rep: UInt32(i % 65536)) } }
        d.markMutable()
        d.reserve()
        #expect(d.count == 5000)
        for i in stride(from: 0, to: 5000, by: 2) { _ = Array("k\(i)".utf8).withByteView { DatasetMatch(set: d, op: .unset).matches($0) } }
        var found = 0
        for i in 0 ..< 5000 where d.contains(Array("k\(i)".utf8)) { found += 1 }
        #expect(found == 2500 && d.count == 2500)
        #expect(Array("k4999".utf8).withByteView { DatasetMatch(set: d, op: .repEqual, value: 4999).matches($0) })
        #expect(Array("k4999".utf8).withByteView { DatasetMatch(set: d, op: .repGreater, value: 4999).matches($0) } == false)
    }

    /// A set no rule changes is read without the lock once the definitions are built (every
    /// worker forwards to the first worker's set, and an `ip.src; dataset:isset` rule looks up
    /// on every packet); only sets some rule `set`s or `unset`s keep it (review 9b).
    @Test func setsNoRuleChangesAreReadWithoutTheLock() throws {
        let rules = """
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert dns any any -> any any (msg:"rep"; dns.query; datarep:c2,>,5; sid:2;)
            alert ip any any -> any any (msg:"ips"; ip.src; dataset:isnotset,ips,type ip,load ips.lst; sid:3;)
            alert http any any -> any any (msg:"ua"; http.user_agent; dataset:set,ua,type string; sid:4;)
            alert http any any -> any any (msg:"host"; http.host; dataset:isset,hosts,type string,load c2.lst; sid:5;)
            alert http any any -> any any (msg:"forget"; http.uri; dataset:unset,hosts; sid:6;)
            """
        let files = ["/rules/c2.lst": "ZXZpbC5leGFtcGxl,9\n", "/rules/ips.lst": "10.81.0.9\n"]
        let a = DetectDefinitions(ruleSet: Self.load(rules, files))
        let b = DetectDefinitions(ruleSet: Self.load(rules, files))
        let ma = a.signatures.compactMap { Self.dataset($0) }
        #expect(ma.map(\.set.readsWithoutLock) == [true, true, true, false, false, false])
        #expect(Array("evil.example".utf8).withByteView { ma[0].matches($0) && ma[1].matches($0) })
        #expect([UInt8]([10, 81, 0, 9]).withByteView { ma[2].matches($0) } == false)
        #expect([UInt8]([10, 81, 0, 8]).withByteView { ma[2].matches($0) })
        #expect(ma[0].set.count == 1 && ma[0].set.members().count == 1 && !ma[0].set.isMutable)
        // Definitions built again over the same parse reserve the same sets again: no change.
        let parsed = Self.load(rules, files)
        let once = DetectDefinitions(ruleSet: parsed), twice = DetectDefinitions(ruleSet: parsed)
        #expect(once.datasets.count == 4 && twice.datasets.map(\.count) == once.datasets.map(\.count))
        #expect(Array("evil.example".utf8).withByteView { Self.dataset(twice.signatures[0])!.matches($0) })
        // A second worker's sets forward to the first's: still lock-free, still the members.
        let ea = DetectEngine(definitions: a)
        _ = DetectEngine(definitions: b, sharing: ea.hostState)
        let mb = b.signatures.compactMap { Self.dataset($0) }
        #expect(mb[0].set !== ma[0].set && mb[0].set.readsWithoutLock && mb[0].set.count == 1)
        #expect(Array("evil.example".utf8).withByteView { mb[0].matches($0) && mb[1].matches($0) })
        #expect(Array("curl/8".utf8).withByteView { mb[3].matches($0) } && ma[3].set.contains(Array("curl/8".utf8)))
        // The bundle keeps which sets rules change.
        let back = try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: a), file: "t.bundle")
        #expect(back.signatures.compactMap { Self.dataset($0) }.map(\.set.readsWithoutLock) == [true, true, true, false, false, false])
    }

    /// The room sets rules change reserve up front has a total limit (Suricata's
    /// `datasets.limits.total-hashsizes`): 200 `dataset:set` rules reserved 267 MB before
    /// (review 9b); the rules beyond the limit fail with one line, the rest load; a bundle over
    /// the limit does not decode.
    @Test func roomForSetHasATotalLimit() throws {
        var text = ""
        for i in 0 ..< 200 { text += "alert dns any any -> any any (dns.query; dataset:set,s\(i),type string; sid:\(i + 1);)\n" }
        let set = Self.load(text, [:])
        let fit = Dataset.maxTotalRoom / Dataset.room(type: .string, memcap: 0)
        #expect(fit >= 40 && set.signatures.count == fit, "\(set.signatures.count) loaded")
        #expect(set.report.errors.count == 200 - fit)
        let first = set.report.errors.first?.description ?? ""
        #expect(first.contains("local.rules:\(fit + 1)") && first.contains("s\(fit)") && first.contains("64 MiB"), "\(first)")
        let rss0 = Self.rssKiB()
        let defs = DetectDefinitions(ruleSet: set)
        print("Dataset room: \(defs.datasets.count) sets, RSS +\(Self.rssKiB() - rss0) KiB")
        #expect(defs.datasets.count == fit)
        // memcap counts: one 64 MiB set takes it all; a set only read costs no room.
        let big = Self.load("""
            alert dns any any -> any any (dns.query; dataset:set,big,type string,memcap 64mb; sid:1;)
            alert dns any any -> any any (dns.query; dataset:set,more,type md5,memcap 1kb; sid:2;)
            alert dns any any -> any any (dns.query; dataset:isset,read,type md5; sid:3;)
            alert dns any any -> any any (dns.query; dataset:unset,big; sid:4;)
            """, [:])
        #expect(big.signatures.map(\.sid) == [1, 3, 4], "\(big.report.errors)")
        // A bundle joining two rule sets that each fit, over the limit together, is refused.
        var half = ""
        for i in 0 ..< fit { half += "alert dns any any -> any any (dns.query; dataset:set,t\(i),type string; sid:\(i + 1);)\n" }
        let one = Self.load(half, [:]), two = Self.load(half.replacingOccurrences(of: "set,t", with: "set,u"), [:])
        #expect(one.signatures.count == fit && two.signatures.count == fit)
        let joined = SignatureCodec.encode(one.signatures + two.signatures, flowbitNames: one.flowbitNames)
        #expect(throws: (any Error).self) { _ = try joined.withByteView { try SignatureCodec.decode($0) } }
        let alone = SignatureCodec.encode(one.signatures, flowbitNames: one.flowbitNames)
        _ = try alone.withByteView { try SignatureCodec.decode($0) }
    }

    static func rssKiB() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for l in s.split(separator: "\n") where l.hasPrefix("VmRSS:") { return Int(l.split(separator: " ")[1]) ?? 0 }
        return 0
    }

    // MARK: Bundle

    /// The bundle carries each set once with its members; a rule naming it again refers to it;
    /// a truncated or altered bundle is an error, never a trap.
    @Test func bundleCarriesTheSets() throws {
        let set = Self.load("""
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert dns any any -> any any (msg:"not c2"; dns.query; dataset:isnotset,c2; sid:2;)
            alert dns any any -> any any (msg:"rep"; dns.query; datarep:c2,==,9; sid:3;)
            alert ip any any -> any any (msg:"ips"; ip.dst; dataset:isset,ips,type ip,load ips.lst; sid:4;)
            alert http any any -> any any (msg:"ua"; http.user_agent; dataset:set,ua,type string,memcap 64kb; sid:5;)
            """, ["/rules/c2.lst": "ZXZpbC5leGFtcGxl,9\nYzIuYmFkLmNvbQ==\n", "/rules/ips.lst": "10.81.0.9\nfd00:81::9\n"])
        #expect(set.report.errors.isEmpty)
        let defs = DetectDefinitions(ruleSet: set)
        #expect(defs.datasets.count == 3)
        let bytes = DefinitionsBundle.encode(definitions: defs)
        let back = try DefinitionsBundle.decode(bytes, file: "t.bundle")
        #expect(back.datasets.count == 3)
        let sets = back.signatures.compactMap { Self.dataset($0) }
        #expect(sets.count == 5 && sets[0].set === sets[1].set && sets[1].set === sets[2].set, "one set, referred to")
        #expect(sets[0].set.count == 2 && sets[0].set.contains(Array("evil.example".utf8)) && sets[0].set.load == "/rules/c2.lst")
        #expect(sets[2].op == .repEqual && sets[2].value == 9)
        #expect(Array("evil.example".utf8).withByteView { sets[2].matches($0) })
        #expect(Array("c2.bad.com".utf8).withByteView { sets[2].matches($0) } == false, "rep 0")
        #expect(sets[3].set.type == .ip && sets[3].set.contains([10, 81, 0, 9]))
        #expect(sets[4].set.isMutable && sets[4].set.memcap == 64 << 10)
        #expect(back.signatures[3].lists.first?.buffer == .ipDst)
        // Re-encoding the decoded definitions gives the same bytes.
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        // Every truncation, and a flipped byte in each position of the signatures, is an error.
        for n in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: BundleError.self) { _ = try DefinitionsBundle.decode(Array(bytes.prefix(n)), file: "t.bundle") }
        }
        for i in stride(from: 0, to: bytes.count, by: 5) {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(throws: BundleError.self) { _ = try DefinitionsBundle.decode(damaged, file: "t.bundle") }
        }
    }

    /// The codec alone (no checksum in the way): tampered dataset bytes are refused cleanly.
    @Test func tamperedDatasetSectionIsAnError() throws {
        let set = Self.load("""
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type md5,load c2.lst; sid:1;)
            alert dns any any -> any any (msg:"again"; dns.query; dataset:isnotset,c2; sid:2;)
            """, ["/rules/c2.lst": "d7e6c9a88a1b87f555809153562ff93a\n"])
        let encoded = SignatureCodec.encode(set.signatures, flowbitNames: set.flowbitNames)
        _ = try encoded.withByteView { try SignatureCodec.decode($0) }
        var failures = 0
        for i in 4 ..< encoded.count {
            for v: UInt8 in [0, 0xff, 200, 201] {
                var t = encoded
                t[i] = v
                do { _ = try t.withByteView { try SignatureCodec.decode($0) } } catch { failures += 1 }
            }
            do { _ = try Array(encoded.prefix(i)).withByteView { try SignatureCodec.decode($0) } } catch { failures += 1 }
        }
        #expect(failures > 0)
    }

    // MARK: Sharing

    /// Two engines over two parses of the same rules (utmd's workers) share their sets: a value
    /// `set` through one is set for the other; a reload carries what `set` learned.
    @Test func setIsSharedBetweenEnginesAndCarriedOnReload() throws {
        let rules = "alert http any any -> any any (msg:\"seen\"; http.user_agent; dataset:set,ua,type string; sid:1;)"
        let a = DetectDefinitions(ruleSet: Self.load(rules, [:]))
        let b = DetectDefinitions(ruleSet: Self.load(rules, [:]))
        let ea = DetectEngine(definitions: a)
        _ = DetectEngine(definitions: b, sharing: ea.hostState)
        let ma = try #require(Self.dataset(a.signatures[0])), mb = try #require(Self.dataset(b.signatures[0]))
        #expect(ma.set !== mb.set)
        #expect(Array("curl/8".utf8).withByteView { ma.matches($0) }, "added through worker A")
        #expect(Array("curl/8".utf8).withByteView { mb.matches($0) } == false, "already set for worker B")
        #expect(mb.set.count == 1 && mb.set.contains(Array("curl/8".utf8)))
        // A reload: new definitions, new shared state carrying the old one's members.
        let c = DetectDefinitions(ruleSet: Self.load(rules, [:]))
        let ec = DetectEngine(definitions: c)
        ec.hostState.carry(from: ea.hostState, now: 0)
        let mc = try #require(Self.dataset(c.signatures[0]))
        #expect(mc.set.contains(Array("curl/8".utf8)), "what set learned survives the reload")
        #expect(Array("wget".utf8).withByteView { mc.matches($0) })
    }

    /// A reload carries what rules did, not the old list: a false positive taken out of the
    /// list file is gone after the reload (review 9b), a member `set` learned stays, and a
    /// listed member an `unset` removed stays removed.
    @Test func reloadCarriesWhatRulesLearnedNotTheOldList() throws {
        let rules = """
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert http any any -> any any (msg:"learn"; http.host; dataset:set,c2; sid:2;)
            alert http any any -> any any (msg:"forget"; http.uri; dataset:unset,c2; sid:3;)
            """
        // fp.example, gone.example; then the list without fp.example.
        let old = DetectDefinitions(ruleSet: Self.load(rules, ["/rules/c2.lst": "ZnAuZXhhbXBsZQ==\nZ29uZS5leGFtcGxl\n"]))
        let eo = DetectEngine(definitions: old)
        let mo = old.signatures.compactMap { Self.dataset($0) }
        #expect(Array("learned.example".utf8).withByteView { mo[1].matches($0) })
        #expect(Array("gone.example".utf8).withByteView { mo[2].matches($0) })
        let new = DetectDefinitions(ruleSet: Self.load(rules, ["/rules/c2.lst": "Z29uZS5leGFtcGxl\nbmV3LmV4YW1wbGU=\n"]))
        let en = DetectEngine(definitions: new)
        en.hostState.carry(from: eo.hostState, now: 0)
        let d = try #require(Self.dataset(new.signatures[0])).set
        #expect(!d.contains(Array("fp.example".utf8)), "removed from the list: not a member after the reload")
        #expect(d.contains(Array("learned.example".utf8)), "what set learned survives")
        #expect(!d.contains(Array("gone.example".utf8)), "what unset removed stays removed")
        #expect(d.contains(Array("new.example".utf8)) && d.count == 2)
        // A second reload still carries the learned member (it was carried, not listed).
        let again = DetectDefinitions(ruleSet: Self.load(rules, ["/rules/c2.lst": "bmV3LmV4YW1wbGU=\n"]))
        let ea = DetectEngine(definitions: again)
        ea.hostState.carry(from: en.hostState, now: 0)
        let d2 = try #require(Self.dataset(again.signatures[0])).set
        #expect(d2.contains(Array("learned.example".utf8)) && d2.contains(Array("new.example".utf8)) && d2.count == 2)
        // The reviewer's case on the sets themselves.
        let o = Dataset(name: "s", type: .string, load: "/r/s.lst")
        o.markMutable()
        Array("fp.example".utf8).withByteView { _ = o.insertLoaded($0, rep: 0) }
        o.reserve()
        let n = Dataset(name: "s", type: .string, load: "/r/s.lst")
        n.markMutable()
        Array("good".utf8).withByteView { _ = n.insertLoaded($0, rep: 0) }
        n.reserve()
        Dataset.carry(into: [n], from: [o])
        #expect(!n.contains(Array("fp.example".utf8)) && n.contains(Array("good".utf8)))
    }
}
