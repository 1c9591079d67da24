import Foundation
import Testing

/// Datasets through `utmctl` (session 9): `rules check` loads dataset rules with their list
/// files beside the rule file and names a bad list line by file:line; `defs compile` puts the
/// sets into the bundle, which replays the same alerts once the list files are gone.
@Suite struct DatasetCLITests {
    typealias R = ReplayCommandTests

    @Test func rulesCheckCompileAndReplayWithoutTheLists() throws {
        let c2 = try R.temp("ds-names.lst", Data((Data("example.com".utf8).base64EncodedString() + "\n").utf8))
        let bad = try R.temp("ds-bad.lst", Data("ZXZpbC5leGFtcGxl\nnot base64!\n".utf8))
        let name = { (p: String) in (p as NSString).lastPathComponent }
        let rules = try R.temp("ds.rules", Data("""
            alert dns any any -> any any (msg:"not listed"; dns.query; dataset:isnotset,names,type string,load \(name(c2)); sid:1;)
            alert ip any any -> any any (msg:"any source"; ip.src; dataset:isnotset,nobody,type ip,load \(name(c2)); sid:2;)
            alert dns any any -> any any (msg:"bad list"; dns.query; dataset:isset,bad,type string,load \(name(bad)); sid:3;)

            """.utf8))
        let check = try R.run(["rules", "check", rules])
        #expect(check.stdout.contains("loaded 1 of 3 rules"), "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("dataset names: type string, members 1, from \(c2)"), "\(check.stdout)")
        let all = check.stdout + check.stderr
        #expect(all.contains("ds.rules:2:") && all.contains("not an IP address (16 bytes)") && !all.contains("ZXhhbXBsZS5jb20="), "a string list is no ip list: \(all)")
        #expect(all.contains("ds.rules:3:") && all.contains("\(bad):2: not valid base64 (11 bytes)") && !all.contains("not base64!"), "\(all)")

        let good = try R.temp("ds-good.rules", Data("""
            alert dns any any -> any any (msg:"not listed"; dns.query; dataset:isnotset,names,type string,load \(name(c2)); sid:1;)
            alert dns any any -> any any (msg:"listed"; dns.query; dataset:isset,names; sid:4;)

            """.utf8))
        let direct = try R.run(["replay", R.sample, "--rules", good])
        #expect(direct.status == 0, "\(direct.stderr)")
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("mimamori-\(getpid())-ds.bundle").path
        let compiled = try R.run(["defs", "compile", "--rules", good, "--output", bundle])
        #expect(compiled.status == 0 && compiled.stdout.contains("loaded 2 of 2 rules"), "\(compiled.stdout) \(compiled.stderr)")
        try FileManager.default.removeItem(atPath: c2)
        let bundled = try R.run(["replay", R.sample, "--rules", bundle])
        #expect(bundled.status == 0, "\(bundled.stderr)")
        func alerts(_ s: String) -> Int? {
            guard let r = s.range(of: "\"alerts\":") else { return nil }
            return Int(s[r.upperBound...].prefix { $0.isNumber })
        }
        // The summary line is on stderr.
        let a = alerts(direct.stdout + direct.stderr), b = alerts(bundled.stdout + bundled.stderr)
        #expect(a != nil && a ?? 0 > 0, "\(direct.stderr)")
        #expect(a == b, "\(direct.stderr) vs \(bundled.stderr)")
        // The rule file alone no longer loads its set: the list is gone.
        let gone = try R.run(["rules", "check", good])
        #expect((gone.stdout + gone.stderr).contains("cannot read '\(c2)'"), "\(gone.stdout) \(gone.stderr)")
        try? FileManager.default.removeItem(atPath: bundle)
    }
}
