import Foundation
import Testing
import UTMAntivirus
import UTMCore
@testable import UTMDetect
@testable import UTMEngine

/// A definitions update in the middle of a flow (utmd's SIGHUP, the daily rule update): the
/// running engine adopts the new definitions and the flow goes on (EngineDefinitions.swift,
/// DetectEngineHandover.swift; README "Definitions updates keep the flows, session 9").
/// Each case also runs the old way (a whole new engine) to show what the adoption keeps.
@Suite struct DefinitionsUpdateTests {
    typealias T = EngineTraffic

    /// Before the update: a login sets a flowbit; nothing on the second request.
    static let before = """
        alert http any any -> any any (msg:"login"; flow:to_server; http.uri; content:"/login"; flowbits:set,logged_in; sid:100;)
        """
    /// After: another flowbit is named first, so `logged_in` has another index than before; the
    /// admin request after a login alerts; a stream rule's two parts lie on both sides of the
    /// update.
    static let after = """
        alert tcp any any -> any any (msg:"other bit"; content:"qqqq"; flowbits:set,unrelated; flowbits:noalert; sid:300;)
        alert http any any -> any any (msg:"admin after login"; flow:to_server; flowbits:isset,logged_in; http.uri; content:"/admin"; sid:200;)
        alert tcp any any -> any any (msg:"spans the update"; flow:to_server; content:"AAAA"; content:"BBBB"; distance:0; sid:201;)
        """

    static func definitions(_ text: String) -> DetectDefinitions {
        var parser = RuleParser()
        parser.load(text: text, file: "update.rules")
        let set = parser.finish()
        #expect(set.report.errors.isEmpty && set.report.skipped.isEmpty)
        return DetectDefinitions(ruleSet: set)
    }

    struct Outcome {
        var alerts: [Int: Int] = [:]
        var flowEvents = 0
        var httpEvents: [String] = []
        var adopted = false
    }

    /// Runs `frames`, updating the definitions before frame `at`: adopted by the running
    /// engine (`keepFlows`) or with a new engine after finishing the old one (the old way).
    static func run(_ frames: [[UInt8]], updateAt at: Int?, keepFlows: Bool,
                    before: String = DefinitionsUpdateTests.before, after: String = DefinitionsUpdateTests.after) -> Outcome {
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(definitions(before))
        var outcome = Outcome()
        let eve = Session6KeywordEngineTests.replayEVE(engine, frames) { i, running in
            guard let at, i == at else { return nil }
            if keepFlows {
                let next = EngineDefinitions(config: EngineConfig(), flowCapacity: running.flows.capacity)
                next.loadDetection(definitions(after))
                outcome.adopted = running.adopt(next)
                return nil
            }
            let restarted = Engine(config: EngineConfig())
            restarted.loadDetection(definitions(after))
            return restarted
        }
        for e in Session6KeywordEngineTests.events(eve) {
            switch e["event_type"] as? String {
            case "alert":
                if let sid = (e["alert"] as? [String: Any])?["signature_id"] as? Int { outcome.alerts[sid, default: 0] += 1 }
            case "flow":
                outcome.flowEvents += 1
            case "http":
                if let url = (e["http"] as? [String: Any])?["url"] as? String { outcome.httpEvents.append(url) }
            default:
                break
            }
        }
        return outcome
    }

    static func request(_ uri: String) -> String { "GET \(uri) HTTP/1.1\r\nHost: box.example\r\nUser-Agent: t\r\n\r\n" }

    @Test func flowbitsAndHTTPStateSurviveTheUpdate() {
        // SYN, SYN-ACK, ACK, the login request, then (after the update) the admin request.
        let frames = StreamWindowEngineTests.session(sport: 48801, client: [Self.request("/login"), Self.request("/admin")],
                                                     server: ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
        let kept = Self.run(frames, updateAt: 4, keepFlows: true)
        #expect(kept.adopted)
        #expect(kept.alerts == [100: 1, 200: 1])
        #expect(kept.flowEvents == 1)
        #expect(kept.httpEvents.contains("/admin"))
        // The old way: the flow is split in two records, and the login is forgotten.
        let restarted = Self.run(frames, updateAt: 4, keepFlows: false)
        #expect(restarted.alerts[200] == nil)
        #expect(restarted.flowEvents == 2)
    }

    @Test func streamMatchAcrossTheUpdate() {
        let frames = StreamWindowEngineTests.session(sport: 48802, client: ["xxAAAAxx", "yyBBBByy"])
        let kept = Self.run(frames, updateAt: 4, keepFlows: true)
        #expect(kept.adopted)
        #expect(kept.alerts == [201: 1])
        let restarted = Self.run(frames, updateAt: 4, keepFlows: false)
        #expect(restarted.alerts[201] == nil)
    }

    @Test func definitionsSizedForAnotherEngineAreRefused() {
        let engine = Engine(config: EngineConfig())
        engine.loadDetection(Self.definitions(Self.before))
        let other = EngineDefinitions(config: EngineConfig(), flowCapacity: engine.flows.capacity / 2)
        other.loadDetection(Self.definitions(Self.after))
        #expect(!engine.adopt(other))
        #expect(engine.detect?.defs.count == 1)
    }

    /// A response body held past its first inspection, whose match lies in the kept window: an
    /// unchanged rule does not alert again on it after the update (its matched list is mapped
    /// by gid:sid, not forgotten).
    @Test func bodyMatchNotRepeatedByAnUnchangedRule() {
        let rule = """
            alert http any any -> any any (msg:"evil body"; flow:to_client; file_data; content:"EVILMARK"; sid:500;)
            """
        let other = """
            alert tcp any any -> any any (msg:"first in the new order"; content:"never-here"; sid:501;)
            """
        var first = [UInt8](repeating: UInt8(ascii: "a"), count: 41 * 1024)
        for (k, c) in "EVILMARK".utf8.enumerated() { first[30000 + k] = c }
        let second = String(repeating: "b", count: 10 * 1024), third = String(repeating: "c", count: 5 * 1024)
        let head = "HTTP/1.1 200 OK\r\nContent-Length: \(first.count + second.utf8.count + third.utf8.count)\r\n\r\n"
        let frames = StreamWindowEngineTests.session(sport: 48803, client: [Self.request("/f")],
                                                     server: [head + String(decoding: first, as: UTF8.self), second, third])
        #expect(Self.run(frames, updateAt: nil, keepFlows: true, before: rule, after: rule).alerts == [500: 1])
        // The update renumbers the rule (another comes first): still one alert.
        let kept = Self.run(frames, updateAt: 7, keepFlows: true, before: rule, after: other + "\n" + rule)
        #expect(kept.adopted && kept.alerts == [500: 1])
    }

    /// A header-only rule (IP-only, as IP reputation rules are) added by the update meets the
    /// flows already open on their next packet; one the flows already met does not alert again.
    @Test func headerOnlyRulesAddedByTheUpdateMeetOpenFlows() {
        let ipOnly = """
            alert ip any any -> any any (msg:"listed address"; sid:700;)
            """
        let content = """
            alert tcp any any -> any any (msg:"x"; content:"zzzzzz"; sid:1;)
            """
        let frames = StreamWindowEngineTests.session(sport: 48804, client: ["hello", "world"])
        // Added: once per direction (the next client packet and the next server packet).
        let added = Self.run(frames, updateAt: 4, keepFlows: true, before: content, after: ipOnly)
        #expect(added.adopted && added.alerts == [700: 2])
        // Already there before the update: its two alerts (first packet each way), no more.
        let unchanged = Self.run(frames, updateAt: 4, keepFlows: true, before: ipOnly, after: ipOnly)
        #expect(unchanged.alerts == [700: 2])
    }

    /// Antivirus switched on raises body and stream limits the running parsers were built
    /// without: the running engine refuses those definitions (utmd then builds a new engine).
    @Test func definitionsWithOtherLimitsAreRefused() throws {
        let engine = Engine(config: EngineConfig())
        var withAV = EngineConfig()
        withAV.applyAntivirus(EngineAntivirusConfig(database: AVDatabase.builtinOnly()))
        #expect(withAV.flow.streamDepth != engine.config.flow.streamDepth)
        #expect(!engine.adopt(EngineDefinitions(config: withAV, flowCapacity: engine.flows.capacity)))
        #expect(engine.config.antivirus == nil)
        #expect(engine.adopt(EngineDefinitions(config: EngineConfig(), flowCapacity: engine.flows.capacity)))
    }

    @Test func flowbitsMapByName() {
        var bits = FlowBits()
        bits.set(0)
        bits.set(2)
        // Old index 0 is new 5; old 2 is no longer named.
        let mapped = DetectEngine.remap(bits, [5, nil, nil])
        #expect(mapped.isSet(5) && !mapped.isSet(0) && !mapped.isSet(2) && mapped.count == 1)
    }
}
