import Testing
import AllocationCounter
import UTMCore
@testable import UTMEngine
import UTMDetect

/// DESIGN: no allocation per packet, with transformed buffers too. Every transform computes
/// into the worker's arena (`DerivedBuffers`), the hashes use StreamingDigest's in-place
/// OpenSSL states, and the derived buffers' automata are scanned like the fixed ones.
@Suite(.serialized) struct TransformAllocationTests {
    @Test func transformsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var parser = RuleParser()
        parser.load(text: #"""
            alert dns any any -> any any (msg:"dotprefix"; dns.query; dotprefix; content:".example.net"; endswith; sid:1;)
            alert tls any any -> any any (msg:"upper"; tls.sni; to_uppercase; dotprefix; content:".EXAMPLE.COM"; endswith; sid:2;)
            alert http any any -> any any (msg:"url_decode"; http.uri; url_decode; to_lowercase; content:"/index.html"; sid:3;)
            alert http any any -> any any (msg:"hash"; http.user_agent; compress_whitespace; to_sha256; content:"|00 00|"; sid:4;)
            alert http any any -> any any (msg:"md5 sha1"; http.host; to_md5; to_sha1; content:"|11 22|"; sid:5;)
            alert http any any -> any any (msg:"headers"; http.header; header_lowercase; strip_pseudo_headers; content:"host: www"; sid:6;)
            alert http any any -> any any (msg:"xor"; http.method; xor:"20"; content:"gET"; sid:7;)
            alert http any any -> any any (msg:"pcrexform"; http.uri; pcrexform:"c=([0-9]+)"; content:"1"; startswith; sid:8;)
            alert http any any -> any any (msg:"strip body"; file_data; strip_whitespace; content:"helloworld"; sid:9;)
            alert http any any -> any any (msg:"base64"; http.host; from_base64:mode rfc2045; content:"|c3|"; sid:10;)
            """#, file: "alloc-transforms.rules")
        let set = parser.finish()
        #expect(set.signatures.count == 10, "\(set.report.errors)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var alertsBefore = engine.stats.alerts
        let n = steadyStateAllocations(engine, EngineTraffic.round(), rounds: 20) { alertsBefore = engine.stats.alerts }
        print("Engine allocations with transform rules: \(n); alerts \(engine.stats.alerts - alertsBefore)")
        #expect(n == 0, "transforms allocated \(n) times")
        // sids 1, 2, 3, 6, 7, 8, 9 fire on the synthetic traffic each round.
        #expect(engine.stats.alerts - alertsBefore >= 20 * 7)
    }
}
