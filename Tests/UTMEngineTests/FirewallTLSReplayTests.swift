import Foundation
import Testing
import UTMEngine

/// "IPS as a firewall" on Suricata's own capture (suricata-verify ips/firewall-04 and -06, on
/// bug-2646-01's pcap): pass the handshake, pass TLS to one SNI, drop everything else. The TLS
/// session closes and the server keeps retransmitting its FIN; after the closed timeout its
/// next retransmission is a new session without a handshake, dropped by the midstream
/// exception policy. Reads ../shared (skipped outside CI when absent).
@Suite struct FirewallTLSReplayTests {
    typealias R = ReplayCommandTests

    /// What tools/sv-replay.py passes for these folders: IPS, midstream pickup off with
    /// exception-policy auto, Suricata's built-in timeouts, drop log `flows: all`.
    static let settings = ["--set", "stream.midstream=false", "--set", "exception-policy=auto",
                           "--set", "flow-timeouts.tcp.new=30", "--set", "flow-timeouts.tcp.established=300",
                           "--set", "flow-timeouts.tcp.closed=10", "--action-order", "pass,drop,reject,alert",
                           "--drop-log-flows"]

    func events(_ rules: String, _ extra: [String] = []) throws -> [[String: Any]]? {
        guard let shared = CorpusEnv.sharedFolder else {
            if CorpusEnv.isCI { Issue.record("../shared corpus missing") }
            return nil
        }
        let tests = shared + "/corpus/suricata-verify/tests"
        let r = try R.run(["replay", tests + "/bug-2646-01/input.pcap", "--rules", tests + "/ips/" + rules + "/test.rules",
                           "--eve", "-"] + FirewallTLSReplayTests.settings + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func of(_ evs: [[String: Any]], _ type: String) -> [[String: Any]] {
        evs.filter { $0["event_type"] as? String == type }
    }

    func dropReasons(_ evs: [[String: Any]]) -> [String] {
        of(evs, "drop").compactMap { ($0["drop"] as? [String: Any])?["reason"] as? String }
    }

    @Test func allowedSNIPassesTheFlowAndTheLateRetransmissionIsDropped() throws {
        guard let evs = try events("firewall-04-tls-sni-enforce") else { return }
        #expect(of(evs, "alert").isEmpty)
        #expect(of(evs, "tls").count == 1)
        #expect(dropReasons(evs) == ["stream midstream", "flow drop"])
        // The TLS session timed out in TIME_WAIT; the retransmission started a second flow.
        #expect(of(evs, "flow").count == 2)
    }

    @Test func otherSNIDropsEveryPacketAfterTheHandshake() throws {
        guard let evs = try events("firewall-06-tls-sni-enforce",
                                   ["--set", "detect.guess-applayer-tx=true", "--set", "detect.stream-tx-log-limit=4"]) else { return }
        let alerts = of(evs, "alert")
        // Packets 4..27: everything after the three handshake packets, one by one.
        #expect(alerts.count == 24)
        #expect(alerts.allSatisfy { ($0["alert"] as? [String: Any])?["signature_id"] as? Int == 3 })
        let withSNI = alerts.filter { ($0["tls"] as? [String: Any])?["sni"] as? String == "raw.githubusercontent.com" }
        #expect(withSNI.count == 4, "the transaction rides on the first stream-tx-log-limit alerts")
        #expect(dropReasons(evs).count == 26)
        #expect(dropReasons(evs).filter { $0 == "rules" }.count == 24)
        #expect(of(evs, "tls").count == 1)
        // Without guess-applayer-tx, alerts carry no transaction.
        guard let plain = try events("firewall-06-tls-sni-enforce") else { return }
        #expect(!of(plain, "alert").contains { $0["tls"] != nil })
    }

    @Test func settingsKeys() throws {
        var c = EngineConfig()
        var explicit = false
        _ = try ReplaySettings.apply("flow-timeouts.tcp.closed=10", to: &c, explicitMidstreamPolicy: &explicit)
        _ = try ReplaySettings.apply("flow-timeouts.udp.new=5", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.flow.timeouts.tcpClosed == 10_000_000 && c.flow.timeouts.udpNew == 5_000_000)
        #expect(try ReplaySettings.apply("flow-timeouts.tcp.bypassed=5", to: &c, explicitMidstreamPolicy: &explicit)?.contains("ignored") == true)
        _ = try ReplaySettings.apply("detect.guess-applayer-tx=yes", to: &c, explicitMidstreamPolicy: &explicit)
        _ = try ReplaySettings.apply("detect.stream-tx-log-limit=2", to: &c, explicitMidstreamPolicy: &explicit)
        #expect(c.modes.guessAppLayerTx && c.modes.streamTxLogLimit == 2)
        for bad in ["flow-timeouts.tcp.new=soon", "flow-timeouts.tcp.new=-1", "detect.stream-tx-log-limit=lots",
                    "detect.guess-applayer-tx=maybe"] {
            #expect(throws: ReplaySettings.Failure.self) { try ReplaySettings.apply(bad, to: &c, explicitMidstreamPolicy: &explicit) }
        }
    }
}
