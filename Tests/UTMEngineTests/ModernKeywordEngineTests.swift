import AllocationCounter
import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// Session 9 (modernkw2) keywords through the whole engine on traffic built here: flowint
/// counting over a TCP stream, the packet header buffers on IPv4/IPv6 TCP, UDP, ICMP and
/// ICMPv6 packets, entropy on UDP payloads, dns.rrtype / dns.rcode on DNS over UDP and TCP;
/// each rule set as parsed and after a bundle round trip (`Session6KeywordEngineTests.alerts`),
/// and the steady state without allocation.
@Suite(.serialized) struct ModernKeywordEngineTests {
    typealias T = EngineTraffic
    typealias S6 = Session6KeywordEngineTests
    typealias K = Session7KeywordEngineTests

    static func ftp(sport: UInt16, users: Int) -> [[UInt8]] {
        T.tcpSession(v6: false, sport: sport, dport: 21,
                     exchanges: (0 ..< users).map { (Array("USER u\($0)\r\n".utf8), Array("331 ok\r\n".utf8)) })
    }

    static let counting = """
        alert tcp any any -> any 21 (msg:"third USER and later"; flow:to_server,established; content:"USER"; flowint:users,>,1; sid:2;)
        alert tcp any any -> any 21 (msg:"count USER"; flow:to_server,established; content:"USER"; flowint:users,+,1; noalert; sid:1;)
        """

    @Test func flowintCountsUsersPerFlow() throws {
        let frames = Self.ftp(sport: 51001, users: 4) + Self.ftp(sport: 51002, users: 2) + Self.ftp(sport: 51003, users: 1)
        let n = try S6.alerts(Self.counting, frames)
        // Flow 1: counts 1, 2, 3, 4 after each USER: > 1 on the 2nd, 3rd, 4th; flow 2: on its
        // 2nd; flow 3: never (its count starts again at 0).
        #expect(n[2] == 4 && n[1] == nil, "\(n)")
    }

    static let icmp6Echo: [UInt8] = [128, 0, 0, 0] + T.be16(7) + T.be16(1) + Array("ping6".utf8)

    @Test func headerBuffersOnBuiltPackets() throws {
        var frames = T.tcpSession(v6: false, sport: 52001, dport: 80, exchanges: [(Array("hello".utf8), Array("world".utf8))])
        frames += T.tcpSession(v6: true, sport: 52002, dport: 80, exchanges: [(Array("hello".utf8), Array("world".utf8))])
        frames += K.dnsExchange(sport: 52003)
        frames.append(S6.ipv4(proto: 1, S6.icmp(type: 8, id: 9, seq: 7)))
        frames.append(T.ip(v6: true, proto: 58, toServer: true, Self.icmp6Echo))
        let rules = """
            alert ip any any -> any any (msg:"ipv4 header, 20 bytes"; ipv4.hdr; content:"|45|"; depth:1; bsize:20; sid:1;)
            alert ip any any -> any any (msg:"ipv6 header"; ipv6.hdr; content:"|60|"; depth:1; bsize:40; sid:2;)
            alert tcp any any -> any any (msg:"a SYN: flags byte 0x02"; tcp.hdr; content:"|02|"; offset:13; depth:1; bsize:20; sid:3;)
            alert tcp any any -> any 80 (msg:"payload and header"; flow:to_server; tcp.hdr; content:"|18|"; offset:13; depth:1; pkt_data; content:"hello"; sid:4;)
            alert udp any any -> any any (msg:"udp to 53"; udp.hdr; content:"|00 35|"; offset:2; depth:2; sid:5;)
            alert icmp any any -> any any (msg:"echo request"; icmpv4.hdr; content:"|08 00|"; depth:2; sid:6;)
            alert ip any any -> any any (msg:"icmpv6 echo"; icmpv6.hdr; content:"|80 00|"; depth:2; sid:7;)
            alert tcp any any -> any any (msg:"no tcp header of 24"; tcp.hdr; bsize:24; sid:8;)
            alert ip any any -> any any (msg:"no v4 header is 40"; ipv4.hdr; bsize:40; sid:9;)
            alert ip any any -> any any (msg:"v4 header buffer is not v6's"; icmpv4.hdr; content:"|80|"; depth:1; sid:10;)
            """
        let n = try S6.alerts(rules, frames)
        // IPv4 packets: 10 of the TCP session, 2 DNS, 1 ICMP.
        #expect(n[1] == 13, "\(n)")
        #expect(n[2] == 11, "10 of the IPv6 TCP session and the ICMPv6 echo; \(n)")
        #expect(n[3] == 2, "one SYN per session; \(n)")
        #expect(n[4] == 2, "the PSH|ACK request of each session; \(n)")
        #expect(n[5] == 1 && n[6] == 1 && n[7] == 1, "\(n)")
        #expect(n[8] == nil && n[9] == nil && n[10] == nil, "\(n)")
    }

    static func udp(_ payload: [UInt8], dport: UInt16 = 9999) -> [UInt8] {
        T.ip(v6: false, proto: 17, toServer: true, T.be16(53001) + T.be16(dport) + T.be16(UInt16(8 + payload.count)) + [0, 0] + payload)
    }

    @Test func entropyOnUDPPayloads() throws {
        let random = (0 ..< 512).map { UInt8(($0 * 167 + 13) & 0xff) }
        let text = Array(String(repeating: "the quick brown fox ", count: 20).utf8)
        let frames = [Self.udp(random), Self.udp(text), Self.udp(Array("hdr:".utf8) + random)]
        let rules = """
            alert udp any any -> any 9999 (msg:"high entropy"; entropy: value >= 7.5; sid:1;)
            alert udp any any -> any 9999 (msg:"low entropy"; entropy: value < 5; sid:2;)
            alert udp any any -> any 9999 (msg:"after a marker"; content:"hdr:"; startswith; entropy: offset 4, value > 7.9; sid:3;)
            alert udp any any -> any 9999 (msg:"first 8 bytes"; entropy: bytes 8, value = 3; sid:4;)
            """
        let n = try S6.alerts(rules, frames)
        #expect(n[1] == 2 && n[2] == 1 && n[3] == 1, "\(n)")
        // Eight distinct bytes are 3 bits: "the quic", the random payload's first 8, "hdr:" and 4 random.
        #expect(n[4] == 3, "\(n)")
    }

    @Test func dnsRRTypeAndRcode() throws {
        let frames = K.dnsExchange(sport: 54001) + K.dnsOverTCP(sport: 54002)
        let rules = """
            alert dns any any -> any any (msg:"A query"; dns.rrtype:1; sid:40;)
            alert dns any any -> any any (msg:"CNAME answer"; flow:to_client; dns.rrtype:5; sid:41;)
            alert dns any any -> any any (msg:"TXT query over TCP"; dns.rrtype:16; sid:42;)
            alert dns any any -> any any (msg:"NXDOMAIN"; flow:to_client; dns.rcode:nxdomain; sid:43;)
            alert dns any any -> any any (msg:"NOERROR response"; flow:to_client; dns.rcode:0; sid:44;)
            alert dns any any -> any any (msg:"no AAAA"; dns.rrtype:28; sid:45;)
            alert dns any any -> any any (msg:"NXDOMAIN, no direction: judged on responses"; dns.rcode:3; sid:46;)
            alert dns any any -> any any (msg:"answer types, not questions"; flow:to_client; dns.rrtype:16; sid:47;)
            alert dns any any -> any any (msg:"with a question name"; dns.queries.rrname; content:"www.evil"; dns.rrtype:1; sid:48;)
            alert dns any any -> any any (msg:"CNAME answer, question name"; dns.queries.rrname; content:"www.evil"; dns.rrtype:5; sid:49;)
            """
        let n = try S6.alerts(rules, frames)
        #expect(n[40] == 1 && n[41] == 1 && n[42] == 1, "\(n)")
        #expect(n[43] == 1 && n[44] == 1, "\(n)")
        #expect(n[45] == nil && n[47] == nil, "\(n)")
        #expect(n[46] == 1, "a dns.rcode rule without a direction sees the responses: \(n)")
        // Per-name phases: the query's question type, the response's answer types.
        #expect(n[48] == 2 && n[49] == 1, "\(n)")
    }

    // MARK: Allocation

    static let allocationRules = counting + """

        alert ip any any -> any any (msg:"h4"; ipv4.hdr; content:"|45|"; depth:1; sid:10;)
        alert tcp any any -> any any (msg:"syn"; tcp.hdr; content:"|02|"; offset:13; depth:1; sid:11;)
        alert udp any any -> any any (msg:"udp"; udp.hdr; content:"|00 35|"; offset:2; depth:2; sid:12;)
        alert udp any any -> any 9999 (msg:"entropy"; entropy: value >= 7.5; sid:13;)
        alert dns any any -> any any (msg:"rrtype"; dns.rrtype:1; sid:14;)
        alert dns any any -> any any (msg:"rcode"; flow:to_client; dns.rcode:0; sid:15;)
        alert tcp any any -> any 21 (msg:"entropy of a stream"; flow:to_server; content:"USER"; entropy: value < 5; sid:16;)
        """

    @Test func session9KeywordsDoNotAllocate() {
        guard allocationCounterWorks() else { return }
        var frames: [[UInt8]] = []
        for c in 0 ..< 3 {
            frames += Self.ftp(sport: UInt16(55000 + c), users: 3)
            frames += K.dnsExchange(sport: UInt16(55100 + c))
            frames.append(Self.udp((0 ..< 256).map { UInt8(($0 * 167 + 13) & 0xff) }))
        }
        var parser = RuleParser()
        parser.load(text: Self.allocationRules, file: "alloc9.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty, "\(set.report.errors + set.report.skipped)")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        var alertsBefore = engine.stats.alerts
        let rounds = 10
        let n = steadyStateAllocations(engine, frames, rounds: rounds) { alertsBefore = engine.stats.alerts }
        let alerts = engine.stats.alerts - alertsBefore
        print("Engine allocations with session 9 rules: \(n); alerts \(alerts)")
        #expect(n == 0, "session 9 detection allocated \(n) times")
        // Per round and FTP flow: flowint 2 (2nd and 3rd USER), SYN 1, entropy of USER 3;
        // per DNS exchange: udp.hdr 1, rrtype 1, rcode 1; entropy 1 per UDP packet; ipv4.hdr on
        // every packet (FTP 3 x 18, DNS 3 x 2, UDP 3).
        let perRound: UInt64 = 18 + 9 + 3 + 54 + 6 + 3
        #expect(alerts == UInt64(rounds) * perRound, "\(alerts)")
    }
}
