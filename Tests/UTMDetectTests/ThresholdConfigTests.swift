import Testing
import UTMCore
import UTMDetect

/// threshold.config: parsing (good and bad lines) and its effect on a DetectEngine's matches.
@Suite struct ThresholdConfigTests {
    func defs(_ rules: String) -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "test.rules")
        return DetectDefinitions(ruleSet: p.finish())
    }

    func facts(src: UInt32 = 0x0a00_0001, dst: UInt32 = 0x0800_0808) -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = 17
        f.source = IPAddress(v4: src)
        f.destination = IPAddress(v4: dst)
        f.sourcePort = 40000
        f.destinationPort = 53
        f.direction = .toServer
        return f
    }

    /// One packet "abc" per call; returns (sid, action taken) of each alert.
    func hit(_ d: DetectEngine, _ f: PacketFacts, time: Int64) -> [(UInt32, RuleAction)] {
        var out: [(UInt32, RuleAction)] = []
        d.beginPacket()
        Array("abc".utf8).withUnsafeBytes { raw in
            _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: time) { i, _ in
                out.append((d.defs.signature(i).sid, d.actionOverride ?? d.defs.signature(i).action))
            }
        }
        return out
    }

    @Test func parsesEveryKind() throws {
        let c = try ThresholdConfig.parse("""
            # comment
            threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60
            event_filter gen_id 1, sig_id 11, type both, track by_dst, count 2, seconds 30   # trailing
            suppress gen_id 1, sig_id 12
            suppress gen_id 1, sig_id 13, track by_either, ip 10.0.0.0/8
            rate_filter gen_id 1, sig_id 14, track by_rule, count 3, seconds 1, new_action drop, timeout 5

            """, name: "t.config")
        #expect(c.thresholds.count == 2)
        #expect(c.thresholds[1].spec.kind == .both && c.thresholds[1].spec.count == 2)
        #expect(c.suppressions.count == 2 && c.suppressions[1].track == .byEither)
        #expect(c.rateFilters.count == 1 && c.rateFilters[0].newAction == .drop && c.rateFilters[0].timeout == 5)
    }

    @Test func badLinesNameFileAndLine() {
        let bad = [
            "threshold gen_id 1, sig_id 10, type sometimes, track by_src, count 1, seconds 60",
            "rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 1, new_action explode, timeout 1",
            "suppress gen_id 1, sig_id 1, track by_src",
            "suppress gen_id 1, sig_id 1, track by_src, ip not-an-ip",
            "limit gen_id 1, sig_id 1",
            "threshold gen_id 1, sig_id 10, type limit, track by_src, count 1",
            "threshold gen_id 1, sig_id x, type limit, track by_src, count 1, seconds 1",
            "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 1, colour red",
            "threshold",
        ]
        for line in bad {
            do {
                _ = try ThresholdConfig.parse("# first\n\(line)\n", name: "th.config")
                Issue.record("accepted: \(line)")
            } catch {
                #expect("\(error)".hasPrefix("th.config:2:"), "\(error)")
            }
        }
    }

    @Test func rateFilterChangesActionThenTimesOut() throws {
        let d = DetectEngine(definitions: defs("alert udp any any -> any any (msg:\"r\"; content:\"abc\"; sid:5;)"))
        d.setEventFilters(try ThresholdConfig.parse(
            "rate_filter gen_id 1, sig_id 5, track by_src, count 2, seconds 60, new_action drop, timeout 10",
            name: "t"))
        let a = facts(), b = facts(src: 0x0a00_0002)
        #expect(hit(d, a, time: 100).map(\.1) == [.alert])
        #expect(hit(d, a, time: 101).map(\.1) == [.alert])
        #expect(hit(d, a, time: 102).map(\.1) == [.drop])  // third in the window: over the count
        #expect(hit(d, b, time: 102).map(\.1) == [.alert])  // another source has its own count
        #expect(hit(d, a, time: 110).map(\.1) == [.drop])  // still within the timeout
        #expect(hit(d, a, time: 113).map(\.1) == [.alert])  // timeout over: back to the rule's action
    }

    @Test func rateFilterByBothCountsBothDirections() throws {
        let d = DetectEngine(definitions: defs("alert udp any any -> any any (msg:\"r\"; content:\"abc\"; sid:5;)"))
        d.setEventFilters(try ThresholdConfig.parse(
            "rate_filter gen_id 1, sig_id 5, track by_both, count 1, seconds 60, new_action reject, timeout 10",
            name: "t"))
        #expect(hit(d, facts(), time: 1).map(\.1) == [.alert])
        #expect(hit(d, facts(src: 0x0800_0808, dst: 0x0a00_0001), time: 2).map(\.1) == [.reject])
    }

    @Test func suppressAndConfigThreshold() throws {
        let d = DetectEngine(definitions: defs("""
            alert udp any any -> any any (msg:"s"; content:"abc"; sid:6;)
            alert udp any any -> any any (msg:"t"; content:"abc"; threshold:type limit, track by_src, count 5, seconds 60; sid:7;)
            """))
        d.setEventFilters(try ThresholdConfig.parse("""
            suppress gen_id 1, sig_id 6, track by_src, ip 10.0.0.0/24
            threshold gen_id 1, sig_id 7, type limit, track by_src, count 1, seconds 60
            """, name: "t"))
        // sid 6 is suppressed for 10.0.0.1 but not for 192.168.0.1; sid 7's limit is the
        // config's 1, not the rule's 5.
        #expect(hit(d, facts(), time: 1).map(\.0) == [7])
        #expect(hit(d, facts(), time: 2).map(\.0) == [])
        #expect(hit(d, facts(src: 0xc0a8_0001), time: 3).map(\.0).sorted() == [6, 7])
        d.setEventFilters(nil)
        #expect(hit(d, facts(), time: 4).map(\.0).sorted() == [6, 7])
    }
}

extension ThresholdConfigTests {
    /// Suricata's thresholding notes: a drop rule's action applies to every match of `limit`
    /// and, once its count is reached, of `both`; only the alert is limited. `threshold` and
    /// `detection_filter` hold the action back with the alert. An `alert` rule past its limit
    /// does nothing. threshold.config's thresholds behave the same; `suppress` holds all back.
    @Test func thresholdedDropActsOnEveryMatch() throws {
        let d = DetectEngine(definitions: defs("""
            drop udp any any -> any any (msg:"limit"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:20;)
            drop udp any any -> any any (msg:"both"; content:"abc"; threshold:type both, track by_src, count 2, seconds 3600; sid:21;)
            drop udp any any -> any any (msg:"threshold"; content:"abc"; threshold:type threshold, track by_src, count 2, seconds 3600; sid:22;)
            alert udp any any -> any any (msg:"alert limit"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:23;)
            drop udp any any -> any any (msg:"df"; content:"abc"; detection_filter:track by_src, count 2, seconds 3600; sid:24;)
            drop udp any any -> any any (msg:"config limit"; content:"abc"; sid:25;)
            drop udp any any -> any any (msg:"suppressed"; content:"abc"; sid:26;)
            """))
        d.setEventFilters(try ThresholdConfig.parse("""
            threshold gen_id 1, sig_id 25, type limit, track by_src, count 1, seconds 3600
            suppress gen_id 1, sig_id 26, track by_src, ip 10.0.0.1
            """, name: "t"))
        /// Per match: sid -> "A" (drop with alert) or "s" (silent drop).
        func run(_ t: Int64) -> [UInt32: String] {
            var out: [UInt32: String] = [:]
            d.beginPacket()
            Array("abc".utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(facts(), payload: ByteView(raw), slot: -1, time: t) { i, alert in
                    out[d.defs.signature(i).sid] = alert ? "A" : "s"
                }
            }
            return out
        }
        #expect(run(1) == [20: "A", 23: "A", 25: "A"])
        #expect(run(2) == [20: "s", 21: "A", 22: "A", 25: "s"])
        #expect(run(3) == [20: "s", 21: "s", 24: "A", 25: "s"])
        #expect(run(4) == [20: "s", 21: "s", 22: "A", 24: "A", 25: "s"])
    }
}

/// Address ranges in rule headers (`a-b`), IPv4 and IPv6.
@Suite struct AddressRangeTests {
    @Test func rangesLoadAndMatch() throws {
        let s = try #require(rule("drop ip [10.0.0.1,2001:db8::1-2001:db8::ff,192.168.1.10-192.168.1.20] any -> any any (msg:\"r\"; sid:1;)"))
        #expect(s.source.contains(try #require(IPAddress("2001:db8::80"))))
        #expect(!s.source.contains(try #require(IPAddress("2001:db8::100"))))
        #expect(s.source.contains(try #require(IPAddress("192.168.1.15"))))
        #expect(!s.source.contains(try #require(IPAddress("192.168.1.21"))))
        #expect(s.source.contains(try #require(IPAddress("10.0.0.1"))))
        #expect(ruleError("alert ip 10.0.0.9-10.0.0.1 any -> any any (msg:\"r\"; sid:1;)") != nil)
        #expect(ruleError("alert ip 10.0.0.1-2001:db8::1 any -> any any (msg:\"r\"; sid:1;)") != nil)
    }
}

/// `--action-order`: parsing, and a pass ahead of a drop stopping it.
@Suite struct ActionOrderTests {
    @Test func parseAndEffect() {
        #expect(ActionOrder(parsing: "pass,drop,reject,alert") != nil)
        #expect(ActionOrder(parsing: " drop , alert,reject,pass") != nil)
        for bad in ["", "pass,drop,alert", "pass,drop,reject,alert,alert", "pass,drop,reject,block"] {
            #expect(ActionOrder(parsing: bad) == nil, "\(bad)")
        }
        let rules = """
            drop udp any any -> any any (msg:"d"; content:"abc"; sid:1;)
            pass udp any any -> any any (msg:"p"; content:"abc"; sid:2;)
            """
        func sids(_ order: ActionOrder) -> [UInt32] {
            var p = RuleParser()
            p.load(text: rules, file: "t.rules")
            let d = DetectEngine(definitions: DetectDefinitions(ruleSet: p.finish(), actionOrder: order))
            var f = PacketFacts()
            f.ipProto = 17
            var out: [UInt32] = []
            d.beginPacket()
            Array("abc".utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: 0) { i, _ in out.append(d.defs.signature(i).sid) }
            }
            return out
        }
        #expect(sids(.standard) == [1], "the product's order: the drop comes first")
        #expect(sids(ActionOrder(parsing: "pass,drop,reject,alert")!) == [], "Suricata's default: the pass wins")
    }
}
