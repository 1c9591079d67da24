import AllocationCounter
import Foundation
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Datasets (session 9) in steady state: lookups (`isset`, `isnotset`, `datarep`) on plain and
/// transformed buffers and on `ip.src`, `set` finding its value already there, and `set` on a
/// full set (refused and counted) must not allocate: the tables are reserved when the
/// definitions are built.
@Suite(.serialized) struct DatasetAllocationTests {
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    static func engine() -> Engine {
        var files: [String: String] = [:]
        files["/r/c2.lst"] = (0 ..< 4).map { b64("host\($0).example.net") + "\n" }.joined()
        files["/r/rep.lst"] = (0 ..< 8).map { b64("host\($0).example.net") + ",\($0 * 5)\n" }.joined()
        files["/r/ips.lst"] = "192.168.1.10\n2001:db8::1\n"
        files["/r/sni.lst"] = ""
        files["/r/ua.lst"] = b64("test") + "\n"
        var parser = RuleParser()
        let lists = files
        parser.fileReader = { path in
            guard let t = lists[path] else { throw CocoaError(.fileNoSuchFile) }
            return Array(t.utf8)
        }
        parser.load(text: """
            alert dns any any -> any any (msg:"c2"; dns.query; dataset:isset,c2,type string,load c2.lst; sid:1;)
            alert http any any -> any any (msg:"hosts seen"; http.host; dataset:set,hosts,type string; sid:2;)
            alert http any any -> any any (msg:"full set"; http.uri; dataset:set,uris,type string,memcap 100; sid:3;)
            alert tcp any any -> any any (msg:"listed client"; flow:to_server; tcp.flags:S; ip.src; dataset:isset,ips,type ip,load ips.lst; sid:4;)
            alert tls any any -> any any (msg:"sni hash"; tls.sni; to_sha256; dataset:isnotset,sni,type sha256,load sni.lst; sid:5;)
            alert dns any any -> any any (msg:"rep"; dns.query; datarep:rep,>,10,type string,load rep.lst; sid:6;)
            alert http any any -> any any (msg:"ua"; http.user_agent; dataset:isset,ua,type string,load ua.lst; sid:7;)
            """, file: "/r/alloc.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors) \(set.report.skipped)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        return engine
    }

    @Test func datasetLookupsAndSetsDoNotAllocate() throws {
        guard allocationCounterWorks() else { return }
        let engine = Self.engine()
        var alertsBefore = engine.stats.alerts
        var fullBefore = 0
        let defs = try #require(engine.detect?.defs)
        let rounds = 10
        let n = steadyStateAllocations(engine, EngineTraffic.round(), rounds: rounds) {
            alertsBefore = engine.stats.alerts
            fullBefore = defs.datasetCounts.full
        }
        let alerts = engine.stats.alerts - alertsBefore
        print("Engine allocations with dataset rules: \(n); alerts \(alerts)")
        #expect(n == 0, "dataset detection allocated \(n) times")
        // Per round: c2 4 (host0-3), listed client's SYNs 24 (3 sessions x 8), sni hash 8,
        // rep > 10 5 (host3-7), ua 8; the hosts and uris sets learned everything in warm-up
        // (set matches only when it adds) = 49.
        #expect(alerts == UInt64(rounds) * 49, "\(alerts)")
        // The uris set has room for one value: each round's other URIs are refused, counted.
        #expect(defs.datasetCounts.full - fullBefore > 0)
        #expect(defs.datasetCounts.sets == 7)
    }
}
