import Testing
import AllocationCounter
import UTMCore
import UTMOutput
import UTMDetect
@testable import UTMEngine

/// DESIGN: no allocation per packet for SSH either — detection by banner, the parser (banners,
/// KEXINIT walk, MD5), the ssh inspection point with every ssh keyword, the ssh event, slots
/// given back at NEWKEYS. Same method as EngineAllocationTests: every round replays the same
/// connections one virtual hour later, so flows end and parser slots are recycled.
@Suite(.serialized) struct AppLayerSSHAllocationTests {
    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        var frames: [[UInt8]] = []
        for c in 0 ..< 4 {
            frames += AppLayerSSHTests.session(sport: UInt16(42000 + c), client: "SSH-2.0-PuTTY_Release_0.\(70 + c)")
        }
        var parser = RuleParser()
        parser.load(text: """
            alert ssh any any -> any any (msg:"a"; flow:to_server; ssh.proto; content:"2.0"; sid:1;)
            alert ssh any any -> any any (msg:"b"; ssh.software; content:"PuTTY"; sid:2;)
            alert ssh any any -> any any (msg:"c"; ssh.protoversion:2_compat; sid:3;)
            alert ssh any any -> any any (msg:"d"; ssh.softwareversion:OpenSSH_9.6; sid:4;)
            alert ssh any any -> any any (msg:"e"; ssh.hassh; pcre:"/^[0-9a-f]{32}$/"; sid:5;)
            alert ssh any any -> any any (msg:"f"; ssh.hassh.string; content:"curve25519"; sid:6;)
            alert ssh any any -> any any (msg:"g"; ssh.hassh.server; pcre:"/^[0-9a-f]+$/"; sid:7;)
            alert ssh any any -> any any (msg:"h"; ssh.hassh.server.string; content:"aes128-ctr"; sid:8;)
            alert ssh any any -> any 22 (msg:"i"; content:"|15 00 00 00|"; sid:9;)
            """, file: "ssh.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var sshBefore: UInt64 = 0, alertsBefore: UInt64 = 0
        let rounds = 10
        let n = steadyStateAllocations(engine, frames, rounds: rounds) {
            sshBefore = engine.eve.counts[EVEEventType.ssh.rawValue]
            alertsBefore = engine.stats.alerts
        }
        #expect(n == 0, "SSH allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.ssh.rawValue] - sshBefore == UInt64(rounds * 4))
        #expect(engine.stats.alerts - alertsBefore == UInt64(rounds * 4 * 10), "each rule once per connection, sid 3 (no direction) on both banners")
        #expect(engine.stats.appStateExhausted == 0)
    }
}
