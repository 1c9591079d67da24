import Testing
import UTMCore
@testable import UTMDetect

@Suite struct HeaderTests {
    func ip(_ s: String) -> IPAddress { IPAddress(s)! }

    @Test func homeNetDefaultsAndExternalNet() throws {
        let sig = try #require(rule("alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"x\"; sid:1;)"))
        #expect(sig.source.contains(ip("10.1.2.3")))
        #expect(sig.source.contains(ip("172.31.255.255")))
        #expect(!sig.source.contains(ip("172.32.0.1")))
        #expect(sig.destination.contains(ip("8.8.8.8")))
        #expect(!sig.destination.contains(ip("192.168.1.1")))
        // !$HOME_NET covers all of IPv6 (HOME_NET has no IPv6 block).
        #expect(sig.destination.contains(ip("2001:db8::1")))
        #expect(sig.destinationPorts.contains(80))
        #expect(!sig.destinationPorts.contains(8080))
        #expect(sig.sourcePorts.isAny)
    }

    @Test func nestedNegations() throws {
        var h = HeaderParser(variables: .suricataDefaults)
        let s = try h.addresses("[1.0.0.0/8,![1.1.0.0/16,!1.1.1.0/24]]")
        #expect(s.contains(ip("1.2.3.4")))
        #expect(!s.contains(ip("1.1.2.3")))
        #expect(s.contains(ip("1.1.1.7")))
        #expect(!s.contains(ip("2.0.0.0")))
        let onlyNeg = try h.addresses("[!10.0.0.0/8,!192.168.0.0/16]")
        #expect(onlyNeg.contains(ip("8.8.8.8")))
        #expect(!onlyNeg.contains(ip("10.9.9.9")))
        let v6 = try h.addresses("[2001:db8::/32,!2001:db8:1::/48]")
        #expect(v6.contains(ip("2001:db8:2::1")))
        #expect(!v6.contains(ip("2001:db8:1::1")))
        #expect(!v6.contains(ip("10.0.0.1")))
        let doubleNeg = try h.addresses("!!$HOME_NET")
        #expect(doubleNeg.contains(ip("10.0.0.1")))
        #expect(!doubleNeg.contains(ip("8.8.8.8")))
    }

    @Test func portsRangesAndNegation() throws {
        var h = HeaderParser(variables: .suricataDefaults)
        let p = try h.ports("[1024:,!3306,!$HTTP_PORTS]")
        #expect(p.contains(1024) && p.contains(65535))
        #expect(!p.contains(3306))
        #expect(!p.contains(80) && !p.contains(22))
        #expect(try h.ports(":1023").contains(0))
        #expect(!(try h.ports(":1023").contains(1024)))
        #expect(try h.ports("$FILE_DATA_PORTS").contains(143))
        #expect(!(try h.ports("$SHELLCODE_PORTS").contains(80)))
        #expect(try h.ports("5800,!445").contains(5800))
        #expect(!(try h.ports("[1:100,![50:60,!55]]").contains(52)))
        #expect(try h.ports("[1:100,![50:60,!55]]").contains(55))
    }

    @Test func configurableVariables() throws {
        var vars = RuleVariables.suricataDefaults
        vars.addressGroups["HOME_NET"] = "[203.0.113.0/24]"
        vars.portGroups["HTTP_PORTS"] = "[80,8080]"
        var p = RuleParser(variables: vars)
        let sig = try p.parseRule("alert tcp $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:\"x\"; sid:1;)")
        #expect(sig.destination.contains(ip("203.0.113.9")))
        #expect(sig.source.contains(ip("10.0.0.1")))
        #expect(sig.destinationPorts.contains(8080))
    }

    @Test func headerErrors() {
        #expect(ruleError("alert tcp any any -> any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("alert tcp any any => any any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("bogus tcp any any -> any any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("alert tcp 1.2.3.4/33 any -> any any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("alert tcp [1.2.3.4 any -> any any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("alert tcp $NOPE any -> any any (msg:\"x\"; sid:1;)")?.kind == .invalid)
        #expect(ruleError("alert tcp any 70000 -> any any (msg:\"x\"; sid:1;)")?.kind == .malformed)
        #expect(ruleError("alert tcp [1.0.0.0/8,!1.0.0.0/8] any -> any any (msg:\"x\"; sid:1;)")?.kind == .invalid)
        if case .unsupported = ruleError("alert foo any any -> any any (msg:\"x\"; sid:1;)")?.kind {} else {
            Issue.record("unknown protocol should be unsupported")
        }
    }

    @Test func protocolsAndDirection() throws {
        let http = try #require(rule("alert http any any <> any any (msg:\"x\"; sid:1;)"))
        #expect(http.proto.app == .http && http.proto.ipProto == 6 && http.bidirectional)
        let dns = try #require(rule("alert dns any any -> any 53 (msg:\"x\"; sid:1;)"))
        #expect(dns.proto.admits(ipProto: 17) && dns.proto.admits(ipProto: 6))
        let smtp = try #require(rule("alert smtp any any -> any 25 (msg:\"x\"; sid:1;)"))
        #expect(smtp.proto.app == .smtp && smtp.proto.unparsedApp == nil && smtp.proto.ipProto == 6)
        let imap = try #require(rule("alert imap any any -> any 143 (msg:\"x\"; sid:1;)"))
        #expect(imap.proto.unparsedApp == "imap" && imap.proto.ipProto == 6)
        let pkt = try #require(rule("alert tcp-pkt any any -> any any (msg:\"x\"; sid:1;)"))
        #expect(pkt.proto.packetOnly)
        #expect(rule("reject tcp any any -> any any (msg:\"x\"; sid:1;)")?.action == .reject)
        #expect(rule("drop ip any any -> any any (msg:\"x\"; sid:1;)")?.action == .drop)
        #expect(rule("pass icmp any any -> any any (msg:\"x\"; sid:1;)")?.action == .pass)
    }

    @Test func headerMatchBothWays() throws {
        let sig = try #require(rule("alert tcp 10.0.0.0/8 any <> 8.8.8.8 53 (msg:\"x\"; sid:1;)"))
        var p = PacketFacts()
        p.ipProto = 6
        p.source = ip("8.8.8.8"); p.sourcePort = 53
        p.destination = ip("10.1.1.1"); p.destinationPort = 4000
        let v = Verifier()
        #expect(v.headerMatches(sig, p))
        p.ipProto = 17
        #expect(!v.headerMatches(sig, p))
    }
}
