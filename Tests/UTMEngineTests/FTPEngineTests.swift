import Foundation
import Testing
import AllocationCounter
import UTMCore
import UTMDetect
import UTMOutput
@testable import UTMEngine

/// FTP through the whole engine: detection by the 220 greeting, `ftp` events on nDPI's real
/// captures (checked against tshark), the ET rule 2103441 (`ftpbounce`), and no allocation per
/// packet.
@Suite(.serialized) struct FTPEngineTests {
    static var enabled: Bool { CorpusGoldenTests.enabled }

    /// tshark -Y ftp on ftp.pcap (vsFTPd 3.0.3, 90.130.70.73:21): the greeting 220, then USER 331,
    /// PASS 230, PWD 257, FEAT 211 (multi-line), HELP SITE 214 (multi-line), CLNT 500, PWD 257,
    /// PASV 227 (port 25685: the ftp-data conversation on 25685), LIST 150+226, TYPE 200,
    /// MLST 500, SIZE 213, MDTM 213, PASV 227, RETR 150+226, QUIT 221.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func ndpiCapture() throws {
        let ftp = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/ftp.pcap", type: "ftp")
        let objs = ftp.compactMap { $0["ftp"] as? [String: Any] }
        #expect(objs.map { $0["command"] as? String ?? "-" } == [
            "-", "USER", "PASS", "PWD", "FEAT", "HELP", "CLNT", "PWD", "PASV", "LIST", "TYPE", "MLST", "SIZE",
            "MDTM", "PASV", "RETR", "QUIT"])
        #expect(objs.map { ($0["completion_code"] as? [String] ?? []).joined(separator: "+") } == [
            "220", "331", "230", "257", "211+211", "214+214", "500", "257", "227", "150+226", "200", "500", "213",
            "213", "227", "150+226", "221"])
        #expect(objs[1]["command_data"] as? String == "anonymous")
        #expect(objs[6]["command_data"] as? String == "NcFTP 3.2.6 macosx10.13")
        #expect(objs[0]["reply"] as? [String] == ["(vsFTPd 3.0.3)"])
        #expect((objs[4]["reply"] as? [String])?.first == "Features:")
        #expect(objs[8]["dynamic_port"] as? Int == 25685)
        #expect(objs[15]["command_data"] as? String == "1MB.zip")
        #expect(objs[15]["reply"] as? [String] == ["Opening BINARY mode data connection for 1MB.zip (1048576 bytes).", "Transfer complete."])
        #expect(objs.allSatisfy { $0["reply_received"] as? String == "yes" })
        #expect(ftp.allSatisfy { $0["app_proto"] as? String == "ftp" && $0["dest_port"] as? Int == 21 })
    }

    /// tshark: ftp_failed.pcap is 220, USER hello 530, SYST 530, QUIT 221; ftp-start-tls.pcap
    /// is 220, AUTH TLS 234 and then TLS (tshark's later PASV/STOR lines are inside it for us).
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func failedLoginAndStartTLS() throws {
        let failed = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/ftp_failed.pcap", type: "ftp")
            .compactMap { $0["ftp"] as? [String: Any] }
        #expect(failed.map { $0["command"] as? String ?? "-" } == ["-", "USER", "SYST", "QUIT"])
        #expect(failed.map { ($0["completion_code"] as? [String])?.first ?? "" } == ["220", "530", "530", "221"])
        let tls = try CorpusGoldenTests.events(CorpusGoldenTests.ndpi + "/ftp-start-tls.pcap", type: "ftp")
            .compactMap { $0["ftp"] as? [String: Any] }
        #expect(tls.map { $0["command"] as? String ?? "-" }.prefix(2) == ["-", "AUTH"])
        #expect((tls.dropFirst().first?["completion_code"] as? [String]) == ["234"])
    }

    // MARK: ftpbounce

    static func session(port: String, sport: UInt16 = 40021) -> [[UInt8]] {
        EngineTraffic.tcpSession(v6: false, sport: sport, dport: 21, exchanges: [
            ([], Array("220 FTP server ready\r\n".utf8)),
            (Array("USER anonymous\r\n".utf8), Array("331 Password please\r\n".utf8)),
            (Array("PASS x@\r\n".utf8), Array("230 OK\r\n".utf8)),
            (Array("PORT \(port)\r\n".utf8), Array("200 PORT command successful\r\n".utf8)),
            (Array("LIST\r\n".utf8), Array("150 Here it comes\r\n226 Done\r\n".utf8)),
        ])
    }

    /// The ET rule as shipped, with its header opened to the test's addresses (the test
    /// client is in $HOME_NET).
    static let bounceRule = #"alert tcp any any -> any 21 (msg:"GPL FTP PORT bounce attempt"; flow:to_server,established; content:"PORT"; nocase; ftpbounce; pcre:"/^PORT/smi"; classtype:misc-attack; sid:2103441; rev:2; metadata:created_at 2010_09_23, updated_at 2010_09_23;)"#

    static func run(_ frames: [[UInt8]], rules: String) -> [[String: Any]] {
        var parser = RuleParser()
        parser.load(text: rules, file: "ftp.rules")
        let set = parser.finish()
        #expect(set.report.loaded == 1)
        let engine = Engine()
        engine.loadDetection(DetectDefinitions(ruleSet: set))
        return FirewallEngineTests.run(engine, frames).events
    }

    @Test func bouncePortFiresTheETRule() throws {
        // The client is 192.168.1.10: a PORT naming 10.0.0.99 is a bounce.
        let bounce = Self.run(Self.session(port: "10,0,0,99,0,25"), rules: Self.bounceRule)
        #expect(FirewallEngineTests.sids(bounce) == [2103441])
        let alert = try #require(FirewallEngineTests.of(bounce, "alert").first)
        #expect(alert["app_proto"] as? String == "ftp" && alert["dest_port"] as? Int == 21)
        // PORT with the client's own address, and a malformed one: no alert.
        #expect(FirewallEngineTests.sids(Self.run(Self.session(port: "192,168,1,10,195,80"), rules: Self.bounceRule)).isEmpty)
        #expect(FirewallEngineTests.sids(Self.run(Self.session(port: "10,0,0,999,0,25"), rules: Self.bounceRule)).isEmpty)
        // The same PORT on a flow that is not FTP (no greeting, not port 21) is not an FTP rule's business.
        let notFTP = EngineTraffic.tcpSession(v6: false, sport: 40022, dport: 2121, exchanges: [
            (Array("PORT 10,0,0,99,0,25\r\n".utf8), Array("200 ok\r\n".utf8))])
        #expect(FirewallEngineTests.sids(Self.run(notFTP, rules: Self.bounceRule.replacingOccurrences(of: "any 21 (", with: "any any ("))).isEmpty)
        // The ftp events of the session: mode and dynamic port of the PORT command.
        let ftp = FirewallEngineTests.of(bounce, "ftp").compactMap { $0["ftp"] as? [String: Any] }
        #expect(ftp.map { $0["command"] as? String ?? "-" } == ["-", "USER", "PASS", "PORT", "LIST"])
        #expect(ftp[3]["mode"] as? String == "active" && ftp[3]["dynamic_port"] as? Int == 25)
    }

    @Test func etRuleLoads() throws {
        guard let shared = CorpusEnv.sharedFolder else {
            if CorpusEnv.isCI { Issue.record("shared corpus missing (CI=true)") }
            return
        }
        let text = try String(contentsOfFile: shared + "/corpus/rules/et-open-2019-suricata-4.0.rules", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("sid:2103441;") && !$0.hasPrefix("#") })
        var p = RuleParser()
        let sig = try p.parseRule(String(line), file: "et", line: 1)
        #expect(sig.proto.app == .ftp && sig.headerMatches.contains(.ftpBounce))
    }

    // MARK: Allocation

    @Test func steadyStateDoesNotAllocate() {
        guard allocationCounterWorks() else { return }
        let engine = Engine()
        var parser = RuleParser()
        parser.load(text: Self.bounceRule, file: "ftp.rules")
        engine.loadDetection(DetectDefinitions(ruleSet: parser.finish()))
        var traffic: [[UInt8]] = []
        for c in 0 ..< 4 { traffic += Self.session(port: "10,0,0,\(c),0,25", sport: UInt16(40100 + c)) }
        var before: [UInt64] = []
        let rounds = 10
        let n = steadyStateAllocations(engine, traffic, rounds: rounds) { before = engine.eve.counts.map { $0 } }
        #expect(n == 0, "FTP allocated \(n) times")
        #expect(engine.eve.counts[EVEEventType.ftp.rawValue] - before[EVEEventType.ftp.rawValue] == UInt64(rounds) * 4 * 5)
        #expect(engine.eve.counts[EVEEventType.alert.rawValue] - before[EVEEventType.alert.rawValue] == UInt64(rounds) * 4)
    }
}
