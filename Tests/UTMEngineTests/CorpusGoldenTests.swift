import Foundation
import Testing

/// Golden facts about a few small captures of the shared corpus (read in place, never copied),
/// each checked by hand against an outside reference: nDPI's own result file for the capture
/// (`cfgs/default/result/<capture>.out`) or tshark's dissection of it.
@Suite struct CorpusGoldenTests {
    static let ndpi = "corpus/ndpi/tests/cfgs/default/pcap"

    /// Replays `capture` (relative to the shared folder) and returns its events of `type`.
    static func events(_ capture: String, type: String) throws -> [[String: Any]] {
        guard let shared = CorpusEnv.sharedFolder else {
            Issue.record("CI=true but the shared corpus is missing (expected <repo>/../shared/corpus)")
            return []
        }
        guard let utmctl = CorpusEnv.utmctl else {
            Issue.record("utmctl not found under \(CorpusEnv.repo.path)/.build: run `swift build` first")
            return []
        }
        let out = NSTemporaryDirectory() + "mimamori-golden-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (outcome, stderr) = runProcess(utmctl, ["replay", shared + "/" + capture, "--eve", out],
                                           stdoutPath: nil, timeout: 60)
        #expect(outcome == .exited(0), "utmctl replay \(capture): \(outcome) \(stderr.suffix(300))")
        return readEVE(out).compactMap { $0 }.filter { $0["event_type"] as? String == type }
    }

    static var enabled: Bool { CorpusEnv.isCI || CorpusEnv.sharedFolder != nil }

    /// nDPI's result for 443-curl.pcap: SNI www.ntop.org, JA3C 2a26b1a6…, JA4
    /// t12d6707h2_2955a3196ffa_c83f907a73d3, JA3S ae53107a…, negotiated ALPN h2.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func tlsClientHelloOfCurl() throws {
        let tls = try Self.events(Self.ndpi + "/443-curl.pcap", type: "tls")
        #expect(tls.count == 1)
        guard let t = tls.first?["tls"] as? [String: Any] else { return }
        #expect(t["sni"] as? String == "www.ntop.org")
        #expect(t["version"] as? String == "TLS 1.2")
        #expect((t["ja3"] as? [String: Any])?["hash"] as? String == "2a26b1a62e40d25d4de3babc9d532f30")
        #expect(t["ja4"] as? String == "t12d6707h2_2955a3196ffa_c83f907a73d3")
        #expect((t["ja3s"] as? [String: Any])?["hash"] as? String == "ae53107a2e47ea20c72ac44821a728bf")
        #expect(t["client_alpns"] as? [String] == ["h2", "http/1.1"])
        #expect(t["server_alpns"] as? [String] == ["h2"])
        #expect(tls.first?["dest_port"] as? Int == 443)
    }

    /// QUIC v2 (RFC 9369) Initial: nDPI reports version V-2 and SNI "test"; tshark shows the
    /// ALPN "h3". nDPI's result prints the JA4 as q13d0310h0_55b375c5d22e_0a3b52e28cea; the
    /// cipher and extension hashes agree with ours, the ALPN part differs because the JA4
    /// spec takes the first and last characters of the first ALPN ("h3"), which we follow.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func quicV2Initial() throws {
        let quic = try Self.events(Self.ndpi + "/quic-v2.pcapng", type: "quic")
        #expect(quic.count == 1)
        guard let q = quic.first?["quic"] as? [String: Any] else { return }
        #expect(q["version"] as? String == "6b3343cf")
        #expect(q["sni"] as? String == "test")
        #expect(q["client_alpns"] as? [String] == ["h3"])
        #expect(q["ja4"] as? String == "q13d0310h3_55b375c5d22e_0a3b52e28cea")
    }

    /// An HTTP CONNECT through a proxy on 8080 (tshark: request "CONNECT apache.org:443",
    /// Host apache.org:443, response 200): Suricata logs the authority as url, the host
    /// without its port, and the port apart.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func httpConnect() throws {
        let http = try Self.events(Self.ndpi + "/http_connect.pcap", type: "http")
        #expect(http.count == 1)
        guard let h = http.first?["http"] as? [String: Any] else { return }
        #expect(h["http_method"] as? String == "CONNECT")
        #expect(h["url"] as? String == "apache.org:443")
        #expect(h["hostname"] as? String == "apache.org")
        #expect(h["http_port"] as? Int == 443)
        #expect(h["status"] as? Int == 200)
        #expect(h["protocol"] as? String == "HTTP/1.1")
        #expect(http.first?["dest_port"] as? Int == 8080)
    }

    /// dns.pcap frame 5 (tshark): the answer for e7.whatsapp.net carries eight A records, in
    /// this order.
    @Test(.enabled(if: enabled, "shared corpus not found; skipped outside CI"))
    func dnsAnswers() throws {
        let dns = try Self.events(Self.ndpi + "/dns.pcap", type: "dns")
        let answer = dns.compactMap { $0["dns"] as? [String: Any] }.first {
            $0["rrname"] as? String == "e7.whatsapp.net" && $0["type"] as? String == "answer"
        }
        #expect(answer != nil)
        guard let answer else { return }
        #expect(answer["rcode"] as? String == "NOERROR")
        let records = (answer["answers"] as? [[String: Any]]) ?? []
        #expect(records.allSatisfy { $0["rrtype"] as? String == "A" })
        #expect(records.compactMap { $0["rdata"] as? String } == [
            "169.45.219.235", "169.47.40.142", "169.45.248.121", "108.168.176.234",
            "169.45.248.189", "169.45.248.180", "169.53.81.79", "169.45.219.232",
        ])
        // The query that asked for it is logged too.
        #expect(dns.contains {
            let d = $0["dns"] as? [String: Any]
            return d?["type"] as? String == "query" && d?["rrname"] as? String == "e7.whatsapp.net"
        })
    }
}
