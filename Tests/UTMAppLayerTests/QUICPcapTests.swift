import Foundation
import Testing
import UTMCore
@testable import UTMAppLayer

/// Real captures from nDPI's test corpus: the SNI we read from the reassembled ClientHello of
/// each QUIC flow must equal the one nDPI reports in its golden `.out` file.
@Suite struct QUICPcapTests {
    struct FlowKey: Hashable {
        var a: [UInt8], ap: UInt16, b: [UInt8], bp: UInt16
        init(_ d: UDPDatagram) {
            if (d.source.lexicographicallyPrecedes(d.destination)) || (d.source == d.destination && d.sourcePort < d.destinationPort) {
                a = d.source; ap = d.sourcePort; b = d.destination; bp = d.destinationPort
            } else {
                a = d.destination; ap = d.destinationPort; b = d.source; bp = d.sourcePort
            }
        }
    }

    struct FlowResult {
        var clientPort: UInt16
        var serverPort: UInt16
        var sni: String?
        var version: UInt32
        var opened: Int
        var serverBytes: Int
        var clientBytes: Int
        var failures: Int
        var frameErrors: Int
        var head: [UInt8]
    }

    /// Runs every UDP flow of a capture through a QUICParser, as the engine would.
    static func run(_ path: String) -> [FlowResult]? {
        guard let datagrams = readUDPDatagrams(path: path) else { return nil }
        var order: [FlowKey] = []
        var flows: [FlowKey: (parser: QUICParser, client: [UInt8], cport: UInt16, sport: UInt16, cip: [UInt8], server: Int)] = [:]
        for d in datagrams {
            let key = FlowKey(d)
            if flows[key] == nil {
                guard d.payload.withByteView({ QUICParser.probe($0) }) else { continue }
                flows[key] = (QUICParser(), [], d.sourcePort, d.destinationPort, d.source, 0)
                order.append(key)
            }
            var f = flows[key]!
            let dir: Direction = (d.source == f.cip && d.sourcePort == f.cport) ? .toServer : .toClient
            guard !f.parser.done else { continue }
            var got: [UInt8] = []
            var serverGot = 0
            d.payload.withByteView { v in
                f.parser.feed(v, direction: dir) { bytes, dir in
                    if dir == .toServer { bytes.append(to: &got) } else { serverGot += bytes.count }
                }
            }
            f.client += got
            f.server += serverGot
            flows[key] = f
        }
        return order.map { k in
            let f = flows[k]!
            let tls = f.parser.knownVersion?.usesTLS ?? true
            return FlowResult(clientPort: f.cport, serverPort: f.sport,
                              sni: tls ? sniFromClientHello(f.client) : sniFromCHLO(f.client),
                              version: f.parser.version, opened: f.parser.packetsOpened, serverBytes: f.server,
                              clientBytes: f.client.count, failures: f.parser.openFailures,
                              frameErrors: f.parser.frameErrors, head: Array(f.client.prefix(8)))
        }
    }

    /// (client port, server port, SNI) of each UDP flow with an SNI in nDPI's result file.
    static func expected(_ path: String) -> [(UInt16, UInt16, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var out: [(UInt16, UInt16, String)] = []
        for line in text.split(separator: "\n") where line.contains("UDP ") && line.contains("[Hostname/SNI: ") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let udp = words.firstIndex(of: "UDP"), udp + 3 < words.count else { continue }
            func port(_ w: Substring) -> UInt16? { w.split(separator: ":").last.flatMap { UInt16($0) } }
            guard let p1 = port(words[udp + 1]), let p2 = port(words[udp + 3]) else { continue }
            let sni = line.components(separatedBy: "[Hostname/SNI: ")[1].components(separatedBy: "]")[0]
            out.append((p1, p2, sni))
        }
        return out
    }

    /// Captures whose QUIC versions we open (IETF drafts 23-34, v1, v2, mvfst draft-27, T050,
    /// T051, Q050): every SNI nDPI found in them must be found by us, equal.
    static let covered = [
        "quic-23.pcap", "quic-24.pcap", "quic-27.pcap", "quic-28.pcap", "quic-29.pcap", "quic-v2.pcapng",
        "quic_t50.pcap", "quic_t51.pcap", "quic_q50.pcap", "quic-mvfst-27.pcapng", "quic-mvfst-exp.pcap",
        "quic_0RTT.pcap", "quic_crypto_aes_auth_size.pcap", "quic_frags_ch_in_multiple_packets.pcapng",
        "quic_frags_ch_out_of_order_same_packet_craziness.pcapng", "quic_frags_different_dcid.pcapng",
        "quic_interop_V.pcapng", "gquic.pcap",
    ]

    @Test func sniMatchesNDPI() throws {
        guard let corpus = ndpiCorpus() else { return }
        var matched = 0, total = 0
        for name in QUICPcapTests.covered {
            let path = corpus + "/pcap/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                Issue.record("missing capture \(name)")
                continue
            }
            let results = try #require(QUICPcapTests.run(path), "unreadable capture \(name)")
            let want = QUICPcapTests.expected(corpus + "/result/" + name + ".out")
            for (p1, p2, sni) in want {
                total += 1
                let flow = results.first { ($0.clientPort == p1 && $0.serverPort == p2) || ($0.clientPort == p2 && $0.serverPort == p1) }
                if flow?.sni == sni {
                    matched += 1
                } else {
                    Issue.record("\(name) \(p1)<->\(p2): nDPI \(sni), we \(String(describing: flow?.sni)) version \(String(flow?.version ?? 0, radix: 16)) opened \(flow?.opened ?? -1)")
                }
            }
        }
        print("QUIC pcap SNI: \(matched) of \(total) nDPI SNIs matched")
        #expect(total > 0)
        #expect(matched == total)
    }

    /// Every QUIC capture, covered or not, runs without trapping; reports what it found.
    @Test func allCapturesRunQuietly() throws {
        guard let corpus = ndpiCorpus() else { return }
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus + "/pcap")
            .filter { $0.lowercased().contains("quic") }.sorted()
        for name in names {
            guard let results = QUICPcapTests.run(corpus + "/pcap/" + name) else { continue }
            for r in results where r.opened > 0 {
                print("\(name) \(r.clientPort)->\(r.serverPort) v=\(String(r.version, radix: 16)) opened=\(r.opened) sni=\(r.sni ?? "-") serverCrypto=\(r.serverBytes) client=\(r.clientBytes) fail=\(r.failures) ferr=\(r.frameErrors) head=\(hexString(r.head))")
            }
        }
    }
}
