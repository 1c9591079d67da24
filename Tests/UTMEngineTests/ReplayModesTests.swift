import Foundation
import Testing
import UTMEngine

/// `utmctl replay --ids / --set / --threshold-file / --drop-log-flows` on the fixture capture,
/// and the `--set` keys on their own.
@Suite struct ReplayModesTests {
    typealias R = ReplayCommandTests

    func events(_ args: [String]) throws -> [[String: Any]] {
        let r = try R.run(["replay", R.sample, "--eve", "-"] + args)
        #expect(r.status == 0 && r.reason == .exit, "stderr: \(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func count(_ evs: [[String: Any]], _ type: String) -> Int {
        evs.filter { $0["event_type"] as? String == type }.count
    }

    func actions(_ evs: [[String: Any]]) -> Set<String> {
        Set(evs.compactMap { ($0["alert"] as? [String: Any])?["action"] as? String })
    }

    @Test func idsAlertsWhereInlineDrops() throws {
        let rules = try R.temp("modes.rules", Data("drop tcp any any -> any any (msg:\"every tcp packet\"; sid:1;)\n".utf8))
        let inline = try events(["--rules", rules])
        #expect(count(inline, "drop") > 0)
        #expect(actions(inline) == ["blocked"])
        let ids = try events(["--rules", rules, "--ids"])
        #expect(count(ids, "drop") == 0)
        // The rule's drop applies to the flow in IDS mode too (Suricata's RuleActionToFlow has
        // no mode test, and DetectFlow skips a dropped flow): each flow alerts once, as inline;
        // suricata-verify drop-protocol-change expects exactly that without --simulate-ips.
        #expect(count(ids, "alert") == count(inline, "alert") && count(ids, "alert") > 0)
        #expect(actions(ids) == ["allowed"])
        // Every later packet of a blocked flow logged, not only the first.
        let all = try events(["--rules", rules, "--drop-log-flows"])
        #expect(count(all, "drop") > count(inline, "drop"))
    }

    @Test func thresholdFileAppliesAndBadFileFailsOnOneLine() throws {
        let rules = try R.temp("th.rules", Data("alert tcp any any -> any any (msg:\"every tcp packet\"; sid:1;)\n".utf8))
        let plain = try events(["--rules", rules])
        #expect(count(plain, "alert") > 1)
        let limit = try R.temp("th.config", Data("threshold gen_id 1, sig_id 1, type limit, track by_rule, count 1, seconds 3600\n".utf8))
        #expect(count(try events(["--rules", rules, "--threshold-file", limit]), "alert") == 1)
        let suppress = try R.temp("sup.config", Data("suppress gen_id 1, sig_id 1\n".utf8))
        #expect(count(try events(["--rules", rules, "--threshold-file", suppress]), "alert") == 0)
        let bad = try R.temp("bad.config", Data("# ok\nrate_filter gen_id 1, sig_id 1\n".utf8))
        let r = try R.run(["replay", R.sample, "--rules", rules, "--threshold-file", bad])
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("utmctl: ") }
        #expect(r.status == 1 && lines.count == 1 && lines[0].contains("bad.config:2"), "stderr: \(r.stderr)")
    }

    @Test func badFlagValuesFailOnOneLine() throws {
        for (args, mention) in [(["--action-order", "drop,alert"], "--action-order"),
                                (["--set", "stream.midstream=perhaps"], "stream.midstream"),
                                (["--set", "novalue"], "KEY=VALUE"),
                                (["--threshold-file", "/nonexistent/threshold.config"], "--threshold-file")] {
            let r = try R.run(["replay", R.sample] + args)
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("utmctl: ") }
            #expect(r.status == 1 && r.reason == .exit && lines.count == 1 && lines[0].contains(mention),
                    "\(args): \(r.stderr)")
        }
    }

    @Test func settingsKeys() throws {
        var c = EngineConfig()
        var explicit = false
        #expect(try ReplaySettings.apply("stream.midstream=false", to: &c, explicitMidstreamPolicy: &explicit) == nil)
        #expect(!c.modes.midstream)
        _ = try ReplaySettings.apply("stream.reassembly.depth=64kb", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.flow.streamDepth == 65536)
        _ = try ReplaySettings.apply("stream.reassembly.depth=0", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.flow.streamDepth > 1 << 40)
        _ = try ReplaySettings.apply("exception-policy=auto", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.modes.midstreamPolicy == .dropFlow)
        _ = try ReplaySettings.apply("stream.midstream-policy=pass-flow", to: &c, explicitMidstreamPolicy: &explicit)
        _ = try ReplaySettings.apply("exception-policy=reject", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.modes.midstreamPolicy == .passFlow, "a specific policy wins over the master switch")
        #expect(try ReplaySettings.apply("mpm-algo=ac", to: &c, explicitMidstreamPolicy: &explicit)?.contains("ignored") == true)
        #expect(EngineConfig().flow.capacity == 32768)
        _ = try ReplaySettings.apply("flow.capacity=100000", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.flow.capacity == 100000)
        for bad in ["stream.midstream", "stream.midstream=maybe", "stream.midstream-policy=explode", "stream.reassembly.depth=lots",
                    "flow.capacity=10", "flow.capacity=lots", "flow.capacity=99999999"] {
            #expect(throws: ReplaySettings.Failure.self) { try ReplaySettings.apply(bad, to: &c, explicitMidstreamPolicy: &explicit) }
        }
    }
}
