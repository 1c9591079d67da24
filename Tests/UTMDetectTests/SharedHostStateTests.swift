import Foundation
import AllocationCounter
import Testing
import UTMCore
@testable import UTMDetect

/// Per-host detection state shared by the workers' engines (SharedHostState.swift): what a
/// host does counts the same whichever worker the kernel hands its flows to. Two engines over
/// the same rules stand for utmd's two NFQUEUE workers; each parses its own copy of the rules,
/// as utmd does.
@Suite struct SharedHostStateTests {
    func defs(_ rules: String) -> DetectDefinitions {
        var p = RuleParser()
        p.load(text: rules, file: "test.rules")
        return DetectDefinitions(ruleSet: p.finish())
    }

    /// Two workers' engines; `shared: false` builds them the way utmd did before session 8.
    func workers(_ rules: String, shared: Bool = true) -> (DetectEngine, DetectEngine) {
        let a = DetectEngine(definitions: defs(rules))
        let b = DetectEngine(definitions: defs(rules), sharing: shared ? a.hostState : nil)
        return (a, b)
    }

    func facts(src: UInt32 = 0x0a00_0001, dst: UInt32 = 0x0800_0808, port: UInt16 = 40000, at t: Int64 = 1) -> PacketFacts {
        var f = PacketFacts()
        f.ipProto = 17
        f.source = IPAddress(v4: src)
        f.destination = IPAddress(v4: dst)
        f.sourcePort = port
        f.destinationPort = 53
        f.direction = .toServer
        f.time = t
        return f
    }

    /// One packet with `payload`; the sids that alerted.
    func hit(_ d: DetectEngine, _ f: PacketFacts, _ payload: String = "abc") -> [UInt32] {
        var out: [UInt32] = []
        d.beginPacket()
        Array(payload.utf8).withUnsafeBytes { raw in
            _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: f.time) { i, alert in
                if alert { out.append(d.defs.signature(i).sid) }
            }
        }
        return out
    }

    /// A scanner's six attempts, each its own flow, alternating between two workers: the
    /// filter's count (5) is over on the sixth attempt whichever worker sees it.
    @Test func detectionFilterCountsAcrossWorkers() {
        let rules = "alert udp any any -> any 53 (msg:\"scan\"; content:\"abc\"; detection_filter:track by_src, count 5, seconds 60; sid:1;)"
        for shared in [true, false] {
            let (a, b) = workers(rules, shared: shared)
            var alerts: [UInt32] = []
            for k in 0 ..< 8 {
                let f = facts(port: UInt16(40000 + k), at: Int64(k))
                alerts += hit(k % 2 == 0 ? a : b, f)
            }
            // Shared: attempts 6, 7 and 8 alert (Suricata's detection_filter). Per worker, each
            // saw four attempts and none alerted.
            #expect(alerts.count == (shared ? 3 : 0), "shared \(shared): \(alerts)")
        }
    }

    /// `threshold: type limit, count 1` alerts once per host and window, not once per worker.
    @Test func limitAlertsOnceAcrossWorkers() {
        let rules = "alert udp any any -> any 53 (msg:\"lim\"; content:\"abc\"; threshold:type limit, track by_src, count 1, seconds 60; sid:2;)"
        let (a, b) = workers(rules)
        var n = 0
        for k in 0 ..< 6 { n += hit(k % 2 == 0 ? a : b, facts(port: UInt16(41000 + k), at: Int64(k))).count }
        #expect(n == 1)
        // Another host has its own count, on either worker.
        #expect(hit(b, facts(src: 0x0a00_0002, at: 7)) == [2])
        #expect(hit(a, facts(src: 0x0a00_0002, at: 8)) == [])
        // A new window after 60 s.
        #expect(hit(b, facts(at: 70)) == [2])
    }

    /// threshold.config's rate_filter: every worker installs the same file; the count is the
    /// host's, so the new action begins on the match over the count on either worker.
    @Test func rateFilterCountsAcrossWorkers() throws {
        let rules = "alert udp any any -> any 53 (msg:\"r\"; content:\"abc\"; sid:5;)"
        let (a, b) = workers(rules)
        let config = try ThresholdConfig.parse(
            "rate_filter gen_id 1, sig_id 5, track by_src, count 2, seconds 60, new_action drop, timeout 10", name: "t")
        a.setEventFilters(config)
        b.setEventFilters(config)
        func action(_ d: DetectEngine, _ f: PacketFacts) -> RuleAction? {
            var out: RuleAction?
            d.beginPacket()
            Array("abc".utf8).withUnsafeBytes { raw in
                _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: f.time) { i, _ in
                    out = d.actionOverride ?? d.defs.signature(i).action
                }
            }
            return out
        }
        #expect(action(a, facts(port: 1, at: 100)) == .alert)
        #expect(action(b, facts(port: 2, at: 101)) == .alert)
        #expect(action(a, facts(port: 3, at: 102)) == .drop)  // third in the window, counted over both
        #expect(action(b, facts(port: 4, at: 103)) == .drop)  // within the timeout, on the other worker
        #expect(action(b, facts(port: 5, at: 113)) == .alert)  // timeout over
    }

    /// A hostbit set by one worker's flow gates a rule on another worker's flow.
    @Test func hostbitsSeenAcrossWorkers() {
        let rules = """
            alert udp any any -> any 53 (msg:"mark"; content:"login"; hostbits:set,seen,track ip_src; hostbits:noalert; sid:10;)
            alert udp any any -> any 53 (msg:"after"; content:"abc"; hostbits:isset,seen,track ip_src; sid:11;)
            """
        for shared in [true, false] {
            let (a, b) = workers(rules, shared: shared)
            #expect(hit(a, facts(port: 1, at: 1), "login").isEmpty)
            #expect(hit(b, facts(port: 2, at: 2)) == (shared ? [11] : []), "shared \(shared)")
            #expect(hit(a, facts(port: 3, at: 3)) == [11])
        }
    }

    /// An engine over other definitions (a reload that changed the rule count) does not take a
    /// state whose counters are indexed by another rule list.
    @Test func otherDefinitionsDoNotShare() {
        let a = DetectEngine(definitions: defs("alert udp any any -> any 53 (msg:\"x\"; content:\"abc\"; sid:1;)"))
        let b = DetectEngine(definitions: defs("""
            alert udp any any -> any 53 (msg:"x"; content:"abc"; sid:1;)
            alert udp any any -> any 53 (msg:"y"; content:"abd"; sid:2;)
            """), sharing: a.hostState)
        #expect(a.hostState !== b.hostState)
        // The same count, other rules (a worker that read files an update replaced meanwhile).
        let c = DetectEngine(definitions: defs("alert udp any any -> any 53 (msg:\"z\"; content:\"abc\"; hostbits:isset,x; sid:9;)"),
                             sharing: a.hostState)
        #expect(a.hostState !== c.hostState && c.hostState.hostBits != nil)
        // The same rules parsed again: shared.
        let d = DetectEngine(definitions: defs("alert udp any any -> any 53 (msg:\"x\"; content:\"abc\"; sid:1;)"), sharing: a.hostState)
        #expect(a.hostState === d.hostState)
    }

    /// A reload does not carry a counter to a rule that now counts another way (its track
    /// changed), nor a host bit that expired before the reload.
    @Test func reloadLeavesChangedCountersAndExpiredBits() {
        let before = """
            alert udp any any -> any 53 (msg:"lim"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:2;)
            alert udp any any -> any 53 (msg:"mark"; content:"login"; hostbits:set,seen,track ip_src,expire 5; hostbits:noalert; sid:10;)
            alert udp any any -> any 53 (msg:"after"; content:"abc"; hostbits:isset,seen,track ip_src; sid:11;)
            """
        let after = before.replacingOccurrences(of: "track by_src, count 1", with: "track by_dst, count 1")
        let running = DetectEngine(definitions: defs(before))
        #expect(hit(running, facts(port: 1, at: 1), "login").isEmpty)
        #expect(hit(running, facts(port: 2, at: 2)).sorted() == [2, 11])
        let reloaded = DetectEngine(definitions: defs(after))
        reloaded.hostState.carry(from: running.hostState, now: 100)  // the bit expired at 6
        #expect(hit(reloaded, facts(port: 3, at: 101)) == [2])
    }

    /// A reload (new definitions, the rule order changed, a rule added and one removed)
    /// carries the running counters and host bits over by gid/sid and bit name: a `limit`
    /// that was used up stays used up, a set host bit stays set; without the carry both reset.
    @Test func reloadCarriesCountersAndHostBits() {
        let before = """
            alert udp any any -> any 53 (msg:"lim"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:2;)
            alert udp any any -> any 53 (msg:"mark"; content:"login"; hostbits:set,seen,track ip_src,expire 3600; hostbits:noalert; sid:10;)
            alert udp any any -> any 53 (msg:"gone"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:30;)
            """
        let after = """
            alert udp any any -> any 53 (msg:"new"; content:"xyz"; hostbits:set,other,track ip_src; sid:40;)
            alert udp any any -> any 53 (msg:"after"; content:"abc"; hostbits:isset,seen,track ip_src; sid:11;)
            alert udp any any -> any 53 (msg:"lim"; content:"abc"; threshold:type limit, track by_src, count 1, seconds 3600; sid:2;)
            alert udp any any -> any 53 (msg:"mark"; content:"login"; hostbits:set,seen,track ip_src,expire 3600; hostbits:noalert; sid:10;)
            """
        let running = DetectEngine(definitions: defs(before))
        #expect(hit(running, facts(port: 1, at: 10)).sorted() == [2, 30])
        #expect(hit(running, facts(port: 2, at: 11), "login").isEmpty)
        for carry in [true, false] {
            let reloaded = DetectEngine(definitions: defs(after))
            if carry { reloaded.hostState.carry(from: running.hostState, now: 15) }
            // sid 2's limit was used at t=10; sid 11 reads the bit sid 10 set.
            #expect(hit(reloaded, facts(port: 3, at: 20)).sorted() == (carry ? [11] : [2]), "carry \(carry)")
            // Another host: its own limit, no bit.
            #expect(hit(reloaded, facts(src: 0x0a00_0009, port: 4, at: 21)) == [2], "carry \(carry)")
        }
    }

    /// Workers on their own threads, racing on one host's counters: every match is counted once.
    @Test func concurrentWorkersCountEveryMatch() async {
        let rules = "alert udp any any -> any 53 (msg:\"t\"; content:\"abc\"; threshold:type threshold, track by_src, count 100, seconds 3600; sid:3;)"
        let (a, b) = workers(rules)
        nonisolated(unsafe) let engines = [a, b]
        let counts = await withTaskGroup(of: Int.self) { group in
            for w in 0 ..< 2 {
                group.addTask {
                    var n = 0
                    for k in 0 ..< 1000 { n += self.hit(engines[w], self.facts(port: UInt16(k), at: 1)).count }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        // 2,000 matches of one host: `threshold` alerts on every 100th, so exactly 20.
        #expect(counts == 20)
    }

    /// Counting under the shared lock allocates nothing: thresholds, rate filters and host bits
    /// on two engines, after a warm-up that fills the tables' entries.
    @Test func sharedCountingDoesNotAllocate() throws {
        let rules = """
            alert udp any any -> any 53 (msg:"df"; content:"abc"; detection_filter:track by_src, count 2, seconds 60; sid:1;)
            alert udp any any -> any 53 (msg:"set"; content:"abc"; xbits:set,seen,track ip_pair; sid:2;)
            alert udp any any -> any 53 (msg:"isset"; content:"abc"; xbits:isset,seen,track ip_pair; sid:3;)
            alert udp any any -> any 53 (msg:"rate"; content:"abc"; sid:4;)
            """
        let (a, b) = workers(rules)
        let config = try ThresholdConfig.parse(
            "rate_filter gen_id 1, sig_id 4, track by_src, count 2, seconds 60, new_action drop, timeout 10", name: "t")
        a.setEventFilters(config)
        b.setEventFilters(config)
        let payload = Array("abc".utf8)
        var alerts = 0
        func run(_ rounds: Int) {
            payload.withUnsafeBytes { raw in
                let view = ByteView(raw)
                for k in 0 ..< rounds {
                    let d = k % 2 == 0 ? a : b
                    var f = PacketFacts()
                    f.ipProto = 17
                    f.source = IPAddress(v4: 0x0a00_0001)
                    f.destination = IPAddress(v4: 0x0800_0800 &+ UInt32(k % 4))
                    f.sourcePort = 40000
                    f.destinationPort = 53
                    f.direction = .toServer
                    f.time = Int64(k)
                    d.beginPacket()
                    _ = d.inspectPacket(f, payload: view, slot: -1, time: f.time) { _, alert in if alert { alerts &+= 1 } }
                }
            }
        }
        run(16)
        let n = countAllocations { run(200) }
        #expect(n == 0, "shared counting allocated \(n) times")
        #expect(alerts > 200)
    }
}
