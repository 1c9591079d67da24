import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// Rule protocol words the engine detects (`alert ftp`, `alert smtp`), `app-layer-protocol`
/// and `base64_decode`/`base64_data` through the whole engine, on traffic built here.
@Suite(.serialized) struct AppProtoRuleTests {
    static func run(_ frames: [[UInt8]], rules: String) -> [[String: Any]] {
        var parser = RuleParser()
        parser.load(text: rules, file: "t.rules")
        let set = parser.finish()
        #expect(set.report.loaded == rules.split(separator: "\n").count)
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        return FirewallEngineTests.run(engine, frames).events
    }

    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// An FTP server on a port that is not 21: detected by its greeting naming FTP.
    static func ftpElsewhere(sport: UInt16 = 41000) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: sport, dport: 2121, exchanges: [
            ([], text("220 ProFTPD FTP server ready\r\n")),
            (text("USER anonymous\r\n"), text("331 Password please\r\n")),
            (text("SITE EXEC /bin/sh\r\n"), text("500 no\r\n")),
        ])
    }

    /// Port 21 but not FTP: the client speaks first with something no FTP client sends.
    static func notFTPOn21(sport: UInt16 = 41001) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: sport, dport: 21, exchanges: [
            (text("HELLO SITE EXEC /bin/sh\r\n"), text("what?\r\n")),
        ])
    }

    static let ftpRule = #"alert ftp any any -> any any (msg:"ftp site exec"; flow:to_server,established; content:"SITE EXEC"; nocase; sid:1;)"#
    static let ftp21Rule = #"alert ftp any any -> any 21 (msg:"ftp site exec on 21"; flow:to_server,established; content:"SITE EXEC"; nocase; sid:2;)"#

    @Test func ftpRulesFollowDetectionNotPorts() throws {
        let rules = Self.ftpRule + "\n" + Self.ftp21Rule
        let elsewhere = Self.run(Self.ftpElsewhere(), rules: rules)
        #expect(FirewallEngineTests.sids(elsewhere) == [1], "FTP on 2121 is FTP; the port-21 rule keeps its port")
        #expect(FirewallEngineTests.of(elsewhere, "alert").first?["app_proto"] as? String == "ftp")
        #expect(FirewallEngineTests.sids(Self.run(Self.notFTPOn21(), rules: rules)).isEmpty,
                "port 21 without FTP is not an ftp rule's flow")
        // A plain tcp rule still sees that flow: the difference is the protocol word.
        let tcp = rules.replacingOccurrences(of: "alert ftp", with: "alert tcp")
        #expect(FirewallEngineTests.sids(Self.run(Self.notFTPOn21(), rules: tcp)).sorted() == [1, 2])
    }

    /// SMTP is detected by the client's EHLO/HELO: an smtp rule reads SMTP sessions on any
    /// port, and no other flow on port 25.
    @Test func smtpRules() {
        let rule = #"alert smtp any any -> any any (msg:"smtp x-mailer"; flow:to_server,established; content:"X-Mailer|3a| Evil"; sid:3;)"#
        let smtp = EngineTraffic.tcpSession(v6: false, sport: 41002, dport: 2525, exchanges: [
            (Self.text("EHLO client.example\r\n"), Self.text("250 ok\r\n")),
            (Self.text("MAIL FROM:<a@b>\r\n"), Self.text("250 ok\r\n")),
            (Self.text("DATA\r\n"), Self.text("354 go\r\n")),
            (Self.text("Subject: hi\r\nX-Mailer: Evil 1.0\r\n\r\nbody\r\n.\r\n"), Self.text("250 queued\r\n")),
        ])
        #expect(FirewallEngineTests.sids(Self.run(smtp, rules: rule)) == [3])
        let other = EngineTraffic.tcpSession(v6: false, sport: 41003, dport: 25, exchanges: [
            (Self.text("XYZZY X-Mailer: Evil 1.0\r\n"), Self.text("?\r\n")),
        ])
        #expect(FirewallEngineTests.sids(Self.run(other, rules: rule)).isEmpty)
    }

    @Test func appLayerProtocolKeyword() {
        let rules = """
            alert tcp any any -> any any (msg:"http off port"; flow:to_server; app-layer-protocol:http; content:"GET"; sid:10;)
            alert tcp any any -> any any (msg:"not http"; flow:to_server; app-layer-protocol:!http; content:"SITE"; sid:11;)
            alert tcp any any -> any any (msg:"ftp"; flow:to_server; app-layer-protocol:ftp,to_server; content:"USER"; sid:12;)
            alert tcp any any -> any any (msg:"failed"; flow:to_server; app-layer-protocol:failed; content:"o"; sid:13;)
            """
        let http = EngineTraffic.tcpSession(v6: false, sport: 41004, dport: 8081, exchanges: [
            (Self.text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Self.text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        #expect(FirewallEngineTests.sids(Self.run(http, rules: rules)) == [10])
        #expect(FirewallEngineTests.sids(Self.run(Self.ftpElsewhere(), rules: rules)).sorted() == [11, 12])
        // Detection gives up after 4 unknown chunks each way (`detectionChunks`; lower case:
        // an upper-case start could still be an HTTP method): the next packet is on a
        // `failed` flow, and only then.
        let unknown = EngineTraffic.tcpSession(v6: false, sport: 41007, dport: 21, exchanges:
            Array(repeating: (Self.text("xyzzy\r\n"), Self.text("what?\r\n")), count: 4)
                + [(Self.text("hello\r\n"), Self.text("what?\r\n"))])
        let ev = Self.run(unknown, rules: rules)
        #expect(FirewallEngineTests.sids(ev) == [13])
    }

    static let base64Rule = #"alert tcp any any -> any any (msg:"b64 cmd"; flow:to_server,established; content:"cmd="; base64_decode:bytes 200,relative; base64_data; content:"powershell -enc"; nocase; sid:20;)"#

    static func base64Session(_ command: String, sport: UInt16 = 41005) -> [[UInt8]] {
        let b64 = Data(command.utf8).base64EncodedString()
        return EngineTraffic.tcpSession(v6: false, sport: sport, dport: 9000, exchanges: [
            (Self.text("HELLO\r\n"), Self.text("OK\r\n")),
            (Self.text("RUN cmd=\(b64)\r\n"), Self.text("OK\r\n")),
        ])
    }

    @Test func base64DecodeThroughTheEngine() throws {
        #expect(FirewallEngineTests.sids(Self.run(Self.base64Session("PowerShell -enc AAAA"), rules: Self.base64Rule)) == [20])
        #expect(FirewallEngineTests.sids(Self.run(Self.base64Session("notepad.exe"), rules: Self.base64Rule)).isEmpty)
        // The anchor split over two segments: the engine verifies the window of both (a
        // prefilter match crossing the boundary), so the decode sees the whole command.
        let b64 = Array(Data("PowerShell -enc AAAA".utf8).base64EncodedString().utf8)
        let line = Self.text("RUN cmd=") + b64 + Self.text("\r\n")
        for cut in 5 ... 7 {
            let split = EngineTraffic.tcpSession(v6: false, sport: 41008, dport: 9000, exchanges: [
                (Array(line.prefix(cut)), []), (Array(line.dropFirst(cut)), Self.text("OK\r\n")),
            ])
            #expect(FirewallEngineTests.sids(Self.run(split, rules: Self.base64Rule)) == [20], "cut at \(cut)")
        }
        // In an HTTP URI, through a compiled bundle.
        var p = RuleParser()
        p.load(text: #"alert http any any -> any any (msg:"b64 uri"; http.uri; content:"?q="; base64_decode:relative; base64_data; content:"/etc/passwd"; sid:21;)"#, file: "t.rules")
        let bundle = DefinitionsBundle.encode(definitions: DetectDefinitions(ruleSet: p.finish()))
        let defs = try DefinitionsBundle.decode(bundle, file: "b")
        for (payload, expected) in [("/etc/passwd", [21]), ("/etc/hosts", [])] {
            let engine = Engine()
            engine.loadDetection(defs)
            let uri = "/x?q=" + Data(payload.utf8).base64EncodedString()
            let frames = EngineTraffic.tcpSession(v6: false, sport: 41006, dport: 80, exchanges: [
                (Self.text("GET \(uri) HTTP/1.1\r\nHost: x\r\n\r\n"), Self.text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
            ])
            #expect(FirewallEngineTests.sids(FirewallEngineTests.run(engine, frames).events) == expected, "\(payload)")
        }
    }

    // MARK: xbits / hostbits across flows

    /// Frames with their own times (seconds), so expiry can be tested.
    static func runTimed(_ frames: [([UInt8], Int64)], rules: String) -> [[String: Any]] {
        var parser = RuleParser()
        parser.load(text: rules, file: "t.rules")
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        for (i, (f, t)) in frames.enumerated() {
            f.withByteView { v in
                _ = engine.process(frame: v, linkType: .ethernet, timestamp: Timestamp(seconds: t, micros: Int32(i)),
                                   wireLength: v.count)
            }
        }
        engine.finish()
        return String(decoding: engine.eve.buffer, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The ET pattern: a first flow marks the client (`noalert`), a later flow of the same
    /// client to another port alerts while the mark lives, not after it expired.
    static let xbitRules = """
        alert tcp any any -> any 9001 (msg:"stage 1"; flow:to_server,established; content:"STAGE1"; xbits:set,ET.stage,track ip_src,expire 60; xbits:noalert; sid:30;)
        alert tcp any any -> any 9002 (msg:"stage 2 after stage 1"; flow:to_server,established; content:"STAGE2"; xbits:isset,ET.stage,track ip_src; sid:31;)
        alert tcp any any -> any 9002 (msg:"stage 2 alone"; flow:to_server,established; content:"STAGE2"; hostbits:isnotset,ET.stage; sid:32;)
        """

    static func stage(_ n: Int, sport: UInt16) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: sport, dport: UInt16(9000 + n), exchanges: [
            (Self.text("STAGE\(n) go\r\n"), Self.text("ok\r\n"))])
    }

    @Test func xbitsCrossFlows() {
        let t0: Int64 = 1_700_000_000
        let first = Self.stage(1, sport: 42000).map { ($0, t0) }
        let soon = Self.stage(2, sport: 42001).map { ($0, t0 + 30) }
        #expect(FirewallEngineTests.sids(Self.runTimed(first + soon, rules: Self.xbitRules)) == [31],
                "stage 1 is noalert; stage 2 sees the mark, so not 'alone'")
        let late = Self.stage(2, sport: 42001).map { ($0, t0 + 61) }
        #expect(FirewallEngineTests.sids(Self.runTimed(first + late, rules: Self.xbitRules)) == [32], "the mark expired")
        #expect(FirewallEngineTests.sids(Self.runTimed(soon, rules: Self.xbitRules)) == [32], "no stage 1")
    }

    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var parser = RuleParser()
        parser.load(text: [Self.base64Rule, Self.ftpRule,
                           #"alert tcp any any -> any any (msg:"nh"; flow:to_server; app-layer-protocol:!http; content:"SITE"; sid:11;)"#,
                           #"alert tcp any any -> any any (msg:"x1"; flow:to_server; content:"USER"; xbits:set,u,track ip_pair; xbits:noalert; sid:40;)"#,
                           #"alert tcp any any -> any any (msg:"x2"; flow:to_server; content:"SITE"; xbits:isset,u,track ip_pair; hostbits:toggle,t,dst; sid:41;)"#]
            .joined(separator: "\n"), file: "t.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var traffic: [[UInt8]] = []
        for c in 0 ..< 4 {
            traffic += Self.base64Session("powershell -enc \(c)", sport: UInt16(41100 + c))
            traffic += Self.ftpElsewhere(sport: UInt16(41200 + c))
        }
        var before: [UInt64] = []
        let rounds = 10
        let n = steadyStateAllocations(engine, traffic, rounds: rounds) { before = engine.eve.counts.map { $0 } }
        #expect(n == 0, "allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.alert.rawValue] - before[EVEEventType.alert.rawValue] == UInt64(rounds) * 4 * 4)
    }
}
