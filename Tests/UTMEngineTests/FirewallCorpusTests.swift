import Foundation
import Testing

/// `utmctl replay --firewall-rules` on real captures of the shared corpus (never copied here):
/// a TLS ClientHello split over three segments, decided on its SNI, and a plain HTTP session.
@Suite struct FirewallCorpusTests {
    typealias R = ReplayCommandTests

    static func capture(_ relative: String) -> String? {
        guard let shared = CorpusEnv.sharedFolder else {
            if CorpusEnv.isCI { Issue.record("shared corpus missing (CI=true)") } else {
                print("FirewallCorpusTests: shared corpus not found; skipped outside CI")
            }
            return nil
        }
        return shared + "/corpus/suricata-verify/tests/" + relative
    }

    func replay(_ pcap: String, _ rules: String) throws -> [[String: Any]] {
        let file = try R.temp("fw-\(UUID().uuidString).rules", Data(rules.utf8))
        let r = try R.run(["replay", pcap, "--eve", "-", "--firewall-rules", file, "--drop-log-flows"])
        #expect(r.status == 0 && r.reason == .exit, "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("warning"), "stderr: \(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func count(_ evs: [[String: Any]], _ type: String) -> Int {
        evs.filter { $0["event_type"] as? String == type }.count
    }

    /// The SNI is only known once the third segment completes the ClientHello: the earlier
    /// segments pass `tls:client_in_progress` through the `<` prior-hook accept.
    @Test func splitClientHelloDecidedOnSNI() throws {
        guard let pcap = Self.capture("tls/tls-client-hello-frag-01/dump_mtu300.pcap") else { return }
        let allow = try replay(pcap, """
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:flow tls:<client_hello_done any any -> any 443 (tls.sni; content:"www.google.com"; sid:101;)
            """)
        #expect(count(allow, "drop") == 0)
        #expect(count(allow, "tls") == 1)
        let deny = try replay(pcap, """
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:flow tls:<client_hello_done any any -> any 443 (tls.sni; content:"www.example.com"; sid:101;)
            """)
        // The first two segments pass; the one completing the hello meets the default drop:flow.
        let reasons = deny.compactMap { ($0["drop"] as? [String: Any])?["reason"] as? String }
        #expect(reasons.first == "default app policy")
        #expect(reasons.count == 57, "62 packets: handshake and two segments pass")
        #expect(count(deny, "tls") == 0 || count(deny, "tls") == 1)
    }

    @Test func httpSessionAcceptedPerHook() throws {
        guard let pcap = Self.capture("flowbit-oring/input.pcap") else { return }
        let evs = try replay(pcap, """
            accept:hook tcp:all any any -> any any (sid:100;)
            accept:hook http1:request_started any any -> any any (sid:101;)
            accept:tx,alert http1:request_line any any -> any 80 (msg:"GET allowed"; http.method; content:"GET"; sid:102;)
            """)
        #expect(count(evs, "drop") == 0)
        #expect(count(evs, "http") == 1)
        let sids = evs.compactMap { ($0["alert"] as? [String: Any])?["signature_id"] as? Int }
        #expect(sids == [102])
    }
}
