import Foundation
import Testing
import AllocationCounter
import UTMCore
@testable import UTMDetect

@Suite struct RuleSetTests {
    @Test func etOpenLoadsAtLeast99Percent() throws {
        guard let folder = Shared.folder else {
            if Shared.isCI { Issue.record("ET Open rules not found under ../shared (CI=true)") }
            else { print("skipping ET Open load test: ../shared/\(Shared.rulesRelative) not found") }
            return
        }
        let path = folder + "/" + Shared.rulesRelative
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var p = RuleParser()
        p.load(text: text, file: path)
        let set = p.finish()
        let r = set.report
        #expect(r.enabledRules == 18220)
        #expect(r.loaded * 100 >= r.enabledRules * 99, "loaded \(r.loaded) of \(r.enabledRules)")
        #expect(set.signatures.filter { $0.prefilter != nil }.count * 100 >= r.loaded * 99)
    }

    @Test func malformedFilesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let base = #"alert http $HOME_NET any -> $EXTERNAL_NET [80,!8080] (msg:"a \"b\""; flow:established,to_server; content:"GET|20|"; http_method; content:"/x"; http_uri; distance:0; pcre:"/a(b|c)+/Ui"; byte_test:2,>,1,0,relative; flowbits:set,x; sid:1; rev:1;)"#
        var samples = [
            "", "(", ")", "alert", "alert tcp", "alert tcp any any -> any any (", "alert tcp any any -> any any ()",
            "alert tcp any any -> any any (msg:\"unterminated; sid:1;)", "alert tcp any any -> any any (content:\"|41 4", "\\",
            "alert tcp [[[[[[ any -> any any (sid:1;)", "alert tcp any any -> any any (content:!; sid:1;)",
            "alert tcp any any -> any any (byte_jump:; byte_test:,,,,; isdataat:!; sid:1;)",
            String(repeating: "[", count: 5000), "alert tcp \u{0}\u{1} any -> any any (sid:1;)",
        ]
        let u = Array(base.utf8)
        for n in 0 ..< u.count { samples.append(String(decoding: u[0 ..< n], as: UTF8.self)) }
        for _ in 0 ..< 2000 {
            var m = u
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                let i = Int.random(in: 0 ..< m.count, using: &rng)
                switch Int.random(in: 0 ..< 3, using: &rng) {
                case 0: m[i] = UInt8.random(in: 0 ... 255, using: &rng)
                case 1: m.remove(at: i)
                default: m.insert(m[Int.random(in: 0 ..< m.count, using: &rng)], at: i)
                }
            }
            samples.append(String(decoding: m, as: UTF8.self))
        }
        var p = RuleParser()
        p.load(text: samples.joined(separator: "\n"), file: "fuzz.rules")
        let set = p.finish()
        #expect(set.report.loaded + set.report.errors.count + set.report.skipped.count == set.report.enabledRules)
        // Loaded mutants must verify without trapping.
        var v = Verifier()
        var bits = FlowBits()
        var facts = PacketFacts(); facts.ipProto = 6
        let payload = Array("GET /xabcabc HTTP/1.1\r\n\r\n".utf8)
        payload.withByteView { view in
            var b = InspectionBuffers()
            for id in BufferID.allCases { b[id] = view }
            for s in set.signatures { _ = v.verify(s, packet: facts, buffers: b, flowbits: &bits) }
        }
    }

    @Test func bufferTableFitsEveryBuffer() {
        #expect(BufferID.count <= InspectionBuffers.capacity)
        // Session 9 grew the table past 64 (a second part, 32 entries since session 12's
        // smtp/email buffers); a bundle's list byte keeps bit 7 for the transform flag, so ids
        // stay below 128.
        #expect(BufferID.count <= 96)
    }
}

@Suite(.serialized) struct VerifyAllocationTests {
    @Test func verificationDoesNotAllocate() throws {
        guard allocationCounterWorks() else { return }
        var p = RuleParser()
        p.load(text: """
            alert http any any -> any any (msg:"a"; flow:established,to_server; content:"GET"; http_method; content:"/a"; http_uri; content:"b="; http_uri; distance:0; pcre:"/^[0-9]+/UR"; urilen:<100; flowbits:set,x; sid:1;)
            alert tcp any any -> any any (msg:"b"; content:"a="; content:"1"; within:1; byte_test:1,>,0,0,relative; byte_jump:1,0,relative; isdataat:!50,relative; byte_extract:1,0,n; content:"z"; distance:n; flowbits:isset,x; sid:2;)
            alert tcp any any -> any any (msg:"c"; content:"zz"; nocase; content:!"q"; distance:0; sid:3;)
            """, file: "alloc.rules")
        let set = p.finish()
        #expect(set.report.loaded == 3)
        var v = Verifier()
        var bits = FlowBits()
        var facts = PacketFacts(); facts.ipProto = 6; facts.direction = .toServer; facts.established = true
        facts.appProto = .http; facts.payloadSize = 40
        let method = Array("GET".utf8), uri = Array("/a?b=123".utf8)
        let payload = Array("a=2a=1\u{1}\u{1}x\u{0}\u{0}z ZZ".utf8)
        var results = 0
        method.withByteView { m in uri.withByteView { u in payload.withByteView { pl in
            var b = InspectionBuffers()
            b[.httpMethod] = m; b[.httpURI] = u; b[.payload] = pl
            for s in set.signatures { _ = v.verify(s, packet: facts, buffers: b, flowbits: &bits) } // warm-up (PCRE JIT stack)
            let sigs = set.signatures
            var matched = 0
            let n = countAllocations {
                for _ in 0 ..< 100 {
                    var i = 0
                    while i < sigs.count {
                        if v.verify(sigs[i], packet: facts, buffers: b, flowbits: &bits) != .noMatch { matched &+= 1 }
                        i &+= 1
                    }
                }
            }
            results = matched
            #expect(n == 0, "verification allocated \(n) times")
        } } }
        #expect(results >= 200)
    }
}
